"""A Redis cache of indicator tables for periods that are over.

A period that is over is read as of its end T, so its table changes only when facts change
*before T* (late events, recomputed dues) or when the calendar does (overdue bands). Each
refresh that changed facts bumps a generation and logs, with it, the earliest moment from
which the facts read differently (rollups.recompute_reports). A cached table remembers the
generation it was computed at and stays valid while every later bump starts at or after
its T — so the steady stream of today's events never invalidates last month.

Entries are keyed by everything else the answer depends on: the query, the scope's units
(names included), the calendar. A reader takes the generation *before* it reads the data,
so an answer computed across a bump is checked against that bump next time. Periods not
over yet (T = now) are never cached. Redis trouble means no cache, not an error.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from datetime import datetime

from flask import current_app, has_app_context
from redis.exceptions import RedisError

from fieldreport.extensions import queues
from fieldreport.worktime import Calendar

log = logging.getLogger(__name__)
LOG_LENGTH = 10_000  # bumps remembered; an entry older than that is recomputed

# INCR the generation, log "generation:epoch" under it, keep the last LOG_LENGTH bumps.
_BUMP = """
local g = redis.call('INCR', KEYS[1])
redis.call('ZADD', KEYS[2], g, g .. ':' .. ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -1 - tonumber(ARGV[2]))
return g"""


def _key(name: str) -> str:
    return f"{queues.prefix}:indicators:{name}"


def _ttl() -> int:
    return int(current_app.config.get("INDICATOR_CACHE_SECONDS", 0)) if has_app_context() else 0


def bump(changed_from: datetime) -> None:
    """Facts read differently from `changed_from` on: tables of periods ending after it are stale."""
    if not queues.configured:
        return
    try:
        queues.redis.eval(_BUMP, 2, _key("generation"), _key("bumps"), changed_from.timestamp(), LOG_LENGTH)
    except RedisError as exc:  # entries then live out their TTL; say so
        log.warning("indicator cache not invalidated from %s: %s", changed_from, exc)


def _still_valid(r, since: int, now: int, t: datetime) -> bool:
    """No bump in (since, now] changed facts before T (and none of them was forgotten)."""
    if since == now:
        return True
    bumps = r.zrangebyscore(_key("bumps"), f"({since}", now)
    return len(bumps) == now - since and all(float(b.split(b":")[1]) >= t.timestamp() for b in bumps)


def cached(parts: dict, t: datetime, cal: Calendar, compute: Callable[[], dict]) -> dict:
    """compute(), or the stored answer for the same `parts` (JSON-safe) and calendar as of T."""
    entry = lookup(parts, t, cal)
    if entry.table is not None:
        return entry.table
    table = compute()
    entry.store(table)
    return table


class Entry:
    """A cache slot: the stored table when still valid, else where (and at which generation)
    to store the one computed now."""

    def __init__(self, key: str | None = None, generation: int = 0, table: dict | None = None) -> None:
        self.key, self.generation, self.table = key, generation, table

    def store(self, table: dict) -> None:
        if self.key is None or not queues.configured:
            return
        try:
            queues.redis.set(self.key, json.dumps({"generation": self.generation, "table": table}), ex=_ttl())
        except RedisError:
            pass


def lookup(parts: dict, t: datetime, cal: Calendar) -> Entry:
    """The entry of `parts` (JSON-safe) and calendar as of T; no key when caching is off."""
    if _ttl() <= 0 or not queues.configured:
        return Entry()
    r = queues.redis
    digest = hashlib.sha256(
        json.dumps(
            [
                parts,
                t.isoformat(),
                sorted(map(str, cal.extra_days_off)),
                sorted(map(str, cal.makeup_days)),
                [[str(a), str(b)] for a, b in cal.office_hours],
                cal.tz.key,
            ],
            sort_keys=True,
            default=str,
        ).encode()
    ).hexdigest()
    key = _key(f"table:{digest}")
    try:
        generation = int(r.get(_key("generation")) or 0)
        hit = r.get(key)
        if hit is not None:
            entry = json.loads(hit)
            if _still_valid(r, entry["generation"], generation, t):
                return Entry(key, generation, entry["table"])
    except RedisError:
        return Entry()
    return Entry(key, generation)
