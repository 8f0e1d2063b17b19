"""The reform indicators (CCHC scoreboard) per unit, commune or category and period.

Rules (also in the API description; docs/indicators.md has them with their legal sources):
- A *fact* is what one unit did with one report it received (one per report and unit). A
  unit's row includes its whole subtree; ratios with a denominator of 0 are null ("n/a");
  2 decimals.
- Every event is counted in the period it happens in (*flows*), read "before T" strictly
  (T = the period end, local midnight, or now for a period not over): receipts, first
  responses, hand-ons (transfers, returns), outcomes, answers, ratings, reopenings. An event
  at 00:00 on the 1st belongs to the new month.
- *Outcome* of a fact: the unit's answer (resolved, rejected, duplicate, closed), or — if it
  hands the report on after its due without having answered — that hand-on (late: the
  lateness stays with the unit that held the report past its due). A report handed on
  before the unit's due is only a transfer for it; the receiving unit has its own due.
- reports of the period = outcomes in the period + reports held at T without an outcome
  (*stock*); on-time = outcomes by the due + held and not yet due at T; late = the rest.
  Rates ÷ reports × 100.
- The due that counts is deadlines.due_for(): the unit's limit from its receipt (a day limit
  from the next working day), the clock stopped by awaiting_info pauses while it runs,
  never moved by extensions.
- backlog = held at T and not answered, whatever the receipt date; overdue bands count whole
  working days after the due day up to the day before T.
- handling time = resolved − received (working hours minus pauses, and calendar hours),
  counted at the answer; first response = the unit's first action after receipt, counted
  when it happens. Means exact; median and p90 from histogram buckets (error at most the
  width of the bucket holding the exact value: ≤ 0.5 h below 4 working hours, ≤ a third of
  the value up to 750 h; docs/indicators.md).
- Ratings and reopenings belong to the answer they judge (the unit that gave the latest
  answer before them) and stay on that unit's record. satisfaction = (answered − dissatisfied)
  ÷ answered × 100 over the answers of the period, dissatisfied = answered late, rated 1–2 or
  reopened (each answer once); ratings are counted when given.
- transfers per report and the share routed without triage are per receipt of the period.

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
  dashboard the supervisor dashboard's reads: its tables in one batch, the overdue map
"""

from fieldreport.services.indicators.periods import PERIODS, Period, as_of, period
from fieldreport.services.indicators.table import (
    GROUPS,
    Query,
    Scope,
    Table,
    compute,
    compute_many,
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
    "Table",
    "as_of",
    "compute",
    "compute_many",
    "from_params",
    "period",
    "scope",
]
