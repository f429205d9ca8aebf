"""The stale sweep: open leads quiet for 7, 14 or 21 days are flagged with their tier, and the
ones whose customer is still shopping on the website ("not lost") go back to their salesperson
with what the customer looked at — once. Clock-controlled: every sweep runs as of a given `now`.
"""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from dealercrm.models import Notification, StaffProfile
from dealercrm.schedules import sweep_run
from leads.models import FollowUpTask, Lead, LeadEvent, LifecycleSettings, Resurfacing
from leads.services import activity_log, lead_assign, lead_create
from leads.tasks import stale_sweep
from routing.models import Strategy
from routing.services import rule_create
from tests.factories import CustomerFactory, browse
from tests.leads.test_services_race import in_thread

WORKED = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)  # the lead's last CRM activity


def day(n, hours=0):
    return WORKED + timedelta(days=n, hours=hours)


def quiet_lead(owner, at=WORKED):
    """A lead its owner called at `at`, and nobody touched since."""
    lead = lead_create(
        customer=CustomerFactory(first_name="Maria", last_name="Lopez"),
        source="website",
        channel="web_form",
        by="test",
        at=at - timedelta(minutes=5),
    )
    lead_assign(lead=lead, owner=owner, by="test", at=at - timedelta(minutes=5))
    activity_log(lead=lead, kind="call", by=owner, occurred_at=at, outcome="connected")
    return Lead.objects.get(pk=lead.pk)


def tier(lead):
    return Lead.objects.values_list("stale_tier", flat=True).get(pk=lead.pk)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("days", "expected"),
    [(6, 0), (7, 7), (8, 7), (13, 7), (14, 14), (15, 14), (20, 14), (21, 21), (22, 21)],
)
def test_a_lead_is_flagged_with_the_tier_its_quiet_days_reached(salesperson, days, expected):
    lead = quiet_lead(salesperson)
    assert lead.last_activity_at == WORKED

    result = stale_sweep(now=day(days))

    assert tier(lead) == expected
    assert result["changed"] == (1 if expected else 0)
    assert result["resurfaced"] == 0  # the customer was not on the website


@pytest.mark.django_db
def test_a_day_by_day_schedule_moves_the_tier_exactly_at_each_boundary(salesperson):
    lead = quiet_lead(salesperson)
    seen = {}
    for n in range(1, 23):
        result = sweep_run("stale", day(n))
        seen[n] = (tier(lead), result["changed"])

    assert seen[6] == (0, 0)
    assert seen[7] == (7, 1)
    assert seen[8] == (7, 0)
    assert seen[13] == (7, 0)
    assert seen[14] == (14, 1)
    assert seen[15] == (14, 0)
    assert seen[20] == (14, 0)
    assert seen[21] == (21, 1)
    assert seen[22] == (21, 0)
    assert sum(changed for _, changed in seen.values()) == 3


@pytest.mark.django_db
def test_a_lead_crossing_several_tiers_between_runs_gets_the_highest(salesperson):
    lead = quiet_lead(salesperson)
    sweep_run("stale", day(2))

    result = sweep_run("stale", day(15))

    assert tier(lead) == 14
    assert (result["quiet_7"], result["quiet_14"], result["changed"]) == (0, 1, 1)


@pytest.mark.django_db
def test_any_crm_activity_clears_the_flag(salesperson):
    lead = quiet_lead(salesperson)
    stale_sweep(now=day(8))
    assert tier(lead) == 7

    activity_log(lead=lead, kind="note", by=salesperson, body="Waiting for the bank")

    assert tier(lead) == 0


@pytest.mark.django_db
def test_a_quiet_lead_whose_customer_shops_on_the_site_goes_back_to_its_owner_with_the_evidence(
    salesperson,
):
    lead = quiet_lead(salesperson)
    customer = lead.customer
    browse(customer, day(3), session="a", make="Kia", model="EV6", vin="KNDC3DLC5P5000001")
    browse(customer, day(3, 0.1), session="a", make="Kia", model="EV6", vin="KNDC3DLC5P5000001")
    browse(customer, day(5), session="b", make="Kia", model="Sorento")
    browse(customer, day(5, 0.2), session="b", type="form_view")
    browse(customer, day(5, 0.3), session="b", type="payment_calculator")

    result = stale_sweep(now=day(7))

    assert (result["quiet_7"], result["resurfaced"]) == (1, 1)
    lead.refresh_from_db()
    assert (lead.stale_tier, lead.resurfaced_at, lead.owner) == (7, day(7), salesperson)
    summary = (
        "2 visits since Oct 1, last Oct 6 10:18; looked at Kia EV6 (2 views), Kia Sorento; "
        "opened a form; payment calculator"
    )
    resurfacing = Resurfacing.objects.get(lead=lead)
    assert (resurfacing.kind, resurfacing.outcome, resurfacing.quiet_days) == (
        "not_lost",
        "resurfaced",
        7,
    )
    assert resurfacing.summary == summary
    assert resurfacing.owner == salesperson
    assert resurfacing.evidence == {
        "since": WORKED.isoformat(),
        "sessions": 2,
        "vehicle_views": 3,
        "vehicles": ["Kia EV6 (2 views)", "Kia Sorento"],
        "form_views": 1,
        "actions": ["Payment calculator"],
        "last_seen_at": day(5, 0.3).isoformat(),
    }
    event = lead.events.get(kind=LeadEvent.Kind.RESURFACED)
    assert (event.actor_label, event.at) == ("sweep:stale", day(7))
    assert event.note == f"Quiet for 7 days, still shopping: {summary}"
    task = lead.tasks.get(kind=FollowUpTask.Kind.RESURFACED)
    assert (task.assignee, task.due_on, task.title) == (
        salesperson,
        day(7).date(),
        "Maria Lopez came back: call today",
    )
    notification = Notification.objects.get(kind="resurfaced")
    assert notification.recipient == salesperson
    assert notification.message == f"Maria Lopez came back: {summary}"
    assert notification.url == f"/leads/{lead.pk}/"


@pytest.mark.django_db
def test_browsing_before_the_last_crm_activity_is_no_sign_of_life(salesperson):
    lead = quiet_lead(salesperson)
    browse(lead.customer, WORKED - timedelta(hours=2))

    result = stale_sweep(now=day(7))

    assert (result["quiet_7"], result["resurfaced"]) == (1, 0)
    assert not Resurfacing.objects.exists()


@pytest.mark.django_db
def test_a_quiet_lead_whose_customer_comes_back_later_is_resurfaced_by_the_next_run(salesperson):
    lead = quiet_lead(salesperson)
    sweep_run("stale", day(7))
    browse(lead.customer, day(9))

    first = sweep_run("stale", day(9, 1))
    again = sweep_run("stale", day(9, 2))

    assert (first["resurfaced"], first["changed"]) == (1, 1)
    assert (again["resurfaced"], again["changed"]) == (0, 0)
    assert Notification.objects.filter(kind="resurfaced").count() == 1
    assert Resurfacing.objects.get(lead=lead).quiet_days == 7


@pytest.mark.django_db
def test_running_twice_at_the_same_moment_changes_nothing_the_second_time(salesperson):
    leads = [quiet_lead(salesperson) for _ in range(3)]
    browse(leads[0].customer, day(4))
    first = stale_sweep(now=day(8))
    rows = (LeadEvent.objects.count(), FollowUpTask.objects.count(), Notification.objects.count())

    second = stale_sweep(now=day(8))

    assert (first["changed"], first["resurfaced"]) == (3, 1)
    assert second == {
        "examined": 0,
        "changed": 0,
        "quiet_7": 0,
        "quiet_14": 0,
        "quiet_21": 0,
        "resurfaced": 0,
        "errors": [],
    }
    assert (
        LeadEvent.objects.count(),
        FollowUpTask.objects.count(),
        Notification.objects.count(),
    ) == rows


@pytest.mark.django_db
def test_a_customer_still_shopping_is_told_once_until_someone_calls(salesperson):
    lead = quiet_lead(salesperson)
    browse(lead.customer, day(3))
    sweep_run("stale", day(7))
    browse(lead.customer, day(10))

    later = sweep_run("stale", day(14))

    assert (later["quiet_14"], later["resurfaced"]) == (1, 0)  # nobody is nagged twice
    assert Notification.objects.filter(kind="resurfaced").count() == 1

    activity_log(lead=lead, kind="call", by=salesperson, occurred_at=day(15), outcome="no_answer")
    lead.refresh_from_db()
    assert (lead.stale_tier, lead.resurfaced_at) == (0, None)
    browse(lead.customer, day(18))
    sweep_run("stale", day(22))

    assert Notification.objects.filter(kind="resurfaced").count() == 2
    open_tasks = lead.tasks.filter(kind=FollowUpTask.Kind.RESURFACED, status="open")
    assert [task.due_on for task in open_tasks] == [day(22).date()]


@pytest.mark.django_db
def test_a_comeback_on_a_lead_whose_owner_left_goes_to_whoever_the_rules_choose(
    sellers, bdc_manager
):
    ann, ben, cat = sellers
    lead = quiet_lead(ann)
    rule_create(by=bdc_manager, name="Web", strategy=Strategy.ROUND_ROBIN, members=[ben, cat])
    StaffProfile.objects.filter(user=ann).update(active=False)
    browse(lead.customer, day(2))

    stale_sweep(now=day(7))

    lead.refresh_from_db()
    assert lead.owner == ben
    assigned = lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).last()
    assert assigned.note.startswith("The customer came back and Ann Seller no longer takes leads. ")
    assert Resurfacing.objects.get(lead=lead).owner == ben
    assert lead.tasks.get(kind=FollowUpTask.Kind.RESURFACED).assignee == ben
    assert list(
        Notification.objects.filter(kind="resurfaced").values_list("recipient", flat=True)
    ) == [ben.pk]


@pytest.mark.django_db
def test_with_nobody_to_choose_the_managers_hear_of_the_comeback(sellers, bdc_manager):
    lead = quiet_lead(sellers[0])
    StaffProfile.objects.filter(user=sellers[0]).update(active=False)
    browse(lead.customer, day(2))

    stale_sweep(now=day(7))

    lead.refresh_from_db()
    assert lead.owner is None
    notification = Notification.objects.get(kind="resurfaced")
    assert notification.recipient == bdc_manager
    assert notification.message.startswith(
        "Maria Lopez came back while the lead waits in the New cars pool: 1 visit since Oct 1"
    )


@pytest.mark.django_db
def test_the_tiers_are_the_dealerships_to_set(salesperson):
    LifecycleSettings.objects.update_or_create(pk=1, defaults={"stale_tiers": [3, 10]})
    lead = quiet_lead(salesperson)

    assert stale_sweep(now=day(4))["quiet_3"] == 1
    assert tier(lead) == 3
    assert stale_sweep(now=day(10))["quiet_10"] == 1
    assert tier(lead) == 10


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lock races run on PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_flag_and_tell_each_lead_once(sellers):
    leads = [quiet_lead(sellers[n % 3]) for n in range(30)]
    for lead in leads[:10]:
        browse(lead.customer, day(3))
    start = threading.Barrier(2)

    def sweep():
        start.wait(30)
        return stale_sweep(now=day(8))

    threads = [in_thread(sweep) for _ in range(2)]
    for thread, _ in threads:
        thread.join(120)
    outcomes = [outcome for _, outcome in threads]

    assert [outcome.get("error") for outcome in outcomes] == [None, None]
    results = [outcome["value"] for outcome in outcomes]
    assert sum(result["quiet_7"] for result in results) == 30
    assert sum(result["resurfaced"] for result in results) == 10
    assert Lead.objects.filter(stale_tier=7).count() == 30
    assert Resurfacing.objects.count() == 10
    assert Notification.objects.filter(kind="resurfaced").count() == 10
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.RESURFACED).count() == 10
    assert FollowUpTask.objects.filter(kind=FollowUpTask.Kind.RESURFACED).count() == 10
