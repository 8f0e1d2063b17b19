"""Circuit breakers: while a dependency keeps failing, calls fail at once instead of each
waiting out its timeouts (storage, Redis and the database each have one per process)."""

from __future__ import annotations

import threading
import time


class Breaker:
    """A circuit breaker per process: after `failures` transport failures in a row, calls fail
    at once for `open_seconds` (one trial call is let through after that).

    Only an optimisation for a dead or hung server: correctness never depends on it, so its
    state may live in one process.
    """

    def __init__(self, failures: int = 3, open_seconds: float = 10.0) -> None:
        self.failures, self.open_seconds = failures, open_seconds
        self.refused = 0  # calls answered at once while open (reported by /readyz)
        self._count = 0
        self._open_until = 0.0
        self._lock = threading.Lock()

    def allow(self) -> bool:
        with self._lock:
            now = time.monotonic()
            if now < self._open_until:
                self.refused += 1
                return False
            if self._count >= self.failures:  # half-open: one trial, the others keep failing
                self._open_until = now + self.open_seconds
            return True

    def success(self) -> None:
        with self._lock:
            self._count, self._open_until = 0, 0.0

    def failure(self) -> None:
        with self._lock:
            self._count += 1
            if self._count >= self.failures:
                self._open_until = time.monotonic() + self.open_seconds

    @property
    def is_open(self) -> bool:
        return time.monotonic() < self._open_until

    @property
    def state(self) -> str:
        """closed (calls go through), open (refused at once), or half-open (next call is a trial)."""
        if self.is_open:
            return "open"
        return "half-open" if self._count >= self.failures else "closed"

    def describe(self) -> dict:
        return {"state": self.state, "failures": self._count, "refused": self.refused}
