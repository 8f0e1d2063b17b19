"""The services are free of the web: who may see and do what (services/policy.py) and every
module under fieldreport/services/ import nothing from flask, flask_smorest, werkzeug or
fieldreport.auth (the HTTP side of sign-in); auth.py holds that HTTP side only."""

from __future__ import annotations

import ast
import types
from pathlib import Path

from tests.conftest import ROOT

SERVICES = ROOT / "fieldreport" / "services"
POLICY = SERVICES / "policy.py"
WEB = ("flask", "flask_smorest", "werkzeug", "fieldreport.auth")

# Services that read the app's settings (and its logger) through flask.current_app: there is no
# Flask-free settings object yet, so these are the known exceptions, name by name; nothing else
# from flask, and no new module. deadlines.py and provinces.py also memoise per request in
# flask.g (policy.py memoises in the session's `info` instead). An entry no longer needed fails
# below: remove it.
FLASK_ALLOWED = {
    "accounts.py": {"current_app"},
    "apikeys.py": {"current_app"},
    "calls.py": {"current_app"},
    "citizen.py": {"current_app"},
    "citizen_accounts.py": {"current_app"},
    "communes.py": {"current_app"},
    "deadlines.py": {"current_app", "g", "has_app_context"},
    "erasure.py": {"current_app"},
    "indicators/cache.py": {"current_app", "has_app_context"},
    "indicators/export_jobs.py": {"current_app"},
    "indicators/exports.py": {"current_app"},
    "intake.py": {"current_app"},
    "notify.py": {"current_app"},
    "photos.py": {"current_app"},
    "places.py": {"current_app"},
    "provinces.py": {"current_app", "g", "has_app_context"},
    "push.py": {"current_app"},
    "rescue.py": {"current_app"},
    "scorecards.py": {"current_app"},
    "sla.py": {"current_app"},
    "sms.py": {"current_app"},
    "subscriptions.py": {"current_app"},
    "workflow.py": {"current_app"},
    "zalo.py": {"current_app"},
    "zalo_api.py": {"current_app"},
}


def web_imports(source: str, module: str) -> set[str]:
    """What the module's source imports from the web side, as "module" or "module:name"
    (imports inside functions and under TYPE_CHECKING included, relative imports resolved)."""
    package = module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = ".".join(package[: len(package) - node.level + 1])
                base = f"{parent}.{base}" if base else parent
            # `from fieldreport import auth` imports the module fieldreport.auth
            names = [(f"{base}.{a.name}", None) for a in node.names] + [(base, a.name) for a in node.names]
        else:
            continue
        for imported, name in names:
            for web in WEB:
                if imported == web or imported.startswith(web + "."):
                    found.add(f"{web}:{name}" if name else web)
    return found


def imports_of(path: Path) -> set[str]:
    return web_imports(path.read_text(), ".".join(path.relative_to(ROOT).with_suffix("").parts))


def test_policy_imports_nothing_from_the_web():
    assert POLICY.exists(), "who may see and do what lives in fieldreport/services/policy.py"
    assert imports_of(POLICY) == set()


def test_services_import_nothing_from_the_web_but_the_listed_settings():
    wrong, unused = {}, {}
    for path in sorted(SERVICES.rglob("*.py")):
        name = path.relative_to(SERVICES).as_posix()
        allowed = {f"flask:{n}" for n in FLASK_ALLOWED.get(name, ())}
        found = imports_of(path)
        # "flask" alone: the module itself (from flask import x names it too)
        extra = found - allowed - ({"flask"} if allowed else set())
        if extra:
            wrong[name] = sorted(extra)
        if allowed - found:
            unused[name] = sorted(allowed - found)
    assert not wrong, f"services importing from the web side (flask, flask_smorest, werkzeug, auth): {wrong}"
    assert not unused, f"FLASK_ALLOWED lists what these no longer import, remove it: {unused}"
    assert set(FLASK_ALLOWED) <= {p.relative_to(SERVICES).as_posix() for p in SERVICES.rglob("*.py")}


def test_the_rule_sees_every_way_of_importing():
    """The checker itself: plain, from-, relative and nested imports are all seen."""
    cases = {
        "from flask import request": {"flask", "flask:request"},
        "import flask_smorest": {"flask_smorest"},
        "from werkzeug.exceptions import NotFound": {"werkzeug", "werkzeug:NotFound"},
        "from fieldreport import auth": {"fieldreport.auth"},
        "from fieldreport.auth import current_user": {"fieldreport.auth", "fieldreport.auth:current_user"},
        "from .. import auth": {"fieldreport.auth"},
        "from ..auth import require_roles": {"fieldreport.auth", "fieldreport.auth:require_roles"},
        "def f():\n    import fieldreport.auth\n": {"fieldreport.auth"},
        "from fieldreport import security": set(),
        "from . import policy": set(),
    }
    for source, expected in cases.items():
        assert web_imports(source, "fieldreport.services.probe") == expected, source


def test_auth_is_the_http_side_only():
    """fieldreport.auth re-exports neither the policy nor the accounts service (one way to each)."""
    from fieldreport import auth
    from fieldreport.services import accounts, policy

    defined_here = {n for n, v in vars(auth).items() if getattr(v, "__module__", None) == auth.__name__}
    assert defined_here == {"bearer_token", "current_user", "require_user", "require_roles"}
    for service in (policy, accounts):
        own = {
            n
            for n, v in vars(service).items()
            if not n.startswith("_")
            and not isinstance(v, types.ModuleType)
            and getattr(v, "__module__", service.__name__) == service.__name__  # not imported there
        }
        reexported = own & set(vars(auth))
        assert not reexported, (service.__name__, reexported)


def _private_imports(path: Path) -> list[str]:
    """`from fieldreport.x import _name` (a module's private name used by another module)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] in ("fieldreport", "workers"):
            found += [
                f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_") and a.name != "__version__"
            ]
    return found


def test_no_module_imports_another_modules_private_names():
    offenders = {
        str(p.relative_to(ROOT)): names
        for top in ("fieldreport", "workers")
        for p in sorted((ROOT / top).rglob("*.py"))
        if (names := _private_imports(p))
    }
    assert offenders == {}, "private names imported across modules (make them public or keep them home)"


def test_the_private_import_check_sees_one():
    probe = ROOT / "var" / "probe_private_import.py"
    probe.parent.mkdir(exist_ok=True)
    probe.write_text("from fieldreport.errors import _HTTP_VI\nfrom fieldreport.errors import CATALOGUE\n")
    try:
        assert _private_imports(probe) == ["fieldreport.errors._HTTP_VI"]
    finally:
        probe.unlink()


def test_the_time_zone_comes_from_the_setting():
    """worktime.TZ is the TIMEZONE setting's default only: deadlines.zone() and each
    Calendar's tz carry the setting; no other module reads the default."""
    users = []
    for top in ("fieldreport", "workers"):
        for p in sorted((ROOT / top).rglob("*.py")):
            for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module == "fieldreport.worktime":
                    if any(a.name == "TZ" for a in node.names):
                        users.append(str(p.relative_to(ROOT)))
    assert users == ["fieldreport/services/deadlines.py"]
