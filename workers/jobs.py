"""Job functions: take ids, run inside the worker's app context, call one service each."""
from __future__ import annotations

from fieldreport.services import outbox


def noop() -> None:
    """Does nothing: the floor that job benchmarks are measured against."""


def sweep_outbox() -> int:
    return outbox.sweep()
