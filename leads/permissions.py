"""Who may see which leads. Every reader (page, API, export, admin) filters through here."""

from django.db.models import Q
from django.http import Http404

from leads.models import Lead, Resurfacing

NOTHING = Q(pk__in=[])  # Django answers an empty IN without querying


def lead_visibility(user, via=""):
    """A filter for the rows whose lead `user` may see; `via` is the path from those rows to the
    lead ("" for leads themselves, "lead__" for their events and activities).

    Managers with `view_all_leads` see every lead; salespeople and BDC agents see their own
    leads and the unassigned pool of their team; everyone else (service roles) sees none.
    """
    if not (user.is_authenticated and user.is_active):
        return NOTHING
    if user.is_superuser or user.has_perm("leads.view_all_leads"):
        return Q()
    if not user.has_perm("leads.view_lead"):
        return NOTHING
    own = Q(**{f"{via}owner": user})
    team_id = getattr(getattr(user, "staff", None), "team_id", None)
    if team_id is None:
        return own
    return own | Q(**{f"{via}owner__isnull": True, f"{via}team_id": team_id})


def lead_queryset_for_user(user, queryset=None):
    """The leads `user` may see (see lead_visibility)."""
    queryset = Lead.objects.all() if queryset is None else queryset
    return queryset.filter(lead_visibility(user))


def get_lead_for_user_or_404(user, pk, queryset=None):
    """The lead, or 404 both when it does not exist and when the user may not see it, so that
    a lead's existence is not revealed to someone who may not see it."""
    try:
        return lead_queryset_for_user(user, queryset).get(pk=pk)
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise Http404("No such lead.") from None


def get_resurfacing_for_user_or_404(user, pk, queryset=None):
    """A comeback (Resurfacing) of a lead `user` may see, or 404 alike when it does not exist."""
    queryset = Resurfacing.objects.all() if queryset is None else queryset
    try:
        return queryset.filter(lead_visibility(user, via="lead__")).get(pk=pk)
    except (Resurfacing.DoesNotExist, ValueError, TypeError):
        raise Http404("No such comeback.") from None
