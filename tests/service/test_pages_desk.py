"""The advisor's desk and the follow-ups page: the day in four lists, a lost sale logged from its
row in three interactions (the loss, the reason, "Log loss"), follow-ups booked or declined from
their row; without JavaScript the same through plain pages and redirects."""

import re
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import Role
from service.models import Recapture, ServiceLoss, ServiceOpportunity
from service.services import loss_log, loss_parts_arrived, opportunity_advance
from tests.factories import CustomerFactory, make_opportunity, make_staff

HTMX = {"HTTP_HX_REQUEST": "true"}
DESK = reverse("service:desk")
FOLLOW_UPS = reverse("service:recaptures")


def today_at(hour, minute=0, days=0):
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


def customer(first, last):
    return CustomerFactory(first_name=first, last_name=last)


def appointment(first, last, hour, advisor=None, days=0, value="400.00", **fields):
    return make_opportunity(
        customer(first, last),
        advisor=advisor,
        value=value,
        booked_for=today_at(hour, days=days),
        **fields,
    )


def loss_url(opportunity, event, **query):
    params = "&".join(f"{key}={value}" for key, value in {"event": event, **query}.items())
    return f"{reverse('service:loss_log', args=[opportunity.pk])}?{params}"


def htmx_to(target):
    return {**HTMX, "HTTP_HX_TARGET": target}


def lost_sale(advisor, first="Lena", last="Lost", days_ago=0, by=None):
    """A declined quote whose parts have now arrived: an open follow-up due today (or
    `days_ago`), assigned to the opportunity's advisor (nobody's without one). `by` logs the
    loss (the advisor by default)."""
    quote = make_opportunity(
        customer(first, last), advisor=advisor, source="quote", stage="planned", value="240.00"
    )
    loss = loss_log(
        opportunity=quote,
        event="quote_declined",
        reason="missing_parts",
        by=by or advisor,
        declined_items=[{"description": "Front brake pads", "amount": "240.00"}],
    )
    return loss_parts_arrived(loss=loss, by="test", at=timezone.now() - timedelta(days=days_ago))


@pytest.fixture
def other_advisor(service_advisor):
    return make_staff(
        Role.SERVICE_ADVISOR, service_advisor.staff.team, username="omar", first_name="Omar"
    )


@pytest.fixture
def nobody(db):
    """An account with no role: no service permission at all."""
    return get_user_model().objects.create_user("visitor", password="x")


# --- what the desk shows ---------------------------------------------------------------------


def test_the_desk_lists_todays_appointments_by_time_quotes_the_workshop_and_follow_ups_due(
    client, service_advisor, other_advisor
):
    later = appointment("Nora", "Later", 14, advisor=service_advisor)
    sooner = appointment("Hugo", "Sooner", 9, advisor=other_advisor)
    appointment("Tom", "Tomorrow", 9, days=1)
    gone = appointment("Ludo", "Lost", 11)
    loss_log(
        opportunity=gone, event="appointment_cancelled", reason="no_capacity", by=other_advisor
    )
    quote = make_opportunity(customer("Quinn", "Quote"), source="quote", stage="planned")
    in_work = make_opportunity(customer("Walt", "Workshop"), stage="in_work", value="900.00")
    delivered = make_opportunity(customer("Dora", "Done"), stage="checked_in")
    opportunity_advance(opportunity=delivered, to_stage="delivered", by="test")
    mine = lost_sale(service_advisor, "Mia", "Mine")
    nobodys = lost_sale(None, "Nick", "Nobody", by=other_advisor)
    lost_sale(other_advisor, "Otto", "Other")
    tomorrow = lost_sale(service_advisor, "Tara", "Later")
    Recapture.objects.filter(pk=tomorrow.pk).update(due_on=timezone.localdate() + timedelta(1))
    client.force_login(service_advisor)

    response = client.get(DESK)

    assert response.status_code == 200
    desk = response.context["desk"]
    assert desk.appointments == [sooner, later]
    assert desk.quotes == [quote]
    assert desk.workshop == [in_work]
    assert desk.follow_ups == [mine, nobodys]
    page = response.content.decode()
    assert page.index("Hugo Sooner") < page.index("Nora Later")
    for absent in ("Tom Tomorrow", "Ludo Lost", "Dora Done", "Otto Other", "Tara Later"):
        assert absent not in page
    assert "$900.00" in page and "$400.00" in page


def test_each_row_offers_the_losses_that_fit_it(client, service_advisor):
    booked = appointment("Nora", "Noshow", 10)
    quote = make_opportunity(customer("Quinn", "Quote"), source="quote", stage="planned")
    in_work = make_opportunity(customer("Walt", "Workshop"), stage="in_work")
    client.force_login(service_advisor)

    response = client.get(DESK)

    buttons = {
        opportunity.pk: [event for event, _ in opportunity.loss_buttons]
        for rows in (response.context["desk"].appointments, response.context["desk"].quotes,
                     response.context["desk"].workshop)
        for opportunity in rows
    }  # fmt: skip
    assert buttons == {
        booked.pk: ["no_show", "appointment_cancelled"],
        quote.pk: ["quote_declined"],
        in_work.pk: ["order_cancelled", "scope_reduced"],
    }
    page = response.content.decode()
    # Each button is a link to the full-page form, so that it works without JavaScript.
    no_show = loss_url(booked, "no_show", next="/service/").replace("&", "&amp;")
    assert f'href="{no_show}"' in page and f'hx-get="{no_show}"' in page
    assert f'hx-target="#loss-slot-{booked.pk}"' in page


# --- logging a loss from a row ---------------------------------------------------------------


def test_a_no_show_takes_the_row_button_then_log_loss_with_the_reason_and_amount_preselected(
    client, service_advisor
):
    booked = appointment("Nora", "Noshow", 10, advisor=service_advisor, value="480.00")
    client.force_login(service_advisor)

    # 1. The row's "No-show" button: htmx swaps the inline form into the row.
    form = client.get(loss_url(booked, "no_show", next=DESK), **htmx_to(f"loss-slot-{booked.pk}"))

    assert form.status_code == 200
    html = form.content.decode()
    assert "<html" not in html
    assert f'hx-target="#desk-opp-{booked.pk}"' in html
    bound = form.context["form"]
    assert bound["reason"].value() == "no_show"  # 2. the obvious reason is picked already
    assert bound["amount"].value() == Decimal("480.00")
    assert [code for code, _ in bound.fields["reason"].choices] == [
        "no_show", "missing_parts", "no_capacity", "price_too_high", "competitor_offer",
        "no_contact", "customer_postponed", "other",
    ]  # fmt: skip
    assert "declined_items" not in bound.fields  # nothing was declined: the car did not come

    # 3. "Log loss": the row becomes the loss.
    response = client.post(
        reverse("service:loss_log", args=[booked.pk]),
        {"event": "no_show", "reason": "no_show", "amount": "480.00", "note": "", "next": DESK},
        **htmx_to(f"desk-opp-{booked.pk}"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert f'id="desk-opp-{booked.pk}"' in html
    assert "Lost: $480.00 — No-show" in html
    loss = ServiceLoss.objects.get(opportunity=booked)
    assert (loss.event, loss.reason.code, loss.amount) == ("no_show", "no_show", Decimal("480.00"))
    assert (loss.logged_by, loss.whole) == (service_advisor, True)
    booked.refresh_from_db()
    assert booked.status == ServiceOpportunity.Status.LOST


def test_a_declined_quote_prefills_the_work_declined_from_the_quotes_lines(client, service_advisor):
    quote = make_opportunity(
        customer("Quinn", "Quote"),
        source="quote",
        stage="planned",
        value="640.00",
        items=[
            {"description": "Front brake pads", "amount": "240.00"},
            {"description": "Brake discs", "amount": "400.00"},
        ],
    )
    client.force_login(service_advisor)

    form = client.get(loss_url(quote, "quote_declined"), **HTMX).context["form"]

    assert form["declined_items"].value() == "Front brake pads — 240.00\nBrake discs — 400.00"
    assert form["reason"].value() == ""  # no obvious reason: the advisor picks one
    response = client.post(
        reverse("service:loss_log", args=[quote.pk]),
        {
            "event": "quote_declined",
            "reason": "price_too_high",
            "amount": "640.00",
            "declined_items": form["declined_items"].value(),
        },
        **htmx_to(f"desk-opp-{quote.pk}"),
    )

    assert "Lost: $640.00 — Price too high" in response.content.decode()
    loss = ServiceLoss.objects.get(opportunity=quote)
    assert loss.declined_items == [
        {"description": "Front brake pads", "amount": "240.00"},
        {"description": "Brake discs", "amount": "400.00"},
    ]


def test_a_reduced_scope_loses_part_of_the_estimate_and_the_row_says_what_is_left(
    client, service_advisor
):
    in_work = make_opportunity(customer("Walt", "Workshop"), stage="in_work", value="400.00")
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:loss_log", args=[in_work.pk]),
        {"event": "scope_reduced", "reason": "price_too_high", "amount": "150"},
        **htmx_to(f"desk-opp-{in_work.pk}"),
    )

    assert "Lost: $150.00 — Price too high · $250.00 still open" in response.content.decode()
    in_work.refresh_from_db()
    assert (in_work.status, in_work.estimated_value) == ("open", Decimal("250.00"))


def test_a_reason_that_needs_a_note_is_refused_in_the_services_words_and_nothing_is_written(
    client, service_advisor
):
    booked = appointment("Olga", "Other", 10)
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:loss_log", args=[booked.pk]),
        {"event": "appointment_cancelled", "reason": "other", "amount": "400.00"},
        **htmx_to(f"desk-opp-{booked.pk}"),
    )

    assert response.status_code == 422
    # The form comes back in place of itself, not of the row it would have replaced.
    assert (response["HX-Retarget"], response["HX-Reswap"]) == ("this", "outerHTML")
    html = response.content.decode()
    assert "Reason &#x27;Other&#x27; needs a note saying what happened." in html
    assert f'hx-target="#desk-opp-{booked.pk}"' in html
    assert 'value="other" id="loss-' in html and "checked" in html
    assert not ServiceLoss.objects.exists()


def test_a_loss_without_a_reason_is_refused_next_to_the_reasons(client, service_advisor):
    booked = appointment("Rita", "Reasonless", 10)
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:loss_log", args=[booked.pk]),
        {"event": "appointment_cancelled", "amount": "400.00"},
        **htmx_to(f"desk-opp-{booked.pk}"),
    )

    assert response.status_code == 422
    assert "Pick why the sale was lost." in response.content.decode()
    assert not ServiceLoss.objects.exists()


def test_a_no_show_of_a_car_already_in_is_refused_with_the_services_words(client, service_advisor):
    in_work = make_opportunity(customer("Ivan", "Inside"), stage="in_work")
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:loss_log", args=[in_work.pk]),
        {"event": "no_show", "reason": "no_show"},
        **htmx_to(f"desk-opp-{in_work.pk}"),
    )

    assert response.status_code == 422
    assert "there is no appointment to miss or cancel" in response.content.decode()


def test_without_javascript_the_button_opens_a_page_and_the_post_goes_back_to_the_desk(
    client, service_advisor
):
    booked = appointment("Nina", "Nojs", 10, value="300.00")
    client.force_login(service_advisor)

    page = client.get(loss_url(booked, "no_show", next=DESK))
    assert page.status_code == 200
    html = page.content.decode()
    form_tag = re.search(r'<form method="post" action="[^"]*/loss/"[^>]*>', html)[0]
    assert "<html" in html and "hx-post" not in form_tag
    assert 'name="next" value="/service/"' in html

    refused = client.post(
        reverse("service:loss_log", args=[booked.pk]),
        {"event": "no_show", "reason": "other", "next": DESK},
    )
    assert refused.status_code == 422
    assert "<html" in refused.content.decode()  # the whole page again, with the error

    response = client.post(
        reverse("service:loss_log", args=[booked.pk]),
        {"event": "no_show", "reason": "no_show", "amount": "300.00", "next": DESK},
        follow=True,
    )
    assert response.redirect_chain == [(DESK, 302)]
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [f"{booked.customer}: No-show. Lost: $300.00 — No-show"]
    assert ServiceLoss.objects.get().amount == Decimal("300.00")


def test_next_must_be_a_page_of_this_site(client, service_advisor):
    booked = appointment("Eve", "Elsewhere", 10)
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:loss_log", args=[booked.pk]),
        {"event": "no_show", "reason": "no_show", "next": "https://example.com/"},
    )

    assert response["Location"] == reverse("service:opportunity", args=[booked.pk])


# --- who sees what ---------------------------------------------------------------------------


def test_a_salesperson_sees_the_desk_without_money_or_actions(client, salesperson):
    appointment("Nora", "Noshow", 10, value="480.00")
    make_opportunity(customer("Walt", "Workshop"), stage="in_work", value="925.00")
    client.force_login(salesperson)

    response = client.get(DESK)

    assert response.status_code == 200
    html = response.content.decode()
    assert "Nora Noshow" in html and "Walt Workshop" in html
    assert "$" not in html and "480" not in html and "925" not in html
    assert "loss-slot" not in html and "No-show" not in html
    assert response.context["desk"].follow_ups is None
    assert "Follow-ups due" not in html


def test_a_salesperson_may_not_log_a_loss(client, salesperson):
    booked = appointment("Nora", "Noshow", 10)
    client.force_login(salesperson)

    assert client.get(loss_url(booked, "no_show")).status_code == 403
    refused = client.post(
        reverse("service:loss_log", args=[booked.pk]), {"event": "no_show", "reason": "no_show"}
    )
    assert refused.status_code == 403
    assert not ServiceLoss.objects.exists()


def test_an_account_without_service_permissions_is_refused_every_advisor_page(client, nobody):
    client.force_login(nobody)

    for name in ("desk", "recaptures", "opportunities", "opportunity_new"):
        assert client.get(reverse(f"service:{name}")).status_code == 403, name


def test_the_desk_asks_who_you_are_first(client):
    response = client.get(DESK)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


# --- follow-ups ------------------------------------------------------------------------------


def test_the_follow_ups_page_lists_mine_first_then_nobodys_and_everyones_on_request(
    client, service_advisor, other_advisor
):
    nobodys = lost_sale(None, "Nick", "Nobody", days_ago=3, by=other_advisor)
    mine = lost_sale(service_advisor, "Mia", "Mine")
    others = lost_sale(other_advisor, "Otto", "Other", days_ago=5)
    client.force_login(service_advisor)

    response = client.get(FOLLOW_UPS)

    assert list(response.context["page"]) == [mine, nobodys]
    html = response.content.decode()
    assert "Parts are in: offer Front brake pads ($240.00) again" in html
    assert "Otto Other" not in html
    everyone = client.get(f"{FOLLOW_UPS}?everyone=1")
    assert list(everyone.context["page"]) == [mine, nobodys, others]


def test_booking_a_follow_up_from_its_row_wins_the_sale_back(client, service_advisor):
    recapture = lost_sale(service_advisor, "Bea", "Booked")
    book = reverse("service:recapture_book", args=[recapture.pk])
    client.force_login(service_advisor)

    form = client.get(book, **htmx_to(f"recapture-slot-{recapture.pk}"))
    assert form.context["form"]["estimated_value"].value() == Decimal("240.00")
    assert f'hx-target="#recapture-{recapture.pk}"' in form.content.decode()

    when = today_at(9, days=3)
    response = client.post(
        book,
        {"booked_for": f"{timezone.localtime(when):%Y-%m-%dT%H:%M}", "estimated_value": "240.00"},
        **htmx_to(f"recapture-{recapture.pk}"),
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert f"Booked for {timezone.localtime(when):%a %b %-d, %H:%M} — $240.00" in html
    recapture.refresh_from_db()
    assert recapture.status == Recapture.Status.BOOKED
    assert (recapture.booking.booked_for, recapture.booking.estimated_value) == (
        when,
        Decimal("240.00"),
    )
    assert recapture.loss.recovery == ServiceLoss.Recovery.RECOVERED


def test_a_booking_needs_its_time(client, service_advisor):
    recapture = lost_sale(service_advisor)
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:recapture_book", args=[recapture.pk]),
        {"estimated_value": "240.00"},
        **htmx_to(f"recapture-{recapture.pk}"),
    )

    assert response.status_code == 422
    assert response["HX-Retarget"] == "this"
    assert "This field is required." in response.content.decode()
    recapture.refresh_from_db()
    assert recapture.status == Recapture.Status.OPEN


def test_declined_again_with_stop_following_up_gives_the_sale_up(client, service_advisor):
    recapture = lost_sale(service_advisor, "Dan", "Declined")
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:recapture_decline", args=[recapture.pk]),
        {"give_up": "on"},
        **htmx_to(f"recapture-{recapture.pk}"),
    )

    assert response.status_code == 200
    assert "Declined again; not followed up any more." in response.content.decode()
    recapture.refresh_from_db()
    assert recapture.status == Recapture.Status.DECLINED
    assert recapture.loss.recovery == ServiceLoss.Recovery.GIVEN_UP


def test_declined_again_without_javascript_goes_back_and_keeps_the_sale_to_win_back(
    client, service_advisor
):
    recapture = lost_sale(service_advisor)
    client.force_login(service_advisor)

    response = client.post(
        reverse("service:recapture_decline", args=[recapture.pk]), {"next": FOLLOW_UPS}
    )

    assert response["Location"] == FOLLOW_UPS
    recapture.refresh_from_db()
    assert recapture.status == Recapture.Status.DECLINED
    assert recapture.loss.recovery == ServiceLoss.Recovery.PENDING


def test_a_follow_up_done_meanwhile_is_refused_with_what_happened(client, service_advisor):
    recapture = lost_sale(service_advisor)
    client.force_login(service_advisor)
    decline = reverse("service:recapture_decline", args=[recapture.pk])
    client.post(decline, {}, **htmx_to(f"recapture-{recapture.pk}"))

    again = client.post(decline, {}, **htmx_to(f"recapture-{recapture.pk}"))

    assert again.status_code == 422
    assert "This follow-up is already declined again." in again.content.decode()


# --- queries ---------------------------------------------------------------------------------


@pytest.fixture
def busy_day(service_advisor, other_advisor):
    for hour, advisor in zip(
        range(8, 12), [service_advisor, other_advisor, None, None], strict=True
    ):
        appointment(f"Early{hour}", "Bird", hour, advisor=advisor, vehicle=None)
    for number in range(3):
        make_opportunity(customer(f"Quote{number}", "Q"), source="quote", stage="planned")
        make_opportunity(customer(f"Work{number}", "W"), stage="in_work", advisor=other_advisor)
    for number in range(3):
        lost_sale(service_advisor, f"Mine{number}", "M")
        lost_sale(None, f"Nobody{number}", "N", by=other_advisor)


def test_the_desk_runs_a_fixed_number_of_queries(
    client, service_advisor, busy_day, django_assert_num_queries
):
    client.force_login(service_advisor)
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 today's appointments,
    # 6 open quotes, 7 cars in the workshop (each with customer, car and advisor), 8 the
    # follow-ups due with their loss, reason, customer, car, assignee, visit and booking.
    with django_assert_num_queries(8):
        response = client.get(DESK)

    desk = response.context["desk"]
    assert [len(desk.appointments), len(desk.quotes), len(desk.workshop)] == [4, 3, 3]
    assert len(desk.follow_ups) == 6


def test_the_follow_ups_page_runs_a_fixed_number_of_queries(
    client, service_advisor, busy_day, django_assert_num_queries
):
    client.force_login(service_advisor)
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the paginator's count,
    # 6 the page of follow-ups with their loss, reason, customer, car, assignee, visit, booking.
    with django_assert_num_queries(6):
        response = client.get(FOLLOW_UPS)

    assert len(response.context["page"]) == 6


def test_without_javascript_booking_is_a_page_of_its_own_that_goes_back_where_it_came_from(
    client, service_advisor
):
    recapture = lost_sale(service_advisor, "Ned", "Nojs")
    book = reverse("service:recapture_book", args=[recapture.pk])
    client.force_login(service_advisor)

    page = client.get(f"{book}?next={DESK}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" in html and "Book again" in html and "Ned Nojs" in html
    assert 'name="next" value="/service/"' in html

    when = today_at(15, days=2)
    response = client.post(
        book, {"booked_for": f"{timezone.localtime(when):%Y-%m-%dT%H:%M}", "next": DESK}
    )

    assert response["Location"] == DESK
    recapture.refresh_from_db()
    assert recapture.booking.booked_for == when
    # Without a value typed, the booking is worth what was lost.
    assert recapture.booking.estimated_value == Decimal("240.00")
