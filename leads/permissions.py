"""Who may see which leads. Every reader (page, API, export) fetches leads through here."""

from django.db.models import Q
from django.http import Http404

from leads.models import Lead


def lead_queryset_for_user(user, queryset=None):
    """The leads `user` may see.

    Managers with `view_all_leads` see every lead; salespeople and BDC agents see their own
    leads and the unassigned pool of their team; everyone else (service roles) sees none.
    """
    queryset = Lead.objects.all() if queryset is None else queryset
    if not (user.is_authenticated and user.is_active):
        return queryset.none()
    if user.is_superuser or user.has_perm("leads.view_all_leads"):
        return queryset
    if not user.has_perm("leads.view_lead"):
        return queryset.none()
    team_id = getattr(getattr(user, "staff", None), "team_id", None)
    if team_id is None:
        return queryset.filter(owner=user)
    return queryset.filter(Q(owner=user) | Q(owner__isnull=True, team_id=team_id))


def get_lead_for_user_or_404(user, pk, queryset=None):
    """The lead, or 404 both when it does not exist and when the user may not see it, so that
    a lead's existence is not revealed to someone who may not see it."""
    try:
        return lead_queryset_for_user(user, queryset).get(pk=pk)
    except (Lead.DoesNotExist, ValueError, TypeError):
        raise Http404("No such lead.") from None
