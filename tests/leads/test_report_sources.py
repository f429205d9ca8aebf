"""Sources (leads.reports.sources): leads, customers counted once, their qualification,
appointments and sales per source, and what a qualified customer and a sale cost — from a July
of known customers across four sources, two of them paid."""

import csv
import io
from datetime import timedelta
from decimal import Decimal

import pytest

from leads.models import LeadSource
from tests.factories import CustomerFactory, make_staff
from tests.leads.reporting import at, audit_return, build, move, new_lead, rows_by_label

pytestmark = pytest.mark.django_db

JULY = ("2026-07-01", "2026-07-31")


def lead_through(source, *statuses, customer=None, by, day="2026-07-06", **fields):
    """A lead from `source` created on `day` that went through `statuses` an hour apart."""
    created = at(day, 9)
    lead = new_lead(created, source=source, customer=customer, **fields)
    for hours, status in enumerate(statuses, start=1):
        lead = move(lead, status, created + timedelta(hours=hours), by=by)
    return lead


@pytest.fixture
def july(sales_team, other_team, bdc_manager):
    """cars-com (25.00 a lead): 6 leads of 5 customers — Carl sent two, both qualified, one
    sold after an appointment; Dora qualified; Eve, the customer cars-com shares with
    autotrader, qualified there. autotrader (18.50 a lead): 3 leads of 3 customers — Eve bought,
    Finn qualified. The dealer's website (no cost): 4 leads — one sold, one returned by the
    audit. walk-in-event (nobody configured it): 1 lead, sold. Ben (Used cars) owns the
    autotrader leads. June has one more cars-com lead, outside the period."""
    LeadSource.objects.create(key="cars-com", name="Cars.com", cost_per_lead=Decimal("25.00"))
    LeadSource.objects.create(key="autotrader", name="Autotrader", cost_per_lead=Decimal("18.50"))
    LeadSource.objects.create(key="dealer-website", name="Our website")
    anna = make_staff(first_name="Anna", last_name="Berg", team=sales_team)
    ben = make_staff(first_name="Ben", last_name="Cole", team=other_team)
    carl, eve = CustomerFactory(), CustomerFactory()

    def cars(*statuses, customer=None, day="2026-07-06"):
        return lead_through(
            "cars-com", *statuses, customer=customer, by=anna, day=day, team=sales_team
        )

    def autotrader(*statuses, customer=None):
        return lead_through(
            "autotrader", *statuses, customer=customer, by=ben, owner=ben, team=other_team
        )

    def website(*statuses):
        return lead_through("dealer-website", *statuses, by=anna, team=sales_team)

    cars("contacted", "qualified", customer=carl)
    cars("contacted", "appointment", "sold", customer=carl, day="2026-07-20")
    cars("contacted", "qualified")  # Dora
    cars("contacted", "qualified", customer=eve)
    cars("contacted")
    cars()
    autotrader("contacted", "sold", customer=eve)
    autotrader("contacted", "qualified")  # Finn
    autotrader("contacted", "lost")
    website("contacted", "appointment", "sold")
    wrongly_disqualified = website("disqualified")
    audit_return(wrongly_disqualified, at("2026-07-10"), by=bdc_manager)
    website("disqualified")
    website()
    lead_through("walk-in-event", "contacted", "sold", by=anna, team=sales_team)
    cars("contacted", "sold", day="2026-06-30")
    return {"anna": anna, "ben": ben}


def test_customers_are_counted_once_per_source(july):
    report = build("sources", *JULY)

    rows = rows_by_label(report.table("by_source"))
    assert list(rows) == ["Cars.com", "Our website", "Autotrader", "walk-in-event", "All sources"]
    cars = rows["Cars.com"]
    assert [cars[key] for key in ("leads", "customers", "qualified", "appointments", "sold")] == [
        6,
        5,
        3,
        1,
        1,
    ]
    assert (cars["qualified_share"], cars["appointment_share"], cars["sold_share"]) == (
        Decimal("60.00"),
        Decimal("20.00"),
        Decimal("20.00"),
    )
    website = rows["Our website"]
    # The lead the audit returned counts as qualified; the sale went through an appointment.
    assert [
        website[key] for key in ("leads", "customers", "qualified", "appointments", "sold")
    ] == [
        4,
        4,
        2,
        1,
        1,
    ]
    assert (website["qualified_share"], website["sold_share"]) == (
        Decimal("50.00"),
        Decimal("25.00"),
    )
    walk_in = rows["walk-in-event"]
    assert (walk_in["leads"], walk_in["sold"], walk_in["sold_share"]) == (1, 1, Decimal("100.00"))


def test_the_totals_count_each_customer_once_across_sources(july):
    report = build("sources", *JULY)

    total = report.table("by_source").rows[-1]
    # 14 leads of 13 customers per source, but Eve came through two sources: 12 customers.
    # Qualified: Carl, Dora, Eve, Finn, the website's two and the walk-in (Eve once).
    assert total["label"] == "All sources"
    assert [total[key] for key in ("leads", "customers", "qualified", "appointments", "sold")] == [
        14,
        12,
        7,
        2,
        4,
    ]
    assert total["sold_share"] == Decimal("33.33")
    assert {figure.key: figure.value for figure in report.figures} == {
        "leads": 14,
        "customers": 12,
        "sold": 4,
        # 150.00 + 55.50 over the 2 sold customers of the paid sources (Carl, Eve).
        "cost_per_sale": Decimal("102.75"),
    }


def test_what_a_qualified_customer_and_a_sale_cost(july):
    rows = rows_by_label(build("sources", *JULY).table("by_source"))

    money = ("cost_per_lead", "cost", "cost_per_qualified", "cost_per_sale")
    assert [rows["Cars.com"][key] for key in money] == [
        Decimal("25.00"),
        Decimal("150.00"),
        Decimal("50.00"),
        Decimal("150.00"),
    ]
    assert [rows["Autotrader"][key] for key in money] == [
        Decimal("18.50"),
        Decimal("55.50"),
        Decimal("27.75"),
        Decimal("55.50"),
    ]
    # No cost configured, or the source not configured at all: no money figures, not zero.
    assert [rows["Our website"][key] for key in money] == [None, None, None, None]
    assert [rows["walk-in-event"][key] for key in money] == [None, None, None, None]
    # 205.50 over the 4 qualified customers of the paid sources (Carl, Dora, Eve, Finn):
    # 51.375, half up to the cent.
    total = rows["All sources"]
    assert (total["cost"], total["cost_per_qualified"], total["cost_per_sale"]) == (
        Decimal("205.50"),
        Decimal("51.38"),
        Decimal("102.75"),
    )


def test_the_filters_narrow_every_figure(july, other_team):
    by_source = build("sources", *JULY, source="cars-com")
    by_ben = build("sources", *JULY, person=july["ben"])
    by_team = build("sources", *JULY, team=other_team)

    cars, total = by_source.table("by_source").rows
    assert (cars["label"], cars["customers"], cars["cost_per_sale"]) == (
        "Cars.com",
        5,
        Decimal("150.00"),
    )
    assert (total["customers"], total["sold"], total["cost_per_sale"]) == (5, 1, Decimal("150.00"))
    assert by_source.figure("cost_per_sale").value == Decimal("150.00")
    for report in (by_ben, by_team):
        assert [
            (row["label"], row["leads"], row["sold"]) for row in report.table("by_source").rows
        ] == [
            ("Autotrader", 3, 1),
            ("All sources", 3, 1),
        ]
        assert report.figure("cost_per_sale").value == Decimal("55.50")


def test_a_free_source_leaves_the_cost_per_sale_empty(db):
    anna = make_staff(first_name="Anna")
    lead_through("dealer-website", "contacted", "sold", by=anna)
    lead_through("walk-in-event", "contacted", "sold", by=anna)

    report = build("sources", *JULY)

    assert report.figure("sold").value == 2
    assert report.figure("cost_per_sale").value is None
    assert report.table("by_source").rows[-1]["cost"] is None


def test_no_leads_no_percentages(db):
    report = build("sources", *JULY)

    assert report.table("by_source").rows == []
    assert [figure.value for figure in report.figures] == [0, 0, 0, None]


def test_page_csv_and_api_show_the_same_figures(
    july, client, bdc_manager, django_assert_num_queries
):
    client.force_login(bdc_manager)
    query = {"start": JULY[0], "end": JULY[1]}

    # session, user, the user's and the groups' permissions, the source choices of the filter
    # form; the report: the configured sources with their costs, then each source's counts and
    # all sources' together (one UNION ALL); then the form's team and person choices as it
    # renders.
    with django_assert_num_queries(9):
        page = client.get("/leads/reports/sources/", query)
    assert page.status_code == 200
    assert 'id="figure-cost_per_sale"' in page.text and "$102.75" in page.text
    assert "<svg" in page.text and "walk-in-event" in page.text and "$51.38" in page.text

    exported = client.get("/leads/reports/sources/csv/", query)
    rows = list(csv.reader(io.StringIO(exported.content.decode())))
    cars = next(row for row in rows if row and row[0] == "Cars.com")
    assert cars == [
        "Cars.com",
        "6",
        "5",
        "3",
        "60.00",
        "1",
        "20.00",
        "1",
        "20.00",
        "25.00",
        "150.00",
        "50.00",
        "150.00",
    ]

    api = client.get("/api/v1/reports/sources/", query).json()
    figures = {figure["key"]: figure["value"] for figure in api["figures"]}
    assert figures == {"leads": 14, "customers": 12, "sold": 4, "cost_per_sale": "102.75"}
    (table,) = api["tables"]
    assert table["rows"][-1]["customers"] == 12 and table["rows"][-1]["cost"] == "205.50"
