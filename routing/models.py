"""Routing rules as BDC managers set them, the rotation cursor of each rule, and the opening
hours that first-response deadlines count in.

The rules are data; `routing.engine` turns them, with the facts `leads` gathers, into a decision.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q

from dealercrm.models import Team


class Strategy(models.TextChoices):
    ROUND_ROBIN = "round_robin", "Round robin"
    LEAST_LOADED = "least_loaded", "Least loaded"
    PREVIOUS_OWNER = "previous_owner", "Previous salesperson"
    FASTEST_RESPONDER = "fastest_responder", "Fastest responder"
    WEIGHTED = "weighted", "Weighted split"
    POOL = "pool", "Team pool (first to claim)"


# Strategies that take turns: their order lives in the rule's cursor row.
ROTATING_STRATEGIES = frozenset(
    {Strategy.ROUND_ROBIN, Strategy.FASTEST_RESPONDER, Strategy.WEIGHTED}
)


class Fallback(models.TextChoices):
    NEXT_RULE = "next_rule", "Try the next rule"
    POOL = "pool", "Team pool"
    MANAGER = "manager", "A named manager"


class RoutingRule(models.Model):
    """Which leads (conditions) go to whom (members or a team) and how (strategy).

    Rules run in `priority` order, lower first; the first rule that matches a lead and finds
    somebody decides. `conditions` is validated by `routing.conditions.Conditions`.
    """

    name = models.CharField(max_length=100, unique=True)
    priority = models.PositiveIntegerField(default=100, help_text="Lower runs first.")
    active = models.BooleanField(
        default=True, help_text="Inactive rules route nothing; replay can still try them."
    )
    conditions = models.JSONField(default=dict, blank=True)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="+")
    team = models.ForeignKey(
        Team,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="routing_rules",
        help_text="Its people are the members when nobody is listed; its pool takes the leads "
        "of the pool strategy and fallback.",
    )
    strategy = models.CharField(max_length=24, choices=Strategy.choices)
    weights = models.JSONField(
        default=dict, blank=True, help_text="Weighted split: {user id: weight}, e.g. 1 and 3."
    )
    sla_minutes = models.PositiveSmallIntegerField(
        "first-response SLA (minutes)",
        default=5,
        help_text="Business minutes the owner has for the first personal contact.",
    )
    max_rotations = models.PositiveSmallIntegerField(
        default=2,
        help_text="Missed first responses after which the lead goes to the pool and a manager.",
    )
    fallback = models.CharField(max_length=16, choices=Fallback.choices, default=Fallback.NEXT_RULE)
    fallback_manager = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="Takes the lead when nobody is available (fallback 'manager') and hears of "
        "missed first responses.",
    )
    stop = models.BooleanField(
        default=False,
        help_text="Leads this rule matches never reach the rules below it; when nobody is "
        "found they wait in the pool.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["priority", "id"]
        permissions = [("manage_routing", "Can configure lead routing")]
        constraints = [
            models.CheckConstraint(
                condition=Q(sla_minutes__gte=1, sla_minutes__lte=1440),
                name="routingrule_sla_minutes_range",
            ),
            models.CheckConstraint(
                condition=~Q(fallback="manager") | Q(fallback_manager__isnull=False),
                name="routingrule_manager_fallback_names_manager",
            ),
        ]

    def __str__(self):
        return self.name


class RoutingCursor(models.Model):
    """Where a rotating rule stands: for each person, the credit of the smooth weighted rotation
    (see routing.engine). Decisions lock this row, so that parallel intake and bulk imports
    take turns instead of all choosing the same person."""

    rule = models.OneToOneField(
        RoutingRule, on_delete=models.CASCADE, primary_key=True, related_name="cursor"
    )
    state = models.JSONField(default=dict, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self):
        return f"Cursor of {self.rule_id}"


class OpeningHours(models.Model):
    """When the dealership answers leads, in its local time zone; a weekday without a row is
    closed. First-response deadlines count only these hours."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, "Monday"
        TUESDAY = 1, "Tuesday"
        WEDNESDAY = 2, "Wednesday"
        THURSDAY = 3, "Thursday"
        FRIDAY = 4, "Friday"
        SATURDAY = 5, "Saturday"
        SUNDAY = 6, "Sunday"

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, unique=True)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "opening hours"
        constraints = [
            models.CheckConstraint(condition=Q(opens__lt=models.F("closes")), name="hours_open")
        ]

    def __str__(self):
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"
