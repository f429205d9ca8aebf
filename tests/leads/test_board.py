"""The team board: every lead with filters, bulk reassignment through routing (all or none),
and each person's load and overdue share."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from leads.models import FollowUpTask, LeadEvent
from leads.services import lead_change_status
from tests.factories import make_lead, reason

pytestmark = pytest.mark.django_db


def test_the_board_lists_every_lead_and_filters_by_owner(
    client, bdc_manager, salesperson, other_salesperson, django_assert_num_queries
):
    mine = [make_lead(owner=salesperson) for _ in range(3)]
    theirs = make_lead("contacted", owner=other_salesperson)
    client.force_login(bdc_manager)
    client.get(reverse("leads:board"))

    # session, user, the people of the owner filter, the teams of the team filter, the count,
    # the page of leads with customer, owner, team and reason, the people of the reassign
    # form, the workload of each person.
    with django_assert_num_queries(8):
        response = client.get(reverse("leads:board"))
    filtered = client.get(reverse("leads:board"), {"owner": salesperson.pk})

    assert [lead.pk for lead in response.context["page"]] == [
        theirs.pk,
        *reversed([lead.pk for lead in mine]),
    ]
    assert [lead.pk for lead in filtered.context["page"]] == [lead.pk for lead in reversed(mine)]


def test_the_board_shows_each_persons_overdue_share(
    client, bdc_manager, salesperson, other_salesperson
):
    lead = make_lead("contacted", owner=salesperson)
    make_lead("contacted", owner=other_salesperson)
    overdue = lead.tasks.order_by("id")[:4].values_list("pk", flat=True)
    FollowUpTask.objects.filter(pk__in=list(overdue)).update(
        due_on=timezone.localdate() - timedelta(days=1)
    )
    client.force_login(bdc_manager)

    workload = {
        person.user_id: person for person in client.get(reverse("leads:board")).context["workload"]
    }

    alice, bob = workload[salesperson.pk], workload[other_salesperson.pk]
    assert (alice.open_leads, alice.open_tasks, alice.overdue_tasks) == (1, 16, 4)
    assert (bob.open_tasks, bob.overdue_tasks) == (16, 0)
    assert "25%" in client.get(reverse("leads:board")).content.decode()


def test_bulk_reassignment_goes_through_routing_with_the_reason(
    client, bdc_manager, salesperson, other_salesperson
):
    leads = [make_lead(owner=salesperson) for _ in range(3)]
    client.force_login(bdc_manager)

    response = client.post(
        reverse("leads:board_reassign"),
        {
            "leads": [lead.pk for lead in leads[:2]],
            "owner": other_salesperson.pk,
            "reason": "Sick day",
        },
    )

    assert response.status_code == 302
    owners = {lead.pk: lead.owner_id for lead in leads}
    for lead in leads:
        lead.refresh_from_db()
    assert [lead.owner_id for lead in leads] == [
        other_salesperson.pk,
        other_salesperson.pk,
        salesperson.pk,
    ]
    assert owners[leads[2].pk] == salesperson.pk
    event = leads[0].events.filter(kind=LeadEvent.Kind.ASSIGNED).last()
    assert event.actor == bdc_manager
    assert event.note.startswith("Reassigned by Dana dana from Alice alice to Bob bob: Sick day")
    assert leads[0].routing["kind"] == "reassigned"


def test_bulk_reassignment_is_all_or_nothing(client, bdc_manager, salesperson, other_salesperson):
    open_lead = make_lead(owner=salesperson)
    closing = make_lead("contacted", owner=salesperson)
    client.force_login(bdc_manager)
    page_form = {
        "leads": [open_lead.pk, closing.pk],
        "owner": other_salesperson.pk,
        "reason": "Cover",
    }
    # The second lead closes after the board was shown: the form no longer accepts it.
    lead_change_status(
        lead=closing, to_status="lost", by=salesperson, reason=reason("lost", "bought_elsewhere")
    )

    response = client.post(reverse("leads:board_reassign"), page_form, follow=True)

    open_lead.refresh_from_db()
    assert open_lead.owner == salesperson
    assert "is not one of the available choices" in response.content.decode()


def test_a_reason_is_required(client, bdc_manager, salesperson, other_salesperson):
    lead = make_lead(owner=salesperson)
    client.force_login(bdc_manager)

    response = client.post(
        reverse("leads:board_reassign"),
        {"leads": [lead.pk], "owner": other_salesperson.pk},
        follow=True,
    )

    lead.refresh_from_db()
    assert lead.owner == salesperson
    assert "Reason: This field is required." in response.content.decode()


def test_salespeople_have_no_board(client, salesperson):
    client.force_login(salesperson)

    assert client.get(reverse("leads:board")).status_code == 403
    assert client.post(reverse("leads:board_reassign")).status_code == 403


def test_home_sends_each_role_to_its_start(client, salesperson, bdc_manager, service_advisor):
    client.force_login(salesperson)
    assert client.get("/")["Location"] == reverse("leads:queue")
    client.force_login(bdc_manager)
    assert client.get("/")["Location"] == reverse("leads:board")
    client.force_login(service_advisor)
    assert client.get("/")["Location"] == reverse("service:desk")
