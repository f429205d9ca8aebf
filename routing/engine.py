"""The routing decision: plain facts in, a decision and the sentence that explains it out.

Pure: no database, no clock, no `leads`. The caller (`leads.routing`) gathers the facts — the
lead's attributes, the rules, the people with their open leads, capacity and response speed,
the customer's previous salesperson, each rotating rule's cursor — and applies the decision.

Rules run in priority order. A rule whose conditions do not hold is skipped. A rule that holds
applies its strategy to its available members: active, on shift, under capacity, and not among
the people who already missed this lead's first response. When it finds nobody, its fallback
decides: the next rule, its team's pool, or a named manager; a rule with `stop` never passes a
lead on. A lead no rule takes waits in the pool of its source's team.

Round robin, weighted split and fastest responder all take turns by the smooth weighted
rotation (the one nginx uses): each turn every available person gains their weight in credit,
the one with the most credit gets the lead and pays the total back. Equal weights make a strict
round robin; weights 1 and 3 give one lead in four and three in four, spread evenly, not in
runs. The credits are the rule's cursor, which the caller locks while it decides.
"""

from dataclasses import dataclass, field
from datetime import datetime
from statistics import median

from routing.conditions import Conditions
from routing.models import ROTATING_STRATEGIES, Fallback, Strategy

ASSIGNED = "assigned"
POOL = "pool"

# Fastest responder: a median faster than this earns no more leads; the slowest person keeps
# at least this share of the fastest one's weight, so that they still get some leads.
FAST_ENOUGH_SECONDS = 60
SLOWEST_SHARE = 0.1
DEFAULT_SLA_MINUTES = 5
DEFAULT_MAX_ROTATIONS = 2
# How many people an explanation names before it says "and N more".
NAMED_IN_EXPLANATION = 5
MISSED = "missed its first response"


@dataclass(frozen=True)
class LeadFacts:
    local_time: datetime  # when the lead is routed, in the dealership's time zone
    source: str = ""
    channel: str = ""
    score: int = 0
    vehicle_condition: str = ""
    make: str = ""
    known_customer: bool = False
    previous_owner_id: int | None = None  # the customer's last salesperson on any lead
    team_id: int | None = None  # the pool it waits in when no rule takes it
    team_name: str = ""


@dataclass(frozen=True)
class Person:
    id: int
    name: str
    team_id: int | None = None
    can_own_leads: bool = True  # a sales or BDC role
    active: bool = True
    on_shift: bool = True
    capacity: int = 25
    open_leads: int = 0
    response_seconds: float | None = None  # median first response, trailing 30 days
    busy: bool = False  # another decision holds them at this very moment
    team_member: bool = True  # takes the leads of rules naming their team (not managers)


@dataclass(frozen=True)
class Rule:
    id: int
    name: str
    strategy: str
    conditions: Conditions = field(default_factory=Conditions)
    member_ids: tuple = ()  # when empty: the team's people
    team_id: int | None = None
    team_name: str = ""
    weights: dict = field(default_factory=dict)  # {person id: weight}
    sla_minutes: int = DEFAULT_SLA_MINUTES
    max_rotations: int = DEFAULT_MAX_ROTATIONS
    fallback: str = Fallback.NEXT_RULE
    fallback_manager_id: int | None = None
    stop: bool = False


@dataclass(frozen=True)
class Candidate:
    """One person a rule considered, with the figures it looked at."""

    id: int
    name: str
    open_leads: int
    capacity: int
    response_seconds: float | None = None
    weight: float | None = None
    skipped: str = ""  # why they could not take the lead; "" when they could

    def as_dict(self):
        return {
            "id": self.id,
            "name": self.name,
            "open_leads": self.open_leads,
            "capacity": self.capacity,
            "response_seconds": self.response_seconds,
            "weight": self.weight,
            "skipped": self.skipped,
        }


@dataclass(frozen=True)
class Decision:
    outcome: str  # ASSIGNED or POOL
    explanation: str
    owner_id: int | None = None
    owner_name: str = ""
    team_id: int | None = None  # the pool, for POOL
    rule_id: int | None = None
    rule_name: str = ""
    strategy: str = ""
    sla_minutes: int = DEFAULT_SLA_MINUTES
    max_rotations: int = DEFAULT_MAX_ROTATIONS
    manager_id: int | None = None  # the rule's named manager: hears of missed first responses
    candidates: tuple = ()
    cursor_state: dict | None = None  # the rule's new rotation credits, for the caller to save
    trail: tuple = ()  # the rules passed over before, and why (for preview)


@dataclass(frozen=True)
class _Found:
    owner_id: int | None
    candidates: tuple
    sentence: str  # what the strategy did, or why it found nobody
    cursor_state: dict | None = None


def rules_matching(rules, lead):
    """The rules a decision on `lead` can reach, in order: those whose conditions it meets, up
    to the first that never passes a lead on (a pool, a pool or manager fallback, stop). Their
    people are what the caller must load and their cursors what it must lock; a catch-all rule
    below a final one costs nothing."""
    reachable = []
    for rule in rules:
        if rule.conditions.mismatch(lead) is None:
            reachable.append(rule)
            if _final(rule):
                break
    return reachable


def _final(rule):
    return (
        rule.strategy == Strategy.POOL
        or rule.fallback in (Fallback.POOL, Fallback.MANAGER)
        or rule.stop
    )


def people_needed(rules):
    """(person ids, team ids) whose people the decision over `rules` may look at."""
    ids, teams = set(), set()
    for rule in rules:
        ids.update(rule.member_ids)
        if rule.fallback_manager_id:
            ids.add(rule.fallback_manager_id)
        if rule.team_id and not rule.member_ids:
            teams.add(rule.team_id)
    return ids, teams


def decide(lead, rules, people, cursors=None, exclude=frozenset()):
    """Who gets `lead`, and why.

    `rules` in priority order; `people` {id: Person} holding at least everyone the rules name
    (see people_needed) and the previous owner; `cursors` {rule id: credits}; `exclude` the
    people who may not get it again (they missed its first response).
    """
    cursors = cursors or {}
    trail = []
    matched = False
    for rule in rules:
        mismatch = rule.conditions.mismatch(lead)
        if mismatch:
            trail.append(f"'{rule.name}' skipped: {mismatch}")
            continue
        matched = True
        if rule.strategy == Strategy.POOL:
            return _to_pool(rule, lead, trail, "", f"Rule '{rule.name}' → team pool")
        found = _apply(rule, lead, people, cursors.get(rule.id) or {}, exclude)
        head = f"Rule '{rule.name}' → {Strategy(rule.strategy).label.lower()}: {found.sentence}"
        if found.owner_id is not None:
            return Decision(
                outcome=ASSIGNED,
                owner_id=found.owner_id,
                owner_name=people[found.owner_id].name,
                team_id=people[found.owner_id].team_id,
                explanation=head,
                cursor_state=found.cursor_state,
                trail=tuple(trail),
                **_rule_fields(rule),
                candidates=found.candidates,
            )
        if rule.fallback == Fallback.MANAGER:
            manager = people.get(rule.fallback_manager_id)
            if manager and manager.active and manager.can_own_leads and manager.id not in exclude:
                return Decision(
                    outcome=ASSIGNED,
                    owner_id=manager.id,
                    owner_name=manager.name,
                    team_id=manager.team_id,
                    explanation=f"{head}; to the manager {manager.name} (fallback)",
                    trail=tuple(trail),
                    **_rule_fields(rule),
                    candidates=found.candidates,
                )
        if rule.fallback == Fallback.POOL or rule.stop:
            return _to_pool(rule, lead, trail, found.candidates, head)
        trail.append(f"{head}; next rule")
    reason = "no rule found anyone" if matched else "no rule matched"
    return Decision(
        outcome=POOL,
        team_id=lead.team_id,
        explanation=f"No rule took the lead ({reason}); it waits in the {_pool(lead.team_name)}",
        trail=tuple(trail),
    )


def _rule_fields(rule):
    return {
        "rule_id": rule.id,
        "rule_name": rule.name,
        "strategy": rule.strategy,
        "sla_minutes": rule.sla_minutes,
        "max_rotations": rule.max_rotations,
        "manager_id": rule.fallback_manager_id,
    }


def _pool(team_name):
    return f"{team_name} pool" if team_name else "general pool"


def _to_pool(rule, lead, trail, candidates, head):
    if rule.team_id:
        team_id, where = rule.team_id, _pool(rule.team_name)
    else:
        team_id, where = lead.team_id, _pool(lead.team_name)
    return Decision(
        outcome=POOL,
        team_id=team_id,
        explanation=f"{head}; waits in the {where} for the first to claim it",
        trail=tuple(trail),
        **_rule_fields(rule),
        candidates=tuple(candidates),
    )


def _members(rule, people):
    if rule.member_ids:
        return [people[pid] for pid in rule.member_ids if pid in people]
    return sorted(
        (
            p
            for p in people.values()
            if p.team_member and rule.team_id and p.team_id == rule.team_id
        ),
        key=lambda p: p.id,
    )


def _unavailable(person, exclude):
    """Why `person` cannot take a lead now; "" when they can."""
    if not person.active or not person.can_own_leads:
        return "inactive"
    if person.id in exclude:
        return MISSED
    if not person.on_shift:
        return "off shift"
    if person.open_leads >= person.capacity:
        return f"full ({person.open_leads} of {person.capacity})"
    if person.busy:
        return "busy with another lead"
    return ""


def _candidate(person, exclude, weight=None):
    return Candidate(
        id=person.id,
        name=person.name,
        open_leads=person.open_leads,
        capacity=person.capacity,
        response_seconds=person.response_seconds,
        weight=None if weight is None else round(weight, 3),
        skipped=_unavailable(person, exclude),
    )


def _apply(rule, lead, people, credits, exclude):
    if rule.strategy == Strategy.PREVIOUS_OWNER:
        return _previous_owner(rule, lead, people, exclude)
    members = _members(rule, people)
    if not members:
        return _Found(None, (), "the rule has no members")
    weights = _weights(rule, members)
    candidates = tuple(_candidate(person, exclude, weights.get(person.id)) for person in members)
    available = [c for c in candidates if not c.skipped and (c.weight is None or c.weight > 0)]
    if not available:
        why = _skips(candidates) or "every weight is 0"
        return _Found(None, candidates, f"nobody available ({why})")
    if rule.strategy == Strategy.LEAST_LOADED:
        chosen = min(available, key=lambda c: (c.open_leads / c.capacity, c.open_leads, c.id))
        loads = _listed(f"{c.open_leads} of {c.capacity} open for {c.name}" for c in available)
        sentence = f"{loads}; {chosen.name} chosen"
        state = None
    elif rule.strategy in ROTATING_STRATEGIES:
        chosen, state = _rotate(available, credits)
        sentence = _rotation_sentence(rule, available, chosen)
    else:
        raise ValueError(f"Unknown strategy {rule.strategy!r}")
    skipped = [c for c in candidates if c.skipped]
    if skipped:
        sentence += f" ({_skips(skipped)})"
    return _Found(chosen.id, candidates, sentence, state)


def _previous_owner(rule, lead, people, exclude):
    person = people.get(lead.previous_owner_id)
    if person is None:
        return _Found(None, (), "the customer has no previous salesperson")
    candidate = _candidate(person, exclude)
    if rule.member_ids and person.id not in rule.member_ids:
        return _Found(None, (candidate,), f"{person.name} is not a member of the rule")
    if rule.team_id and not rule.member_ids and person.team_id != rule.team_id:
        return _Found(None, (candidate,), f"{person.name} is no longer in {rule.team_name}")
    if candidate.skipped:
        why = candidate.skipped if candidate.skipped == MISSED else f"is {candidate.skipped}"
        return _Found(None, (candidate,), f"{person.name}, the previous salesperson, {why}")
    return _Found(
        person.id,
        (candidate,),
        f"{person.name} worked with this customer before ({person.open_leads} of "
        f"{person.capacity} open)",
    )


def _weights(rule, members):
    """Each member's weight in the rotation; None for strategies that do not rotate."""
    if rule.strategy == Strategy.ROUND_ROBIN:
        return {person.id: 1.0 for person in members}
    if rule.strategy == Strategy.WEIGHTED:
        return {person.id: float(rule.weights.get(person.id, 1)) for person in members}
    if rule.strategy == Strategy.FASTEST_RESPONDER:
        return _speed_weights(members)
    return {}


def _speed_weights(members):
    """Faster first responses earn more turns: weight = the fastest median / one's own median,
    never below SLOWEST_SHARE. Someone with no recent first responses (new on the team) gets
    the weight of the middle of the team, neither rewarded nor punished."""
    timed = {
        p.id: max(p.response_seconds, FAST_ENOUGH_SECONDS)
        for p in members
        if p.response_seconds is not None
    }
    if not timed:
        return {p.id: 1.0 for p in members}
    fastest = min(timed.values())
    weights = {pid: max(fastest / seconds, SLOWEST_SHARE) for pid, seconds in timed.items()}
    middle = median(weights.values())
    return {p.id: weights.get(p.id, middle) for p in members}


def _rotate(available, credits):
    """One turn of the smooth weighted rotation; returns the chosen candidate and the credits
    after the turn. Credits of people not available now are kept as they are, within bounds,
    so that someone back from a break is not owed a run of leads."""
    total = sum(c.weight for c in available)
    current = {c.id: _bounded(credits.get(str(c.id), 0.0), total) + c.weight for c in available}
    chosen = max(available, key=lambda c: (current[c.id], -c.id))
    current[chosen.id] -= total
    state = {**credits, **{str(pid): round(value, 6) for pid, value in current.items()}}
    return chosen, state


def _bounded(value, total):
    return max(-total, min(total, float(value)))


def _rotation_sentence(rule, available, chosen):
    if rule.strategy == Strategy.ROUND_ROBIN:
        return f"{chosen.name}'s turn among {len(available)} available"
    if rule.strategy == Strategy.WEIGHTED:
        split = _listed(f"{c.name} {c.weight:g}" for c in available)
        return f"{split}; {chosen.name}'s turn"
    speeds = _listed(
        f"{c.name} {duration_text(c.response_seconds)} (weight {c.weight:.2f})" for c in available
    )
    return f"median first response {speeds}; {chosen.name}'s turn"


def duration_text(seconds, missing="no recent data"):
    """A first-response time as a manager reads it: "45 s", "4 min", "1.5 h"."""
    if seconds is None:
        return missing
    if seconds < 90:
        return f"{round(seconds)} s"
    if seconds < 90 * 60:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def _listed(parts):
    parts = list(parts)
    shown = parts[:NAMED_IN_EXPLANATION]
    more = len(parts) - len(shown)
    return ", ".join(shown) + (f" and {more} more" if more else "")


def _skips(candidates):
    return _listed(f"{c.name} {c.skipped}" for c in candidates if c.skipped)
