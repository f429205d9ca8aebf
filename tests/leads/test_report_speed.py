"""Speed to lead (leads.reports.speed): the bands of the first personal contact and the median,
and the bands by source, person, team and hour — from a July of known first contacts."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from leads.models import Lead
from tests.factories import make_staff
from tests.leads.reporting import at, build, new_lead, rows_by_label, touch

pytestmark = pytest.mark.django_db

JULY = ("2026-07-01", "2026-07-31")


@pytest.fixture
def july(sales_team, other_team):
    """Seven July leads for two people, first contacted at known delays, and one from June."""
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    ben = make_staff(first_name="Ben", last_name="Cole", team=other_team)
    monday = at("2026-07-06", 10)
    leads = {}
    for name, owner, delay, kind in [
        ("5 min", anna, timedelta(minutes=3), "call"),
        ("hour", anna, timedelta(minutes=30), "call"),
        ("same day", anna, timedelta(hours=3), "email"),
        ("next day", anna, timedelta(days=1), "call"),
    ]:
        lead = new_lead(monday, owner=owner, team=owner.staff.team)
        touch(lead, monday + delay, by=owner, kind=kind)
        leads[name] = lead
    leads["never"] = new_lead(monday, owner=ben, team=ben.staff.team)
    # An automated e-mail at once is not a contact; the call 50 minutes later is.
    automated = new_lead(monday, owner=ben, team=ben.staff.team, source="cars-com")
    touch(automated, monday + timedelta(minutes=1), by="autoresponder", kind="email")
    touch(automated, monday + timedelta(minutes=50), by=ben)
    # Came in at 23:50, called 30 minutes later (after midnight): within the hour.
    late = new_lead(at("2026-07-06", 23, 50), owner=ben, team=ben.staff.team, source="cars-com")
    touch(late, at("2026-07-07", 0, 20), by=ben)
    june = new_lead(at("2026-06-30", 10), owner=anna, team=anna.staff.team)
    touch(june, at("2026-06-30", 10, 1), by=anna)
    return {"anna": anna, "ben": ben}


def test_first_contacts_fall_into_the_fields_bands(july):
    report = build("speed", *JULY)

    bands = {row["key"]: (row["leads"], row["share"]) for row in report.table("bands").rows}
    assert bands == {
        "within_5_min": (1, Decimal("14.29")),
        "within_hour": (3, Decimal("42.86")),
        "same_day": (1, Decimal("14.29")),
        "later": (1, Decimal("14.29")),
        "never": (1, Decimal("14.29")),
    }
    assert report.figure("leads").value == 7
    assert report.figure("within_hour").value == Decimal("57.14")
    assert report.figure("within_hour").benchmark == Decimal("37")
    assert report.figure("ever_contacted").value == Decimal("85.71")
    assert report.figure("ever_contacted").benchmark == Decimal("25")
    # 180, 1800, 1800, 3000, 10800, 86400 seconds: the mean of the middle two.
    assert report.figure("median").value == 2400


def test_by_person_team_source_and_hour(july, sales_team, other_team):
    report = build("speed", *JULY)

    people = rows_by_label(report.table("by_person"))
    assert people["Anna Berg"]["leads"] == 4
    assert people["Anna Berg"]["answered_within_hour_share"] == Decimal("50.00")
    assert people["Ben Cole"]["never_share"] == Decimal("33.33")
    assert people["Ben Cole"]["within_hour_share"] == Decimal("66.67")
    assert rows_by_label(report.table("by_team"))[other_team.name]["leads"] == 3
    sources = rows_by_label(report.table("by_source"))
    assert sources["cars-com"]["answered_within_hour_share"] == Decimal("100.00")
    assert sources["dealer-website"]["leads"] == 5
    hours = rows_by_label(report.table("by_hour"))
    assert (hours["10:00"]["leads"], hours["23:00"]["leads"]) == (6, 1)
    assert hours["23:00"]["within_hour_share"] == Decimal("100.00")
    # The tables show the bands; a person's median is the report filtered to them.
    for key in ["by_source", "by_person", "by_team", "by_hour"]:
        assert "median_seconds" not in [column.key for column in report.table(key).columns]


def test_the_filters_narrow_every_figure(july):
    report = build("speed", *JULY, person=july["ben"])

    assert report.figure("leads").value == 3
    assert report.figure("within_hour").value == Decimal("66.67")
    assert [row["label"] for row in report.table("by_person").rows] == ["Ben Cole"]
    # Anna's 180, 1800, 10800 and 86400 seconds.
    assert build("speed", *JULY, person=july["anna"]).figure("median").value == 6300
    assert build("speed", *JULY, source="cars-com").figure("leads").value == 2


def test_a_lead_without_its_hour_still_counts(july):
    # Leads written around the services (a raw import) may lack the hour they arrived in.
    Lead.objects.filter(created_hour=23).update(created_hour=None)

    hours = build("speed", *JULY).table("by_hour").rows

    assert [(row["label"], row["leads"]) for row in hours] == [
        ("10:00", 6),
        ("Hour not recorded", 1),
    ]


def test_no_leads_no_percentages(db):
    report = build("speed", *JULY)

    assert report.figure("within_hour").value is None
    assert report.figure("median").value is None
    assert report.table("by_person").rows == []


def test_page_csv_and_api_show_the_same_figures(july, client, bdc_manager):
    client.force_login(bdc_manager)
    query = {"start": JULY[0], "end": JULY[1]}

    page = client.get("/leads/reports/speed/", query)
    assert page.status_code == 200
    assert 'id="figure-within_hour"' in page.text and "57.14%" in page.text
    assert "<svg" in page.text and "Anna Berg" in page.text

    exported = client.get("/leads/reports/speed/csv/", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    assert rows[6][:4] == ["First contact within an hour", "57.14", "percent", "37"]

    api = client.get("/api/v1/reports/speed/", query).json()
    figures = {figure["key"]: figure["value"] for figure in api["figures"]}
    assert figures["within_hour"] == 57.14 and figures["median"] == 2400
    assert api["period"] == {"start": JULY[0], "end": JULY[1], "days": 31}


def test_salespeople_do_not_see_the_reports(client, salesperson):
    client.force_login(salesperson)

    assert client.get("/leads/reports/speed/").status_code == 403
    assert client.get("/api/v1/reports/speed/").status_code == 403


def test_unknown_report_and_bad_filters_are_named(client, bdc_manager):
    client.force_login(bdc_manager)

    assert client.get("/leads/reports/nonsense/").status_code == 404
    answer = client.get("/api/v1/reports/speed/", {"start": "2026-08-01", "end": "2026-07-01"})
    assert answer.status_code == 400
    assert "ends" in str(answer.json())
    assert client.get("/api/v1/reports/speed/", {"source": "nobody"}).status_code == 400


def test_the_page_reads_a_fixed_number_of_queries(
    july, client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)

    # Session, user, the user's and their groups' permissions; the form's source choices; the
    # report: the bands by source, person and team together, the bands by hour, the median;
    # the people's and the teams' names; the form's team and person lists as the page draws
    # them.
    with django_assert_num_queries(12):
        page = client.get("/leads/reports/speed/", {"start": JULY[0], "end": JULY[1]})
    assert page.status_code == 200


def test_the_reports_page_lists_every_report(client, bdc_manager):
    client.force_login(bdc_manager)

    page = client.get("/leads/reports/")

    for key in ["speed", "timing", "engagement", "qualification", "not-lost", "base-quality"]:
        assert f'href="/leads/reports/{key}/"' in page.text
    assert 'href="/leads/reports/sources/"' in page.text
