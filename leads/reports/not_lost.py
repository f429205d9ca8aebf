"""Not lost (being built)."""

from leads.reports.base import Report

KEY = "not-lost"
TITLE = "Not lost"
SUMMARY = (
    "Quiet and lost leads whose customer is still on "
    "the website, and what happened after they came back."
)


def build(filters, today):
    return Report(key=KEY, title=TITLE, description=SUMMARY, filters=filters)
