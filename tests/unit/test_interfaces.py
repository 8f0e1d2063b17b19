"""Layers one way: the interfaces (api/, open311/, web/, channels/) parse, call services and
render; they build no query and hold no session. Every module there is read (AST): no import
from sqlalchemy (its exceptions, sqlalchemy.exc, may be caught), no `db` from extensions, no
`db.session`. Reads are service functions (services/staff_read.py, open311_read.py,
console_read.py, public.py, communes.py …), writes are use cases."""

from __future__ import annotations

import ast
from pathlib import Path

import fieldreport

PACKAGE = Path(fieldreport.__file__).parent
INTERFACES = ("api", "open311", "web", "channels")

# What is still allowed, file by file, until its owner moves it (nothing now); never add an
# entry for new code.
ALLOWED: dict[str, set[str] | str] = {}


def violations(package: Path = PACKAGE) -> dict[str, set[str]]:
    """Interface module (relative to the package) → what it does that only services may."""
    found: dict[str, set[str]] = {}
    for folder in INTERFACES:
        for path in sorted((package / folder).rglob("*.py")):
            rel = path.relative_to(package).as_posix()
            seen: set[str] = set()
            named: set[int] = set()  # db.session nodes already counted as db.session.<name>
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):  # outer nodes first
                if isinstance(node, ast.Import):
                    seen |= {f"import {a.name}" for a in node.names if a.name.split(".")[0] == "sqlalchemy"}
                elif isinstance(node, ast.ImportFrom) and node.module:
                    top = node.module.split(".")[0]
                    if top == "sqlalchemy" and node.module != "sqlalchemy.exc":
                        seen |= {f"from {node.module} import {a.name}" for a in node.names}
                    elif node.module == "fieldreport.extensions":
                        seen |= {"import db" for a in node.names if a.name == "db"}
                elif isinstance(node, ast.Attribute) and _is_db_session(node.value):
                    seen.add(f"db.session.{node.attr}")
                    named.add(id(node.value))
                elif isinstance(node, ast.Attribute) and _is_db_session(node) and id(node) not in named:
                    seen.add("db.session")
            if seen:
                found[rel] = seen
    return found


def _is_db_session(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Attribute)
        and node.attr == "session"
        and isinstance(node.value, ast.Name)
        and node.value.id == "db"
    )


def _not_allowed(found: dict[str, set[str]]) -> dict[str, list[str]]:
    out = {}
    for rel, seen in found.items():
        allowed = ALLOWED.get(rel, set())
        extra = set() if allowed == "*" else seen - set(allowed)
        if extra:
            out[rel] = sorted(extra)
    return out


def test_interfaces_build_no_queries_and_hold_no_session():
    bad = _not_allowed(violations())
    assert not bad, (
        "interfaces call services for reads and writes; move these into fieldreport/services/: "
        + "; ".join(f"{rel}: {', '.join(items)}" for rel, items in bad.items())
    )


def test_the_rule_sees_what_it_forbids(tmp_path):
    """The reader catches each form: sqlalchemy imports, the session, `db` itself."""
    web = tmp_path / "web"
    web.mkdir()
    (web / "page.py").write_text(
        "from sqlalchemy import select, text\n"
        "import sqlalchemy.orm\n"
        "from sqlalchemy.exc import IntegrityError\n"
        "from fieldreport.extensions import db, storage\n"
        "def view():\n"
        "    s = db.session\n"
        "    return db.session.execute(select(1)).all()\n"
    )
    assert violations(tmp_path) == {
        "web/page.py": {
            "from sqlalchemy import select",
            "from sqlalchemy import text",
            "import sqlalchemy.orm",
            "import db",
            "db.session",
            "db.session.execute",
        }
    }
