"""Conversion timing (being built)."""

from leads.reports.base import Report

KEY = "timing"
TITLE = "Conversion timing"
SUMMARY = "Days from lead to sale, and the days of the week and month customers buy on."


def build(filters, today):
    return Report(key=KEY, title=TITLE, description=SUMMARY, filters=filters)
