"""Logging a lost service sale: what it does to the opportunity, its money and its history, and
what it refuses."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from dealercrm.errors import DomainError
from dealercrm.models import Role
from leads.models import Reason
from service.errors import InvalidLoss, OpportunityClosed
from service.models import ServiceEvent, ServiceLoss, ServiceOpportunity, ServiceSettings
from service.services import loss_log, opportunity_advance
from tests.factories import make_opportunity, make_staff

NOW = datetime(2026, 11, 10, 9, 30, tzinfo=UTC)


@pytest.fixture
def booking(service_advisor):
    return make_opportunity(advisor=service_advisor, value="480.00", title="Brakes and oil", at=NOW)


def loss_events(opportunity):
    return list(
        ServiceEvent.objects.filter(opportunity=opportunity, kind="loss").values_list(
            "summary", flat=True
        )
    )


def test_a_no_show_closes_the_opportunity_and_loses_its_whole_value(booking, service_advisor):
    loss = loss_log(
        opportunity=booking, event="no_show", reason="no_show", by=service_advisor, at=NOW
    )

    booking.refresh_from_db()
    assert (booking.status, booking.closed_at) == ("lost", NOW)
    assert (loss.amount, loss.whole, loss.reason.code) == (Decimal("480.00"), True, "no_show")
    assert (loss.logged_by, loss.advisor, loss.at) == (service_advisor, service_advisor, NOW)
    assert loss.recovery == "pending"
    # A missed appointment is rebooked after the settings' days (2 by default).
    assert loss.follow_up_on == date(2026, 11, 12)
    assert loss_events(booking) == ["No-show (No-show): $480.00 lost"]


def test_a_reduced_scope_keeps_the_opportunity_open_at_a_lower_value(booking, service_advisor):
    opportunity_advance(opportunity=booking, to_stage="checked_in", by=service_advisor, at=NOW)

    loss = loss_log(
        opportunity=booking,
        event="scope_reduced",
        reason="price_too_high",
        amount="180",
        declined_items=["Rear brake discs"],
        by=service_advisor,
        at=NOW,
    )

    booking.refresh_from_db()
    assert (booking.status, booking.estimated_value) == ("open", Decimal("300.00"))
    assert booking.initial_value == Decimal("480.00")  # the money at stake stays as it was
    assert (loss.whole, loss.declined_items) == (False, [{"description": "Rear brake discs"}])
    # Declined work is offered again after the settings' days (30 by default).
    assert loss.follow_up_on == date(2026, 12, 10)
    assert loss_events(booking) == [
        "Scope reduced (Price too high): $180.00 lost, $300.00 still open"
    ]


def test_part_of_a_quote_declined_is_a_partial_loss_and_all_of_it_a_whole_one(service_advisor):
    quote = make_opportunity(source="quote", stage="planned", value="1000", advisor=service_advisor)

    loss_log(opportunity=quote, event="quote_declined", reason="competitor_offer", amount="400",
             by=service_advisor)  # fmt: skip
    quote.refresh_from_db()
    assert (quote.status, quote.estimated_value) == ("open", Decimal("600.00"))

    last = loss_log(opportunity=quote, event="quote_declined", reason="price_too_high",
                    by=service_advisor)  # fmt: skip
    quote.refresh_from_db()
    assert (quote.status, last.amount, last.whole) == ("lost", Decimal("600.00"), True)
    assert quote.losses.count() == 2


def test_a_cancelled_order_closes_it_even_for_part_of_the_money(booking, service_advisor):
    opportunity_advance(opportunity=booking, to_stage="in_work", by=service_advisor, at=NOW)

    loss = loss_log(opportunity=booking, event="order_cancelled", reason="missing_parts",
                    amount="300", by=service_advisor)  # fmt: skip

    booking.refresh_from_db()
    assert (booking.status, loss.whole, loss.amount) == ("lost", True, Decimal("300.00"))


@pytest.mark.parametrize(
    ("event", "reason", "amount", "stage", "message"),
    [
        ("no_show", "no_show", None, "checked_in", "there is no appointment to miss"),
        ("quote_declined", "price_too_high", "480.01", "booked", "more than the work is worth"),
        ("scope_reduced", "price_too_high", "480", "booked", "must be below $480.00"),
        ("quote_declined", "bought_elsewhere", None, "booked", "not a reason for a lost service"),
        ("quote_declined", "other", None, "booked", "needs a note"),
        ("lost_interest", "no_show", None, "booked", "'lost_interest' is not a kind of loss"),
        ("quote_declined", "price_too_high", "-5", "booked", "must be zero or more"),
    ],
)
def test_a_loss_that_does_not_fit_is_refused_naming_why_and_writes_nothing(
    booking, service_advisor, event, reason, amount, stage, message
):
    if stage != "booked":
        opportunity_advance(opportunity=booking, to_stage=stage, by=service_advisor, at=NOW)

    with pytest.raises(DomainError) as refused:
        loss_log(opportunity=booking, event=event, reason=reason, amount=amount,
                 by=service_advisor)  # fmt: skip

    assert message in str(refused.value)
    booking.refresh_from_db()
    assert (booking.status, booking.estimated_value) == ("open", Decimal("480.00"))
    assert not ServiceLoss.objects.exists()
    assert loss_events(booking) == []


def test_a_sales_reason_is_refused_even_as_an_object(booking, service_advisor):
    sales_reason = Reason.objects.get(kind="lost", code="bought_elsewhere")

    with pytest.raises(InvalidLoss, match="not a reason for a lost service sale"):
        loss_log(opportunity=booking, event="no_show", reason=sales_reason, by=service_advisor)


def test_a_closed_opportunity_takes_no_more_losses(booking, service_advisor):
    loss_log(opportunity=booking, event="appointment_cancelled", reason="customer_postponed",
             by=service_advisor)  # fmt: skip

    with pytest.raises(OpportunityClosed, match="lost; a loss is logged on open work only"):
        loss_log(opportunity=booking, event="no_show", reason="no_show", by=service_advisor)
    assert ServiceLoss.objects.count() == 1


def test_other_with_a_note_is_kept_in_the_history(booking, service_advisor):
    loss_log(opportunity=booking, event="appointment_cancelled", reason="other",
             note="Car was sold privately", by=service_advisor)  # fmt: skip

    assert loss_events(booking) == [
        "Appointment cancelled (Other): $480.00 lost. Car was sold privately"
    ]


def test_the_loss_counts_against_the_advisor_who_had_the_opportunity(booking, service_advisor):
    manager = make_staff(Role.SERVICE_MANAGER, service_advisor.staff.team)

    loss = loss_log(opportunity=booking, event="no_show", reason="no_show", by=manager)

    assert (loss.logged_by, loss.advisor) == (manager, service_advisor)


def test_the_follow_up_days_come_from_the_settings(booking, service_advisor):
    ServiceSettings.objects.update_or_create(pk=1, defaults={"rebook_after_days": 5})

    loss = loss_log(opportunity=booking, event="no_show", reason="no_show", by=service_advisor,
                    at=NOW)  # fmt: skip

    assert loss.follow_up_on == date(2026, 11, 15)


def test_delivering_wins_the_opportunity_at_its_invoiced_value(booking, service_advisor):
    opportunity_advance(opportunity=booking, to_stage="checked_in", by=service_advisor, at=NOW)
    opportunity_advance(
        opportunity=booking, to_stage="delivered", actual_value="512.40", by=service_advisor, at=NOW
    )

    booking.refresh_from_db()
    assert (booking.status, booking.actual_value, booking.delivered_at) == (
        ServiceOpportunity.Status.WON,
        Decimal("512.40"),
        NOW,
    )
    assert list(booking.events.values_list("summary", flat=True)) == [
        "Opened from booking: Brakes and oil",
        "Booked → Checked in",
        "Checked in → Delivered, invoiced $512.40",
    ]


def test_a_delivered_job_is_still_followed_up_and_stays_won(booking, service_advisor):
    opportunity_advance(opportunity=booking, to_stage="delivered", by=service_advisor, at=NOW)

    opportunity_advance(opportunity=booking, to_stage="followed_up", by=service_advisor, at=NOW)

    booking.refresh_from_db()
    assert (booking.stage, booking.status, booking.actual_value) == (
        "followed_up", "won", Decimal("480.00")
    )  # fmt: skip
    with pytest.raises(OpportunityClosed, match="is delivered; it moves no more"):
        opportunity_advance(opportunity=booking, to_stage="quality_check", by=service_advisor)


def test_a_loss_is_logged_by_a_person(booking):
    with pytest.raises(DomainError, match="A lost sale is recorded by a person, not by 'api:dms'"):
        loss_log(opportunity=booking, event="no_show", reason="no_show", by="api:dms")
