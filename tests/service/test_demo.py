"""The demo workshop: an advisor's day to work, a year of lost sales with every event and reason,
brought back and won back, and safe to load twice."""

from datetime import datetime, time, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from dealercrm.models import SweepRun
from dealercrm.schedules import sweep_run
from leads.models import OPEN_STATUSES, Lead, Reason
from service.models import (
    CorrectiveAction,
    CustomerIssue,
    Recapture,
    ServiceCampaign,
    ServiceEvent,
    ServiceLoss,
    ServiceOpportunity,
    Stage,
)
from tests.helpers import seed

SERVICE_MODELS = (
    ServiceOpportunity,
    ServiceLoss,
    Recapture,
    ServiceEvent,
    ServiceCampaign,
    CorrectiveAction,
    CustomerIssue,
)


def service_counts():
    return {model.__name__: model.objects.count() for model in SERVICE_MODELS}


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One demo load shared by this module's tests (it takes seconds), rolled back at the end;
    each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed(demo_users=True)
        yield service_counts()
        transaction.set_rollback(True)


def today_range():
    today = timezone.localdate()
    start = timezone.make_aware(datetime.combine(today, time.min))
    return start, start + timedelta(days=1)


@pytest.mark.django_db
def test_seeding_twice_adds_no_service_data(seeded):
    seed(demo_users=True)

    assert service_counts() == seeded
    assert 140 <= seeded["ServiceOpportunity"] <= 190, seeded


@pytest.mark.django_db
def test_the_advisor_finds_appointments_quotes_and_cars_in_the_workshop_today(seeded):
    start, end = today_range()
    mine = ServiceOpportunity.objects.filter(advisor__username="advisor", status="open")

    appointments = mine.filter(
        booked_for__gte=start, booked_for__lt=end, stage__in=[Stage.PLANNED, Stage.BOOKED]
    )
    assert appointments.count() >= 2
    assert mine.filter(source="quote", stage=Stage.PLANNED).exists()
    in_the_workshop = mine.filter(
        stage__in=[Stage.CHECKED_IN, Stage.IN_WORK, Stage.QUALITY_CHECK]
    ).values_list("stage", flat=True)
    assert set(in_the_workshop) == {Stage.CHECKED_IN, Stage.IN_WORK, Stage.QUALITY_CHECK}
    # The follow-ups due today that the sweep brought back at the end of the seed.
    due = Recapture.objects.filter(
        assignee__username="advisor", status="open", due_on=timezone.localdate()
    ).values_list("kind", flat=True)
    assert {"rebook", "follow_up"} <= set(due)


@pytest.mark.django_db
def test_every_stage_source_and_status_appears(seeded):
    opportunities = ServiceOpportunity.objects

    assert set(opportunities.values_list("stage", flat=True)) == set(Stage.values)
    assert set(opportunities.values_list("source", flat=True)) == set(
        ServiceOpportunity.Source.values
    )
    assert set(opportunities.values_list("status", flat=True)) == set(
        ServiceOpportunity.Status.values
    )
    advisors = set(opportunities.values_list("advisor__username", flat=True))
    assert {"advisor", "advisor2", "hpark"} <= advisors


@pytest.mark.django_db
def test_every_loss_event_and_every_reason_appears_with_its_money(seeded):
    losses = ServiceLoss.objects.all()
    reasons = Reason.objects.filter(kind=Reason.Kind.SERVICE_LOSS, active=True)

    assert set(losses.values_list("event", flat=True)) == set(ServiceLoss.Event.values)
    assert set(losses.values_list("reason__code", flat=True)) == set(
        reasons.values_list("code", flat=True)
    )
    assert not losses.filter(amount__lte=0).exists()
    assert losses.filter(whole=False).exists() and losses.filter(whole=True).exists()
    # About a quarter to a third of the opportunities lose some of their sale.
    share = losses.values("opportunity").distinct().count() / ServiceOpportunity.objects.count()
    assert 0.2 <= share <= 0.4, share
    # Spread over the year, not bunched in one month.
    months = {loss.at.strftime("%Y-%m") for loss in losses}
    assert len(months) >= 10, months


@pytest.mark.django_db
def test_lost_sales_come_back_in_every_way_and_some_are_won_back(seeded):
    kinds = set(Recapture.objects.values_list("kind", flat=True))
    recovery = dict(ServiceLoss.objects.values_list("recovery").annotate(n=Count("id")).order_by())

    assert kinds == set(Recapture.Kind.values)
    assert set(recovery) == set(ServiceLoss.Recovery.values)
    won_back = ServiceLoss.objects.filter(recovery="recovered")
    assert won_back.count() >= 10
    # Each sale won back has its booking, which went through the workshop like any other.
    assert not won_back.exclude(recoveries__isnull=False).exists()
    assert ServiceOpportunity.objects.filter(recovers__isnull=False, status="won").exists()
    assert Recapture.objects.filter(status="booked", booking__isnull=False).count() == (
        won_back.count()
    )


@pytest.mark.django_db
def test_a_running_campaign_offers_brake_work_declined_on_price(seeded):
    today = timezone.localdate()
    running = ServiceCampaign.objects.get(active=True, starts_on__lte=today, ends_on__gte=today)

    offers = Recapture.objects.filter(campaign=running, kind="campaign", status="open")

    assert offers.count() >= 3
    for offer in offers.select_related("loss__reason", "loss__opportunity"):
        assert offer.loss.reason.code in ("price_too_high", "competitor_offer")
        assert offer.loss.recovery == "pending"
        assert "brake" in (offer.loss.opportunity.title + str(offer.loss.declined_items)).lower()
    # The campaign that ran in the spring won some of its work back.
    ended = ServiceCampaign.objects.get(ends_on__lt=today)
    assert Recapture.objects.filter(campaign=ended, status="booked").count() == 2


@pytest.mark.django_db
def test_corrective_actions_made_their_reason_rarer_and_issues_are_open(seeded):
    actions = CorrectiveAction.objects.select_related("reason")

    assert {action.reason.code for action in actions} == {"missing_parts", "no_show"}
    for action in actions:
        started = timezone.make_aware(datetime.combine(action.started_on, time.min))
        window = timedelta(days=84)
        of_reason = ServiceLoss.objects.filter(reason=action.reason)
        before = of_reason.filter(at__gte=started - window, at__lt=started).count()
        after = of_reason.filter(at__gte=started, at__lt=started + window).count()
        assert before >= 4 and after < before, (action.reason.code, before, after)
    assert CustomerIssue.objects.filter(status="open").count() >= 3
    assert CustomerIssue.objects.filter(status="resolved").exists()


@pytest.mark.django_db
def test_old_cars_of_sales_customers_tell_their_salesperson_without_new_leads(seeded):
    visits = ServiceOpportunity.objects.filter(sales_lead__isnull=False).select_related(
        "sales_lead", "vehicle"
    )

    assert visits.count() >= 3
    for visit in visits:
        assert visit.sales_lead.status in OPEN_STATUSES
        assert visit.sales_lead.customer_id == visit.customer_id
        assert visit.vehicle.year <= timezone.localdate().year - 7
    # The sales demo's leads, plus those its own sweeps made: the service demo adds none.
    assert Lead.objects.exclude(source="recycle").count() == 320
    assert (
        ServiceEvent.objects.filter(
            kind="sales_lead", summary__startswith="Sales told on their open lead"
        ).count()
        == visits.count()
    )


@pytest.mark.django_db
def test_every_opportunity_has_its_history_and_nothing_happens_in_the_future(seeded):
    now = timezone.now()
    opportunities = ServiceOpportunity.objects.all()

    assert not opportunities.exclude(events__kind=ServiceEvent.Kind.CREATED).exists()
    assert not ServiceLoss.objects.exclude(
        pk__in=ServiceEvent.objects.filter(kind="loss").values("loss")
    ).exists()
    lost_without_whole_loss = opportunities.filter(status="lost").exclude(losses__whole=True)
    assert not lost_without_whole_loss.exists()
    assert not opportunities.filter(
        Q(created_at__gt=now) | Q(closed_at__gt=now) | Q(checked_in_at__gt=now)
    ).exists()
    assert not ServiceEvent.objects.filter(at__gt=now).exists()
    assert not opportunities.filter(status="won", actual_value__isnull=True).exists()


@pytest.mark.django_db
def test_the_recapture_sweep_ran_and_a_rerun_brings_nothing_back_twice(seeded):
    run = SweepRun.objects.get(name="service-recapture")

    again = sweep_run("service-recapture", run.as_of)

    assert run.changed >= 5
    assert again["changed"] == 0


@pytest.mark.django_db
def test_the_service_logins_have_the_documented_password(seeded):
    users = get_user_model().objects.filter(username__in=["advisor", "advisor2", "servicemanager"])

    assert {user.username: user.groups.get().name for user in users} == {
        "advisor": "Service advisor",
        "advisor2": "Service advisor",
        "servicemanager": "Service manager",
    }
    assert all(user.check_password("demo-dealercrm") for user in users)
