"""Forms of the lead pages and of the hosted website form."""

from django import forms
from django.utils import timezone

from dealercrm.contacts import normalize_phone
from dealercrm.errors import InvalidContactDetail
from dealercrm.vocabulary import LeadChannel
from leads.models import (
    REASON_KIND_FOR_STATUS,
    TRANSITIONS,
    Activity,
    FollowUpStep,
    Lead,
    LeadStatus,
)
from leads.replay import DEFAULT_DAYS, MAX_DAYS
from leads.submission import Format, Submission, VehicleDetails
from routing.forms import PersonChoiceField
from routing.models import OpeningHours
from routing.selectors import staff_for_rule_choices


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

    owner = PersonChoiceField(
        queryset=None, required=False, empty_label="Back to the pool", label="New owner"
    )
    reason = forms.CharField(label="Reason", max_length=500, help_text="The history keeps it.")

    def __init__(self, *args, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = people


# --- the workspace: quick actions on a lead ---------------------------------------------------


class WorkspaceForm(forms.Form):
    """Every quick action carries what the person saw of the lead (`Lead.edit_token`), so that
    a change made on a stale page is refused instead of overwriting someone else's."""

    seen = forms.CharField(widget=forms.HiddenInput, required=False)


CALL_OUTCOMES = [
    ("", "—"),
    (Activity.Outcome.CONNECTED, "Talked to the customer"),
    (Activity.Outcome.VOICEMAIL, "Left a voicemail"),
    (Activity.Outcome.NO_ANSWER, "No answer"),
    (Activity.Outcome.WRONG_NUMBER, "Wrong number"),
]
TOUCH_KINDS = [
    (kind.value, kind.label)
    for kind in (
        Activity.Kind.CALL,
        Activity.Kind.EMAIL,
        Activity.Kind.SMS,
        Activity.Kind.CHAT,
        Activity.Kind.MEETING,
        Activity.Kind.NOTE,
    )
]


class ActivityForm(WorkspaceForm):
    """A touch a person logs: a call (outcome and duration), an e-mail, a text, a chat, a
    meeting or a note. Always personal: automated messages come only from integrations.
    Completing a task uses it too, prefixed with the task."""

    prefix = "log"

    kind = forms.ChoiceField(choices=TOUCH_KINDS, initial=Activity.Kind.CALL)
    direction = forms.ChoiceField(
        choices=Activity.Direction.choices, initial=Activity.Direction.OUTBOUND
    )
    outcome = forms.ChoiceField(label="Outcome", choices=CALL_OUTCOMES, required=False)
    minutes = forms.IntegerField(
        label="Minutes", min_value=0, max_value=480, required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )  # fmt: skip
    seconds = forms.IntegerField(
        label="Seconds", min_value=0, max_value=59, required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )  # fmt: skip
    customer_responded = forms.BooleanField(label="The customer replied", required=False)
    body = forms.CharField(
        label="What was said", max_length=5000, required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )  # fmt: skip

    def clean(self):
        data = super().clean()
        kind = data.get("kind")
        if kind == Activity.Kind.CALL and not data.get("outcome"):
            self.add_error("outcome", "Say how the call went.")
        if kind != Activity.Kind.CALL and data.get("outcome") in dict(CALL_OUTCOMES):
            data["outcome"] = ""
        if kind == Activity.Kind.NOTE and not data.get("body", "").strip():
            self.add_error("body", "Write the note.")
        return data

    def activity(self):
        """The keyword arguments of `activity_log` (and `followup_task_complete`)."""
        data = self.cleaned_data
        kind = data["kind"]
        duration = None
        if kind == Activity.Kind.CALL and (data["minutes"] is not None or data["seconds"]):
            duration = (data["minutes"] or 0) * 60 + (data["seconds"] or 0)
        responded = data["customer_responded"] or data["outcome"] == Activity.Outcome.CONNECTED
        return {
            "kind": kind,
            "direction": Activity.Direction.OUTBOUND
            if kind == Activity.Kind.NOTE
            else data["direction"],
            "outcome": data["outcome"],
            "duration_seconds": duration,
            "customer_responded": responded or data["direction"] == Activity.Direction.INBOUND,
            "body": data["body"].strip(),
        }


class StatusForm(WorkspaceForm):
    """Move the lead along; lost and disqualified need a reason from the catalog."""

    prefix = "status"

    to_status = forms.ChoiceField(label="New status")
    reason = forms.TypedChoiceField(
        label="Reason", required=False, coerce=int, empty_value=None,
        help_text="Needed for lost and disqualified.",
    )  # fmt: skip
    note = forms.CharField(label="Note", max_length=1000, required=False)

    def __init__(self, *args, lead, reasons, **kwargs):
        super().__init__(*args, **kwargs)
        allowed = TRANSITIONS[LeadStatus(lead.status)]
        self.fields["to_status"].choices = [
            (status.value, status.label) for status in LeadStatus if status in allowed
        ]
        # Grouped by kind (<optgroup>), so that a lost lead is not given a disqualifying reason.
        self.reasons = {reason.pk: reason for reason in reasons}
        groups = {}
        for reason in self.reasons.values():
            groups.setdefault(reason.get_kind_display(), []).append((reason.pk, reason.label))
        self.fields["reason"].choices = [("", "—"), *groups.items()]

    def clean(self):
        data = super().clean()
        kind = REASON_KIND_FOR_STATUS.get(data.get("to_status"))
        reason = self.reasons.get(data.get("reason"))
        data["reason"] = reason
        if kind and reason is None:
            self.add_error("reason", f"Pick why the lead is {data['to_status']}.")
        elif kind and reason.kind != kind:
            self.add_error("reason", f"'{reason.label}' is a reason for {reason.kind} leads.")
        elif not kind:
            data["reason"] = None
        if reason is not None and reason.requires_note and kind and not data.get("note"):
            self.add_error("note", f"'{reason.label}' needs a note saying what happened.")
        return data


class AppointmentForm(WorkspaceForm):
    prefix = "appointment"

    starts_at = forms.DateTimeField(
        label="Date and time",
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"],
    )
    note = forms.CharField(label="Note", max_length=1000, required=False)


class ReopenForm(WorkspaceForm):
    prefix = "reopen"

    note = forms.CharField(
        label="Why it goes back to work", max_length=1000,
        help_text="For example: the customer called back and is still looking.",
    )  # fmt: skip


class BulkReassignForm(forms.Form):
    """A manager hands several leads of the board to someone else at once, saying why."""

    leads = forms.ModelMultipleChoiceField(queryset=None, widget=forms.MultipleHiddenInput)
    owner = PersonChoiceField(
        queryset=None, required=False, empty_label="Back to the pool", label="Give to"
    )
    reason = forms.CharField(label="Reason", max_length=500)

    def __init__(self, *args, leads, people, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["leads"].queryset = leads
        self.fields["leads"].error_messages["required"] = "Tick the leads to reassign."
        self.fields["owner"].queryset = people


class FollowUpStepForm(forms.Form):
    day = forms.IntegerField(label="Day", min_value=1, max_value=FollowUpStep.LAST_DAY)
    channel = forms.ChoiceField(
        label="How", choices=[kind for kind in TOUCH_KINDS if kind[0] != Activity.Kind.NOTE]
    )
    instruction = forms.CharField(label="What to do", max_length=200, required=False)


class BaseFollowUpStepFormSet(forms.BaseFormSet):
    def clean(self):
        days = [
            form.cleaned_data["day"]
            for form in self.forms
            if form.cleaned_data.get("day") and not form.cleaned_data.get("DELETE")
        ]
        twice = sorted({day for day in days if days.count(day) > 1})
        if twice:
            raise forms.ValidationError(
                f"One step per day: day {', '.join(map(str, twice))} appears more than once."
            )


FollowUpStepFormSet = forms.formset_factory(
    FollowUpStepForm, formset=BaseFollowUpStepFormSet, extra=3, can_delete=True
)


# --- routing pages -----------------------------------------------------------------------

# The service's own words (dealercrm.services.staff_set_routing), so that the form and the
# service refuse a capacity alike.
CAPACITY_ERROR = "Capacity is a whole number of open leads, 0 to 1,000."


class StaffRoutingForm(forms.Form):
    """One change to a person's routing. On shift posts the state wanted, so that a double click
    or two managers at once cannot flip it back."""

    on_shift = forms.TypedChoiceField(
        choices=[("1", "on"), ("0", "off")],
        coerce=lambda value: value == "1",
        required=False,
        empty_value=None,
    )
    # Only whether it is a number: the range is the service's call (InvalidStaffSetting).
    capacity = forms.IntegerField(required=False, error_messages={"invalid": CAPACITY_ERROR})

    def clean(self):
        data = super().clean()
        if "capacity" in self.data and data.get("capacity") is None:
            if "capacity" not in self.errors:  # the box was emptied
                self.add_error("capacity", CAPACITY_ERROR)
        elif data.get("on_shift") is None and data.get("capacity") is None:
            raise forms.ValidationError("Post on_shift=1, on_shift=0 or a capacity.")
        return data


class OpeningHoursForm(forms.Form):
    """A row per weekday: opens, closes, or closed."""

    def __init__(self, *args, hours, **kwargs):
        """`hours` is {weekday: (opens, closes)} as `routing.selectors.opening_hours` gives it."""
        initial = {}
        for day in OpeningHours.Weekday:
            opens, closes = hours.get(day.value, (None, None))
            initial |= {
                f"opens_{day.value}": opens,
                f"closes_{day.value}": closes,
                f"closed_{day.value}": day.value not in hours,
            }
        super().__init__(*args, initial=initial, **kwargs)
        for day in OpeningHours.Weekday:
            for part in ("opens", "closes"):
                self.fields[f"{part}_{day.value}"] = forms.TimeField(
                    label=f"{day.label} {part}",
                    required=False,
                    widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                )
            self.fields[f"closed_{day.value}"] = forms.BooleanField(
                label=f"{day.label} closed", required=False
            )

    def rows(self):
        """(weekday name, opens, closes, closed) bound fields, Monday first."""
        for day in OpeningHours.Weekday:
            yield (
                day.label,
                self[f"opens_{day.value}"],
                self[f"closes_{day.value}"],
                self[f"closed_{day.value}"],
            )

    def clean(self):
        data = super().clean()
        for day in OpeningHours.Weekday:
            if data.get(f"closed_{day.value}"):
                continue
            opens, closes = data.get(f"opens_{day.value}"), data.get(f"closes_{day.value}")
            if f"opens_{day.value}" in self.errors or f"closes_{day.value}" in self.errors:
                continue
            if opens is None or closes is None:
                self.add_error(
                    f"opens_{day.value}" if opens is None else f"closes_{day.value}",
                    f"{day.label}: give the opening and closing time, or tick closed.",
                )
            elif not opens < closes:
                self.add_error(f"closes_{day.value}", f"{day.label} must close after it opens.")
        return data

    def hours(self):
        """The argument of `opening_hours_set`: the days not ticked closed."""
        data = self.cleaned_data
        return {
            day.value: (data[f"opens_{day.value}"], data[f"closes_{day.value}"])
            for day in OpeningHours.Weekday
            if not data[f"closed_{day.value}"]
        }


class RuleSetForm(forms.Form):
    """Which rules decide: the active ones, or a draft of exactly the rules ticked (active or
    not), so that a manager can try a change before making it."""

    rule_set = forms.ChoiceField(
        label="Rules",
        choices=[("active", "The active rules"), ("draft", "A draft: the rules ticked below")],
        widget=forms.RadioSelect,
        required=False,
        initial="active",
    )
    rules = forms.TypedMultipleChoiceField(
        label="Draft rule set",
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="Run in the order of the rule list.",
    )

    def __init__(self, data=None, *args, rule_choices, **kwargs):
        """`data` is the query (a QueryDict) or None; `rule_choices` is `rule_choices()`:
        every rule, and the ids of the active ones."""
        choices, active = rule_choices
        if data is not None and data.get("rule_set") != "draft" and not data.getlist("rules"):
            # The active set was asked for: its rules stay ticked, ready to become a draft.
            data = data.copy()
            data.setlist("rules", [str(pk) for pk in active])
        super().__init__(data, *args, **kwargs)
        self.fields["rules"].choices = choices
        self.fields["rules"].initial = active

    def clean(self):
        data = super().clean()
        if data.get("rule_set") == "draft" and not data.get("rules"):
            self.add_error(
                "rules", "Tick at least one rule for the draft, or try the active rules."
            )
        return data

    def rule_ids(self):
        """None for the active rules, else the ids of the draft."""
        if self.cleaned_data.get("rule_set") != "draft":
            return None
        return list(self.cleaned_data["rules"])


class PreviewForm(RuleSetForm):
    lead = forms.IntegerField(
        label="Lead number",
        min_value=1,
        required=False,
        help_text="An existing lead; the attributes below are then ignored.",
    )
    source = forms.CharField(
        label="Source key", max_length=64, required=False, help_text="e.g. website, cars-com"
    )
    channel = forms.ChoiceField(choices=[("", "—"), *LeadChannel.choices], required=False)
    score = forms.IntegerField(
        min_value=0, max_value=100, required=False, help_text="0 to 100; empty is 0."
    )
    vehicle_condition = forms.ChoiceField(
        label="Vehicle",
        choices=[("", "New or used (any)"), ("new", "New"), ("used", "Used")],
        required=False,
    )
    make = forms.CharField(max_length=50, required=False)
    known_customer = forms.TypedChoiceField(
        label="Known customer",
        choices=[("no", "No, new to us"), ("yes", "Yes, known before the inquiry")],
        coerce=lambda value: value == "yes",
        required=False,
        empty_value=False,
        initial="no",
    )
    previous_owner = PersonChoiceField(
        label="Previous salesperson", queryset=None, required=False, empty_label="None"
    )
    at = forms.DateTimeField(
        label="When",
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="In the dealership's time zone; empty is now.",
    )

    field_order = [
        "lead",
        "source",
        "channel",
        "score",
        "vehicle_condition",
        "make",
        "known_customer",
        "previous_owner",
        "at",
        "rule_set",
        "rules",
    ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["previous_owner"].queryset = staff_for_rule_choices()
        self.fields["at"].initial = timezone.localtime().replace(second=0, microsecond=0)

    def clean(self):
        data = super().clean()
        if data.get("previous_owner") is not None and data.get("known_customer") is False:
            self.add_error(
                "known_customer", "A customer with a previous salesperson is known; choose yes."
            )
        return data

    def preview_input(self):
        """The argument of `preview_for_input`: a lead id, or the typed attributes."""
        data = self.cleaned_data
        given = {"at": data["at"], "rules": self.rule_ids()}
        if data["lead"]:
            return given | {"lead": data["lead"]}
        previous = data["previous_owner"]
        return given | {
            "source": data["source"].strip(),
            "channel": data["channel"],
            "score": data["score"] or 0,
            "vehicle_condition": data["vehicle_condition"],
            "make": data["make"].strip(),
            "known_customer": data["known_customer"],
            "previous_owner": previous.pk if previous else None,
        }


class ReplayForm(RuleSetForm):
    days = forms.IntegerField(
        min_value=1,
        max_value=MAX_DAYS,
        required=False,
        initial=DEFAULT_DAYS,
        help_text=f"1 to {MAX_DAYS}; the leads that arrived in them.",
    )

    field_order = ["days", "rule_set", "rules"]


# --- staff on shift, capacity and opening hours --------------------------------------------
