"""Service customers: their value (spend, visits, last visit, open issues) and retention segment
at the rules' thresholds; the customers list and a customer's page, their issues opened and
resolved, and service money kept from whoever may not see it."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import Vehicle
from service import report_views
from service.customers import (
    LOYAL_SPEND,
    Segment,
    customer_values,
    segment_rules,
    service_customers,
)
from service.models import CustomerIssue, ServiceLoss
from service.services import issue_open, issue_resolve, loss_log, opportunity_advance
from tests.factories import CustomerFactory, make_opportunity

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 30)
HTMX = {"HTTP_HX_REQUEST": "true"}


def days_ago(days, hour=12, today=TODAY):
    return timezone.make_aware(datetime.combine(today - timedelta(days=days), time(hour)))


def visit(customer, days, value="100.00", invoiced=None, advisor=None, today=TODAY):
    """A car checked in `days` before `today`; delivered the same day when `invoiced`."""
    job = make_opportunity(
        customer, advisor=advisor, stage="checked_in", value=value, at=days_ago(days, 9, today)
    )
    if invoiced is not None:
        job = opportunity_advance(
            opportunity=job, to_stage="delivered", by="test", actual_value=invoiced,
            at=days_ago(days, 17, today),
        )  # fmt: skip
    return job


def segment_of(customer):
    return customer_values([customer.pk], TODAY)[customer.pk].segment


# --- value ---------------------------------------------------------------------------------


def test_a_customers_value_is_their_last_years_spend_visits_and_open_issues(service_advisor):
    customer = CustomerFactory()
    visit(customer, 10, invoiced="400.00")
    visit(customer, 365, invoiced="250.00")  # a year ago to the day: still in
    visit(customer, 366, invoiced="900.00")  # a day more: out of the year, still a visit
    visit(customer, 20)  # checked in, not delivered: a visit, no spend
    make_opportunity(customer, value="700.00", at=days_ago(5))  # booked, not yet in
    issue_open(customer=customer, kind="service", summary="Squeak", by=service_advisor)
    resolved = issue_open(customer=customer, kind="vehicle", summary="Rattle", by=service_advisor)
    issue_resolve(issue=resolved, by=service_advisor, resolution="Tightened")

    value = customer_values([customer.pk], TODAY)[customer.pk]

    assert value.spend == Decimal("650.00")
    assert (value.visits, value.visits_ever) == (3, 4)
    assert value.last_visit == days_ago(10, 9)
    assert value.open_issues == 1
    assert (value.segment, value.segment_label) == ("at_risk", "At risk")  # the open issue


def test_values_of_several_customers_are_one_query(django_assert_num_queries):
    first, second, nobody = CustomerFactory(), CustomerFactory(), CustomerFactory()
    visit(first, 3, invoiced="120.00")
    visit(second, 30)

    with django_assert_num_queries(1):
        values = customer_values([first.pk, second.pk, nobody.pk], TODAY)

    assert values[first.pk].spend == Decimal("120.00")
    assert values[second.pk].visits == 1
    assert (values[nobody.pk].spend, values[nobody.pk].visits) == (Decimal("0.00"), 0)
    assert (values[nobody.pk].last_visit, values[nobody.pk].segment) == (None, "lapsed")
    assert customer_values([], TODAY) == {}


# --- segments at their thresholds ------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_visit_days_ago", "segment"),
    [
        (549, Segment.LAPSED),  # more than 18 months
        (548, Segment.AT_RISK),  # 18 months to the day: not lapsed yet, but over 9 months
        (275, Segment.AT_RISK),
        (274, Segment.ACTIVE),  # 9 months to the day
    ],
)
def test_recency_makes_a_customer_lapsed_or_at_risk(last_visit_days_ago, segment):
    customer = CustomerFactory()
    visit(customer, 600)  # an older visit: not new
    visit(customer, last_visit_days_ago)

    assert segment_of(customer) == segment


def test_a_customer_who_never_came_in_is_lapsed():
    customer = CustomerFactory()
    make_opportunity(customer, value="300.00", at=days_ago(3))

    assert segment_of(customer) == Segment.LAPSED


def test_an_open_issue_puts_a_recent_customer_at_risk_until_it_is_resolved(service_advisor):
    customer = CustomerFactory()
    visit(customer, 400)
    visit(customer, 10, invoiced="2000.00")
    visit(customer, 20, invoiced="100.00")
    issue = issue_open(customer=customer, kind="service", summary="Late", by=service_advisor)

    assert segment_of(customer) == Segment.AT_RISK

    issue_resolve(issue=issue, by=service_advisor, resolution="Apologised, free wash")

    assert segment_of(customer) == Segment.LOYAL


@pytest.mark.parametrize(
    ("days", "segment"), [(91, Segment.NEW), (92, Segment.ACTIVE)], ids=["3 months", "older"]
)
def test_a_first_and_only_visit_in_the_last_three_months_is_new(days, segment):
    customer = CustomerFactory()
    visit(customer, days, invoiced="5000.00")

    assert segment_of(customer) == segment


def test_a_second_visit_is_not_new_any_more():
    customer = CustomerFactory()
    visit(customer, 5)
    visit(customer, 40)

    assert segment_of(customer) == Segment.ACTIVE


@pytest.mark.parametrize(
    ("spend", "segment"),
    [(LOYAL_SPEND, Segment.LOYAL), (LOYAL_SPEND - Decimal("0.01"), Segment.ACTIVE)],
    ids=["at the threshold", "a cent below"],
)
def test_two_visits_and_enough_spend_in_a_year_are_loyal(spend, segment):
    customer = CustomerFactory()
    visit(customer, 30, invoiced=str(spend - 100))
    visit(customer, 200, invoiced="100.00")

    assert segment_of(customer) == segment


def test_spend_on_one_visit_alone_is_not_loyal():
    customer = CustomerFactory()
    visit(customer, 30, invoiced="5000.00")
    visit(customer, 400, invoiced="5000.00")  # more than a year ago

    assert segment_of(customer) == Segment.ACTIVE


def test_the_rules_are_said_in_words_with_the_threshold_only_to_those_who_see_money():
    with_money = dict(segment_rules(lambda value: f"${value:,.2f}"))
    without = dict(segment_rules())

    assert list(with_money) == [
        Segment.LAPSED, Segment.AT_RISK, Segment.NEW, Segment.LOYAL, Segment.ACTIVE,
    ]  # fmt: skip
    assert "$1,000.00" in with_money[Segment.LOYAL]
    assert "$" not in without[Segment.LOYAL]
    assert "18 months" in with_money[Segment.LAPSED]


# --- the customers list ------------------------------------------------------------------------


@pytest.fixture
def customers(service_advisor):
    """Five service customers, one per segment, and one who never had service work."""
    lapsed = CustomerFactory(first_name="Lara", last_name="Gone", phone="+12025550101")
    visit(lapsed, 700)
    loyal = CustomerFactory(first_name="Leo", last_name="Regular", email="leo@example.com")
    visit(loyal, 10, invoiced="800.00")
    visit(loyal, 100, invoiced="300.00")
    fresh = CustomerFactory(first_name="Nina", last_name="First")
    visit(fresh, 5)
    active = CustomerFactory(first_name="Ava", last_name="Steady")
    visit(active, 30)
    visit(active, 500)
    worried = CustomerFactory(first_name="Ida", last_name="Issue")
    visit(worried, 15)
    visit(worried, 45)
    issue_open(customer=worried, kind="service", summary="Oil stain", by=service_advisor)
    CustomerFactory(first_name="Sam", last_name="Sales")  # a sales customer only
    return {"lapsed": lapsed, "loyal": loyal, "new": fresh, "active": active, "at_risk": worried}


def listed(**filters):
    return [customer.pk for customer in service_customers(TODAY, **filters)]


def test_the_list_holds_service_customers_by_name_with_their_segment(customers):
    rows = list(service_customers(TODAY))

    assert [row.last_name for row in rows] == ["First", "Gone", "Issue", "Regular", "Steady"]
    assert [row.segment for row in rows] == ["new", "lapsed", "at_risk", "loyal", "active"]


def test_filtering_by_segment_agrees_with_each_customers_own_figures(customers):
    values = customer_values([customer.pk for customer in customers.values()], TODAY)

    for segment in Segment:
        rows = list(service_customers(TODAY, segment=segment))
        assert [row.pk for row in rows] == [customers[segment].pk]
        (row,) = rows
        mine = values[row.pk]
        assert (row.spend, row.visits, row.visits_ever, row.last_visit, row.open_issues or 0) == (
            mine.spend, mine.visits, mine.visits_ever, mine.last_visit, mine.open_issues,
        )  # fmt: skip


def test_the_list_page_filters_by_segment_and_searches(client, service_advisor, customers):
    client.force_login(service_advisor)
    url = reverse("service:customers")

    def shown(**query):
        return [row.pk for row in client.get(url, query).context["page"]]

    assert len(shown()) == 5
    assert shown(segment="lapsed") == [customers["lapsed"].pk]
    assert shown(q="leo regular") == [customers["loyal"].pk]
    assert shown(q="LEO@example") == [customers["loyal"].pk]
    assert shown(q="(202) 555-0101") == [customers["lapsed"].pk]
    assert shown(q="nobody") == []
    assert shown(segment="nonsense") == shown()  # an unknown segment filters nothing


def test_the_list_is_paginated_in_a_fixed_number_of_queries(
    client, service_manager, customers, monkeypatch, django_assert_num_queries
):
    monkeypatch.setattr(report_views, "CUSTOMERS_PER_PAGE", 3)
    client.force_login(service_manager)

    # session, user, permissions ×2, the count, the page of customers with their figures.
    with django_assert_num_queries(6):
        response = client.get(reverse("service:customers"), {"page": 2})

    page = response.context["page"]
    assert (page.number, page.paginator.num_pages, page.paginator.count) == (2, 2, 5)
    assert [row.last_name for row in page] == ["Regular", "Steady"]
    assert "Page 2 of 2" in response.content.decode()


def test_typing_a_search_asks_for_the_results_alone(client, service_advisor, customers):
    client.force_login(service_advisor)

    response = client.get(
        reverse("service:customers"), {"q": "Nina"}, **HTMX, HTTP_HX_TARGET="customer-results"
    )

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="customer-results"')
    assert "Nina First" in html and "Leo Regular" not in html


# --- a customer's page -------------------------------------------------------------------------


@pytest.fixture
def regular(service_advisor):
    """A customer with two cars, service work, a sale still to win back and two issues."""
    customer = CustomerFactory(first_name="Rita", last_name="Regular")
    car = Vehicle.objects.create(owner=customer, year=2019, make="Kia", model="Ceed")
    Vehicle.objects.create(owner=customer, year=2022, make="Kia", model="EV6")
    # The page reads the figures as of the real today.
    visit(customer, 40, invoiced="640.00", advisor=service_advisor, today=timezone.localdate())
    quote = make_opportunity(
        customer, advisor=service_advisor, vehicle=car, source="quote", stage="planned",
        value="480.00", title="Brake discs", at=timezone.now() - timedelta(days=3),
    )  # fmt: skip
    loss_log(opportunity=quote, event="quote_declined", reason="price_too_high", by=service_advisor)
    old = issue_open(customer=customer, kind="vehicle", summary="Rattle", by=service_advisor)
    issue_resolve(issue=old, by=service_advisor, resolution="Heat shield fixed")
    issue_open(
        customer=customer, kind="service", summary="Waited two hours", vehicle=car,
        by=service_advisor,
    )  # fmt: skip
    return customer


def page_url(customer):
    return reverse("service:customer", args=[customer.pk])


def test_the_customer_page_shows_everything_in_a_fixed_number_of_queries(
    client, service_advisor, regular, django_assert_num_queries
):
    client.force_login(service_advisor)

    # 1 session, 2 user, 3-4 permissions, 5 the customer with spend, visits, last visit, open
    # issues and segment (subqueries), 6 their cars, 7 their issues (open first) with who
    # opened and resolved them, 8 the lost sales still to win back with their work and reason,
    # 9 the latest service work with its car and advisor.
    with django_assert_num_queries(9):
        response = client.get(page_url(regular))

    assert response.status_code == 200
    context = response.context
    assert context["value"].segment == Segment.AT_RISK
    assert [issue.summary for issue, _ in context["issues"]] == ["Waited two hours", "Rattle"]
    assert [loss.opportunity.title for loss in context["to_win_back"]] == ["Brake discs"]
    assert [job.title for job in context["latest"]] == ["Brake discs", "Annual service"]
    html = response.content.decode()
    assert "$640.00" in html  # spend in the last year
    assert "$480.00" in html  # the sale to win back
    assert "2022 Kia EV6" in html
    assert f'href="{reverse("service:opportunity", args=[context["latest"][0].pk])}"' in html
    assert html.index("Waited two hours") < html.index("Rattle")
    assert reverse("service:issue_new", args=[regular.pk]) in html
    resolve = reverse("service:issue_resolve", args=[context["issues"][0][0].pk])
    assert resolve in html
    assert reverse("service:issue_resolve", args=[context["issues"][1][0].pk]) not in html


def test_a_salesperson_sees_the_customer_without_money_or_issue_forms(client, salesperson, regular):
    client.force_login(salesperson)

    response = client.get(page_url(regular))

    assert response.status_code == 200
    main = response.content.decode().split('<main id="content">')[1]
    assert "$" not in main
    assert "Spend" not in main
    assert "Waited two hours" in main  # issues are seen, not changed
    assert reverse("service:issue_new", args=[regular.pk]) not in main
    assert "issues/" not in main.split("Issues")[1].split("Lost sales")[0]


def test_a_salesperson_sees_the_list_without_spend(client, salesperson, customers):
    client.force_login(salesperson)

    html = client.get(reverse("service:customers")).content.decode()

    assert "Spend" not in html and "$" not in html.split('<main id="content">')[1]
    assert "Leo Regular" in html


def test_a_missing_customer_is_404_and_someone_without_service_access_403(
    client, service_advisor, lead_provider, regular
):
    client.force_login(service_advisor)
    assert client.get(reverse("service:customer", args=[regular.pk + 1000])).status_code == 404

    client.force_login(lead_provider)
    assert client.get(page_url(regular)).status_code == 403
    assert client.get(reverse("service:customers")).status_code == 403

    client.logout()
    assert client.get(page_url(regular)).status_code == 302


# --- issues ------------------------------------------------------------------------------------


def test_an_advisor_opens_an_issue_and_htmx_gets_the_issues_back(client, service_advisor, regular):
    client.force_login(service_advisor)
    car = regular.vehicles.get(model="EV6")

    response = client.post(
        reverse("service:issue_new", args=[regular.pk]),
        {"issue-kind": "vehicle", "issue-summary": "Warning light", "issue-vehicle": car.pk},
        **HTMX,
    )

    assert response.status_code == 200
    assert response["HX-Trigger"] == "issueChanged"
    html = response.content.decode()
    assert html.startswith('<section class="card customer-issues" id="customer-issues"')
    assert "Issue opened: Warning light" in html
    issue = CustomerIssue.objects.get(summary="Warning light")
    assert (issue.customer, issue.vehicle, issue.kind, issue.opened_by) == (
        regular, car, "vehicle", service_advisor,
    )  # fmt: skip


def test_an_issue_without_a_summary_comes_back_with_the_error(client, service_advisor, regular):
    client.force_login(service_advisor)

    htmx = client.post(
        reverse("service:issue_new", args=[regular.pk]),
        {"issue-kind": "service", "issue-summary": ""},
        **HTMX,
    )
    plain = client.post(
        reverse("service:issue_new", args=[regular.pk]),
        {"issue-kind": "service", "issue-summary": " ", "issue-vehicle": "999999"},
    )

    assert htmx.status_code == plain.status_code == 422
    assert "This field is required." in htmx.content.decode()
    assert "Select a valid choice" in plain.content.decode()
    assert "<h1>" in plain.content.decode()  # the whole page again, the form open
    assert CustomerIssue.objects.filter(customer=regular).count() == 2


def test_a_plain_post_opens_the_issue_and_goes_back_to_the_customer(
    client, service_advisor, regular
):
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:issue_new", args=[regular.pk]),
        {"issue-kind": "service", "issue-summary": "Car not washed"},
    )

    assert response.status_code == 302
    assert response["Location"] == page_url(regular)
    assert CustomerIssue.objects.filter(summary="Car not washed", status="open").exists()


def test_resolving_an_issue_closes_it_and_a_second_time_is_a_conflict(
    client, service_advisor, service_manager, regular
):
    issue = CustomerIssue.objects.get(summary="Waited two hours")
    url = reverse("service:issue_resolve", args=[issue.pk])
    data = {f"resolve-{issue.pk}-resolution": "Free service next time"}
    client.force_login(service_advisor)

    response = client.post(url, data, **HTMX)

    assert response.status_code == 200
    issue.refresh_from_db()
    assert (issue.status, issue.resolved_by, issue.resolution) == (
        "resolved", service_advisor, "Free service next time",
    )  # fmt: skip
    assert "Resolved: Waited two hours" in response.content.decode()

    client.force_login(service_manager)
    again = client.post(url, data, **HTMX)

    assert again.status_code == 409
    assert "resolved already" in again.content.decode()
    issue.refresh_from_db()
    assert issue.resolved_by == service_advisor


def test_resolving_needs_a_resolution(client, service_advisor, regular):
    issue = CustomerIssue.objects.get(summary="Waited two hours")
    client.force_login(service_advisor)

    response = client.post(reverse("service:issue_resolve", args=[issue.pk]), {}, **HTMX)

    assert response.status_code == 422
    assert "This field is required." in response.content.decode()
    issue.refresh_from_db()
    assert issue.status == "open"


def test_a_salesperson_may_neither_open_nor_resolve_issues(client, salesperson, regular):
    issue = CustomerIssue.objects.get(summary="Waited two hours")
    client.force_login(salesperson)

    opened = client.post(
        reverse("service:issue_new", args=[regular.pk]),
        {"issue-kind": "service", "issue-summary": "Sneaky"},
    )
    resolved = client.post(
        reverse("service:issue_resolve", args=[issue.pk]),
        {f"resolve-{issue.pk}-resolution": "Sneaky"},
    )

    assert (opened.status_code, resolved.status_code) == (403, 403)
    assert not CustomerIssue.objects.filter(summary="Sneaky").exists()
    issue.refresh_from_db()
    assert issue.status == "open"


def test_the_lost_sales_to_win_back_leave_the_page_once_won_back(client, service_advisor, regular):
    loss = ServiceLoss.objects.get(opportunity__customer=regular)
    ServiceLoss.objects.filter(pk=loss.pk).update(recovery=ServiceLoss.Recovery.GIVEN_UP)
    client.force_login(service_advisor)

    response = client.get(page_url(regular))

    assert response.context["to_win_back"] == []
    assert "Nothing to win back." in response.content.decode()
