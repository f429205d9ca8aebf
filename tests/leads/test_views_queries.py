"""Query counts of the lead pages and the admin lead list, pinned so that a column that queries
per row is caught."""

import pytest
from django.urls import reverse

from leads.models import Activity, LeadStatus
from leads.services import activity_log
from tests.factories import make_lead


@pytest.fixture
def many_leads(salesperson, sales_team):
    leads = [make_lead(status, owner=salesperson) for status in LeadStatus for _ in range(2)]
    leads += [make_lead(team=sales_team) for _ in range(3)]
    for lead in leads[:5]:
        activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson)
    return leads


@pytest.mark.django_db
def test_the_lead_list_runs_a_fixed_number_of_queries(
    client, salesperson, many_leads, django_assert_num_queries
):
    client.force_login(salesperson)
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 staff profile (team),
    # 6 count for the paginator, 7 the page of leads with customer, owner, team, reason.
    with django_assert_num_queries(7):
        response = client.get(reverse("leads:list"))

    assert len(response.context["page"]) == len(many_leads)


@pytest.mark.django_db
def test_the_lead_page_runs_a_fixed_number_of_queries(
    client, salesperson, many_leads, django_assert_num_queries
):
    client.force_login(salesperson)
    lead = many_leads[0]
    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 staff profile (team),
    # 6 the lead with customer, owner, team, reason, 7 its events with people and reasons,
    # 8 its activities with people, 9 its inquiries, 10 the customer's website profile,
    # 11 the customer's latest website events (the timeline's visits), 12 the open tasks,
    # 13 the customer's other leads, 14 the reasons of the status form.
    with django_assert_num_queries(14):
        response = client.get(reverse("leads:detail", args=[lead.pk]))

    assert response.context["lead"].pk == lead.pk


@pytest.mark.django_db
def test_the_admin_lead_list_runs_a_fixed_number_of_queries(
    admin_client, many_leads, django_assert_num_queries
):
    # 1 session, 2 user, 3 teams for the team filter, 4 count of matching rows (the unfiltered
    # total is not counted again: show_full_result_count is off), 5 the page of leads with
    # customer, owner and team. No date hierarchy: it scans the whole table twice.
    with django_assert_num_queries(5):
        response = admin_client.get(reverse("admin:leads_lead_changelist"))

    assert response.context["cl"].result_count == len(many_leads)
