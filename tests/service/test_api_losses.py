"""What advisors record on an opportunity through the API: a lost sale (whole or in part), a move
to a later stage, the parts that arrived for declined work."""

import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from service.models import Recapture, ServiceLoss, ServiceOpportunity
from service.services import loss_log, opportunity_advance
from tests.factories import make_opportunity


def losses_url(opportunity):
    return f"/api/v1/service/opportunities/{opportunity.pk}/losses/"


def advance_url(opportunity):
    return f"/api/v1/service/opportunities/{opportunity.pk}/advance/"


def parts_url(loss):
    return f"/api/v1/service/losses/{loss.pk}/parts-arrived/"


def post(client, url, body=None):
    return client.post(url, json.dumps(body or {}), content_type="application/json")


@pytest.fixture
def booking(service_advisor):
    return make_opportunity(advisor=service_advisor, value="400.00", title="Brakes and oil")


@pytest.fixture
def advisor_client(client, service_advisor):
    client.force_login(service_advisor)
    return client


# --- losses ------------------------------------------------------------------------------------


def test_a_no_show_closes_the_opportunity_and_loses_its_whole_value(
    advisor_client, booking, service_advisor
):
    response = post(advisor_client, losses_url(booking), {"event": "no_show", "reason": "no_show"})

    assert response.status_code == 201, response.content
    loss = ServiceLoss.objects.get()
    today = timezone.localdate()
    assert response.json() == {
        "id": loss.pk,
        "event": "no_show",
        "reason": {"code": "no_show", "label": "No-show"},
        "note": "",
        "amount": "400.00",
        "whole": True,
        "declined_items": [],
        "at": response.json()["at"],
        "logged_by": "Erin erin",
        "recovery": "pending",
        "follow_up_on": (today + timedelta(days=2)).isoformat(),
        "parts_arrived_at": None,
        "opportunity": {"id": booking.pk, "status": "lost", "estimated_value": "400.00"},
    }
    booking.refresh_from_db()
    assert (booking.status, loss.logged_by, loss.advisor) == (
        "lost",
        service_advisor,
        service_advisor,
    )


def test_a_reduced_scope_keeps_the_opportunity_open_at_a_lower_value(
    advisor_client, booking, service_advisor
):
    opportunity_advance(opportunity=booking, to_stage="checked_in", by=service_advisor)

    response = post(
        advisor_client,
        losses_url(booking),
        {
            "event": "scope_reduced",
            "reason": "price_too_high",
            "amount": "150",
            "note": "Only the oil this time.",
            "declined_items": ["Rear discs", {"description": "Wipers", "amount": "30"}],
        },
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["amount"], body["whole"]) == ("150.00", False)
    assert body["reason"] == {"code": "price_too_high", "label": "Price too high"}
    assert body["opportunity"] == {"id": booking.pk, "status": "open", "estimated_value": "250.00"}
    assert body["declined_items"] == [
        {"description": "Rear discs"},
        {"description": "Wipers", "amount": "30.00"},
    ]
    assert body["follow_up_on"] == (timezone.localdate() + timedelta(days=30)).isoformat()
    booking.refresh_from_db()
    assert (booking.status, booking.estimated_value, booking.initial_value) == (
        "open",
        Decimal("250.00"),
        Decimal("400.00"),
    )
    assert ServiceLoss.objects.get().note == "Only the oil this time."


def test_a_declined_quote_without_an_amount_loses_the_current_estimate(advisor_client, booking):
    response = post(
        advisor_client,
        losses_url(booking),
        {"event": "quote_declined", "reason": "competitor_offer"},
    )

    assert response.status_code == 201
    assert (response.json()["amount"], response.json()["whole"]) == ("400.00", True)
    assert response.json()["opportunity"]["status"] == "lost"


def test_a_loss_on_a_closed_opportunity_is_refused_with_the_services_words(
    advisor_client, booking, service_advisor
):
    loss_log(opportunity=booking, event="no_show", reason="no_show", by=service_advisor)

    response = post(
        advisor_client, losses_url(booking), {"event": "order_cancelled", "reason": "no_contact"}
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "This opportunity is lost; a loss is logged on open work only."
    }
    assert ServiceLoss.objects.count() == 1


def test_an_unknown_reason_is_refused_with_the_reasons_to_use(advisor_client, booking):
    response = post(
        advisor_client, losses_url(booking), {"event": "no_show", "reason": "bad_weather"}
    )

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("'bad_weather' is not a reason for a lost service sale; use ")
    assert "price_too_high" in detail
    assert ServiceLoss.objects.count() == 0


def test_an_amount_above_what_the_work_is_worth_is_refused(advisor_client, booking):
    response = post(
        advisor_client,
        losses_url(booking),
        {"event": "quote_declined", "reason": "price_too_high", "amount": "900"},
    )

    assert response.status_code == 400
    assert response.json() == {
        "detail": "The amount lost ($900.00) is more than the work is worth ($400.00)."
    }
    booking.refresh_from_db()
    assert (booking.status, booking.estimated_value) == ("open", Decimal("400.00"))


def test_a_reason_that_needs_a_note_is_refused_without_one(advisor_client, booking):
    response = post(advisor_client, losses_url(booking), {"event": "no_show", "reason": "other"})

    assert response.status_code == 400
    assert response.json() == {"detail": "Reason 'Other' needs a note saying what happened."}


def test_bad_fields_are_named_and_nothing_is_logged(advisor_client, booking):
    response = post(
        advisor_client,
        losses_url(booking),
        {
            "event": "hail",
            "amount": "-1",
            "declined_items": ["Wipers", {"amount": "5"}, 7],
        },
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {"event", "reason", "amount", "declined_items"}
    assert errors["declined_items"] == {
        "1": {"description": ["This field is required."]},
        "2": ["A declined item is a string or a {description, amount} object."],
    }
    assert ServiceLoss.objects.count() == 0


def test_a_salesperson_and_a_lead_provider_may_not_log_a_loss(
    client, salesperson, provider_api, booking
):
    client.force_login(salesperson)
    body = {"event": "no_show", "reason": "no_show"}

    assert post(client, losses_url(booking), body).status_code == 403
    assert post(provider_api, losses_url(booking), body).status_code == 403
    assert ServiceLoss.objects.count() == 0


def test_a_loss_on_a_missing_opportunity_answers_404(advisor_client, db):
    missing = ServiceOpportunity(pk=999999)

    response = post(advisor_client, losses_url(missing), {"event": "no_show", "reason": "no_show"})

    assert response.status_code == 404


def test_a_service_manager_logs_losses_too(client, service_manager, booking):
    client.force_login(service_manager)

    response = post(client, losses_url(booking), {"event": "no_show", "reason": "no_contact"})

    assert response.status_code == 201
    assert response.json()["logged_by"] == "Sam sam"


# --- stages ------------------------------------------------------------------------------------


def test_delivering_wins_the_opportunity_at_the_invoiced_value(advisor_client, booking):
    response = post(
        advisor_client,
        advance_url(booking),
        {"stage": "delivered", "actual_value": "455.5", "mileage": 84262},
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["stage"], body["status"], body["actual_value"], body["mileage"]) == (
        "delivered",
        "won",
        "455.50",
        84262,
    )
    assert body["history"][-1]["summary"] == "Booked → Delivered, invoiced $455.50"
    booking.refresh_from_db()
    assert (booking.status, booking.actual_value) == ("won", Decimal("455.50"))


def test_a_stage_that_is_not_ahead_is_refused(advisor_client, booking):
    response = post(advisor_client, advance_url(booking), {"stage": "planned"})

    assert response.status_code == 400
    assert response.json() == {
        "detail": "An opportunity booked cannot move to 'planned': stages only move forward."
    }


def test_an_unknown_stage_is_named(advisor_client, booking):
    response = post(advisor_client, advance_url(booking), {"stage": "washed"})

    assert response.status_code == 400
    assert set(response.json()) == {"stage"}


def test_a_salesperson_may_not_move_an_opportunity(client, salesperson, booking):
    client.force_login(salesperson)

    assert post(client, advance_url(booking), {"stage": "checked_in"}).status_code == 403
    booking.refresh_from_db()
    assert booking.stage == "booked"


# --- parts arrived -----------------------------------------------------------------------------


@pytest.fixture
def waiting_for_parts(booking, service_advisor):
    opportunity_advance(opportunity=booking, to_stage="checked_in", by=service_advisor)
    return loss_log(
        opportunity=booking,
        event="scope_reduced",
        reason="missing_parts",
        amount="120",
        declined_items=["Rear brake discs"],
        by=service_advisor,
    )


def test_parts_arriving_bring_the_declined_work_back_once(
    advisor_client, waiting_for_parts, service_advisor
):
    first = post(advisor_client, parts_url(waiting_for_parts))
    again = post(advisor_client, parts_url(waiting_for_parts))

    recapture = Recapture.objects.get()
    assert first.status_code == again.status_code == 200
    assert first.json() == {
        "loss": waiting_for_parts.pk,
        "follow_up_made": True,
        "recapture": recapture.pk,
    }
    assert again.json() == {
        "loss": waiting_for_parts.pk,
        "follow_up_made": False,
        "recapture": None,
    }
    assert (recapture.kind, recapture.assignee) == ("parts_arrived", service_advisor)
    waiting_for_parts.refresh_from_db()
    assert waiting_for_parts.parts_arrived_at is not None


def test_parts_arrived_needs_the_right_to_change_opportunities(
    client, salesperson, provider_api, waiting_for_parts
):
    client.force_login(salesperson)

    assert post(client, parts_url(waiting_for_parts)).status_code == 403
    assert post(provider_api, parts_url(waiting_for_parts)).status_code == 403
    assert Recapture.objects.count() == 0


def test_parts_arrived_for_a_missing_loss_answers_404(advisor_client, db):
    assert post(advisor_client, parts_url(ServiceLoss(pk=999999))).status_code == 404
