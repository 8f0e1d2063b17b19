"""One unit of work: every transaction of the application ends in fieldreport/services/uow.py.

Every `.commit()` and `.begin()` call in fieldreport/ and workers/ is read (AST): only the
unit of work may make one, so that no use case commits without sending the outbox rows it
recorded, and none commits halfway through. The outbox's listeners are installed by the app
factory, never by importing a module.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import fieldreport

ROOT = Path(fieldreport.__file__).parent.parent
UNIT_OF_WORK = ROOT / "fieldreport" / "services" / "uow.py"
TRANSACTION_CALLS = {"commit", "begin"}


def transaction_calls(paths: list[Path]) -> list[str]:
    """Where these modules call `.commit()` or `.begin()` (`uow.commit()` is the unit of work)."""
    found = []
    for path in paths:
        for node in ast.walk(ast.parse(path.read_text())):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in TRANSACTION_CALLS
                and not (isinstance(node.func.value, ast.Name) and node.func.value.id == "uow")
            ):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} .{node.func.attr}()")
    return found


def test_only_the_unit_of_work_commits():
    paths = sorted([*(ROOT / "fieldreport").rglob("*.py"), *(ROOT / "workers").rglob("*.py")])
    assert UNIT_OF_WORK in paths
    others = [p for p in paths if p != UNIT_OF_WORK]
    assert transaction_calls(others) == [], "commit through fieldreport.services.uow"


def test_the_check_sees_the_unit_of_works_own_commits():
    """The walk finds what it looks for: a check that reads nothing would pass anything."""
    found = [call.split(" ")[1] for call in transaction_calls([UNIT_OF_WORK])]
    assert found.count(".commit()") == 2 and found.count(".begin()") == 1


def test_the_outbox_listeners_are_installed_by_the_app_factory_not_by_an_import(app):
    """Importing every service installs nothing; create_app does, once however many apps: an
    outbox row inserted is remembered once for the commit to send."""
    script = """
from sqlalchemy import event
from config.settings import TestConfig
from fieldreport.models import Outbox
import fieldreport.services.events, fieldreport.services.outbox, fieldreport.services.workflow
from fieldreport.services import uow
print(event.contains(Outbox, "after_insert", uow._track), event.contains(uow.db.session, "after_commit", uow._forget))
from fieldreport import create_app
config = TestConfig()
config.S3_ACCESS_KEY = config.S3_SECRET_KEY = "unused"  # no request is made
create_app(config)
with create_app(config).app_context():
    uow.db.session.add(Outbox(queue="default", func="workers.jobs.noop", args=[]))
    uow.db.session.flush()
    print(len(uow.db.session.info["outbox_new"]), event.contains(uow.db.session, "after_commit", uow._forget))
    uow.rollback()
    print(len(uow.db.session.info.get("outbox_new", [])))
"""
    run = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["False", "False", "1", "True", "0"]
