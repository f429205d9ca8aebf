"""Qualification (being built)."""

from leads.reports.base import Report

KEY = "qualification"
TITLE = "Qualification"
SUMMARY = (
    "Monthly lead-to-qualified conversion, disqualification reasons, "
    "and the figure corrected by audits."
)


def build(filters, today):
    return Report(key=KEY, title=TITLE, description=SUMMARY, filters=filters)
