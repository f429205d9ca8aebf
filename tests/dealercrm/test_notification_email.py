"""Notifications that ask a person to act also go out by e-mail: enqueued after commit, sent by a
django-q2 task at most once, and only to people who want them."""

from unittest import mock

import pytest
from django.core import mail
from django.db import transaction

from dealercrm.models import Notification
from dealercrm.services import (
    EMAIL_TASK_BATCH,
    notification_build,
    notification_send,
    notifications_send_many,
)
from dealercrm.tasks import notification_email, notifications_email

SITE = "https://crm.example-dealer.com"


@pytest.fixture(autouse=True)
def site_url(settings):
    settings.SITE_URL = SITE


@pytest.fixture
def enqueued():
    """The tasks enqueued through django-q2, as (function, argument) pairs."""
    with mock.patch("dealercrm.services.async_task") as async_task:
        yield async_task


@pytest.fixture
def alice(salesperson):
    salesperson.email = "alice@dealer.example"
    salesperson.save(update_fields=["email"])
    return salesperson


def send(
    recipient, message="Maria Lopez is yours: call by 10:05.", kind="assigned", url="/leads/7/"
):
    return notification_send(recipient=recipient, kind=kind, message=message, url=url)


def test_the_task_emails_the_message_with_a_link_and_how_to_stop(alice):
    notice = send(alice)

    assert notification_email(notice.pk) == "sent"

    (email,) = mail.outbox
    assert email.to == ["alice@dealer.example"]
    assert email.subject == "Maria Lopez is yours: call by 10:05."
    assert email.body.startswith("Hello Alice alice,\n\nMaria Lopez is yours: call by 10:05.\n")
    assert f"Open it: {SITE}/leads/7/\n" in email.body
    assert '"E-mail me my notifications" is on in your staff profile' in email.body
    assert "To turn these e-mails off" in email.body
    assert f"{SITE}/notifications/" in email.body
    notice.refresh_from_db()
    assert notice.emailed_at is not None


def test_a_long_message_makes_a_short_one_line_subject_and_the_body_keeps_it_whole(alice):
    message = "Pedro & Ana asked again via cars-com: " + "now asks about a 2025 Kia EV6; " * 6
    notice = send(alice, message=message.strip(), kind="repeat_inquiry")

    notification_email(notice.pk)

    (email,) = mail.outbox
    assert len(email.subject) == 78
    assert email.subject.startswith("Pedro & Ana asked again via cars-com: now asks about")
    assert email.subject.endswith("…")
    assert message.strip() in email.body  # plain text: nothing HTML-escaped


def test_a_notification_without_a_page_links_to_the_notifications(alice):
    notice = send(alice, url="", kind="first_response_missed")

    notification_email(notice.pk)

    assert f"Open it: {SITE}/notifications/\n" in mail.outbox[0].body


def test_nothing_is_sent_to_someone_who_turned_the_emails_off(alice):
    alice.staff.email_notifications = False
    alice.staff.save(update_fields=["email_notifications"])
    notice = send(alice)

    assert notification_email(notice.pk) == "opted_out"

    assert mail.outbox == []
    notice.refresh_from_db()
    assert notice.emailed_at is None


def test_nothing_is_sent_to_someone_without_an_email_address(salesperson):
    assert salesperson.email == ""
    notice = send(salesperson)

    assert notification_email(notice.pk) == "no_email"
    assert mail.outbox == []


@pytest.mark.parametrize("who", ["user", "staff"])
def test_nothing_is_sent_to_someone_who_left(alice, who):
    notice = send(alice)
    if who == "user":
        alice.is_active = False
        alice.save(update_fields=["is_active"])
    else:
        alice.staff.active = False
        alice.staff.save(update_fields=["active"])

    assert notification_email(notice.pk) == "inactive"
    assert mail.outbox == []


def test_a_notification_read_in_the_app_before_the_task_ran_is_not_emailed(alice, client):
    notice = send(alice)
    client.force_login(alice)
    client.get(f"/notifications/{notice.pk}/")

    assert notification_email(notice.pk) == "read"
    assert mail.outbox == []


def test_running_the_task_twice_sends_one_email(alice):
    notice = send(alice)

    assert notification_email(notice.pk) == "sent"
    assert notification_email(notice.pk) == "already_emailed"

    assert len(mail.outbox) == 1


def test_a_claimed_notification_is_not_sent_again_even_if_the_mail_server_failed(alice):
    notice = send(alice)
    with (
        mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("refused")),
        pytest.raises(OSError),
    ):
        notification_email(notice.pk)

    # At most once: the retry finds the notification claimed.
    assert notification_email(notice.pk) == "already_emailed"
    assert mail.outbox == []


def test_the_email_task_is_enqueued_once_the_notification_is_committed(
    alice, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        notice = send(alice)
        enqueued.assert_not_called()  # the task must find the row it is given

    enqueued.assert_called_once_with("dealercrm.tasks.notification_email", notice.pk)


def test_a_rolled_back_transaction_enqueues_nothing(
    alice, enqueued, django_capture_on_commit_callbacks
):
    class Undo(Exception):
        pass

    with (
        django_capture_on_commit_callbacks(execute=True) as callbacks,
        pytest.raises(Undo),
        transaction.atomic(),
    ):
        send(alice)
        raise Undo

    assert callbacks == []
    enqueued.assert_not_called()
    assert not Notification.objects.exists()


def test_a_kind_that_stays_in_the_app_is_not_emailed(
    alice, enqueued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        send(alice, kind="digest")

    assert callbacks == []
    enqueued.assert_not_called()


def test_a_broker_that_refuses_the_task_does_not_undo_the_notification(
    alice, enqueued, django_capture_on_commit_callbacks
):
    enqueued.side_effect = ConnectionError("broker down")

    with django_capture_on_commit_callbacks(execute=True):
        notice = send(alice)

    assert Notification.objects.filter(pk=notice.pk).exists()


def test_many_notifications_are_inserted_at_once_and_emailed_in_batches(
    alice, other_salesperson, enqueued, django_capture_on_commit_callbacks,
    django_assert_num_queries,
):  # fmt: skip
    other_salesperson.email = "bob@dealer.example"
    other_salesperson.staff.email_notifications = False
    other_salesperson.save(update_fields=["email"])
    other_salesperson.staff.save(update_fields=["email_notifications"])
    people = [alice, other_salesperson] * EMAIL_TASK_BATCH + [alice]
    built = [
        notification_build(recipient=person, kind="assigned", message=f"Lead {n}", url="/")
        for n, person in enumerate(people)
    ]

    # One INSERT for them all (101 rows fit SQLite's parameter limit at 6 per row).
    with django_assert_num_queries(1), django_capture_on_commit_callbacks(execute=True):
        notices = notifications_send_many(built)

    assert [call.args[0] for call in enqueued.call_args_list] == [
        "dealercrm.tasks.notifications_email",
        "dealercrm.tasks.notifications_email",
        "dealercrm.tasks.notifications_email",
    ]
    batches = [call.args[1] for call in enqueued.call_args_list]
    assert batches == [
        [n.pk for n in notices[:50]],
        [n.pk for n in notices[50:100]],
        [notices[100].pk],
    ]

    assert notifications_email(batches[0]) == {"sent": 25, "opted_out": 25}
    assert notifications_email(batches[0]) == {"already_emailed": 25, "opted_out": 25}
    assert [email.to for email in mail.outbox] == [["alice@dealer.example"]] * 25
    assert mail.outbox[0].subject == "Lead 0"
