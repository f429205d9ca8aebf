"""Automated vs personal (leads.reports.engagement): the response rate of leads that got
automated messages against leads that got only personal contact, and of leads nobody touched,
by channel, with touches and calls per lead — from a July of leads with known touches."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from tests.factories import make_staff
from tests.leads.reporting import at, build, new_lead, rows_by_label, touch

pytestmark = pytest.mark.django_db

JULY = ("2026-07-01", "2026-07-31")
MONDAY = at("2026-07-06", 10)


def minutes(count):
    return MONDAY + timedelta(minutes=count)


@pytest.fixture
def july(sales_team, other_team):
    """Nine July leads for two people: four with automated messages, three with personal
    contact only, two nobody touched; and a June lead that does not count."""
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    ben = make_staff(first_name="Ben", last_name="Cole", team=other_team)

    def lead(owner, channel="web_form", source="dealer-website"):
        return new_lead(MONDAY, owner=owner, team=owner.staff.team, channel=channel, source=source)

    # With automated messages.
    answered_call = lead(anna)
    touch(answered_call, minutes(1), by="autoresponder", kind="email")
    touch(answered_call, minutes(10), by=anna, customer_responded=True)
    two_emails = lead(anna)
    touch(two_emails, minutes(1), by="autoresponder", kind="email")
    touch(two_emails, minutes(60), by="autoresponder", kind="email")
    texted_back = lead(ben)
    touch(texted_back, minutes(1), by="autoresponder", kind="sms")
    touch(texted_back, minutes(20), by=ben, kind="sms", direction="inbound")
    chat_unanswered = lead(ben, channel="chat", source="cars-com")
    touch(chat_unanswered, minutes(1), by="autoresponder", kind="email")
    touch(chat_unanswered, minutes(30), by=ben, kind="email")
    # Personal contact only.
    called_twice = lead(anna)
    touch(called_twice, minutes(5), by=anna, outcome="no_answer")
    touch(called_twice, minutes(90), by=anna, customer_responded=True)
    emailed = lead(anna)
    touch(emailed, minutes(15), by=anna, kind="email")
    touch(emailed, minutes(16), by=anna, kind="note")  # a note is no touch
    chat_called = lead(ben, channel="chat", source="cars-com")
    touch(chat_called, minutes(3), by=ben, customer_responded=True)
    # No touch: one forgotten, one whose customer wrote in and got no answer.
    lead(ben)
    wrote_in = lead(anna, channel="chat")
    touch(wrote_in, minutes(40), by=anna, kind="email", direction="inbound")

    june = new_lead(at("2026-06-30", 10), owner=anna, team=sales_team)
    touch(june, at("2026-06-30", 10, 1), by="autoresponder", kind="email")
    return {"anna": anna, "ben": ben}


def test_response_rates_by_how_leads_were_contacted(july):
    report = build("engagement", *JULY)

    contact = {row["key"]: row for row in report.table("by_contact").rows}
    assert [
        (row["leads"], row["share_of_leads"], row["responded"], row["rate"])
        for row in contact.values()
    ] == [
        (4, Decimal("44.44"), 2, Decimal("50.00")),
        (3, Decimal("33.33"), 2, Decimal("66.67")),
        (2, Decimal("22.22"), 1, Decimal("50.00")),
        (9, Decimal("100.00"), 5, Decimal("55.56")),
    ]
    assert list(contact) == ["automated", "personal", "untouched", "all"]
    per_lead = {
        key: (
            row["personal_touches_per_lead"],
            row["automated_touches_per_lead"],
            row["calls_per_lead"],
        )
        for key, row in contact.items()
    }
    assert per_lead == {
        "automated": (Decimal("0.50"), Decimal("1.25"), Decimal("0.25")),  # 2, 5, 1 over 4
        "personal": (Decimal("1.33"), Decimal("0.00"), Decimal("1.00")),  # 4, 0, 3 over 3
        "untouched": (Decimal("0.00"), Decimal("0.00"), Decimal("0.00")),
        "all": (Decimal("0.67"), Decimal("0.56"), Decimal("0.44")),  # 6, 5, 4 over 9
    }
    assert [row["field_rate"] for row in contact.values()] == [
        Decimal("21.6"),
        Decimal("39.5"),
        None,
        None,
    ]

    figures = {figure.key: figure.value for figure in report.figures}
    assert figures == {
        "leads": 9,
        "personal_rate": Decimal("66.67"),
        "automated_rate": Decimal("50.00"),
        "untouched_share": Decimal("22.22"),
    }
    assert report.figure("personal_rate").benchmark == Decimal("39.5")
    assert report.figure("automated_rate").benchmark == Decimal("21.6")


def test_by_channel_with_the_totals_last(july):
    report = build("engagement", *JULY)

    table = report.table("by_channel")
    assert [row["label"] for row in table.rows] == ["Website form", "Chat", "All channels"]
    channels = rows_by_label(table)
    assert {
        label: (
            row["leads"],
            row["automated_leads"],
            row["automated_rate"],
            row["personal_leads"],
            row["personal_rate"],
            row["untouched_leads"],
            row["untouched_rate"],
        )
        for label, row in channels.items()
    } == {
        "Website form": (6, 3, Decimal("66.67"), 2, Decimal("50.00"), 1, Decimal("0.00")),
        "Chat": (3, 1, Decimal("0.00"), 1, Decimal("100.00"), 1, Decimal("100.00")),
        "All channels": (9, 4, Decimal("50.00"), 3, Decimal("66.67"), 2, Decimal("50.00")),
    }
    assert (channels["Chat"]["channel"], channels["All channels"]["channel"]) == ("chat", None)
    assert (table.chart.value, table.chart.compare) == ("automated_rate", "personal_rate")


def test_the_filters_narrow_every_figure(july, other_team):
    by_ben = build("engagement", *JULY, person=july["ben"])
    assert by_ben.figure("leads").value == 4
    assert by_ben.figure("automated_rate").value == Decimal("50.00")
    assert by_ben.figure("personal_rate").value == Decimal("100.00")
    assert by_ben.figure("untouched_share").value == Decimal("25.00")

    by_source = build("engagement", *JULY, source="cars-com")
    assert by_source.figure("leads").value == 2
    assert by_source.figure("automated_rate").value == Decimal("0.00")
    assert by_source.figure("untouched_share").value == Decimal("0.00")
    assert [row["label"] for row in by_source.table("by_channel").rows] == ["Chat", "All channels"]

    assert build("engagement", *JULY, team=other_team).figure("leads").value == 4


def test_no_leads_no_percentages(db):
    report = build("engagement", *JULY)

    assert report.figure("leads").value == 0
    assert report.figure("personal_rate").value is None
    assert report.figure("automated_rate").value is None
    assert report.figure("untouched_share").value is None
    assert {row["rate"] for row in report.table("by_contact").rows} == {None}
    assert report.table("by_channel").rows == []


def test_a_customers_tracked_call_is_no_automated_message(provider_api):
    provider_api.post(
        "/api/v1/calls/",
        {"source": "call-tracking", "caller_number": "(202) 555-0143", "duration_seconds": 245},
        format="json",
    )
    today = timezone.localdate()

    report = build("engagement", today, today)

    contact = {row["key"]: row for row in report.table("by_contact").rows}
    assert (contact["automated"]["leads"], contact["untouched"]["leads"]) == (0, 1)


def test_page_csv_and_api_show_the_same_figures(
    july, client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)
    query = {"start": JULY[0], "end": JULY[1]}

    # 1 the session, 2 the user, 3 the user's own permissions, 4 those through its groups,
    # 5 the sources for the filter form; 6 the report, one GROUP BY channel; the filter form
    # as it renders: 7 the teams, 8 the people.
    with django_assert_num_queries(8):
        page = client.get("/leads/reports/engagement/", query)
    assert page.status_code == 200
    assert 'id="figure-personal_rate"' in page.text and "66.67%" in page.text
    assert "39.5%" in page.text and "Website form" in page.text
    assert page.text.count("<svg") == 2

    exported = client.get("/leads/reports/engagement/csv/", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    figures = {row[0]: row[1:4] for row in rows[4:8]}
    assert figures == {
        "Leads": ["9", "count", ""],
        "Responded after personal contact only": ["66.67", "percent", "39.5"],
        "Responded after automated messages": ["50.00", "percent", "21.6"],
        "Leads not touched at all": ["22.22", "percent", ""],
    }
    assert ["Chat", "3", "1", "0.00", "1", "100.00", "1", "100.00"] in rows

    api = client.get("/api/v1/reports/engagement/", query).json()
    figures = {figure["key"]: (figure["value"], figure["benchmark"]) for figure in api["figures"]}
    assert figures == {
        "leads": (9, None),
        "personal_rate": (66.67, 39.5),
        "automated_rate": (50.0, 21.6),
        "untouched_share": (22.22, None),
    }
    channels = next(table for table in api["tables"] if table["key"] == "by_channel")
    assert channels["rows"][-1]["label"] == "All channels"
    assert channels["rows"][-1]["personal_rate"] == 66.67
