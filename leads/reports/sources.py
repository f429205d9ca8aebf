"""Sources (being built)."""

from leads.reports.base import Report

KEY = "sources"
TITLE = "Sources"
SUMMARY = (
    "Leads, qualified, appointments and sales per source, "
    "per unique customer, and what a sale costs."
)


def build(filters, today):
    return Report(key=KEY, title=TITLE, description=SUMMARY, filters=filters)
