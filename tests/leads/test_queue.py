"""My queue: a person's open leads in order of urgency, with filters, search and counters."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import Customer
from leads.models import FollowUpTask, Lead
from leads.resurfacing import lead_reactivate
from leads.services import lead_change_status
from leads.tasks import stale_sweep
from tests.factories import CustomerFactory, browse, make_lead

pytestmark = pytest.mark.django_db


def queue(client, **params):
    return client.get(reverse("leads:queue"), params)


def ids(response):
    return [lead.pk for lead in response.context["page"]]


def set_fields(lead, **fields):
    Lead.objects.filter(pk=lead.pk).update(**fields)


@pytest.fixture
def story(salesperson, other_salesperson):
    """One lead of each kind of urgency, created in the reverse of the order they must show."""
    now = timezone.now()
    today = timezone.localdate()
    leads = {}
    leads["rest"] = make_lead("contacted", owner=salesperson)
    leads["due_today"] = make_lead("contacted", owner=salesperson)
    leads["overdue"] = make_lead("contacted", owner=salesperson)
    leads["hot"] = make_lead("contacted", owner=salesperson, score=85)
    leads["resurfaced"] = make_lead("lost", owner=salesperson)
    browse(leads["resurfaced"].customer, now + timedelta(seconds=1))
    assert lead_reactivate(leads["resurfaced"].pk, now=now + timedelta(seconds=2)) == "reopened"
    leads["due_later"] = make_lead(owner=salesperson)
    leads["due_soon"] = make_lead(owner=salesperson)
    set_fields(leads["due_later"], first_response_due_at=now + timedelta(minutes=4))
    set_fields(leads["due_soon"], first_response_due_at=now + timedelta(minutes=1))
    # Plans start tomorrow; move the first task of two leads to today and to last week.
    FollowUpTask.objects.filter(lead__in=[leads["due_today"], leads["overdue"]]).update(
        due_on=today + timedelta(days=3)
    )
    first = FollowUpTask.objects.filter(lead=leads["due_today"]).order_by("id").first()
    FollowUpTask.objects.filter(pk=first.pk).update(due_on=today)
    first = FollowUpTask.objects.filter(lead=leads["overdue"]).order_by("id").first()
    FollowUpTask.objects.filter(pk=first.pk).update(due_on=today - timedelta(days=2))
    make_lead(owner=other_salesperson)  # someone else's: never in Alice's queue
    make_lead("sold", owner=salesperson)  # closed: not in the queue
    return leads


def test_the_queue_orders_leads_by_urgency(client, salesperson, story):
    client.force_login(salesperson)

    response = queue(client)

    expected = ["due_soon", "due_later", "resurfaced", "hot", "overdue", "due_today", "rest"]
    assert ids(response) == [story[name].pk for name in expected]
    page = response.content.decode()
    assert "First response due" in page
    assert "Came back" in page
    assert "Overdue since" in page
    assert "Due today:" in page


def test_the_counters_say_what_needs_the_person(client, salesperson, sales_team, story):
    make_lead(team=sales_team)  # in the team pool
    client.force_login(salesperson)

    counters = queue(client).context["counters"]

    assert counters == {
        "open": 7,
        "first_response": 2,
        "resurfaced": 1,
        "hot": 1,
        "stale": 0,
        "pool": 1,
        "overdue": 1,
        "due_today": 2,  # the plan's task, and the call the resurfaced customer is owed
    }


def test_the_counters_refresh_on_their_own(client, salesperson, story):
    client.force_login(salesperson)

    response = client.get(reverse("leads:queue_counters"))

    page = response.content.decode()
    assert 'hx-trigger="every 60s, leadChanged from:body"' in page
    assert "<strong>2</strong> first response" in page
    assert "<html" not in page


def test_filters_narrow_the_queue(client, salesperson, story):
    client.force_login(salesperson)

    assert ids(queue(client, status="new")) == [story["due_soon"].pk, story["due_later"].pk]
    assert ids(queue(client, resurfaced="true")) == [story["resurfaced"].pk]
    assert ids(queue(client, score_band="hot")) == [story["hot"].pk]


def test_a_lead_the_stale_sweep_flagged_can_be_filtered(client, salesperson):
    stale = make_lead("contacted", owner=salesperson)
    make_lead("contacted", owner=salesperson)
    set_fields(stale, last_activity_at=timezone.now() - timedelta(days=8))
    stale_sweep(now=timezone.now())
    client.force_login(salesperson)

    assert ids(queue(client, stale="true")) == [stale.pk]


@pytest.mark.parametrize(
    "search", ["Zoë", "zoë quint", "QUINT", "quint@example", "(202) 555-0199", "555 0199"]
)
def test_search_finds_the_customer_by_name_e_mail_or_phone(client, salesperson, search):
    customer = CustomerFactory(
        first_name="Zoë", last_name="Quint", email="quint@example.com", phone="+12025550199"
    )
    wanted = make_lead(owner=salesperson, customer=customer)
    make_lead(owner=salesperson)
    client.force_login(salesperson)

    assert ids(queue(client, q=search)) == [wanted.pk]


def test_a_filter_change_by_htmx_gets_only_the_results(client, salesperson, story):
    client.force_login(salesperson)

    response = client.get(
        reverse("leads:queue"),
        {"status": "new"},
        HTTP_HX_REQUEST="true",
        HTTP_HX_TARGET="queue-results",
    )

    page = response.content.decode()
    assert page.lstrip().startswith('<section id="queue-results"')
    assert "counters" not in response.context


def test_the_queue_pages_keep_the_filters(client, salesperson):
    for _ in range(27):
        make_lead("contacted", owner=salesperson)
    client.force_login(salesperson)

    response = queue(client, status="contacted")

    assert len(response.context["page"]) == 25
    assert "?status=contacted&amp;page=2" in response.content.decode()


def test_a_lead_logged_today_leaves_the_top_once_contacted(client, salesperson):
    lead = make_lead(owner=salesperson)
    client.force_login(salesperson)
    before = queue(client).context["page"][0].urgency

    lead_change_status(lead=lead, to_status="contacted", by=salesperson)
    after = queue(client).context["page"][0].urgency

    assert (before, after) == (0, 9)


def test_the_queue_runs_the_same_queries_however_many_leads(client, salesperson):
    client.force_login(salesperson)

    def count_queries():
        with CaptureQueriesContext(connection) as captured:
            queue(client)
        return len(captured.captured_queries)

    for _ in range(3):
        make_lead("contacted", owner=salesperson)
    queue(client)  # permissions are cached from the first request on
    few = count_queries()
    for _ in range(12):
        make_lead("contacted", owner=salesperson, customer=Customer.objects.create())
    many = count_queries()

    # session, user, staff profile (team), the counters of leads and of tasks, the count for
    # the paginator, the page with each lead's next task.
    assert few == many == 7


def test_a_service_advisor_has_no_queue(client, service_advisor):
    client.force_login(service_advisor)

    assert queue(client).status_code == 403


def test_the_counters_fragment_runs_a_fixed_number_of_queries(
    client, salesperson, story, django_assert_num_queries
):
    client.force_login(salesperson)
    client.get(reverse("leads:queue_counters"))

    # session, user, staff profile (team), the counters of leads, the counters of tasks.
    with django_assert_num_queries(5):
        client.get(reverse("leads:queue_counters"))
