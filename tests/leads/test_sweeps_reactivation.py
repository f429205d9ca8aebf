"""The reactivation sweep: a lost lead whose customer shows buying behaviour on the website comes
back to work with its previous owner — or to a manager's review — with the evidence recorded.
Clock-controlled: every sweep runs as of a given `now`."""

import threading
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection

from dealercrm.models import Notification, StaffProfile
from dealercrm.schedules import sweep_run
from leads.models import (
    FollowUpTask,
    Lead,
    LeadEvent,
    LeadStatus,
    LifecycleSettings,
    Resurfacing,
)
from leads.resurfacing import resurfacing_review_decide
from leads.services import activity_log, lead_assign, lead_change_status, lead_create
from leads.tasks import reactivation_sweep
from tests.factories import CustomerFactory, browse, reason
from tests.leads.test_services_race import in_thread

CLOSED = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)


def later(days, hours=0):
    return CLOSED + timedelta(days=days, hours=hours)


def closed_lead(owner, status=LeadStatus.LOST, code="bought_elsewhere", customer=None):
    """A lead its owner qualified, then closed at CLOSED."""
    lead = lead_create(
        customer=customer or CustomerFactory(first_name="Maria", last_name="Lopez"),
        source="website",
        channel="web_form",
        by="test",
        at=CLOSED - timedelta(days=3),
    )
    lead_assign(lead=lead, owner=owner, by="test", at=CLOSED - timedelta(days=3))
    activity_log(lead=lead, kind="call", by=owner, occurred_at=CLOSED - timedelta(days=2))
    if status == LeadStatus.LOST:
        lead_change_status(lead=lead, to_status="qualified", by=owner, at=CLOSED - timedelta(1))
    lead_change_status(
        lead=lead, to_status=status, by=owner, reason=reason(status, code), at=CLOSED
    )
    return Lead.objects.get(pk=lead.pk)


def review_mode():
    LifecycleSettings.objects.update_or_create(pk=1, defaults={"reactivation_mode": "review"})


@pytest.mark.django_db
def test_a_lost_customer_viewing_a_vehicle_is_back_with_their_salesperson(salesperson):
    lead = closed_lead(salesperson)
    browse(lead.customer, later(2), make="Toyota", model="RAV4")

    result = reactivation_sweep(now=later(2, 1))

    assert (result["reopened"], result["changed"]) == (1, 1)
    lead.refresh_from_db()
    assert (lead.status, lead.owner, lead.resurfaced_at) == ("qualified", salesperson, later(2, 1))
    summary = "1 visit since Oct 1, last Oct 3 10:00; looked at Toyota RAV4"
    reopened = lead.events.get(kind=LeadEvent.Kind.REOPENED)
    assert (reopened.cause, reopened.actor_label, reopened.from_status) == (
        "resurfacing",
        "sweep:reactivation",
        "lost",
    )
    assert reopened.note == f"Shopping again: {summary}"
    resurfacing = Resurfacing.objects.get(lead=lead)
    assert (resurfacing.kind, resurfacing.outcome, resurfacing.owner) == (
        "reactivation",
        "reopened",
        salesperson,
    )
    assert resurfacing.evidence["vehicles"] == ["Toyota RAV4"]
    assert resurfacing.evidence["since"] == CLOSED.isoformat()
    assert lead.tasks.get(kind=FollowUpTask.Kind.RESURFACED).assignee == salesperson
    notification = Notification.objects.get(kind="resurfaced")
    assert (notification.recipient, notification.message) == (
        salesperson,
        f"Maria Lopez came back: {summary}",
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("visits", "comes_back"),
    [
        ([("a", "page_view")], False),  # one visit, no vehicle, no form
        ([("a", "page_view"), ("b", "page_view")], True),  # two visits
        ([("a", "form_view")], True),
        ([("a", "vehicle_view")], True),
        ([("a", "search"), ("a", "page_view")], False),  # still one visit
    ],
    ids=["one-page", "two-visits", "form", "vehicle", "one-visit-two-pages"],
)
def test_buying_behaviour_is_two_visits_a_vehicle_view_or_a_form(salesperson, visits, comes_back):
    lead = closed_lead(salesperson)
    for n, (session, kind) in enumerate(visits):
        browse(lead.customer, later(1, n), session=session, type=kind)

    reactivation_sweep(now=later(2))

    lead.refresh_from_db()
    assert (lead.status == LeadStatus.QUALIFIED) is comes_back


@pytest.mark.django_db
def test_the_thresholds_are_the_dealerships_to_set(salesperson):
    LifecycleSettings.objects.update_or_create(
        pk=1, defaults={"reactivation_vehicle_views": 3, "reactivation_sessions": 0}
    )
    lead = closed_lead(salesperson)
    browse(lead.customer, later(1), session="a")
    browse(lead.customer, later(1, 1), session="b")

    assert reactivation_sweep(now=later(2))["reopened"] == 0

    browse(lead.customer, later(3), session="c")
    assert reactivation_sweep(now=later(3, 1))["reopened"] == 1


@pytest.mark.django_db
def test_activity_before_the_closing_or_outside_the_window_is_no_evidence(salesperson):
    lead = closed_lead(salesperson)
    browse(lead.customer, CLOSED - timedelta(hours=1))
    browse(lead.customer, later(1), type="page_view", session="a")

    # The vehicle view came before the lead was closed; a single later page view is not enough.
    assert reactivation_sweep(now=later(1, 1))["reopened"] == 0

    browse(lead.customer, later(12), type="page_view", session="b")
    # Two visits, but eleven days apart: the window is 7 days.
    assert reactivation_sweep(now=later(12, 1))["reopened"] == 0


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("code", "comes_back"),
    [("spam", False), ("invalid_contact", False), ("duplicate", False), ("non_target", True)],
)
def test_spam_and_invalid_leads_are_never_brought_back(salesperson, code, comes_back):
    lead = closed_lead(salesperson, status=LeadStatus.DISQUALIFIED, code=code)
    browse(lead.customer, later(1))

    result = reactivation_sweep(now=later(1, 1))

    assert result["reopened"] == int(comes_back)
    lead.refresh_from_db()
    assert (lead.status != LeadStatus.DISQUALIFIED) is comes_back


@pytest.mark.django_db
def test_only_the_customers_latest_lead_comes_back_and_never_beside_an_open_one(salesperson):
    older = closed_lead(salesperson)
    newer = closed_lead(salesperson, customer=older.customer)
    browse(older.customer, later(1))

    assert reactivation_sweep(now=later(1, 1))["reopened"] == 1
    assert Lead.objects.get(pk=older.pk).status == LeadStatus.LOST
    assert Lead.objects.get(pk=newer.pk).status == LeadStatus.QUALIFIED

    browse(older.customer, later(2))
    assert reactivation_sweep(now=later(2, 1))["examined"] == 0


@pytest.mark.django_db
def test_running_twice_at_the_same_moment_changes_nothing_the_second_time(salesperson):
    lead = closed_lead(salesperson)
    browse(lead.customer, later(1))
    sweep_run("reactivation", later(1, 1))
    rows = (LeadEvent.objects.count(), Resurfacing.objects.count(), Notification.objects.count())

    again = sweep_run("reactivation", later(1, 1))

    assert (again["examined"], again["changed"]) == (0, 0)
    assert (
        LeadEvent.objects.count(),
        Resurfacing.objects.count(),
        Notification.objects.count(),
    ) == rows


@pytest.mark.django_db
def test_a_previous_owner_who_left_is_replaced_by_routing(salesperson, other_salesperson):
    lead = closed_lead(salesperson)
    StaffProfile.objects.filter(user=salesperson).update(active=False)
    browse(lead.customer, later(1))

    reactivation_sweep(now=later(1, 1))

    lead.refresh_from_db()
    assert lead.status == LeadStatus.QUALIFIED
    assert lead.owner is None  # no routing rule: the team's pool, and the managers hear of it
    assert lead.routing["kind"] == "resurfaced"
    assert lead.routing["explanation"].startswith(
        "The customer came back and Alice alice no longer takes leads."
    )


@pytest.mark.django_db
def test_in_review_mode_the_comeback_waits_for_a_manager(salesperson, bdc_manager):
    review_mode()
    lead = closed_lead(salesperson)
    browse(lead.customer, later(1))

    first = reactivation_sweep(now=later(1, 1))
    second = reactivation_sweep(now=later(1, 2))

    assert (first["review"], second["review"]) == (1, 0)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.LOST
    review = Resurfacing.objects.get(lead=lead)
    assert (review.outcome, review.owner, review.summary) == (
        "review",
        None,
        "1 visit since Oct 1, last Oct 2 10:00; looked at Kia EV6",
    )
    alert = Notification.objects.get(kind="comeback_review")
    assert alert.recipient == bdc_manager
    assert alert.url == "/leads/comebacks/"

    decided = resurfacing_review_decide(resurfacing=review, by=bdc_manager, reopen=True)

    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (LeadStatus.QUALIFIED, salesperson)
    assert (decided.outcome, decided.decided_by, decided.owner) == (
        "reopened",
        bdc_manager,
        salesperson,
    )
    assert lead.events.get(kind=LeadEvent.Kind.REOPENED).actor == bdc_manager
    assert Resurfacing.objects.count() == 1
    assert Notification.objects.get(kind="resurfaced").recipient == salesperson
    assert resurfacing_review_decide(resurfacing=review, by=bdc_manager, reopen=False) is None


@pytest.mark.django_db
def test_a_dismissed_comeback_returns_only_on_activity_after_the_dismissal(
    salesperson, bdc_manager
):
    review_mode()
    lead = closed_lead(salesperson)
    browse(lead.customer, later(1))
    reactivation_sweep(now=later(1, 1))
    review = Resurfacing.objects.get(lead=lead)
    resurfacing_review_decide(resurfacing=review, by=bdc_manager, reopen=False, at=later(1, 2))

    browse(lead.customer, later(1, 1.5), type="page_view", session="x")  # reported late
    assert reactivation_sweep(now=later(1, 3))["review"] == 0

    browse(lead.customer, later(2), session="y")
    assert reactivation_sweep(now=later(2, 1))["review"] == 1
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.LOST


@pytest.mark.skipif(connection.vendor != "postgresql", reason="lock races run on PostgreSQL")
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_sweeps_at_once_reopen_each_lead_once(salesperson):
    leads = [closed_lead(salesperson) for _ in range(8)]
    for lead in leads:
        browse(lead.customer, later(1))
    start = threading.Barrier(2)

    def sweep():
        start.wait(30)
        return reactivation_sweep(now=later(1, 1))

    threads = [in_thread(sweep) for _ in range(2)]
    for thread, _ in threads:
        thread.join(120)

    results = [outcome["value"] for _, outcome in threads]
    assert sum(result["reopened"] for result in results) == 8
    assert Lead.objects.filter(status=LeadStatus.QUALIFIED).count() == 8
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.REOPENED).count() == 8
    assert Notification.objects.filter(kind="resurfaced").count() == 8
