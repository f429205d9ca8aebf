"""A new lead routed to a person tells its owner who the customer is and when to call by; a lead
left in a pool or disqualified tells nobody."""

from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
from django.core import mail
from django.db import connection

from dealercrm.models import Notification
from dealercrm.tasks import notification_email
from leads.intake import lead_intake, lead_intake_many
from leads.models import LeadSource
from leads.submission import Submission, VehicleDetails
from leads.tracking import WebEventInput, web_events_record
from routing.models import Strategy
from routing.services import rule_create

WEDNESDAY_10AM = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
LOCK = 1 if connection.vendor == "postgresql" else 0


@pytest.fixture
def web_rule(sellers, bdc_manager):
    return rule_create(by=bdc_manager, name="Web", strategy=Strategy.ROUND_ROBIN, members=sellers)


@pytest.fixture
def cars_com(db):
    return LeadSource.objects.create(key="cars-com", name="Cars.com", quality_points=5)


def inquiry(n, **fields):
    fields.setdefault("source", "cars-com")
    return Submission(
        external_id=f"f-{n}",
        first_name="Maria",
        last_name=f"Lopez{n}",
        emails=(f"maria{n}@example.net",),
        **fields,
    )


def browse(visitor_id):
    """Two visits: last evening one vehicle, this morning two more and a page."""
    evening = WEDNESDAY_10AM - timedelta(hours=16)
    morning = WEDNESDAY_10AM - timedelta(minutes=20)
    web_events_record(
        [
            WebEventInput(visitor_id, "vehicle_view", evening, vin="KNDC3DLC5R5000001"),
            WebEventInput(visitor_id, "vehicle_view", morning, vin="KNDC3DLC5R5000002"),
            WebEventInput(visitor_id, "vehicle_view", morning, make="Kia", model="EV9"),
            WebEventInput(visitor_id, "page_view", morning + timedelta(minutes=12)),
        ],
        at=WEDNESDAY_10AM,
    )


def test_the_owner_of_a_routed_lead_hears_who_it_is_and_when_to_call_by(
    sellers, web_rule, cars_com
):
    browse("v-1")
    submission = inquiry(
        1, visitor_id="v-1", vehicle=VehicleDetails(year=2025, make="Kia", model="EV6")
    )

    lead = lead_intake(submission, at=WEDNESDAY_10AM).lead

    notice = Notification.objects.get()
    assert notice.recipient == sellers[0] == lead.owner
    assert notice.kind == "assigned"
    assert notice.url == f"/leads/{lead.pk}/"
    assert notice.created_at == WEDNESDAY_10AM
    # base 10 + e-mail 10 + 2 sessions × 4 + 3 vehicles × 2 + seen in the last day 10 + source 5
    assert (lead.score, lead.score_band) == (49, "warm")
    assert notice.message == (
        "New lead, call by 10:05: Maria Lopez1 · 2025 Kia EV6 · score 49 (warm) · via Cars.com "
        "· on the website: 2 sessions, 3 vehicles viewed, last seen 09:52"
    )


def test_a_customer_never_seen_on_the_site_gets_a_summary_without_a_website_part(sellers, web_rule):
    lead_intake(inquiry(1, source="website", phones=("+13125550101",)), at=WEDNESDAY_10AM)

    assert Notification.objects.get().message == (
        "New lead, call by 10:05: Maria Lopez1 · score 35 (cold) · via website"
    )


def test_a_lead_due_after_closing_says_on_which_day_to_call(sellers, web_rule):
    friday_night = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)

    lead_intake(inquiry(1), at=friday_night)

    assert Notification.objects.get().message.startswith("New lead, call by Sat Nov 21, 09:05: ")


def test_the_owner_is_emailed_the_summary_after_intake_commits(
    sellers, web_rule, django_capture_on_commit_callbacks
):
    ann = sellers[0]
    ann.email = "ann@dealer.example"
    ann.save(update_fields=["email"])
    with (
        mock.patch("dealercrm.services.async_task") as enqueued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        lead = lead_intake(inquiry(1), at=WEDNESDAY_10AM).lead

    notice = Notification.objects.get()
    enqueued.assert_called_once_with("dealercrm.tasks.notification_email", notice.pk)
    notification_email(notice.pk)
    (email,) = mail.outbox
    assert email.to == ["ann@dealer.example"]
    assert email.subject == "New lead, call by 10:05: Maria Lopez1 · score 20 (cold) · via cars-com"
    assert f"/leads/{lead.pk}/" in email.body


def test_a_lead_left_in_the_pool_notifies_nobody(db):
    lead = lead_intake(inquiry(1), at=WEDNESDAY_10AM).lead

    assert lead.owner is None
    assert not Notification.objects.exists()


def test_a_lead_disqualified_at_intake_notifies_nobody(sellers, web_rule):
    lead = lead_intake(inquiry(1, honeypot_filled=True), at=WEDNESDAY_10AM).lead

    assert lead.status == "disqualified"
    assert not Notification.objects.exists()


def test_an_import_tells_each_owner_of_each_lead_and_enqueues_one_email_task(
    sellers, web_rule, cars_com, django_capture_on_commit_callbacks
):
    with (
        mock.patch("dealercrm.services.async_task") as enqueued,
        django_capture_on_commit_callbacks(execute=True),
    ):
        results = lead_intake_many(
            [inquiry(n) for n in range(5)] + [inquiry(9, honeypot_filled=True)],
            at=WEDNESDAY_10AM,
        )

    notices = Notification.objects.order_by("id")
    assert [(n.recipient_id, n.url) for n in notices] == [
        (result.lead.owner_id, f"/leads/{result.lead.pk}/") for result in results[:5]
    ]
    assert [n.recipient for n in notices][:3] == sellers
    assert notices[0].message == (
        "New lead, call by 10:05: Maria Lopez0 · score 25 (cold) · via Cars.com"
    )
    enqueued.assert_called_once_with("dealercrm.tasks.notifications_email", [n.pk for n in notices])


def test_the_summary_reuses_what_intake_read_and_costs_one_insert_and_one_enqueue(
    sellers, web_rule, cars_com, django_assert_num_queries, django_capture_on_commit_callbacks
):
    lead_intake(inquiry(0), at=WEDNESDAY_10AM)  # the source and weights are cached
    browse("v-1")

    # savepoint, [lock], what is known, customer insert, visitor claimed, its events linked to
    # the customer, the website profile (read once, for the score and for the summary), the
    # rule set's version, the rule's cursor locked, the people with their open leads, the
    # chosen person read, their open leads recounted, the cursor saved, lead insert, history
    # insert, inquiry insert, the notification insert, release; on commit, the e-mail task
    # enqueued (an INSERT into django-q2's ORM queue).
    with (
        django_assert_num_queries(18 + LOCK),
        django_capture_on_commit_callbacks(execute=True),
    ):
        lead_intake(inquiry(1, visitor_id="v-1"), at=WEDNESDAY_10AM)

    assert "on the website: 2 sessions, 3 vehicles viewed" in (
        Notification.objects.filter(recipient=sellers[1]).get().message
    )
