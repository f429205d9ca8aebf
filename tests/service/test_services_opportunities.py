"""Opening and moving service opportunities: stages, visits, the customer's declined work shown
at check-in, and old or high-mileage cars handed to sales."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from dealercrm.errors import InvalidContactDetail
from dealercrm.models import Customer, Notification, Vehicle
from leads.models import FollowUpTask, Lead
from service.errors import InvalidOpportunity, InvalidStage, OpportunityClosed
from service.models import Recapture, ServiceOpportunity, ServiceSettings
from service.services import (
    customer_for_service,
    loss_log,
    opportunity_advance,
    opportunity_open,
    vehicle_for_customer,
)
from tests.factories import CustomerFactory, make_lead, make_opportunity

NOW = datetime(2026, 11, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def customer(db):
    return CustomerFactory(first_name="Maria", last_name="Lopez", email="maria@example.com")


@pytest.fixture
def old_car(customer):
    return Vehicle.objects.create(
        year=2016, make="Ford", model="Focus", mileage=90_000, owner=customer
    )


def test_stages_move_forward_and_may_skip_but_never_go_back(customer, service_advisor):
    opportunity = make_opportunity(customer, advisor=service_advisor, at=NOW)

    opportunity_advance(opportunity=opportunity, to_stage="in_work", by=service_advisor, at=NOW)
    with pytest.raises(InvalidStage, match="in work cannot move to 'booked': stages only move"):
        opportunity_advance(opportunity=opportunity, to_stage="booked", by=service_advisor)
    with pytest.raises(InvalidStage, match="'parked' is not a stage"):
        opportunity_advance(opportunity=opportunity, to_stage="parked", by=service_advisor)

    opportunity.refresh_from_db()
    # Skipping check-in still makes it a visit.
    assert (opportunity.stage, opportunity.checked_in_at) == ("in_work", NOW)


def test_a_lost_opportunity_moves_no_more(customer, service_advisor):
    opportunity = make_opportunity(customer, advisor=service_advisor)
    loss_log(opportunity=opportunity, event="no_show", reason="no_show", by=service_advisor)

    with pytest.raises(OpportunityClosed, match="is lost; it moves no more"):
        opportunity_advance(opportunity=opportunity, to_stage="checked_in", by=service_advisor)


def test_an_opportunity_needs_a_title_a_known_source_a_sane_value_and_an_advisor(
    customer, salesperson
):
    with pytest.raises(InvalidOpportunity, match="'garage' is not a source"):
        make_opportunity(customer, source="garage")
    with pytest.raises(InvalidOpportunity, match="Say what the work is"):
        make_opportunity(customer, title=" ")
    with pytest.raises(InvalidOpportunity, match="estimated value 'lots' is not an amount"):
        make_opportunity(customer, value="lots")
    with pytest.raises(InvalidOpportunity, match="is not an active service advisor"):
        make_opportunity(customer, advisor=salesperson)
    assert not ServiceOpportunity.objects.exists()


def test_a_check_in_shows_the_customers_declined_work_to_the_advisor(customer, service_advisor):
    earlier = make_opportunity(customer, source="quote", stage="planned", value="640",
                               title="Front brakes", advisor=service_advisor,
                               at=datetime(2026, 9, 1, 10, tzinfo=UTC))  # fmt: skip
    loss_log(opportunity=earlier, event="quote_declined", reason="price_too_high",
             declined_items=["Front brake pads and discs"], by=service_advisor,
             at=datetime(2026, 9, 3, 10, tzinfo=UTC))  # fmt: skip

    visit = make_opportunity(customer, advisor=service_advisor, title="Oil change", at=NOW)
    opportunity_advance(opportunity=visit, to_stage="checked_in", by=service_advisor, at=NOW)
    opportunity_advance(opportunity=visit, to_stage="in_work", by=service_advisor, at=NOW)

    shown = Recapture.objects.get()
    assert (shown.kind, shown.visit, shown.assignee, shown.due_on) == (
        "check_in",
        visit,
        service_advisor,
        NOW.date(),
    )
    assert shown.summary == (
        "Checked in today; quote declined on Sep 3: Front brake pads and discs ($640.00)"
    )
    assert list(earlier.events.values_list("kind", flat=True)) == ["created", "loss", "recapture"]
    assert Notification.objects.get(kind="service_recapture").message == (
        f"Maria Lopez: {shown.summary}"
    )


def test_a_walk_in_is_a_visit_at_once(customer, service_advisor):
    earlier = make_opportunity(customer, advisor=service_advisor, value="90")
    loss_log(opportunity=earlier, event="no_show", reason="no_show", by=service_advisor)

    walk_in = make_opportunity(
        customer, source="visit", stage="checked_in", advisor=service_advisor
    )

    assert walk_in.checked_in_at is not None
    assert Recapture.objects.get().visit == walk_in


def test_a_visit_in_an_old_car_makes_a_sales_lead_for_the_previous_salesperson(
    customer, old_car, salesperson, service_advisor
):
    make_lead("sold", owner=salesperson, customer=customer)
    visit = make_opportunity(customer, vehicle=old_car, advisor=service_advisor, at=NOW)

    opportunity_advance(opportunity=visit, to_stage="checked_in", mileage=131_000,
                        by=service_advisor, at=NOW)  # fmt: skip

    lead = Lead.objects.get(source="service")
    visit.refresh_from_db()
    old_car.refresh_from_db()
    assert (visit.sales_lead, lead.owner, lead.channel) == (lead, salesperson, "service")
    assert old_car.mileage == 131_000
    why = "In for service with a 2016 Ford Focus (10 years old, 131,000 km)"
    assert FollowUpTask.objects.get(lead=lead).title == f"{why}: talk about the next car"
    assert visit.events.filter(kind="sales_lead").get().summary == f"Sales lead made: {why}"

    # Moving on in the same visit makes no second lead.
    opportunity_advance(opportunity=visit, to_stage="in_work", by=service_advisor, at=NOW)
    assert Lead.objects.filter(source="service").count() == 1


def test_a_newer_car_under_the_mileage_makes_no_sales_lead(customer, service_advisor):
    car = Vehicle.objects.create(year=2023, make="Kia", model="EV6", mileage=30_000, owner=customer)
    visit = make_opportunity(customer, vehicle=car, advisor=service_advisor, at=NOW)

    opportunity_advance(opportunity=visit, to_stage="checked_in", by=service_advisor, at=NOW)

    assert not Lead.objects.filter(source="service").exists()


def test_the_thresholds_come_from_the_settings_and_zero_turns_one_off(
    customer, old_car, service_advisor
):
    ServiceSettings.objects.update_or_create(
        pk=1, defaults={"sales_lead_vehicle_age_years": 0, "sales_lead_mileage_km": 80_000}
    )
    visit = make_opportunity(customer, vehicle=old_car, advisor=service_advisor, at=NOW)

    opportunity_advance(opportunity=visit, to_stage="checked_in", by=service_advisor, at=NOW)

    assert Lead.objects.get(source="service").comments == (
        "In for service with a 2016 Ford Focus (90,000 km)"
    )


def test_a_customer_with_an_open_lead_gets_a_task_on_it_instead(
    customer, old_car, salesperson, service_advisor
):
    open_lead = make_lead("contacted", owner=salesperson, customer=customer)
    visit = make_opportunity(customer, vehicle=old_car, advisor=service_advisor, at=NOW)

    opportunity_advance(opportunity=visit, to_stage="checked_in", by=service_advisor, at=NOW)

    visit.refresh_from_db()
    assert visit.sales_lead == open_lead
    assert Lead.objects.count() == 1
    assert open_lead.tasks.filter(title__startswith="In for service").count() == 1


def test_a_resent_booking_opens_nothing_and_a_later_stage_moves_it_on(customer, service_advisor):
    fields = {"customer": customer, "title": "Service A", "estimated_value": "210"}

    first, created = opportunity_open(source="booking", external_id="DMS-1", by="api:dms",
                                         **fields)  # fmt: skip
    again, created_again = opportunity_open(source="booking", external_id="DMS-1",
                                               by="api:dms", **fields)  # fmt: skip
    moved, _ = opportunity_open(source="booking", external_id="DMS-1", stage="checked_in",
                                   by="api:dms", **fields)  # fmt: skip

    assert (created, created_again, again.pk, moved.pk) == (True, False, first.pk, first.pk)
    assert ServiceOpportunity.objects.count() == 1
    assert moved.stage == "checked_in"
    assert list(first.events.values_list("actor_label", flat=True)) == ["api:dms", "api:dms"]


def test_a_service_customer_is_matched_by_email_then_phone(customer):
    assert customer_for_service(email=" Maria@Example.com ") == customer
    assert customer_for_service(first_name="New", phone="(212) 555-0143").phone == "+12125550143"
    assert Customer.objects.count() == 2
    with pytest.raises(InvalidOpportunity, match="needs an e-mail address or a phone number"):
        customer_for_service(first_name="Nobody")
    with pytest.raises(InvalidContactDetail, match="not a valid e-mail"):
        customer_for_service(email="maria@")


def test_a_vehicle_is_found_by_vin_and_changes_hands(customer, old_car):
    old_car.vin = "1FADP3F20GL123456"
    old_car.save()
    buyer = CustomerFactory()

    found = vehicle_for_customer(customer=buyer, vin="1fadp3f20gl123456", mileage=95_000)

    assert (found, found.owner, found.mileage) == (old_car, buyer, 95_000)
    same = vehicle_for_customer(customer=customer, year=2021, make="Kia", model="Niro")
    assert vehicle_for_customer(customer=customer, year=2021, make="kia", model="niro") == same
    assert vehicle_for_customer(customer=customer) is None
    assert Decimal(Vehicle.objects.count()) == 2
