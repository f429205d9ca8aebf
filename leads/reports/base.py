"""What every lead report is made of, so that one page, one CSV export and one API endpoint show
any of them the same way.

A report module exposes `build(filters, today) -> Report`. A Report holds headline `figures`
(each with the field's benchmark or the dealership's goal when there is one) and `tables`; a
table may name the `chart` that pictures one of its columns. Values are plain: ints, Decimals
(percentages to their places, money), seconds (durations), dates and strings; a column's `kind`
says how to write them (`value_text`) and how the API carries them (`value_json`).

Every figure is an aggregate in the database over the leads the filters select: created in the
period (the dealership's days, `Period`), from one source, of one team, owned by one person.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db import models
from django.db.models import Q

from dealercrm.formats import money_text
from dealercrm.models import person_name
from dealercrm.periods import Period, percent
from leads.models import Lead
from routing.engine import duration_text


class Kind(models.TextChoices):
    """What a value is, which says how to write it."""

    TEXT = "text", "Text"
    COUNT = "count", "Count"
    PERCENT = "percent", "Percentage"
    NUMBER = "number", "Number (an average, touches per lead)"
    SECONDS = "seconds", "Duration in seconds"
    DAYS = "days", "Days"
    MONEY = "money", "Money"
    DATE = "date", "Date"


@dataclass(frozen=True)
class Filters:
    """Which leads a report counts: created in `period`, and, when given, from `source` (a
    lead source key), of `team`, owned by `person`."""

    period: Period
    source: str = ""
    team: object = None  # a Team
    person: object = None  # a User

    def lead_filter(self, prefix=""):
        """The filters as a Q over Lead fields, for a queryset of leads or, with `prefix`
        ("lead__"), of rows that belong to a lead. The period is on the creation time."""
        condition = Q(
            **{
                f"{prefix}created_at__gte": self.period.since,
                f"{prefix}created_at__lt": self.period.until,
            }
        )
        return condition & self.group_filter(prefix)

    def group_filter(self, prefix=""):
        """The source, team and person filters alone, for reports that date leads by something
        else than their creation (a sale, a resurfacing)."""
        condition = Q()
        if self.source:
            condition &= Q(**{f"{prefix}source": self.source})
        if self.team is not None:
            condition &= Q(**{f"{prefix}team": self.team})
        if self.person is not None:
            condition &= Q(**{f"{prefix}owner": self.person})
        return condition

    def leads(self):
        """The leads the report counts."""
        return Lead.objects.filter(self.lead_filter())

    def as_query(self):
        """The filters as query-string values, for links and the CSV."""
        query = {"start": self.period.start.isoformat(), "end": self.period.end.isoformat()}
        if self.source:
            query["source"] = self.source
        if self.team is not None:
            query["team"] = str(self.team.pk)
        if self.person is not None:
            query["person"] = str(self.person.pk)
        return query

    def described(self):
        """The filters in words: "Sep 1, 2026 to Nov 22, 2026 · source cars-com · team East"."""
        words = [f"{self.period.start:%b %-d, %Y} to {self.period.end:%b %-d, %Y}"]
        if self.source:
            words.append(f"source {self.source}")
        if self.team is not None:
            words.append(f"team {self.team.name}")
        if self.person is not None:
            words.append(person_name(self.person))
        return " · ".join(words)


@dataclass(frozen=True)
class Column:
    key: str
    label: str
    kind: Kind = Kind.COUNT
    help: str = ""


@dataclass(frozen=True)
class Chart:
    """A picture of one column of a table: `bars` (horizontal, one per row) or `columns`
    (vertical, left to right: hours, days, months). `compare` names a column drawn as the
    thinner bar under each (the field's figure, the figure before)."""

    value: str
    title: str
    kind: str = "bars"
    label: str = "label"
    compare: str = ""
    current_label: str = "Here"
    compare_label: str = "The field"


@dataclass
class Table:
    key: str
    title: str
    columns: list
    rows: list  # dicts keyed by column key
    note: str = ""
    chart: Chart | None = None


@dataclass(frozen=True)
class Figure:
    """A headline figure, with the field's benchmark or the dealership's goal beside it when
    there is one (`benchmark`, in the same kind, and words saying what it is)."""

    key: str
    label: str
    value: object
    kind: Kind = Kind.PERCENT
    benchmark: object = None
    benchmark_text: str = ""
    help: str = ""


@dataclass
class Report:
    key: str
    title: str
    description: str
    filters: Filters
    figures: list = field(default_factory=list)
    tables: list = field(default_factory=list)

    def table(self, key):
        return next(table for table in self.tables if table.key == key)

    def figure(self, key):
        return next(figure for figure in self.figures if figure.key == key)


def share(part, whole):
    """`part` as a percentage of `whole` the way the lead reports write it: two decimal places
    ("44.62%", as audits quote conversion); None when there is nothing to divide by."""
    return percent(part, whole, places=2)


def ratio(part, whole, places=2):
    """`part` per one of `whole` ("touches per lead"), as a Decimal; None for a zero whole."""
    if not whole:
        return None
    return (Decimal(part) / Decimal(whole)).quantize(Decimal(1).scaleb(-places))


def value_text(value, kind):
    """How a value reads on the page and in the CSV."""
    if value is None or value == "":
        return "—"
    match kind:
        case Kind.PERCENT:
            return f"{value}%"
        case Kind.COUNT:
            return f"{value:,}"
        case Kind.SECONDS:
            return duration_text(value)
        case Kind.DAYS:
            return f"{value} d"
        case Kind.MONEY:
            return money_text(value)
        case Kind.DATE:
            return f"{value:%b %-d, %Y}" if isinstance(value, date) else str(value)
    return str(value)


def value_json(value, kind):
    """How a value travels in the API: numbers as JSON numbers, except money, which stays a
    decimal string (exact cents, as in the service API); dates as YYYY-MM-DD."""
    if value is None:
        return None
    if kind == Kind.MONEY:
        return str(value)
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
