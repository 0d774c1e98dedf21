"""``spotadvisor report``: the monthly FinOps report from tagged billing data.

``sql`` writes the queries, an ``engine`` runs them (the store's DuckDB, Athena or
BigQuery), ``rollup`` and ``opportunities`` turn results into the ``model``, and
``spotadvisor.render.report`` writes it as HTML, Markdown, JSON or CSV.
"""

from spotadvisor.report.build import build_report
from spotadvisor.report.interruptions import InterruptionEvent, Interruptions
from spotadvisor.report.model import Report
from spotadvisor.report.opportunities import OpportunitySettings
from spotadvisor.report.period import Month
from spotadvisor.report.sql import ReportQuery, SpotTag

__all__ = [
    "InterruptionEvent",
    "Interruptions",
    "Month",
    "OpportunitySettings",
    "Report",
    "ReportQuery",
    "SpotTag",
    "build_report",
]
