"""Reads of the shared core."""

from django.db.models import Q

from dealercrm.models import Customer


def customer_matching(*, email="", phone=""):
    """The customer with this normalised e-mail, else with this phone (the newest when several
    share it), or None.

    Each branch repeats its index's condition (`<> ''`): SQLite uses a partial index only when
    the query states the index's WHERE clause, and without it every intake scans the customers.
    """
    match = Q(pk__in=[])
    if email:
        match |= Q(email=email) & ~Q(email="")
    if phone:
        match |= Q(phone=phone) & ~Q(phone="")
    if not (email or phone):
        return None
    candidates = list(Customer.objects.filter(match).order_by("-created_at", "-id")[:20])
    for candidate in candidates:
        if email and candidate.email == email:
            return candidate
    return candidates[0] if candidates else None
