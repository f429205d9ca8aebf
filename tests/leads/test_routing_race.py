"""Routing under parallel intake on PostgreSQL: 8 threads posting 1,000 leads at once, claims
racing for one pool lead. (SQLite runs writers one at a time; these run on PostgreSQL only.)"""

import threading
from collections import Counter

import pytest
from django.db import connection

from dealercrm.models import Role
from leads.errors import LeadAlreadyClaimed
from leads.intake import lead_intake
from leads.models import Lead, LeadEvent
from leads.routing import lead_claim
from leads.submission import Submission
from routing.models import Fallback, Strategy
from routing.services import rule_create
from tests.factories import make_lead, make_staff
from tests.leads.test_services_race import in_thread

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="lock races run on PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

THREADS = 8


def post_in_parallel(total):
    """`total` new leads posted by THREADS threads at once; returns the errors raised."""
    start = threading.Barrier(THREADS)
    per_thread = total // THREADS

    def post(worker):
        def run():
            start.wait(30)
            for n in range(per_thread):
                number = worker * per_thread + n
                lead_intake(
                    Submission(
                        source="website",
                        external_id=f"race-{number}",
                        emails=(f"buyer{number}@example.net",),
                    )
                )

        return run

    threads = [in_thread(post(worker)) for worker in range(THREADS)]
    for thread, _ in threads:
        thread.join(300)
    return [outcome["error"] for _, outcome in threads if "error" in outcome]


def test_a_thousand_parallel_leads_are_each_assigned_once_in_fair_turns(sales_team):
    people = [make_staff(Role.SALESPERSON, sales_team, capacity=500) for _ in range(7)]
    manager = make_staff(Role.BDC_MANAGER, sales_team)
    rule_create(by=manager, name="All", strategy=Strategy.ROUND_ROBIN, members=people)

    errors = post_in_parallel(1000)

    assert errors == []
    assert Lead.objects.count() == 1000
    assert Lead.objects.filter(owner__isnull=True).count() == 0
    routed = Counter(
        LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED).values_list("lead_id", flat=True)
    )
    assert len(routed) == 1000 and set(routed.values()) == {1}
    counts = Counter(Lead.objects.values_list("owner_id", flat=True))
    assert max(counts.values()) - min(counts.values()) <= 1


def test_parallel_leads_never_push_anyone_over_capacity(sales_team):
    people = [make_staff(Role.SALESPERSON, sales_team, capacity=10) for _ in range(5)]
    manager = make_staff(Role.BDC_MANAGER, sales_team)
    rule_create(
        by=manager,
        name="Least loaded",
        strategy=Strategy.LEAST_LOADED,
        members=people,
        team=sales_team,
        fallback=Fallback.POOL,
    )

    errors = post_in_parallel(96)

    assert errors == []
    counts = Counter(Lead.objects.exclude(owner=None).values_list("owner_id", flat=True))
    assert counts == {person.pk: 10 for person in people}
    assert Lead.objects.filter(owner__isnull=True).count() == 46


def test_of_eight_people_claiming_one_pool_lead_exactly_one_gets_it(sales_team):
    people = [make_staff(Role.SALESPERSON, sales_team) for _ in range(THREADS)]
    lead = make_lead(team=sales_team)
    start = threading.Barrier(THREADS)

    def claim(person):
        def run():
            start.wait(30)
            return lead_claim(lead=lead, by=person)

        return run

    threads = [in_thread(claim(person)) for person in people]
    for thread, _ in threads:
        thread.join(30)

    outcomes = [outcome for _, outcome in threads]
    winners = [outcome["value"].owner_id for outcome in outcomes if "value" in outcome]
    assert len(winners) == 1
    assert all(isinstance(o["error"], LeadAlreadyClaimed) for o in outcomes if "error" in o)
    lead.refresh_from_db()
    assert lead.owner_id == winners[0]
    assert lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).count() == 1
