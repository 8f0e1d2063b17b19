"""From one report's events to its indicator facts: one row per (report, unit) that held it.

Reading the history (events are the source of truth; nothing here trusts a counter):
- The holder after an event is its `to_unit_id`. A unit *receives* a report when an event
  moves it there, and *hands it on* (a transfer, counted for that unit) when one moves it
  away; a report that comes back is held again (the fact stays one row per unit).
- The unit's *answer* is the first event, while it holds the report, that takes the
  status to resolved, rejected, duplicate or closed. Handling time is measured to a
  'resolved' answer only.
- *First response*: the first event after receipt, by the holding unit, of a response type
  (accept, ask for information, extend, answer, transfer, return, assign onwards).
- *Routed without manual triage*: received from the router ('assigned' by a system actor)
  and the unit is not the dispatcher.
- Pauses are the spans in status awaiting_info; they stop the indicator due and are
  subtracted from working hours.
- The due: the due recorded with the receiving event (data.indicator_due_at, else
  data.due_at: the workflow writes the unit's indicator due there) when present, otherwise
  the category's limit (or the triage limit for a dispatcher) from the receipt, moved by
  pauses and never by extensions ('extended' events are ignored for it).
- Ratings and reopens belong to the answer they judge: a 'rated' event (data.rating 1–5)
  or a reopening goes to the fact of the unit that gave the report's latest answer before
  it, and stays there whatever happens to the report afterwards (the first rating and the
  first reopening of each unit's answer; a report answered by two units has two).
- Lateness carried on: when a unit hands a report on after its due without having answered
  by then, the first such hand-on is `handed_late_at` — the unit's outcome, late.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fieldreport.models import EventType, Status
from fieldreport.models.vocab import IntakeChannel
from fieldreport.services import deadlines
from fieldreport.worktime import Calendar

ANSWER_STATUSES = (Status.RESOLVED, Status.REJECTED, Status.DUPLICATE, Status.CLOSED)
# The unit's first response: any of its own acts on the report (a handover counts too).
RESPONSE_TYPES = frozenset(
    {
        EventType.ACCEPTED,
        EventType.INFO_REQUESTED,
        EventType.EXTENDED,
        EventType.RESOLVED,
        EventType.REJECTED,
        EventType.DUPLICATE,
        EventType.TRANSFERRED,
        EventType.RETURNED,
        EventType.ASSIGNED,
    }
)


@dataclass
class EventRow:
    """The columns of an event the indicators read."""

    id: int
    at: datetime
    type: str
    actor: str | None
    actor_user_id: int | None
    to_status: str | None
    from_unit_id: int | None
    to_unit_id: int | None
    data: dict | None


@dataclass
class Fact:
    report_id: int
    unit_id: int
    category_id: int
    area_id: int
    received_at: datetime
    auto_routed: bool
    received_day: date
    limit: tuple[float, str] | None = None
    urgency: str | None = None
    left_at: datetime | None = None
    away_from: list[datetime] = field(default_factory=list)
    away_to: list[datetime] = field(default_factory=list)
    due_at: datetime | None = None
    answered_at: datetime | None = None
    answer_kind: str | None = None
    handling_wh: float | None = None
    handling_ch: float | None = None
    first_response_at: datetime | None = None
    first_response_wh: float | None = None
    first_response_ch: float | None = None
    rating: int | None = None
    rated_at: datetime | None = None
    reopened_at: datetime | None = None
    handed_late_at: datetime | None = None
    settle_day: date | None = None
    channel: str = IntakeChannel.APP

    def row(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k not in ("limit", "urgency")}

    def csv_line(self) -> str:
        """The fact as one line of `COPY indicator_facts (COLUMNS) … (FORMAT csv)`."""
        row = self.row()
        return ",".join(_csv(row[c]) for c in COLUMNS) + "\n"


COLUMNS = (
    "report_id",
    "unit_id",
    "category_id",
    "area_id",
    "received_at",
    "received_day",
    "left_at",
    "away_from",
    "away_to",
    "due_at",
    "answered_at",
    "answer_kind",
    "handling_wh",
    "handling_ch",
    "first_response_at",
    "first_response_wh",
    "first_response_ch",
    "rating",
    "rated_at",
    "reopened_at",
    "handed_late_at",
    "auto_routed",
    "settle_day",
    "channel",
)


def _csv(v) -> str:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, list):
        return '"{' + ",".join(x.isoformat() for x in v) + '}"'
    if isinstance(v, (datetime, date)):
        return v.isoformat()
    if isinstance(v, float):
        return repr(v)
    return str(v)


def copy_facts(cursor, facts: Iterable[Fact]) -> None:
    """Write facts with COPY (a multi-row INSERT of them is ten times slower)."""
    buf = io.StringIO()
    for fact in facts:
        buf.write(fact.csv_line())
    buf.seek(0)
    cursor.copy_expert(f"COPY indicator_facts ({', '.join(COLUMNS)}) FROM STDIN WITH (FORMAT csv)", buf)


def local_day(moment: datetime, tz: ZoneInfo) -> date:
    return moment.astimezone(tz).date()


def _rating(data: dict | None) -> int | None:
    rating = (data or {}).get("rating")
    if rating is None:
        return None
    try:
        value = int(rating)
    except (TypeError, ValueError):
        return None
    return value if 1 <= value <= 5 else None


def _limit(data: dict) -> tuple[float, str] | None:
    try:
        return deadlines.parse_limit(data["limit"]) if data.get("limit") else None
    except (TypeError, ValueError):
        return None


def _is_router(ev: EventRow) -> bool:
    return ev.type == EventType.ASSIGNED and ev.actor_user_id is None and (ev.actor or "").startswith("system")


def build_facts(
    report_id: int,
    category,
    area_id: int | None,
    events: Iterable[EventRow],
    cal: Calendar,
    is_dispatcher: Callable[[int], bool],
    channel: str = IntakeChannel.APP,
) -> list[Fact]:
    """The facts of one report; `events` in history order (at, id); `channel` is the report's."""
    facts: dict[int, Fact] = {}
    holder: int | None = None
    status: str | None = None
    pauses: list[list] = []  # [start, end or None]
    judged: Fact | None = None  # the fact whose answer the citizen would now rate or reopen
    for ev in sorted(events, key=lambda e: (e.at, e.id)):
        new_status = ev.to_status or status
        new_holder = ev.to_unit_id if ev.to_unit_id is not None else holder
        current = facts.get(holder) if holder is not None else None
        # A response is judged against the unit holding the report before the event.
        if (
            current is not None
            and current.first_response_at is None
            and ev.type in RESPONSE_TYPES
            and ev.from_unit_id == holder
        ):
            current.first_response_at = ev.at
        if new_holder != holder:
            if current is not None:
                current.left_at = ev.at
            if new_holder is not None:
                fact = facts.get(new_holder)
                if fact is None:
                    data = ev.data or {}
                    fact = facts[new_holder] = Fact(
                        report_id=report_id,
                        unit_id=new_holder,
                        category_id=category.id,
                        area_id=area_id or 0,
                        channel=channel,
                        received_at=ev.at,
                        received_day=local_day(ev.at, cal.tz),
                        auto_routed=_is_router(ev) and not is_dispatcher(new_holder),
                        limit=_limit(data),
                        urgency=data.get("urgency"),
                    )
                elif fact.left_at is not None:
                    fact.away_from.append(fact.left_at)
                    fact.away_to.append(ev.at)
                    fact.left_at = None
            holder = new_holder
        fact = facts.get(holder) if holder is not None else None
        changed = new_status != status
        if changed:
            if new_status == Status.AWAITING_INFO:
                pauses.append([ev.at, None])
            elif status == Status.AWAITING_INFO and pauses and pauses[-1][1] is None:
                pauses[-1][1] = ev.at
        status = new_status
        # Only a change of status answers or reopens: every event repeats the current one.
        if fact is not None and changed and new_status in ANSWER_STATUSES:
            if fact.answered_at is None:
                fact.answered_at, fact.answer_kind = ev.at, new_status
            judged = fact
        if judged is None:
            continue
        if ev.type == EventType.RATED and judged.rated_at is None and _rating(ev.data) is not None:
            judged.rating, judged.rated_at = _rating(ev.data), ev.at
        if judged.reopened_at is None and (
            ev.type == EventType.REOPENED or (changed and new_status == Status.REOPENED)
        ):
            judged.reopened_at = ev.at
    spans = [(a, b) for a, b in pauses]
    for fact in facts.values():
        _measure(fact, category, spans, cal, is_dispatcher(fact.unit_id))
    return list(facts.values())


def _measure(fact: Fact, category, spans, cal: Calendar, triage: bool) -> None:
    fact.due_at = deadlines.due_for(
        category, fact.received_at, cal, urgency=fact.urgency, triage=triage, limit=fact.limit, pauses=spans
    )
    if fact.answered_at is not None and fact.answer_kind == Status.RESOLVED:
        fact.handling_wh = cal.working_hours_between(fact.received_at, fact.answered_at, spans)
        fact.handling_ch = (fact.answered_at - fact.received_at).total_seconds() / 3600
    if fact.first_response_at is not None:
        fact.first_response_wh = cal.working_hours_between(fact.received_at, fact.first_response_at)
        fact.first_response_ch = (fact.first_response_at - fact.received_at).total_seconds() / 3600
    fact.handed_late_at = _handed_late(fact)
    fact.settle_day = _settle_day(fact, cal.tz)


def _handed_late(fact: Fact) -> datetime | None:
    """The first hand-on after the due by a unit that had not answered by then (None: none)."""
    if fact.due_at is None:
        return None
    hand_ons = sorted([*fact.away_from, *([fact.left_at] if fact.left_at is not None else [])])
    for moment in hand_ons:
        if moment > fact.due_at and (fact.answered_at is None or fact.answered_at > moment):
            return moment
    return None


def _settle_day(fact: Fact, tz: ZoneInfo) -> date | None:
    """Last local day whose events (or due) still change the fact's state at a period end."""
    if fact.left_at is None and fact.answered_at is None:
        return None  # held and unanswered: in the backlog, ageing every day
    moments = [fact.received_at, *fact.away_from, *fact.away_to]
    for m in (fact.left_at, fact.answered_at, fact.first_response_at, fact.rated_at, fact.reopened_at):
        if m is not None:
            moments.append(m)
    # The due needs no place here: lateness flips at the due only while the unit holds the
    # report unanswered, and then a later answer or hand-on (already listed) ends that.
    return max(local_day(m, tz) for m in moments)
