"""Forms of the service reports, the customer pages and the corrective actions."""

from django import forms

from leads.models import Reason
from service.customers import Segment
from service.kpis import Period, default_period, period_refusal
from service.models import CustomerIssue


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class KpiPeriodForm(forms.Form):
    """The KPIs' period, from the query string. Left empty, it is the last 12 months; an end
    alone gets the twelve months up to it, a start alone runs to today."""

    start = forms.DateField(label="From", required=False, widget=DateInput)
    end = forms.DateField(label="To (included)", required=False, widget=DateInput)

    def __init__(self, data=None, *, today, **kwargs):
        super().__init__(data, **kwargs)
        self.today = today
        default = default_period(today)
        self.fields["start"].initial = default.start
        self.fields["end"].initial = default.end

    def clean(self):
        data = super().clean()
        if self.errors:
            return data
        end = data.get("end") or self.today
        start = data.get("start")
        if start is None:
            start = default_period(end).start
        refusal = period_refusal(start, end)
        if refusal:
            raise forms.ValidationError(refusal, code="period")
        data["start"], data["end"] = start, end
        return data

    def period(self):
        """The period asked for; the default one when the form is unbound."""
        if not self.is_bound:
            return default_period(self.today)
        return Period(self.cleaned_data["start"], self.cleaned_data["end"])


class CustomerSearchForm(forms.Form):
    q = forms.CharField(label="Name, phone or e-mail", required=False, max_length=100)
    segment = forms.ChoiceField(
        label="Segment", required=False, choices=[("", "Any segment"), *Segment.choices]
    )


class IssueForm(forms.Form):
    """A customer's problem. `vehicles` are the customer's cars, already loaded by the page
    (a model choice field would query them again)."""

    prefix = "issue"

    kind = forms.ChoiceField(choices=CustomerIssue.Kind.choices, initial=CustomerIssue.Kind.SERVICE)
    summary = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    details = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 3}))
    vehicle = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)

    def __init__(self, *args, vehicles=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.vehicles = {vehicle.pk: vehicle for vehicle in vehicles}
        self.fields["vehicle"].choices = [("", "No particular car")] + [
            (vehicle.pk, str(vehicle)) for vehicle in vehicles
        ]

    def clean_vehicle(self):
        vehicle = self.cleaned_data["vehicle"]
        return None if vehicle is None else self.vehicles[vehicle]


class IssueResolveForm(forms.Form):
    resolution = forms.CharField(
        label="How it was resolved", widget=forms.Textarea(attrs={"rows": 2}), max_length=2000
    )


class CorrectiveActionForm(forms.Form):
    reason = forms.ModelChoiceField(
        queryset=Reason.objects.filter(kind=Reason.Kind.SERVICE_LOSS, active=True).order_by(
            "ordering", "label"
        ),
        label="Against the reason",
        empty_label=None,
    )
    action = forms.CharField(
        max_length=200,
        help_text='What changes, e.g. "Stock brake pads for the ten most serviced models".',
    )
    started_on = forms.DateField(label="From", widget=DateInput)
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The reasons read once: the select widget would read its queryset again to decide
        # whether to mark itself required (and list() would count them first).
        reason = self.fields["reason"]
        reason.widget.choices = [choice for choice in reason.choices]
