"""Conversion timing (leads.reports.timing): the sales of a period by the days from lead to sale
in the field's windows, the median and the average, and the days of the week and of the month
customers buy on — from July and August sales made at known days after their leads."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from tests.factories import make_staff
from tests.leads.reporting import at, build, move, new_lead, rows_by_label, touch

pytestmark = pytest.mark.django_db

SUMMER = ("2026-07-01", "2026-08-31")


def sold(created, sold_at, *, owner, source="dealer-website"):
    """A lead created at `created`, called an hour later and sold at `sold_at`."""
    lead = new_lead(created, owner=owner, team=owner.staff.team, source=source)
    touch(lead, min(created + timedelta(hours=1), sold_at), by=owner)
    return move(lead, "sold", sold_at, by=owner)


@pytest.fixture
def summer(sales_team, other_team):
    """Eight sales in July and August, on days 0 to 46 after their leads, for two people; and
    a sale before the period, one after it, and a lead lost in it, none of which count."""
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    ben = make_staff(first_name="Ben", last_name="Cole", team=other_team)
    july_1 = at("2026-07-01", 10)  # a Wednesday
    sold(july_1, at("2026-07-01", 15), owner=anna)  # day 0, Wednesday Jul 1
    sold(july_1, at("2026-07-08", 11), owner=anna)  # day 7, Wednesday Jul 8
    sold(july_1, at("2026-07-09", 11), owner=anna)  # day 8, Thursday Jul 9
    sold(july_1, at("2026-07-20", 11), owner=anna)  # day 19, Monday Jul 20
    sold(july_1, at("2026-07-21", 11), owner=ben, source="cars-com")  # day 20, Tuesday Jul 21
    sold(july_1, at("2026-08-15", 11), owner=ben, source="cars-com")  # day 45, Saturday Aug 15
    # The lead came in before the period; the sale in it counts: day 46, Saturday Jul 4.
    sold(at("2026-05-19", 9), at("2026-07-04", 16), owner=ben)
    # In at 23:30, bought at 9:00 the next morning: day 1, Tuesday Jul 7.
    sold(at("2026-07-06", 23, 30), at("2026-07-07", 9), owner=ben, source="cars-com")

    sold(at("2026-06-20", 10), at("2026-06-30", 23, 59), owner=anna)
    sold(at("2026-08-20", 10), at("2026-09-01", 0, 1), owner=anna)
    lost = new_lead(at("2026-07-02", 10), owner=anna, team=sales_team)
    touch(lost, at("2026-07-02", 11), by=anna)
    move(lost, "lost", at("2026-07-10", 10), by=anna)
    return {"anna": anna, "ben": ben}


def test_sales_fall_into_the_fields_windows_at_their_edges(summer):
    report = build("timing", *SUMMER)

    windows = {row["key"]: (row["sales"], row["share"]) for row in report.table("windows").rows}
    assert windows == {
        "days_0_7": (3, Decimal("37.50")),  # days 0, 1, 7
        "days_8_19": (2, Decimal("25.00")),  # days 8, 19
        "days_20_45": (2, Decimal("25.00")),  # days 20, 45
        "after_45": (1, Decimal("12.50")),  # day 46
    }
    assert [row["sold_by_then"] for row in report.table("windows").rows] == [
        Decimal("37.50"),
        Decimal("62.50"),
        Decimal("87.50"),
        Decimal("100.00"),
    ]
    figures = {figure.key: figure.value for figure in report.figures}
    assert figures == {
        "sales": 8,
        # 0, 1, 7, 8, 19, 20, 45, 46: the mean of the middle two.
        "median_days": Decimal("13.5"),
        "average_days": Decimal("18.3"),  # 146 / 8 = 18.25
        "after_day_7": Decimal("62.50"),
        "within_45_days": Decimal("87.50"),
    }
    assert report.figure("average_days").benchmark == Decimal("12")


def test_days_are_the_dealerships_calendar_days(db, settings, sales_team):
    """At 23:30 in Chicago it is already the next day in UTC: a lead then, sold at 9:00 the
    next morning, is day 1 there (day 0 in UTC); and a sale at 20:00 on July 31, an hour after
    its lead, is on the 31st, a Friday (August 1, a Saturday, in UTC), on day 0."""
    settings.TIME_ZONE = "America/Chicago"
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    sold(at("2026-07-06", 23, 30), at("2026-07-07", 9), owner=anna)
    sold(at("2026-07-31", 19), at("2026-07-31", 20), owner=anna)

    report = build("timing", "2026-07-01", "2026-07-31")

    assert report.figure("sales").value == 2
    assert report.figure("median_days").value == Decimal("0.5")  # days 0 and 1
    assert rows_by_label(report.table("windows"))["0–7 days"]["sales"] == 2
    weekdays = rows_by_label(report.table("by_weekday"))
    assert (weekdays["Tuesday"]["sales"], weekdays["Friday"]["sales"]) == (1, 1)
    month_days = rows_by_label(report.table("by_month_day"))
    assert (month_days["7"]["sales"], month_days["31"]["sales"], month_days["1"]["sales"]) == (
        1,
        1,
        0,
    )


def test_by_day_of_the_week_and_of_the_month(summer):
    report = build("timing", *SUMMER)

    weekdays = report.table("by_weekday")
    assert [row["label"] for row in weekdays.rows] == [
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
    ]
    # July 1 to August 31: 62 days from a Wednesday, so nine of each weekday from Wednesday to
    # Monday and eight Tuesdays.
    assert [(row["sales"], row["days"]) for row in weekdays.rows] == [
        (1, 9),
        (2, 8),
        (2, 9),
        (1, 9),
        (0, 9),
        (2, 9),
        (0, 9),
    ]
    tuesday = rows_by_label(weekdays)["Tuesday"]
    assert (tuesday["share"], tuesday["per_day"]) == (Decimal("25.00"), Decimal("0.25"))
    assert rows_by_label(weekdays)["Friday"]["share"] == Decimal("0.00")

    month_days = report.table("by_month_day")
    assert [row["label"] for row in month_days.rows] == [str(day) for day in range(1, 32)]
    sales = {row["key"]: row["sales"] for row in month_days.rows if row["sales"]}
    assert sales == {1: 1, 4: 1, 7: 1, 8: 1, 9: 1, 15: 1, 20: 1, 21: 1}
    assert {row["days"] for row in month_days.rows} == {2}  # July and August have every day
    assert rows_by_label(month_days)["15"]["per_day"] == Decimal("0.50")


def test_days_after_today_are_not_days_a_sale_could_be_made_on(summer):
    report = build("timing", *SUMMER, today=at("2026-07-03").date())

    weekdays = rows_by_label(report.table("by_weekday"))
    assert [weekdays[day]["days"] for day in ("Wednesday", "Thursday", "Friday", "Monday")] == [
        1,
        1,
        1,
        0,
    ]
    assert weekdays["Monday"]["per_day"] is None


def test_the_filters_narrow_every_figure(summer, other_team):
    by_ben = build("timing", *SUMMER, person=summer["ben"])
    assert by_ben.figure("sales").value == 4  # days 1, 20, 45, 46
    assert by_ben.figure("median_days").value == Decimal("32.5")
    assert by_ben.figure("after_day_7").value == Decimal("75.00")
    assert by_ben.figure("within_45_days").value == Decimal("75.00")

    by_source = build("timing", *SUMMER, source="cars-com")
    assert by_source.figure("sales").value == 3  # days 1, 20, 45
    assert by_source.figure("within_45_days").value == Decimal("100.00")

    by_team = build("timing", *SUMMER, team=other_team)
    assert by_team.figure("sales").value == 4
    assert rows_by_label(by_team.table("windows"))["0–7 days"]["sales"] == 1


def test_no_sales_no_percentages(db):
    report = build("timing", *SUMMER)

    assert report.figure("sales").value == 0
    assert report.figure("median_days").value is None
    assert report.figure("average_days").value is None
    assert report.figure("after_day_7").value is None
    assert report.figure("within_45_days").value is None
    assert {row["share"] for row in report.table("windows").rows} == {None}
    assert {row["share"] for row in report.table("by_weekday").rows} == {None}
    assert {row["per_day"] for row in report.table("by_month_day").rows} == {Decimal("0.00")}


def test_page_csv_and_api_show_the_same_figures(
    summer, client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)
    query = {"start": SUMMER[0], "end": SUMMER[1]}

    # 1 the session, 2 the user, 3 the user's own permissions, 4 those through its groups,
    # 5 the sources for the filter form; the report: 6 the totals with the median and the
    # average, 7 the sales by day of the week, 8 by day of the month; the filter form as it
    # renders: 9 the teams, 10 the people.
    with django_assert_num_queries(10):
        page = client.get("/leads/reports/timing/", query)
    assert page.status_code == 200
    assert 'id="figure-after_day_7"' in page.text and "62.50%" in page.text
    assert "13.5 d" in page.text and "8–19 days (the sweet spot)" in page.text
    assert page.text.count("<svg") == 3

    exported = client.get("/leads/reports/timing/csv/", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    figures = {row[0]: row[1:4] for row in rows[4:9]}
    assert figures == {
        "Sales": ["8", "count", ""],
        "Median days from lead to sale": ["13.5", "days", ""],
        "Average days from lead to sale": ["18.3", "days", "12"],
        "Sold after day 7": ["62.50", "percent", ""],
        "Sold within 45 days": ["87.50", "percent", ""],
    }
    assert ["8–19 days (the sweet spot)", "2", "25.00", "62.50"] in rows

    api = client.get("/api/v1/reports/timing/", query).json()
    figures = {figure["key"]: figure["value"] for figure in api["figures"]}
    assert figures == {
        "sales": 8,
        "median_days": 13.5,
        "average_days": 18.3,
        "after_day_7": 62.5,
        "within_45_days": 87.5,
    }
    windows = next(table for table in api["tables"] if table["key"] == "windows")
    assert [row["sales"] for row in windows["rows"]] == [3, 2, 2, 1]
