"""Who may see which service records, and service money. Every reader (page, API, export)
filters through here.

A dealership has one workshop: whoever may view service opportunities sees all of them. Money
(values, losses, spend, the KPIs) is a capability of its own, `service.view_service_money`,
which service roles hold and sales roles do not unless a manager grants it.
"""

from django.http import Http404

from service.models import CustomerIssue, Recapture, ServiceLoss, ServiceOpportunity

MONEY = "service.view_service_money"


def can_see_money(user):
    return user.has_perm(MONEY)


def opportunity_queryset_for_user(user, queryset=None):
    queryset = ServiceOpportunity.objects.all() if queryset is None else queryset
    if not (user.is_active and user.has_perm("service.view_serviceopportunity")):
        return queryset.none()
    return queryset


def _get_or_404(model, queryset, user, pk, what):
    visible = user.is_active and user.has_perm("service.view_serviceopportunity")
    try:
        if not visible:
            raise model.DoesNotExist
        return queryset.get(pk=pk)
    except (model.DoesNotExist, ValueError, TypeError):
        raise Http404(f"No such {what}.") from None


def get_opportunity_for_user_or_404(user, pk, queryset=None):
    """The opportunity, or 404 alike when it does not exist and when the user may not see it."""
    queryset = ServiceOpportunity.objects.all() if queryset is None else queryset
    return _get_or_404(ServiceOpportunity, queryset, user, pk, "service opportunity")


def get_loss_for_user_or_404(user, pk, queryset=None):
    queryset = ServiceLoss.objects.all() if queryset is None else queryset
    return _get_or_404(ServiceLoss, queryset, user, pk, "lost sale")


def get_recapture_for_user_or_404(user, pk, queryset=None):
    queryset = Recapture.objects.all() if queryset is None else queryset
    return _get_or_404(Recapture, queryset, user, pk, "follow-up")


def get_issue_for_user_or_404(user, pk, queryset=None):
    queryset = CustomerIssue.objects.all() if queryset is None else queryset
    if not user.has_perm("service.view_customerissue"):
        raise Http404("No such issue.")
    try:
        return queryset.get(pk=pk)
    except (CustomerIssue.DoesNotExist, ValueError, TypeError):
        raise Http404("No such issue.") from None
