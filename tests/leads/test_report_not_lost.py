"""Not lost (leads.reports.not_lost): quiet and lost leads whose customer came back on the
website, and what happened after each comeback — from a September whose comebacks the real
sweeps found, run day by day at noon as the schedule would."""

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest

from dealercrm.schedules import sweep_run
from leads.models import LifecycleSettings
from leads.services import lead_set_appointment
from tests.factories import CustomerFactory, browse, make_staff
from tests.leads.reporting import at, build, move, new_lead, rows_by_label, touch

pytestmark = pytest.mark.django_db

PERIOD = ("2026-09-01", "2026-09-20")
FIRST_DAY = date(2026, 9, 1)
LAST_SWEEP_DAY = 24


def day(n, hour=10):
    """`hour` o'clock on the nth day after September 1."""
    return at(FIRST_DAY + timedelta(days=n), hour)


def worked_lead(owner, created, **fields):
    """A lead its owner called at once, with a customer who can be seen on the website."""
    lead = new_lead(created, owner=owner, customer=CustomerFactory(), **fields)
    touch(lead, created + timedelta(minutes=30), by=owner, outcome="connected")
    return lead


def inbound_call(lead, when, by):
    touch(lead, when, by=by, direction="inbound")


@pytest.fixture
def september(sales_team, other_team):
    """Anna's and Ben's leads of September 1 (and one of Anna's from August), worked, quieted,
    lost and brought back; the stale and reactivation sweeps run every day at noon.

    Comebacks, as the sweeps detect them:
    - O (August lead): quiet 7, found Sep 2; nothing after.
    - B: quiet 7, found Sep 8; the customer calls in, books, buys.
    - Z (Ben's, cars-com): quiet 7, found Sep 8; nothing after, quiet on to 21.
    - E: responded and booked on Sep 2, quiet 7, found Sep 9; nothing after, quiet on to 21.
    - G: responded and booked on Sep 2 like E, found Sep 9; the customer calls in again on
      Sep 10 and the visit is moved on Sep 11 (a new booking, no status change); quiet to 14.
    - C: quiet 14, found Sep 16; Anna calls, no answer; never quiet 21.
    - F: quiet 21, found Sep 23 (after the period); sold Sep 25.
    - D: quiet 21, never seen on the website. A: sold on Sep 4, never quiet.
    - L1, L3 lost and X disqualified on Sep 3, all seen on Sep 5 and reopened that noon:
      L1's customer calls in, books and buys; L3 is lost again; X's customer writes in and X
      is disqualified again. L2 is lost and never seen.
    """
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    ben = make_staff(first_name="Ben", last_name="Cole", team=other_team)
    created = day(0, 9)
    august = worked_lead(anna, at("2026-08-25", 9))
    browse(august.customer, at("2026-08-28", 9))
    leads = {name: worked_lead(anna, created) for name in "ABCDEFG"}
    leads |= {name: worked_lead(anna, created) for name in ("L1", "L2", "L3", "X")}
    leads["Z"] = worked_lead(ben, created, source="cars-com")
    leads["O"] = august

    def on(n):
        """What happens on day n before the noon sweeps."""
        match n:
            case 1:
                for name in "EG":
                    inbound_call(leads[name], day(1, 10), anna)
                    lead_set_appointment(lead=leads[name], starts_at=day(3), by=anna, at=day(1, 11))
            case 2:
                for name in ("L1", "L2", "L3"):
                    move(leads[name], "lost", day(2), by=anna)
                move(leads["X"], "disqualified", day(2), by=anna, code="non_target")
                browse(leads["Z"].customer, day(2, 9))
            case 3:
                move(leads["A"], "sold", day(3), by=anna)
                browse(leads["B"].customer, day(3, 9))
            case 4:
                for name in ("L1", "L3", "X"):
                    browse(leads[name].customer, day(4, 9))
            case 5:
                inbound_call(leads["L1"], day(5), anna)
                move(leads["L3"], "lost", day(5), by=anna)
                touch(leads["X"], day(5), by=anna, kind="email", direction="inbound")
                browse(leads["E"].customer, day(5, 9))
                browse(leads["G"].customer, day(5, 9))
            case 6:
                lead_set_appointment(lead=leads["L1"], starts_at=day(7), by=anna, at=day(6))
                move(leads["X"], "disqualified", day(6), by=anna, code="non_target")
            case 8:
                move(leads["L1"], "sold", day(8), by=anna)
                inbound_call(leads["B"], day(8), anna)
            case 9:
                lead_set_appointment(lead=leads["B"], starts_at=day(10), by=anna, at=day(9))
                inbound_call(leads["G"], day(9), anna)
            case 10:
                lead_set_appointment(lead=leads["G"], starts_at=day(12), by=anna, at=day(10))
            case 11:
                move(leads["B"], "sold", day(11), by=anna)
            case 15:
                browse(leads["C"].customer, day(15, 9))
            case 16:
                touch(leads["C"], day(16), by=anna, outcome="no_answer")
            case 22:
                browse(leads["F"].customer, day(22, 9))
            case 23:
                touch(leads["F"], day(23), by=anna, outcome="no_answer")
            case 24:
                move(leads["F"], "sold", day(24), by=anna)

    for n in range(1, LAST_SWEEP_DAY + 1):
        on(n)
        sweep_run("stale", day(n, 12))
        sweep_run("reactivation", day(n, 12))
    return {"anna": anna, "ben": ben, "leads": leads}


def came_back(report):
    return {
        row["label"]: (row["leads"], row["came_back"], row["came_back_share"])
        for row in report.table("came_back").rows
    }


def after(report):
    return {
        row["label"]: (
            row["resurfacings"],
            (row["re_engaged"], row["re_engaged_share"]),
            (row["appointments"], row["appointments_share"]),
            (row["sold"], row["sold_share"]),
        )
        for row in report.table("after").rows
    }


def test_quiet_and_lost_leads_that_came_back(september):
    leads = september["leads"]
    for lead in leads.values():
        lead.refresh_from_db()
    # What the sweeps left, which the report reads.
    assert {name: lead.quiet_tier_reached for name, lead in leads.items()} == {
        "A": 0, "B": 7, "C": 14, "D": 21, "E": 21, "F": 21, "G": 14,
        "L1": 0, "L2": 0, "L3": 0, "X": 0, "Z": 21, "O": 21,
    }  # fmt: skip
    assert [(r.kind, r.quiet_days, r.detected_at) for r in leads["C"].resurfacings.all()] == [
        ("not_lost", 14, day(15, 12))
    ]
    assert (leads["L1"].status, leads["L3"].status, leads["X"].status) == (
        "sold",
        "lost",
        "disqualified",
    )

    report = build("not-lost", *PERIOD)

    # Quiet 7+: B C D E F G Z; 14+: C D E F G Z; 21+: D E F Z. Came back at the tier or later:
    # B, E, G, Z at 7; C at 14; F at 21 (after the period: part one counts the leads, not when
    # they came back). E came back at 7 and went on to 21 unanswered: 7+ only.
    # Lost: L2 and L3 lost now, L1 lost and reactivated; X was disqualified, not lost.
    assert came_back(report) == {
        "Quiet 7+ days": (7, 6, Decimal("85.71")),
        "Quiet 14+ days": (6, 2, Decimal("33.33")),
        "Quiet 21+ days": (4, 1, Decimal("25.00")),
        "Lost": (3, 2, Decimal("66.67")),
    }
    assert report.figure("quiet_leads").value == 7
    assert report.figure("quiet_came_back").value == Decimal("85.71")
    assert report.figure("quiet_came_back").benchmark == "13.7–21.6"
    assert "13.7–21.6%" in report.figure("quiet_came_back").benchmark_text
    assert report.figure("lost_leads").value == 3
    assert report.figure("lost_came_back").value == Decimal("66.67")


def test_what_happened_after_the_comebacks_of_the_period(september):
    report = build("not-lost", *PERIOD)

    # Quiet 7: O, B, Z, E, G — B re-engaged, booked and bought after its comeback; G's customer
    # responded and booked both before and after hers (only after counts); E's response and
    # booking came before hers only. Quiet 14: C, called without an answer.
    # Closed: L1 (re-engaged, booked, sold), L3 (lost again), X (wrote in, disqualified).
    # F was found on Sep 23, after the period.
    none = (0, None)
    assert after(report) == {
        "Quiet 7 days": (5, (2, Decimal("40.00")), (2, Decimal("40.00")), (1, Decimal("20.00"))),
        "Quiet 14 days": (1, (0, Decimal("0.00")), (0, Decimal("0.00")), (0, Decimal("0.00"))),
        "Quiet 21 days": (0, none, none, none),
        "Closed, shopping again": (
            3,
            (2, Decimal("66.67")),
            (1, Decimal("33.33")),
            (1, Decimal("33.33")),
        ),
    }
    figures = {key: report.figure(key).value for key in ("resurfacings", "re_engaged")}
    assert figures == {"resurfacings": 9, "re_engaged": Decimal("44.44")}
    assert report.figure("appointments").value == Decimal("33.33")
    assert report.figure("sold").value == Decimal("22.22")

    whole_month = after(build("not-lost", "2026-09-01", "2026-09-30"))
    # F came back on Sep 23 and was sold on Sep 25 without a word from the customer.
    assert whole_month["Quiet 21 days"] == (
        1,
        (0, Decimal("0.00")),
        (0, Decimal("0.00")),
        (1, Decimal("100.00")),
    )


def test_the_filters_and_the_period_narrow_both_parts(september, other_team):
    bens = [
        build("not-lost", *PERIOD, person=september["ben"]),
        build("not-lost", *PERIOD, source="cars-com"),
        build("not-lost", *PERIOD, team=other_team),
    ]

    for report in bens:
        assert came_back(report) == {
            "Quiet 7+ days": (1, 1, Decimal("100.00")),
            "Quiet 14+ days": (1, 0, Decimal("0.00")),
            "Quiet 21+ days": (1, 0, Decimal("0.00")),
            "Lost": (0, 0, None),
        }
        rows = rows_by_label(report.table("after"))
        assert rows["Quiet 7 days"]["resurfacings"] == 1
        assert rows["Closed, shopping again"]["resurfacings"] == 0
        assert report.figure("re_engaged").value == Decimal("0.00")
    annas = build("not-lost", *PERIOD, person=september["anna"])
    assert annas.figure("quiet_leads").value == 6
    assert annas.figure("resurfacings").value == 8

    # A period without leads or comebacks has no percentages.
    report = build("not-lost", "2026-01-01", "2026-01-31")
    assert came_back(report)["Quiet 7+ days"] == (0, 0, None)
    assert came_back(report)["Lost"] == (0, 0, None)
    assert {row["resurfacings"] for row in report.table("after").rows} == {0}
    assert [report.figure(key).value for key in ("quiet_came_back", "re_engaged", "sold")] == [
        None,
        None,
        None,
    ]


def test_the_dealerships_own_tiers_make_the_rows(september):
    LifecycleSettings.objects.filter(pk=1).update(stale_tiers=[10, 21])

    report = build("not-lost", *PERIOD)

    # quiet_tier_reached holds the tiers in force when the sweeps ran (7, 14, 21).
    assert came_back(report)["Quiet 10+ days"] == (6, 2, Decimal("33.33"))
    assert [row["label"] for row in report.table("after").rows] == [
        "Quiet 7 days",
        "Quiet 10 days",
        "Quiet 14 days",
        "Quiet 21 days",
        "Closed, shopping again",
    ]


def test_page_csv_and_api_show_the_same_figures(
    september, client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)
    query = {"start": PERIOD[0], "end": PERIOD[1]}

    # Session, user, the user's and their groups' permissions; the form's source choices; the
    # report: the stale tiers (LifecycleSettings), the leads of the period by tier and lost,
    # the resurfacings of those leads, the comebacks of the period and what followed them; the
    # form's team and person lists as the page draws them.
    with django_assert_num_queries(11):
        page = client.get("/leads/reports/not-lost/", query)
    assert page.status_code == 200
    assert 'id="figure-quiet_came_back"' in page.text and "85.71%" in page.text
    assert "44.44%" in page.text and "Closed, shopping again" in page.text
    assert page.text.count("<svg") == 2

    exported = client.get("/leads/reports/not-lost/csv/", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    figures = {row[0]: row[1:4] for row in rows[4:12]}
    assert figures["Quiet 7+ days: customer came back"] == ["85.71", "percent", "13.7–21.6"]
    assert figures["Customer re-engaged after the comeback"] == ["44.44", "percent", ""]
    assert ["Quiet 14+ days", "6", "2", "33.33"] in rows

    api = client.get("/api/v1/reports/not-lost/", query).json()
    values = {figure["key"]: figure["value"] for figure in api["figures"]}
    assert values["quiet_came_back"] == 85.71 and values["lost_came_back"] == 66.67
    assert values["resurfacings"] == 9 and values["sold"] == 22.22
    after_rows = {row["label"]: row for row in api["tables"][1]["rows"]}
    assert after_rows["Closed, shopping again"]["re_engaged_share"] == 66.67
