"""django-q2 task functions of the shared core. Each takes ids, loads fresh rows, calls a service
and is idempotent: a retry or a replay sends nothing twice."""

import logging
from collections import Counter

from django.core import mail

from dealercrm.services import notification_email_send

logger = logging.getLogger(__name__)


def notification_email(notification_id):
    """E-mail one notification (enqueued by `notification_send` after commit). Returns what
    happened (see notification_email_send)."""
    return notification_email_send(notification_id)


def notifications_email(notification_ids):
    """E-mail a batch of notifications (enqueued by `notifications_send_many` after commit)
    over one connection to the mail server. Returns {outcome: count}.

    Each notification is claimed on its own, so a batch cut short (a worker killed at its
    timeout) and re-delivered sends only those it had not reached; one the mail server refused
    is logged and the batch goes on."""
    outcomes = Counter()
    with mail.get_connection() as connection:
        for notification_id in notification_ids:
            try:
                outcomes[notification_email_send(notification_id, connection=connection)] += 1
            except Exception:
                logger.exception("notification %s: the e-mail was not sent", notification_id)
                outcomes["failed"] += 1
    return dict(outcomes)
