"""The opportunity page (what it shows, to whom, and its actions: losses, stages, parts
arrived), a new opportunity, and the list of opportunities."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import Customer, Vehicle
from service import services
from service.errors import InvalidOpportunity
from service.models import Recapture, ServiceLoss, ServiceOpportunity
from service.services import (
    issue_open,
    loss_log,
    loss_parts_arrived,
    opportunity_advance,
)
from tests.factories import CustomerFactory, make_lead, make_opportunity

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGE = {**HTMX, "HTTP_HX_TARGET": "opp-page"}


def page_url(opportunity):
    return reverse("service:opportunity", args=[opportunity.pk])


def at_hour(hour, days=0):
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour)))


@pytest.fixture
def maria(db):
    return CustomerFactory(first_name="Maria", last_name="Lopez", email="maria@example.com")


@pytest.fixture
def old_car(maria):
    return Vehicle.objects.create(
        vin="WF0XXXGCDX1234567", year=2012, make="Ford", model="Focus", mileage=90_000,
        owner=maria,
    )  # fmt: skip


@pytest.fixture
def nobody(db):
    return get_user_model().objects.create_user("visitor", password="x")


@pytest.fixture
def visit(maria, old_car, service_advisor, salesperson):
    """Maria is back with her old Focus. She declined front brakes on a quote last month; at
    this check-in they come back to the advisor, her old car makes a sales lead for her
    salesperson, and during the work she reduces the scope (parts are missing), the parts then
    arrive. She has an open issue about a rattle."""
    make_lead("sold", owner=salesperson, customer=maria)
    earlier = make_opportunity(
        maria, source="quote", stage="planned", value="640.00", title="Front brakes",
        advisor=service_advisor, at=timezone.now() - timedelta(days=30),
    )  # fmt: skip
    loss_log(
        opportunity=earlier, event="quote_declined", reason="price_too_high",
        declined_items=[{"description": "Front brake pads and discs", "amount": "640.00"}],
        by=service_advisor, at=timezone.now() - timedelta(days=29),
    )  # fmt: skip
    visit = make_opportunity(
        maria, vehicle=old_car, advisor=service_advisor, value="925.00", title="Big service",
        booked_for=at_hour(8), items=[{"description": "Oil and filters", "amount": "325.00"},
                                      {"description": "Timing belt", "amount": "600.00"}],
    )  # fmt: skip
    opportunity_advance(opportunity=visit, to_stage="checked_in", by=service_advisor)
    opportunity_advance(opportunity=visit, to_stage="in_work", by=service_advisor)
    loss = loss_log(
        opportunity=visit, event="scope_reduced", reason="missing_parts", amount="600.00",
        declined_items=[{"description": "Timing belt", "amount": "600.00"}],
        note="Belt kit on back order", by=service_advisor,
    )  # fmt: skip
    loss_parts_arrived(loss=loss, by=service_advisor)
    issue_open(customer=maria, kind="vehicle", summary="Rattle from the dashboard",
               by=service_advisor)  # fmt: skip
    visit.refresh_from_db()
    return visit


# --- what the page shows ---------------------------------------------------------------------


def test_the_page_shows_the_visit_its_losses_follow_ups_declined_work_issues_lead_and_history(
    client, service_advisor, visit, salesperson
):
    client.force_login(service_advisor)

    response = client.get(page_url(visit))

    assert response.status_code == 200
    html = response.content.decode()
    page = response.context["page"]
    assert f'href="{reverse("service:customer", args=[visit.customer_id])}"' in html
    assert "2012 Ford Focus" in html and "WF0XXXGCDX1234567" in html
    assert "Booking" in html and "In work" in html
    assert "$325.00" in html  # the estimate left after the reduced scope
    assert "of $925.00 at first" in html
    assert "Erin erin" in html  # the advisor
    # The loss: its reason, money, recovery state and what came of it.
    (loss,) = page.losses
    assert (loss.event, loss.reason.code, loss.amount) == (
        "scope_reduced",
        "missing_parts",
        Decimal("600.00"),
    )
    assert "Missing parts" in html and "$600.00" in html and "To win back" in html
    assert "Belt kit on back order" in html and "Timing belt — $600.00" in html
    assert [r.kind for r in loss.recaptures_shown] == ["parts_arrived"]
    assert "Parts arrived · " in html
    assert "Parts arrived</button>" not in html  # recorded already
    # Declined before: the front brakes of last month, brought back at this check-in.
    (declined,) = page.declined_before
    assert (declined.kind, declined.visit) == ("check_in", visit)
    assert "Declined before" in html and "Front brake pads and discs ($640.00)" in html
    assert "Rattle from the dashboard" in html
    assert "This visit made a sales lead" in html and "with Alice" in html
    assert [event.kind for event in page.history] == [
        "created", "stage", "sales_lead", "stage", "loss", "parts_arrived", "recapture",
    ]  # fmt: skip
    assert "Scope reduced (Missing parts): $600.00 lost, $325.00 still open" in html
    # What the advisor can do now: the later stages, delivery and the losses of the workshop.
    assert [form.event for form in response.context["loss_forms"]] == [
        "order_cancelled",
        "scope_reduced",
    ]
    assert [stage.value for stage in response.context["stages"]] == ["quality_check"]
    assert 'name="actual_value"' in html and 'value="325.00"' in html


def test_a_salesperson_sees_the_service_history_but_no_money_and_no_action(
    client, salesperson, visit
):
    client.force_login(salesperson)

    response = client.get(page_url(visit))

    assert response.status_code == 200
    html = response.content.decode()
    assert "Big service" in html and "Maria Lopez" in html and "In work" in html
    for money in ("$", "925", "325.00", "600.00", "640.00"):
        assert money not in html, money
    assert "Scope reduced (Missing parts): [amount] lost, [amount] still open" in html
    for action in ("Log loss", "Deliver", "Parts arrived</button>", "Move to", "Book<"):
        assert action not in html, action
    # Losses and follow-ups are service records a salesperson does not read at all.
    page = response.context["page"]
    assert (page.losses, page.declined_before) == (None, None)
    assert "Rattle from the dashboard" in html  # open issues are for sales too


def test_an_account_without_service_permissions_gets_404_for_an_opportunity(client, nobody, visit):
    client.force_login(nobody)

    assert client.get(page_url(visit)).status_code == 404
    assert client.get(reverse("service:opportunity", args=[999_999])).status_code == 404


def test_a_missing_opportunity_is_404_for_an_advisor_too(client, service_advisor):
    client.force_login(service_advisor)

    assert client.get(reverse("service:opportunity", args=[999_999])).status_code == 404
    assert client.get(reverse("service:loss_log", args=[999_999])).status_code == 404


# --- actions ---------------------------------------------------------------------------------


def test_a_closed_opportunity_refuses_a_loss_with_the_message(client, service_advisor):
    lost = make_opportunity(advisor=service_advisor, booked_for=at_hour(9))
    loss_log(opportunity=lost, event="no_show", reason="no_show", by=service_advisor)
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:loss_log", args=[lost.pk]),
        {"event": "appointment_cancelled", "reason": "no_capacity"},
        **PAGE,
    )

    assert response.status_code == 422
    assert "This opportunity is lost; a loss is logged on open work only." in (
        response.content.decode()
    )
    assert ServiceLoss.objects.count() == 1
    # And the page offers no loss any more.
    page = client.get(page_url(lost))
    assert page.context["loss_forms"] == [] and "Log loss" not in page.content.decode()


def test_a_loss_logged_on_the_page_answers_with_the_page(client, service_advisor):
    quote = make_opportunity(advisor=service_advisor, source="quote", stage="planned",
                             value="500.00")  # fmt: skip
    client.force_login(service_advisor)
    html = client.get(page_url(quote)).content.decode()
    assert 'hx-target="#opp-page"' in html and "Quote declined" in html

    response = client.post(
        reverse("service:loss_log", args=[quote.pk]),
        {"event": "quote_declined", "reason": "competitor_offer", "amount": "500.00"},
        **PAGE,
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="opp-page"')
    assert "Quote declined. Lost: $500.00 — Competitor offer" in html  # the notice
    assert "Competitor offer" in html and "To win back" in html
    quote.refresh_from_db()
    assert quote.status == ServiceOpportunity.Status.LOST


def test_checking_in_then_delivering_at_the_invoiced_value(client, service_advisor):
    booked = make_opportunity(advisor=service_advisor, value="400.00")
    advance = reverse("service:advance", args=[booked.pk])
    client.force_login(service_advisor)

    response = client.post(advance, {"to_stage": "checked_in", "mileage": "42000"}, **PAGE)

    assert response.status_code == 200
    assert "Now checked in." in response.content.decode()
    response = client.post(advance, {"to_stage": "delivered", "actual_value": "455.50"}, **PAGE)
    assert "Now delivered." in response.content.decode()
    booked.refresh_from_db()
    assert (booked.stage, booked.status, booked.actual_value, booked.mileage) == (
        "delivered",
        "won",
        Decimal("455.50"),
        42000,
    )


def test_a_stage_move_on_a_closed_opportunity_is_refused_in_the_services_words(
    client, service_advisor
):
    lost = make_opportunity(advisor=service_advisor)
    loss_log(opportunity=lost, event="appointment_cancelled", reason="no_capacity",
             by=service_advisor)  # fmt: skip
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:advance", args=[lost.pk]), {"to_stage": "checked_in"}, follow=True
    )

    assert [str(m) for m in response.context["messages"]] == [
        "This opportunity is lost; it moves no more."
    ]


def test_parts_arrived_brings_the_lost_work_back_to_todays_follow_ups(client, service_advisor):
    in_work = make_opportunity(advisor=service_advisor, stage="in_work", value="700.00")
    loss = loss_log(opportunity=in_work, event="order_cancelled", reason="missing_parts",
                    by=service_advisor)  # fmt: skip
    client.force_login(service_advisor)
    assert "Parts arrived</button>" in client.get(page_url(in_work)).content.decode()

    response = client.post(reverse("service:parts_arrived", args=[loss.pk]), **PAGE)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Parts arrived: the work is on Erin erin&#x27;s follow-ups." in html
    assert "Parts arrived</button>" not in html
    recapture = Recapture.objects.get(loss=loss)
    assert (recapture.kind, recapture.assignee, recapture.due_on) == (
        "parts_arrived",
        service_advisor,
        timezone.localdate(),
    )


def test_a_salesperson_may_not_move_an_opportunity(client, salesperson):
    booked = make_opportunity()
    client.force_login(salesperson)

    response = client.post(reverse("service:advance", args=[booked.pk]), {"to_stage": "in_work"})

    assert response.status_code == 403
    booked.refresh_from_db()
    assert booked.stage == "booked"


# --- a new opportunity -----------------------------------------------------------------------

NEW = reverse("service:opportunity_new")


def new_booking(**fields):
    return {
        "first_name": "Nora",
        "last_name": "New",
        "email": "nora@example.com",
        "phone": "",
        "vin": "",
        "year": "2019",
        "make": "Kia",
        "model": "Ceed",
        "mileage": "",
        "source": "booking",
        "title": "Annual service",
        "items": "",
        "estimated_value": "350.00",
        "stage": "booked",
        "booked_for": f"{at_hour(10, days=1):%Y-%m-%dT%H:%M}",
        "advisor": "",
        **fields,
    }


def test_a_new_booking_makes_the_customer_the_car_and_the_opportunity(client, service_advisor):
    client.force_login(service_advisor)
    form = client.get(NEW).context["form"]
    assert form["advisor"].value() == service_advisor.pk  # me, as I advise

    response = client.post(NEW, new_booking(advisor=service_advisor.pk))

    opportunity = ServiceOpportunity.objects.get()
    assert response["Location"] == page_url(opportunity)
    assert (opportunity.customer.email, str(opportunity.vehicle)) == (
        "nora@example.com",
        "2019 Kia Ceed",
    )
    assert (opportunity.stage, opportunity.estimated_value, opportunity.advisor) == (
        "booked",
        Decimal("350.00"),
        service_advisor,
    )
    assert opportunity.booked_for == at_hour(10, days=1)
    assert opportunity.vehicle.owner == opportunity.customer


def test_a_known_customer_is_preselected_with_their_cars(client, service_advisor, maria, old_car):
    client.force_login(service_advisor)

    page = client.get(f"{NEW}?customer={maria.pk}")
    assert "Maria Lopez" in page.content.decode()
    assert page.context["form"].fields["vehicle"].choices[0] == (str(old_car.pk), "2012 Ford Focus")

    client.post(
        NEW,
        new_booking(customer=maria.pk, vehicle=old_car.pk, stage="checked_in", source="visit",
                    booked_for="", title="Walk-in: brakes squeal"),
    )  # fmt: skip

    opportunity = ServiceOpportunity.objects.get()
    assert (opportunity.customer, opportunity.vehicle, opportunity.stage) == (
        maria,
        old_car,
        "checked_in",
    )
    assert opportunity.checked_in_at is not None
    assert Customer.objects.count() == 1 and Vehicle.objects.count() == 1


def test_a_refused_opportunity_leaves_no_customer_or_car_behind(
    client, service_advisor, monkeypatch
):
    def refuse(**kwargs):
        raise InvalidOpportunity("The workshop is closed for inventory that day.")

    monkeypatch.setattr(services, "opportunity_create", refuse)
    client.force_login(service_advisor)

    response = client.post(NEW, new_booking())

    assert response.status_code == 422
    assert "The workshop is closed for inventory that day." in response.content.decode()
    assert not Customer.objects.exists() and not Vehicle.objects.exists()


def test_a_bad_phone_is_refused_in_the_services_words(client, service_advisor):
    client.force_login(service_advisor)

    response = client.post(NEW, new_booking(email="", phone="12"))

    assert response.status_code == 422
    assert "phone &#x27;12&#x27; is not a valid phone number" in response.content.decode()
    assert not ServiceOpportunity.objects.exists()


def test_a_booking_needs_its_appointment_and_a_customer_their_contact(client, service_advisor):
    client.force_login(service_advisor)

    response = client.post(NEW, new_booking(email="", booked_for=""))

    assert response.status_code == 422
    assert response.context["form"].errors == {
        "email": ["Give the customer's e-mail address or phone number."],
        "booked_for": ["A booking needs the appointment's date and time."],
    }


def test_a_salesperson_may_not_open_an_opportunity(client, salesperson):
    client.force_login(salesperson)

    assert client.get(NEW).status_code == 403


# --- the list --------------------------------------------------------------------------------

LIST = reverse("service:opportunities")


def test_the_list_filters_by_stage_and_shows_money_only_to_who_may_see_it(
    client, service_advisor, salesperson
):
    in_work = make_opportunity(CustomerFactory(first_name="Walt"), stage="in_work", value="910")
    make_opportunity(CustomerFactory(first_name="Bea"), value="120")
    client.force_login(service_advisor)

    response = client.get(f"{LIST}?stage=in_work")

    assert list(response.context["page"]) == [in_work]
    assert "$910.00" in response.content.decode()
    fragment = client.get(f"{LIST}?stage=in_work", HTTP_HX_TARGET="opportunity-results", **HTMX)
    assert fragment.content.decode().lstrip().startswith('<section id="opportunity-results"')

    client.force_login(salesperson)
    html = client.get(LIST).content.decode()
    assert "Walt" in html and "Bea" in html and "$" not in html and "910" not in html


def test_the_list_is_paginated(client, service_advisor):
    for _ in range(51):
        make_opportunity()
    client.force_login(service_advisor)

    first, second = client.get(LIST), client.get(f"{LIST}?page=2")

    assert (len(first.context["page"]), len(second.context["page"])) == (50, 1)
    assert "Page 1 of 2" in first.content.decode()


# --- queries ---------------------------------------------------------------------------------


def test_the_opportunity_page_runs_a_fixed_number_of_queries(
    client, service_advisor, visit, django_assert_num_queries
):
    # More of everything than the fixture made: the counts must not follow the rows.
    loss = loss_log(opportunity=visit, event="scope_reduced", reason="no_capacity",
                    amount="25.00", by=service_advisor)  # fmt: skip
    loss_parts_arrived(loss=loss, by=service_advisor)
    issue_open(customer=visit.customer, kind="service", summary="Waited an hour",
               by=service_advisor)  # fmt: skip
    client.force_login(service_advisor)
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the opportunity with its
    # customer, car, advisor, the loss it wins back and the sales lead with its owner, 6 its
    # losses with reasons and who logged them, 7 their follow-ups with assignee and booking,
    # 8 the follow-ups made at this visit (declined before) with their loss, customer and car,
    # 9 the customer's open issues with their car, 10 the history with its people, 11 the
    # reasons of the loss forms.
    with django_assert_num_queries(11):
        response = client.get(page_url(visit))

    assert len(response.context["page"].losses) == 2
    assert len(response.context["page"].open_issues) == 2


def test_the_opportunity_page_of_a_salesperson_reads_less(
    client, salesperson, visit, django_assert_num_queries
):
    client.force_login(salesperson)
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the opportunity, 6 the
    # customer's open issues, 7 the history: no losses, follow-ups or reasons.
    with django_assert_num_queries(7):
        client.get(page_url(visit))


def test_the_list_runs_a_fixed_number_of_queries(
    client, service_advisor, visit, django_assert_num_queries
):
    for number in range(5):
        make_opportunity(advisor=service_advisor, vehicle=Vehicle.objects.create(make=f"M{number}"))
    client.force_login(service_advisor)
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the paginator's count,
    # 6 the page with customers, cars and advisors, 7 the advisors of the filter.
    with django_assert_num_queries(7):
        response = client.get(LIST)

    assert len(response.context["page"]) == 7
    assert re.search(r"7 opportunities", response.content.decode())
