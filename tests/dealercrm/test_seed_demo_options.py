"""seed_demo options, each on an empty database."""

import pytest
from django.contrib.auth import get_user_model

from leads.models import Lead
from tests.helpers import (
    counts,
    leads_whose_status_differs_from_their_history,
    seed,
)


@pytest.mark.django_db
def test_without_debug_or_the_flag_no_login_is_created():
    seed()

    assert not get_user_model().objects.filter(username__in=["sales", "admin"]).exists()
    assert not get_user_model().objects.filter(password__startswith="pbkdf2").exists()
    assert Lead.objects.exclude(source="recycle").count() == 320


@pytest.mark.django_db
def test_if_empty_leaves_a_database_with_customers_alone():
    seed()
    before = counts()

    seed(if_empty=True, leads=50)

    assert counts() == before


@pytest.mark.django_db
def test_bulk_leads_are_added_with_consistent_history():
    seed()
    before = Lead.objects.count()

    seed(leads=1200)

    bulk = Lead.objects.filter(external_id__startswith="bulk-")
    assert Lead.objects.count() == before + 1200
    assert bulk.count() == 1200
    assert list(leads_whose_status_differs_from_their_history()) == []
    assert not bulk.filter(status__in=["sold", "lost"], first_contacted_at__isnull=True).exists()
    assert not bulk.filter(status="lost", close_reason__isnull=True).exists()
