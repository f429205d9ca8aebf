"""Leads, their append-only history, the activities worked on them, the inquiries they came
from, the customers' website activity, scoring weights, lead sources and the reason catalog.

Status, owner and the life-cycle timestamps are written only by `leads.services`; the admin shows
them read-only.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from dealercrm.models import Customer, HistoryRow, Team, person_name
from dealercrm.vocabulary import LeadChannel, band_for
from leads.submission import Format


class LeadStatus(models.TextChoices):
    NEW = "new", "New"
    CONTACTED = "contacted", "Contacted"
    QUALIFIED = "qualified", "Qualified"
    APPOINTMENT = "appointment", "Appointment"
    SOLD = "sold", "Sold"
    LOST = "lost", "Lost"
    DISQUALIFIED = "disqualified", "Disqualified"


OPEN_STATUSES = frozenset(
    {LeadStatus.NEW, LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.APPOINTMENT}
)
CLOSED_STATUSES = frozenset({LeadStatus.SOLD, LeadStatus.LOST, LeadStatus.DISQUALIFIED})
REOPENABLE_STATUSES = frozenset({LeadStatus.LOST, LeadStatus.DISQUALIFIED})
# A lead in one of these has been qualified, whether or not it passed through `qualified`: a
# customer who books a visit or buys on the first call is a qualified lead too.
QUALIFIED_STATUSES = frozenset({LeadStatus.QUALIFIED, LeadStatus.APPOINTMENT, LeadStatus.SOLD})

# Every move a person may make with `lead_change_status`. Reopening a lost or disqualified lead is
# not in the table: it is its own change (`lead_reopen`), because it needs a cause.
#
# Forward moves may skip a step from `contacted` on (a customer who buys on the first visit does
# not need an appointment), but a lead leaves `new` only by being contacted, so that every report
# of speed to lead has a first-contact time to read. A missed appointment returns the lead to
# `qualified`. A sale is final.
TRANSITIONS = {
    LeadStatus.NEW: {LeadStatus.CONTACTED, LeadStatus.LOST, LeadStatus.DISQUALIFIED},
    LeadStatus.CONTACTED: {
        LeadStatus.QUALIFIED,
        LeadStatus.APPOINTMENT,
        LeadStatus.SOLD,
        LeadStatus.LOST,
        LeadStatus.DISQUALIFIED,
    },
    LeadStatus.QUALIFIED: {LeadStatus.APPOINTMENT, LeadStatus.SOLD, LeadStatus.LOST},
    LeadStatus.APPOINTMENT: {LeadStatus.QUALIFIED, LeadStatus.SOLD, LeadStatus.LOST},
    LeadStatus.SOLD: set(),
    LeadStatus.LOST: set(),
    LeadStatus.DISQUALIFIED: set(),
}

# Moves that need a reason from the catalog, and which kind of reason.
REASON_KIND_FOR_STATUS = {
    LeadStatus.LOST: "lost",
    LeadStatus.DISQUALIFIED: "disqualified",
}


class Reason(models.Model):
    """One entry of the catalog of reasons managers keep: why a lead was lost or disqualified,
    or why a service sale was lost."""

    class Scope(models.TextChoices):
        SALES = "sales", "Sales"
        SERVICE = "service", "Service"

    class Kind(models.TextChoices):
        LOST = "lost", "Lost"
        DISQUALIFIED = "disqualified", "Disqualified"
        SERVICE_LOSS = "service_loss", "Service loss"

    code = models.SlugField(max_length=50)
    label = models.CharField(max_length=100)
    scope = models.CharField(max_length=8, choices=Scope.choices)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    ordering = models.PositiveSmallIntegerField(default=100)
    active = models.BooleanField(default=True)
    requires_note = models.BooleanField(
        default=False, help_text="Ask for a written note when this reason is chosen (e.g. Other)."
    )

    class Meta:
        ordering = ["scope", "kind", "ordering", "label"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "code"], name="reason_kind_code_unique")
        ]

    def __str__(self):
        return self.label


class FirstContactBand(models.IntegerChoices):
    """How soon a lead was first contacted in person, in the bands the field measures. "The
    same day" is the dealership's calendar day (settings.TIME_ZONE) the lead arrived on."""

    WITHIN_5_MIN = 1, "Within 5 minutes"
    WITHIN_HOUR = 2, "5 minutes to 1 hour"
    SAME_DAY = 3, "Later the same day"
    LATER = 4, "A later day"

    @classmethod
    def of(cls, created_at, contacted_at):
        """The whole seconds from the lead's arrival to its first contact, and their band. A
        touch logged a little before the arrival time (two systems' clocks) counts as
        immediate."""
        seconds = max(0, int((contacted_at - created_at).total_seconds()))
        if seconds <= 5 * 60:
            return seconds, cls.WITHIN_5_MIN
        if seconds <= 60 * 60:
            return seconds, cls.WITHIN_HOUR
        if timezone.localdate(contacted_at) == timezone.localdate(created_at):
            return seconds, cls.SAME_DAY
        return seconds, cls.LATER


# What the services keep on a lead for the lead reports, as they write its history (see the
# fields' help); the admin shows them read-only.
REPORT_FIELDS = [
    "created_hour",
    "first_response_seconds",
    "first_contact_band",
    "qualified_at",
    "appointment_set_at",
    "audit_returned_at",
    "quiet_tier_reached",
    "personal_touches",
    "calls",
    "automated_touches",
    "responded_at",
]
# What the lead reports read of a lead besides its creation time (`lead_report_idx`). The id is
# there too: counting leads and joining the few that need their history then stay in the index.
REPORT_COLUMNS = [
    "id",
    "source",
    "channel",
    "team",
    "owner",
    "customer",
    "status",
    "close_reason",
    "closed_at",
    *REPORT_FIELDS,
]


class Lead(models.Model):
    Channel = LeadChannel

    class Condition(models.TextChoices):
        NEW = "new", "New"
        USED = "used", "Used"
        UNKNOWN = "", "Unknown"

    class PurchaseHorizon(models.TextChoices):
        UNKNOWN = "", "Unknown"
        WITHIN_WEEK = "within_week", "Within a week"
        WITHIN_MONTH = "within_month", "Within a month"
        WITHIN_3_MONTHS = "within_3_months", "Within 3 months"
        WITHIN_6_MONTHS = "within_6_months", "Within 6 months"
        LATER = "later", "Later than 6 months"

    customer = models.ForeignKey(Customer, on_delete=models.PROTECT, related_name="leads")
    source = models.CharField(
        max_length=64, help_text="Who sent the lead: the dealer's site, a provider, an OEM portal."
    )
    channel = models.CharField(max_length=16, choices=Channel.choices, default=Channel.OTHER)
    external_id = models.CharField(
        max_length=128, blank=True, help_text="The sender's own id; unique per source."
    )

    vehicle_year = models.PositiveSmallIntegerField(null=True, blank=True)
    vehicle_make = models.CharField(max_length=50, blank=True)
    vehicle_model = models.CharField(max_length=50, blank=True)
    vehicle_trim = models.CharField(max_length=80, blank=True)
    vehicle_vin = models.CharField("vehicle VIN", max_length=17, blank=True)
    vehicle_stock = models.CharField("stock number", max_length=32, blank=True)
    vehicle_condition = models.CharField(
        max_length=8, choices=Condition.choices, blank=True, default=Condition.UNKNOWN
    )

    tradein_year = models.PositiveSmallIntegerField("trade-in year", null=True, blank=True)
    tradein_make = models.CharField("trade-in make", max_length=50, blank=True)
    tradein_model = models.CharField("trade-in model", max_length=50, blank=True)
    tradein_vin = models.CharField("trade-in VIN", max_length=17, blank=True)
    tradein_mileage = models.PositiveIntegerField("trade-in mileage", null=True, blank=True)

    purchase_horizon = models.CharField(
        max_length=16, choices=PurchaseHorizon.choices, blank=True, default=PurchaseHorizon.UNKNOWN
    )
    comments = models.TextField(blank=True)
    score = models.PositiveSmallIntegerField(default=0, help_text="0 (cold) to 100 (hot).")
    score_factors = models.JSONField(
        default=list,
        blank=True,
        help_text="What made the score: a list of {code, label, points, detail}.",
    )
    contact_issues = models.JSONField(
        default=list,
        blank=True,
        help_text="Phones or e-mails that were sent but do not work: {field, value, problem}.",
    )

    status = models.CharField(max_length=16, choices=LeadStatus.choices, default=LeadStatus.NEW)
    close_reason = models.ForeignKey(
        Reason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="owned_leads",
    )
    team = models.ForeignKey(
        Team, on_delete=models.PROTECT, null=True, blank=True, related_name="leads"
    )

    created_at = models.DateTimeField(db_index=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    first_response_due_at = models.DateTimeField(
        null=True, blank=True, help_text="When the first personal contact is due."
    )
    first_contacted_at = models.DateTimeField(
        null=True, blank=True, help_text="First personal outbound touch."
    )
    first_response_warned_at = models.DateTimeField(
        null=True, blank=True, help_text="When the owner was warned the first response is due."
    )
    appointment_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer is expected at the dealership."
    )
    resurfaced_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the customer came back on their own; cleared by the next personal touch.",
    )
    # The latest routing decision, as its ASSIGNED event holds it, so that lists and the API
    # show why a lead is where it is without reading the history.
    routing = models.JSONField(default=dict, blank=True)
    last_activity_at = models.DateTimeField(
        help_text="Last CRM activity: a touch, a status change or a return to work; the lead's "
        "creation until the first. The stale sweep counts quiet days from here."
    )
    stale_tier = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text="The longest quiet period (in days, one of the stale sweep's tiers) the lead "
        "has passed without CRM activity; 0 once it is worked again.",
    )
    last_seen_at = models.DateTimeField(
        null=True, blank=True, help_text="Last visit of the customer to the dealer's website."
    )
    status_changed_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # What the lead reports count, kept on the lead by the services that write the history, so
    # that a report reads one row per lead (from `lead_report_idx`) instead of its history.
    created_hour = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="The hour of the dealership's day (0-23) the lead arrived in.",
    )
    first_response_seconds = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="Seconds from the lead's arrival to its first personal contact.",
    )
    first_contact_band = models.PositiveSmallIntegerField(
        choices=FirstContactBand.choices,
        null=True,
        blank=True,
        help_text="How soon the first personal contact came; empty until there is one.",
    )
    qualified_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="First time the lead was qualified, or went straight to an appointment or a "
        "sale; kept when it is later lost.",
    )
    appointment_set_at = models.DateTimeField(
        null=True, blank=True, help_text="First time an appointment was set."
    )
    audit_returned_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="First time a disqualification audit returned the lead to work: it was "
        "disqualified wrongly, and counts as qualified in the corrected figures.",
    )
    quiet_tier_reached = models.PositiveSmallIntegerField(
        default=0,
        db_default=0,
        help_text="The longest quiet period (a stale tier, in days) the lead ever reached; "
        "unlike `stale_tier`, it stays when the lead is worked again.",
    )
    personal_touches = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Personal outbound touches (calls, e-mails, texts, ...)."
    )
    calls = models.PositiveIntegerField(
        default=0, db_default=0, help_text="Personal outbound calls (also in personal touches)."
    )
    automated_touches = models.PositiveIntegerField(
        default=0,
        db_default=0,
        help_text="Messages integrations sent to the customer automatically.",
    )
    responded_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="First time the customer responded: replied, called or wrote in.",
    )

    class Meta:
        permissions = [
            ("view_all_leads", "Can see every lead"),
            ("reassign_lead", "Can reassign leads"),
            ("audit_lead", "Can audit closed leads and return them to work"),
            ("submit_leads", "Can post leads and website events through the API"),
            ("view_lead_reports", "Can see the lead reports of every team and person"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="lead_source_external_id_unique",
            ),
            models.CheckConstraint(condition=Q(score__lte=100), name="lead_score_at_most_100"),
            # A closed lead has a closing time; an open one has none.
            models.CheckConstraint(
                condition=(
                    Q(status__in=sorted(CLOSED_STATUSES), closed_at__isnull=False)
                    | Q(status__in=sorted(OPEN_STATUSES), closed_at__isnull=True)
                ),
                name="lead_closed_at_matches_status",
            ),
        ]
        indexes = [
            # "My queue": a person's open leads.
            # Carries what the base-quality report reads of a person's open leads, so that it
            # does not read the leads themselves on PostgreSQL.
            models.Index(
                fields=["owner", "status"],
                include=["purchase_horizon", "last_activity_at", "source", "team", "id"],
                name="lead_owner_status_idx",
            ),
            # The team pool: unassigned leads of a team.
            models.Index(
                fields=["team", "created_at"],
                condition=Q(owner__isnull=True),
                name="lead_pool_idx",
            ),
            # Stale sweeps: open leads by their last CRM activity.
            models.Index(fields=["status", "last_activity_at"], name="lead_status_activity_idx"),
            # The stale sweep: quiet leads whose customer was seen on the website lately.
            models.Index(
                fields=["last_seen_at"],
                condition=Q(stale_tier__gt=0, resurfaced_at__isnull=True),
                name="lead_quiet_seen_idx",
            ),
            # The reactivation sweep: closed leads whose customer was seen on the website lately.
            models.Index(
                fields=["last_seen_at"],
                condition=Q(status__in=["lost", "disqualified"]),
                name="lead_closed_seen_idx",
            ),
            # Reports over closed leads by month.
            models.Index(fields=["status", "closed_at"], name="lead_status_closed_idx"),
            # The reports over the sales of a period (conversion timing, sales per person),
            # read from the index alone on PostgreSQL.
            models.Index(
                fields=["closed_at"],
                condition=Q(status="sold"),
                include=["id", "created_at", "source", "team", "owner"],
                name="lead_sales_idx",
            ),
            models.Index(fields=["customer", "created_at"], name="lead_customer_idx"),
            # The lead reports: the leads created in a period with what the reports count,
            # read from the index alone on PostgreSQL (`include` is ignored elsewhere).
            models.Index(
                fields=["created_at"],
                include=REPORT_COLUMNS,
                name="lead_report_idx",
            ),
            # The first-response sweep: leads still waiting for their first contact, by deadline.
            models.Index(
                fields=["first_response_due_at"],
                condition=Q(status="new", first_contacted_at__isnull=True),
                name="lead_first_response_due_idx",
            ),
        ]

    def __str__(self):
        return f"Lead {self.pk} · {self.customer} · {self.get_status_display()}"

    @property
    def score_band(self):
        return band_for(self.score)

    @property
    def routing_decision(self):
        """The latest routing decision, or None for a lead never routed."""
        return self.routing or None

    @property
    def is_open(self):
        return self.status in OPEN_STATUSES

    @property
    def edit_token(self):
        """What a person saw of the lead when they opened it: status and owner. Forms send it
        back, and a change made on a stale view is refused (LeadChangedMeanwhile)."""
        return f"{self.status}:{self.owner_id or ''}"

    @property
    def vehicle_label(self):
        parts = (self.vehicle_year, self.vehicle_make, self.vehicle_model, self.vehicle_trim)
        return " ".join(str(part) for part in parts if part)


class LeadEvent(HistoryRow):
    """One line of a lead's history. Rows are appended, never edited or deleted: reports read
    conversion, speed and audit corrections from here."""

    class Kind(models.TextChoices):
        CREATED = "created", "Created"
        STATUS_CHANGED = "status_changed", "Status changed"
        REOPENED = "reopened", "Returned to work"
        ASSIGNED = "assigned", "Assigned"
        MERGED = "merged", "Repeat inquiry"
        RESPONSE_MISSED = "response_missed", "First response missed"
        APPOINTMENT_SET = "appointment_set", "Appointment set"
        RESURFACED = "resurfaced", "The customer came back"

    class ReopenCause(models.TextChoices):
        PERSON = "person", "A person returned it to work"
        AUDIT = "audit", "Disqualification audit"
        RESURFACING = "resurfacing", "The customer came back (resurfacing)"

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    at = models.DateTimeField()
    from_status = models.CharField(max_length=16, choices=LeadStatus.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=LeadStatus.choices, blank=True)
    from_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    to_owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reason = models.ForeignKey(
        Reason, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    cause = models.CharField(max_length=16, choices=ReopenCause.choices, blank=True)
    note = models.TextField(blank=True)
    routing = models.JSONField(
        null=True,
        blank=True,
        help_text="On an assignment: the routing decision behind it (rule, strategy, each "
        "candidate's figures, the explanation).",
    )

    class Meta:
        ordering = ["at", "id"]
        indexes = [
            models.Index(fields=["lead", "at"], name="leadevent_lead_at_idx"),
            # Reports: transitions into a status over a period (qualified per month, ...).
            models.Index(fields=["to_status", "at"], name="leadevent_to_status_at_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · lead {self.lead_id} · {self.at:%Y-%m-%d %H:%M}"

    @property
    def actor_name(self):
        if self.actor_id:
            return person_name(self.actor)
        return self.actor_label or "system"


# Calls shorter than this are usually empty (nobody reached, nothing learned); the workspace marks
# them and reports count their share per salesperson.
SHORT_CALL = timedelta(minutes=7)


class Activity(models.Model):
    """A touch between the dealership and the customer on a lead."""

    class Kind(models.TextChoices):
        CALL = "call", "Call"
        EMAIL = "email", "E-mail"
        SMS = "sms", "Text message"
        CHAT = "chat", "Chat"
        MEETING = "meeting", "Meeting"
        NOTE = "note", "Note"

    class Direction(models.TextChoices):
        OUTBOUND = "outbound", "Outbound"
        INBOUND = "inbound", "Inbound"

    class Outcome(models.TextChoices):
        NONE = "", "—"
        CONNECTED = "connected", "Connected"
        VOICEMAIL = "voicemail", "Left voicemail"
        NO_ANSWER = "no_answer", "No answer"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        SENT = "sent", "Sent"
        REPLIED = "replied", "Customer replied"

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="activities")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    direction = models.CharField(
        max_length=8, choices=Direction.choices, default=Direction.OUTBOUND
    )
    automated = models.BooleanField(
        default=False,
        help_text="Sent by an integration, not a person. Reports keep the two apart.",
    )
    duration_seconds = models.PositiveIntegerField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True)
    customer_responded = models.BooleanField(default=False)
    body = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="activities",
    )
    occurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "activities"
        ordering = ["-occurred_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "occurred_at"], name="activity_lead_at_idx"),
            models.Index(fields=["actor", "occurred_at"], name="activity_actor_at_idx"),
            # The base-quality report: each person's calls in a period and how long they were,
            # from the index alone.
            models.Index(
                fields=["actor", "occurred_at", "duration_seconds"],
                condition=Q(kind="call", automated=False, direction="outbound"),
                name="activity_call_actor_idx",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · lead {self.lead_id} · {self.occurred_at:%Y-%m-%d}"

    @property
    def is_short_call(self):
        """A call that ended before anything could be discussed (SHORT_CALL, from the field)."""
        return (
            self.kind == self.Kind.CALL
            and self.duration_seconds is not None
            and self.duration_seconds < SHORT_CALL.total_seconds()
        )

    @property
    def is_customer_response(self):
        """The customer answered: the touch is marked as the customer's response, or the
        customer started it (an inbound call, e-mail, text or chat)."""
        if self.kind == self.Kind.NOTE:
            return False
        return self.customer_responded or self.direction == self.Direction.INBOUND

    @property
    def is_personal_outbound(self):
        return (
            not self.automated
            and self.direction == self.Direction.OUTBOUND
            and self.kind != self.Kind.NOTE
        )


class FollowUpStep(models.Model):
    """One step of the follow-up plan every contacted lead gets: on `day` after the first
    contact, reach the customer by `channel`. Managers edit the steps; a plan already made keeps
    its tasks."""

    # A sale still comes up to 45 days after the lead; after that it is a trickle (DESIGN.md).
    LAST_DAY = 45

    day = models.PositiveSmallIntegerField(unique=True)
    channel = models.CharField(
        max_length=8, choices=Activity.Kind.choices, default=Activity.Kind.CALL
    )
    instruction = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["day"]
        constraints = [
            models.CheckConstraint(
                condition=Q(day__gte=1, day__lte=45), name="followupstep_day_in_plan"
            )
        ]

    def __str__(self):
        return f"Day {self.day}: {self.get_channel_display()}"


class FollowUpTask(models.Model):
    """Something a person has to do on a lead by a day: a step of its follow-up plan, an
    appointment, a customer who came back. Written only by `leads.followup`."""

    class Kind(models.TextChoices):
        FOLLOW_UP = "follow_up", "Follow-up"
        APPOINTMENT = "appointment", "Appointment"
        RESURFACED = "resurfaced", "Customer came back"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="tasks")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="followup_tasks",
        help_text="The lead's owner; empty while the lead waits in a pool.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FOLLOW_UP)
    channel = models.CharField(max_length=8, choices=Activity.Kind.choices, blank=True)
    title = models.CharField(max_length=200)
    plan_day = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The plan's day this task is for (day 1 = the day after)."
    )
    due_on = models.DateField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    closed_note = models.CharField(max_length=200, blank=True)
    activity = models.ForeignKey(
        Activity,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="What was done to complete it.",
    )

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [
            # The queue and the overdue share: a person's open tasks by due day.
            models.Index(
                fields=["assignee", "due_on"],
                condition=Q(status="open"),
                name="task_open_assignee_due_idx",
            ),
            models.Index(fields=["lead", "status"], name="task_lead_status_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status="open", closed_at__isnull=True)
                | (~Q(status="open") & Q(closed_at__isnull=False)),
                name="task_closed_at_matches_status",
            )
        ]

    def __str__(self):
        return f"{self.title} · lead {self.lead_id} · due {self.due_on}"


class LeadSource(models.Model):
    """What the dealership knows about one sender of leads: how good its leads are, which team's
    pool they wait in, and whether it has a hosted website form.

    Leads name their source by `key`; a source nobody configured still delivers leads (they get
    no source points and wait in the general pool).
    """

    key = models.SlugField(max_length=64, unique=True, help_text="What senders put in `source`.")
    name = models.CharField(max_length=100)
    channel = models.CharField(
        max_length=16,
        choices=Lead.Channel.choices,
        default=Lead.Channel.THIRD_PARTY,
        help_text="The channel of its leads when the sender does not say.",
    )
    quality_points = models.SmallIntegerField(
        default=0, help_text="Added to the score of every lead from this source (-30 to 30)."
    )
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="lead_sources",
        help_text="Whose pool its leads wait in until they are routed.",
    )
    form_enabled = models.BooleanField(
        "hosted form", default=False, help_text="Serve a website form at /f/<key>/."
    )
    form_title = models.CharField(max_length=100, blank=True)
    cost_per_lead = models.DecimalField(
        max_digits=10,
        decimal_places=2,
        null=True,
        blank=True,
        help_text="What one lead from this source costs, if it costs anything; the sources "
        "report works out the cost per sale from it.",
    )
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quality_points__gte=-30, quality_points__lte=30),
                name="leadsource_quality_points_range",
            ),
            models.CheckConstraint(
                condition=Q(cost_per_lead__gte=0), name="leadsource_cost_not_negative"
            ),
        ]

    def __str__(self):
        return self.name


class Inquiry(models.Model):
    """One message a customer sent through a channel, as received. A lead has one or more:
    its first, then every repeat inquiry merged into it. Idempotency lives here: the same
    (source, external id) is received once."""

    class Outcome(models.TextChoices):
        CREATED = "created", "Created a lead"
        MERGED = "merged", "Merged into an open lead (repeat inquiry)"

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="inquiries")
    source = models.CharField(max_length=64)
    external_id = models.CharField(max_length=128, blank=True)
    channel = models.CharField(max_length=16, choices=Lead.Channel.choices)
    payload_format = models.CharField(max_length=8, choices=Format.choices)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    received_at = models.DateTimeField()
    requested_at = models.DateTimeField(
        null=True, blank=True, help_text="When the sender says the customer asked."
    )
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The integration account that posted it; empty for forms and imports.",
    )
    raw_payload = models.TextField(blank=True, help_text="What the sender posted, as received.")
    warnings = models.JSONField(
        default=list, blank=True, help_text="Values the parser could not read and left out."
    )

    class Meta:
        verbose_name_plural = "inquiries"
        ordering = ["received_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=~Q(external_id=""),
                name="inquiry_source_external_id_unique",
            )
        ]
        indexes = [models.Index(fields=["lead", "received_at"], name="inquiry_lead_idx")]

    def __str__(self):
        return f"{self.source} {self.external_id or '(no id)'} → lead {self.lead_id}"


class ScoreWeight(models.Model):
    """Points one scoring factor is worth; managers change them, `leads.scoring` names them."""

    code = models.SlugField(max_length=32, unique=True)
    points = models.SmallIntegerField()

    class Meta:
        ordering = ["code"]

    def __str__(self):
        return f"{self.code}: {self.points}"


class WebVisitor(models.Model):
    """A browser the dealer's website tracks, known by the visitor id its tracker sets.

    Anonymous until it identifies: a lead or an event carrying its visitor id and a contact
    detail links it (and all its events, before and after) to a customer.
    """

    visitor_id = models.CharField(max_length=64, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="web_visitors"
    )
    # Contact details an event identified the visitor by before any customer had them; a later
    # lead with the same e-mail or phone claims the visitor.
    identified_email = models.EmailField(max_length=254, blank=True)
    identified_phone = models.CharField(max_length=20, blank=True)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    # Sessions are cut after 30 minutes without an event (the usual web analytics rule).
    session_key = models.CharField(max_length=100, blank=True)

    class Meta:
        indexes = [
            models.Index(
                fields=["identified_email"],
                condition=~Q(identified_email="") & Q(customer__isnull=True),
                name="visitor_unclaimed_email_idx",
            ),
            models.Index(
                fields=["identified_phone"],
                condition=~Q(identified_phone="") & Q(customer__isnull=True),
                name="visitor_unclaimed_phone_idx",
            ),
        ]

    def __str__(self):
        return self.visitor_id


class WebEvent(models.Model):
    """One thing a visitor did on the dealer's website. Kept whatever happens to the lead:
    a lost customer still browsing is the signal that brings the lead back."""

    class Type(models.TextChoices):
        PAGE_VIEW = "page_view", "Page view"
        VEHICLE_VIEW = "vehicle_view", "Vehicle view"
        SEARCH = "search", "Inventory search"
        FORM_VIEW = "form_view", "Form view"
        FORM_SUBMIT = "form_submit", "Form submitted"
        CHAT_STARTED = "chat_started", "Chat started"
        CALL_CLICK = "call_click", "Click to call"
        TEXT_CLICK = "text_click", "Click to text"
        DIRECTIONS_CLICK = "directions_click", "Directions"
        TRADE_IN_VALUATION = "trade_in_valuation", "Trade-in valuation"
        PAYMENT_CALCULATOR = "payment_calculator", "Payment calculator"

    visitor = models.ForeignKey(
        WebVisitor,
        on_delete=models.PROTECT,
        related_name="events",
        db_index=False,  # webevent_visitor_at_idx serves lookups by visitor
    )
    customer = models.ForeignKey(
        Customer,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="web_events",
        db_index=False,  # webevent_customer_at_idx serves lookups by customer
    )
    type = models.CharField(max_length=24, choices=Type.choices)
    url = models.URLField(max_length=500, blank=True)
    vin = models.CharField("VIN", max_length=17, blank=True)
    stock = models.CharField(max_length=32, blank=True)
    make = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=50, blank=True)
    session_key = models.CharField(max_length=100)
    # Which vehicle a vehicle view was about (VIN, else stock number, else make and model), so
    # that "vehicles viewed" is a plain distinct count.
    vehicle_key = models.CharField(max_length=101, blank=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [
            # The customer's profile and the sweeps' "active on the site since" questions.
            # Anonymous events stay out, so stitching a visitor's events (customer IS NULL)
            # goes through the visitor index instead of every anonymous event.
            models.Index(
                fields=["customer", "occurred_at"],
                condition=Q(customer__isnull=False),
                name="webevent_customer_at_idx",
            ),
            models.Index(fields=["visitor", "occurred_at"], name="webevent_visitor_at_idx"),
        ]

    def __str__(self):
        return f"{self.get_type_display()} · {self.visitor_id} · {self.occurred_at:%Y-%m-%d %H:%M}"


class Resurfacing(models.Model):
    """A customer who came back to the dealer's website while their lead was quiet or closed:
    what they did there (the evidence) and what the CRM did about it. Written by
    `leads.resurfacing`; reports follow what happened to the lead afterwards."""

    class Kind(models.TextChoices):
        NOT_LOST = "not_lost", "Quiet lead, customer still shopping"
        REACTIVATION = "reactivation", "Closed lead, customer shopping again"

    class Outcome(models.TextChoices):
        RESURFACED = "resurfaced", "Back with its salesperson"
        REOPENED = "reopened", "Returned to work"
        REVIEW = "review", "Waiting for a manager's review"
        DISMISSED = "dismissed", "Dismissed by a manager"

    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="resurfacings")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    detected_at = models.DateTimeField()
    quiet_days = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="For a quiet lead: the stale tier it had reached."
    )
    evidence = models.JSONField(
        default=dict,
        help_text="What the customer did on the website: sessions, vehicles viewed, forms, "
        "other actions, first and last seen.",
    )
    summary = models.CharField(max_length=300, help_text="The evidence in words, as told.")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who was given the customer; empty when the lead waits in a pool or review.",
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-detected_at", "-id"]
        indexes = [
            models.Index(fields=["lead", "detected_at"], name="resurfacing_lead_idx"),
            models.Index(
                fields=["detected_at"],
                condition=Q(outcome="review"),
                name="resurfacing_review_idx",
            ),
        ]
        constraints = [
            # One review at a time per lead: a sweep never asks twice about the same comeback.
            models.UniqueConstraint(
                fields=["lead"], condition=Q(outcome="review"), name="resurfacing_one_review"
            )
        ]

    def __str__(self):
        return f"{self.get_kind_display()} · lead {self.lead_id} · {self.detected_at:%Y-%m-%d}"


class Recycling(models.Model):
    """A customer's life-cycle date that brought them back to sales: the lead it made (or the
    open lead it was added to). One per date, which is what keeps recycling to once per date."""

    lifecycle_date = models.OneToOneField(
        "dealercrm.LifecycleDate", on_delete=models.PROTECT, related_name="recycling"
    )
    lead = models.ForeignKey(Lead, on_delete=models.PROTECT, related_name="recyclings")
    created_lead = models.BooleanField(
        help_text="A new lead was made; otherwise the customer's open lead was given the date."
    )
    at = models.DateTimeField()

    def __str__(self):
        return f"{self.lifecycle_date} → lead {self.lead_id}"


def _default_stale_tiers():
    return [7, 14, 21]


class LifecycleSettings(models.Model):
    """How the scheduled sweeps treat quiet, lost and returning customers; one row, which sales
    and BDC managers edit. The defaults follow the field's figures (DESIGN.md)."""

    class ReactivationMode(models.TextChoices):
        REOPEN = "reopen", "Return the lead to work with its salesperson"
        REVIEW = "review", "Put it in the review queue for a manager"

    stale_tiers = models.JSONField(
        default=_default_stale_tiers,
        help_text="Days without CRM activity after which an open lead is flagged as quiet, "
        "tier by tier.",
    )
    reactivation_mode = models.CharField(
        max_length=8, choices=ReactivationMode.choices, default=ReactivationMode.REOPEN
    )
    reactivation_window_days = models.PositiveSmallIntegerField(
        default=7, help_text="Website activity counts as buying behaviour within this many days."
    )
    reactivation_sessions = models.PositiveSmallIntegerField(
        default=2, help_text="Visits in the window that show buying behaviour (0: not used)."
    )
    reactivation_vehicle_views = models.PositiveSmallIntegerField(
        default=1, help_text="Vehicle views in the window that show it (0: not used)."
    )
    reactivation_form_views = models.PositiveSmallIntegerField(
        default=1, help_text="Form views or submissions in the window that show it (0: not used)."
    )
    archive_after_days = models.PositiveSmallIntegerField(
        default=30,
        help_text="New or contacted leads buying later than in 3 months are archived after this "
        "many days without CRM activity.",
    )
    recycle_lease_end_days = models.PositiveSmallIntegerField(
        default=90, help_text="Days before a lease ends that the customer comes back to sales."
    )
    recycle_loan_maturity_days = models.PositiveSmallIntegerField(default=90)
    recycle_warranty_end_days = models.PositiveSmallIntegerField(default=60)
    recycle_purchase_anniversary_days = models.PositiveSmallIntegerField(default=30)
    recycle_service_due_days = models.PositiveSmallIntegerField(default=14)
    reminder_hour = models.PositiveSmallIntegerField(
        default=8, help_text="Local hour of the morning reminder of the day's tasks (0-23)."
    )

    class Meta:
        verbose_name = verbose_name_plural = "life-cycle settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="lifecyclesettings_single_row"),
            models.CheckConstraint(
                condition=Q(reminder_hour__lte=23), name="lifecyclesettings_reminder_hour"
            ),
        ]

    def __str__(self):
        return "Life-cycle settings"

    @classmethod
    def current(cls):
        settings_row, _ = cls.objects.get_or_create(pk=1)
        return settings_row

    def recycle_days(self, kind):
        """How many days ahead of a life-cycle date of `kind` it is recycled."""
        return getattr(self, f"recycle_{kind}_days")
