"""Claims from the pool, reassignment by managers, response speeds, and the routing API of
staff, preview and lead decisions."""

from datetime import UTC, datetime, timedelta

import pytest
from rest_framework.test import APIClient

from dealercrm.models import Notification, StaffProfile
from leads.errors import LeadAlreadyClaimed, NoReassignReason, OverCapacity
from leads.intake import lead_intake
from leads.models import LeadEvent
from leads.routing import lead_claim, lead_reassign
from leads.services import activity_log
from leads.submission import Submission
from leads.tasks import response_times_refresh
from routing.models import Strategy
from routing.services import rule_create
from tests.factories import make_lead

ARRIVED = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)


def pool_lead(sales_team, n=1):
    lead = make_lead(team=sales_team)
    assert lead.owner is None
    return lead


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_first_to_claim_gets_the_lead_and_the_second_is_told_who(
    sales_team, salesperson, other_salesperson
):
    lead = pool_lead(sales_team)

    claimed = lead_claim(lead=lead, by=salesperson, at=ARRIVED)
    with pytest.raises(LeadAlreadyClaimed, match="Alice"):
        lead_claim(lead=lead, by=other_salesperson, at=ARRIVED)

    assert claimed.owner == salesperson
    assert claimed.routing["kind"] == "claimed"
    assert claimed.routing["explanation"] == "Claimed from the New cars pool by Alice alice"
    assert claimed.first_response_due_at == ARRIVED + timedelta(minutes=5)
    assert claimed.events.filter(kind=LeadEvent.Kind.ASSIGNED, to_owner=salesperson).count() == 1


def test_someone_at_capacity_cannot_claim(sales_team, salesperson):
    StaffProfile.objects.filter(user=salesperson).update(capacity=1)
    salesperson.refresh_from_db()
    make_lead(owner=salesperson)

    with pytest.raises(OverCapacity, match="1 of 1"):
        lead_claim(lead=pool_lead(sales_team), by=salesperson)


def test_a_salesperson_claims_through_the_api(sales_team, salesperson):
    lead = pool_lead(sales_team)

    response = api(salesperson).post(f"/api/v1/leads/{lead.pk}/claim/")

    assert response.status_code == 200
    assert response.json()["owner"]["id"] == salesperson.pk
    assert response.json()["routing"]["kind"] == "claimed"
    again = api(salesperson).post(f"/api/v1/leads/{lead.pk}/claim/")
    assert again.status_code == 400
    assert again.json() == {"detail": "Alice alice claimed this lead first."}


def test_a_manager_reassigns_with_a_reason_and_the_new_owner_hears_of_it(
    salesperson, other_salesperson, bdc_manager
):
    lead = make_lead(owner=salesperson)

    lead = lead_reassign(
        lead=lead, owner=other_salesperson, by=bdc_manager, reason="Speaks Spanish"
    )

    assert lead.owner == other_salesperson
    assert lead.routing["kind"] == "reassigned"
    assert lead.routing["explanation"] == (
        "Reassigned by Dana dana from Alice alice to Bob bob: Speaks Spanish"
    )
    event = lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).last()
    assert (event.actor, event.from_owner, event.to_owner) == (
        bdc_manager,
        salesperson,
        other_salesperson,
    )
    assert Notification.objects.get(kind="assigned").recipient == other_salesperson


def test_a_reassignment_needs_a_reason(salesperson, other_salesperson, bdc_manager):
    lead = make_lead(owner=salesperson)

    with pytest.raises(NoReassignReason):
        lead_reassign(lead=lead, owner=other_salesperson, by=bdc_manager, reason="  ")

    lead.refresh_from_db()
    assert lead.owner == salesperson


def test_reassigning_through_the_api_is_for_managers_only(
    salesperson, other_salesperson, bdc_manager
):
    lead = make_lead(owner=salesperson)
    body = {"owner": other_salesperson.pk, "reason": "Customer asked for Bob"}

    assert api(salesperson).post(f"/api/v1/leads/{lead.pk}/reassign/", body).status_code == 403
    response = api(bdc_manager).post(f"/api/v1/leads/{lead.pk}/reassign/", body, format="json")

    assert response.status_code == 200
    assert response.json()["owner"]["id"] == other_salesperson.pk
    missing = api(bdc_manager).post(
        f"/api/v1/leads/{lead.pk}/reassign/", {"owner": other_salesperson.pk}, format="json"
    )
    assert missing.status_code == 400
    assert "reason" in missing.json()


def test_response_speeds_are_the_median_of_the_last_30_days(sales_team, salesperson):
    now = ARRIVED + timedelta(days=1)
    for minutes in (2, 4, 30):
        lead = make_lead(owner=salesperson)
        lead.__class__.objects.filter(pk=lead.pk).update(created_at=ARRIVED, assigned_at=ARRIVED)
        activity_log(
            lead=lead, kind="call", by=salesperson, occurred_at=ARRIVED + timedelta(minutes=minutes)
        )
    old = make_lead(owner=salesperson)
    old.__class__.objects.filter(pk=old.pk).update(
        created_at=ARRIVED - timedelta(days=40), assigned_at=ARRIVED - timedelta(days=40)
    )

    result = response_times_refresh(now=now)

    assert result == {"examined": 3, "changed": 1, "people": 1}
    assert StaffProfile.objects.get(user=salesperson).response_seconds == 240.0


def test_the_staff_api_lists_loads_and_changes_shift_and_capacity(
    salesperson, other_salesperson, bdc_manager, django_assert_num_queries
):
    make_lead(owner=salesperson)
    make_lead(owner=salesperson)
    client = api(bdc_manager)
    client.get("/api/v1/routing/staff/")  # the manager's permissions are cached from here on

    # the count for the page, the people with their teams, users and open leads counted.
    with django_assert_num_queries(2):
        listed = client.get("/api/v1/routing/staff/").json()

    alice = next(row for row in listed["results"] if row["id"] == salesperson.pk)
    assert alice == {
        "id": salesperson.pk,
        "name": "Alice alice",
        "role": "salesperson",
        "team": "New cars",
        "active": True,
        "on_shift": True,
        "capacity": 25,
        "open_leads": 2,
        "response_seconds": None,
    }
    changed = client.patch(
        f"/api/v1/routing/staff/{salesperson.pk}/",
        {"on_shift": False, "capacity": 10},
        format="json",
    )
    assert changed.status_code == 200
    assert (changed.json()["on_shift"], changed.json()["capacity"]) == (False, 10)
    assert api(salesperson).get("/api/v1/routing/staff/").status_code == 403


def test_preview_says_who_would_get_a_typed_lead_and_writes_nothing(
    salesperson, other_salesperson, bdc_manager
):
    rule = rule_create(
        by=bdc_manager,
        name="Hot",
        strategy=Strategy.LEAST_LOADED,
        members=[salesperson, other_salesperson],
        conditions={"score_min": 70},
    )
    make_lead(owner=salesperson)
    events = LeadEvent.objects.count()

    hot = api(bdc_manager).post(
        "/api/v1/routing/preview/", {"score": 80, "source": "website"}, format="json"
    )
    cold = api(bdc_manager).post("/api/v1/routing/preview/", {"score": 10}, format="json")

    assert hot.status_code == 200
    assert hot.json()["owner"] == {"id": other_salesperson.pk, "name": "Bob bob"}
    assert hot.json()["rule"] == {"id": rule.pk, "name": "Hot"}
    assert hot.json()["explanation"] == (
        "Rule 'Hot' → least loaded: 1 of 25 open for Alice alice, 0 of 25 open for Bob bob; "
        "Bob bob chosen"
    )
    assert cold.json()["owner"] is None
    assert cold.json()["trail"] == ["'Hot' skipped: score 10 is below 70"]
    assert LeadEvent.objects.count() == events
    assert api(salesperson).post("/api/v1/routing/preview/", {}).status_code == 403


def test_leads_in_the_api_carry_their_routing(salesperson, bdc_manager, provider_api):
    rule_create(by=bdc_manager, name="All", strategy=Strategy.ROUND_ROBIN, members=[salesperson])
    provider_api.post(
        "/api/v1/leads/", {"source": "website", "email": "x@example.net"}, format="json"
    )

    row = api(bdc_manager).get("/api/v1/leads/").json()["results"][0]

    assert row["owner"]["id"] == salesperson.pk
    assert row["routing"]["rule"]["name"] == "All"
    assert (
        row["routing"]["explanation"]
        == "Rule 'All' → round robin: Alice alice's turn among 1 available"
    )
    detail = api(bdc_manager).get(f"/api/v1/leads/{row['id']}/").json()
    assigned = [event for event in detail["history"] if event["kind"] == "assigned"]
    assert assigned[0]["routing"]["candidates"][0]["name"] == "Alice alice"


def test_intake_with_a_lead_provider_lands_with_the_right_person(
    salesperson, bdc_manager, lead_provider
):
    rule_create(by=bdc_manager, name="All", strategy=Strategy.ROUND_ROBIN, members=[salesperson])

    lead = lead_intake(Submission(source="website", emails=("y@example.net",)), at=ARRIVED).lead

    assert lead.owner == salesperson


def test_preview_of_a_typed_lead_no_rule_takes_names_its_sources_pool(bdc_manager, sales_team):
    from leads.models import LeadSource

    LeadSource.objects.create(key="website", name="Our website", team=sales_team)

    body = (
        api(bdc_manager)
        .post("/api/v1/routing/preview/", {"source": "website"}, format="json")
        .json()
    )

    assert body["team"] == sales_team.pk
    assert body["explanation"] == (
        "No rule took the lead (no rule matched); it waits in the New cars pool"
    )


def test_preview_refuses_an_empty_draft_rule_set(bdc_manager):
    response = api(bdc_manager).post("/api/v1/routing/preview/", {"rules": []}, format="json")

    assert response.status_code == 400
    assert "rules" in response.json()
