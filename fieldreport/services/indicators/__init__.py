"""The reform indicators (CCHC scoreboard) per unit, commune or category and period.

Rules (also in the API description):
- *Reports of the period* of a unit: the reports it received (first assignment to it) in
  the period and still holds at the period end T — the unit that resolved it, or holds it
  at T. A report it handed on (transfer, return, reassignment) before T is not among them
  but counts as a *transfer* for it. Each report counts once per period and unit.
- T is the end of the period (local midnight), or now for a period not over yet; every
  state is read as of T ("before T" strictly), so past periods do not change later except
  when events arrive late.
- on-time = answered (resolved, rejected, duplicate, closed) on or before the due + open and
  not yet due at T; late = the rest. Rates ÷ reports of the period × 100.
- The due that counts is the indicator due of the unit (set on receipt, moved by
  awaiting_info pauses, never by extensions).
- backlog = reports held at T and not answered, whatever their receipt date; overdue
  backlog bands count whole working days after the due day up to the day before T.
- handling time = resolved − received, in working hours (office hours, minus pauses) and in
  calendar hours; first response = first action of the unit after receipt (over all the
  reports it received, handed on or not). Mean exact; median and p90 estimated from a
  histogram (linear inside a bucket, buckets ≤ 15 min below 4 h, ≤ 12 % wider above).
- satisfaction = (answered − dissatisfied) ÷ answered × 100, where dissatisfied means rated
  1–2, or answered after the due, or reopened (each report once); the rating distribution
  counts first ratings given before T.
- transfers per report = transfers ÷ reports of the period; routed without triage = share
  of the reports of the period that the router assigned straight to their unit.
- A unit's row includes its whole subtree (a department includes its utilities; the
  province committee everything). Ratios with a denominator of 0 are null ("n/a"); 2 decimals.

The package, by part (docs/indicators.md has the rules with their legal sources):
  periods   the reporting periods and the moment T each is read at
  table     the service: filters → scope → the indicator table (what the API and pages call)
  facts     one report's events → its facts (one row per report and unit that held it)
  measures  the SQL of the measures: every fact's flags as of T, their sums and histograms
  totals    additive totals of a group and how they render (ratios, percentiles, bands)
  query     a table's totals from the rollups, corrected by the facts straddling T
  rollups   keeping facts and rollups equal to the events (the refresh job)
  cache     the Redis cache of tables of periods that are over
  exports   the one CSV/XLSX export (API, dashboard and the export job)
"""
from fieldreport.services.indicators.periods import PERIODS, Period, as_of, period
from fieldreport.services.indicators.table import (
                                                   GROUPS,
                                                   Query,
                                                   Scope,
                                                   compute,
                                                   from_params,
                                                   scope,
)

# The counting rules alone (the API's description of GET /indicators).
RULES = __doc__.split("\n", 1)[1].split("\nThe package, by part")[0].strip() + "\n"

__all__ = [
                                                   "GROUPS",
                                                   "PERIODS",
                                                   "RULES",
                                                   "Period",
                                                   "Query",
                                                   "Scope",
                                                   "as_of",
                                                   "compute",
                                                   "from_params",
                                                   "period",
                                                   "scope",
]
