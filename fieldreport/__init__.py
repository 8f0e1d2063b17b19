"""fieldreport: smart-city field reports, routed by place to the responsible unit."""

from __future__ import annotations

from typing import cast

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from config.settings import Config


def create_app(config: Config | None = None) -> Flask:
    """Build the app: config → extensions → blueprints. The only wiring point."""
    config = config or Config()
    missing = config.missing_secrets()
    if missing and not config.TESTING:
        raise RuntimeError("missing required settings: " + ", ".join(f"FIELDREPORT_{m}" for m in missing))

    app = Flask(__name__, static_folder="web/static")  # /static/... incl. vendored JS
    app.config.from_mapping(config.as_dict())
    from fieldreport import inputs

    inputs.init_app(app)  # the request guard runs before every view (and before the DB is touched)
    cast(DefaultJSONProvider, app.json).ensure_ascii = False  # Vietnamese stays readable in every JSON body
    if config.TRUSTED_PROXIES:
        # Behind load balancers the client address (rate limits) comes from X-Forwarded-For.
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = config.TRUSTED_PROXIES
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]

    from fieldreport import logs

    logs.init_app(app)

    from fieldreport.extensions import api, db, queues, storage

    db.init_app(app)
    from fieldreport.services import uow

    uow.install()  # the outbox listeners: a use case's commit sends the jobs it recorded
    queues.init_app(app)
    storage.init_app(app)
    api.init_app(app)

    from fieldreport import headers

    headers.init_app(app)  # CSP, frame-ancestors, nosniff, HSTS (https only), Referrer-Policy

    from fieldreport.errors import register_error_handlers

    register_error_handlers(app)
    from fieldreport import urlsecrets

    urlsecrets.init_app(app)

    from fieldreport.api import register_api

    register_api(app, api)

    from fieldreport import ops

    app.register_blueprint(ops.bp)
    from fieldreport import web

    app.register_blueprint(web.bp)
    from fieldreport import open311

    app.register_blueprint(open311.bp)
    from fieldreport import channels

    app.register_blueprint(channels.bp)

    from fieldreport import cli

    cli.init_app(app)
    return app
