"""What the routing engine does when a rule does not match or finds nobody: the next rule, the
rule's pool, a named manager, `stop`, and the pool of the lead's team when no rule takes it."""

import pytest

from routing.conditions import Conditions
from routing.engine import ASSIGNED, POOL, decide, people_needed, rules_matching
from routing.models import Fallback, Strategy
from tests.routing.builders import NEW_CARS, USED_CARS, lead, person, rule, staff

NEW_ONLY = Conditions(vehicle_condition="new")
NOBODY_ON_SHIFT = staff(person(1, on_shift=False), person(2, on_shift=False), person(3))


def first(**fields):
    """The rule tried first: Alice and Bob, both off shift in NOBODY_ON_SHIFT."""
    return rule(Strategy.ROUND_ROBIN, **{"id": 1, "name": "Web first", **fields})


def second(**fields):
    return rule(Strategy.ROUND_ROBIN, **{"id": 2, "name": "Carol", "members": (3,), **fields})


def test_fallback_next_rule_goes_on_to_the_next_matching_rule():
    decision = decide(lead(), [first(), second()], NOBODY_ON_SHIFT)

    assert (decision.outcome, decision.owner_id, decision.rule_id) == (ASSIGNED, 3, 2)
    assert decision.trail == (
        "Rule 'Web first' → round robin: nobody available (Alice Moreno off shift, "
        "Bob Shah off shift); next rule",
    )


def test_fallback_next_rule_skips_the_following_rules_that_do_not_match():
    rules = [first(), second(conditions=NEW_ONLY), rule(Strategy.LEAST_LOADED, members=(3,))]

    decision = decide(lead(vehicle_condition="used"), rules, NOBODY_ON_SHIFT)

    assert (decision.owner_id, decision.rule_id) == (3, 10)
    assert decision.trail[1] == "'Carol' skipped: not a new vehicle"


def test_fallback_next_rule_on_the_last_rule_leaves_the_lead_in_its_teams_pool():
    decision = decide(lead(), [first()], NOBODY_ON_SHIFT)

    assert (decision.outcome, decision.owner_id, decision.team_id) == (POOL, None, USED_CARS)
    assert decision.rule_id is None
    assert decision.explanation == (
        "No rule took the lead (no rule found anyone); it waits in the Used cars pool"
    )


def test_fallback_pool_puts_the_lead_in_the_rules_team_pool():
    rules = [first(fallback=Fallback.POOL, team_id=NEW_CARS, team_name="New cars"), second()]

    decision = decide(lead(), rules, NOBODY_ON_SHIFT)

    assert (decision.outcome, decision.owner_id, decision.team_id) == (POOL, None, NEW_CARS)
    assert decision.rule_id == 1
    assert decision.explanation == (
        "Rule 'Web first' → round robin: nobody available (Alice Moreno off shift, "
        "Bob Shah off shift); waits in the New cars pool for the first to claim it"
    )
    assert [c.skipped for c in decision.candidates] == ["off shift", "off shift"]


def test_fallback_pool_of_a_rule_without_a_team_is_the_pool_of_the_leads_team():
    decision = decide(lead(), [first(fallback=Fallback.POOL), second()], NOBODY_ON_SHIFT)

    assert (decision.outcome, decision.team_id) == (POOL, USED_CARS)
    assert decision.explanation.endswith("waits in the Used cars pool for the first to claim it")


def test_fallback_manager_assigns_the_lead_to_the_named_manager():
    people = {**NOBODY_ON_SHIFT, 9: person(9, team_id=NEW_CARS)}
    rules = [first(fallback=Fallback.MANAGER, fallback_manager_id=9), second()]

    decision = decide(lead(), rules, people)

    assert (decision.outcome, decision.owner_id, decision.team_id) == (ASSIGNED, 9, NEW_CARS)
    assert (decision.rule_id, decision.manager_id) == (1, 9)
    assert decision.explanation == (
        "Rule 'Web first' → round robin: nobody available (Alice Moreno off shift, "
        "Bob Shah off shift); to the manager Dana Levi (fallback)"
    )


@pytest.mark.parametrize(
    ("manager", "exclude"),
    [
        pytest.param(person(9, active=False), (), id="inactive"),
        pytest.param(person(9, can_own_leads=False), (), id="cannot-own-leads"),
        pytest.param(person(9), (9,), id="missed-its-first-response"),
        pytest.param(None, (), id="not-among-the-people"),
    ],
)
def test_fallback_manager_who_cannot_take_the_lead_passes_it_to_the_next_rule(manager, exclude):
    people = {**NOBODY_ON_SHIFT, **({9: manager} if manager else {})}
    rules = [first(fallback=Fallback.MANAGER, fallback_manager_id=9), second()]

    decision = decide(lead(), rules, people, exclude=frozenset(exclude))

    assert (decision.owner_id, decision.rule_id) == (3, 2)


def test_a_stop_rule_that_finds_nobody_keeps_the_lead_in_its_pool():
    rules = [first(stop=True, team_id=NEW_CARS, team_name="New cars"), second()]

    decision = decide(lead(), rules, NOBODY_ON_SHIFT)

    assert (decision.outcome, decision.owner_id, decision.team_id) == (POOL, None, NEW_CARS)
    assert decision.rule_id == 1
    assert decision.explanation.endswith("waits in the New cars pool for the first to claim it")


def test_a_stop_rule_whose_manager_cannot_take_the_lead_keeps_it_in_the_pool():
    people = {**NOBODY_ON_SHIFT, 9: person(9, active=False)}
    rules = [first(stop=True, fallback=Fallback.MANAGER, fallback_manager_id=9), second()]

    decision = decide(lead(), rules, people)

    assert (decision.outcome, decision.rule_id) == (POOL, 1)


def test_a_stop_rule_that_does_not_match_does_not_stop_the_lead():
    rules = [first(stop=True, conditions=NEW_ONLY), second()]

    decision = decide(lead(vehicle_condition="used"), rules, NOBODY_ON_SHIFT)

    assert (decision.owner_id, decision.rule_id) == (3, 2)


def test_no_rule_matched_leaves_the_lead_in_its_teams_pool_and_says_so():
    rules = [first(conditions=NEW_ONLY), second(conditions=Conditions(makes=("ford",)))]

    decision = decide(lead(vehicle_condition="used", make="Kia"), rules, NOBODY_ON_SHIFT)

    assert (decision.outcome, decision.owner_id, decision.team_id) == (POOL, None, USED_CARS)
    assert decision.explanation == (
        "No rule took the lead (no rule matched); it waits in the Used cars pool"
    )
    assert decision.trail == (
        "'Web first' skipped: not a new vehicle",
        "'Carol' skipped: make Kia is not ford",
    )


def test_no_rule_at_all_leaves_the_lead_in_the_general_pool_when_it_has_no_team():
    decision = decide(lead(team_id=None, team_name=""), [], {})

    assert (decision.outcome, decision.team_id) == (POOL, None)
    assert decision.explanation == (
        "No rule took the lead (no rule matched); it waits in the general pool"
    )


def test_rules_that_do_not_match_are_listed_in_the_trail_of_an_assignment():
    rules = [first(conditions=NEW_ONLY), second()]

    decision = decide(lead(vehicle_condition="used"), rules, NOBODY_ON_SHIFT)

    assert decision.owner_id == 3
    assert decision.trail == ("'Web first' skipped: not a new vehicle",)


def test_the_first_matching_rule_that_finds_someone_decides():
    rules = [second(), rule(Strategy.ROUND_ROBIN, members=(3,))]

    decision = decide(lead(), rules, NOBODY_ON_SHIFT)

    assert (decision.rule_id, decision.trail) == (2, ())


def test_rules_matching_keeps_the_matching_rules_in_order():
    rules = [first(), second(conditions=NEW_ONLY), rule(Strategy.POOL)]

    assert [r.id for r in rules_matching(rules, lead(vehicle_condition="used"))] == [1, 10]


def test_rules_matching_stops_at_the_first_rule_that_never_passes_a_lead_on():
    catch_all = rule(Strategy.ROUND_ROBIN, id=30)
    final = [
        second(fallback=Fallback.POOL, team_id=NEW_CARS),
        second(fallback=Fallback.MANAGER, fallback_manager_id=9),
        second(stop=True),
        rule(Strategy.POOL, id=20),
    ]

    for rule_that_ends in final:
        reached = rules_matching([first(), rule_that_ends, catch_all], lead())
        assert [r.id for r in reached] == [1, rule_that_ends.id]
    assert [r.id for r in rules_matching([first(), second(), catch_all], lead())] == [1, 2, 30]


def test_people_needed_names_members_managers_and_the_teams_of_rules_without_members():
    rules = [
        first(fallback=Fallback.MANAGER, fallback_manager_id=9, team_id=NEW_CARS),
        rule(Strategy.LEAST_LOADED, members=(), team_id=USED_CARS),
        rule(Strategy.POOL, members=()),
    ]

    assert people_needed(rules) == ({1, 2, 9}, {USED_CARS})
