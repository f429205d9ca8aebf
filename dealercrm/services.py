"""Writers for the shared core: staff, customers and notifications."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from dealercrm.auth import permissions_cache_key
from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidStaffSetting
from dealercrm.models import Customer, Notification, Role, StaffProfile
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
    reads both at the next decision. Raises InvalidStaffSetting for a negative capacity."""
    profile = StaffProfile.objects.select_for_update().get(user=user)
    changed = []
    if on_shift is not None and on_shift != profile.on_shift:
        profile.on_shift = on_shift
        changed.append("on_shift")
    if capacity is not None and capacity != profile.capacity:
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= 1000:
            raise InvalidStaffSetting("Capacity is a whole number of open leads, 0 to 1,000.")
        profile.capacity = capacity
        changed.append("capacity")
    if changed:
        profile.save(update_fields=changed)
        logger.info("staff %s %s changed by %s", user.pk, changed, by)
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


def notification_send(*, kind, message, recipient=None, recipient_id=None, url="", at=None):
    """Tell `recipient` (a user, or a user id as `recipient_id`) something; runs inside the
    caller's transaction, so a rolled-back change sends nothing."""
    return Notification.objects.create(
        recipient_id=recipient.pk if recipient is not None else recipient_id,
        kind=kind,
        message=message[:300],
        url=url,
        created_at=at or timezone.now(),
    )


def notifications_mark_read(*, user, ids=None, at=None):
    """Mark the user's unread notifications read: those of `ids`, or all of them. Someone
    else's notifications are never touched. Returns how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=at or timezone.now())
