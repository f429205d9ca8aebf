"""Admin for aftersales. Opportunities, lost sales, recaptures, history and customer issues are
read-only here: they change only through the service functions, which keep each change's
history event and the KPIs right. Campaigns, corrective actions and the settings are edited
here through the same services as their pages."""

from django.contrib import admin

from dealercrm.admin import ReadOnly, SettingsRowAdmin
from service.models import (
    CorrectiveAction,
    CustomerIssue,
    Recapture,
    ServiceCampaign,
    ServiceEvent,
    ServiceLoss,
    ServiceOpportunity,
    ServiceSettings,
)
from service.services import corrective_action_add
from service.setup import campaign_save, service_settings_update
from service.setup_forms import CampaignForm, ServiceSettingsForm


class ServiceEventInline(ReadOnly, admin.TabularInline):
    model = ServiceEvent
    fk_name = "opportunity"
    fields = ["at", "kind", "from_stage", "to_stage", "summary", "actor", "actor_label"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


class ServiceLossInline(ReadOnly, admin.TabularInline):
    model = ServiceLoss
    fields = ["at", "event", "reason", "amount", "whole", "recovery", "follow_up_on", "logged_by"]
    readonly_fields = fields
    extra = 0

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("reason", "logged_by")


@admin.register(ServiceOpportunity)
class ServiceOpportunityAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "id",
        "title",
        "customer",
        "source",
        "stage",
        "status",
        "estimated_value",
        "advisor",
        "created_at",
    ]
    list_select_related = ["customer", "advisor"]
    list_filter = ["status", "stage", "source", "created_at"]
    search_fields = ["=id", "customer__last_name", "=customer__email", "=external_id"]
    raw_id_fields = ["customer", "vehicle", "advisor", "recovers", "sales_lead"]
    show_full_result_count = False
    inlines = [ServiceLossInline, ServiceEventInline]


@admin.register(ServiceLoss)
class ServiceLossAdmin(ReadOnly, admin.ModelAdmin):
    list_display = [
        "at",
        "opportunity",
        "event",
        "reason",
        "amount",
        "whole",
        "recovery",
        "advisor",
    ]
    list_select_related = ["opportunity__customer", "reason", "advisor"]
    list_filter = ["event", "reason", "recovery", "whole", "at"]
    search_fields = ["=id", "=opportunity__id"]
    raw_id_fields = ["opportunity", "logged_by", "advisor"]
    show_full_result_count = False


@admin.register(Recapture)
class RecaptureAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["due_on", "kind", "summary", "assignee", "status", "campaign"]
    list_select_related = ["assignee", "campaign"]
    list_filter = ["kind", "status", "due_on"]
    search_fields = ["=id", "=loss__id", "=loss__opportunity__id"]
    raw_id_fields = ["loss", "visit", "booking", "assignee", "done_by", "campaign"]
    show_full_result_count = False


@admin.register(ServiceEvent)
class ServiceEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["at", "opportunity", "kind", "summary", "actor", "actor_label"]
    list_select_related = ["opportunity__customer", "actor"]
    list_filter = ["kind", "at"]
    search_fields = ["=opportunity__id"]
    raw_id_fields = ["opportunity", "actor", "loss"]
    show_full_result_count = False


@admin.register(CustomerIssue)
class CustomerIssueAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["opened_at", "customer", "kind", "summary", "status", "opened_by"]
    list_select_related = ["customer", "opened_by"]
    list_filter = ["status", "kind", "opened_at"]
    search_fields = ["=id", "customer__last_name", "=customer__email"]
    raw_id_fields = ["customer", "vehicle", "opportunity", "opened_by", "resolved_by"]
    show_full_result_count = False


@admin.register(ServiceCampaign)
class ServiceCampaignAdmin(admin.ModelAdmin):
    """Campaigns, saved through the campaigns page's service."""

    form = CampaignForm
    list_display = ["name", "offer", "makes", "keywords", "starts_on", "ends_on", "active"]
    list_filter = ["active", "starts_on"]
    search_fields = ["name", "offer", "keywords"]

    def has_delete_permission(self, request, obj=None):
        # The offers a campaign made point at it: it is switched off, not deleted.
        return False

    def save_model(self, request, obj, form, change):
        fields = {name: form.cleaned_data[name] for name in CampaignForm.Meta.fields}
        saved, _ = campaign_save(by=request.user, campaign=obj if change else None, **fields)
        obj.pk = saved.pk


@admin.register(CorrectiveAction)
class CorrectiveActionAdmin(admin.ModelAdmin):
    """What managers did against a loss reason. Added through the service (which checks the
    reason and records who); its reason stays what it was, or the KPIs' before-and-after
    comparison would change under the readers' eyes."""

    list_display = ["action", "reason", "started_on", "created_by", "created_at"]
    list_select_related = ["reason", "created_by"]
    list_filter = ["reason", "started_on"]
    search_fields = ["action", "note"]
    fields = ["reason", "action", "started_on", "note", "created_by", "created_at"]

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return ["created_by", "created_at"]
        return ["reason", "created_by", "created_at"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "reason":
            from leads.models import Reason

            kwargs["queryset"] = Reason.objects.filter(kind=Reason.Kind.SERVICE_LOSS, active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        added = corrective_action_add(
            reason=form.cleaned_data["reason"],
            action=form.cleaned_data["action"],
            started_on=form.cleaned_data["started_on"],
            note=form.cleaned_data.get("note", ""),
            by=request.user,
        )
        obj.pk = added.pk


@admin.register(ServiceSettings)
class ServiceSettingsAdmin(SettingsRowAdmin):
    """The single row of settings, with the form and the service of the settings page."""

    form = ServiceSettingsForm
    save_settings = staticmethod(service_settings_update)
