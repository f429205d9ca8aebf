from django import forms
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin
from django.core.exceptions import ValidationError

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail
from dealercrm.models import (
    AuditEntry,
    Customer,
    LifecycleDate,
    StaffProfile,
    SweepRun,
    Team,
    Vehicle,
)


class ReadOnly:
    """Rows only the CRM writes (history, sweep runs): editing or deleting one would leave the
    records and the reports disagreeing with what happened. For model admins and inlines."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class SettingsRowAdmin(admin.ModelAdmin):
    """A model of settings kept in one row (`Model.current()`), saved through the service of
    its settings page (`save_settings(by=..., **changed)`) so that the admin checks and records
    a change the way the page does."""

    save_settings = None

    def changelist_view(self, request, extra_context=None):
        self.model.current()  # the single row is there to change, never added here
        return super().changelist_view(request, extra_context)

    def has_add_permission(self, request):
        # Not a query: the admin asks this of every model on every page, for its side bar.
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        changed = {name: form.cleaned_data[name] for name in form.changed_data}
        obj.pk = self.save_settings(by=request.user, **changed).pk


@admin.register(Team)
class TeamAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "active"]
    list_filter = ["kind", "active"]
    search_fields = ["name"]


@admin.register(StaffProfile)
class StaffProfileAdmin(admin.ModelAdmin):
    list_display = ["user", "role", "team", "capacity", "on_shift", "active", "email_notifications"]
    list_filter = ["role", "team", "on_shift", "active", "email_notifications"]
    list_select_related = ["user", "team"]
    search_fields = ["user__username", "user__first_name", "user__last_name", "user__email"]
    autocomplete_fields = ["user", "team"]
    # The role decides the permission group: change it with `staff_set_role`, not here.
    readonly_fields = ["role", "response_seconds"]

    def has_add_permission(self, request):
        return False


class StaffProfileInline(admin.StackedInline):
    model = StaffProfile
    can_delete = False
    readonly_fields = ["role", "response_seconds"]
    fields = ["role", "team", "capacity", "on_shift", "active", "email_notifications"]

    def has_add_permission(self, request, obj=None):
        return False


admin.site.unregister(get_user_model())


@admin.register(get_user_model())
class StaffUserAdmin(UserAdmin):
    inlines = [StaffProfileInline]
    list_display = ["username", "first_name", "last_name", "email", "is_active", "is_staff"]


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = [
            "first_name",
            "last_name",
            "email",
            "phone",
            "postal_code",
            "preferred_contact",
            "consent_email",
            "consent_sms",
            "consent_phone",
        ]

    def clean_email(self):
        return self._normalized(normalize_email, "email")

    def clean_phone(self):
        return self._normalized(normalize_phone, "phone")

    def _normalized(self, normalize, field):
        try:
            return normalize(self.cleaned_data[field])
        except InvalidContactDetail as error:
            raise ValidationError(str(error)) from None


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    form = CustomerForm
    list_display = ["__str__", "email", "phone", "preferred_contact", "created_at"]
    list_filter = [
        "preferred_contact",
        "consent_email",
        "consent_sms",
        "consent_phone",
        "created_at",
    ]
    search_fields = ["last_name", "first_name", "=email", "=phone"]
    show_full_result_count = False


@admin.register(Vehicle)
class VehicleAdmin(admin.ModelAdmin):
    list_display = ["__str__", "vin", "mileage", "owner"]
    list_select_related = ["owner"]
    list_filter = ["make", "year"]
    search_fields = ["=vin", "make", "model", "owner__last_name"]
    raw_id_fields = ["owner"]
    show_full_result_count = False


@admin.register(LifecycleDate)
class LifecycleDateAdmin(admin.ModelAdmin):
    list_display = ["customer", "kind", "date", "vehicle", "recycled_at"]
    list_select_related = ["customer", "vehicle"]
    list_filter = ["kind", "date"]
    search_fields = ["customer__last_name", "customer__first_name", "=customer__email"]
    raw_id_fields = ["customer", "vehicle"]
    # The recycling sweep claims a date by setting it: set by hand, the date is never recycled.
    readonly_fields = ["created_at", "recycled_at"]
    show_full_result_count = False


@admin.register(SweepRun)
class SweepRunAdmin(ReadOnly, admin.ModelAdmin):
    """The sweeps' own record of their runs (dealercrm.schedules.sweep_run): read only."""

    list_display = [
        "name",
        "started_at",
        "as_of",
        "status",
        "seconds",
        "examined",
        "changed",
        "errors",
    ]
    list_filter = ["name", "status"]
    show_full_result_count = False

    @admin.display(description="seconds")
    def seconds(self, run):
        return "—" if run.seconds is None else f"{run.seconds:.2f}"


@admin.register(AuditEntry)
class AuditEntryAdmin(ReadOnly, admin.ModelAdmin):
    list_display = ["at", "action", "target_label", "actor", "actor_label"]
    list_filter = ["action"]
    list_select_related = ["actor"]
    search_fields = ["target_label", "note"]
