"""Speed to lead: how soon after a lead arrived someone first contacted the customer in person,
in the bands the field measures (within 5 minutes, within the hour, the same day, later, never),
with the median, by source, person, team and the hour of day the lead came in — against the
field's figures: only about 37% of dealers answer within an hour, and only about a quarter of
leads are ever called (DESIGN.md).

The first contact is `Lead.first_contacted_at`, the first personal outbound touch (an automated
e-mail does not count). "The same day" is the dealership's calendar day; a lead not contacted
yet counts as not contacted, however young. One query per grouping, each a GROUP BY over the
leads of the period (read from `lead_report_idx` alone on PostgreSQL), plus the names.
"""

from datetime import timedelta
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db.models import Count, DurationField, F, Q
from django.db.models.functions import ExtractHour, TruncDate

from dealercrm.aggregates import Median
from dealercrm.models import Team, person_name
from leads.reports.base import Chart, Column, Figure, Kind, Report, Table, share

KEY = "speed"
TITLE = "Speed to lead"
SUMMARY = "How soon leads are first contacted in person, by source, person, team and hour."

# The field's figures the page compares with (DESIGN.md).
FIELD_WITHIN_HOUR = Decimal("37")
FIELD_EVER_CALLED = Decimal("25")

BANDS = [
    ("within_5_min", "Within 5 minutes"),
    ("within_hour", "5 minutes to 1 hour"),
    ("same_day", "Later the same day"),
    ("later", "A later day"),
    ("never", "Not contacted"),
]
NO_OWNER, NO_TEAM = "No owner (in a pool)", "No team"
_5_MIN, _HOUR = timedelta(minutes=5), timedelta(hours=1)


def _band_counts():
    created, contacted = F("created_at"), F("first_contacted_at")
    reached = Q(first_contacted_at__isnull=False)
    return {
        "leads": Count("pk"),
        "within_5_min": Count("pk", filter=reached & Q(first_contacted_at__lte=created + _5_MIN)),
        "within_hour": Count(
            "pk",
            filter=reached
            & Q(first_contacted_at__gt=created + _5_MIN, first_contacted_at__lte=created + _HOUR),
        ),
        "same_day": Count(
            "pk",
            filter=reached
            & Q(first_contacted_at__gt=created + _HOUR, contacted_day=F("created_day")),
        ),
        "later": Count(
            "pk",
            filter=reached
            & Q(first_contacted_at__gt=created + _HOUR)
            & ~Q(contacted_day=F("created_day")),
        ),
        "never": Count("pk", filter=Q(first_contacted_at__isnull=True)),
        "median": Median(contacted - created, output_field=DurationField()),
    }


def _leads(filters):
    return filters.leads().annotate(
        created_day=TruncDate("created_at"), contacted_day=TruncDate("first_contacted_at")
    )


def _row(label, counts):
    leads = counts["leads"]
    row = {"label": label, "leads": leads}
    for band, _ in BANDS:
        row[band] = counts[band]
        row[f"{band}_share"] = share(counts[band], leads)
    row["answered_within_hour_share"] = share(counts["within_5_min"] + counts["within_hour"], leads)
    row["median_seconds"] = _seconds(counts["median"])
    return row


def _seconds(duration):
    return None if duration is None else round(duration.total_seconds())


def _grouped(filters, dimension, **annotations):
    rows = (
        _leads(filters)
        .annotate(**annotations)
        .values(dimension)
        .annotate(**_band_counts())
        .order_by(dimension)
    )
    return {row[dimension]: row for row in rows}


GROUP_COLUMNS = [
    Column("leads", "Leads"),
    Column("within_5_min_share", "Within 5 min", Kind.PERCENT),
    Column("answered_within_hour_share", "Within 1 hour", Kind.PERCENT, "5 minutes included."),
    Column("same_day_share", "Later the same day", Kind.PERCENT),
    Column("later_share", "A later day", Kind.PERCENT),
    Column("never_share", "Not contacted", Kind.PERCENT),
    Column("median_seconds", "Median", Kind.SECONDS, "Of the leads contacted."),
]


def _group_table(key, title, label_title, rows):
    for row in rows:
        row["field_within_hour"] = FIELD_WITHIN_HOUR
    return Table(
        key=key,
        title=title,
        columns=[Column("label", label_title, Kind.TEXT), *GROUP_COLUMNS],
        rows=sorted(rows, key=lambda row: (-row["leads"], row["label"])),
        chart=Chart(
            value="answered_within_hour_share",
            compare="field_within_hour",
            title=f"{title}: share answered within an hour, against the field's 37%",
        ),
    )


def build(filters, today):
    overall = _leads(filters).aggregate(**_band_counts())
    total = _row("All leads", overall)
    by_source = _grouped(filters, "source")
    by_person = _grouped(filters, "owner")
    by_team = _grouped(filters, "team")
    by_hour = _grouped(filters, "hour", hour=ExtractHour("created_at"))

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
            total["median_seconds"],
            Kind.SECONDS,
            help="Of the leads contacted.",
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
        columns=[Column("label", "Hour", Kind.TEXT), *GROUP_COLUMNS],
        rows=[
            _row(f"{hour:02d}:00", by_hour[hour]) | {"hour": hour}
            for hour in sorted(by_hour)
            if hour is not None
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
