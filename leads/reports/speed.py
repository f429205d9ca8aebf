"""Speed to lead: how soon after a lead arrived someone first contacted the customer in person,
in the bands the field measures (within 5 minutes, within the hour, the same day, later, never)
and the median; by source, person, team and the hour of day the lead came in — against the
field's figures: only about 37% of dealers answer within an hour, and only about a quarter of
leads are ever called (DESIGN.md).

The first contact is `Lead.first_contacted_at`, the first personal outbound touch (an automated
e-mail does not count); the services keep beside it how many seconds it took and its band ("the
same day" is the dealership's calendar day), and the hour the lead arrived in, so that nothing is
converted per row. A lead not contacted yet counts as not contacted, however young.

Three queries over the leads of the period (each read from `lead_report_idx` alone on
PostgreSQL): the bands per source, person and team together (a few thousand rows, summed here
into the overall figures and each grouping), the bands per hour, and the exact median. The
tables show the bands without a median: medians cannot be summed, and each grouping's would be
another sort of the period's leads (a person's alone, at a million leads, took a third of the
report's time). The median of one person, source or team is the headline figure with the
report filtered to them.
"""

from collections import defaultdict
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, FloatField, Q

from dealercrm.aggregates import Median
from dealercrm.models import Team, person_name
from leads.models import FirstContactBand
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, share

KEY = "speed"
TITLE = "Speed to lead"
SUMMARY = "How soon leads are first contacted in person, by source, person, team and hour."

# The field's figures the page compares with (DESIGN.md).
FIELD_WITHIN_HOUR = Decimal("37")
FIELD_EVER_CALLED = Decimal("25")

BAND_KEYS = {
    FirstContactBand.WITHIN_5_MIN: "within_5_min",
    FirstContactBand.WITHIN_HOUR: "within_hour",
    FirstContactBand.SAME_DAY: "same_day",
    FirstContactBand.LATER: "later",
}
BANDS = [(key, band.label) for band, key in BAND_KEYS.items()] + [("never", "Not contacted")]
COUNTS = ["leads", *(key for key, _ in BANDS)]
NO_OWNER, NO_TEAM, NO_HOUR = "No owner (in a pool)", "No team", "Hour not recorded"


def _band_counts():
    counts = {"leads": Count("pk")}
    for band, key in BAND_KEYS.items():
        counts[key] = Count("pk", filter=Q(first_contact_band=band))
    counts["never"] = Count("pk", filter=Q(first_contact_band__isnull=True))
    return counts


def _row(label, counts):
    leads = counts["leads"]
    row = {"label": label, "leads": leads}
    for band, _ in BANDS:
        row[band] = counts[band]
        row[f"{band}_share"] = share(counts[band], leads)
    row["answered_within_hour_share"] = share(counts["within_5_min"] + counts["within_hour"], leads)
    return row


def _sums(cells, dimension=None):
    """The band counts of `cells` (rows per source, owner and team) summed per `dimension`, or
    all together (under None) without one."""
    sums = defaultdict(lambda: dict.fromkeys(COUNTS, 0))
    for cell in cells:
        total = sums[cell[dimension] if dimension else None]
        for name in COUNTS:
            total[name] += cell[name]
    return sums


BAND_COLUMNS = [
    Column("leads", "Leads"),
    Column("within_5_min_share", "Within 5 min", Kind.PERCENT),
    Column("answered_within_hour_share", "Within 1 hour", Kind.PERCENT, "5 minutes included."),
    Column("same_day_share", "Later the same day", Kind.PERCENT),
    Column("later_share", "A later day", Kind.PERCENT),
    Column("never_share", "Not contacted", Kind.PERCENT),
]


def _group_table(key, title, label_title, rows):
    for row in rows:
        row["field_within_hour"] = FIELD_WITHIN_HOUR
    return Table(
        key=key,
        title=title,
        columns=[Column("label", label_title, Kind.TEXT), *BAND_COLUMNS],
        rows=sorted(rows, key=lambda row: (-row["leads"], row["label"])),
        chart=Chart(
            value="answered_within_hour_share",
            compare="field_within_hour",
            title=f"{title}: share answered within an hour, against the field's 37%",
        ),
    )


def build(filters, today):
    leads = filters.leads()
    cells = list(leads.values("source", "owner", "team").annotate(**_band_counts()).order_by())
    by_hour = {
        row["created_hour"]: row
        for row in leads.values("created_hour").annotate(**_band_counts()).order_by()
    }
    seconds = Median("first_response_seconds", output_field=FloatField())
    median = leads.aggregate(median=seconds)["median"]
    overall = _sums(cells)[None]
    total = _row("All leads", overall)
    by_source, by_person, by_team = (_sums(cells, name) for name in ("source", "owner", "team"))

    people = get_user_model().objects.in_bulk([pk for pk in by_person if pk is not None])
    teams = Team.objects.in_bulk([pk for pk in by_team if pk is not None])
    ever = overall["leads"] - overall["never"]
    figures = [
        Figure("leads", "Leads", overall["leads"], Kind.COUNT),
        Figure("within_5_min", "First contact within 5 minutes", total["within_5_min_share"]),
        Figure(
            "within_hour",
            "First contact within an hour",
            total["answered_within_hour_share"],
            benchmark=FIELD_WITHIN_HOUR,
            benchmark_text="The field: about 37% of dealers answer within an hour.",
        ),
        Figure(
            "ever_contacted",
            "Ever contacted in person",
            share(ever, overall["leads"]),
            benchmark=FIELD_EVER_CALLED,
            benchmark_text="The field: only about a quarter of leads are ever called.",
        ),
        Figure(
            "median",
            "Median time to first contact",
            None if median is None else round(median),
            Kind.SECONDS,
            help="Of the leads contacted. Filter by a person, source or team for theirs.",
        ),
    ]
    bands = Table(
        key="bands",
        title="When leads were first contacted",
        columns=[
            Column("label", "First contact", Kind.TEXT),
            Column("leads", "Leads"),
            Column("share", "Share", Kind.PERCENT),
        ],
        rows=[
            {"key": band, "label": label, "leads": overall[band], "share": total[f"{band}_share"]}
            for band, label in BANDS
        ],
        chart=Chart(value="share", title="When leads were first contacted (share of leads)"),
    )
    hours = Table(
        key="by_hour",
        title="By the hour the lead came in",
        columns=[Column("label", "Hour", Kind.TEXT), *BAND_COLUMNS],
        rows=[
            _row(NO_HOUR if hour is None else f"{hour:02d}:00", by_hour[hour]) | {"hour": hour}
            # Every lead the services write has its hour; one inserted around them may not, and
            # still counts, last.
            for hour in sorted(by_hour, key=lambda hour: (hour is None, hour))
        ],
        chart=Chart(
            kind="columns",
            value="answered_within_hour_share",
            title="Share answered within an hour, by the hour the lead came in",
        ),
    )
    return Report(
        key=KEY,
        title=TITLE,
        description=(
            "How soon after a lead arrived someone first contacted the customer in person "
            "(calls, e-mails, texts; automated messages do not count). A lead not contacted "
            "yet counts as not contacted. Contact within 5 minutes beats 10 minutes "
            "several-fold; after 30 minutes the odds of qualifying fall about 21-fold."
        ),
        filters=filters,
        figures=figures,
        tables=[
            bands,
            _group_table(
                "by_source",
                "By source",
                "Source",
                [_row(source, counts) for source, counts in by_source.items()],
            ),
            _group_table(
                "by_person",
                "By person (the lead's owner)",
                "Person",
                [
                    _row(person_name(people[pk]) if pk else NO_OWNER, counts) | {"person_id": pk}
                    for pk, counts in by_person.items()
                ],
            ),
            _group_table(
                "by_team",
                "By team",
                "Team",
                [
                    _row(teams[pk].name if pk else NO_TEAM, counts) | {"team_id": pk}
                    for pk, counts in by_team.items()
                ],
            ),
            hours,
        ],
    )
