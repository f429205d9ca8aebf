"""Qualification (leads.reports.qualification): the monthly lead-to-qualified conversion before
and after the disqualification audit, and why leads were disqualified — from a summer of known
histories in the dealership's time zone (Chicago), so that a month in UTC would count wrong."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from leads.services import lead_reopen
from tests.factories import make_staff
from tests.leads.reporting import at, audit_return, build, move, new_lead, rows_by_label

pytestmark = pytest.mark.django_db

SUMMER = ("2026-06-01", "2026-08-31")
JULY = ("2026-07-01", "2026-07-31")


@pytest.fixture(autouse=True)
def chicago(settings):
    settings.TIME_ZONE = "America/Chicago"


def lead_through(created, *statuses, by, code=None, **fields):
    """A lead created at `created` that went through `statuses` an hour apart; a disqualified
    or lost one with the reason `code`."""
    lead = new_lead(created, **fields)
    for hours, status in enumerate(statuses, start=1):
        lead = move(lead, status, created + timedelta(hours=hours), by=by, code=code)
    return lead


@pytest.fixture
def summer(sales_team, other_team, bdc_manager):
    """July: 65 leads, 29 qualified (one straight to an appointment, one straight to a sale, one
    lost after qualifying), 2 disqualified leads the audit returned, 13 still disqualified (6
    spam, 4 invalid contact, 3 non-target). Ben (Used cars) owns the 5 cars-com leads, 2 of them
    qualified and 1 returned by the audit; the others wait in the New cars pool, worked by Anna.
    June: 4 leads, 1 qualified. August: 5 leads, 2 qualified, 1 returned by the audit."""
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    ben = make_staff(first_name="Ben", last_name="Cole", team=other_team)

    def pool(created, *statuses, code=None):
        return lead_through(created, *statuses, by=anna, code=code, team=sales_team)

    def bens(*statuses, code=None):
        return lead_through(
            at("2026-07-06", 9),
            *statuses,
            by=ben,
            code=code,
            owner=ben,
            team=other_team,
            source="cars-com",
        )

    bens("contacted", "qualified")
    bens("contacted", "appointment")
    wrongly_spam = bens("disqualified", code="spam")
    bens("contacted")
    bens()
    july = at("2026-07-06", 10)
    for _ in range(25):
        pool(july, "contacted", "qualified")
    pool(july, "contacted", "sold")
    pool(july, "contacted", "qualified", "lost")
    wrongly_invalid = pool(july, "disqualified", code="invalid_contact")
    for code, count in [("spam", 6), ("invalid_contact", 4), ("non_target", 3)]:
        for _ in range(count):
            pool(july, "disqualified", code=code)
    for _ in range(9):
        pool(july, "contacted")
    for _ in range(3):
        pool(july, "contacted", "lost")
    for _ in range(6):
        pool(july)
    # The last minutes of July in Chicago (already August in UTC): still July.
    pool(at("2026-07-31", 23, 30))
    audit_return(wrongly_spam, at("2026-08-03"), by=bdc_manager)
    audit_return(wrongly_invalid, at("2026-08-03"), by=bdc_manager)

    june = at("2026-06-10", 11)
    pool(june, "contacted", "qualified")
    pool(june, "contacted")
    pool(june, "disqualified", code="spam")
    pool(june)

    # Half an hour into August in Chicago.
    august = at("2026-08-01", 0, 30)
    pool(august, "contacted", "qualified")
    pool(august, "contacted", "appointment", "sold")
    returned = pool(august, "disqualified", code="non_target")
    audit_return(returned, at("2026-08-20"), by=bdc_manager)
    pool(august, "contacted")
    pool(august)
    # Outside the period: 23:50 on May 31 in Chicago is June 1 in UTC.
    pool(at("2026-05-31", 23, 50), "contacted", "qualified")
    pool(at("2026-09-01", 0, 5))
    return {"anna": anna, "ben": ben}


def test_the_audit_corrects_each_months_conversion(summer):
    report = build("qualification", *SUMMER)

    months = rows_by_label(report.table("by_month"))
    assert list(months) == ["Jun 2026", "Jul 2026", "Aug 2026"]
    july = months["Jul 2026"]
    assert (july["leads"], july["qualified_was"], july["returned_by_audit"]) == (65, 29, 2)
    assert july["qualified_now"] == 31
    assert july["conversion_was"] == Decimal("44.62")
    assert july["conversion_now"] == Decimal("47.69")
    assert july["correction_points"] == Decimal("3.07")
    june, august = months["Jun 2026"], months["Aug 2026"]
    assert (june["leads"], june["qualified_was"], june["conversion_now"]) == (
        4,
        1,
        Decimal("25.00"),
    )
    assert (august["leads"], august["qualified_was"], august["qualified_now"]) == (5, 2, 3)
    assert (august["conversion_was"], august["conversion_now"]) == (
        Decimal("40.00"),
        Decimal("60.00"),
    )
    # 74 leads: 32 qualified before the audit, 3 more returned by it; 14 disqualified now.
    assert {figure.key: figure.value for figure in report.figures} == {
        "conversion_now": Decimal("47.30"),
        "conversion_was": Decimal("43.24"),
        "correction_points": Decimal("4.06"),
        "returned_by_audit": 3,
        "disqualified_share": Decimal("18.92"),
    }


def test_disqualification_reasons_with_what_the_audit_overturned(summer):
    report = build("qualification", *JULY)

    reasons = [
        (
            row["label"],
            row["disqualified"],
            row["share_of_disqualified"],
            row["share_of_leads"],
            row["returned_by_audit"],
        )
        for row in report.table("reasons").rows
    ]
    assert reasons == [
        ("Spam or test", 6, Decimal("46.15"), Decimal("9.23"), 1),
        ("Invalid phone or e-mail", 4, Decimal("30.77"), Decimal("6.15"), 1),
        ("Non-target: not shopping for a car here", 3, Decimal("23.08"), Decimal("4.62"), 0),
    ]
    assert report.figure("disqualified_share").value == Decimal("20.00")


def test_the_audit_overturns_the_last_disqualification_before_it(db, bdc_manager):
    anna = make_staff(first_name="Anna")
    created = at("2026-07-06", 9)
    lead = lead_through(created, "disqualified", by=anna, code="spam")
    lead = lead_reopen(lead=lead, cause="person", by=anna, at=created + timedelta(hours=2))
    lead = move(lead, "disqualified", created + timedelta(hours=3), by=anna, code="non_target")
    audit_return(lead, created + timedelta(days=2), by=bdc_manager)

    report = build("qualification", *JULY)

    assert [
        (row["label"], row["disqualified"], row["returned_by_audit"])
        for row in report.table("reasons").rows
    ] == [("Non-target: not shopping for a car here", 0, 1)]
    assert report.figure("conversion_now").value == Decimal("100.00")


def test_months_are_the_dealerships_and_cut_by_the_period(db):
    anna = make_staff(first_name="Anna")
    lead_through(at("2026-07-15", 9), "contacted", "qualified", by=anna)
    lead_through(at("2026-07-31", 23, 30), "contacted", "qualified", by=anna)
    lead_through(at("2026-08-01", 0, 30), "contacted", by=anna)
    lead_through(at("2026-08-02", 9), "contacted", "qualified", by=anna)

    # July 31 to August 1: each month counts only its days inside the period.
    report = build("qualification", "2026-07-31", "2026-08-01")

    assert [
        (row["label"], row["leads"], row["qualified_now"], row["conversion_now"])
        for row in report.table("by_month").rows
    ] == [("Jul 2026", 1, 1, Decimal("100.00")), ("Aug 2026", 1, 0, Decimal("0.00"))]


def test_the_filters_narrow_every_figure(summer, other_team):
    by_ben = build("qualification", *JULY, person=summer["ben"])
    by_source = build("qualification", *JULY, source="cars-com")
    by_team = build("qualification", *JULY, team=other_team)

    for report in (by_ben, by_source, by_team):
        (july,) = report.table("by_month").rows
        assert (july["leads"], july["qualified_was"], july["qualified_now"]) == (5, 2, 3)
        assert (july["conversion_was"], july["conversion_now"]) == (
            Decimal("40.00"),
            Decimal("60.00"),
        )
        assert [
            (
                row["label"],
                row["disqualified"],
                row["share_of_disqualified"],
                row["returned_by_audit"],
            )
            for row in report.table("reasons").rows
        ] == [("Spam or test", 0, None, 1)]
        assert report.figure("correction_points").value == Decimal("20.00")


def test_no_leads_no_percentages(db):
    report = build("qualification", *SUMMER)

    assert [row["leads"] for row in report.table("by_month").rows] == [0, 0, 0]
    assert {row["conversion_now"] for row in report.table("by_month").rows} == {None}
    for key in ("conversion_now", "conversion_was", "correction_points", "disqualified_share"):
        assert report.figure(key).value is None
    assert report.figure("returned_by_audit").value == 0
    assert report.table("reasons").rows == []


def test_page_csv_and_api_show_the_same_figures(
    summer, client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)
    query = {"start": SUMMER[0], "end": SUMMER[1]}

    # session, user, the user's and the groups' permissions, the source choices of the filter
    # form; the report: the months (one UNION ALL), the disqualified by reason, the audit returns
    # by the reason they overturned, the reasons' names; then the form's team and person
    # choices as it renders.
    with django_assert_num_queries(11):
        page = client.get("/leads/reports/qualification/", query)
    assert page.status_code == 200
    assert 'id="figure-conversion_now"' in page.text and "47.30%" in page.text
    assert "44.62%" in page.text and "47.69%" in page.text
    assert "<svg" in page.text and "Spam or test" in page.text

    exported = client.get("/leads/reports/qualification/csv/", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    july = next(row for row in rows if row and row[0] == "Jul 2026")
    assert july == ["Jul 2026", "65", "29", "44.62", "2", "31", "47.69", "3.07"]

    api = client.get("/api/v1/reports/qualification/", query).json()
    figures = {figure["key"]: figure["value"] for figure in api["figures"]}
    assert figures["conversion_now"] == 47.3 and figures["correction_points"] == 4.06
    by_month = next(table for table in api["tables"] if table["key"] == "by_month")
    assert by_month["rows"][1]["conversion_was"] == 44.62
