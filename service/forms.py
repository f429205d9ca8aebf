"""Forms of the advisor's pages. They check the shape of what was typed; whether the change is
allowed (a closed opportunity, an amount above the estimate, a reason that needs a note) is
the services' call, and their words are shown as they are."""

import re
from decimal import Decimal, InvalidOperation

from django import forms
from django.conf import settings

from routing.forms import PersonChoiceField
from service.models import STAGE_ORDER, ServiceLoss, ServiceOpportunity, Stage
from service.selectors import BEFORE_CHECK_IN, IN_THE_WORKSHOP

Event = ServiceLoss.Event
# The reason an event all but names: one click fewer for the advisor.
OBVIOUS_REASON = {Event.NO_SHOW: "no_show"}
# Losses of work the customer said no to: what they declined is worth writing down, so that it
# can be offered again.
DECLINED_WORK = (Event.QUOTE_DECLINED, Event.ORDER_CANCELLED, Event.SCOPE_REDUCED)
# The short words of a loss button on a row.
EVENT_BUTTON = {
    Event.NO_SHOW: "No-show",
    Event.APPOINTMENT_CANCELLED: "Cancelled",
    Event.QUOTE_DECLINED: "Declined",
    Event.ORDER_CANCELLED: "Order cancelled",
    Event.SCOPE_REDUCED: "Scope reduced",
}
DATETIME_INPUT = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]


def loss_events(opportunity):
    """The losses that fit where the opportunity is: before check-in an appointment can be
    missed or cancelled (a quote without one can only be declined), and a quote declined; in
    the workshop the order can be cancelled or its scope reduced. None once it is closed."""
    if not opportunity.is_open:
        return []
    if opportunity.stage in BEFORE_CHECK_IN:
        quote = opportunity.source == ServiceOpportunity.Source.QUOTE
        events = []
        if opportunity.booked_for:
            events += [Event.NO_SHOW, Event.APPOINTMENT_CANCELLED]
        elif not quote:
            events.append(Event.APPOINTMENT_CANCELLED)
        if quote:
            events.append(Event.QUOTE_DECLINED)
        return events
    if opportunity.stage in IN_THE_WORKSHOP:
        return [Event.ORDER_CANCELLED, Event.SCOPE_REDUCED]
    return []


def next_stages(opportunity):
    """The stages an opportunity can move to from the page: while open, any later one up to
    delivery (stages may be skipped); once delivered, the follow-up call."""
    if opportunity.status == ServiceOpportunity.Status.WON:
        return [Stage.FOLLOWED_UP] if opportunity.stage == Stage.DELIVERED else []
    if not opportunity.is_open:
        return []
    later = STAGE_ORDER[STAGE_ORDER.index(opportunity.stage) + 1 :]
    return [Stage(stage) for stage in later if stage != Stage.FOLLOWED_UP]


# --- work lines ------------------------------------------------------------------------------

# "Front brake pads — 240.00": a line's amount follows a dash or a bar.
LINE_AMOUNT = re.compile(r"^(?P<description>.*?)\s+[—–|]\s+(?P<amount>[^—–|]*)$")


def work_lines_text(items, show_money=True):
    """Work lines as the textarea shows them, one a line."""
    lines = []
    for item in items or ():
        line = item.get("description", "")
        if show_money and item.get("amount") not in (None, ""):
            line += f" — {item['amount']}"
        lines.append(line)
    return "\n".join(lines)


def parse_work_lines(text):
    """The textarea's lines as the services take them: [{"description", "amount"}]."""
    items = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        match = LINE_AMOUNT.match(line)
        if match is None:
            items.append({"description": line})
            continue
        amount = match["amount"].replace(settings.CURRENCY_SYMBOL, "").replace(",", "").strip()
        try:
            Decimal(amount)
        except InvalidOperation:
            raise forms.ValidationError(
                f"Line {number}: '{match['amount'].strip()}' is not an amount. "
                "Write a line as: Front brake pads — 240.00"
            ) from None
        items.append({"description": match["description"].strip(), "amount": amount})
    return items


class WorkLinesField(forms.CharField):
    widget = forms.Textarea(attrs={"rows": 3})

    def clean(self, value):
        return parse_work_lines(super().clean(value))


# --- a lost sale -----------------------------------------------------------------------------


class LossForm(forms.Form):
    """A loss logged from a row or from the opportunity page: the event, a reason (one click,
    preselected when the event names it), the money (the current estimate unless changed), a
    note and the declined work. `next` is the page to go back to without JavaScript."""

    event = forms.ChoiceField(choices=Event.choices, widget=forms.HiddenInput)
    reason = forms.ChoiceField(label="Why", widget=forms.RadioSelect)
    amount = forms.DecimalField(
        label="Amount lost",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        required=False,
        help_text="The whole estimate unless only part of the work was lost.",
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    note = forms.CharField(
        label="Note", max_length=1000, required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
    declined_items = WorkLinesField(
        label="Declined work",
        required=False,
        help_text="One line each: Front brake pads — 240.00",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, opportunity, event, reasons, show_money, **kwargs):
        initial = {
            "event": event,
            "reason": OBVIOUS_REASON.get(event, ""),
            "amount": opportunity.estimated_value,
            "declined_items": work_lines_text(opportunity.items, show_money)
            if event == Event.QUOTE_DECLINED
            else "",
            **kwargs.pop("initial", {}),
        }
        # Several loss forms can be open on one page (a row each, an event each): their ids
        # must differ, while the field names stay plain.
        kwargs.setdefault("auto_id", f"loss-{opportunity.pk}-{event}-%s")
        super().__init__(*args, initial=initial, **kwargs)
        self.opportunity = opportunity
        self.event = event
        self.reasons = reasons
        self.fields["reason"].choices = [(reason.code, reason.label) for reason in reasons]
        self.note_reasons = {reason.code for reason in reasons if reason.requires_note}
        # Where the keyboard lands when the form opens: the chosen reason, else the first.
        self.focus_reason = self["reason"].value() or (reasons[0].code if reasons else "")
        self.fields["reason"].error_messages["required"] = "Pick why the sale was lost."
        if not show_money:
            del self.fields["amount"]
        if event not in DECLINED_WORK:
            del self.fields["declined_items"]

    @property
    def event_label(self):
        return Event(self.event).label

    def loss(self):
        """The keyword arguments of `loss_log`, beside the opportunity and the actor."""
        data = self.cleaned_data
        return {
            "event": data["event"],
            "reason": data["reason"],
            "amount": data.get("amount"),
            "note": data["note"],
            "declined_items": data.get("declined_items") or (),
        }


# --- stages ----------------------------------------------------------------------------------


class AdvanceForm(forms.Form):
    to_stage = forms.ChoiceField(choices=Stage.choices)
    actual_value = forms.DecimalField(
        label="Invoiced",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    mileage = forms.IntegerField(
        label="Odometer (km)",
        min_value=0,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )


# --- a new opportunity -----------------------------------------------------------------------

NEW_STAGES = [
    (Stage.PLANNED.value, "Planned"),
    (Stage.BOOKED.value, "Booked"),
    (Stage.CHECKED_IN.value, "Checked in now (walk-in)"),
]
ANOTHER_CAR = ""


class OpportunityForm(forms.Form):
    """A new opportunity: the customer (typed, or given by ?customer=), the car (one of theirs
    or described), the work, its value, the stage and the appointment."""

    first_name = forms.CharField(max_length=100, required=False)
    last_name = forms.CharField(max_length=100, required=False)
    email = forms.CharField(label="E-mail", max_length=254, required=False)
    phone = forms.CharField(max_length=40, required=False)
    vehicle = forms.ChoiceField(label="Car", required=False)
    vin = forms.CharField(label="VIN", max_length=17, required=False)
    year = forms.IntegerField(min_value=1900, max_value=2100, required=False)
    make = forms.CharField(max_length=50, required=False)
    model = forms.CharField(max_length=50, required=False)
    mileage = forms.IntegerField(label="Odometer (km)", min_value=0, required=False)
    source = forms.ChoiceField(
        choices=ServiceOpportunity.Source.choices, initial=ServiceOpportunity.Source.BOOKING
    )
    title = forms.CharField(label="Work", max_length=200, help_text="In a line.")
    items = WorkLinesField(
        label="Work lines", required=False, help_text="For a quote, one line each: Brakes — 240.00"
    )
    estimated_value = forms.DecimalField(
        label="Estimated value",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    stage = forms.ChoiceField(choices=NEW_STAGES, initial=Stage.BOOKED)
    booked_for = forms.DateTimeField(
        label="Appointment", required=False, widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    advisor = PersonChoiceField(queryset=None, required=False, empty_label="Nobody yet")

    def __init__(self, *args, customer, vehicles, advisors, **kwargs):
        super().__init__(*args, **kwargs)
        self.customer = customer
        self.fields["advisor"].queryset = advisors
        self.vehicles = {str(vehicle.pk): vehicle for vehicle in vehicles}
        self.fields["vehicle"].choices = [
            *[(pk, str(vehicle)) for pk, vehicle in self.vehicles.items()],
            (ANOTHER_CAR, "Another car (describe it below)"),
        ]
        if customer is not None:
            for name in ("first_name", "last_name", "email", "phone"):
                del self.fields[name]
        if not self.vehicles:
            del self.fields["vehicle"]

    def clean(self):
        data = super().clean()
        if self.customer is None and not (data.get("email") or data.get("phone")):
            self.add_error("email", "Give the customer's e-mail address or phone number.")
        if data.get("stage") == Stage.BOOKED and not data.get("booked_for"):
            self.add_error("booked_for", "A booking needs the appointment's date and time.")
        return data

    def chosen_vehicle(self):
        return self.vehicles.get(self.cleaned_data.get("vehicle") or ANOTHER_CAR)


# --- follow-ups ------------------------------------------------------------------------------


class RecaptureBookForm(forms.Form):
    booked_for = forms.DateTimeField(
        label="Appointment", widget=DATETIME_INPUT, input_formats=DATETIME_FORMATS
    )
    estimated_value = forms.DecimalField(
        label="Value",
        min_value=0,
        max_digits=10,
        decimal_places=2,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "decimal", "step": "0.01"}),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)

    def __init__(self, *args, recapture, show_money, **kwargs):
        kwargs.setdefault("auto_id", f"book-{recapture.pk}-%s")
        initial = {"estimated_value": recapture.loss.amount, **kwargs.pop("initial", {})}
        super().__init__(*args, initial=initial, **kwargs)
        self.recapture = recapture
        if not show_money:
            del self.fields["estimated_value"]


class RecaptureDeclineForm(forms.Form):
    give_up = forms.BooleanField(label="Stop following up", required=False)
    note = forms.CharField(label="Note", max_length=1000, required=False)
    next = forms.CharField(required=False, widget=forms.HiddenInput)
