"""The form of the life-cycle settings page (and of their admin page)."""

from django import forms

from dealercrm.forms import SettingsForm
from leads.errors import InvalidLifecycleSetting
from leads.lifecycle_settings import REMINDER_HOURS, stale_tiers_check
from leads.models import LifecycleSettings


class DaysListField(forms.CharField):
    """Numbers of days typed as "7, 14, 21"; cleans to a list of ints in ascending order, checked
    by the same rule the settings service applies."""

    def prepare_value(self, value):
        if isinstance(value, list | tuple):
            return ", ".join(str(days) for days in value)
        return value

    def to_python(self, value):
        text = super().to_python(value)
        if not text:
            return []
        days = []
        for part in text.replace(";", ",").split(","):
            part = part.strip()
            if not part:
                continue
            if not part.isdigit():
                raise forms.ValidationError(
                    "%(part)s is not a whole number of days; type numbers separated by "
                    "commas, e.g. 7, 14, 21.",
                    code="invalid",
                    params={"part": f"“{part}”"},
                )
            days.append(int(part))
        return days

    def validate(self, value):
        super().validate(value)
        try:
            stale_tiers_check(value)
        except InvalidLifecycleSetting as problem:
            raise forms.ValidationError(str(problem), code="invalid") from None


class LifecycleSettingsForm(SettingsForm):
    """The settings of the sweeps, in the groups the page shows. With `read_only`,
    every field is shown disabled: for someone who may look but not change."""

    stale_tiers = DaysListField(
        label="Quiet tiers (days)",
        help_text="1 to 3 numbers of days from 1 to 90, separated by commas. An open lead with "
        "no CRM activity for that long is flagged quiet in the queue.",
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
        error_messages={"required": "Give at least one quiet tier, e.g. 7."},
    )
    # Neither may be 0: an empty window would never bring a lost customer back, and a newcomer
    # would be archived the moment it is quiet.
    reactivation_window_days = forms.IntegerField(
        label="Look back (days)",
        min_value=1,
        max_value=365,
        help_text="Website activity within this many days counts as buying behaviour.",
    )
    archive_after_days = forms.IntegerField(
        label="Archive after (days quiet)",
        min_value=1,
        max_value=365,
        help_text="New or contacted leads buying later than in 3 months are archived after "
        "this many days without CRM activity.",
    )
    reminder_hour = forms.IntegerField(
        label="Morning reminder at (hour)",
        min_value=REMINDER_HOURS[0],
        max_value=REMINDER_HOURS[1],
        help_text="The local hour, 0 to 23, from which each salesperson is reminded of the "
        "day's tasks.",
        error_messages={
            "min_value": "The reminder hour is an hour of the day, 0 to 23.",
            "max_value": "The reminder hour is an hour of the day, 0 to 23.",
        },
    )

    # (title, what to know, fields), in the page's order.
    groups = [
        ("Quiet leads", "", ["stale_tiers"]),
        (
            "Lost customers shopping again",
            "A lost or disqualified customer shows buying behaviour when, within the look-back "
            "days, any threshold that is not 0 is reached.",
            [
                "reactivation_mode",
                "reactivation_window_days",
                "reactivation_sessions",
                "reactivation_vehicle_views",
                "reactivation_form_views",
            ],
        ),
        ("Weekly archive", "", ["archive_after_days"]),
        (
            "Recycling",
            "How many days ahead of each life-cycle date the customer comes back to sales.",
            [
                "recycle_lease_end_days",
                "recycle_loan_maturity_days",
                "recycle_warranty_end_days",
                "recycle_purchase_anniversary_days",
                "recycle_service_due_days",
            ],
        ),
        ("Reminders", "", ["reminder_hour"]),
    ]

    class Meta:
        model = LifecycleSettings
        fields = [
            "stale_tiers",
            "reactivation_mode",
            "reactivation_window_days",
            "reactivation_sessions",
            "reactivation_vehicle_views",
            "reactivation_form_views",
            "archive_after_days",
            "recycle_lease_end_days",
            "recycle_loan_maturity_days",
            "recycle_warranty_end_days",
            "recycle_purchase_anniversary_days",
            "recycle_service_due_days",
            "reminder_hour",
        ]
        labels = {
            "reactivation_mode": "What happens",
            "reactivation_sessions": "Visits",
            "reactivation_vehicle_views": "Vehicle views",
            "reactivation_form_views": "Form views",
            "recycle_lease_end_days": "Lease ends",
            "recycle_loan_maturity_days": "Loan matures",
            "recycle_warranty_end_days": "Warranty ends",
            "recycle_purchase_anniversary_days": "Purchase anniversary",
            "recycle_service_due_days": "Service due",
        }
