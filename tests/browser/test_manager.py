"""A BDC manager on the team board in Chromium, and an accessibility smoke check of the pages
the sales floor lives in."""

import pytest
from playwright.sync_api import expect

from dealercrm.models import Role, Team
from leads.models import LeadStatus
from tests.factories import CustomerFactory, TeamFactory, make_lead, make_staff

PASSWORD = "showroom-floor-42"


@pytest.fixture
def dana(db):
    return make_staff(
        Role.BDC_MANAGER,
        TeamFactory(name="BDC", kind=Team.Kind.BDC),
        username="dana",
        first_name="Dana",
        last_name="Boss",
        password=PASSWORD,
    )


@pytest.fixture
def sara(sales_team):
    return make_staff(
        Role.SALESPERSON, sales_team, username="sara", first_name="Sara", last_name="Seller"
    )


@pytest.fixture
def tom(sales_team):
    return make_staff(
        Role.SALESPERSON, sales_team, username="tom", first_name="Tom", last_name="Trader"
    )


def lead_for(owner, first_name, last_name, status=LeadStatus.CONTACTED):
    return make_lead(
        status, owner=owner, customer=CustomerFactory(first_name=first_name, last_name=last_name)
    )


def test_a_bdc_manager_gives_two_of_saras_leads_to_tom(page, live_server, login, dana, sara, tom):
    anna = lead_for(sara, "Anna", "Able")
    ben = lead_for(sara, "Ben", "Baker", LeadStatus.NEW)
    kept = lead_for(sara, "Cleo", "Kept")
    login(page, live_server, "dana", PASSWORD)

    expect(page).to_have_url(f"{live_server.url}/leads/board/")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Team board")
    page.get_by_role("checkbox", name="Select Anna Able").check()
    page.get_by_role("checkbox", name="Select Ben Baker").check()
    bulk = page.locator("form#bulk-reassign")
    bulk.get_by_label("Give to").select_option(str(tom.pk))
    bulk.get_by_label("Reason").fill("Sara is on leave this week")
    with page.expect_navigation():
        bulk.get_by_role("button", name="Reassign").click()

    expect(page).to_have_url(f"{live_server.url}/leads/board/")
    expect(page.locator(".message.success")).to_have_text("2 leads given to Tom Trader.")
    for lead in (anna, ben, kept):
        lead.refresh_from_db()
    assert (anna.owner, ben.owner, kept.owner) == (tom, tom, sara)

    page.get_by_role("link", name="Anna Able").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Anna Able")
    expect(page.locator("ol.timeline > li").first).to_contain_text(
        "Reassigned by Dana Boss from Sara Seller to Tom Trader: Sara is on leave this week"
    )


@pytest.fixture
def signed_in_manager(page, live_server, login, dana, sara):
    lead = lead_for(sara, "Anna", "Able")
    make_lead(LeadStatus.NEW, owner=dana)
    login(page, live_server, "dana", PASSWORD)
    return lead


@pytest.mark.parametrize("path", ["/leads/queue/", "/leads/{lead}/", "/leads/board/"])
def test_every_field_has_a_label_and_the_page_one_h1_and_a_main(page, signed_in_manager, path):
    page.goto(path.format(lead=signed_in_manager.pk))
    page.locator("details").evaluate_all("(all) => all.forEach((el) => { el.open = true; })")

    # One round trip for all the page's controls: hidden ones (type=hidden, display: none)
    # are not for people, and a submit button is named by its text.
    controls = page.locator("input, select, textarea").evaluate_all(
        """(all) => all
            .filter((el) => !['hidden', 'submit'].includes(el.type) && el.checkVisibility())
            .map((el) => ({
                html: el.outerHTML,
                labelled: el.labels.length > 0 || !!el.getAttribute('aria-label'),
            }))"""
    )
    assert len(controls) >= 3, "the page lost its forms"
    assert [control["html"] for control in controls if not control["labelled"]] == []
    expect(page.locator("h1")).to_have_count(1)
    expect(page.get_by_role("main")).to_have_count(1)
