"""The recycling sweep: a customer's coming life-cycle date (lease end, loan maturity, warranty
end, purchase anniversary, service due) becomes a lead for their previous salesperson, once per
date. Clock-controlled."""

import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection

from dealercrm.models import LifecycleDate, Notification, StaffProfile, Vehicle
from dealercrm.schedules import sweep_run
from leads.models import FollowUpTask, Lead, LeadStatus, Recycling
from leads.services import lead_change_status
from leads.tasks import recycle_sweep
from routing.models import Strategy
from routing.services import rule_create
from tests.factories import CustomerFactory, make_lead
from tests.leads.test_services_race import in_thread

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
LEASE_ENDS = date(2027, 3, 1)  # 90 days after NOW: lease ends come back 90 days ahead


@pytest.fixture
def bought(salesperson):
    """A customer who bought from Alice, with the car and its lease end on file."""
    customer = CustomerFactory(first_name="Maria", last_name="Lopez")
    make_lead("sold", owner=salesperson, customer=customer)
    vehicle = Vehicle.objects.create(
        vin="JTMRFREV0HD000001", year=2024, make="Toyota", model="RAV4", owner=customer
    )
    return LifecycleDate.objects.create(
        customer=customer, vehicle=vehicle, kind=LifecycleDate.Kind.LEASE_END, date=LEASE_ENDS
    )


def recycled_leads():
    return Lead.objects.filter(source="recycle")


@pytest.mark.django_db
def test_a_lease_ending_in_90_days_is_a_new_lead_for_the_salesperson_who_sold_the_car(
    salesperson, bought
):
    result = recycle_sweep(now=NOW)

    assert (result["created"], result["changed"]) == (1, 1)
    lead = recycled_leads().get()
    assert (lead.customer, lead.owner, lead.channel, lead.status) == (
        bought.customer,
        salesperson,
        "recycle",
        LeadStatus.NEW,
    )
    assert (lead.tradein_make, lead.tradein_model, lead.tradein_vin) == (
        "Toyota",
        "RAV4",
        "JTMRFREV0HD000001",
    )
    assert lead.first_response_due_at is None
    assert lead.routing["explanation"] == (
        "Lease ends on Mar 1, 2027 (2024 Toyota RAV4): back to Alice alice, the customer's "
        "salesperson"
    )
    task = lead.tasks.get()
    assert (task.assignee, task.due_on, task.title) == (
        salesperson,
        NOW.date(),
        "Lease ends on Mar 1, 2027 (2024 Toyota RAV4): talk about the next car",
    )
    notification = Notification.objects.get(kind="assigned", recipient=salesperson)
    assert notification.message == (
        "Maria Lopez is back for you: lease ends on Mar 1, 2027 (2024 Toyota RAV4). "
        "Talk about the next car today."
    )
    recycling = Recycling.objects.get()
    assert (recycling.lifecycle_date, recycling.lead, recycling.created_lead) == (
        bought,
        lead,
        True,
    )


@pytest.mark.django_db
def test_each_date_is_recycled_once(salesperson, bought):
    sweep_run("recycle", NOW)

    again = sweep_run("recycle", NOW)
    next_day = sweep_run("recycle", NOW + timedelta(days=1))

    assert again["changed"] == next_day["changed"] == 0
    assert recycled_leads().count() == 1


@pytest.mark.django_db
def test_a_date_further_ahead_waits_until_its_time(salesperson, bought):
    assert recycle_sweep(now=NOW - timedelta(days=1))["created"] == 0
    assert recycle_sweep(now=NOW)["created"] == 1


@pytest.mark.django_db
def test_a_date_long_past_is_not_recycled(salesperson, bought):
    assert recycle_sweep(now=NOW + timedelta(days=90 + 31))["examined"] == 0


@pytest.mark.django_db
def test_a_customer_with_an_open_lead_gets_a_task_on_it_instead(
    salesperson, other_salesperson, bought
):
    open_lead = make_lead("qualified", owner=other_salesperson, customer=bought.customer)

    result = recycle_sweep(now=NOW)

    assert (result["added"], result["created"]) == (1, 0)
    assert not recycled_leads().exists()
    task = open_lead.tasks.get(title__startswith="Lease ends")
    assert (task.assignee, task.status) == (other_salesperson, "open")
    notification = Notification.objects.get(kind="recycled")
    assert notification.recipient == other_salesperson
    assert Recycling.objects.get().created_lead is False


@pytest.mark.django_db
def test_when_the_salesperson_left_the_rules_choose(salesperson, sellers, bdc_manager, bought):
    StaffProfile.objects.filter(user=salesperson).update(active=False)
    rule_create(by=bdc_manager, name="Recycled", strategy=Strategy.ROUND_ROBIN, members=sellers)

    recycle_sweep(now=NOW)

    lead = recycled_leads().get()
    assert lead.owner == sellers[0]
    assert lead.routing["explanation"].startswith("Lease ends on Mar 1, 2027 (2024 Toyota RAV4): ")
    assert lead.tasks.get().assignee == sellers[0]


@pytest.mark.django_db
def test_a_sale_brings_the_customer_back_a_year_later_and_every_year(salesperson):
    customer = CustomerFactory()
    lead = make_lead("qualified", owner=salesperson, customer=customer)
    lead_change_status(lead=lead, to_status="sold", by=salesperson, at=NOW)
    anniversary = LifecycleDate.objects.get(customer=customer)
    assert (anniversary.kind, anniversary.date) == ("purchase_anniversary", date(2027, 12, 1))

    recycle_sweep(now=NOW + timedelta(days=365 - 30))

    assert recycled_leads().get().owner == salesperson
    assert list(LifecycleDate.objects.filter(customer=customer).values_list("date", flat=True)) == [
        date(2027, 12, 1),
        date(2028, 12, 1),
    ]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lock races run on PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_make_one_lead_per_date(salesperson):
    dates = []
    for n in range(6):
        customer = CustomerFactory()
        make_lead("sold", owner=salesperson, customer=customer)
        dates.append(
            LifecycleDate.objects.create(
                customer=customer, kind="loan_maturity", date=LEASE_ENDS + timedelta(days=n % 2)
            )
        )
    start = threading.Barrier(2)

    def sweep():
        start.wait(30)
        return recycle_sweep(now=NOW + timedelta(days=1))

    threads = [in_thread(sweep) for _ in range(2)]
    for thread, _ in threads:
        thread.join(120)

    results = [outcome["value"] for _, outcome in threads]
    assert sum(result["created"] for result in results) == 6
    assert recycled_leads().count() == 6
    assert FollowUpTask.objects.filter(lead__source="recycle").count() == 6
