"""The forms of the service settings and campaigns pages (and of their admin pages). Their
checks are the setup services' own, so a page never accepts what the service would refuse."""

from django import forms

from dealercrm.forms import DateInput, SettingsForm
from service.models import ServiceCampaign, ServiceSettings
from service.setup import (
    SETTING_LIMITS,
    InvalidCampaign,
    campaign_dates_check,
    campaign_words,
)


def _limited(name, help_text):
    low, high, label = SETTING_LIMITS[name]
    message = f"{label}: give a whole number from {low:,} to {high:,}."
    return forms.IntegerField(
        label=label,
        min_value=low,
        max_value=high,
        help_text=help_text,
        error_messages={
            "required": message,
            "invalid": message,
            "min_value": message,
            "max_value": message,
        },
        widget=forms.NumberInput(attrs={"min": low, "max": high}),
    )


class ServiceSettingsForm(SettingsForm):
    """The service settings, in the groups the page shows. With `read_only`, every field is
    shown disabled: for someone who may look but not change."""

    rebook_after_days = _limited(
        "rebook_after_days",
        "Days after a no-show or a cancelled appointment until the advisor is asked to rebook "
        "it (0: the same day).",
    )
    follow_up_after_days = _limited(
        "follow_up_after_days",
        "Days after work was declined (a declined quote, a reduced scope, a cancelled order) "
        "until it is offered again.",
    )
    sales_lead_vehicle_age_years = _limited(
        "sales_lead_vehicle_age_years",
        "A car at least this old at a service visit makes a sales lead (0: never by age).",
    )
    sales_lead_mileage_km = _limited(
        "sales_lead_mileage_km",
        "A car with at least this many km at a service visit makes a sales lead (0: never by "
        "mileage).",
    )

    # (title, what to know, fields), in the page's order.
    groups = [
        (
            "Lost sales coming back",
            "The recapture sweep brings each lost sale back to its advisor on its day; sooner "
            "when the parts arrive, a campaign fits or the customer checks in. Losses logged "
            "before a change keep their day.",
            ["rebook_after_days", "follow_up_after_days"],
        ),
        (
            "Sales leads from service visits",
            "When a car checks in, its owner goes back to sales (to their previous "
            "salesperson first) if either threshold that is not 0 is reached.",
            ["sales_lead_vehicle_age_years", "sales_lead_mileage_km"],
        ),
    ]

    class Meta:
        model = ServiceSettings
        fields = list(SETTING_LIMITS)


class CampaignForm(forms.ModelForm):
    """A campaign: what it offers, to which cars and work, and when."""

    class Meta:
        model = ServiceCampaign
        fields = ["name", "offer", "makes", "keywords", "starts_on", "ends_on", "active"]
        labels = {
            "offer": "What the customer gets",
            "makes": "Makes (empty: all)",
            "keywords": "Work it fits (empty: any)",
            "starts_on": "Starts on",
            "ends_on": "Ends on",
            "active": "Active",
        }
        help_texts = {
            "offer": "E.g. 20% off brake pads and discs.",
            "makes": "Comma-separated, e.g. Toyota, Honda.",
            "keywords": "Comma-separated words, e.g. brake, pads; it fits declined work whose "
            "lines mention one.",
            "active": "Switched off, the sweep offers it to nobody.",
        }
        widgets = {
            "starts_on": DateInput(),
            "ends_on": DateInput(),
            "name": forms.TextInput(attrs={"autocomplete": "off"}),
        }
        error_messages = {
            "name": {"required": "Give the campaign a name, e.g. “Brake week”."},
            "offer": {"required": "Say what the customer gets, e.g. “20% off brakes”."},
            "starts_on": {
                "required": "Say when the campaign starts.",
                "invalid": "The start is not a date; use the calendar or type 2026-03-15.",
            },
            "ends_on": {
                "required": "Say when the campaign ends.",
                "invalid": "The end is not a date; use the calendar or type 2026-04-15.",
            },
        }

    def clean_makes(self):
        return self._words("makes")

    def clean_keywords(self):
        return self._words("keywords")

    def _words(self, field):
        try:
            return campaign_words(self.cleaned_data.get(field, ""), field)
        except InvalidCampaign as problem:
            raise forms.ValidationError(str(problem), code="invalid") from None

    def clean(self):
        cleaned = super().clean()
        try:
            campaign_dates_check(cleaned.get("starts_on"), cleaned.get("ends_on"))
        except InvalidCampaign as problem:
            self.add_error(problem.field, str(problem))
        return cleaned
