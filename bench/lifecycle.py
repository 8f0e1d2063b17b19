"""One generated report's life: the steps a real one goes through, each with a plausible delay.

Only steps that happen before `now` are kept, so recent reports are still open. Each unit has
its own on-time rate; resolution times are log-normal around the working-time deadline.
"""

from __future__ import annotations

import math
from datetime import timedelta
from statistics import NormalDist

ANSWERS = [
    "Đơn vị đã kiểm tra và khắc phục xong.",
    "Đã phối hợp với đơn vị liên quan xử lý.",
    "Đã thu gom và vệ sinh khu vực.",
    "Đã thay thế thiết bị hư hỏng.",
]
REJECT = ["unclear", "out_of_scope", "complaint_channel", "offensive"]


def life(rng, cal, world, ontime, commune, cat, now, days, rid, first_id) -> dict:
    """One report's timeline and final state (only steps that happened before `now`)."""
    cid, amount, unit_kind, other = world.categories[cat]
    age = days * (1 - math.sqrt(rng.random()))  # volume grows towards today
    created = now - timedelta(days=age)
    local_hour = rng.choices(range(24), [1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 8, 7, 6, 6, 7, 8, 8, 8, 7, 6, 5, 3, 2, 1])[0]
    created = created.replace(hour=(local_hour - 7) % 24, minute=rng.randrange(60), second=rng.randrange(60))
    if created > now:
        created -= timedelta(days=1)
    unit = world.owner[(commune.id, cid)]
    ev = [("submitted", created, "citizen", "submitted", "submitted", None, None, None, None, {})]
    st = {
        "status": "submitted",
        "created": created,
        "unit": None,
        "events": ev,
        "transfers": 0,
        "rating": None,
        "reopens": 0,
        "cat": cat,
    }

    def step(kind, at, actor, to_status, to_unit=None, reason=None, note=None, data=None):
        if at > now:
            return False
        ev.append(
            (kind, at, actor, st["status"], to_status, st["unit"], to_unit or st["unit"], reason, note, data or {})
        )
        st["status"] = to_status
        if to_unit:
            st["unit"] = to_unit
        return True

    def assign(at, to_unit, kind="assigned", actor="system:router", reason=None):
        due = cal.due(at, amount, unit_kind)
        limit = f"{amount:g}{unit_kind[0]}"  # recorded as the workflow does (deadlines.limit_text)
        if not step(kind, at, actor, "assigned", to_unit, reason, data={"due_at": due.isoformat(), "limit": limit}):
            return None
        st.setdefault("assigned_at", at)
        st.setdefault("citizen_due", due)
        st["due"] = due
        return due

    triage = timedelta(hours=rng.expovariate(1 / 3)) if other else timedelta(seconds=rng.uniform(1, 20))
    wrong = rng.random() < 0.05  # routed to another unit first, which transfers it on
    first = rng.choice(list(ontime)) if wrong else unit
    if first == unit:
        wrong = False
    if assign(created + triage, first, actor="dispatcher:dispatcher" if other else "system:router") is None:
        return st
    if wrong:  # a real transfer between units; about one in five is held past the first due
        st["transfers"] = 1
        held = timedelta(hours=rng.expovariate(1 / 40))
        if assign(st["assigned_at"] + held, unit, kind="transferred", actor="staff:other", reason="not_ours") is None:
            return st
        st["assigned_at"] = st["events"][-1][1]
    return _work(rng, st, step, assign, unit, ontime[unit], now, rid, first_id)


def _work(rng, st, step, assign, unit, p_ontime, now, rid, first_id) -> dict:
    start = st["assigned_at"]
    if rng.random() < 0.04:
        step(
            "rejected",
            start + timedelta(hours=rng.expovariate(1 / 12)),
            "staff:unit",
            "rejected",
            reason=rng.choice(REJECT),
        )
        st["reject"] = st["events"][-1][7]
        return st
    if rng.random() < 0.02 and rid > first_id:
        if step(
            "duplicate", start + timedelta(hours=rng.expovariate(1 / 6)), "staff:unit", "duplicate", reason="duplicate"
        ):
            st["parent"] = rng.randrange(first_id, rid)
        return st
    for round_ in range(2):
        accepted = start + timedelta(hours=rng.expovariate(1 / 5))
        if not step("accepted", accepted, "staff:unit", "in_progress"):
            return st
        st.setdefault("accepted_at", accepted)
        span = st["due"] - start
        mu = -0.45 * NormalDist().inv_cdf(p_ontime)  # P(duration < deadline) = the unit's on-time rate
        resolved = start + span * math.exp(rng.gauss(mu, 0.45))
        if rng.random() < 0.04:  # an extension: a later working due, never the indicators' one
            asked = accepted + timedelta(hours=rng.expovariate(1 / 6))
            if asked < st["due"]:
                new_due = st["due"] + timedelta(days=rng.choice([1, 2, 3, 5]))
                if not step(
                    "extended",
                    asked,
                    "staff:unit",
                    "in_progress",
                    data={"new_due_at": new_due.isoformat(), "reason": "cần thêm vật tư"},
                ):
                    return st
        if rng.random() < 0.06:  # a pause: the citizen is asked for information
            asked = accepted + timedelta(hours=rng.expovariate(1 / 8))
            if not step("info_requested", asked, "staff:unit", "awaiting_info"):
                return st
            st["paused_at"] = asked
            back = asked + timedelta(hours=rng.expovariate(1 / 30))
            if not step("info_provided", back, "citizen", "in_progress"):
                return st
            st["paused_at"] = None
            resolved += back - asked
        if not step(
            "resolved",
            max(resolved, accepted + timedelta(minutes=5)),
            "staff:unit",
            "resolved",
            note=rng.choice(ANSWERS),
        ):
            return st
        st["resolved_at"], st["answer"] = st["events"][-1][1], st["events"][-1][8]
        late = st["resolved_at"] > st["due"]
        if round_ == 0 and rng.random() < 0.015:  # not satisfied: reopened, routed again
            again = st["resolved_at"] + timedelta(days=rng.uniform(0.1, 6))
            if not step("reopened", again, "citizen", "reopened", reason="citizen_not_satisfied"):
                break
            st["reopens"] = 1
            if assign(again + timedelta(seconds=5), unit) is None:
                return st
            start = again
            continue
        break
    if st["status"] != "resolved":
        return st
    if rng.random() < 0.45:
        weights = [30, 15, 15, 20, 20] if late else [5, 5, 12, 28, 50]
        rating = rng.choices([1, 2, 3, 4, 5], weights)[0]
        if step(
            "rated",
            st["resolved_at"] + timedelta(hours=rng.expovariate(1 / 20)),
            "citizen",
            "closed",
            data={"rating": rating},
        ):
            st["rating"], st["closed_at"] = rating, st["events"][-1][1]
    elif step("closed", st["resolved_at"] + timedelta(days=7), "system", "closed"):
        st["closed_at"] = st["events"][-1][1]
    return st
