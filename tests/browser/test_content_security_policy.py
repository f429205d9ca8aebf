"""The Content Security Policy allows only this site's own scripts and styles; the pages people
use must work under it, without a single violation in the browser's console."""

import pytest
from playwright.sync_api import expect

from dealercrm.models import Role, Team
from leads.models import LeadStatus
from routing.models import RoutingRule
from routing.services import rule_create
from tests.factories import TeamFactory, make_lead, make_staff

PASSWORD = "showroom-floor-42"


@pytest.fixture
def manager(page, live_server, login, sales_team):
    dana = make_staff(
        Role.BDC_MANAGER,
        TeamFactory(name="BDC", kind=Team.Kind.BDC),
        username="dana",
        first_name="Dana",
        password=PASSWORD,
    )
    seller = make_staff(Role.SALESPERSON, sales_team, username="sara", first_name="Sara")
    lead = make_lead(LeadStatus.CONTACTED, owner=seller)
    rule = rule_create(by=dana, name="Web leads", strategy="round_robin", members=[seller])
    violations = []

    def keep_violation(message):
        if "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", keep_violation)
    login(page, live_server, "dana", PASSWORD)
    return {"lead": lead, "rule": rule, "violations": violations}


PAGES = [
    "/leads/queue/",
    "/leads/board/",
    "/leads/{lead}/",
    "/leads/reports/speed/",
    "/routing/",
    "/routing/{rule}/",
    "/routing/replay/",
    "/api/v1/docs/",
]


def test_the_pages_load_without_a_policy_violation(page, manager):
    for path in PAGES:
        response = page.goto(path.format(lead=manager["lead"].pk, rule=manager["rule"].pk))
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"]
        page.wait_for_load_state("networkidle")

    assert manager["violations"] == []


def test_deleting_a_rule_asks_first_and_a_no_keeps_it(page, manager):
    rule = manager["rule"]
    page.goto(f"/routing/{rule.pk}/")
    asked = []

    def answer(dialog, accept):
        asked.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, False))
    page.get_by_role("button", name="Delete rule").click()
    expect(page).to_have_url(f"{page.url}")
    assert RoutingRule.objects.filter(pk=rule.pk).exists()

    page.once("dialog", lambda dialog: answer(dialog, True))
    with page.expect_navigation():
        page.get_by_role("button", name="Delete rule").click()

    assert asked == ["Delete the rule Web leads? Leads it would take go to the rules below it."] * 2
    assert not RoutingRule.objects.filter(pk=rule.pk).exists()
    assert manager["violations"] == []
