"""Writers for the shared core: staff, customers and notifications."""

import datetime
import logging
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.text import Truncator
from django_q.tasks import async_task

from dealercrm.auth import permissions_cache_key
from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidStaffSetting
from dealercrm.models import (
    AuditEntry,
    Customer,
    Notification,
    Role,
    StaffProfile,
    person_name,
)
from dealercrm.roles import group_name

logger = logging.getLogger(__name__)


@transaction.atomic
def staff_create(
    *, username, role, first_name="", last_name="", email="", team=None, password=None, **profile
):
    """Create a user with a staff profile and the group of their role.

    Without a password the account cannot log in until one is set. `profile` takes
    StaffProfile fields such as capacity, on_shift and active.
    """
    user = get_user_model().objects.create_user(
        username=username,
        email=normalize_email(email),
        password=password,
        first_name=first_name,
        last_name=last_name,
    )
    StaffProfile.objects.create(user=user, role=role, team=team, **profile)
    user.groups.add(Group.objects.get(name=group_name(role)))
    return user


@transaction.atomic
def staff_set_role(*, user, role):
    """Change a person's role and move them to that role's group, so the two never disagree."""
    role = Role(role)
    profile = StaffProfile.objects.select_for_update().get(user=user)
    role_groups = Group.objects.filter(name__in=[group_name(r) for r in Role])
    user.groups.remove(*role_groups)
    user.groups.add(Group.objects.get(name=group_name(role)))
    profile.role = role
    profile.save(update_fields=["role"])
    transaction.on_commit(lambda: cache.delete(permissions_cache_key(user.pk)))
    return profile


@transaction.atomic
def staff_response_times_set(medians):
    """Store each person's median first-response time in seconds ({user id: seconds}); people
    left out had no first responses in the window and lose theirs. Returns how many changed."""
    changed = 0
    for profile in StaffProfile.objects.select_for_update().order_by("user_id"):
        value = medians.get(profile.user_id)
        value = None if value is None else round(value, 1)
        if profile.response_seconds != value:
            profile.response_seconds = value
            profile.save(update_fields=["response_seconds"])
            changed += 1
    return changed


@transaction.atomic
def staff_set_routing(*, user, by, on_shift=None, capacity=None):
    """Put a person on or off shift, or change how many open leads they may hold; routing
    reads both at the next decision. A change is written to the audit log. Raises
    InvalidStaffSetting for a capacity outside 0 to 1,000."""
    profile = StaffProfile.objects.select_for_update().get(user=user)
    changes = {}
    if on_shift is not None and on_shift != profile.on_shift:
        changes["on_shift"] = (profile.on_shift, on_shift)
        profile.on_shift = on_shift
    if capacity is not None and capacity != profile.capacity:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= 1000:
            raise InvalidStaffSetting("Capacity is a whole number of open leads, 0 to 1,000.")
        changes["capacity"] = (profile.capacity, capacity)
        profile.capacity = capacity
    if changes:
        profile.save(update_fields=list(changes))
        audit_record(
            by=by,
            action=AuditEntry.Action.STAFF_ROUTING_CHANGED,
            target=user,
            target_label=person_name(user),
            changes=changes,
        )
        logger.info("staff %s %s changed by %s", user.pk, sorted(changes), by)
    return profile


def customer_build(
    *, first_name="", last_name="", email="", phone="", phone_region=None, at=None, **fields
):
    """An unsaved customer with a normalised e-mail and an E.164 phone number, for
    `customer_create` or a bulk insert.

    Raises InvalidContactDetail naming the bad field.
    """
    return Customer(
        first_name=first_name.strip(),
        last_name=last_name.strip(),
        email=normalize_email(email),
        phone=normalize_phone(phone, phone_region),
        created_at=at or timezone.now(),
        **fields,
    )


def customer_create(**fields):
    """Create a customer (see customer_build); nothing is written when a detail is invalid."""
    customer = customer_build(**fields)
    customer.save(force_insert=True)
    return customer


# Kinds worth an e-mail as well: each asks the person to act soon. Other kinds stay in the app.
EMAIL_KINDS = frozenset(
    {
        "assigned",
        "repeat_inquiry",
        "first_response_due",
        "resurfaced",
        "first_response_missed",
        "recycled",
        "comeback_review",
        "tasks_due",
        "service_recapture",
    }
)
# One task e-mails this many notifications of a bulk send (an import), over one connection to
# the mail server; a task per notification would cost an enqueue (a committed INSERT with the ORM
# broker) per imported lead.
EMAIL_TASK_BATCH = 50


def notification_build(*, kind, message, recipient=None, recipient_id=None, url="", at=None):
    """An unsaved notification, for `notifications_send_many`."""
    return Notification(
        recipient_id=recipient.pk if recipient is not None else recipient_id,
        kind=kind,
        message=message[:300],
        url=url,
        created_at=at or timezone.now(),
    )


def notification_send(*, kind, message, recipient=None, recipient_id=None, url="", at=None):
    """Tell `recipient` (a user, or a user id as `recipient_id`) something; runs inside the
    caller's transaction, so a rolled-back change sends nothing. A kind of EMAIL_KINDS is also
    e-mailed: after commit, a django-q2 task (`dealercrm.tasks.notification_email`) sends it."""
    notification = notification_build(
        kind=kind, message=message, recipient=recipient, recipient_id=recipient_id, url=url, at=at
    )
    notification.save(force_insert=True)
    if kind in EMAIL_KINDS:
        _email_after_commit("dealercrm.tasks.notification_email", notification.pk)
    return notification


def notifications_send_many(notifications):
    """Insert many notifications built with `notification_build` in set-wise statements, inside
    the caller's transaction, and e-mail those of EMAIL_KINDS after commit, EMAIL_TASK_BATCH to
    a task. For imports, where `notification_send` per row would cost a statement and an
    enqueue each."""
    notifications = Notification.objects.bulk_create(notifications)
    ids = [n.pk for n in notifications if n.kind in EMAIL_KINDS]
    for start in range(0, len(ids), EMAIL_TASK_BATCH):
        batch = ids[start : start + EMAIL_TASK_BATCH]
        _email_after_commit("dealercrm.tasks.notifications_email", batch)
    return notifications


def _email_after_commit(task, argument):
    # Enqueued only once the notification is committed, so the task finds it (and a rolled-back
    # change e-mails nobody). Robust: a broker that refuses the task loses the e-mail, never
    # the caller's committed work; the in-app notification is there either way.
    transaction.on_commit(lambda: async_task(task, argument), robust=True)


def notifications_mark_read(*, user, ids=None, at=None):
    """Mark the user's unread notifications read: those of `ids`, or all of them. Someone
    else's notifications are never touched. Returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=at or timezone.now())


def notification_email_send(notification_id, *, connection=None):
    """E-mail one notification to its recipient, at most once. Returns what happened: "sent",
    or why nothing was: "missing", "read" (already seen in the app), "no_email", "inactive",
    "opted_out", "already_emailed".

    Reads the notification and its recipient fresh: the person may have left, turned e-mails
    off or read it in the app since it was written. Runs outside a transaction (as the tasks
    do), so that its claim is committed before the mail server is asked. Raises whatever the
    mail backend raises; the notification then stays claimed (see below) and is not e-mailed
    again.
    """
    notification = (
        Notification.objects.select_related("recipient", "recipient__staff")
        .filter(pk=notification_id)
        .first()
    )
    if notification is None:
        return "missing"
    if notification.read_at is not None:
        return "read"
    user = notification.recipient
    profile = getattr(user, "staff", None)
    if not user.email:
        return "no_email"
    if not user.is_active or (profile is not None and not profile.active):
        return "inactive"
    if profile is not None and not profile.email_notifications:
        return "opted_out"
    # Claimed with a conditional update, committed before the mail server is asked: a retried
    # or replayed task (django-q2 re-delivers a task whose worker died or timed out) finds it
    # claimed and sends nothing. The price is at most once, not exactly once: a worker that dies
    # between the claim and the send, or a mail server that refuses, loses this e-mail; the
    # notification itself stays in the app. A second copy on a salesperson's phone for every
    # retry would be worse.
    claimed = Notification.objects.filter(pk=notification.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    if not claimed:
        return "already_emailed"
    _notification_message(notification, connection).send()
    return "sent"


def _notification_message(notification, connection):
    user = notification.recipient
    url = notification.url if notification.url.startswith("/") else reverse("notifications")
    body = render_to_string(
        "dealercrm/email/notification.txt",
        {
            "name": person_name(user),
            "message": notification.message,
            "link": settings.SITE_URL + url,
            "notifications_link": settings.SITE_URL + reverse("notifications"),
        },
    )
    # A header holds one line; the subject is the message, shortened.
    subject = Truncator(" ".join(notification.message.split())).chars(78)
    return EmailMessage(subject=subject, body=body, to=[user.email], connection=connection)


def _audit_value(value):
    """A value as the audit log keeps it: JSON that reads on its own later (a person by name,
    a time in ISO 8601), whatever was renamed or deleted since."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, AbstractBaseUser):
        return person_name(value)
    if isinstance(value, models.Model):
        return str(value)
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(key): _audit_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_audit_value(item) for item in value]
    return str(value)


def audit_record(
    *, by, action, target=None, target_type="", target_label="", changes=None, note="", at=None
):
    """Append an audit entry inside the caller's transaction: `by` (a User, or the name of the
    job or command) made `action` to `target` (a model instance; or name `target_type` and
    `target_label` for something that is not one row, like the opening hours). `changes` is
    {field: (before, after)}; unchanged fields are left out."""
    person = by if isinstance(by, AbstractBaseUser) else None
    changes = {
        field: [_audit_value(before), _audit_value(after)]
        for field, (before, after) in (changes or {}).items()
        if before != after
    }
    return AuditEntry.objects.create(
        at=at or timezone.now(),
        actor=person,
        actor_label="" if person else str(by)[:64],
        action=action,
        target_type=target._meta.model_name if target is not None else target_type,
        target_id=target.pk if target is not None else None,
        target_label=(target_label or str(target))[:200],
        changes=changes,
        note=note,
    )
