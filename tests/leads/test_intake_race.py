"""Two posts of one inquiry, or two inquiries of one person, arriving at the same moment.

On PostgreSQL an advisory lock per inquiry id and contact detail keeps them apart; SQLite runs
writers one at a time, so these run on PostgreSQL only.
"""

import threading
import time

import pytest
from django.db import connection, transaction

from dealercrm.models import Customer
from leads.intake import lead_intake
from leads.models import Inquiry, Lead
from leads.submission import Submission
from tests.leads.test_services_race import in_thread

pytestmark = [
    pytest.mark.skipif(connection.vendor != "postgresql", reason="lock races run on PostgreSQL"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def race(first, second):
    """Intake `first` and hold its transaction open while `second` starts; then commit."""
    first_wrote, release = threading.Event(), threading.Event()

    def hold():
        with transaction.atomic():
            result = lead_intake(first)
            first_wrote.set()
            release.wait(10)
        return result

    def follow():
        first_wrote.wait(10)
        return lead_intake(second)

    holder, held = in_thread(hold)
    follower, followed = in_thread(follow)
    first_wrote.wait(10)
    time.sleep(0.3)  # the follower is now waiting on the lock
    assert follower.is_alive(), "the second intake did not wait for the first"
    release.set()
    holder.join(10)
    follower.join(10)
    assert "error" not in held and "error" not in followed, (held, followed)
    return held["value"], followed["value"]


def test_the_same_inquiry_posted_twice_at_once_makes_one_lead(db):
    inquiry = Submission(source="website", external_id="f-1", emails=("ann@example.com",))

    first, second = race(inquiry, inquiry)

    assert (first.outcome, second.outcome) == ("created", "already_received")
    assert second.lead.pk == first.lead.pk
    assert Lead.objects.count() == Inquiry.objects.count() == 1


def test_two_inquiries_of_one_new_customer_at_once_make_one_customer_and_one_lead(db):
    first, second = race(
        Submission(source="website", external_id="f-1", emails=("ann@example.com",)),
        Submission(source="cars-com", external_id="c-9", emails=("ANN@example.com",)),
    )

    assert (first.outcome, second.outcome) == ("created", "merged")
    assert Customer.objects.count() == Lead.objects.count() == 1
    assert Inquiry.objects.count() == 2
