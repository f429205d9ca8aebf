"""Reading leads through the API: the same visibility as the pages, filters, pinned queries."""

from datetime import timedelta

import pytest
from django.utils import timezone

from dealercrm.models import Role
from leads.intake import lead_intake
from leads.models import LeadSource, LeadStatus
from leads.services import activity_log, lead_assign
from leads.submission import Submission, VehicleDetails
from leads.tasks import stale_sweep
from tests.factories import make_lead, make_staff


def ids(response):
    assert response.status_code == 200, response.content
    return sorted(lead["id"] for lead in response.json()["results"])


def test_a_salesperson_lists_own_leads_and_the_team_pool_only(
    client, salesperson, other_salesperson, used_car_salesperson, sales_team
):
    mine = make_lead(owner=salesperson)
    pooled = make_lead(team=sales_team)
    make_lead(owner=other_salesperson)
    make_lead(owner=used_car_salesperson)
    client.force_login(salesperson)

    assert ids(client.get("/api/v1/leads/")) == sorted([mine.pk, pooled.pk])


def test_a_lead_the_user_may_not_see_answers_404(client, salesperson, other_salesperson):
    theirs = make_lead(owner=other_salesperson)
    client.force_login(salesperson)

    assert client.get(f"/api/v1/leads/{theirs.pk}/").status_code == 404
    assert client.get("/api/v1/leads/999999/").status_code == 404


def test_filters_by_status_owner_source_band_created_and_stale(client, bdc_manager, salesperson):
    now = timezone.now()
    LeadSource.objects.create(key="cars-com", name="Cars.com", quality_points=10)
    hot = lead_intake(
        Submission(
            source="cars-com",
            emails=("hot@example.com",),
            phones=("+12025550143",),
            purchase_horizon="within_week",
            vehicle=VehicleDetails(vin="1HGCM82633A004352"),
        )
    ).lead
    cold = lead_intake(Submission(source="website", emails=("cold@example.com",))).lead
    stale = make_lead(owner=salesperson, at=now - timedelta(days=10))
    stale_sweep(now=now)
    worked = make_lead(owner=salesperson)
    activity_log(lead=worked, kind="call", by=salesperson, occurred_at=now - timedelta(days=1))
    lead_assign(lead=cold, owner=salesperson, by=bdc_manager)
    client.force_login(bdc_manager)

    def query(params):
        return ids(client.get("/api/v1/leads/", params))

    assert hot.score == 70  # 10 base, 10 e-mail, 15 phone, 20 this week, 5 VIN, 10 source
    assert query({"score_band": "hot"}) == [hot.pk]
    assert query({"source": "cars-com"}) == [hot.pk]
    assert query({"owner": salesperson.pk}) == sorted([cold.pk, stale.pk, worked.pk])
    assert query({"unassigned": "true"}) == [hot.pk]
    assert query({"status": ["contacted"]}) == [worked.pk]
    assert query({"stale": "true"}) == [stale.pk]
    assert query({"created_after": (now - timedelta(days=2)).isoformat()}) == sorted(
        [hot.pk, cold.pk, worked.pk]
    )
    bad = client.get("/api/v1/leads/", {"score_band": "lukewarm"})
    assert bad.status_code == 400
    assert "score_band" in bad.json()


def test_the_lead_list_runs_a_fixed_number_of_queries(
    client, bdc_manager, salesperson, django_assert_num_queries
):
    for _ in range(3):
        make_lead(owner=salesperson)
    make_lead(LeadStatus.LOST, owner=salesperson)
    client.force_login(bdc_manager)

    # session, user, the user's permissions and group permissions, the page count, the page
    # with customer, owner and team joined.
    with django_assert_num_queries(6):
        response = client.get("/api/v1/leads/")
    assert response.json()["count"] == 4
    assert [set(lead) >= {"customer", "owner", "vehicle"} for lead in response.json()["results"]]


def test_the_whole_lead_holds_customer_vehicle_trade_in_factors_profile_history(
    client, bdc_manager, provider_api, django_assert_num_queries
):
    created = provider_api.post(
        "/api/v1/leads/",
        {
            "source": "website",
            "external_id": "f-1",
            "email": "ann@example.com",
            "vehicle": {"make": "Kia", "model": "EV6"},
            "trade_in": {"make": "Ford", "model": "Focus", "mileage": 90000},
            "visitor_id": "v-9",
        },
        format="json",
    ).json()
    client.force_login(bdc_manager)

    # session, user, permissions ×2, the lead with its joins, events, activities, inquiries,
    # the website profile (no top vehicles: the customer has not browsed).
    with django_assert_num_queries(9):
        response = client.get(f"/api/v1/leads/{created['id']}/")

    body = response.json()
    assert body["customer"]["email"] == "ann@example.com"
    assert body["vehicle"]["model"] == "EV6"
    assert body["trade_in"] == {
        "year": None,
        "make": "Ford",
        "model": "Focus",
        "vin": "",
        "mileage": 90000,
    }
    assert [factor["code"] for factor in body["score_factors"]] == [
        "base",
        "valid_email",
        "trade_in",
    ]
    assert body["web_profile"]["sessions"] == 0
    assert [event["kind"] for event in body["history"]] == ["created", "assigned"]
    assert body["history"][0]["by"] == "intake"
    assert body["inquiries"][0]["external_id"] == "f-1"


@pytest.mark.parametrize("path", ["/api/v1/schema/", "/api/v1/docs/"])
def test_the_contract_and_its_docs_are_served_to_anyone(client, path):
    response = client.get(path)

    assert response.status_code == 200


def test_the_docs_page_loads_nothing_from_a_cdn(client):
    html = client.get("/api/v1/docs/").content.decode()

    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/" in html
    assert "cdn" not in html.lower()


def test_the_schema_documents_every_intake_endpoint(client):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    assert {"/api/v1/leads/", "/api/v1/leads/adf/", "/api/v1/events/", "/api/v1/calls/"} <= set(
        schema["paths"]
    )
    post = schema["paths"]["/api/v1/leads/"]["post"]
    assert set(post["responses"]) == {"200", "201", "400", "429"}
    assert set(schema["paths"]["/api/v1/leads/adf/"]["post"]["requestBody"]["content"]) == {
        "application/xml",
        "text/xml",
        "application/x-adf+xml",
    }


def test_a_service_advisor_reads_no_leads(client, service_advisor):
    make_lead()
    client.force_login(service_advisor)

    assert client.get("/api/v1/leads/").status_code == 403


def test_a_bdc_agent_may_post_a_lead_by_hand(client, sales_team):
    agent = make_staff(Role.BDC_AGENT, sales_team)
    client.force_login(agent)

    response = client.post(
        "/api/v1/leads/",
        {"source": "walk-in", "phone": "+12025550143"},
        content_type="application/json",
    )

    assert response.status_code == 201
