"""Not lost: leads left quiet or marked lost whose customer is still shopping on the dealer's
website, and what happened after the CRM brought them back — against the field's figure:
13.7–21.6% of the leads marked lost or left untouched for 7, 14 or 21 days are still browsing the
dealer's site (DESIGN.md). The comebacks are the `Resurfacing` rows the stale sweep (kind
"not lost", a quiet open lead) and the reactivation sweep (kind "reactivation", a closed lead)
write in `leads.resurfacing`.

Part one, "Came back", counts the leads created in the period that match the filters:

- for each quiet tier of the stale sweep (`LifecycleSettings.stale_tiers`, 7, 14 and 21 days by
  default): the leads ever left that many days or more without CRM activity
  (`Lead.quiet_tier_reached` >= the tier; a lead quiet 14 days counts at 7+ and 14+, not 21+),
  and of them those whose customer was found on the website after the lead had been quiet at
  least that long (a "not lost" resurfacing whose `quiet_days`, the tier the lead had reached
  when the comeback was found, is the tier or higher). A comeback found at 7 days counts at 7+
  only, even when nobody answered it and the lead went on to 21 days;
- the lost leads: lost now (archived newcomers too: they are closed as lost), or lost and since
  returned to work by a comeback (a REOPENED history event caused by resurfacing, from lost,
  whatever the lead's status is now); and of them those whose customer came back while the lead
  was closed (a reactivation resurfacing, whatever a manager decided about it). Disqualified
  leads are not lost leads.

A lead counts once in a row however often it came back.

Part two, "After the comeback", counts the resurfacings detected in the period (by
`detected_at`) of leads of the filtered source, team and owner, whenever those leads were
created: by kind and by the tier a quiet lead had reached, how many, and after how many of them
— strictly after the detection, up to now — the customer re-engaged (an activity the customer
started or answered: inbound, or marked as the customer's response; notes aside), an
appointment was set (an appointment booked, or the lead moved to appointment; a return to work
into an earlier appointment status is not a new one), and the lead was sold (`closed_at` of a
sold lead: a sale is final). A lead that came back twice counts under each comeback.

Queries: the tiers; one aggregate over the leads of the period (from `lead_report_idx` alone on
PostgreSQL); one over the comebacks detected since the period began (a comeback follows its
lead's creation), each joined to its lead by primary key, reading the history only for the
reactivated leads; one GROUP BY kind and tier over the comebacks of the period, joined to their
leads, whose own first-response and first-appointment times settle most outcomes — the rest are
looked up per comeback in the lead's activities and history. Their cost follows the comebacks
(about 19,000 a year at 1,000,000 leads), not the activity or history tables.
"""

from django.db.models import Count, Exists, F, OuterRef, Q

from leads.models import (
    Activity,
    LeadEvent,
    LeadStatus,
    LifecycleSettings,
    Resurfacing,
)
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, share

KEY = "not-lost"
TITLE = "Not lost"
SUMMARY = (
    "Quiet and lost leads whose customer is still on "
    "the website, and what happened after they came back."
)

# The field's figure (DESIGN.md) is a range, which no single number says: the benchmark is the
# range written out.
FIELD_STILL_BROWSING = "13.7–21.6"
FIELD_TEXT = (
    "The field: 13.7–21.6% of leads marked lost or left untouched for 7, 14 or 21 days are "
    "still browsing the dealer's site."
)

NOT_LOST, REACTIVATION = Resurfacing.Kind.NOT_LOST, Resurfacing.Kind.REACTIVATION
# The leads that had come back with a reactivation while they were lost (not disqualified).
REOPENED_FROM_LOST = Exists(
    LeadEvent.objects.filter(
        lead=OuterRef("lead"),
        kind=LeadEvent.Kind.REOPENED,
        cause=LeadEvent.ReopenCause.RESURFACING,
        from_status=LeadStatus.LOST,
    )
)
# What followed a comeback. The lead's own first-response and first-appointment times settle
# most comebacks without reading the lead's activities or history (never responded, or first
# responded after the comeback); only a lead whose first one came before the comeback, and that
# has been worked since (a response is CRM activity), is looked up through the (lead, time)
# indexes. The conditions are written cheapest first and NULL-safe, because the database stops
# evaluating an AND at the first false, not at a NULL.
AFTER = F("detected_at")
RESPONDED_AFTER = Exists(
    Activity.objects.filter(lead=OuterRef("lead"), occurred_at__gt=OuterRef("detected_at"))
    .exclude(kind=Activity.Kind.NOTE)
    .filter(Q(customer_responded=True) | Q(direction=Activity.Direction.INBOUND))
)
RE_ENGAGED = Q(lead__responded_at__gt=AFTER) | (
    Q(lead__responded_at__isnull=False)
    & Q(lead__responded_at__lte=AFTER)
    & Q(lead__last_activity_at__gt=AFTER)
    & Q(RESPONDED_AFTER)
)
APPOINTMENT_SET_AFTER = Exists(
    LeadEvent.objects.filter(lead=OuterRef("lead"), at__gt=OuterRef("detected_at")).filter(
        Q(kind=LeadEvent.Kind.APPOINTMENT_SET)
        | Q(kind=LeadEvent.Kind.STATUS_CHANGED, to_status=LeadStatus.APPOINTMENT)
    )
)
APPOINTMENT_SET = Q(lead__appointment_set_at__gt=AFTER) | (
    Q(lead__appointment_set_at__isnull=False)
    & Q(lead__appointment_set_at__lte=AFTER)
    & Q(APPOINTMENT_SET_AFTER)
)
SOLD = Q(lead__status=LeadStatus.SOLD, lead__closed_at__gt=AFTER)


def _tiers():
    return sorted(LifecycleSettings.current().stale_tiers)


def _leads_counts(filters, tiers):
    """The leads of the period ever quiet for each tier, and lost now. Counting `created_at`
    (never empty) instead of the id keeps the scan on `lead_report_idx` alone."""
    return filters.leads().aggregate(
        **{
            f"quiet_{tier}": Count("created_at", filter=Q(quiet_tier_reached__gte=tier))
            for tier in tiers
        },
        lost_now=Count("created_at", filter=Q(status=LeadStatus.LOST)),
    )


def _came_back_counts(filters, tiers):
    """Of the leads of the period, those that came back, per row of part one; and the leads
    reactivated from lost that are no longer lost (the rest of the lost row's leads)."""
    reactivation = Q(kind=REACTIVATION)
    lost_now = Q(lead__status=LeadStatus.LOST)
    # A comeback follows its lead's creation: bounding the detection too lets the database start
    # from the period's comebacks instead of reading every lead of the period.
    return (
        Resurfacing.objects.filter(filters.lead_filter("lead__"))
        .filter(detected_at__gte=filters.period.since)
        .aggregate(
            **{
                f"quiet_{tier}": Count(
                    "lead", distinct=True, filter=Q(kind=NOT_LOST, quiet_days__gte=tier)
                )
                for tier in tiers
            },
            lost=Count(
                "lead", distinct=True, filter=reactivation & (lost_now | Q(REOPENED_FROM_LOST))
            ),
            reactivated=Count(
                "lead", distinct=True, filter=reactivation & ~lost_now & Q(REOPENED_FROM_LOST)
            ),
        )
    )


def _after_counts(filters):
    """{(kind, quiet days): counts} of the resurfacings detected in the period."""
    period = filters.period
    rows = (
        Resurfacing.objects.filter(detected_at__gte=period.since, detected_at__lt=period.until)
        .filter(filters.group_filter("lead__"))
        .values("kind", "quiet_days")
        .annotate(
            resurfacings=Count("pk"),
            re_engaged=Count("pk", filter=RE_ENGAGED),
            appointments=Count("pk", filter=APPOINTMENT_SET),
            sold=Count("pk", filter=SOLD),
        )
        .order_by("kind", "quiet_days")
    )
    return {(row["kind"], row["quiet_days"]): row for row in rows}


def _came_back_row(key, label, leads, came_back):
    return {
        "key": key,
        "label": label,
        "leads": leads,
        "came_back": came_back,
        "came_back_share": share(came_back, leads),
    }


def _after_row(key, label, counts):
    resurfacings = counts.get("resurfacings", 0)
    row = {"key": key, "label": label, "resurfacings": resurfacings}
    for outcome in ("re_engaged", "appointments", "sold"):
        row[outcome] = counts.get(outcome, 0)
        row[f"{outcome}_share"] = share(row[outcome], resurfacings)
    return row


def _after_rows(after, tiers):
    """One row per tier (the dealership's, and any other a quiet lead had reached when it came
    back: tiers can be changed), then the closed leads' comebacks, each shown even when
    nothing came back, so that a missing tier reads as zero."""
    quiet_days = sorted(
        set(tiers) | {days for kind, days in after if kind == NOT_LOST and days is not None}
    )
    rows = [
        _after_row(f"quiet_{days}", f"Quiet {days} days", after.get((NOT_LOST, days), {}))
        for days in quiet_days
    ]
    if (NOT_LOST, None) in after:
        rows.append(_after_row("quiet", "Quiet, tier not recorded", after[(NOT_LOST, None)]))
    reactivations = after.get((REACTIVATION, None), {})
    rows.append(_after_row("reactivation", "Closed, shopping again", reactivations))
    return rows


def _summed(rows, names):
    return {name: sum(row[name] for row in rows) for name in names}


CAME_BACK_COLUMNS = [
    Column("label", "Leads", Kind.TEXT),
    Column("leads", "Leads"),
    Column("came_back", "Came back", help="Their customer was found on the website."),
    Column("came_back_share", "Came back (share)", Kind.PERCENT),
]
AFTER_COLUMNS = [
    Column("label", "Comeback", Kind.TEXT),
    Column("resurfacings", "Comebacks"),
    Column("re_engaged", "Re-engaged", help="The customer responded after the comeback."),
    Column("re_engaged_share", "Re-engaged (share)", Kind.PERCENT),
    Column("appointments", "Appointments", help="An appointment was set after the comeback."),
    Column("appointments_share", "Appointments (share)", Kind.PERCENT),
    Column("sold", "Sold", help="The lead was sold after the comeback."),
    Column("sold_share", "Sold (share)", Kind.PERCENT),
]


def build(filters, today):
    tiers = _tiers()
    leads = _leads_counts(filters, tiers)
    came_back = _came_back_counts(filters, tiers)
    after = _after_counts(filters)

    quiet_rows = [
        _came_back_row(
            f"quiet_{tier}",
            f"Quiet {tier}+ days",
            leads[f"quiet_{tier}"],
            came_back[f"quiet_{tier}"],
        )
        for tier in tiers
    ]
    lost_row = _came_back_row(
        "lost", "Lost", leads["lost_now"] + came_back["reactivated"], came_back["lost"]
    )
    after_rows = _after_rows(after, tiers)
    totals = _summed(after_rows, ["resurfacings", "re_engaged", "appointments", "sold"])
    # The headline is the first tier, the one the field's figure starts from.
    first = quiet_rows[0] if quiet_rows else _came_back_row("quiet", "Quiet", 0, 0)
    quiet_words = first["label"].lower()

    figures = [
        Figure(
            "quiet_leads",
            f"Leads {quiet_words}",
            first["leads"],
            Kind.COUNT,
            help="Ever left that long without CRM activity.",
        ),
        Figure(
            "quiet_came_back",
            f"{first['label']}: customer came back",
            first["came_back_share"],
            benchmark=FIELD_STILL_BROWSING,
            benchmark_text=FIELD_TEXT,
        ),
        Figure(
            "lost_leads",
            "Lost leads",
            lost_row["leads"],
            Kind.COUNT,
            help="Lost now, or lost and since returned to work by a comeback.",
        ),
        Figure(
            "lost_came_back",
            "Lost: customer came back",
            lost_row["came_back_share"],
            benchmark=FIELD_STILL_BROWSING,
            benchmark_text=FIELD_TEXT,
        ),
        Figure("resurfacings", "Comebacks detected", totals["resurfacings"], Kind.COUNT),
        Figure(
            "re_engaged",
            "Customer re-engaged after the comeback",
            share(totals["re_engaged"], totals["resurfacings"]),
        ),
        Figure(
            "appointments",
            "Appointment set after the comeback",
            share(totals["appointments"], totals["resurfacings"]),
        ),
        Figure("sold", "Sold after the comeback", share(totals["sold"], totals["resurfacings"])),
    ]
    return Report(
        key=KEY,
        title=TITLE,
        description=(
            "Leads left without CRM activity for a tier's days, or lost, whose customer was "
            "found on the dealer's website afterwards (of the leads created in the period); "
            "and, for the comebacks detected in the period, whether the customer re-engaged, "
            "got an appointment or bought afterwards."
        ),
        filters=filters,
        figures=figures,
        tables=[
            Table(
                key="came_back",
                title="Came back: quiet and lost leads whose customer is still shopping",
                columns=CAME_BACK_COLUMNS,
                rows=[*quiet_rows, lost_row],
                note=(
                    "Of the leads created in the period. A quiet lead came back when its "
                    "customer was found on the website after at least the row's quiet days; a "
                    "lost lead, when its customer shopped again while it was closed. " + FIELD_TEXT
                ),
                chart=Chart(value="came_back_share", title="Share whose customer came back"),
            ),
            Table(
                key="after",
                title="After the comeback",
                columns=AFTER_COLUMNS,
                rows=after_rows,
                note=(
                    "Of the comebacks detected in the period, by the quiet days the lead had "
                    "reached when its customer was found; closed leads (lost or disqualified) "
                    "apart. Each outcome counts when it came after the comeback."
                ),
                chart=Chart(
                    value="re_engaged_share",
                    title="Share of comebacks after which the customer re-engaged",
                ),
            ),
        ],
    )
