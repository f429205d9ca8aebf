"""Reads for the managers' life-cycle pages: the comebacks waiting for a decision and the
comebacks the sweeps brought back lately. Each owns its loading plan and is one query."""

from leads.models import Resurfacing
from leads.permissions import lead_visibility

RECENT_COMEBACKS = 50


def comebacks_for_review(user):
    """Comebacks waiting for a manager's decision (reactivation in review mode), oldest first,
    each with its lead's customer, status, closing reason and owner — the salesperson who had
    the customer. Through the partial index of pending reviews."""
    return (
        Resurfacing.objects.filter(
            lead_visibility(user, via="lead__"), outcome=Resurfacing.Outcome.REVIEW
        )
        .select_related("lead__customer", "lead__owner", "lead__close_reason")
        .order_by("detected_at", "id")
    )


def recent_comebacks(user, limit=RECENT_COMEBACKS):
    """The latest `limit` comebacks of any kind and outcome, newest first, with the customer,
    who was given the lead and who decided a review.

    Newest by id, the order they were recorded in: the primary key's index serves it, while
    `detected_at` has an index only with the lead (or for pending reviews), and sorting every
    comeback ever recorded to show fifty would grow with the table. A sweep replayed as of an
    earlier moment records its comebacks later than it detected them; that is the only case
    where the two orders differ."""
    return (
        Resurfacing.objects.filter(lead_visibility(user, via="lead__"))
        .select_related("lead__customer", "owner", "decided_by")
        .order_by("-id")[:limit]
    )
