"""The shared core every app needs: teams, staff, customers, their vehicles, notifications."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class Role(models.TextChoices):
    SALESPERSON = "salesperson", "Salesperson"
    BDC_AGENT = "bdc_agent", "BDC agent"
    BDC_MANAGER = "bdc_manager", "BDC manager"
    SALES_MANAGER = "sales_manager", "Sales manager"
    SERVICE_ADVISOR = "service_advisor", "Service advisor"
    SERVICE_MANAGER = "service_manager", "Service manager"
    # An integration account (a lead provider, the dealer's website, call tracking), not a
    # person: it may post leads and website events and see nothing.
    LEAD_PROVIDER = "lead_provider", "Lead provider"


# Roles that work sales leads; service staff and integrations never own one.
LEAD_OWNER_ROLES = frozenset(
    {Role.SALESPERSON, Role.BDC_AGENT, Role.BDC_MANAGER, Role.SALES_MANAGER}
)


def person_name(user):
    """How the CRM names a person: their full name, else their username."""
    return user.get_full_name() or user.get_username()


def lead_owner_refusal(user, profile):
    """Why `user` (with their staff `profile`, or None) may not own sales leads, in words; ""
    when they may. Assignments and routing rules ask the same question."""
    name = person_name(user)
    if profile is None or not (profile.active and user.is_active):
        return f"{name} is not an active member of the staff."
    if profile.role not in LEAD_OWNER_ROLES:
        return f"{name} is a {profile.get_role_display().lower()}; leads go to sales or BDC."
    return ""


class ImmutableRowError(Exception):
    pass


class HistoryRow(models.Model):
    """A line of a history (a lead's, a service opportunity's, the audit log): appended, never
    edited or deleted, because reports and audits read what happened from it. Each names who
    acted: a person, or the job or integration."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The person who made the change; empty when a job or an integration did.",
    )
    actor_label = models.CharField(
        max_length=64, blank=True, help_text="The job or integration that made the change."
    )

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ImmutableRowError("History is append-only; its rows are never edited.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ImmutableRowError("History is append-only; its rows are never deleted.")


class Team(models.Model):
    class Kind(models.TextChoices):
        SALES = "sales", "Sales"
        BDC = "bdc", "Business development centre"
        SERVICE = "service", "Service"

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.SALES)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class StaffProfile(models.Model):
    """What the CRM knows about a person who works leads or service: role, team, capacity, shift.

    The role decides the user's permission group; change it through `staff_set_role` so the two
    never disagree.
    """

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff"
    )
    role = models.CharField(max_length=32, choices=Role.choices)
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="members"
    )
    capacity = models.PositiveIntegerField(
        default=25, help_text="Most open leads this person should hold at once."
    )
    on_shift = models.BooleanField(default=True)
    active = models.BooleanField(default=True)
    response_seconds = models.FloatField(
        null=True,
        blank=True,
        help_text="Median time to the first personal contact on the leads this person got in "
        "the last 30 days; refreshed every hour. Fastest-responder routing weighs by it.",
    )
    email_notifications = models.BooleanField(
        "E-mail me my notifications",
        default=True,
        help_text="What asks you to act (a new lead, a first response due or missed, a repeat "
        "inquiry, a returning customer) also arrives by e-mail.",
    )
    tasks_reminded_on = models.DateField(
        null=True,
        blank=True,
        help_text="The day this person last got the morning reminder of their tasks; the "
        "reminder sweep claims the day here so that nobody is reminded twice.",
    )

    class Meta:
        indexes = [models.Index(fields=["team", "role"], name="staff_team_role_idx")]

    def __str__(self):
        return f"{person_name(self.user)} ({self.get_role_display()})"


class Customer(models.Model):
    """A person who buys or services a car. E-mail is stored lower-case, phone in E.164."""

    class ContactMethod(models.TextChoices):
        ANY = "any", "Any"
        PHONE = "phone", "Phone"
        EMAIL = "email", "E-mail"
        SMS = "sms", "Text message"

    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    email = models.EmailField(max_length=254, blank=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +15551234567")
    postal_code = models.CharField(max_length=16, blank=True)
    preferred_contact = models.CharField(
        max_length=8, choices=ContactMethod.choices, default=ContactMethod.ANY
    )
    consent_email = models.BooleanField(default=False)
    consent_sms = models.BooleanField(default=False)
    consent_phone = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        # Intake matches a person by e-mail or phone; partial indexes skip the empty values.
        indexes = [
            models.Index(fields=["email"], name="customer_email_idx", condition=~Q(email="")),
            models.Index(fields=["phone"], name="customer_phone_idx", condition=~Q(phone="")),
            models.Index(fields=["last_name", "first_name"], name="customer_name_idx"),
        ]

    def __str__(self):
        return self.full_name or self.email or self.phone or f"Customer {self.pk}"

    @property
    def full_name(self):
        return f"{self.first_name} {self.last_name}".strip()


class Vehicle(models.Model):
    """A car a customer owns (or owned): the trade-in of tomorrow and the service visit of today."""

    vin = models.CharField("VIN", max_length=17, blank=True)
    year = models.PositiveSmallIntegerField(null=True, blank=True)
    make = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=50, blank=True)
    trim = models.CharField(max_length=80, blank=True)
    mileage = models.PositiveIntegerField(null=True, blank=True)
    owner = models.ForeignKey(
        Customer, on_delete=models.SET_NULL, null=True, blank=True, related_name="vehicles"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["vin"], condition=~Q(vin=""), name="vehicle_vin_unique")
        ]

    def __str__(self):
        label = " ".join(
            str(part) for part in (self.year, self.make, self.model, self.trim) if part
        )
        return label or self.vin or f"Vehicle {self.pk}"


class Notification(models.Model):
    """Something a person should know about: a repeat inquiry on their lead, a resurfaced
    customer. Written by services inside their transaction; read in the workspace, and the
    kinds that warrant it also e-mailed after commit (`notification_send`)."""

    recipient = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="notifications"
    )
    kind = models.SlugField(max_length=32)
    message = models.CharField(max_length=300)
    url = models.CharField(max_length=200, blank=True, help_text="Where the message leads.")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When its e-mail was claimed for sending, just before it went to the mail "
        "server; empty when none was sent.",
    )

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["recipient", "created_at"],
                condition=Q(read_at__isnull=True),
                name="notification_unread_idx",
            )
        ]

    def __str__(self):
        return f"{self.kind} for {self.recipient_id}: {self.message}"


class LifecycleDate(models.Model):
    """A date in a customer's life with their car that is a reason to talk about the next one:
    a lease or loan ending, a warranty running out, a purchase anniversary, a service due. The
    recycling sweep turns each into a sales lead once, some days ahead (`leads.Recycling`)."""

    class Kind(models.TextChoices):
        LEASE_END = "lease_end", "Lease ends"
        LOAN_MATURITY = "loan_maturity", "Loan matures"
        WARRANTY_END = "warranty_end", "Warranty ends"
        PURCHASE_ANNIVERSARY = "purchase_anniversary", "Purchase anniversary"
        SERVICE_DUE = "service_due", "Service due"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="lifecycle_dates")
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, null=True, blank=True, related_name="lifecycle_dates"
    )
    kind = models.CharField(max_length=24, choices=Kind.choices)
    date = models.DateField()
    note = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    recycled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the recycling sweep claimed the date (it does so once); what it made of "
        "it is the date's recycling record.",
    )

    class Meta:
        ordering = ["date", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["customer", "kind", "date"], name="lifecycledate_unique"
            )
        ]
        indexes = [
            # The recycling sweep: dates not recycled yet, coming into reach, by day.
            models.Index(
                fields=["date"],
                condition=Q(recycled_at__isnull=True),
                name="lifecycledate_due_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.date:%Y-%m-%d} · {self.customer}"


class SweepRun(models.Model):
    """One run of a scheduled sweep (dealercrm.schedules): when, as of which moment, what it
    looked at and changed, and what went wrong. Managers read it; the next run of the same
    sweep starts its time window where the last successful one ended (`as_of`)."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    name = models.CharField(max_length=40)
    as_of = models.DateTimeField(help_text="The moment the sweep ran as of (its `now`).")
    since = models.DateTimeField(
        null=True, blank=True, help_text="Where its window started: the last successful run."
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    examined = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict, blank=True, help_text="What it did, by kind.")
    error = models.TextField(blank=True, help_text="What went wrong, as the sweep reported it.")

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            models.Index(fields=["name", "started_at"], name="sweeprun_name_started_idx"),
            # The window of the next run: the latest successful run's as-of moment.
            models.Index(
                fields=["name", "as_of"], condition=Q(status="done"), name="sweeprun_done_idx"
            ),
        ]

    def __str__(self):
        return f"{self.name} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def seconds(self):
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()


class AuditEntry(HistoryRow):
    """One sensitive change: who made it, when, to what, and each changed value before and
    after. Written by the service that makes the change, in its transaction, so that there is
    never a change without its entry or an entry without its change. Managers read it at
    /audit/; rows are never edited or deleted."""

    class Action(models.TextChoices):
        RULE_CREATED = "rule_created", "Routing rule created"
        RULE_CHANGED = "rule_changed", "Routing rule changed"
        RULE_MOVED = "rule_moved", "Routing rule moved"
        RULE_DELETED = "rule_deleted", "Routing rule deleted"
        HOURS_CHANGED = "hours_changed", "Opening hours changed"
        STAFF_ROUTING_CHANGED = "staff_routing", "Shift or capacity changed"
        LEAD_REASSIGNED = "lead_reassigned", "Lead reassigned"
        LEAD_RETURNED = "lead_returned", "Lead returned to work"

    at = models.DateTimeField(default=timezone.now)
    action = models.CharField(max_length=16, choices=Action.choices)
    target_type = models.CharField(max_length=32, help_text="What was changed: a model's name.")
    target_id = models.BigIntegerField(null=True, blank=True)
    target_label = models.CharField(
        max_length=200, help_text="The target's name when it changed; kept after a deletion."
    )
    changes = models.JSONField(
        default=dict, blank=True, help_text="{field: [before, after]} of each changed value."
    )
    note = models.TextField(blank=True, help_text="The reason the person gave.")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["-at", "-id"], name="auditentry_at_idx"),
            models.Index(fields=["target_type", "target_id", "-at"], name="auditentry_target_idx"),
            models.Index(fields=["actor", "-at"], name="auditentry_actor_idx"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} · {self.target_label} · {self.at:%Y-%m-%d %H:%M}"
