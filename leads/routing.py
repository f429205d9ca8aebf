"""Routing of leads: gather the facts `routing.engine` decides from, apply its decisions through
the lead services, keep first responses on time (warn the owner, rotate a missed lead, alert a
manager), and let people claim pool leads and managers reassign.

Locks, always in this order: the lead row (rotation, claim, reassignment), the cursor rows of
the matching rules (sorted by rule), then the chosen person's staff row — and a decision that
already holds one person's row never waits for another's. A decision on a new lead, a
rotation and a claim can therefore never wait on each other crosswise.
"""

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db import connection, transaction
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import (
    LEAD_OWNER_ROLES,
    AuditEntry,
    Role,
    StaffProfile,
    Team,
    lead_owner_refusal,
    person_name,
)
from dealercrm.services import audit_record, notification_send
from leads.errors import NoReassignReason, OverCapacity
from leads.models import OPEN_STATUSES, Lead, LeadEvent, LeadSource, LeadStatus
from leads.permissions import get_lead_for_user_or_404
from leads.services import lead_assign
from routing.engine import (
    ASSIGNED,
    DEFAULT_MAX_ROTATIONS,
    DEFAULT_SLA_MINUTES,
    POOL,
    Decision,
    LeadFacts,
    Person,
    decide,
    people_needed,
    rules_matching,
)
from routing.hours import business_deadline
from routing.models import ROTATING_STRATEGIES, Strategy
from routing.selectors import cursor_states, opening_hours, rules_for_decision
from routing.services import cursor_save

SLA_JOB = "routing:first-response"
# The owner hears this long before the first response is due (the sweep runs every minute).
FIRST_RESPONSE_WARNING = timedelta(minutes=2)
# Rules take leads from team members who work leads; managers only when a rule names them.
TEAM_MEMBER_ROLES = (Role.SALESPERSON, Role.BDC_AGENT)
MANAGER_ROLES = (Role.BDC_MANAGER, Role.SALES_MANAGER)


class Kind:
    ROUTED = "routed"  # a new lead
    ROTATED = "rotated"  # its first response was missed; the next candidate gets it
    TO_POOL = "to_pool"  # missed too often, or nobody left: the pool and a manager
    CLAIMED = "claimed"  # somebody took it from the pool
    REASSIGNED = "reassigned"  # a manager moved it
    RESURFACED = "resurfaced"  # the customer came back and its owner had left (or it was pooled)


@dataclass(frozen=True)
class Routing:
    """A decision as applied to a lead: who gets it, why, and when the first response is due."""

    decision: Decision
    kind: str
    at: datetime
    due_at: datetime | None
    rotation: int = 0
    owner: object = None  # the owner as a User, when the decision read it

    @property
    def owner_id(self):
        return self.decision.owner_id

    @property
    def explanation(self):
        return self.decision.explanation

    def snapshot(self):
        """The decision as the lead and its history keep it (JSON)."""
        return {
            "kind": self.kind,
            "at": self.at.isoformat(),
            **decision_json(self.decision),
            "rotation": self.rotation,
            "due_at": self.due_at.isoformat() if self.due_at else None,
        }

    def lead_fields(self):
        """The Lead fields this routing sets (its owner is set by the caller)."""
        fields = {
            "routing": self.snapshot(),
            "first_response_due_at": self.due_at,
            "first_response_warned_at": None,
        }
        team_id = self.decision.team_id
        if team_id is not None:
            team = _teams().get(team_id)
            if team is not None:
                fields["team"] = team
            else:  # a team made in the last minute is not in the cache yet
                fields["team_id"] = team_id
        return fields


# Teams change a few times a year and every routed lead shows its team: kept in the cache, the
# lead needs no query for it; a renamed team shows its new name within a minute.
TEAMS_CACHE_SECONDS = 60


def _teams():
    return cache.get_or_set("leads:teams", lambda: Team.objects.in_bulk(), TEAMS_CACHE_SECONDS)


def decision_json(decision):
    """What a decision says, as JSON: stored with the lead (Routing.snapshot) and answered by a
    preview."""
    return {
        "outcome": decision.outcome,
        "rule": {"id": decision.rule_id, "name": decision.rule_name} if decision.rule_id else None,
        "strategy": decision.strategy,
        "explanation": decision.explanation,
        "candidates": [candidate.as_dict() for candidate in decision.candidates],
        "trail": list(decision.trail),
        "sla_minutes": decision.sla_minutes,
        "max_rotations": decision.max_rotations,
        "manager_id": decision.manager_id,
    }


def first_response_due(at, minutes):
    """`minutes` of opening hours after `at`."""
    return business_deadline(at, minutes, opening_hours(), timezone.get_current_timezone())


# --- facts -------------------------------------------------------------------------------------


def _people(ids, team_ids, lock=False):
    """{user id: Person} for the users `ids` and the lead-working people of `team_ids`, each
    with their open leads counted through the (owner, status) index: the cost follows the
    people and their open leads, never the size of the lead table.

    SQL written out, in one statement: every intake runs it, and the ORM takes longer to build
    it than the database takes to answer. With `lock` the rows are locked first (a count taken
    while waiting for a lock would be stale)."""
    staff = _table(StaffProfile)
    where, params = _who(ids, team_ids)
    with connection.cursor() as cursor:
        if lock and connection.features.has_select_for_update:
            cursor.execute(
                f"SELECT user_id FROM {staff} WHERE {where} ORDER BY user_id FOR UPDATE", params
            )
        cursor.execute(
            f"SELECT s.user_id, u.first_name, u.last_name, u.username, u.is_active, s.team_id,"
            f" s.role, s.active, s.on_shift, s.capacity, s.response_seconds,"
            f" ({_open_leads_sql('s.user_id')})"
            f" FROM {staff} s JOIN {_table(get_user_model())} u ON u.id = s.user_id"
            f" WHERE {where}",
            [*_OPEN, *params],
        )
        rows = cursor.fetchall()
    people = {}
    for (pid, first, last, username, user_active, team_id, role, active, on_shift, capacity,
         speed, open_count) in rows:  # fmt: skip
        people[pid] = Person(
            id=pid,
            name=f"{first} {last}".strip() or username,
            team_id=team_id,
            can_own_leads=role in LEAD_OWNER_ROLES,
            team_member=role in TEAM_MEMBER_ROLES,
            active=bool(active and user_active),
            on_shift=bool(on_shift),
            capacity=capacity,
            open_leads=open_count,
            response_seconds=speed,
        )
    return people


def _table(model):
    return connection.ops.quote_name(model._meta.db_table)


_OPEN = sorted(OPEN_STATUSES)


def _open_leads_sql(owner):
    """The count of the open leads of `owner` (an SQL expression), through the (owner, status)
    index; its parameters are _OPEN."""
    marks = ", ".join(["%s"] * len(_OPEN))
    return f"SELECT COUNT(*) FROM {_table(Lead)} WHERE owner_id = {owner} AND status IN ({marks})"


def _who(ids, team_ids):
    """The WHERE clause choosing the staff rows of `ids` and the members of `team_ids`."""
    clauses, params = [], []
    if ids:
        clauses.append(f"user_id IN ({', '.join(['%s'] * len(ids))})")
        params += sorted(ids)
    if team_ids:
        clauses.append(
            f"(team_id IN ({', '.join(['%s'] * len(team_ids))})"
            f" AND role IN ({', '.join(['%s'] * len(TEAM_MEMBER_ROLES))}))"
        )
        params += [*sorted(team_ids), *TEAM_MEMBER_ROLES]
    return " OR ".join(clauses) or "1 = 0", params


def _previous_owner(customer_id, lead_id=None):
    """The salesperson of the customer's latest lead that had one."""
    leads = Lead.objects.filter(customer_id=customer_id, owner__isnull=False)
    if lead_id is not None:
        leads = leads.exclude(pk=lead_id)
    return leads.order_by("-created_at", "-id").values_list("owner_id", flat=True).first()


def _open_leads_locked(person_id, wait=True):
    """Lock the person's staff row, then count their open leads: a count no parallel decision
    can change before this transaction ends. Returns (open leads, the person as a User, read
    with the lock so that the lead created for them needs no query to show its owner), or
    None when `wait` is off and another transaction holds the row. SQL written out, like
    _people."""
    user_model = get_user_model()
    lock = ""
    if connection.features.has_select_for_update:
        lock = " FOR UPDATE OF s" + ("" if wait else " SKIP LOCKED")
    users = list(
        user_model.objects.raw(
            f"SELECT u.* FROM {_table(user_model)} u JOIN {_table(StaffProfile)} s"
            f" ON s.user_id = u.id WHERE s.user_id = %s{lock}",
            [person_id],
        )
    )
    if not users:
        return None
    with connection.cursor() as cursor:
        cursor.execute(_open_leads_sql("%s"), [person_id, *_OPEN])
        return cursor.fetchone()[0], users[0]


def routing_decide(facts, *, customer_id=None, lead_id=None, exclude=frozenset(), rule_ids=None,
                   apply=True):  # fmt: skip
    """Decide who gets a lead described by `facts` (routing.engine.LeadFacts). Returns the
    decision and, when it is binding and chose someone by its strategy, that person as a User.

    With `apply` the decision is binding: the cursor rows of the rules it can reach are locked
    (a rotating rule's advanced), and the chosen person's staff row is locked and their load
    recounted, so that parallel decisions neither skip a turn nor push anyone over capacity.
    Without it (preview) nothing is locked or written. `rule_ids` decides with that rule set
    instead of the active rules.
    """
    rules = rules_for_decision(rule_ids)
    matching = rules_matching(rules, facts)
    ids, teams = people_needed(matching)
    if (
        customer_id is not None
        and facts.known_customer
        and any(rule.strategy == Strategy.PREVIOUS_OWNER for rule in matching)
    ):
        facts = replace(facts, previous_owner_id=_previous_owner(customer_id, lead_id))
    if facts.previous_owner_id:
        ids.add(facts.previous_owner_id)
    # Decisions on the same rules take turns (their cursor rows, locked before the loads are
    # read), so that their loads and rotations are exact; pool rules choose nobody.
    deciding = [rule.id for rule in matching if rule.strategy != Strategy.POOL]
    cursors = cursor_states(deciding, lock=apply)
    people = _people(ids, teams) if ids or teams else {}
    decision = decide(facts, rules, people, cursors, exclude)
    owner = None
    held = False
    while apply and _chosen_by_strategy(decision):
        # A decision on another rule, a claim or a reassignment may have filled the chosen
        # person since their load was read: recount under their lock. A second person is only
        # locked if free at once, so that two decisions each holding one person never wait on
        # each other.
        chosen = people[decision.owner_id]
        locked = _open_leads_locked(chosen.id, wait=not held)
        held = True
        if locked is None:
            people[chosen.id] = replace(chosen, busy=True)
        elif locked[0] < chosen.capacity:
            owner = locked[1]
            break
        else:
            people[chosen.id] = replace(chosen, open_leads=locked[0])
        decision = decide(facts, rules, people, cursors, exclude)
    if apply and decision.cursor_state is not None:
        cursor_save(rule_id=decision.rule_id, state=decision.cursor_state)
    return decision, owner


def _chosen_by_strategy(decision):
    return decision.outcome == ASSIGNED and any(
        candidate.id == decision.owner_id and not candidate.skipped
        for candidate in decision.candidates
    )


def facts_for_new_lead(fields, *, source, team_name, known_customer, at):
    """LeadFacts of a lead about to be created from intake's `fields`."""
    return LeadFacts(
        local_time=timezone.localtime(at),
        source=source,
        channel=fields.get("channel", ""),
        score=fields.get("score", 0),
        vehicle_condition=fields.get("vehicle_condition", ""),
        make=fields.get("vehicle_make", ""),
        known_customer=known_customer,
        team_id=fields.get("team_id"),
        team_name=team_name,
    )


def facts_for_lead(lead, at):
    """LeadFacts of an existing lead (team loaded), as it would be routed at `at`."""
    return LeadFacts(
        local_time=timezone.localtime(at),
        source=lead.source,
        channel=lead.channel,
        score=lead.score,
        vehicle_condition=lead.vehicle_condition,
        make=lead.vehicle_make,
        # A customer created with the lead was new to the dealership then.
        known_customer=lead.customer.created_at < lead.created_at,
        team_id=lead.team_id,
        team_name=lead.team.name if lead.team_id else "",
    )


def routing_for_new_lead(fields, *, source, team_name, customer_id, known_customer, at):
    """Decide, binding, who gets a lead intake is about to create; the result goes to
    `lead_create(routing=...)`."""
    facts = facts_for_new_lead(
        fields, source=source, team_name=team_name, known_customer=known_customer, at=at
    )
    decision, owner = routing_decide(facts, customer_id=customer_id)
    return replace(_routing(decision, Kind.ROUTED, at), owner=owner)


def routing_for_recycled_lead(*, customer_id, at, why, channel=Lead.Channel.RECYCLE):
    """A binding decision for a lead the CRM makes for a returning customer (a life-cycle date
    came up, a service visit in an old car): their previous salesperson when that person still
    takes leads — whatever their shift or load, the customer is theirs — otherwise the rules, as
    for a lead from source and channel `channel`. `why` opens the explanation. No first-response
    deadline: the owner gets a task for the day instead."""
    previous_id = _previous_owner(customer_id)
    owner = None
    if previous_id is not None:
        owner = get_user_model().objects.select_related("staff").filter(pk=previous_id).first()
        if owner is not None and lead_owner_refusal(owner, getattr(owner, "staff", None)):
            owner = None
    if owner is not None:
        decision = Decision(
            outcome=ASSIGNED,
            owner_id=owner.pk,
            owner_name=person_name(owner),
            team_id=owner.staff.team_id,
            explanation=f"{why}: back to {person_name(owner)}, the customer's salesperson",
        )
    else:
        facts = LeadFacts(
            local_time=timezone.localtime(at),
            source=channel,
            channel=channel,
            known_customer=True,
            previous_owner_id=previous_id,
        )
        decision, owner = routing_decide(facts, customer_id=customer_id)
        if decision.owner_id is not None and owner is None:
            owner = get_user_model().objects.select_related("staff").get(pk=decision.owner_id)
        decision = replace(decision, explanation=f"{why}: {decision.explanation}")
    return replace(_routing(decision, Kind.ROUTED, at), due_at=None, owner=owner)


def _routing(decision, kind, at, rotation=0):
    return Routing(
        decision=decision,
        kind=kind,
        at=at,
        due_at=first_response_due(at, decision.sla_minutes),
        rotation=rotation,
    )


def routings_for_new_leads(fields_list, *, sources, team_names, at):
    """Binding decisions for many new leads of new customers at once (an import), in order.

    Everyone the rules may choose is locked and counted once; each decision then counts the
    leads given before it, and the cursors advance in memory and are saved at the end, so the
    turns are as fair as for leads arriving one by one.
    """
    rules = rules_for_decision()
    all_facts = [
        facts_for_new_lead(fields, source=source, team_name=team_name, known_customer=False, at=at)
        for fields, source, team_name in zip(fields_list, sources, team_names, strict=True)
    ]
    matching = {rule.id: rule for facts in all_facts for rule in rules_matching(rules, facts)}
    deciding = [rid for rid, rule in matching.items() if rule.strategy != Strategy.POOL]
    cursors = cursor_states(deciding, lock=True)
    ids, teams = people_needed(matching.values())
    people = _people(ids, teams, lock=True) if ids or teams else {}
    routings = []
    for facts in all_facts:
        decision = decide(facts, rules, people, cursors)
        if decision.owner_id is not None:
            person = people[decision.owner_id]
            people[person.id] = replace(person, open_leads=person.open_leads + 1)
        if decision.cursor_state is not None:
            cursors[decision.rule_id] = decision.cursor_state
        routings.append(_routing(decision, Kind.ROUTED, at))
    for rule_id in deciding:
        if matching[rule_id].strategy in ROTATING_STRATEGIES:
            cursor_save(rule_id=rule_id, state=cursors.get(rule_id, {}))
    return routings


# --- first-response SLA ------------------------------------------------------------------------


def _awaiting_first_response():
    return Lead.objects.filter(status=LeadStatus.NEW, first_contacted_at__isnull=True)


def leads_due_for_warning(now, limit):
    """Ids of assigned leads whose first response falls due within the warning time and whose
    owner has not been warned, soonest first (the partial deadline index)."""
    return list(
        _awaiting_first_response()
        .filter(
            first_response_due_at__gt=now,
            first_response_due_at__lte=now + FIRST_RESPONSE_WARNING,
            first_response_warned_at__isnull=True,
            owner__isnull=False,
        )
        .order_by("first_response_due_at")
        .values_list("pk", flat=True)[:limit]
    )


def leads_missing_first_response(now, limit):
    """Ids of leads whose first response is overdue, oldest deadline first."""
    return list(
        _awaiting_first_response()
        .filter(first_response_due_at__lte=now)
        .order_by("first_response_due_at")
        .values_list("pk", flat=True)[:limit]
    )


def _minutes(delta):
    minutes = max(1, round(delta.total_seconds() / 60))
    return f"{minutes} min" if minutes < 90 else f"{minutes / 60:.1f} h"


def _still_due(lead, now):
    return (
        lead.status == LeadStatus.NEW
        and lead.first_contacted_at is None
        and lead.first_response_due_at is not None
    ) and lead.first_response_due_at <= now


@transaction.atomic
def lead_first_response_warn(lead_id, now):
    """Tell the owner the first response is due soon, once. Returns whether it did; a lead
    contacted, rotated or warned meanwhile is left alone (so two sweeps warn once)."""
    lead = Lead.objects.select_for_update(of=("self",)).select_related("customer").get(pk=lead_id)
    due = lead.first_response_due_at
    if (
        lead.owner_id is None
        or lead.first_response_warned_at is not None
        or lead.status != LeadStatus.NEW
        or lead.first_contacted_at is not None
        or due is None
        or not now < due <= now + FIRST_RESPONSE_WARNING
    ):
        return False
    Lead.objects.filter(pk=lead.pk).update(first_response_warned_at=now)
    notification_send(
        recipient_id=lead.owner_id,
        kind="first_response_due",
        message=f"Call {lead.customer} now: the first response is due at "
        f"{timezone.localtime(due):%H:%M}, then the lead goes to the next person.",
        url=reverse("leads:detail", args=[lead.pk]),
        at=now,
    )
    return True


@transaction.atomic
def lead_first_response_missed(lead_id, now):
    """The first response was not made in time: rotate the lead to the next candidate of its
    rule (never back to anyone who missed it), or — after the rule's number of rotations, or
    with nobody left — put it in the pool; either way tell the managers. A pool lead nobody
    claimed in time only alerts the managers. Returns what happened ("rotated", "to_pool",
    "alerted"), or None when the lead no longer needs it (contacted, or handled by a parallel
    sweep)."""
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("customer", "owner", "team")
        .get(pk=lead_id)
    )
    if not _still_due(lead, now):
        return None
    late = _minutes(now - lead.first_response_due_at)
    previous = lead.routing or {}
    rotation = previous.get("rotation", 0)
    url = reverse("leads:detail", args=[lead.pk])
    if lead.owner_id is None:
        Lead.objects.filter(pk=lead.pk).update(first_response_due_at=None)
        LeadEvent.objects.create(
            lead=lead,
            kind=LeadEvent.Kind.RESPONSE_MISSED,
            at=now,
            actor_label=SLA_JOB,
            note=f"First response missed by {late}: nobody claimed the lead from the pool.",
        )
        _alert_managers(lead, previous, f"Nobody claimed {lead.customer} from the pool: "
                        f"first response missed by {late}.", url, now)  # fmt: skip
        return "alerted"
    missed_by = lead.owner
    exclude = _owners_so_far(lead)
    decision = None
    if rotation < previous.get("max_rotations", DEFAULT_MAX_ROTATIONS):
        decision, _ = routing_decide(
            facts_for_lead(lead, now),
            customer_id=lead.customer_id,
            lead_id=lead.pk,
            exclude=exclude,
        )
        if decision.owner_id is None:
            decision = None
    if decision is not None:
        new_owner = get_user_model().objects.select_related("staff").get(pk=decision.owner_id)
        note = (
            f"First response missed by {late} ({person_name(missed_by)}); rotated to the next "
            f"candidate, {person_name(new_owner)}. {decision.explanation}."
        )
        routing = _routing(replace(decision, explanation=note), Kind.ROTATED, now, rotation + 1)
        lead_assign(lead=lead, owner=new_owner, by=SLA_JOB, at=now, routing=routing)
        notification_send(
            recipient=new_owner,
            kind="assigned",
            message=f"{lead.customer} is yours: {person_name(missed_by)} missed the first "
            f"response. Call by {timezone.localtime(routing.due_at):%H:%M}.",
            url=url,
            at=now,
        )
        _alert_managers(lead, previous, note, url, now)
        return "rotated"
    team_name = lead.team.name if lead.team_id else "general"
    note = (
        f"First response missed by {late} ({person_name(missed_by)}); after {rotation} "
        f"rotation{'s' if rotation != 1 else ''} the lead waits in the {team_name} pool "
        "and the managers are told."
    )
    pool = Decision(
        outcome=POOL,
        explanation=note,
        team_id=lead.team_id,
        rule_id=(previous.get("rule") or {}).get("id"),
        rule_name=(previous.get("rule") or {}).get("name", ""),
        strategy=previous.get("strategy", ""),
        sla_minutes=previous.get("sla_minutes", DEFAULT_SLA_MINUTES),
        max_rotations=previous.get("max_rotations", DEFAULT_MAX_ROTATIONS),
        manager_id=previous.get("manager_id"),
    )
    routing = replace(_routing(pool, Kind.TO_POOL, now, rotation), due_at=None)
    lead_assign(lead=lead, owner=None, by=SLA_JOB, at=now, routing=routing)
    _alert_managers(lead, previous, note, url, now)
    return "to_pool"


def _owners_so_far(lead):
    """Everyone who has had the lead: a rotation never hands it back to someone who missed."""
    owners = set(
        LeadEvent.objects.filter(
            lead=lead, kind=LeadEvent.Kind.ASSIGNED, to_owner__isnull=False
        ).values_list("to_owner_id", flat=True)
    )
    if lead.owner_id:
        owners.add(lead.owner_id)
    return frozenset(owners)


def lead_managers(lead):
    """Who hears of a lead nobody holds: see `_managers`."""
    return _managers(lead, lead.routing or {})


def _managers(lead, previous):
    """Who hears of a missed first response: the rule's named manager, else the sales and BDC
    managers of the lead's team, else every sales and BDC manager."""
    if previous.get("manager_id"):
        return [previous["manager_id"]]
    managers = StaffProfile.objects.filter(
        active=True, user__is_active=True, role__in=MANAGER_ROLES
    ).values_list("user_id", "team_id")
    managers = list(managers)
    of_team = [uid for uid, team_id in managers if team_id and team_id == lead.team_id]
    return of_team or [uid for uid, _ in managers]


def _alert_managers(lead, previous, message, url, now):
    for manager_id in _managers(lead, previous):
        notification_send(
            recipient_id=manager_id,
            kind="first_response_missed",
            message=message,
            url=url,
            at=now,
        )


# --- people and managers -----------------------------------------------------------------------


def _taken_over(lead, decision, kind, at):
    """A routing for a lead someone took over: its first response, if still owed, is due by
    the rule's SLA from now."""
    previous = lead.routing or {}
    awaiting = lead.status == LeadStatus.NEW and lead.first_contacted_at is None
    sla = previous.get("sla_minutes", DEFAULT_SLA_MINUTES)
    decision = replace(
        decision,
        sla_minutes=sla,
        max_rotations=previous.get("max_rotations", DEFAULT_MAX_ROTATIONS),
        manager_id=previous.get("manager_id"),
    )
    return Routing(
        decision=decision,
        kind=kind,
        at=at,
        due_at=first_response_due(at, sla) if awaiting else lead.first_response_due_at,
        rotation=previous.get("rotation", 0),
    )


@transaction.atomic
def lead_claim(*, lead, by, at=None):
    """`by` takes a lead from the pool. Atomic: of two people claiming at once, one gets it and
    the other hears who did (LeadAlreadyClaimed). Raises OverCapacity for someone already at
    their capacity."""
    at = at or timezone.now()
    profile = getattr(by, "staff", None)
    capacity = profile.capacity if profile else 0
    lead = Lead.objects.select_for_update(of=("self",)).select_related("team").get(pk=lead.pk)
    open_now, _ = _open_leads_locked(by.pk) or (capacity, None)
    if open_now >= capacity:
        raise OverCapacity(
            f"You hold {open_now} of {capacity} open leads; close some before claiming more."
        )
    pool = f"the {lead.team.name} pool" if lead.team_id else "the pool"
    decision = Decision(
        outcome=ASSIGNED,
        owner_id=by.pk,
        team_id=getattr(profile, "team_id", None),
        explanation=f"Claimed from {pool} by {person_name(by)}",
        rule_id=((lead.routing or {}).get("rule") or {}).get("id"),
        rule_name=((lead.routing or {}).get("rule") or {}).get("name", ""),
        strategy=Strategy.POOL,
    )
    routing = _taken_over(lead, decision, Kind.CLAIMED, at)
    return lead_assign(lead=lead, owner=by, by=by, at=at, routing=routing, only_from_pool=True)


@transaction.atomic
def lead_reassign(*, lead, owner, by, reason, at=None):
    """A manager moves a lead to `owner` (None: back to the pool), saying why. The new owner
    hears of it; capacity is the manager's call, and the explanation says when it is
    exceeded. The move goes to the audit log. Raises NoReassignReason without a reason."""
    reason = (reason or "").strip()
    if not reason:
        raise NoReassignReason("Say why the lead is reassigned; the history keeps it.")
    at = at or timezone.now()
    lead = Lead.objects.select_for_update(of=("self",)).select_related("owner").get(pk=lead.pk)
    before = person_name(lead.owner) if lead.owner_id else "the pool"
    after = person_name(owner) if owner else "the pool"
    explanation = f"Reassigned by {person_name(by)} from {before} to {after}: {reason}"
    if owner is not None:
        open_now, _ = _open_leads_locked(owner.pk) or (0, None)
        capacity = owner.staff.capacity if hasattr(owner, "staff") else 0
        if open_now >= capacity:
            explanation += f" ({person_name(owner)} now holds {open_now + 1} of {capacity})"
    decision = Decision(
        outcome=ASSIGNED if owner else POOL,
        owner_id=owner.pk if owner else None,
        team_id=getattr(getattr(owner, "staff", None), "team_id", None) if owner else None,
        explanation=explanation,
    )
    routing = _taken_over(lead, decision, Kind.REASSIGNED, at)
    previous_owner = lead.owner
    lead = lead_assign(lead=lead, owner=owner, by=by, at=at, routing=routing, note=explanation)
    audit_record(
        by=by,
        action=AuditEntry.Action.LEAD_REASSIGNED,
        target=lead,
        changes={"owner": (previous_owner or "the pool", owner or "the pool")},
        note=reason,
        at=at,
    )
    if owner is not None and owner.pk != by.pk:
        notification_send(
            recipient=owner,
            kind="assigned",
            message=f"{person_name(by)} gave you {lead.customer}: {reason}",
            url=reverse("leads:detail", args=[lead.pk]),
            at=at,
        )
    return lead


@transaction.atomic
def lead_reroute(*, lead, by, why, at):
    """Route an open lead again, as the rules would route it now: its customer came back and
    its owner no longer takes leads, or it waits in a pool. `why` opens the explanation the
    history keeps. Returns the lead as routed (customer, owner and team loaded); it stays with
    nobody when the rules choose nobody."""
    lead = (
        Lead.objects.select_for_update(of=("self",))
        .select_related("team", "customer")
        .get(pk=lead.pk)
    )
    decision, owner = routing_decide(
        facts_for_lead(lead, at), customer_id=lead.customer_id, lead_id=lead.pk
    )
    if decision.owner_id is not None and owner is None:
        owner = get_user_model().objects.select_related("staff").get(pk=decision.owner_id)
    decision = replace(decision, explanation=f"{why} {decision.explanation}.")
    routing = _taken_over(lead, decision, Kind.RESURFACED, at)
    lead_assign(lead=lead, owner=owner, by=by, at=at, routing=routing)
    return Lead.objects.select_related("customer", "owner__staff", "team").get(pk=lead.pk)


def routing_preview_for(user, data):
    """The preview of a real lead (`lead`) or of the typed attributes, with the rule set named
    by `rules` or the active one. Shared by the API and the preview page."""
    rule_ids = data.get("rules") or None
    at = data.get("at") or timezone.now()
    if data.get("lead"):
        lead = get_lead_for_user_or_404(user, data["lead"])
        return routing_preview(
            facts_for_lead(lead, at),
            customer_id=lead.customer_id,
            lead_id=lead.pk,
            rule_ids=rule_ids,
            at=at,
        )
    previous = data.get("previous_owner")
    if previous is not None:
        get_object_or_404(get_user_model(), pk=previous)
    source = data.get("source", "")
    team_id, team_name = LeadSource.objects.filter(key=source, active=True).values_list(
        "team_id", "team__name"
    ).first() or (None, "")
    facts = LeadFacts(
        local_time=timezone.localtime(at),
        team_id=team_id,
        team_name=team_name or "",
        source=source,
        channel=data.get("channel", ""),
        score=data.get("score", 0),
        vehicle_condition=data.get("vehicle_condition", ""),
        make=data.get("make", ""),
        known_customer=data.get("known_customer", previous is not None),
        previous_owner_id=previous,
    )
    return routing_preview(facts, rule_ids=rule_ids, at=at)


def routing_preview(facts, *, customer_id=None, lead_id=None, rule_ids=None, at=None):
    """Who would get a lead like `facts` now, and why, without locking or writing anything.
    Returns (decision, first-response due time)."""
    at = at or timezone.now()
    decision, _ = routing_decide(
        facts, customer_id=customer_id, lead_id=lead_id, rule_ids=rule_ids, apply=False
    )
    return decision, first_response_due(at, decision.sla_minutes)
