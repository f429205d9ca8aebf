"""Replay: last days' leads routed again through the current or a draft rule set, next to what
actually happened."""

from datetime import timedelta

from django.utils import timezone

from leads.intake import lead_intake
from leads.models import LeadEvent
from leads.replay import routing_replay
from leads.submission import Submission
from routing.models import Fallback, Strategy
from routing.services import rule_create

NOW = timezone.now()


def arrive(n, days_ago, **fields):
    return lead_intake(
        Submission(source="website", emails=(f"buyer{n}@example.net",), **fields),
        at=NOW - timedelta(days=days_ago) + timedelta(minutes=n),
    ).lead


def rows(result):
    return {row.name: (row.replayed, row.actual) for row in result.rows}


def test_replaying_the_rules_that_routed_the_leads_gives_what_happened(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="All", strategy=Strategy.ROUND_ROBIN, members=sellers)
    for n in range(9):
        arrive(n, days_ago=3)

    result = routing_replay(days=7, now=NOW)

    assert result.leads == 9
    assert result.changed == 0
    assert rows(result) == {
        "Ann Seller": (3, 3),
        "Ben Seller": (3, 3),
        "Cat Seller": (3, 3),
        "Pool (unassigned)": (0, 0),
    }


def test_a_draft_rule_set_shows_who_would_have_got_the_leads(sellers, bdc_manager):
    ann, ben, cat = sellers
    rule_create(by=bdc_manager, name="All", strategy=Strategy.ROUND_ROBIN, members=sellers)
    for n in range(6):
        arrive(n, days_ago=2)
    draft = rule_create(
        by=bdc_manager,
        name="Draft: Ann 1, Ben 2",
        strategy=Strategy.WEIGHTED,
        members=[ann, ben],
        weights={ann.pk: 1, ben.pk: 2},
        active=False,
    )

    result = routing_replay(days=7, rule_ids=[draft.pk], now=NOW)

    assert rows(result) == {
        "Ben Seller": (4, 2),
        "Ann Seller": (2, 2),
        "Cat Seller": (0, 2),
        "Pool (unassigned)": (0, 0),
    }
    assert result.by_rule == (("Draft: Ann 1, Ben 2", 6), ("No rule (pool)", 0))
    # Rotation order: Ben, Ann, Ben, Ben, Ann, Ben against Ann, Ben, Cat, Ann, Ben, Cat.
    assert result.changed == 6


def test_leads_older_than_the_window_are_left_out(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="All", strategy=Strategy.ROUND_ROBIN, members=sellers)
    arrive(1, days_ago=10)
    arrive(2, days_ago=1)

    assert routing_replay(days=7, now=NOW).leads == 1


def test_the_replay_fills_people_up_to_their_capacity(sellers, bdc_manager, sales_team):
    ann, _, _ = sellers
    for n in range(4):
        arrive(n, days_ago=1)  # no rules yet: all wait in the pool
    draft = rule_create(
        by=bdc_manager,
        name="Ann only",
        strategy=Strategy.LEAST_LOADED,
        members=[ann],
        team=sales_team,
        fallback=Fallback.POOL,
        active=False,
    )
    ann.staff.capacity = 3
    ann.staff.save()

    result = routing_replay(days=7, rule_ids=[draft.pk], now=NOW)

    assert rows(result) == {"Ann Seller": (3, 0), "Pool (unassigned)": (1, 4)}


def test_junk_disqualified_at_intake_is_not_replayed(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="All", strategy=Strategy.ROUND_ROBIN, members=sellers)
    arrive(1, days_ago=1, honeypot_filled=True)
    arrive(2, days_ago=1)

    result = routing_replay(days=7, now=NOW)

    assert result.leads == 1
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED).count() == 1
