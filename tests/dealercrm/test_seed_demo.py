"""The demo dealership: believable, complete history, and safe to load twice."""

import pytest
from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count

from leads.models import Activity, Lead, LeadEvent, LeadStatus
from tests.helpers import counts, leads_whose_status_differs_from_their_history, seed


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    """One demo load shared by this module's tests (it takes seconds), rolled back at the end;
    each test runs in a savepoint inside it."""
    with django_db_blocker.unblock(), transaction.atomic():
        seed(demo_users=True)
        yield counts()
        transaction.set_rollback(True)


@pytest.mark.django_db
def test_seeding_twice_gives_the_same_counts(seeded):
    seed(demo_users=True)

    assert counts() == seeded
    # The demo's leads, and the ones its coming lease ends and loan maturities made when the
    # sweeps ran after seeding.
    recycled = Lead.objects.filter(source="recycle").count()
    assert recycled > 0
    assert seeded["Lead"] == 320 + recycled


@pytest.mark.django_db
def test_the_demo_has_leads_in_every_status_with_owners_and_activities(seeded):
    by_status = dict(Lead.objects.values_list("status").annotate(n=Count("id")))

    assert set(by_status) == set(LeadStatus)
    assert all(n >= 5 for n in by_status.values()), by_status
    assert Activity.objects.filter(automated=True).exists()
    assert Activity.objects.filter(automated=False, kind="call").exists()
    assert LeadEvent.objects.filter(cause=LeadEvent.ReopenCause.AUDIT).exists()
    assert Lead.objects.filter(owner__username="sales").count() >= 10


@pytest.mark.django_db
def test_every_demo_lead_has_a_complete_history(seeded):
    assert not Lead.objects.exclude(events__kind=LeadEvent.Kind.CREATED).exists()
    assert list(leads_whose_status_differs_from_their_history()) == []
    contacted_without_time = Lead.objects.exclude(status__in=["new", "disqualified", "lost"])
    assert not contacted_without_time.filter(first_contacted_at__isnull=True).exists()


@pytest.mark.django_db
def test_demo_logins_have_the_documented_password(seeded):
    user = get_user_model().objects.get(username="salesmanager")

    assert user.check_password("demo-dealercrm")
    assert user.groups.get().name == "Sales manager"
