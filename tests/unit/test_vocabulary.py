"""One named vocabulary (fieldreport/models/vocab.py): statuses, event types and reasons are
StrEnum members in Python code, never string literals.

Every string constant of the package and the workers (docstrings aside) that spells a word of
the vocabulary is found with the AST; the only ones left are those listed in ALLOWED, each a
word of another vocabulary that happens to be spelled the same (an action name, a mySociety
state, an indicator's measure, a translation table's key). SQL text is never a bare word, so
it stays as it is. The database's copies of the vocabulary (its partial indexes' predicates,
and any CHECK constraint on a vocabulary column) are held to the enums as well.
"""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

from sqlalchemy import text

from fieldreport import models
from fieldreport.extensions import db
from fieldreport.models import vocab
from fieldreport.models.export import ExportState
from fieldreport.services import routing

ROOT = Path(models.__file__).parents[2]
ENUMS = (
    vocab.Status,
    vocab.EventType,
    vocab.RejectReason,
    vocab.AssignReason,
    vocab.Channel,
    vocab.NotificationState,
    vocab.NoticeKind,
    vocab.SubscriberRole,
    vocab.PhotoKind,
    vocab.Role,
    vocab.IntakeChannel,
)
WORDS = {member.value for enum in ENUMS for member in enum}
VOCAB_FILE = "fieldreport/models/vocab.py"

# (file, word) → (how many times, why it is not the vocabulary's word).
ACTION = "a workflow action's name (workflow.ACTIONS), not a status or event type"
MEASURE = "an indicator measure's name (a count of answers, ratings or reopenings)"
FIELD = "a field's name in a request or a view"
BLUEPRINT = "a blueprint's or API resource's name"
UNIT_KIND = "a unit's kind (the dispatcher unit), not the role"
DEMO_USER = "a demo account's username"
ALLOWED: dict[tuple[str, str], tuple[int, str]] = {
    ("fieldreport/services/workflow.py", "duplicate"): (2, ACTION),
    ("fieldreport/web/console.py", "duplicate"): (1, ACTION),
    ("fieldreport/services/routing.py", "assigned"): (3, "the routing job's outcome (assigned | triage | skipped)"),
    ("fieldreport/services/routing.py", "triage"): (2, "the routing job's outcome (assigned | triage | skipped)"),
    ("fieldreport/open311/statuses.py", "in_progress"): (1, "mySociety's state"),
    ("fieldreport/open311/statuses.py", "closed"): (1, "mySociety's state"),
    ("fieldreport/open311/statuses.py", "duplicate"): (2, "mySociety's state"),
    ("fieldreport/open311/updates.py", "closed"): (1, "mySociety's state sent by a client"),
    ("fieldreport/services/external_updates.py", "closed"): (2, "mySociety's state that resolves"),
    ("fieldreport/open311/updates.py", "in_progress"): (1, "mySociety's state sent by a client"),
    ("fieldreport/open311/updates.py", "duplicate"): (1, "mySociety's state sent by a client"),
    ("fieldreport/open311/render.py", "closed"): (1, "Open311's open/closed"),
    ("fieldreport/services/open311_read.py", "closed"): (1, "Open311's open/closed filter"),
    ("fieldreport/services/public.py", "closed"): (1, "the list filter's open/closed (as Open311's)"),
    ("fieldreport/api/reports/schemas.py", "closed"): (2, "the list filter's open/closed (as Open311's)"),
    ("fieldreport/web/public.py", "closed"): (1, "the public pages' label of the open/closed filter"),
    ("fieldreport/web/public.py", "resolved"): (1, MEASURE),
    ("fieldreport/breaker.py", "closed"): (1, "a circuit breaker's state"),
    ("fieldreport/services/photos.py", "rejected"): (1, "the derivatives job's outcome"),
    ("fieldreport/services/zalo.py", "duplicate"): (1, "the Zalo webhook's outcome (a redelivery)"),
    ("fieldreport/services/indicators/exports.py", "resolved"): (3, MEASURE),
    ("fieldreport/services/indicators/exports.py", "rejected"): (3, MEASURE),
    ("fieldreport/services/indicators/exports.py", "rated"): (3, MEASURE),
    ("fieldreport/services/indicators/exports.py", "reopened"): (4, MEASURE),
    ("fieldreport/services/indicators/totals.py", "resolved"): (2, MEASURE),
    ("fieldreport/services/indicators/totals.py", "rejected"): (2, MEASURE),
    ("fieldreport/services/indicators/totals.py", "rated"): (2, MEASURE),
    ("fieldreport/services/indicators/totals.py", "reopened"): (2, MEASURE),
    ("fieldreport/services/indicators/measures.py", "resolved"): (1, MEASURE),
    ("fieldreport/services/indicators/measures.py", "rejected"): (1, MEASURE),
    ("fieldreport/services/indicators/measures.py", "rated"): (1, MEASURE),
    ("fieldreport/services/indicators/measures.py", "reopened"): (1, MEASURE),
    ("fieldreport/services/scorecards.py", "resolved"): (4, MEASURE),
    ("fieldreport/web/dashboard.py", "resolved"): (3, MEASURE),
    ("fieldreport/web/dashboard.py", "before"): (1, "a comparison's previous value"),
    ("fieldreport/web/public.py", "before"): (1, "the public page's label of the photos before"),
    ("fieldreport/web/public.py", "after"): (1, "the public page's label of the photos after"),
    ("fieldreport/api/citizen/resources.py", "email"): (1, FIELD),
    ("fieldreport/api/citizen/resources.py", "sent"): (1, "the sign-in code's answer field"),
    ("fieldreport/open311/submit.py", "email"): (1, "Open311's email parameter"),
    ("fieldreport/services/privacy.py", "email"): (2, FIELD),
    ("fieldreport/services/subscriptions.py", "email"): (1, FIELD),
    ("fieldreport/services/intake.py", "reporter"): (1, FIELD),
    ("fieldreport/services/staff_read.py", "reporter"): (1, FIELD),
    ("fieldreport/services/sms.py", "log"): (2, "the SMS provider that only logs (SMS_PROVIDER)"),
    ("fieldreport/services/zalo.py", "zalo"): (1, "a photo's field name"),
    ("fieldreport/services/zalo.py", "sent"): (1, "the Zalo send job's outcome"),
    ("fieldreport/web/__init__.py", "web"): (1, BLUEPRINT),
    ("fieldreport/services/demo.py", "hotline"): (1, DEMO_USER),
    ("fieldreport/models/export.py", "failed"): (1, "ExportState"),
    ("fieldreport/api/__init__.py", "citizen"): (1, BLUEPRINT),
    ("fieldreport/api/__init__.py", "staff"): (1, BLUEPRINT),
    ("fieldreport/api/citizen/resources.py", "citizen"): (
        2,
        "the blueprint's name; a field's name in the sign-in answer",
    ),
    ("fieldreport/api/staff/resources.py", "staff"): (1, BLUEPRINT),
    ("fieldreport/web/citizen.py", "citizen"): (1, BLUEPRINT),
    ("fieldreport/models/unit.py", "dispatcher"): (1, UNIT_KIND),
    ("fieldreport/services/console_read.py", "dispatcher"): (1, UNIT_KIND),
    ("fieldreport/services/workflow.py", "dispatcher"): (1, UNIT_KIND),
    ("fieldreport/services/provinces.py", "dispatcher"): (1, UNIT_KIND),
    ("fieldreport/services/indicators/rollups.py", "dispatcher"): (1, UNIT_KIND),
    ("fieldreport/web/dashboard.py", "dispatcher"): (1, UNIT_KIND),
    ("fieldreport/services/demo.py", "dispatcher"): (2, "a demo unit's kind; a demo account's username"),
    ("fieldreport/services/demo.py", "admin"): (1, DEMO_USER),
    ("fieldreport/services/demo.py", "supervisor"): (1, DEMO_USER),
    ("fieldreport/services/demo.py", "citizen"): (1, DEMO_USER),
    ("fieldreport/services/workflow.py", "citizen"): (
        2,
        "who acts in workflow.ACTIONS (unit | dispatch | supervise | citizen)",
    ),
    ("fieldreport/web/dashboard.py", "overdue"): (1, "the dashboard's map of overdue reports"),
    ("fieldreport/web/console.py", "overdue"): (1, "the queue's overdue filter"),
    ("fieldreport/services/staff_read.py", "overdue"): (1, "a report summary's overdue flag"),
}
# Translation tables keyed by the words (the brief's "messages may stay keyed by strings").
MESSAGE_TABLES = {"fieldreport/web/messages.py"}


def _sources() -> list[Path]:
    return sorted(p for d in ("fieldreport", "workers") for p in (ROOT / d).rglob("*.py"))


def _docstrings(tree: ast.AST) -> set[int]:
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                out.add(id(first.value))
    return out


def literals() -> tuple[Counter, list[tuple[tuple[str, str], str]]]:
    """(file, word) → count, and each place, of the vocabulary's words spelled as literals."""
    found: Counter = Counter()
    where: list[tuple[tuple[str, str], str]] = []
    for path in _sources():
        name = path.relative_to(ROOT).as_posix()
        if name == VOCAB_FILE or name in MESSAGE_TABLES:
            continue
        tree = ast.parse(path.read_text())
        skip = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in WORDS:
                if id(node) not in skip:
                    found[name, node.value] += 1
                    where.append(((name, node.value), f"{name}:{node.lineno}: {node.value!r}"))
    return found, where


def test_no_vocabulary_word_is_a_string_literal():
    found, where = literals()
    unexpected = {k: n for k, n in found.items() if k not in ALLOWED}
    places = [place for key, place in where if key in unexpected]
    assert not unexpected, "use the StrEnum members of fieldreport.models.vocab:\n" + "\n".join(places)
    drift = {k: (found.get(k, 0), n) for k, (n, _) in ALLOWED.items() if found.get(k, 0) != n}
    assert not drift, f"ALLOWED is out of date ((file, word): (found, listed)): {drift}"


def test_every_event_type_is_emitted():
    """A type named in the vocabulary is written by some `events.record(report, EventType.X)`
    or `assign_unit(..., type_=EventType.X)` (names that were never emitted were removed)."""
    emitted = set()
    for path in _sources():
        for call in (n for n in ast.walk(ast.parse(path.read_text())) if isinstance(n, ast.Call)):
            name = call.func.attr if isinstance(call.func, ast.Attribute) else getattr(call.func, "id", None)
            args = [*call.args[1:2]] if name == "record" else []
            args += [kw.value for kw in call.keywords if kw.arg == "type_"]
            for arg in args:
                if isinstance(arg, ast.Attribute) and isinstance(arg.value, ast.Name) and arg.value.id == "EventType":
                    emitted.add(arg.attr)
    assert emitted == {m.name for m in vocab.EventType}


def test_the_sets_are_members():
    assert all(isinstance(s, vocab.Status) for s in (*vocab.STATUSES, *vocab.OPEN_STATUSES, *routing.ROUTABLE))
    assert all(isinstance(r, vocab.RejectReason) for r in vocab.REJECT_REASONS)
    assert vocab.Status.RESOLVED == "resolved" and f"{vocab.Status.RESOLVED}" == "resolved"


def _quoted(sql: str) -> set[str]:
    return set(re.findall(r"'([a-z_]+)'", sql))


def test_the_databases_copies_equal_the_enums(app):
    """The partial indexes list statuses in SQL (their predicate must match the enum's sets);
    a CHECK constraint on a vocabulary column, if one is ever added, must allow exactly the
    enum's values."""
    with db.engine.connect() as conn:
        where = dict(
            conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE indexname = ANY(:names)"),
                {
                    "names": [
                        "ix_reports_open_created",
                        "ix_reports_open_unit_due",
                        "ix_reports_open_map",
                        "ix_reports_unrouted",
                        "ix_exports_pending",
                    ]
                },
            ).all()
        )
        checks = conn.execute(
            text(
                "SELECT rel.relname, att.attname, pg_get_constraintdef(c.oid) FROM pg_constraint c "
                "JOIN pg_class rel ON rel.oid = c.conrelid "
                "JOIN pg_attribute att ON att.attrelid = c.conrelid AND att.attnum = ANY(c.conkey) "
                "WHERE c.contype = 'c'"
            )
        ).all()
    assert len(where) == 5
    for name in ("ix_reports_open_created", "ix_reports_open_unit_due", "ix_reports_open_map"):
        assert _quoted(where[name].split(" WHERE ", 1)[1]) == set(vocab.OPEN_STATUSES), name
    assert _quoted(where["ix_reports_unrouted"].split(" WHERE ", 1)[1]) == set(routing.ROUTABLE)
    assert _quoted(where["ix_exports_pending"].split(" WHERE ", 1)[1]) == {ExportState.QUEUED, ExportState.STARTED}
    columns = {
        ("reports", "status"): vocab.Status,
        ("reports", "reject_reason"): vocab.RejectReason,
        ("events", "type"): vocab.EventType,
        ("events", "from_status"): vocab.Status,
        ("events", "to_status"): vocab.Status,
        ("exports", "state"): ExportState,
    }
    for table, column, definition in checks:
        if (table, column) in columns:
            assert _quoted(definition) == {m.value for m in columns[table, column]}, (table, column, definition)


def test_every_word_has_its_translation_and_no_other():
    from fieldreport.web import messages

    assert set(messages.STATUS) == set(vocab.Status)
    assert set(messages.EVENT_TYPES) == set(vocab.EventType)
    assert set(messages.REJECT_REASONS) == set(vocab.RejectReason)
    assert {f"rv_{r}" for r in vocab.AssignReason} <= set(messages.MESSAGES)


def test_every_channel_delivers_and_every_kind_has_its_words():
    from fieldreport.services import notify, sla

    assert set(notify.CHANNELS) == set(vocab.Channel)
    assert set(notify.MESSAGES) <= set(vocab.EventType) | set(vocab.NoticeKind)
    assert set(sla.MESSAGES) == {
        vocab.NoticeKind.SLA_WARNING,
        vocab.NoticeKind.SLA_OVERDUE,
        vocab.NoticeKind.SLA_ESCALATION,
    }
