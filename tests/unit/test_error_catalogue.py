"""One error code, one status: every raise site in the package is read (AST) and held to
fieldreport.errors.CATALOGUE. A code computed from a helper's parameter ("missing_" + field)
is followed to the helper's call sites."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

from fieldreport import errors

PACKAGE = Path(errors.__file__).parent
STATUS = {cls.__name__: cls.status for cls in (errors.DomainError, *errors.DomainError.__subclasses__())}
MAPPED_NOT_RAISED = {"validation_error"}  # errors._from_http names marshmallow's 422 itself


def _name(call: ast.Call) -> str | None:
    f = call.func
    return f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else None


def _template(node: ast.expr, params: list[str]):
    """A code computed from one parameter: (parameter, code from its value), else None."""
    if isinstance(node, ast.Name) and node.id in params:
        return node.id, lambda v: v
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        if isinstance(node.left, ast.Constant) and isinstance(node.right, ast.Name) and node.right.id in params:
            return node.right.id, lambda v, pre=node.left.value: pre + v
        if isinstance(node.right, ast.Constant) and isinstance(node.left, ast.Name) and node.left.id in params:
            return node.left.id, lambda v, post=node.right.value: v + post
    if isinstance(node, ast.JoinedStr):
        names = [v.value.id for v in node.values if isinstance(v, ast.FormattedValue) and isinstance(v.value, ast.Name)]
        if len(names) == 1 == sum(isinstance(v, ast.FormattedValue) for v in node.values) and names[0] in params:
            parts = [v.value if isinstance(v, ast.Constant) else None for v in node.values]
            return names[0], lambda v, parts=parts: "".join(p if p is not None else v for p in parts)
    return None


def raise_sites() -> tuple[dict[str, list[tuple[int, str]]], list[str]]:
    """code → [(status, where)], and the sites whose code could not be read."""
    sites: dict[str, list[tuple[int, str]]] = defaultdict(list)
    unread: list[str] = []
    helpers: dict[str, tuple[int, str, object, int]] = {}  # function → (status, param, template, index)
    trees = {p: ast.parse(p.read_text()) for p in sorted(PACKAGE.rglob("*.py"))}
    for path, tree in trees.items():
        for fn in [n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))]:
            params = [a.arg for a in fn.args.args]
            for call in [n for n in ast.walk(fn) if isinstance(n, ast.Call)]:
                where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
                name = _name(call)
                if name in STATUS and call.args:
                    status = STATUS[name]
                    for kw in call.keywords:
                        if kw.arg == "status":
                            status = kw.value.value if isinstance(kw.value, ast.Constant) else None
                    code = call.args[0]
                elif name == "problem" and len(call.args) >= 2:
                    status = call.args[0].value if isinstance(call.args[0], ast.Constant) else None
                    code = call.args[1]
                else:
                    continue
                if path.name == "errors.py" and status is None:
                    continue  # the mappers themselves: problem(exc.status, exc.code, ...)
                if isinstance(code, ast.Constant) and status is not None:
                    sites[code.value].append((status, where))
                elif (t := _template(code, params)) is not None and status is not None:
                    helpers[fn.name] = (status, t[0], t[1], params.index(t[0]))
                else:
                    unread.append(where)
    for path, tree in trees.items():  # the helpers' call sites give their codes
        for call in [n for n in ast.walk(tree) if isinstance(n, ast.Call)]:
            if (helper := helpers.get(_name(call))) is None:
                continue
            status, param, template, index = helper
            args = {kw.arg: kw.value for kw in call.keywords}
            value = args.get(param) or (call.args[index] if len(call.args) > index else None)
            where = f"{path.relative_to(PACKAGE.parent)}:{call.lineno}"
            if isinstance(value, ast.Constant):
                sites[template(value.value)].append((status, where))
            else:
                unread.append(where)
    return sites, unread


def test_the_scan_sees_the_raise_sites():
    sites, unread = raise_sites()
    assert not unread, f"codes the scan cannot read (use a literal code): {unread}"
    assert sum(len(v) for v in sites.values()) > 150  # the package raises from ~190 places
    assert {"missing_reason", "update_id_missing", "otp_resend_too_soon"} <= set(sites)  # helpers followed


def test_every_code_has_one_status_the_catalogue_gives():
    sites, _ = raise_sites()
    several = {code: sorted(set(s)) for code, s in sites.items() if len({st for st, _ in s}) > 1}
    assert not several, f"one code, several statuses: {several}"
    missing = sorted(set(sites) - set(errors.CATALOGUE))
    assert not missing, f"codes raised but not in errors.CATALOGUE: {missing}"
    wrong = {
        code: (errors.CATALOGUE[code].status, s)
        for code, s in sites.items()
        if s[0][0] != errors.CATALOGUE[code].status
    }
    assert not wrong, f"raised with another status than the catalogue's: {wrong}"


def test_the_catalogue_has_no_dead_codes_and_speaks_both_languages():
    sites, _ = raise_sites()
    assert set(errors.CATALOGUE) - set(sites) == MAPPED_NOT_RAISED
    for code, entry in errors.CATALOGUE.items():
        assert 400 <= entry.status <= 599 and entry.en.strip() and entry.vi.strip(), code
        assert entry.en != entry.vi or code == "internal_error", code


def test_unknown_unit_is_one_status_wherever_it_is_answered(client, db_session):
    """The finding itself: unknown_unit answered 400, 422 and 404; now 422 from the indicators
    API and the staff API alike."""
    from tests import factories as f

    h = f.bearer(db_session, "admin")
    r = client.get("/api/v1/indicators?unit=NOPE", headers=h)
    assert (r.status_code, r.json["code"]) == (422, "unknown_unit")
    r = client.get("/api/v1/staff/reports?unit=NOPE", headers=h)
    assert (r.status_code, r.json["code"]) == (422, "unknown_unit")
