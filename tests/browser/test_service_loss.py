"""A service advisor logs lost sales from her desk in Chromium: the loss button on the row, the
reason, "Log loss" — at most three clicks, the row updated in place by htmx."""

from datetime import datetime, time
from decimal import Decimal

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dealercrm.models import Role, Team
from service.models import ServiceLoss
from tests.factories import CustomerFactory, TeamFactory, make_opportunity, make_staff

PASSWORD = "workshop-bay-7"
# Every press of the mouse on the page, counted where it lands, so that the test measures what
# the advisor did rather than trusting its own steps. Presses, not clicks: a click on a label
# also clicks its radio button, which is one act of the advisor's and two click events.
COUNT_CLICKS = (
    "window.__clicks = 0; document.addEventListener('pointerdown', () => window.__clicks++, true)"
)


@pytest.fixture
def erin(db):
    return make_staff(
        Role.SERVICE_ADVISOR,
        TeamFactory(name="Service", kind=Team.Kind.SERVICE),
        username="erin",
        first_name="Erin",
        last_name="Advisor",
        password=PASSWORD,
    )


def today_at(hour):
    return timezone.make_aware(datetime.combine(timezone.localdate(), time(hour)))


def open_desk(page, live_server, login):
    login(page, live_server, "erin", PASSWORD)
    page.goto("/service/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Service desk")
    page.evaluate(COUNT_CLICKS)


def htmx_post(page, path):
    return page.expect_response(
        lambda response: (
            response.url.endswith(path)
            and response.request.method == "POST"
            and response.request.headers.get("hx-request") == "true"
        )
    )


def test_a_no_show_is_logged_from_the_appointment_row_in_at_most_three_clicks(
    page, live_server, login, without_reload, erin
):
    nora = make_opportunity(
        CustomerFactory(first_name="Nora", last_name="Noshow"),
        advisor=erin,
        value="480.00",
        title="Annual service",
        booked_for=today_at(9),
    )
    open_desk(page, live_server, login)
    row = page.locator(f"#desk-opp-{nora.pk}")
    expect(row).to_contain_text("Nora Noshow")

    with without_reload(page):
        row.get_by_role("link", name="No-show").click()  # 1
        form = row.locator("form.loss-form")
        expect(form.get_by_label("Amount lost")).to_have_value("480.00")
        reason = form.get_by_role("radio", name="No-show")
        expect(reason).to_be_checked()  # the event names its reason: nothing to pick
        reason.click()  # 2 (picking it again changes nothing)
        with htmx_post(page, f"/service/opportunities/{nora.pk}/loss/"):
            form.get_by_role("button", name="Log loss").click()  # 3

        row = page.locator(f"#desk-opp-{nora.pk}")
        expect(row).to_contain_text("Lost: $480.00 — No-show")
        expect(row.locator("form")).to_have_count(0)
        expect(page.get_by_role("status")).to_contain_text("Nora Noshow: No-show.")

    assert page.evaluate("window.__clicks") == 3  # at most three: here exactly three
    loss = ServiceLoss.objects.get(opportunity=nora)
    assert (loss.event, loss.reason.code, loss.amount) == ("no_show", "no_show", Decimal("480.00"))
    assert loss.logged_by == erin


def test_a_declined_quote_is_logged_with_its_reason_in_three_clicks(
    page, live_server, login, without_reload, erin
):
    quote = make_opportunity(
        CustomerFactory(first_name="Quinn", last_name="Quote"),
        advisor=erin,
        source="quote",
        stage="planned",
        value="640.00",
        title="Front brakes",
        items=[{"description": "Front brake pads and discs", "amount": "640.00"}],
    )
    open_desk(page, live_server, login)
    row = page.locator(f"#desk-opp-{quote.pk}")

    with without_reload(page):
        row.get_by_role("link", name="Declined").click()  # 1
        form = row.locator("form.loss-form")
        expect(form.get_by_label("Declined work")).to_have_value(
            "Front brake pads and discs — 640.00"
        )
        form.get_by_text("Price too high").click()  # 2
        with htmx_post(page, f"/service/opportunities/{quote.pk}/loss/"):
            form.get_by_role("button", name="Log loss").click()  # 3

        expect(page.locator(f"#desk-opp-{quote.pk}")).to_contain_text(
            "Lost: $640.00 — Price too high"
        )

    assert page.evaluate("window.__clicks") == 3
    loss = ServiceLoss.objects.get(opportunity=quote)
    assert (loss.event, loss.reason.code, loss.amount) == (
        "quote_declined",
        "price_too_high",
        Decimal("640.00"),
    )
    assert loss.declined_items == [
        {"description": "Front brake pads and discs", "amount": "640.00"}
    ]


def test_a_refused_loss_keeps_the_form_open_with_the_services_words(
    page, live_server, login, without_reload, erin
):
    olga = make_opportunity(
        CustomerFactory(first_name="Olga", last_name="Other"), advisor=erin, booked_for=today_at(11)
    )
    open_desk(page, live_server, login)
    row = page.locator(f"#desk-opp-{olga.pk}")

    with without_reload(page):
        row.get_by_role("link", name="Cancelled").click()
        form = row.locator("form.loss-form")
        form.get_by_text("Other").click()
        with htmx_post(page, f"/service/opportunities/{olga.pk}/loss/") as answer:
            form.get_by_role("button", name="Log loss").click()
        assert answer.value.status == 422

        expect(row.locator("form.loss-form .message.error")).to_have_text(
            "Reason 'Other' needs a note saying what happened."
        )
        expect(row.locator("form.loss-form").get_by_role("radio", name="Other")).to_be_checked()
        row.locator("form.loss-form").get_by_label("Note", exact=True).fill("Moved abroad")
        with htmx_post(page, f"/service/opportunities/{olga.pk}/loss/"):
            row.locator("form.loss-form").get_by_role("button", name="Log loss").click()
        expect(page.locator(f"#desk-opp-{olga.pk}")).to_contain_text("Lost: $400.00 — Other")

    assert ServiceLoss.objects.get(opportunity=olga).note == "Moved abroad"


def test_on_a_phone_the_inline_loss_form_fits_the_screen(
    phone_page, live_server, login, artifacts, erin
):
    page = phone_page
    make_opportunity(
        CustomerFactory(first_name="Pia", last_name="Phone"), advisor=erin, booked_for=today_at(10)
    )
    open_desk(page, live_server, login)

    page.get_by_role("link", name="No-show").click()
    log_loss = page.get_by_role("button", name="Log loss")
    log_loss.scroll_into_view_if_needed()
    expect(log_loss).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / "service-desk-phone.png", full_page=True)
