"""The service managers' setup pages: the service settings (when lost sales come back, when a
service visit makes a sales lead) and the campaigns the recapture sweep offers declined work
with."""

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path
from django.utils import timezone

from service.models import ServiceCampaign, ServiceSettings
from service.setup import (
    InvalidCampaign,
    InvalidServiceSetting,
    campaign_save,
    campaign_state,
    campaigns_for_setup,
    service_settings_update,
)
from service.setup_forms import CampaignForm, ServiceSettingsForm

# A new campaign runs four weeks from today unless the manager says otherwise.
CAMPAIGN_DEFAULT_DAYS = 27


@login_required
@permission_required("service.view_servicesettings", raise_exception=True)
def service_settings(request):
    """The service settings. Anyone who may see them sees the page; saving needs the right to
    change them."""
    may_change = request.user.has_perm("service.change_servicesettings")
    current = ServiceSettings.current()
    if request.method == "POST":
        if not may_change:
            raise PermissionDenied
        form = ServiceSettingsForm(request.POST, instance=current)
        if form.is_valid():
            try:
                service_settings_update(by=request.user, **form.cleaned_data)
            except InvalidServiceSetting as refusal:
                form.add_error(
                    refusal.field if refusal.field in form.fields else None, str(refusal)
                )
            else:
                messages.success(
                    request,
                    "Service settings saved: losses logged from now on come back after these "
                    "days, and visits from now on make sales leads by these thresholds.",
                )
                return redirect("service:settings")
    else:
        form = ServiceSettingsForm(instance=current, read_only=not may_change)
    return render(request, "service/settings.html", {"form": form, "may_change": may_change})


def _may_set_up_campaigns(user):
    return user.has_perm("service.add_servicecampaign") or user.has_perm(
        "service.change_servicecampaign"
    )


@login_required
def campaigns(request):
    """Every campaign with the offers it made, and the form to add one."""
    if not _may_set_up_campaigns(request.user):
        raise PermissionDenied
    may_add = request.user.has_perm("service.add_servicecampaign")
    today = timezone.localdate()
    if request.method == "POST":
        if not may_add:
            raise PermissionDenied
        form = CampaignForm(request.POST)
        if form.is_valid():
            try:
                campaign, _ = campaign_save(by=request.user, **form.cleaned_data)
            except InvalidCampaign as refusal:
                form.add_error(refusal.field, str(refusal))
            else:
                messages.success(request, _saved_notice(campaign, today, added=True))
                return redirect("service:campaigns")
    elif may_add:
        form = CampaignForm(
            initial={
                "starts_on": today,
                "ends_on": today + timedelta(days=CAMPAIGN_DEFAULT_DAYS),
                "active": True,
            }
        )
    else:
        form = None
    return _campaigns_page(request, form, today, editing=None)


@login_required
@permission_required("service.change_servicecampaign", raise_exception=True)
def campaign(request, pk):
    """One campaign's form, above the list: change what it offers, to whom and when."""
    campaign = get_object_or_404(ServiceCampaign, pk=pk)
    today = timezone.localdate()
    if request.method == "POST":
        form = CampaignForm(request.POST, instance=campaign)
        if form.is_valid():
            try:
                saved, _ = campaign_save(by=request.user, campaign=campaign, **form.cleaned_data)
            except InvalidCampaign as refusal:
                form.add_error(refusal.field, str(refusal))
            else:
                messages.success(request, _saved_notice(saved, today, added=False))
                return redirect("service:campaigns")
    else:
        form = CampaignForm(instance=campaign)
    return _campaigns_page(request, form, today, editing=campaign)


def _campaigns_page(request, form, today, editing):
    rows = list(campaigns_for_setup())
    for row in rows:
        row.state = campaign_state(row, today)
    return render(
        request,
        "service/campaigns.html",
        {
            "campaigns": rows,
            "form": form,
            "editing": editing,
            "may_change": request.user.has_perm("service.change_servicecampaign"),
        },
    )


def _saved_notice(campaign, today, *, added):
    what = f"Campaign “{campaign.name}” {'added' if added else 'saved'}"
    state = campaign_state(campaign, today)
    if state == "running":
        return f"{what}; the recapture sweep offers it to fitting declined work at its next run."
    if state == "planned":
        return f"{what}; it is offered from {campaign.starts_on:%b %-d}."
    return f"{what}; it is {'switched off' if state == 'off' else 'over'}, so nothing is offered."


urlpatterns = [
    path("settings/", service_settings, name="settings"),
    path("campaigns/", campaigns, name="campaigns"),
    path("campaigns/<int:pk>/", campaign, name="campaign"),
]
