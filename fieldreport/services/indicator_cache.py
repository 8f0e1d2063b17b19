"""A short-lived Redis cache of indicator tables for periods that are over.

A period that is over is read as of its end, so its table changes only when the rollups
change (late events, recomputed dues) or when the calendar does (overdue bands). Entries
are keyed by everything the answer depends on — the query, the scope's units, the
calendar — plus a generation number that rollups.refresh bumps after every commit that
changed facts. A reader takes the generation *before* it reads the data: an answer
computed across a bump is stored under the old generation, which nobody reads again.
Periods not yet over (T = now) are never cached. Redis trouble means no cache, not an error.
"""
from __future__ import annotations

import hashlib
import json
import logging
from typing import Callable

from flask import current_app, has_app_context
from redis.exceptions import RedisError

from fieldreport.extensions import queues
from fieldreport.worktime import Calendar

log = logging.getLogger(__name__)


def _key(name: str) -> str:
    return f"{queues.prefix}:indicators:{name}"


def _ttl() -> int:
    return int(current_app.config.get("INDICATOR_CACHE_SECONDS", 0)) if has_app_context() else 0


def bump() -> None:
    """The rollups changed: every cached table is stale from now on."""
    if queues.redis is None:
        return
    try:
        queues.redis.incr(_key("generation"))
    except RedisError as exc:  # entries then live out their TTL; say so
        log.warning("indicator cache generation not bumped: %s", exc)


def cached(parts: dict, cal: Calendar, compute: Callable[[], dict]) -> dict:
    """compute(), or the stored answer for the same `parts` (JSON-safe) and calendar."""
    ttl = _ttl()
    if ttl <= 0 or queues.redis is None:
        return compute()
    try:
        generation = int(queues.redis.get(_key("generation")) or 0)
    except RedisError:
        return compute()
    digest = hashlib.sha256(json.dumps(
        [generation, parts, sorted(map(str, cal.extra_days_off)), sorted(map(str, cal.makeup_days)),
         [[str(a), str(b)] for a, b in cal.office_hours]], sort_keys=True, default=str).encode()).hexdigest()
    key = _key(f"table:{digest}")
    try:
        hit = queues.redis.get(key)
        if hit is not None:
            return json.loads(hit)
    except RedisError:
        return compute()
    value = compute()
    try:
        queues.redis.set(key, json.dumps(value), ex=ttl)
    except RedisError:
        pass
    return value
