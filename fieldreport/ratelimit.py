"""Rate limits in Redis, shared by every API process and host: fixed windows, cool-downs and
exponential back-off after failures."""

from __future__ import annotations

import time

from redis.exceptions import RedisError

from fieldreport.errors import RateLimited
from fieldreport.extensions import queues


def hit(bucket: str, limit: int, window_seconds: int = 3600) -> None:
    """Count one request for `bucket`; raise RateLimited (429) past `limit` per window.

    Fails open when Redis is down: refusing citizens because the limiter is unavailable would
    lose reports, and the limit only guards against abuse.
    """
    window = int(time.time()) // window_seconds
    key = f"{queues.prefix}:rl:{bucket}:{window}"
    try:
        pipe = queues.redis.pipeline()
        pipe.incr(key)
        pipe.expire(key, window_seconds)
        count = pipe.execute()[0]
    except RedisError:
        return
    if count > limit:
        retry = window_seconds - int(time.time()) % window_seconds
        raise RateLimited(
            "rate_limited",
            "Too many requests; try again later.",
            "Gửi quá nhiều yêu cầu; vui lòng thử lại sau.",
            retry_after=retry,
        )


def cooldown(bucket: str, seconds: int, code: str, message_en: str, message_vi: str) -> None:
    """At most one action per `seconds` for `bucket` (e.g. resending a code); 429 before that.

    A key set with NX and an expiry: exact whatever the window, shared by every process.
    Fails open when Redis is down, like hit().
    """
    key = f"{queues.prefix}:cd:{bucket}"
    try:
        if queues.redis.set(key, 1, nx=True, ex=seconds):
            return
        wait = queues.redis.ttl(key)
    except RedisError:
        return
    raise RateLimited(code, message_en, message_vi, retry_after=max(1, int(wait or seconds)))


def release(bucket: str) -> None:
    """Forget a cool-down (the action it guarded did not happen after all)."""
    try:
        queues.redis.delete(f"{queues.prefix}:cd:{bucket}")
    except RedisError:
        pass


def backoff_wait(bucket: str) -> int:
    """Seconds still to wait before `bucket` may try again (0: go ahead)."""
    try:
        wait = queues.redis.pttl(f"{queues.prefix}:bo-wait:{bucket}")
    except RedisError:
        return 0  # fail open, like hit()
    return max(1, -(-int(wait) // 1000)) if wait and wait > 0 else 0


def backoff_failed(bucket: str, free: int, base_seconds: float, max_seconds: int, memory_seconds: int) -> int:
    """Count one failure of `bucket`; past `free` failures the next try must wait
    base·2^(n−free−1) seconds, capped at `max_seconds`. The count is forgotten after
    `memory_seconds` without a failure. Returns the wait now imposed (0 within the free ones)."""
    count_key, wait_key = f"{queues.prefix}:bo:{bucket}", f"{queues.prefix}:bo-wait:{bucket}"
    try:
        pipe = queues.redis.pipeline()
        pipe.incr(count_key)
        pipe.expire(count_key, memory_seconds)
        failures = pipe.execute()[0]
        if failures <= free:
            return 0
        wait_ms = int(min(max_seconds, base_seconds * 2 ** min(failures - free - 1, 40)) * 1000)
        queues.redis.set(wait_key, 1, px=max(1, wait_ms))
    except RedisError:
        return 0
    return max(1, -(-wait_ms // 1000))


def backoff_reset(bucket: str) -> None:
    """Forget the failures of `bucket` (it succeeded)."""
    try:
        queues.redis.delete(f"{queues.prefix}:bo:{bucket}", f"{queues.prefix}:bo-wait:{bucket}")
    except RedisError:
        pass
