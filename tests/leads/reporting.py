"""Shortcuts for the lead-report tests: leads with a known history at known times, built
through the same services a person or an integration would use, and the report for a period."""

from datetime import date, datetime, time

from django.utils import timezone

from dealercrm.periods import Period
from leads.reports import REPORTS
from leads.reports.base import Filters
from leads.services import activity_log, lead_assign, lead_change_status, lead_create, lead_reopen
from tests.factories import CustomerFactory, reason

CLOSING_REASON = {"lost": ("lost", "bought_elsewhere"), "disqualified": ("disqualified", "spam")}


def at(day, hour=10, minute=0, second=0):
    """A moment of the dealership's day `day` (a date or "2026-07-03")."""
    if isinstance(day, str):
        day = date.fromisoformat(day)
    return timezone.make_aware(datetime.combine(day, time(hour, minute, second)))


def new_lead(created, *, owner=None, customer=None, source="dealer-website", **fields):
    """A lead created at `created`, given to `owner` a few seconds later when there is one."""
    lead = lead_create(
        customer=customer or CustomerFactory(),
        source=source,
        channel=fields.pop("channel", "web_form"),
        by="test",
        at=created,
        **fields,
    )
    if owner is not None:
        lead = lead_assign(lead=lead, owner=owner, by="test", at=created)
    return lead


def touch(lead, when, *, by, kind="call", **fields):
    """An activity on `lead` at `when`: personal when `by` is a person, automated when it is
    the name of an integration."""
    return activity_log(
        lead=lead,
        kind=kind,
        by=by,
        automated=isinstance(by, str),
        occurred_at=when,
        **fields,
    )


def move(lead, status, when, *, by, code=None):
    """Change the lead's status at `when`; a lost or disqualified lead gets a catalog reason
    (`code`, or a default one)."""
    why = None
    if status in CLOSING_REASON:
        kind, default = CLOSING_REASON[status]
        why = reason(kind, code or default)
    return lead_change_status(lead=lead, to_status=status, by=by, reason=why, at=when)


def audit_return(lead, when, *, by):
    return lead_reopen(lead=lead, cause="audit", by=by, at=when, note="Wrongly disqualified")


def build(key, start, end, today=None, **filters):
    """The report `key` for the period `start`–`end` (dates or ISO strings)."""
    start, end = (date.fromisoformat(d) if isinstance(d, str) else d for d in (start, end))
    return REPORTS[key].build(Filters(Period(start, end), **filters), today or end)


def rows_by_label(table):
    return {row["label"]: row for row in table.rows}
