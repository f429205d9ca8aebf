"""The lead page shows why the lead is where it is; salespeople claim pool leads from it and
managers reassign from it."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.intake import lead_intake
from leads.models import LeadEvent
from leads.submission import Submission
from routing.models import Strategy
from routing.services import rule_create
from tests.factories import make_lead


@pytest.fixture
def routed_lead(salesperson, other_salesperson, bdc_manager):
    rule_create(
        by=bdc_manager,
        name="Web",
        strategy=Strategy.LEAST_LOADED,
        members=[salesperson, other_salesperson],
    )
    make_lead(owner=salesperson)
    return lead_intake(Submission(source="website", emails=("eve@example.net",))).lead


def test_the_lead_page_explains_the_routing_decision(client, bdc_manager, routed_lead):
    client.force_login(bdc_manager)

    page = client.get(reverse("leads:detail", args=[routed_lead.pk])).content.decode()

    assert (
        "Rule &#x27;Web&#x27; → least loaded: 1 of 25 open for Alice alice, 0 of 25 open for "
        "Bob bob; Bob bob chosen"
    ) in page
    assert "Candidates (2)" in page


def test_the_lead_page_of_a_manager_runs_a_fixed_number_of_queries(
    client, bdc_manager, routed_lead, django_assert_num_queries
):
    client.force_login(bdc_manager)
    url = reverse("leads:detail", args=[routed_lead.pk])
    client.get(url)

    # session, user, the lead with customer/owner/team/reason, its events, activities and
    # inquiries, the website profile, the website events of the timeline, the open tasks, the
    # customer's other leads, the reasons of the status form, the people a manager can
    # reassign to.
    with django_assert_num_queries(12):
        client.get(url)


def test_a_salesperson_claims_a_pool_lead_from_its_page(client, salesperson, sales_team):
    lead = make_lead(team=sales_team)
    client.force_login(salesperson)

    page = client.get(reverse("leads:detail", args=[lead.pk])).content.decode()
    response = client.post(reverse("leads:claim", args=[lead.pk]))

    assert "Claim this lead" in page
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.owner == salesperson
    assert lead.first_response_due_at is not None


def test_a_manager_reassigns_from_the_lead_page(
    client, bdc_manager, routed_lead, salesperson, other_salesperson
):
    client.force_login(bdc_manager)

    client.post(
        reverse("leads:reassign", args=[routed_lead.pk]),
        {"owner": salesperson.pk, "reason": "Knows the customer"},
    )

    routed_lead.refresh_from_db()
    assert routed_lead.owner == salesperson
    assert routed_lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).last().note == (
        "Reassigned by Dana dana from Bob bob to Alice alice: Knows the customer"
    )


def test_a_reassignment_without_a_reason_changes_nothing_and_says_so(
    client, bdc_manager, routed_lead, salesperson
):
    client.force_login(bdc_manager)

    response = client.post(
        reverse("leads:reassign", args=[routed_lead.pk]), {"owner": salesperson.pk}, follow=True
    )

    assert "Reason: This field is required." in response.content.decode()
    routed_lead.refresh_from_db()
    assert routed_lead.owner != salesperson


def test_a_salesperson_may_not_reassign(client, salesperson, routed_lead, other_salesperson):
    client.force_login(salesperson)

    response = client.post(
        reverse("leads:reassign", args=[routed_lead.pk]),
        {"owner": salesperson.pk, "reason": "mine"},
    )

    assert response.status_code == 403
    assert (
        "Reassign"
        not in client.get(reverse("leads:detail", args=[routed_lead.pk]))
        .content.decode()
        .split("History")[0]
        .split("Routing")[-1]
    )


def test_a_pool_lead_claimed_a_moment_ago_is_gone_from_the_pool(
    client, salesperson, other_salesperson, sales_team
):
    lead = make_lead(team=sales_team)
    client.force_login(other_salesperson)
    client.post(reverse("leads:claim", args=[lead.pk]))
    client.force_login(salesperson)

    response = client.post(reverse("leads:claim", args=[lead.pk]))

    # Another salesperson's lead is not Alice's to see any more.
    assert response.status_code == 404
    lead.refresh_from_db()
    assert lead.owner == other_salesperson
    assert timezone.now() - lead.assigned_at < timedelta(minutes=1)
