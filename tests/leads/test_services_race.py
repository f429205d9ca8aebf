"""Two people (or a person and a job) acting on one lead at once.

SQLite takes its write lock at the start of each transaction, so these races cannot happen there;
they run on PostgreSQL, where the row lock is what keeps them apart.
"""

import threading

import pytest
from django.db import connection, transaction

from leads.errors import InvalidTransition
from leads.models import Activity, LeadEvent, LeadStatus
from leads.services import activity_log, lead_change_status
from tests.factories import make_lead, reason

S = LeadStatus
pytestmark = [
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="row-lock races run on PostgreSQL"
    ),
    # The flush after a transactional test would drop the migrated groups and reasons.
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def in_thread(target):
    """Run `target` on its own database connection; returns the thread and its outcome."""
    outcome = {}

    def run():
        try:
            outcome["value"] = target()
        except Exception as error:  # noqa: BLE001 - the test inspects whatever happened
            outcome["error"] = error
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread, outcome


def test_a_second_close_waits_for_the_first_and_is_refused_after_it(salesperson, other_salesperson):
    lead = make_lead(S.CONTACTED, owner=salesperson)
    first_wrote, first_may_commit = threading.Event(), threading.Event()

    def sell():
        with transaction.atomic():
            lead_change_status(lead=lead, to_status=S.SOLD, by=salesperson)
            first_wrote.set()
            first_may_commit.wait(10)

    def lose():
        first_wrote.wait(10)
        return lead_change_status(
            lead=lead, to_status=S.LOST, by=other_salesperson, reason=reason("lost", "price")
        )

    seller, _ = in_thread(sell)
    loser, lost = in_thread(lose)
    loser.join(timeout=1)
    assert loser.is_alive(), "the second change must wait for the first one's row lock"
    first_may_commit.set()
    seller.join(10)
    loser.join(10)

    assert isinstance(lost.get("error"), InvalidTransition)
    assert "'sold' cannot move to 'lost'" in str(lost["error"])
    lead.refresh_from_db()
    assert lead.status == S.SOLD
    closing = lead.events.filter(kind=LeadEvent.Kind.STATUS_CHANGED, from_status=S.CONTACTED)
    assert list(closing.values_list("to_status", flat=True)) == [S.SOLD]


def test_simultaneous_first_calls_contact_a_lead_once(salesperson, other_salesperson):
    lead = make_lead(S.NEW, owner=salesperson)
    start = threading.Barrier(4)

    def call(person):
        def run():
            start.wait(5)
            return activity_log(lead=lead, kind=Activity.Kind.CALL, by=person)

        return run

    runs = [in_thread(call(p)) for p in (salesperson, other_salesperson) * 2]
    for thread, _ in runs:
        thread.join(10)

    assert [outcome.get("error") for _, outcome in runs] == [None] * 4
    assert lead.activities.count() == 4
    assert lead.events.filter(to_status=S.CONTACTED).count() == 1
    lead.refresh_from_db()
    assert lead.status == S.CONTACTED
    assert lead.first_contacted_at == min(a.occurred_at for a in lead.activities.all())
