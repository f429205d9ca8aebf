"""Who sees which leads: Alice must not see Bob's leads; service staff see no sales leads."""

import pytest
from django.urls import reverse

from leads.models import LeadStatus
from leads.permissions import lead_queryset_for_user
from tests.factories import make_lead


@pytest.fixture
def leads(salesperson, other_salesperson, used_car_salesperson, sales_team, other_team):
    return {
        "alice": make_lead(owner=salesperson),
        "alice_sold": make_lead(LeadStatus.SOLD, owner=salesperson),
        "bob": make_lead(owner=other_salesperson),
        "new_cars_pool": make_lead(team=sales_team),
        "used_cars_pool": make_lead(team=other_team),
        "carol": make_lead(owner=used_car_salesperson),
    }


def visible(user, leads):
    ids = set(lead_queryset_for_user(user).values_list("pk", flat=True))
    return {name for name, lead in leads.items() if lead.pk in ids}


def test_a_salesperson_sees_own_leads_and_the_unassigned_pool_of_the_team(salesperson, leads):
    assert visible(salesperson, leads) == {"alice", "alice_sold", "new_cars_pool"}


def test_a_salesperson_of_another_team_sees_that_teams_pool(used_car_salesperson, leads):
    assert visible(used_car_salesperson, leads) == {"carol", "used_cars_pool"}


def test_a_bdc_manager_sees_every_lead(bdc_manager, leads):
    assert visible(bdc_manager, leads) == set(leads)


def test_a_service_advisor_sees_no_sales_leads(service_advisor, leads):
    assert visible(service_advisor, leads) == set()


def test_an_inactive_user_sees_nothing(salesperson, leads):
    salesperson.is_active = False
    assert visible(salesperson, leads) == set()


def test_a_lead_of_someone_else_answers_404_like_a_missing_one(client, salesperson, leads):
    client.force_login(salesperson)

    others = client.get(reverse("leads:detail", args=[leads["bob"].pk]))
    missing = client.get(reverse("leads:detail", args=[999999]))
    own = client.get(reverse("leads:detail", args=[leads["alice"].pk]))

    assert others.status_code == 404
    assert missing.status_code == 404
    assert own.status_code == 200
    assert own.context["lead"] == leads["alice"]


def test_a_service_advisor_gets_404_for_a_sales_lead(client, service_advisor, leads):
    client.force_login(service_advisor)

    response = client.get(reverse("leads:detail", args=[leads["alice"].pk]))

    assert response.status_code == 404


def test_the_lead_list_shows_only_visible_leads(client, salesperson, leads):
    client.force_login(salesperson)

    response = client.get(reverse("leads:list"))

    shown = {lead.pk for lead in response.context["page"]}
    assert shown == {leads["alice"].pk, leads["alice_sold"].pk, leads["new_cars_pool"].pk}


def test_pages_need_a_login(client, leads):
    response = client.get(reverse("leads:detail", args=[leads["alice"].pk]))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))
