"""Lost service sales come back by themselves: missed appointments to rebook, declined work
offered again after its days, when its parts arrive and when a campaign fits it; once each.
Clock-controlled."""

import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection

from dealercrm.models import Notification, SweepRun, Vehicle
from dealercrm.schedules import sweep_run
from service.errors import RecaptureClosed
from service.models import Recapture, ServiceCampaign, ServiceEvent, ServiceLoss
from service.services import (
    loss_log,
    loss_parts_arrived,
    opportunity_advance,
    recapture_book,
    recapture_decline,
)
from service.tasks import recapture_sweep
from tests.factories import CustomerFactory, make_opportunity
from tests.leads.test_services_race import in_thread

LOST_AT = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)


@pytest.fixture
def customer(db):
    return CustomerFactory(first_name="Maria", last_name="Lopez")


@pytest.fixture
def no_show(customer, service_advisor):
    booking = make_opportunity(customer, advisor=service_advisor, value="260", title="Service B",
                               at=LOST_AT - timedelta(days=7))  # fmt: skip
    return loss_log(opportunity=booking, event="no_show", reason="no_show", by=service_advisor,
                    at=LOST_AT)  # fmt: skip


@pytest.fixture
def declined(customer, service_advisor):
    """Brakes declined on price at a visit: the car is a Ford."""
    car = Vehicle.objects.create(year=2019, make="Ford", model="Kuga", owner=customer)
    visit = make_opportunity(customer, vehicle=car, advisor=service_advisor, value="900",
                             title="Inspection", at=LOST_AT - timedelta(days=1))  # fmt: skip
    opportunity_advance(opportunity=visit, to_stage="in_work", by=service_advisor, at=LOST_AT)
    return loss_log(opportunity=visit, event="scope_reduced", reason="price_too_high",
                    amount="420", declined_items=["Rear brake pads and discs"],
                    by=service_advisor, at=LOST_AT)  # fmt: skip


def test_a_no_show_comes_back_to_rebook_after_two_days_once(no_show, service_advisor):
    assert recapture_sweep(LOST_AT + timedelta(days=1))["changed"] == 0

    result = recapture_sweep(LOST_AT + timedelta(days=2))
    again = recapture_sweep(LOST_AT + timedelta(days=2, hours=1))

    assert (result["rebook"], result["changed"], again["changed"]) == (1, 1, 0)
    rebook = Recapture.objects.get()
    assert (rebook.kind, rebook.assignee, rebook.due_on, rebook.status) == (
        "rebook",
        service_advisor,
        date(2026, 10, 3),
        "open",
    )
    assert rebook.summary == "No-show on Oct 1: rebook Service B ($260.00)"
    assert ServiceEvent.objects.filter(kind="recapture").get().summary == (
        f"Rebook the appointment: {rebook.summary}"
    )
    assert Notification.objects.filter(kind="service_recapture").count() == 1


def test_declined_work_comes_back_after_thirty_days(declined, service_advisor):
    assert recapture_sweep(LOST_AT + timedelta(days=29))["changed"] == 0

    assert recapture_sweep(LOST_AT + timedelta(days=30))["follow_up"] == 1

    follow_up = Recapture.objects.get()
    assert follow_up.summary == (
        "Declined on Oct 1 (price too high): Rear brake pads and discs ($420.00)"
    )


def test_parts_arriving_bring_the_work_back_at_once_and_once(customer, service_advisor):
    booking = make_opportunity(customer, advisor=service_advisor, value="700", title="Clutch")
    opportunity_advance(opportunity=booking, to_stage="in_work", by=service_advisor)
    loss = loss_log(opportunity=booking, event="order_cancelled", reason="missing_parts",
                    by=service_advisor)  # fmt: skip

    first = loss_parts_arrived(loss=loss, by=service_advisor)
    second = loss_parts_arrived(loss=loss, by=service_advisor)

    assert (first.kind, first.summary, second) == (
        "parts_arrived",
        "Parts are in: offer Clutch ($700.00) again",
        None,
    )
    assert list(booking.events.values_list("kind", flat=True)) == [
        "created", "stage", "loss", "parts_arrived", "recapture"
    ]  # fmt: skip


def test_a_running_campaign_reoffers_work_declined_on_price_once(declined, no_show):
    ServiceCampaign.objects.create(
        name="Brake week", offer="20% off brakes", makes="Ford, Mazda", keywords="brake",
        starts_on=date(2026, 10, 20), ends_on=date(2026, 10, 26),
    )  # fmt: skip
    ServiceCampaign.objects.create(
        name="Kia tyres", offer="4 for 3", makes="Kia", starts_on=date(2026, 10, 20),
        ends_on=date(2026, 10, 26),
    )  # fmt: skip

    assert recapture_sweep(datetime(2026, 10, 19, 9, tzinfo=UTC))["campaign"] == 0
    result = recapture_sweep(datetime(2026, 10, 21, 9, tzinfo=UTC))
    again = recapture_sweep(datetime(2026, 10, 22, 9, tzinfo=UTC))

    assert (result["campaign"], again["campaign"]) == (1, 0)
    offer = Recapture.objects.get(kind="campaign")
    assert offer.loss == declined
    assert offer.summary == (
        "Brake week: 20% off brakes. Declined on price: Rear brake pads and discs ($420.00)"
    )


def test_booking_a_follow_up_wins_the_sale_back_and_closes_its_other_follow_ups(
    declined, service_advisor
):
    recapture_sweep(LOST_AT + timedelta(days=30))
    loss_parts_arrived(loss=declined, by=service_advisor)
    follow_up, parts = Recapture.objects.order_by("id")
    when = datetime(2026, 11, 5, 8, tzinfo=UTC)

    booking = recapture_book(recapture=follow_up, by=service_advisor, booked_for=when)

    declined.refresh_from_db()
    follow_up.refresh_from_db()
    parts.refresh_from_db()
    assert (booking.recovers, booking.estimated_value, booking.stage) == (
        declined,
        Decimal("420.00"),
        "booked",
    )
    assert booking.items == [{"description": "Rear brake pads and discs"}]
    assert (declined.recovery, follow_up.status, follow_up.booking) == (
        "recovered",
        "booked",
        booking,
    )
    assert parts.status == "closed"
    with pytest.raises(RecaptureClosed, match="already closed"):
        recapture_decline(recapture=parts, by=service_advisor)
    # A won-back sale is not brought back again.
    assert recapture_sweep(LOST_AT + timedelta(days=400))["changed"] == 0


def test_declining_again_keeps_later_comebacks_unless_given_up(declined, no_show, service_advisor):
    recapture_sweep(LOST_AT + timedelta(days=30))
    follow_up = Recapture.objects.get(loss=declined)
    rebook = Recapture.objects.get(loss=no_show)

    recapture_decline(recapture=follow_up, by=service_advisor, note="Next spring")
    recapture_decline(recapture=rebook, by=service_advisor, give_up=True)

    declined.refresh_from_db()
    no_show.refresh_from_db()
    assert (declined.recovery, no_show.recovery) == ("pending", "given_up")
    assert loss_parts_arrived(loss=declined, by=service_advisor) is not None
    assert loss_parts_arrived(loss=no_show, by=service_advisor) is None
    assert declined.opportunity.events.filter(kind="recapture_done").get().summary == (
        "Follow up declined work: the customer declined again. Next spring"
    )


def test_the_sweep_runs_once_through_its_runner(no_show):
    result = sweep_run("service-recapture", now=LOST_AT + timedelta(days=3))

    run = SweepRun.objects.get(name="service-recapture")
    assert (result["changed"], run.status, run.changed) == (1, "done", 1)


def test_a_loss_whose_advisor_left_comes_back_to_nobody(no_show, service_advisor):
    service_advisor.staff.active = False
    service_advisor.staff.save()

    recapture_sweep(LOST_AT + timedelta(days=2))

    assert Recapture.objects.get().assignee is None
    assert not Notification.objects.filter(kind="service_recapture").exists()


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lock races run on PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_bring_each_loss_back_once(service_advisor):
    for n in range(8):
        booking = make_opportunity(advisor=service_advisor, value=str(100 + n), at=LOST_AT)
        loss_log(opportunity=booking, event="no_show", reason="no_show", by=service_advisor,
                 at=LOST_AT)  # fmt: skip
    start = threading.Barrier(2)

    def sweep():
        start.wait(30)
        return recapture_sweep(LOST_AT + timedelta(days=3))

    threads = [in_thread(sweep) for _ in range(2)]
    for thread, _ in threads:
        thread.join(120)

    results = [outcome["value"] for _, outcome in threads]
    assert sum(result["rebook"] for result in results) == 8
    assert Recapture.objects.count() == 8
    assert Notification.objects.filter(kind="service_recapture").count() == 8
    assert ServiceLoss.objects.filter(followed_up_at__isnull=True).count() == 0
