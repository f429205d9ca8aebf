"""Reads of the rule set: for decisions (as routing.engine facts) and for the manager's pages."""

import json

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection
from django.db.models import Prefetch, Q

from dealercrm.models import LEAD_OWNER_ROLES, Team
from routing.conditions import Conditions
from routing.engine import Rule
from routing.models import OpeningHours, RoutingCursor, RoutingRule

# The active rules as engine facts, kept in this process with the version they were read at.
# Every intake decides with them, and building them costs two ORM queries and a few
# milliseconds; a version check is one small statement.
_active_rules = {"version": None, "rules": []}


def rules_for_decision(rule_ids=None):
    """The active rules in priority order as engine facts; with `rule_ids`, exactly those
    rules, active or not (a draft rule set for preview and replay), read afresh.

    The active set is read again only when the rule table changed since this process last
    read it (see _rules_version), so a change made by any app server applies to the next
    decision everywhere."""
    if rule_ids is not None:
        return _rules_read(RoutingRule.objects.filter(pk__in=rule_ids))
    version = _rules_version()
    if _active_rules["version"] != version:
        _active_rules["rules"] = _rules_read(RoutingRule.objects.filter(active=True))
        _active_rules["version"] = version
    return _active_rules["rules"]


def _rules_version():
    """What changes whenever a rule is created, changed, reordered or deleted: every write
    goes through routing.services, which sets `updated_at` (a deletion changes the count)."""
    table = connection.ops.quote_name(RoutingRule._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*), MAX(updated_at) FROM {table}")
        return tuple(cursor.fetchone())


def _rules_read(rules):
    rules = rules.select_related("team").prefetch_related(
        Prefetch("members", to_attr="member_list")
    )
    return [rule_facts(rule) for rule in rules.order_by("priority", "id")]


def rule_facts(rule):
    """A RoutingRule as the engine sees it (members prefetched into `member_list`)."""
    members = getattr(rule, "member_list", None)
    if members is None:
        members = list(rule.members.all())
    return Rule(
        id=rule.pk,
        name=rule.name,
        strategy=rule.strategy,
        conditions=Conditions.from_dict(rule.conditions),
        member_ids=tuple(sorted(user.pk for user in members)),
        team_id=rule.team_id,
        team_name=rule.team.name if rule.team_id else "",
        weights={int(pid): weight for pid, weight in rule.weights.items()},
        sla_minutes=rule.sla_minutes,
        max_rotations=rule.max_rotations,
        fallback=rule.fallback,
        fallback_manager_id=rule.fallback_manager_id,
        stop=rule.stop,
    )


OPENING_HOURS_KEY = "routing:opening-hours"
# Every routed lead needs the opening hours and they change a few times a year: cached, they
# cost no query per lead; a change reaches every app server within this many seconds.
OPENING_HOURS_CACHE_SECONDS = 60


def opening_hours():
    """{weekday: (opens, closes)} in the dealership's time zone; closed days are absent."""
    return cache.get_or_set(
        OPENING_HOURS_KEY,
        lambda: {
            weekday: (opens, closes)
            for weekday, opens, closes in OpeningHours.objects.values_list(
                "weekday", "opens", "closes"
            )
        },
        OPENING_HOURS_CACHE_SECONDS,
    )


def cursor_states(rule_ids, *, lock):
    """The rotation credits of `rule_ids`. With `lock` their rows stay locked until the
    transaction ends, taken in rule id order so that two decisions never wait on each other
    crosswise; without it (preview) nothing is locked. SQL written out: every intake runs it
    (see _rules_version)."""
    if not rule_ids:
        return {}
    table = connection.ops.quote_name(RoutingCursor._meta.db_table)
    lock = " FOR UPDATE" if lock and connection.features.has_select_for_update else ""
    marks = ", ".join(["%s"] * len(rule_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rule_id, state FROM {table} WHERE rule_id IN ({marks}) ORDER BY rule_id{lock}",
            sorted(rule_ids),
        )
        return {
            rule_id: state if isinstance(state, dict) else json.loads(state)
            for rule_id, state in cursor.fetchall()
        }


def rules_for_page():
    """Every rule in order with what the rule list shows: team, manager, members."""
    return (
        RoutingRule.objects.select_related("team", "fallback_manager")
        .prefetch_related(Prefetch("members", to_attr="member_list"))
        .order_by("priority", "id")
    )


def rule_for_page(pk):
    """One rule with what its pages and API answer show; raises RoutingRule.DoesNotExist."""
    return rules_for_page().get(pk=pk)


def staff_for_rule_choices(keep_ids=()):
    """The people a rule may name (members, fallback manager): active sales and BDC staff, by
    name; plus `keep_ids`, the rule's current people even if they have left, so that a form
    shows them and the service explains why they no longer fit instead of dropping them."""
    User = get_user_model()
    return (
        User.objects.filter(
            Q(staff__role__in=LEAD_OWNER_ROLES, staff__active=True, is_active=True)
            | Q(pk__in=list(keep_ids))
        )
        .select_related("staff")
        .order_by("first_name", "last_name", "username")
    )


def teams_for_rule_choices(keep_id=None):
    """The teams a rule may hand leads to: active sales and BDC teams, plus the rule's own."""
    return Team.objects.filter(
        Q(active=True, kind__in=[Team.Kind.SALES, Team.Kind.BDC]) | Q(pk=keep_id)
    ).order_by("name")


def rule_choices():
    """Every rule in order as (id, label) for picking a draft rule set, inactive ones marked,
    and the ids of the active ones (one query)."""
    rows = RoutingRule.objects.order_by("priority", "id").values_list("pk", "name", "active")
    choices, active = [], []
    for pk, name, is_active in rows:
        choices.append((pk, name if is_active else f"{name} (inactive)"))
        if is_active:
            active.append(pk)
    return choices, active
