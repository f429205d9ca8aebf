"""Salesperson base quality (being built)."""

from leads.reports.base import Report

KEY = "base-quality"
TITLE = "Salesperson base quality"
SUMMARY = (
    "Each salesperson's base: purchase horizons, long projects, leads "
    "due for archive, overdue tasks, short calls, sales."
)


def build(filters, today):
    return Report(key=KEY, title=TITLE, description=SUMMARY, filters=filters)
