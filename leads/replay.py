"""Replay: the leads of the last N days routed again through the current or a draft rule set,
next to what actually happened, so that a manager can try a change before making it.

The replay walks the leads in the order they arrived and decides each with `routing.engine`,
as intake would have: people's loads grow with the leads the replay gives them and shrink when
those leads were in fact closed; rotations start fresh. It cannot know who was on shift on a
past day, so everyone active now counts as on shift. Nothing is written.
"""

import heapq
import time
from collections import Counter
from dataclasses import dataclass, replace
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.db.models import Exists, OuterRef, Q, Subquery
from django.utils import timezone

from dealercrm.models import person_name
from leads.models import Lead, LeadEvent, LeadSource, LeadStatus
from leads.routing import _people
from routing.engine import LeadFacts, decide, people_needed
from routing.selectors import rules_for_decision

MAX_DAYS = 90
DEFAULT_DAYS = 30


@dataclass(frozen=True)
class ReplayRow:
    person_id: int | None  # None: the pool
    name: str
    replayed: int
    actual: int

    @property
    def difference(self):
        return self.replayed - self.actual


@dataclass(frozen=True)
class ReplayResult:
    days: int
    leads: int
    rows: tuple  # ReplayRow, most replayed first, the pool last
    by_rule: tuple  # (rule name, leads), in rule order
    changed: int  # leads the replay gives to someone other than who first got them
    seconds: float


def _leads(since, until):
    """The leads of the window with what a decision reads, the customer's previous
    salesperson and the first owner they actually got, in arrival order (one query)."""
    previous_owner = (
        Lead.objects.filter(
            customer_id=OuterRef("customer_id"),
            created_at__lt=OuterRef("created_at"),
            owner__isnull=False,
        )
        .order_by("-created_at", "-id")
        .values("owner_id")[:1]
    )
    first_assignment = LeadEvent.objects.filter(
        lead_id=OuterRef("pk"), kind=LeadEvent.Kind.ASSIGNED
    ).order_by("at", "id")
    return (
        Lead.objects.filter(created_at__gte=since, created_at__lt=until)
        # Junk disqualified at intake was routed to nobody and would not be now.
        .filter(~Q(status=LeadStatus.DISQUALIFIED) | Exists(first_assignment))
        .annotate(
            previous_owner_id=Subquery(previous_owner),
            first_owner_id=Subquery(first_assignment.values("to_owner_id")[:1]),
        )
        .order_by("created_at", "id")
        .values_list(
            "source",
            "channel",
            "score",
            "vehicle_condition",
            "vehicle_make",
            "created_at",
            "customer__created_at",
            "previous_owner_id",
            "first_owner_id",
            "closed_at",
        )
    )


def _open_at_start(since):
    """(owner, closed at) of the leads created before the window that were still open at its
    start: the loads people began the window with."""
    return Lead.objects.filter(
        Q(closed_at__isnull=True) | Q(closed_at__gt=since),
        created_at__lt=since,
        owner__isnull=False,
    ).values_list("owner_id", "closed_at")


def routing_replay(*, days, rule_ids=None, now=None):
    """Route the leads of the last `days` days again with the active rules, or with exactly
    `rule_ids` (a draft set, active or not), and compare with what happened."""
    started = time.perf_counter()
    days = max(1, min(MAX_DAYS, int(days)))
    now = now or timezone.now()
    since = now - timedelta(days=days)
    rules = rules_for_decision(rule_ids)
    leads = list(_leads(since, now))
    ids, teams = people_needed(rules)
    ids |= {row[7] for row in leads if row[7] is not None}
    # All on shift: the replay cannot know who worked on a past day.
    people = {
        pid: replace(person, on_shift=True, open_leads=0)
        for pid, person in _people(ids, teams).items()
    }
    sources = {
        key: (team_id, team_name or "")
        for key, team_id, team_name in LeadSource.objects.values_list(
            "key", "team_id", "team__name"
        )
    }

    closings = []  # heap of (closed at, person): when a replayed load goes down again
    for owner_id, closed_at in _open_at_start(since):
        if owner_id in people:
            _load(people, owner_id, +1)
            if closed_at is not None:
                heapq.heappush(closings, (closed_at, owner_id))

    cursors = {}
    replayed, actual, by_rule = Counter(), Counter(), Counter()
    changed = count = 0
    for (source, channel, score, condition, make, created_at, customer_since, previous,
         first_owner, closed_at) in leads:  # fmt: skip
        while closings and closings[0][0] <= created_at:
            _load(people, heapq.heappop(closings)[1], -1)
        team_id, team_name = sources.get(source, (None, ""))
        facts = LeadFacts(
            local_time=timezone.localtime(created_at),
            source=source,
            channel=channel,
            score=score,
            vehicle_condition=condition,
            make=make,
            known_customer=customer_since < created_at,
            previous_owner_id=previous,
            team_id=team_id,
            team_name=team_name,
        )
        decision = decide(facts, rules, people, cursors)
        if decision.cursor_state is not None:
            cursors[decision.rule_id] = decision.cursor_state
        owner = decision.owner_id
        if owner is not None and owner in people:
            _load(people, owner, +1)
            if closed_at is not None:
                heapq.heappush(closings, (closed_at, owner))
        replayed[owner] += 1
        actual[first_owner] += 1
        by_rule[decision.rule_name or ""] += 1
        changed += owner != first_owner
        count += 1

    names = {pid: person.name for pid, person in people.items()}
    missing = {pid for pid in set(replayed) | set(actual) if pid is not None} - set(names)
    if missing:
        names |= _names(missing)
    rows = sorted(
        (
            ReplayRow(pid, names.get(pid, f"#{pid}"), replayed[pid], actual[pid])
            for pid in (set(replayed) | set(actual)) - {None}
        ),
        key=lambda row: (-row.replayed, -row.actual, row.name),
    )
    rows.append(ReplayRow(None, "Pool (unassigned)", replayed[None], actual[None]))
    return ReplayResult(
        days=days,
        leads=count,
        rows=tuple(rows),
        by_rule=tuple(
            [(rule.name, by_rule[rule.name]) for rule in rules] + [("No rule (pool)", by_rule[""])]
        ),
        changed=changed,
        seconds=round(time.perf_counter() - started, 2),
    )


def _load(people, person_id, change):
    person = people[person_id]
    people[person_id] = replace(person, open_leads=max(0, person.open_leads + change))


def _names(ids):
    return {user.pk: person_name(user) for user in get_user_model().objects.filter(pk__in=ids)}
