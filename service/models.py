"""Aftersales: service opportunities, the losses logged on them with their reasons and money, the
work that comes back (recaptures), campaigns, corrective actions and customer issues.

Stage, status, value and the recapture state are written only by `service.services`; every
change there appends a `ServiceEvent`, which the opportunity's history and the reports read.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dealercrm.models import Customer, HistoryRow, Vehicle, person_name
from leads.models import Lead, Reason

MONEY = {"max_digits": 10, "decimal_places": 2}


class Stage(models.TextChoices):
    PLANNED = "planned", "Planned"
    BOOKED = "booked", "Booked"
    CHECKED_IN = "checked_in", "Checked in"
    IN_WORK = "in_work", "In work"
    QUALITY_CHECK = "quality_check", "Quality check"
    DELIVERED = "delivered", "Delivered"
    FOLLOWED_UP = "followed_up", "Followed up"


# The workshop's order of stages. An opportunity only moves forward, and may skip stages (a
# walk-in is checked in without a booking; a small job skips the quality check). Delivering it
# wins it; a lost opportunity moves no more.
STAGE_ORDER = list(Stage.values)
# Stages in which the customer's car is (or was) at the workshop: a visit.
VISIT_STAGES = frozenset(STAGE_ORDER[STAGE_ORDER.index(Stage.CHECKED_IN) :])


class ServiceOpportunity(models.Model):
    """Work the workshop may sell to a customer for a vehicle: a booking, a visit, a quote, a
    campaign or recall, a web or marketing lead, or a job from an external system."""

    class Source(models.TextChoices):
        BOOKING = "booking", "Booking"
        VISIT = "visit", "Walk-in visit"
        QUOTE = "quote", "Quote or estimate"
        CAMPAIGN = "campaign", "OEM campaign or recall"
        WEB = "web", "Web"
        MARKETING = "marketing", "Marketing campaign"
        EXTERNAL = "external", "External system"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        WON = "won", "Delivered"
        LOST = "lost", "Lost"

    Stage = Stage

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="service_opportunities"
    )
    vehicle = models.ForeignKey(
        Vehicle,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_opportunities",
    )
    source = models.CharField(max_length=16, choices=Source.choices)
    external_id = models.CharField(
        max_length=100, blank=True, help_text="The sender's id; one opportunity per source and id."
    )
    title = models.CharField(max_length=200, help_text="The work, in a line.")
    items = models.JSONField(
        default=list,
        blank=True,
        help_text='The work lines: [{"description": "Front brake pads", "amount": "240.00"}].',
    )
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.PLANNED)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    initial_value = models.DecimalField(
        **MONEY, help_text="The estimated value when the opportunity opened: the money at stake."
    )
    estimated_value = models.DecimalField(
        **MONEY, help_text="The estimate now; a reduced scope lowers it."
    )
    actual_value = models.DecimalField(
        **MONEY, null=True, blank=True, help_text="What was invoiced at delivery."
    )
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_opportunities",
    )
    booked_for = models.DateTimeField(null=True, blank=True, help_text="The appointment.")
    mileage = models.PositiveIntegerField(
        null=True, blank=True, help_text="Odometer (km) when the car came in."
    )
    created_at = models.DateTimeField(default=timezone.now)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(
        null=True, blank=True, help_text="When it was delivered or lost."
    )
    recovers = models.ForeignKey(
        "ServiceLoss",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recoveries",
        help_text="The lost sale this opportunity wins back.",
    )
    sales_lead = models.ForeignKey(
        Lead,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The sales lead this visit made (an old or high-mileage car).",
    )

    class Meta:
        verbose_name_plural = "service opportunities"
        ordering = ["-created_at", "-id"]
        permissions = [
            ("view_service_money", "Can see service money (values, losses, spend)"),
            ("view_service_kpis", "Can see the service KPIs"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="serviceopportunity_source_external_id_unique",
            ),
            models.CheckConstraint(
                condition=Q(estimated_value__gte=0) & Q(initial_value__gte=0),
                name="serviceopportunity_values_not_negative",
            ),
        ]
        indexes = [
            # The advisor's day: appointments by time.
            models.Index(fields=["booked_for"], name="serviceopp_booked_for_idx"),
            # The KPIs' money at stake: opportunities opened in a period, by advisor, read from
            # the index alone.
            models.Index(
                fields=["created_at", "advisor", "initial_value"], name="serviceopp_kpi_idx"
            ),
            # Customer value: a customer's visits and spend.
            models.Index(fields=["customer", "checked_in_at"], name="serviceopp_customer_idx"),
            models.Index(
                fields=["status", "source", "created_at"], name="serviceopp_status_source_idx"
            ),
        ]

    def __str__(self):
        return f"{self.title} · {self.customer}"

    @property
    def is_open(self):
        return self.status == self.Status.OPEN


class ServiceLoss(models.Model):
    """A service sale lost, whole or in part: what happened, why, how much money, who logged it.

    A whole loss closes its opportunity; a partial one (a reduced scope, part of a quote
    declined) lowers its estimate and keeps it open. Until it is won back or given up, a loss
    waits for its recapture (`recovery`): the sweep brings it back on `follow_up_on`, and a
    parts arrival, the customer's next check-in or a campaign bring it back earlier.
    """

    class Event(models.TextChoices):
        APPOINTMENT_CANCELLED = "appointment_cancelled", "Appointment cancelled"
        NO_SHOW = "no_show", "No-show"
        ORDER_CANCELLED = "order_cancelled", "Order cancelled"
        SCOPE_REDUCED = "scope_reduced", "Scope reduced"
        QUOTE_DECLINED = "quote_declined", "Quote declined"

    class Recovery(models.TextChoices):
        PENDING = "pending", "To win back"
        RECOVERED = "recovered", "Won back"
        GIVEN_UP = "given_up", "Given up"

    opportunity = models.ForeignKey(
        ServiceOpportunity, on_delete=models.PROTECT, related_name="losses"
    )
    event = models.CharField(max_length=24, choices=Event.choices)
    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, related_name="+")
    note = models.TextField(blank=True)
    amount = models.DecimalField(**MONEY, help_text="The money lost.")
    whole = models.BooleanField(help_text="The whole opportunity was lost (it closed).")
    declined_items = models.JSONField(
        default=list, blank=True, help_text="The work the customer did not take, line by line."
    )
    at = models.DateTimeField(default=timezone.now)
    logged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The opportunity's advisor when the sale was lost: the KPIs count it against them even
    # after the opportunity changes hands, and read it without a join.
    advisor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    recovery = models.CharField(max_length=10, choices=Recovery.choices, default=Recovery.PENDING)
    follow_up_on = models.DateField(
        null=True, blank=True, help_text="When the recapture sweep brings it back."
    )
    followed_up_at = models.DateTimeField(
        null=True, blank=True, help_text="When the sweep claimed its follow-up (once)."
    )
    parts_arrived_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gte=0), name="serviceloss_amount_positive")
        ]
        indexes = [
            # The KPIs: losses in a period, grouped by reason, advisor and month.
            models.Index(fields=["at", "reason", "advisor", "amount"], name="serviceloss_kpi_idx"),
            # The KPIs' recovery figures: the id range of a period's losses, from the index.
            models.Index(fields=["at", "id"], name="serviceloss_at_id_idx"),
            # The recapture sweep: pending losses coming due, by day.
            models.Index(
                fields=["follow_up_on"],
                condition=Q(recovery="pending", followed_up_at__isnull=True),
                name="serviceloss_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_event_display()} · {self.reason} · {self.amount}"


class ServiceCampaign(models.Model):
    """An offer the workshop runs for a while (a brake week, a winter check at a lower price).
    Work declined on price or for a competitor's offer is offered again when a campaign fits."""

    name = models.CharField(max_length=100)
    offer = models.CharField(max_length=200, help_text='What the customer gets: "20% off brakes".')
    makes = models.CharField(
        max_length=200, blank=True, help_text="Comma-separated makes it applies to; empty: all."
    )
    keywords = models.CharField(
        max_length=200,
        blank=True,
        help_text="Comma-separated words; it fits declined work whose lines mention one "
        "(empty: any work).",
    )
    starts_on = models.DateField()
    ends_on = models.DateField()
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-starts_on", "name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="servicecampaign_dates"
            )
        ]

    def __str__(self):
        return self.name

    @staticmethod
    def _words(text):
        return [word.strip().lower() for word in text.split(",") if word.strip()]

    @property
    def make_list(self):
        return self._words(self.makes)

    @property
    def keyword_list(self):
        return self._words(self.keywords)


class Recapture(models.Model):
    """A lost service sale brought back in front of someone: the task to rebook or follow up,
    and the record of the resurfacing on the opportunity. One per loss and kind (per campaign,
    per check-in), so a sweep that runs again brings nothing back twice."""

    class Kind(models.TextChoices):
        REBOOK = "rebook", "Rebook the appointment"
        FOLLOW_UP = "follow_up", "Follow up declined work"
        PARTS_ARRIVED = "parts_arrived", "Parts arrived"
        CHECK_IN = "check_in", "Customer checked in"
        CAMPAIGN = "campaign", "Campaign offer"

    class Status(models.TextChoices):
        OPEN = "open", "To do"
        BOOKED = "booked", "Booked"
        DECLINED = "declined", "Declined again"
        CLOSED = "closed", "Closed"

    loss = models.ForeignKey(ServiceLoss, on_delete=models.PROTECT, related_name="recaptures")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    campaign = models.ForeignKey(
        ServiceCampaign, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit = models.ForeignKey(
        ServiceOpportunity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="recaptures_at_visit",
        help_text="The check-in at which the declined work was shown again.",
    )
    summary = models.CharField(max_length=300)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="service_recaptures",
    )
    due_on = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    booking = models.ForeignKey(
        ServiceOpportunity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The new booking that won the work back.",
    )

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["loss", "kind"],
                condition=Q(kind__in=["rebook", "follow_up", "parts_arrived"]),
                name="recapture_once_per_loss_and_kind",
            ),
            models.UniqueConstraint(
                fields=["loss", "campaign"],
                condition=Q(campaign__isnull=False),
                name="recapture_once_per_campaign",
            ),
            models.UniqueConstraint(
                fields=["loss", "visit"],
                condition=Q(visit__isnull=False),
                name="recapture_once_per_visit",
            ),
        ]
        indexes = [
            models.Index(
                fields=["assignee", "due_on"], condition=Q(status="open"), name="recapture_open_idx"
            ),
            # The KPIs count a period's recaptures by outcome without reading the table.
            models.Index(fields=["loss", "status"], name="recapture_loss_status_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.summary}"


class ServiceEvent(HistoryRow):
    """One line of an opportunity's history; appended, never edited or deleted."""

    class Kind(models.TextChoices):
        CREATED = "created", "Opened"
        STAGE = "stage", "Stage changed"
        LOSS = "loss", "Sale lost"
        PARTS_ARRIVED = "parts_arrived", "Parts arrived"
        RECAPTURE = "recapture", "Brought back"
        RECAPTURE_DONE = "recapture_done", "Follow-up done"
        RECOVERED = "recovered", "Won back"
        SALES_LEAD = "sales_lead", "Sales lead made"

    opportunity = models.ForeignKey(
        ServiceOpportunity, on_delete=models.PROTECT, related_name="events"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    from_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    to_stage = models.CharField(max_length=16, choices=Stage.choices, blank=True)
    loss = models.ForeignKey(
        ServiceLoss, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    summary = models.CharField(max_length=300)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["opportunity", "at"], name="serviceevent_opp_at_idx")]

    def __str__(self):
        return f"{self.get_kind_display()} · {self.summary}"

    @property
    def actor_name(self):
        if self.actor_id:
            return person_name(self.actor)
        return self.actor_label or "system"


class CorrectiveAction(models.Model):
    """What a manager did so that a loss reason recurs less ("stock common brake parts"), from
    a date; the KPIs compare the reason's share of losses before and after it."""

    reason = models.ForeignKey(Reason, on_delete=models.PROTECT, related_name="+")
    action = models.CharField(max_length=200)
    started_on = models.DateField()
    note = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-started_on", "-id"]

    def __str__(self):
        return f"{self.action} ({self.reason}, from {self.started_on:%Y-%m-%d})"


class CustomerIssue(models.Model):
    """A problem a customer has with their vehicle or with the service, open until resolved.
    Open issues show on the customer and weigh on their retention risk."""

    class Kind(models.TextChoices):
        VEHICLE = "vehicle", "Vehicle"
        SERVICE = "service", "Service"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="issues")
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    opportunity = models.ForeignKey(
        ServiceOpportunity, on_delete=models.PROTECT, null=True, blank=True, related_name="issues"
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    summary = models.CharField(max_length=200)
    details = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.OPEN)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    opened_at = models.DateTimeField(default=timezone.now)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolution = models.TextField(blank=True)

    class Meta:
        ordering = ["-opened_at", "-id"]
        indexes = [
            models.Index(
                fields=["customer"], condition=Q(status="open"), name="customerissue_open_idx"
            )
        ]

    def __str__(self):
        return f"{self.summary} ({self.get_status_display()})"


class ServiceSettings(models.Model):
    """When lost service sales come back and when a service visit makes a sales lead; one row,
    which service managers edit."""

    rebook_after_days = models.PositiveSmallIntegerField(
        default=2, help_text="Days after a no-show or a cancelled appointment to rebook it."
    )
    follow_up_after_days = models.PositiveSmallIntegerField(
        default=30, help_text="Days after declined work to offer it again."
    )
    sales_lead_vehicle_age_years = models.PositiveSmallIntegerField(
        default=7,
        help_text="A car at least this old at a service visit makes a sales lead (0: never).",
    )
    sales_lead_mileage_km = models.PositiveIntegerField(
        default=120_000,
        help_text="A car with at least this many km at a visit makes a sales lead (0: never).",
    )

    class Meta:
        verbose_name = verbose_name_plural = "service settings"
        constraints = [models.CheckConstraint(condition=Q(pk=1), name="servicesettings_single_row")]

    def __str__(self):
        return "Service settings"

    @classmethod
    def current(cls):
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row

    def follow_up_on(self, event, day):
        """When a loss of `event` logged on `day` comes back by itself."""
        rebook = event in (ServiceLoss.Event.NO_SHOW, ServiceLoss.Event.APPOINTMENT_CANCELLED)
        return day + timedelta(days=self.rebook_after_days if rebook else self.follow_up_after_days)
