"""Qualification: the monthly lead-to-qualified conversion of the leads created in each calendar
month of the period, the same figure corrected by the disqualification audit, and why leads were
disqualified (DESIGN.md: junk is typically ~60% invalid phone or spam and ~25% non-target).

What is counted, over the leads created in the period that match the filters:

- A lead is *qualified* when it reached qualified or beyond (appointment, sold), even if it was
  lost afterwards: `Lead.qualified_at` is set.
- *Returned by audit*: a disqualification audit returned the lead to work (`audit_returned_at`
  is set). The audit judged it wrongly disqualified, so it counts as qualified in the corrected
  figure, whatever happened to it afterwards.
- *Was* (before the audit): qualified without an audit return (`qualified_at` set and
  `audit_returned_at` empty). *Now* (after the audit): `qualified_at` set or `audit_returned_at`
  set. The correction is now minus was, in percentage points, each conversion rounded to two
  places first, so that the three figures on the page add up (44.62% + 3.07 = 47.69%).
- Months are the dealership's calendar months (settings.TIME_ZONE); the first and last month of
  the period count only the days inside it. A month without leads is shown with no conversion.
- *Disqualified* are the leads whose status is disqualified now, by the reason they were
  disqualified with (`close_reason`); shares are of the disqualified leads and of all leads.
  A lead returned by audit is no longer disqualified; the reason the audit overturned is read
  from its history: the last disqualification recorded up to its first audit return.

Four queries: the counts of each month (one UNION ALL over the leads of the period, read from
`lead_report_idx` alone on PostgreSQL), the disqualified among them by reason, the
audit-returned among them by the reason overturned (each one's history read through
`leadevent_lead_at_idx`: a small set), and the reasons' names.
"""

from django.db.models import Count, OuterRef, Q, Subquery, Value

from dealercrm.periods import first_of_month, midnight
from leads.models import Lead, LeadEvent, LeadStatus, Reason
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, share

KEY = "qualification"
TITLE = "Qualification"
SUMMARY = (
    "Monthly lead-to-qualified conversion, disqualification reasons, "
    "and the figure corrected by audits."
)

NO_REASON = "No disqualification recorded"

RETURNED_BY_AUDIT = Q(audit_returned_at__isnull=False)
QUALIFIED_WAS = Q(qualified_at__isnull=False, audit_returned_at__isnull=True)
QUALIFIED_NOW = Q(qualified_at__isnull=False) | RETURNED_BY_AUDIT


def _month_counts(filters, months):
    """[counts] for each month in `months` (first days), in one query.

    Each month is a branch of a UNION ALL that counts the leads created between its two
    midnights (clamped to the period): a plain range of `lead_report_idx`. Grouping by
    TruncMonth instead converts every lead's creation time to the dealership's time zone,
    which made the query about three times slower on PostgreSQL at a million leads."""
    branches = []
    for number, month in enumerate(months):
        since = max(filters.period.since, midnight(month))
        until = min(filters.period.until, midnight(first_of_month(month, -1)))
        branches.append(
            Lead.objects.filter(filters.group_filter(), created_at__gte=since, created_at__lt=until)
            .annotate(month=Value(number))
            .values("month")
            .annotate(
                leads=Count("created_at"),
                qualified_was=Count("created_at", filter=QUALIFIED_WAS),
                returned_by_audit=Count("created_at", filter=RETURNED_BY_AUDIT),
                qualified_now=Count("created_at", filter=QUALIFIED_NOW),
                disqualified=Count("created_at", filter=Q(status=LeadStatus.DISQUALIFIED)),
            )
            .order_by()
        )
    counts = {row["month"]: row for row in branches[0].union(*branches[1:], all=True)}
    return [counts[number] for number in range(len(months))]


def _months(period):
    """The first day of each calendar month the period touches, in order."""
    month, last = first_of_month(period.start), first_of_month(period.end)
    months = []
    while month <= last:
        months.append(month)
        month = first_of_month(month, -1)
    return months


def _disqualified_by_reason(filters):
    rows = (
        filters.leads()
        .filter(status=LeadStatus.DISQUALIFIED)
        .values("close_reason")
        .annotate(leads=Count("created_at"))
        .order_by()
    )
    return {row["close_reason"]: row["leads"] for row in rows}


def _audit_returns_by_reason(filters):
    """{reason id: leads} of the reasons the audit overturned: for each audit-returned lead, the
    reason of its last disqualification up to its first audit return (a lead may have been
    disqualified, returned by a person and disqualified again before the audit)."""
    overturned = (
        LeadEvent.objects.filter(
            lead=OuterRef("pk"),
            kind=LeadEvent.Kind.STATUS_CHANGED,
            to_status=LeadStatus.DISQUALIFIED,
            at__lte=OuterRef("audit_returned_at"),
        )
        .order_by("-at", "-id")
        .values("reason")[:1]
    )
    # The audit-returned leads of the period come from `lead_report_idx` alone (it holds their
    # ids); only their few histories are read, through `leadevent_lead_at_idx`.
    rows = (
        filters.leads()
        .filter(RETURNED_BY_AUDIT)
        .annotate(overturned_reason=Subquery(overturned))
        .values("overturned_reason")
        .annotate(leads=Count("created_at"))
        .order_by()
    )
    return {row["overturned_reason"]: row["leads"] for row in rows}


def _conversion(counts):
    """The conversion before and after the audit and the correction, for a month or the
    period."""
    was = share(counts["qualified_was"], counts["leads"])
    now = share(counts["qualified_now"], counts["leads"])
    return {
        "conversion_was": was,
        "conversion_now": now,
        "correction_points": None if was is None else now - was,
    }


MONTH_COLUMNS = [
    Column("label", "Month", Kind.TEXT),
    Column("leads", "Leads"),
    Column(
        "qualified_was",
        "Qualified before the audit",
        help="Qualified or beyond, without an audit return.",
    ),
    Column("conversion_was", "Conversion before the audit", Kind.PERCENT),
    Column(
        "returned_by_audit",
        "Returned by audit",
        help="Disqualified, then returned to work by an audit: wrongly disqualified.",
    ),
    Column(
        "qualified_now",
        "Qualified after the audit",
        help="Qualified or beyond, or returned to work by an audit.",
    ),
    Column("conversion_now", "Conversion after the audit", Kind.PERCENT),
    Column(
        "correction_points",
        "Correction (points)",
        Kind.NUMBER,
        "Conversion after the audit minus before, in percentage points.",
    ),
]

REASON_COLUMNS = [
    Column("label", "Reason", Kind.TEXT),
    Column("disqualified", "Disqualified", help="Leads disqualified now with this reason."),
    Column("share_of_disqualified", "Share of the disqualified", Kind.PERCENT),
    Column("share_of_leads", "Share of all leads", Kind.PERCENT),
    Column(
        "returned_by_audit",
        "Returned by audit",
        help="Leads disqualified with this reason, then returned to work by an audit.",
    ),
]

COUNTS = ("leads", "qualified_was", "returned_by_audit", "qualified_now", "disqualified")


def build(filters, today):
    months = _months(filters.period)
    counts_by_month = _month_counts(filters, months)
    disqualified = _disqualified_by_reason(filters)
    overturned = _audit_returns_by_reason(filters)
    reason_ids = [pk for pk in disqualified.keys() | overturned.keys() if pk is not None]
    reasons = Reason.objects.in_bulk(reason_ids)

    month_rows = []
    for month, counts in zip(months, counts_by_month, strict=True):
        row = {"label": f"{month:%b %Y}", "month": month}
        row |= {name: counts[name] for name in COUNTS}
        month_rows.append(row | _conversion(counts))
    total = {name: sum(row[name] for row in month_rows) for name in COUNTS}
    overall = _conversion(total)

    reason_rows = [
        {
            "label": reasons[pk].label if pk is not None else NO_REASON,
            "reason_id": pk,
            "disqualified": disqualified.get(pk, 0),
            "share_of_disqualified": share(disqualified.get(pk, 0), total["disqualified"]),
            "share_of_leads": share(disqualified.get(pk, 0), total["leads"]),
            "returned_by_audit": overturned.get(pk, 0),
        }
        for pk in disqualified.keys() | overturned.keys()
    ]
    reason_rows.sort(
        key=lambda row: (-row["disqualified"], -row["returned_by_audit"], row["label"])
    )

    figures = [
        Figure(
            "conversion_now",
            "Lead-to-qualified conversion",
            overall["conversion_now"],
            help="Audit returns count as qualified.",
        ),
        Figure(
            "conversion_was",
            "Conversion before the audit",
            overall["conversion_was"],
            help="As it read before wrongly disqualified leads went back to work.",
        ),
        Figure(
            "correction_points",
            "Correction by the audit (points)",
            overall["correction_points"],
            Kind.NUMBER,
            help="Percentage points the audit added to the conversion.",
        ),
        Figure("returned_by_audit", "Returned by audit", total["returned_by_audit"], Kind.COUNT),
        Figure(
            "disqualified_share",
            "Disqualified",
            share(total["disqualified"], total["leads"]),
            help="Share of the leads disqualified now.",
        ),
    ]
    return Report(
        key=KEY,
        title=TITLE,
        description=(
            "Of the leads created in each month, how many were qualified (or went straight to "
            "an appointment or a sale). A disqualification audit returns wrongly disqualified "
            "leads to work; they count as qualified after the audit, which corrects the "
            "month's conversion."
        ),
        filters=filters,
        figures=figures,
        tables=[
            Table(
                key="by_month",
                title="By month the lead came in",
                columns=MONTH_COLUMNS,
                rows=month_rows,
                note="The first and last months count only the days inside the period.",
                chart=Chart(
                    value="conversion_now",
                    compare="conversion_was",
                    title="Lead-to-qualified conversion by month, after and before the audit",
                    current_label="After the audit",
                    compare_label="Before the audit",
                ),
            ),
            Table(
                key="reasons",
                title="Why leads were disqualified",
                columns=REASON_COLUMNS,
                rows=reason_rows,
                note=(
                    "Leads disqualified now, by reason, and the leads an audit returned to work "
                    "by the reason they had been disqualified with. In the field, about 60% of "
                    "junk is an invalid phone or spam and about 25% is non-target."
                ),
                chart=Chart(value="disqualified", title="Leads disqualified now, by reason"),
            ),
        ],
    )
