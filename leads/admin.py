"""Admin for leads. Status, owner, history and activities are read-only here: they change only
through the lead services, so that every change has its history event."""

from django.contrib import admin
from django.db import models

from dealercrm.admin import ReadOnly, SettingsRowAdmin
from leads.lifecycle_forms import LifecycleSettingsForm
from leads.lifecycle_settings import lifecycle_settings_set
from leads.models import (
    REPORT_FIELDS,
    Activity,
    Inquiry,
    Lead,
    LeadEvent,
    LeadSource,
    LifecycleSettings,
    Reason,
    Recycling,
    Resurfacing,
    ScoreWeight,
    WebEvent,
)
from leads.permissions import lead_visibility
from leads.scoring import FACTORS


class VisibleLeadsOnly:
    """Staff see in the admin only the leads they may see anywhere else."""

    path_to_lead = "lead__"

    def get_queryset(self, request):
        visible = lead_visibility(request.user, via=self.path_to_lead)
        return super().get_queryset(request).filter(visible)


@admin.register(Reason)
class ReasonAdmin(admin.ModelAdmin):
    list_display = ["label", "code", "scope", "kind", "ordering", "active", "requires_note"]
    list_filter = ["scope", "kind", "active"]
    list_editable = ["ordering", "active"]
    search_fields = ["label", "code"]


class LeadEventInline(admin.TabularInline):
    model = LeadEvent
    fields = [
        "at",
        "kind",
        "from_status",
        "to_status",
        "to_owner",
        "reason",
        "cause",
        "actor",
        "actor_label",
        "note",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("to_owner", "reason", "actor")


@admin.register(Lead)
class LeadAdmin(VisibleLeadsOnly, admin.ModelAdmin):
    path_to_lead = ""
    list_display = [
        "id",
        "customer",
        "source",
        "channel",
        "status",
        "owner",
        "team",
        "score",
        "created_at",
    ]
    list_select_related = ["customer", "owner", "team"]
    list_filter = ["status", "channel", "vehicle_condition", "team", "created_at"]
    search_fields = [
        "=id",
        "customer__last_name",
        "=customer__email",
        "=customer__phone",
        "=external_id",
    ]
    raw_id_fields = ["customer"]
    show_full_result_count = False
    readonly_fields = [
        "status",
        "close_reason",
        "owner",
        "team",
        "created_at",
        "assigned_at",
        "first_contacted_at",
        "last_activity_at",
        "last_seen_at",
        "status_changed_at",
        "closed_at",
        "updated_at",
        "first_response_due_at",
        "score",
        "score_factors",
        "contact_issues",
        *REPORT_FIELDS,
    ]
    inlines = [LeadEventInline]

    def has_add_permission(self, request):
        # A lead is created by intake, which records its creation and routes it.
        return False


@admin.register(LeadEvent)
class LeadEventAdmin(ReadOnly, VisibleLeadsOnly, admin.ModelAdmin):
    list_display = ["at", "lead", "kind", "from_status", "to_status", "actor", "actor_label"]
    list_select_related = ["lead__customer", "actor"]
    list_filter = ["kind", "to_status", "cause", "at"]
    search_fields = ["=lead__id"]
    show_full_result_count = False


@admin.register(Activity)
class ActivityAdmin(ReadOnly, VisibleLeadsOnly, admin.ModelAdmin):
    list_display = ["occurred_at", "lead", "kind", "direction", "automated", "outcome", "actor"]
    list_select_related = ["lead__customer", "actor"]
    list_filter = ["kind", "direction", "automated", "outcome", "occurred_at"]
    search_fields = ["=lead__id"]
    show_full_result_count = False


@admin.register(Inquiry)
class InquiryAdmin(ReadOnly, VisibleLeadsOnly, admin.ModelAdmin):
    list_display = ["received_at", "lead", "source", "external_id", "payload_format", "outcome"]
    list_select_related = ["lead__customer"]
    list_filter = ["payload_format", "outcome", "channel"]
    search_fields = ["=lead__id", "=external_id", "source"]
    show_full_result_count = False


@admin.register(LeadSource)
class LeadSourceAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "key",
        "channel",
        "quality_points",
        "cost_per_lead",
        "team",
        "form_enabled",
        "active",
    ]
    list_editable = ["quality_points", "cost_per_lead", "active"]
    list_filter = ["channel", "form_enabled", "active"]
    search_fields = ["name", "key"]


@admin.register(ScoreWeight)
class ScoreWeightAdmin(admin.ModelAdmin):
    """Managers tune the points of each factor; the factors themselves are fixed in code."""

    list_display = ["code", "factor", "points"]
    list_editable = ["points"]
    readonly_fields = ["code"]

    @admin.display(description="counts")
    def factor(self, weight):
        factor = FACTORS.get(weight.code)
        if factor is None:
            return "(unknown factor: not used)"
        return factor.label + (f", up to {factor.cap} times" if factor.cap > 1 else "")

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebEvent)
class WebEventAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["occurred_at", "type", "visitor", "customer", "make", "model", "url"]
    list_select_related = ["visitor", "customer"]
    list_filter = ["type"]
    search_fields = ["=visitor__visitor_id", "=customer__id", "=vin"]
    show_full_result_count = False
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


@admin.register(Resurfacing)
class ResurfacingAdmin(ReadOnly, VisibleLeadsOnly, admin.ModelAdmin):
    """Comebacks, as the sweeps recorded them; managers decide reviews on the Comebacks page."""

    list_display = ["detected_at", "lead", "kind", "outcome", "quiet_days", "owner", "decided_by"]
    list_select_related = ["lead__customer", "owner", "decided_by"]
    list_filter = ["kind", "outcome", "detected_at"]
    search_fields = ["=lead__id"]
    show_full_result_count = False


@admin.register(Recycling)
class RecyclingAdmin(ReadOnly, VisibleLeadsOnly, admin.ModelAdmin):
    list_display = ["at", "lifecycle_date", "lead", "created_lead"]
    list_select_related = ["lifecycle_date__customer", "lead__customer"]
    list_filter = ["created_lead", "lifecycle_date__kind"]
    search_fields = ["=lead__id"]
    show_full_result_count = False


@admin.register(LifecycleSettings)
class LifecycleSettingsAdmin(SettingsRowAdmin):
    """The single row of settings, with the form and the service of the settings page, so that
    the sweeps never read a tier list they cannot use."""

    form = LifecycleSettingsForm
    save_settings = staticmethod(lifecycle_settings_set)
