"""The only writers of routing rules and opening hours.

A rule is checked whole before anything is written, so a bad rule leaves the rule set as it
was. Every change goes to the audit log (dealercrm.AuditEntry) with the person who made it and
each value before and after, in the change's transaction.
"""

import json
import logging

from django.core.cache import cache
from django.db import connection, transaction
from django.utils import timezone

from dealercrm.models import AuditEntry, StaffProfile, lead_owner_refusal, person_name
from dealercrm.services import audit_record
from routing.conditions import Conditions
from routing.errors import InvalidRule
from routing.models import Fallback, OpeningHours, RoutingCursor, RoutingRule, Strategy
from routing.selectors import OPENING_HOURS_KEY

logger = logging.getLogger(__name__)

MAX_WEIGHT = 100
MAX_ROTATIONS = 10
# Priorities are renumbered in these steps when rules are reordered, leaving room in between.
PRIORITY_STEP = 10


def _people_who_own_leads(ids, field):
    """The users `ids`, each an active member of sales or BDC staff; raises InvalidRule."""
    ids = list(dict.fromkeys(ids))
    profiles = {
        profile.user_id: profile
        for profile in StaffProfile.objects.filter(user_id__in=ids).select_related("user")
    }
    for pid in ids:
        profile = profiles.get(pid)
        if profile is None:
            raise InvalidRule(field, f"there is no member of staff with id {pid}.")
        refusal = lead_owner_refusal(profile.user, profile)
        if refusal:
            raise InvalidRule(field, refusal)
    return [profiles[pid].user for pid in ids]


def _weights(weights, strategy, member_ids):
    if not weights:
        return {}
    if strategy != Strategy.WEIGHTED:
        raise InvalidRule("weights", "only the weighted strategy takes weights.")
    if not isinstance(weights, dict):
        raise InvalidRule("weights", "must be an object of {user id: weight}.")
    clean = {}
    for key, value in weights.items():
        try:
            pid = int(key)
        except (TypeError, ValueError):
            raise InvalidRule("weights", f"{key!r} is not a user id.") from None
        if member_ids and pid not in member_ids:
            raise InvalidRule("weights", f"user {pid} is not a member of the rule.")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRule("weights", f"the weight of user {pid} must be a number.")
        if not 0 <= value <= MAX_WEIGHT:
            raise InvalidRule("weights", f"weights go from 0 to {MAX_WEIGHT}.")
        clean[str(pid)] = value
    return clean


def _checked(fields, members, rule_id=None, kept_manager_id=None):
    """The rule's fields, checked and normalised; raises InvalidRule naming what is wrong.
    `rule_id` is the rule being changed, None for a new one; `kept_manager_id` its manager,
    who is not checked again."""
    name = (fields.get("name") or "").strip()
    if not name:
        raise InvalidRule("name", "give the rule a name.")
    fields["name"] = name[:100]
    # Names are unique in the table too; checked here so that a clash is a refusal, not a 500.
    if RoutingRule.objects.filter(name=fields["name"]).exclude(pk=rule_id).exists():
        raise InvalidRule("name", f"another rule is already called {fields['name']}.")
    if fields.get("strategy") not in Strategy.values:
        raise InvalidRule("strategy", f"choose one of {', '.join(Strategy.values)}.")
    fields["conditions"] = Conditions.from_dict(fields.get("conditions")).as_dict()
    member_ids = [user.pk for user in members]
    fields["weights"] = _weights(fields.get("weights"), fields["strategy"], member_ids)
    needs_people = fields["strategy"] not in (Strategy.POOL, Strategy.PREVIOUS_OWNER)
    if needs_people and not member_ids and fields.get("team") is None:
        raise InvalidRule("members", "name the people who take these leads, or a team.")
    sla = fields.get("sla_minutes", 5)
    if isinstance(sla, bool) or not isinstance(sla, int) or not 1 <= sla <= 1440:
        raise InvalidRule("sla_minutes", "must be 1 to 1440 minutes.")
    rotations = fields.get("max_rotations", 2)
    if isinstance(rotations, bool) or not isinstance(rotations, int):
        raise InvalidRule("max_rotations", "must be a whole number.")
    if not 0 <= rotations <= MAX_ROTATIONS:
        raise InvalidRule("max_rotations", f"must be 0 to {MAX_ROTATIONS}.")
    fallback = fields.get("fallback", Fallback.NEXT_RULE)
    if fallback not in Fallback.values:
        raise InvalidRule("fallback", f"choose one of {', '.join(Fallback.values)}.")
    manager = fields.get("fallback_manager")
    if fallback == Fallback.MANAGER and manager is None:
        raise InvalidRule("fallback_manager", "name the manager who takes the leads.")
    if manager is not None and manager.pk != kept_manager_id:
        _people_who_own_leads([manager.pk], "fallback_manager")
    return fields


def _rule_values(rule):
    """The rule's own values by field name, its members aside."""
    return {
        f.name: getattr(rule, f.name)
        for f in RoutingRule._meta.concrete_fields
        if f.name not in ("id", "created_at", "updated_at")
    }


def _names(people):
    return sorted(person_name(user) for user in people)


def _hours(opening):
    """ "09:00–18:00" for (opens, closes), "closed" for None."""
    if opening is None:
        return "closed"
    opens, closes = opening
    return f"{opens:%H:%M}–{closes:%H:%M}"


@transaction.atomic
def rule_create(*, by, members=(), **fields):
    """Create a rule (RoutingRule fields; `members` users) with its rotation cursor.

    Without a priority it goes last. Raises InvalidRule and writes nothing then.
    """
    members = _people_who_own_leads([user.pk for user in members], "members")
    fields = _checked(fields, members)
    if fields.get("priority") is None:
        last = RoutingRule.objects.order_by("-priority").values_list("priority", flat=True)
        fields["priority"] = (last.first() or 0) + PRIORITY_STEP
    rule = RoutingRule.objects.create(**fields)
    rule.members.set(members)
    RoutingCursor.objects.create(rule=rule)
    audit_record(
        by=by,
        action=AuditEntry.Action.RULE_CREATED,
        target=rule,
        changes={
            **{name: (None, value) for name, value in _rule_values(rule).items()},
            "members": (None, _names(members)),
        },
    )
    logger.info("routing rule %s '%s' created by %s", rule.pk, rule.name, by)
    return rule


@transaction.atomic
def rule_update(*, rule, by, members=None, **changes):
    """Change a rule; `members` None keeps them. Raises InvalidRule and writes nothing then."""
    rule = RoutingRule.objects.select_for_update().get(pk=rule.pk)
    kept = {user.pk: user for user in rule.members.all()}
    members = list(kept.values()) if members is None else list(members)
    # Only people added now are checked: someone who left sales since stays listed until a
    # manager edits them out (decisions skip them), so the rule can still be switched off.
    _people_who_own_leads([user.pk for user in members if user.pk not in kept], "members")
    current = _rule_values(rule)
    fields = _checked(
        {**current, **changes}, members, rule_id=rule.pk, kept_manager_id=rule.fallback_manager_id
    )
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.save()
    rule.members.set(members)
    audit_record(
        by=by,
        action=AuditEntry.Action.RULE_CHANGED,
        target=rule,
        changes={
            **{name: (current[name], value) for name, value in fields.items()},
            "members": (_names(kept.values()), _names(members)),
        },
    )
    logger.info("routing rule %s '%s' changed by %s: %s", rule.pk, rule.name, by, sorted(changes))
    return rule


@transaction.atomic
def rule_delete(*, rule, by):
    """Delete a rule; its audit entry keeps every value it had."""
    audit_record(
        by=by,
        action=AuditEntry.Action.RULE_DELETED,
        target=rule,
        changes={
            **{name: (value, None) for name, value in _rule_values(rule).items()},
            "members": (_names(rule.members.all()), None),
        },
    )
    logger.info("routing rule %s '%s' deleted by %s", rule.pk, rule.name, by)
    rule.delete()


@transaction.atomic
def rule_move(*, rule, by, offset):
    """Move a rule `offset` places up (negative) or down the order, renumbering priorities in
    steps so that they stay distinct."""
    rules = list(RoutingRule.objects.select_for_update().order_by("priority", "id"))
    index = next(i for i, other in enumerate(rules) if other.pk == rule.pk)
    moved = rules.pop(index)
    rules.insert(max(0, min(len(rules), index + offset)), moved)
    for position, other in enumerate(rules, start=1):
        if other.priority != position * PRIORITY_STEP:
            # With updated_at: decisions re-read the rules when it changes.
            RoutingRule.objects.filter(pk=other.pk).update(
                priority=position * PRIORITY_STEP, updated_at=timezone.now()
            )
    moved_to = RoutingRule.objects.get(pk=rule.pk)
    audit_record(
        by=by,
        action=AuditEntry.Action.RULE_MOVED,
        target=moved_to,
        changes={"priority": (moved.priority, moved_to.priority)},
    )
    logger.info("routing rule %s '%s' moved by %s (%+d)", rule.pk, rule.name, by, offset)
    return moved_to


def cursor_save(*, rule_id, state):
    """Store a rotating rule's credits after a decision, inside the caller's transaction (which
    holds the row lock: see routing.selectors.cursor_states). SQL written out: every intake
    runs it."""
    table = connection.ops.quote_name(RoutingCursor._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET state = %s, updated_at = %s WHERE rule_id = %s",
            [
                json.dumps(state),
                connection.ops.adapt_datetimefield_value(timezone.now()),
                rule_id,
            ],
        )


@transaction.atomic
def opening_hours_set(*, hours, by):
    """Replace the opening hours: {weekday: (opens, closes)}; a weekday left out is closed."""
    for weekday, (opens, closes) in hours.items():
        if not opens < closes:
            raise InvalidRule(
                "hours", f"{OpeningHours.Weekday(weekday).label} must close after it opens."
            )
    before = {row.weekday: (row.opens, row.closes) for row in OpeningHours.objects.all()}
    OpeningHours.objects.all().delete()
    OpeningHours.objects.bulk_create(
        OpeningHours(weekday=weekday, opens=opens, closes=closes)
        for weekday, (opens, closes) in sorted(hours.items())
    )
    audit_record(
        by=by,
        action=AuditEntry.Action.HOURS_CHANGED,
        target_type="openinghours",
        target_label="Opening hours",
        changes={
            OpeningHours.Weekday(weekday).label: (
                _hours(before.get(weekday)),
                _hours(hours.get(weekday)),
            )
            for weekday in OpeningHours.Weekday.values
        },
    )
    transaction.on_commit(lambda: cache.delete(OPENING_HOURS_KEY))
    logger.info("opening hours changed by %s", by)
