"""The routing rules API: managers create, read, change and delete rules; a refusal names the
field that is wrong; salespeople and strangers get nothing."""

import pytest
from rest_framework.test import APIClient

from dealercrm.models import Role
from routing.models import RoutingCursor, RoutingRule
from routing.services import rule_create
from tests.factories import make_staff

pytestmark = pytest.mark.django_db

RULES = "/api/v1/routing/rules/"


def rule_url(rule):
    return f"{RULES}{rule.pk}/"


@pytest.fixture
def api(bdc_manager):
    client = APIClient()
    client.force_login(bdc_manager)
    return client


@pytest.fixture
def hot_leads(bdc_manager, salesperson, other_salesperson):
    return rule_create(
        by=bdc_manager,
        name="Hot web leads",
        priority=10,
        conditions={"channels": ["web_form"], "score_min": 70},
        strategy="weighted",
        members=[salesperson, other_salesperson],
        weights={str(salesperson.pk): 1, str(other_salesperson.pk): 3},
    )


def test_a_manager_creates_a_rule_and_gets_every_field_back(
    api, bdc_manager, salesperson, other_salesperson, sales_team
):
    response = api.post(
        RULES,
        {
            "name": "Used Toyotas at night",
            "priority": 20,
            "conditions": {
                "sources": ["cars-com"],
                "channels": ["phone", "web_form"],
                "score_min": 40,
                "score_max": 69,
                "vehicle_condition": "used",
                "makes": ["Toyota"],
                "known_customer": False,
                "weekdays": [5, 6],
                "hours_from": "20:00",
                "hours_to": "08:00",
            },
            "members": [salesperson.pk, other_salesperson.pk],
            "team": sales_team.pk,
            "strategy": "weighted",
            "weights": {str(other_salesperson.pk): 3},
            "sla_minutes": 10,
            "max_rotations": 1,
            "fallback": "manager",
            "fallback_manager": bdc_manager.pk,
            "stop": True,
        },
        format="json",
    )

    assert response.status_code == 201, response.content
    body = response.json()
    rule = RoutingRule.objects.get(name="Used Toyotas at night")
    assert body == {
        "id": rule.pk,
        "name": "Used Toyotas at night",
        "priority": 20,
        "active": True,
        "conditions": {
            "sources": ["cars-com"],
            "channels": ["phone", "web_form"],
            "score_min": 40,
            "score_max": 69,
            "vehicle_condition": "used",
            "makes": ["toyota"],
            "known_customer": False,
            "weekdays": [5, 6],
            "hours_from": "20:00",
            "hours_to": "08:00",
        },
        "members": sorted([salesperson.pk, other_salesperson.pk]),
        "team": sales_team.pk,
        "strategy": "weighted",
        "weights": {str(other_salesperson.pk): 3},
        "sla_minutes": 10,
        "max_rotations": 1,
        "fallback": "manager",
        "fallback_manager": bdc_manager.pk,
        "stop": True,
    }
    assert set(rule.members.all()) == {salesperson, other_salesperson}
    assert RoutingCursor.objects.filter(rule=rule).exists()


def test_a_rule_posted_without_a_priority_goes_after_the_last_one(api, hot_leads, salesperson):
    response = api.post(
        RULES, {"name": "Everything else", "strategy": "pool", "active": False}, format="json"
    )

    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["priority"], body["active"], body["members"]) == (20, False, [])
    assert body["conditions"]["channels"] == []
    assert (body["sla_minutes"], body["max_rotations"], body["fallback"]) == (5, 2, "next_rule")


def test_the_list_runs_in_priority_order_in_a_fixed_number_of_queries(
    api, bdc_manager, salesperson, other_salesperson, sales_team, django_assert_num_queries
):
    people = [salesperson, other_salesperson]
    for priority, name in [(30, "Third"), (10, "First"), (20, "Second"), (40, "Fourth")]:
        rule_create(
            by=bdc_manager,
            name=name,
            priority=priority,
            strategy="round_robin",
            members=people,
            team=sales_team,
            fallback="manager",
            fallback_manager=bdc_manager,
        )

    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 count for the paginator,
    # 6 the page of rules with team and fallback manager joined, 7 the members of every rule.
    with django_assert_num_queries(7):
        response = api.get(RULES)

    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 4
    assert [rule["name"] for rule in body["results"]] == ["First", "Second", "Third", "Fourth"]
    assert all(rule["members"] == sorted(p.pk for p in people) for rule in body["results"])
    assert {rule["fallback_manager"] for rule in body["results"]} == {bdc_manager.pk}


def test_a_manager_reads_one_rule(api, hot_leads, salesperson):
    response = api.get(rule_url(hot_leads))

    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "Hot web leads"
    assert body["conditions"]["score_min"] == 70
    assert body["weights"][str(salesperson.pk)] == 1
    assert api.get(f"{RULES}999999/").status_code == 404


def test_patch_changes_only_the_fields_given(api, hot_leads, salesperson, other_salesperson):
    response = api.patch(
        rule_url(hot_leads),
        {"active": False, "conditions": {"channels": ["chat"]}, "sla_minutes": 15},
        format="json",
    )

    assert response.status_code == 200, response.content
    hot_leads.refresh_from_db()
    assert (hot_leads.active, hot_leads.sla_minutes) == (False, 15)
    # The conditions are replaced as a whole: the score condition is gone.
    assert hot_leads.conditions == {"channels": ["chat"]}
    assert hot_leads.name == "Hot web leads"
    assert hot_leads.strategy == "weighted"
    assert set(hot_leads.members.all()) == {salesperson, other_salesperson}
    assert response.json()["active"] is False


def test_patch_of_members_replaces_them(api, hot_leads, salesperson):
    response = api.patch(
        rule_url(hot_leads),
        {"members": [salesperson.pk], "weights": {str(salesperson.pk): 2}},
        format="json",
    )

    assert response.status_code == 200, response.content
    assert list(hot_leads.members.all()) == [salesperson]
    assert response.json()["weights"] == {str(salesperson.pk): 2}


def test_delete_removes_the_rule_and_its_cursor(api, hot_leads):
    response = api.delete(rule_url(hot_leads))

    assert response.status_code == 204
    assert not RoutingRule.objects.filter(pk=hot_leads.pk).exists()
    assert not RoutingCursor.objects.filter(rule_id=hot_leads.pk).exists()


def post_refused(api, **fields):
    body = {"name": "Refused", "strategy": "round_robin", **fields}
    response = api.post(RULES, body, format="json")
    assert response.status_code == 400, response.content
    assert not RoutingRule.objects.filter(name="Refused").exists()
    return response.json()


def test_an_unknown_channel_is_refused_under_its_condition(api, salesperson):
    body = post_refused(api, members=[salesperson.pk], conditions={"channels": ["fax"]})

    assert body == {"conditions": {"channels": ["unknown channel fax."]}}


def test_a_misspelt_condition_is_refused_not_ignored(api, salesperson):
    body = post_refused(api, members=[salesperson.pk], conditions={"channel": ["phone"]})

    assert body == {"conditions": ["unknown condition channel."]}


def test_a_score_range_upside_down_is_refused(api, salesperson):
    body = post_refused(
        api, members=[salesperson.pk], conditions={"score_min": 80, "score_max": 20}
    )

    assert body == {"conditions": {"score_max": ["must not be below score_min."]}}


def test_an_unknown_strategy_is_refused(api, salesperson):
    body = post_refused(api, members=[salesperson.pk], strategy="coin_flip")

    assert list(body) == ["strategy"]
    assert "coin_flip" in body["strategy"][0]
    assert "round_robin" in body["strategy"][0]


def test_a_service_advisor_cannot_be_a_member(api, salesperson, service_advisor):
    body = post_refused(api, members=[salesperson.pk, service_advisor.pk])

    assert list(body) == ["members"]
    assert "is a service advisor; leads go to sales or BDC." in body["members"][0]


def test_the_manager_fallback_needs_a_manager(api, salesperson):
    body = post_refused(api, members=[salesperson.pk], fallback="manager")

    assert body == {"fallback_manager": ["name the manager who takes the leads."]}


def test_weights_of_people_outside_the_rule_are_refused(api, salesperson, other_salesperson):
    body = post_refused(
        api,
        members=[salesperson.pk],
        strategy="weighted",
        weights={str(other_salesperson.pk): 2},
    )

    assert body == {"weights": [f"user {other_salesperson.pk} is not a member of the rule."]}


def test_a_second_rule_of_the_same_name_is_refused(api, hot_leads, salesperson):
    body = post_refused(api, members=[salesperson.pk], name="Hot web leads")

    assert body == {"name": ["another rule is already called Hot web leads."]}


def test_a_refused_patch_leaves_the_rule_as_it_was(api, hot_leads):
    response = api.patch(
        rule_url(hot_leads), {"active": False, "fallback": "manager"}, format="json"
    )

    assert response.status_code == 400
    assert response.json() == {"fallback_manager": ["name the manager who takes the leads."]}
    hot_leads.refresh_from_db()
    assert (hot_leads.active, hot_leads.fallback) == (True, "next_rule")


def test_a_salesperson_may_not_see_or_change_rules(salesperson, hot_leads):
    api = APIClient()
    api.force_login(salesperson)

    assert api.get(RULES).status_code == 403
    assert api.get(rule_url(hot_leads)).status_code == 403
    assert api.post(RULES, {"name": "Mine", "strategy": "pool"}, format="json").status_code == 403
    assert api.patch(rule_url(hot_leads), {"active": False}, format="json").status_code == 403
    assert api.delete(rule_url(hot_leads)).status_code == 403
    hot_leads.refresh_from_db()
    assert hot_leads.active
    assert RoutingRule.objects.count() == 1


def test_a_sales_manager_may_manage_rules(hot_leads):
    manager = make_staff(Role.SALES_MANAGER, None, username="sam")
    api = APIClient()
    api.force_login(manager)

    assert api.get(RULES).status_code == 200


def test_strangers_are_asked_to_authenticate(hot_leads):
    api = APIClient()

    assert api.get(RULES).status_code == 401
    assert api.delete(rule_url(hot_leads)).status_code == 401
    assert RoutingRule.objects.filter(pk=hot_leads.pk).exists()


def test_the_schema_documents_the_rules_endpoints(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")

    assert response.status_code == 200
    schema = response.json()
    assert set(schema["paths"]["/api/v1/routing/rules/"]) >= {"get", "post"}
    assert set(schema["paths"]["/api/v1/routing/rules/{id}/"]) >= {"get", "patch", "delete"}
    assert "put" not in schema["paths"]["/api/v1/routing/rules/{id}/"]
    conditions = schema["components"]["schemas"]["ConditionsRequest"]["properties"]
    assert {"channels", "score_min", "weekdays", "hours_from", "known_customer"} <= set(conditions)
