"""The web pages: citizen mobile web, staff console, supervisor dashboard (server-rendered)."""

from __future__ import annotations

from flask import Blueprint, render_template, request, url_for

from fieldreport.errors import DomainError
from fieldreport.web import i18n

bp = Blueprint("web", __name__, template_folder="templates")
i18n.init_blueprint(bp)


@bp.app_context_processor
def _helpers():
    def lang_url(lang: str) -> str:
        """This page's URL in the other language (query kept)."""
        args = {k: v for k, v in request.args.items() if k not in (request.view_args or {})}
        args["lang"] = lang
        values: dict = {**(request.view_args or {}), **args}
        return url_for(request.endpoint, **values) if request.endpoint else "?lang=" + lang

    return {"lang_url": lang_url}


@bp.errorhandler(DomainError)
def _domain_error(exc: DomainError):
    """Pages answer errors with a page, not problem+json (the API keeps its own shape)."""
    if request.path.startswith(("/api/", "/web/")):
        from fieldreport.errors import domain_problem

        return domain_problem(exc)
    msg = exc.message_vi if i18n.current_lang() == "vi" else exc.message_en
    return render_template("error.html", status=exc.status, message=msg), exc.status


@bp.errorhandler(403)
def _forbidden(exc):
    return render_template("error.html", status=403, message=i18n.t("forbidden")), 403


from fieldreport.web import accounts, calls, citizen, console, dashboard, maps, opendata, public  # noqa: E402  (routes need bp)

for _child in (maps.bp, citizen.bp, console.bp, calls.bp, accounts.bp, dashboard.bp, public.bp, opendata.bp):
    bp.register_blueprint(_child)
