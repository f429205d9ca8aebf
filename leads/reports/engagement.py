"""Automated vs personal (being built)."""

from leads.reports.base import Report

KEY = "engagement"
TITLE = "Automated vs personal"
SUMMARY = "Whether customers respond to leads that got automated messages or only personal contact."


def build(filters, today):
    return Report(key=KEY, title=TITLE, description=SUMMARY, filters=filters)
