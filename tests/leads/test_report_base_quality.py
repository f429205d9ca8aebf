"""Salesperson base quality (leads.reports.base_quality): each salesperson's open leads by
purchase horizon against the field's goals, newcomers due for archive and overdue tasks now,
short calls and sales in the period — from two bases with known leads, tasks and calls."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest

from dealercrm.models import Role
from leads.followup import followup_steps_set
from leads.models import LifecycleSettings
from tests.factories import make_staff
from tests.leads.reporting import at, build, move, new_lead, rows_by_label, touch

pytestmark = pytest.mark.django_db

PERIOD = ("2026-10-01", "2026-11-20")
TODAY = date(2026, 11, 20)


def lead(owner, created, horizon="", **fields):
    return new_lead(at(created, 9), owner=owner, purchase_horizon=horizon, **fields)


def call(lead, when, by, seconds=None, **fields):
    touch(lead, when, by=by, duration_seconds=seconds, **fields)


@pytest.fixture
def bases(sales_team, other_team):
    """Anna's and Ben's bases on November 20. The follow-up plan is one call two days after the
    first contact, so each contacted open lead has one open task.

    Anna: 10 open leads, 7 buying within 3 months, 1 long project (due for archive: new and
    quiet since Oct 1), 2 unknown; tasks due Oct 7, Oct 8, Oct 12 (overdue), Nov 20 (today) and
    Nov 21; calls of 6:59, 7:00 and 10:00 in the period; 2 sales in the period, 1 before.
    Ben (cars-com leads): 5 open leads, 2 target, 3 long projects — a newcomer quiet since
    exactly Oct 21 00:00 (due), one a second younger (not yet), one qualified (never
    archived); 3 tasks, all overdue; calls of 1 and 2 minutes; 1 sale.
    """
    followup_steps_set([(2, "call", "Call again")])
    LifecycleSettings.current()  # the dealership's settings row, as any sweep leaves it
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    ben = make_staff(first_name="Ben", last_name="Cole", team=other_team)
    sam = make_staff(Role.SALES_MANAGER, sales_team, first_name="Sam", last_name="Desk")
    make_staff(first_name="Lea", last_name="Gone", team=sales_team, active=False)
    agent = make_staff(Role.BDC_AGENT, sales_team, first_name="Dave", last_name="Agent")

    a1 = lead(anna, "2026-11-18", "within_week")
    call(a1, at("2026-11-18", 10), anna, seconds=7 * 60 - 1)  # short
    a2 = lead(anna, "2026-10-05", "within_month")
    call(a2, at("2026-10-05", 10), anna, seconds=7 * 60)  # not short
    # The customer's call and the dialer's are not the salesperson's calls.
    call(a2, at("2026-10-06", 10), anna, seconds=100, direction="inbound")
    call(a2, at("2026-10-08", 10), "dialer", seconds=30)
    a3 = lead(anna, "2026-10-06", "within_3_months")
    touch(a3, at("2026-10-06", 10), by=anna, kind="email")
    lead(anna, "2026-11-10", "within_week")
    a5 = lead(anna, "2026-10-10", "within_month")
    call(a5, at("2026-10-10", 10), anna, seconds=600)
    move(a5, "qualified", at("2026-10-11"), by=anna)
    lead(anna, "2026-11-12", "within_3_months")
    lead(anna, "2026-11-14", "within_week")
    lead(anna, "2026-10-01", "within_6_months")  # due for archive
    lead(anna, "2026-11-01")
    a10 = lead(anna, "2026-11-19")
    call(a10, at("2026-11-19", 10), anna)  # no duration logged
    before = lead(anna, "2026-09-27", "within_week")
    call(before, at("2026-09-28", 10), anna, seconds=100)  # before the period
    move(before, "sold", at("2026-09-29"), by=anna)
    for created, sold in [("2026-10-01", "2026-10-03"), ("2026-11-02", "2026-11-15")]:
        sale = lead(anna, created, "within_week")
        touch(sale, at(created, 10), by=anna, kind="email")
        move(sale, "sold", at(sold), by=anna)

    cars = {"source": "cars-com"}
    b1 = lead(ben, "2026-11-01", "within_week", **cars)
    call(b1, at("2026-11-01", 10), ben, seconds=60)
    lead(ben, "2026-11-05", "within_3_months", **cars)
    b3 = lead(ben, "2026-10-20", "later", **cars)
    call(b3, at("2026-10-21", 0), ben, seconds=120)
    b4 = lead(ben, "2026-09-20", "within_6_months", **cars)
    call(b4, at("2026-09-20", 10), ben)
    move(b4, "qualified", at("2026-09-21"), by=ben)
    new_lead(at("2026-10-21", 0, 0, 1), owner=ben, purchase_horizon="later", **cars)
    b6 = lead(ben, "2026-11-08", "within_week", **cars)
    call(b6, at("2026-11-09", 10), ben)
    move(b6, "sold", at("2026-11-10"), by=ben)

    # Not in any salesperson's base: a BDC agent's lead and a lead in the pool.
    lead(agent, "2026-11-01", "within_week")
    lead(None, "2026-10-01", "later")
    return {"anna": anna, "ben": ben, "sam": sam, "agent": agent}


def person(report, name):
    return rows_by_label(report.table("by_person"))[name]


def horizons(row):
    return (
        row["open_leads"],
        (row["target_share"], row["target_mark"]),
        (row["long_share"], row["long_mark"]),
        row["unknown_share"],
        row["due_for_archive"],
    )


def work(row):
    return (
        (row["open_tasks"], row["overdue_share"]),
        (row["calls"], row["short_calls"], row["short_call_share"]),
        row["sales"],
    )


def test_each_salesperson_base_against_the_goals(bases):
    report = build("base-quality", *PERIOD, today=TODAY)

    # Salespeople and sales managers who work now; not Lea (left, nothing counts), not the
    # BDC agent or manager.
    assert [row["label"] for row in report.table("by_person").rows] == [
        "Anna Berg",
        "Ben Cole",
        "Sam Desk",
    ]
    anna, ben, sam = (person(report, name) for name in ("Anna Berg", "Ben Cole", "Sam Desk"))
    assert horizons(anna) == (
        10,
        (Decimal("70.00"), "meets goal"),
        (Decimal("10.00"), "above goal"),
        Decimal("20.00"),
        1,
    )
    assert horizons(ben) == (
        5,
        (Decimal("40.00"), "below goal"),
        (Decimal("60.00"), "above goal"),
        Decimal("0.00"),
        1,
    )
    assert horizons(sam) == (0, (None, ""), (None, ""), None, 0)
    assert (anna["team"], ben["team"]) == ("New cars", "Used cars")


def test_overdue_tasks_short_calls_and_sales(bases):
    report = build("base-quality", *PERIOD, today=TODAY)

    # Anna's task due today is not overdue; her 6:59 call is short, her 7:00 call is not.
    assert work(person(report, "Anna Berg")) == ((5, Decimal("60.00")), (3, 1, Decimal("33.33")), 2)
    assert work(person(report, "Ben Cole")) == (
        (3, Decimal("100.00")),
        (2, 2, Decimal("100.00")),
        1,
    )
    assert work(person(report, "Sam Desk")) == ((0, None), (0, 0, None), 0)

    # A day later Anna's task of Nov 20 is overdue, and Ben's newcomer of Oct 21 00:00:01 is
    # due for archive too.
    tomorrow = build("base-quality", *PERIOD, today=date(2026, 11, 21))
    assert person(tomorrow, "Anna Berg")["overdue_share"] == Decimal("80.00")
    assert person(tomorrow, "Ben Cole")["due_for_archive"] == 2


def test_the_totals_carry_the_goals(bases):
    report = build("base-quality", *PERIOD, today=TODAY)

    figures = {figure.key: figure.value for figure in report.figures}
    assert figures == {
        "open_leads": 15,
        "target_share": Decimal("60.00"),
        "long_share": Decimal("26.67"),
        "unknown_share": Decimal("13.33"),
        "due_for_archive": 2,
        "overdue_share": Decimal("75.00"),
        "short_call_share": Decimal("60.00"),
        "sales": 3,
    }
    assert report.figure("target_share").benchmark == Decimal("65")
    assert report.figure("long_share").benchmark == "5–7"
    chart = report.table("by_person").chart
    assert (chart.value, chart.compare) == ("target_share", "target_goal")
    assert {row["target_goal"] for row in report.table("by_person").rows} == {Decimal("65")}


def test_the_filters_narrow_leads_and_people(bases, other_team):
    for report in (
        build("base-quality", *PERIOD, today=TODAY, person=bases["ben"]),
        build("base-quality", *PERIOD, today=TODAY, team=other_team),
    ):
        assert [row["label"] for row in report.table("by_person").rows] == ["Ben Cole"]
        assert report.figure("target_share").value == Decimal("40.00")
        assert report.figure("short_call_share").value == Decimal("100.00")

    # The source narrows the leads; tasks and calls stay the person's.
    cars = build("base-quality", *PERIOD, today=TODAY, source="cars-com")
    anna = person(cars, "Anna Berg")
    assert (anna["open_leads"], anna["target_share"], anna["sales"]) == (0, None, 0)
    assert work(anna)[:2] == ((5, Decimal("60.00")), (3, 1, Decimal("33.33")))
    assert cars.figure("open_leads").value == 5
    assert cars.figure("target_share").value == Decimal("40.00")

    # A BDC agent keeps no base in this report.
    agents = build("base-quality", *PERIOD, today=TODAY, person=bases["agent"])
    assert agents.table("by_person").rows == []


def test_a_period_without_calls_or_sales_leaves_the_base_as_it_is(bases):
    report = build("base-quality", "2026-01-01", "2026-01-31", today=TODAY)

    assert report.figure("short_call_share").value is None
    assert report.figure("sales").value == 0
    # The base, its archive and its tasks are now, whatever the period.
    assert report.figure("target_share").value == Decimal("60.00")
    assert report.figure("overdue_share").value == Decimal("75.00")


def test_nobody_to_count(db):
    report = build("base-quality", *PERIOD, today=TODAY)

    assert report.table("by_person").rows == []
    assert [report.figure(key).value for key in ("target_share", "overdue_share")] == [None, None]
    assert report.figure("open_leads").value == 0


def test_page_csv_and_api_show_the_same_figures(
    bases, client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)
    query = {"start": PERIOD[0], "end": PERIOD[1]}

    # Session, user, the user's and their groups' permissions; the form's source choices; the
    # report: the archive setting (LifecycleSettings), the people with their teams, their open
    # leads, their open tasks, their calls, their sales; the form's team and person lists as
    # the page draws them.
    with django_assert_num_queries(13):
        page = client.get("/leads/reports/base-quality/", query)
    assert page.status_code == 200
    # The page counts as of the real today (after Nov 20): the figures that do not move.
    assert 'id="figure-target_share"' in page.text and "60.00%" in page.text
    assert "meets goal" in page.text and "below goal" in page.text
    assert "<svg" in page.text and "Anna Berg" in page.text

    exported = client.get("/leads/reports/base-quality/csv/", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    figures = {row[0]: row[1:4] for row in rows[4:12]}
    assert figures["Target customers (buying within 3 months)"] == ["60.00", "percent", "65"]
    assert figures["Long projects (6 months or later)"] == ["26.67", "percent", "5–7"]
    assert figures["Calls under 7 minutes"] == ["60.00", "percent", ""]
    header = rows.index(["By salesperson"]) + 1
    anna = dict(zip(rows[header], rows[header + 1], strict=True))
    assert anna["Person"] == "Anna Berg" and anna["Target customers (%)"] == "70.00"
    assert anna["Target goal (65%+)"] == "meets goal" and anna["Sales"] == "2"

    api = client.get("/api/v1/reports/base-quality/", query).json()
    values = {figure["key"]: figure["value"] for figure in api["figures"]}
    assert values["target_share"] == 60.0 and values["long_share"] == 26.67
    assert values["short_call_share"] == 60.0 and values["sales"] == 3
    ben = api["tables"][0]["rows"][1]
    assert (ben["label"], ben["target_share"], ben["target_mark"]) == (
        "Ben Cole",
        40.0,
        "below goal",
    )
