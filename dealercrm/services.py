"""Writers for the shared core: staff, customers and notifications."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from dealercrm.auth import permissions_cache_key
from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.models import Customer, Notification, Role, StaffProfile
from dealercrm.roles import group_name


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
