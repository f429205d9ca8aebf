"""Forms of the lead pages and of the hosted website form."""

from django import forms

from dealercrm.contacts import normalize_phone
from dealercrm.errors import InvalidContactDetail
from leads.models import Lead
from leads.submission import Format, Submission, VehicleDetails


class WebsiteLeadForm(forms.Form):
    """The form a dealer's site links to or embeds. A person is there to fix a typo, so contact
    details are checked here instead of being flagged after the fact."""

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.EmailField(label="E-mail", max_length=254, required=False)
    phone = forms.CharField(max_length=40, required=False)
    vehicle_make = forms.CharField(label="Make", max_length=50, required=False)
    vehicle_model = forms.CharField(label="Model", max_length=50, required=False)
    purchase_horizon = forms.ChoiceField(
        label="When are you planning to buy?",
        choices=Lead.PurchaseHorizon.choices,
        required=False,
    )
    comments = forms.CharField(
        label="Your question",
        max_length=5000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
    )
    consent_email = forms.BooleanField(label="You may e-mail me", required=False)
    consent_sms = forms.BooleanField(label="You may text me", required=False)
    consent_phone = forms.BooleanField(label="You may call me", required=False)
    visitor_id = forms.CharField(max_length=64, required=False, widget=forms.HiddenInput)
    # The honeypot: hidden from people by CSS, filled in by bots that fill every field.
    website = forms.CharField(label="Leave this field empty", max_length=200, required=False)

    def clean_phone(self):
        phone = self.cleaned_data["phone"]
        try:
            normalize_phone(phone)
        except InvalidContactDetail:
            raise forms.ValidationError(
                "Please check the number: it does not look complete."
            ) from None
        return phone

    def clean(self):
        data = super().clean()
        if not self.errors and not (data.get("email") or data.get("phone")):
            raise forms.ValidationError(
                "Leave an e-mail address or a phone number so we can answer you."
            )
        return data

    def submission(self, source, raw_payload):
        data = self.cleaned_data
        vehicle = VehicleDetails(
            make=data["vehicle_make"].strip(), model=data["vehicle_model"].strip()
        )
        return Submission(
            source=source.key,
            channel=source.channel,
            first_name=data["first_name"].strip(),
            last_name=data["last_name"].strip(),
            emails=tuple(filter(None, [data["email"]])),
            phones=tuple(filter(None, [data["phone"].strip()])),
            vehicle=None if vehicle.is_empty() else vehicle,
            purchase_horizon=data["purchase_horizon"],
            comments=data["comments"].strip(),
            visitor_id=data["visitor_id"].strip(),
            consent_email=data["consent_email"],
            consent_sms=data["consent_sms"],
            consent_phone=data["consent_phone"],
            honeypot_filled=bool(data["website"].strip()),
            payload_format=Format.FORM,
            raw_payload=raw_payload,
        )


class ReassignForm(forms.Form):
    """A manager moves a lead to someone else (or back to the pool), saying why."""

    owner = forms.ModelChoiceField(
        queryset=None, required=False, empty_label="Back to the pool", label="New owner"
    )
    reason = forms.CharField(label="Reason", max_length=500, help_text="The history keeps it.")

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people
