"""A salesperson works her queue in Chromium: opens the most urgent lead, logs what she did and
moves it along from the workspace, which htmx updates in place."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from dealercrm.models import Role
from leads.models import Activity, Lead, LeadStatus
from tests.factories import CustomerFactory, make_lead, make_staff

PASSWORD = "showroom-floor-42"
LOG_SUMMARY = "Log a call, e-mail, text, chat or note"


@pytest.fixture
def sara(sales_team):
    return make_staff(
        Role.SALESPERSON,
        sales_team,
        username="sara",
        first_name="Sara",
        last_name="Seller",
        password=PASSWORD,
    )


def lead_for(owner, first_name, last_name, status=LeadStatus.NEW, due_in=None, **fields):
    lead = make_lead(
        status,
        owner=owner,
        customer=CustomerFactory(first_name=first_name, last_name=last_name),
        **fields,
    )
    if due_in is not None:
        Lead.objects.filter(pk=lead.pk).update(first_response_due_at=timezone.now() + due_in)
    return lead


@pytest.fixture
def queue(sara):
    """Sara's three open leads, created least urgent first so that neither creation order nor
    score puts the most urgent one on top: Nora (new, first response due in 10 minutes), then
    Hugo (new and hot, due in an hour), then Carl (contacted and hot)."""
    carl = lead_for(sara, "Carl", "Contacted", LeadStatus.CONTACTED, score=95)
    hugo = lead_for(sara, "Hugo", "Later", due_in=timedelta(hours=1), score=90)
    nora = lead_for(sara, "Nora", "Soonest", due_in=timedelta(minutes=10), score=10)
    return [nora, hugo, carl]


def action(page, summary):
    """The quick action under the <details> whose summary reads `summary`, opened."""
    details = page.locator("#workspace details").filter(
        has=page.locator("summary", has_text=summary)
    )
    if details.get_attribute("open") is None:
        details.locator("summary").click()
    return details


def htmx_post(page, path):
    """Wait for the htmx POST to `path` (not a plain form submission) to be answered."""
    return page.expect_response(
        lambda response: (
            response.url.endswith(path)
            and response.request.method == "POST"
            and response.request.headers.get("hx-request") == "true"
        )
    )


def timeline_entry(page, text):
    return page.locator("ol.timeline > li").filter(has_text=text)


def test_she_logs_a_call_on_her_most_urgent_lead_then_qualifies_it(
    page, live_server, login, without_reload, sara, queue
):
    nora = queue[0]
    login(page, live_server, "sara", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/leads/queue/")
    expect(page.locator("ol.queue .queue-customer")).to_have_text(
        ["Nora Soonest", "Hugo Later", "Carl Contacted"]
    )
    page.locator("ol.queue .queue-customer").first.click()
    expect(page).to_have_url(f"{live_server.url}/leads/{nora.pk}/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Nora Soonest")

    with without_reload(page):
        log = action(page, LOG_SUMMARY)
        log.get_by_label("Kind").select_option(label="Call")
        log.get_by_label("Direction").select_option(label="Outbound")
        log.get_by_label("Outcome").select_option(label="Talked to the customer")
        log.get_by_label("Minutes").fill("6")
        log.get_by_label("What was said").fill("Wants a test drive on Saturday")
        with htmx_post(page, f"/leads/{nora.pk}/log/"):
            log.get_by_role("button", name="Log it").click()

        expect(page.get_by_role("status")).to_have_text("Call logged (short call).")
        call = timeline_entry(page, "Call · outbound · connected · 6:00 min")
        expect(call).to_have_count(1)
        expect(call.locator(".tag", has_text="short call")).to_be_visible()
        expect(call).to_contain_text("Wants a test drive on Saturday")
        expect(call).to_contain_text("by Sara Seller")
        expect(page.locator("#workspace .lead-state")).to_contain_text("Contacted")

        status = action(page, "Change status")
        status.get_by_label("New status").select_option(label="Qualified")
        with htmx_post(page, f"/leads/{nora.pk}/status/"):
            status.get_by_role("button", name="Change status").click()

        expect(page.get_by_role("status")).to_have_text("Marked qualified.")
        expect(page.locator("ol.timeline > li").first).to_contain_text(
            "Status changed: Contacted → Qualified"
        )
        expect(page.locator("#workspace .lead-state")).to_contain_text("Qualified")

    activity = Activity.objects.get(lead=nora)
    assert (activity.kind, activity.duration_seconds, activity.actor) == (
        Activity.Kind.CALL,
        360,
        sara,
    )
    assert activity.outcome == Activity.Outcome.CONNECTED
    nora.refresh_from_db()
    assert nora.status == LeadStatus.QUALIFIED
    assert nora.first_contacted_at is not None


def test_marking_a_lead_lost_without_a_reason_is_refused_next_to_the_reason(
    page, live_server, login, without_reload, sara
):
    lead = lead_for(sara, "Lena", "Lost", LeadStatus.CONTACTED)
    events_before = lead.events.count()
    login(page, live_server, "sara", PASSWORD)
    page.goto(f"/leads/{lead.pk}/")

    with without_reload(page):
        status = action(page, "Change status")
        status.get_by_label("New status").select_option(label="Lost")
        with htmx_post(page, f"/leads/{lead.pk}/status/") as answer:
            status.get_by_role("button", name="Change status").click()
        assert answer.value.status == 422

        # The answer is a new workspace: find the form again, reopened on the error.
        status = page.locator("#workspace details[open]").filter(
            has=page.locator("summary", has_text="Change status")
        )
        reason = status.get_by_label("Reason")
        reason_field = status.locator(".field").filter(has=page.get_by_label("Reason"))
        expect(reason_field.locator(".error")).to_have_text("Pick why the lead is lost.")
        expect(reason).to_have_attribute("aria-invalid", "true")
        # A screen reader reads the error with the field, not only a sighted person.
        expect(reason).to_have_accessible_description(re.compile("Pick why the lead is lost."))
        expect(status.get_by_label("New status")).to_have_value(LeadStatus.LOST)
        expect(page.locator("#workspace .lead-state")).to_contain_text("Contacted")

    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
    assert lead.close_reason is None
    assert lead.events.count() == events_before


def test_on_a_phone_the_queue_and_the_lead_fit_the_screen(
    phone_page, live_server, login, artifacts, sara, queue
):
    page = phone_page
    login(page, live_server, "sara", PASSWORD)
    page.goto("/leads/queue/")

    top = page.locator("ol.queue .queue-customer").first
    expect(top).to_have_text("Nora Soonest")
    expect(top).to_be_in_viewport()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=artifacts / "queue-phone.png", full_page=True)

    top.click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Nora Soonest")
    log_it = action(page, LOG_SUMMARY).get_by_role("button", name="Log it")
    log_it.scroll_into_view_if_needed()
    expect(log_it).to_be_in_viewport()
    expect(log_it).to_be_enabled()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_a_call_can_be_logged_with_the_keyboard_alone(
    page, live_server, login, without_reload, sara
):
    lead = lead_for(sara, "Kim", "Keys", due_in=timedelta(minutes=30))
    login(page, live_server, "sara", PASSWORD)
    page.goto(f"/leads/{lead.pk}/")
    log = action(page, LOG_SUMMARY)

    with without_reload(page):
        log.get_by_label("Kind").focus()
        page.keyboard.press("Tab")
        expect(log.get_by_label("Direction")).to_be_focused()
        page.keyboard.press("Tab")
        outcome = log.get_by_label("Outcome")
        expect(outcome).to_be_focused()
        # Typing on a focused (closed) select picks the option that starts with the letters.
        page.keyboard.type("Talked")
        expect(outcome).to_have_value(Activity.Outcome.CONNECTED)
        page.keyboard.press("Tab")
        expect(log.get_by_label("Minutes")).to_be_focused()
        page.keyboard.type("12")
        with htmx_post(page, f"/leads/{lead.pk}/log/"):
            page.keyboard.press("Enter")

        expect(page.get_by_role("status")).to_have_text("Call logged.")
        expect(timeline_entry(page, "Call · outbound · connected · 12:00 min")).to_have_count(1)

    activity = Activity.objects.get(lead=lead)
    assert (activity.kind, activity.outcome, activity.duration_seconds, activity.actor) == (
        Activity.Kind.CALL,
        Activity.Outcome.CONNECTED,
        720,
        sara,
    )
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED
