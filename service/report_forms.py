"""Forms of the service reports, the customer pages and the corrective actions."""

from django import forms

from dealercrm.forms import DateInput
from leads.models import Reason
from service.customers import Segment
from service.models import CustomerIssue


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
