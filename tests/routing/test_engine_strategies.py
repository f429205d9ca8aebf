"""Each strategy of the routing engine picks whom its description says, and explains it."""

from collections import Counter

import pytest

from routing.engine import ASSIGNED, POOL, decide
from routing.models import Strategy
from tests.routing.builders import NEW_CARS, USED_CARS, lead, person, rule, staff, turns

# --- round robin --------------------------------------------------------------------------------


def test_round_robin_takes_turns_in_member_order():
    people = staff(person(1), person(2), person(3))

    owners = turns(6, rule(Strategy.ROUND_ROBIN, members=(1, 2, 3)), people)

    assert owners == [1, 2, 3, 1, 2, 3]


def test_round_robin_explanation_names_whose_turn_it_is():
    decision = decide(lead(), [rule(Strategy.ROUND_ROBIN)], staff(person(1), person(2)))

    assert decision.explanation == (
        "Rule 'Used cars — web' → round robin: Alice Moreno's turn among 2 available"
    )


def test_round_robin_cursor_holds_each_persons_credit_under_their_id_as_text():
    decision = decide(lead(), [rule(Strategy.ROUND_ROBIN)], staff(person(1), person(2)))

    assert decision.cursor_state == {"1": -1.0, "2": 1.0}


def test_round_robin_continues_from_the_saved_cursor():
    decision = decide(
        lead(),
        [rule(Strategy.ROUND_ROBIN)],
        staff(person(1), person(2)),
        cursors={10: {"1": -1.0, "2": 1.0}},
    )

    assert decision.owner_id == 2


def test_round_robin_keeps_the_credit_of_someone_off_shift_untouched():
    people = staff(person(1), person(2), person(3, on_shift=False))

    decision = decide(
        lead(),
        [rule(Strategy.ROUND_ROBIN, members=(1, 2, 3))],
        people,
        cursors={10: {"3": 0.5}},
    )

    assert decision.cursor_state["3"] == 0.5


def test_someone_back_from_a_break_with_a_large_credit_is_not_owed_a_run_of_leads():
    stale = {10: {"1": 0.0, "2": 50.0}}
    people = staff(person(1), person(2))
    owners, cursors = [], stale
    for _ in range(6):
        decision = decide(lead(), [rule(Strategy.ROUND_ROBIN)], people, cursors)
        owners.append(decision.owner_id)
        cursors = {10: decision.cursor_state}

    assert owners == [2, 1, 2, 1, 2, 1]


# --- weighted split -------------------------------------------------------------------------------


def test_weighted_one_to_three_gives_one_lead_in_four_spread_out_not_in_runs():
    people = staff(person(1), person(2))

    owners = turns(8, rule(Strategy.WEIGHTED, weights={1: 1, 2: 3}), people)

    assert owners == [2, 1, 2, 2, 2, 1, 2, 2]


def test_weighted_explanation_lists_the_split():
    decision = decide(
        lead(), [rule(Strategy.WEIGHTED, weights={1: 1, 2: 3})], staff(person(1), person(2))
    )

    assert decision.explanation == (
        "Rule 'Used cars — web' → weighted split: Alice Moreno 1, Bob Shah 3; Bob Shah's turn"
    )


def test_weighted_person_with_weight_zero_is_never_chosen():
    people = staff(person(1), person(2), person(3))

    owners = turns(30, rule(Strategy.WEIGHTED, members=(1, 2, 3), weights={1: 0}), people)

    assert Counter(owners) == {2: 15, 3: 15}


def test_weighted_member_without_a_weight_counts_as_one():
    owners = turns(6, rule(Strategy.WEIGHTED, weights={2: 2}), staff(person(1), person(2)))

    assert Counter(owners) == {1: 2, 2: 4}


def test_weighted_rule_whose_every_weight_is_zero_finds_nobody_and_says_why():
    the_rule = rule(Strategy.WEIGHTED, weights={1: 0, 2: 0}, fallback="pool")

    decision = decide(lead(), [the_rule], staff(person(1), person(2)))

    assert decision.outcome == POOL
    assert decision.explanation == (
        "Rule 'Used cars — web' → weighted split: nobody available (every weight is 0); "
        "waits in the Used cars pool for the first to claim it"
    )


# --- fastest responder ----------------------------------------------------------------------------


def test_fastest_responder_weighs_the_fastest_median_against_each_ones_own():
    people = staff(
        person(1, response_seconds=60),
        person(2, response_seconds=120),
        person(3, response_seconds=3600),
    )

    decision = decide(lead(), [rule(Strategy.FASTEST_RESPONDER, members=(1, 2, 3))], people)

    # 60/3600 would be 0.017: the slowest keeps a tenth of the fastest one's weight.
    assert {c.id: c.weight for c in decision.candidates} == {1: 1.0, 2: 0.5, 3: 0.1}


def test_fastest_responder_gives_faster_people_more_turns_and_slower_people_some():
    people = staff(
        person(1, response_seconds=60),
        person(2, response_seconds=120),
        person(3, response_seconds=3600),
    )

    owners = turns(1600, rule(Strategy.FASTEST_RESPONDER, members=(1, 2, 3)), people)

    # Weights 1, 0.5 and 0.1 out of 1.6.
    counts = Counter(owners)
    assert abs(counts[1] - 1000) <= 2
    assert abs(counts[2] - 500) <= 2
    assert abs(counts[3] - 100) <= 2


def test_responses_faster_than_a_minute_earn_no_extra_weight():
    people = staff(person(1, response_seconds=10), person(2, response_seconds=60))

    decision = decide(lead(), [rule(Strategy.FASTEST_RESPONDER)], people)

    assert [c.weight for c in decision.candidates] == [1.0, 1.0]


def test_fastest_responder_gives_people_without_response_data_the_middle_weight():
    people = staff(
        person(1, response_seconds=60),
        person(2, response_seconds=120),
        person(3, response_seconds=240),
        person(4, response_seconds=None),
    )

    decision = decide(lead(), [rule(Strategy.FASTEST_RESPONDER, members=(1, 2, 3, 4))], people)

    assert {c.id: c.weight for c in decision.candidates} == {1: 1.0, 2: 0.5, 3: 0.25, 4: 0.5}


def test_fastest_responder_without_any_response_data_is_a_plain_rotation():
    owners = turns(4, rule(Strategy.FASTEST_RESPONDER), staff(person(1), person(2)))

    assert owners == [1, 2, 1, 2]


def test_fastest_responder_explanation_gives_each_median_and_weight():
    people = staff(
        person(1, response_seconds=45),
        person(2, response_seconds=300),
        person(3, response_seconds=7200),
        person(4),
    )

    decision = decide(lead(), [rule(Strategy.FASTEST_RESPONDER, members=(1, 2, 3, 4))], people)

    assert decision.explanation == (
        "Rule 'Used cars — web' → fastest responder: median first response "
        "Alice Moreno 45 s (weight 1.00), Bob Shah 5 min (weight 0.20), "
        "Carol Diaz 2.0 h (weight 0.10), Dan Okafor no recent data (weight 0.20); "
        "Alice Moreno's turn"
    )


# --- least loaded ---------------------------------------------------------------------------------


def test_least_loaded_picks_the_lowest_share_of_capacity_not_the_fewest_leads():
    people = staff(person(1, open_leads=3, capacity=10), person(2, open_leads=5, capacity=25))

    decision = decide(lead(), [rule(Strategy.LEAST_LOADED)], people)

    assert decision.owner_id == 2


def test_least_loaded_breaks_an_equal_share_by_fewer_open_leads():
    people = staff(person(1, open_leads=4, capacity=20), person(2, open_leads=2, capacity=10))

    decision = decide(lead(), [rule(Strategy.LEAST_LOADED)], people)

    assert decision.owner_id == 2


@pytest.mark.parametrize("members", [(1, 2), (2, 1)])
def test_least_loaded_breaks_a_full_tie_by_the_lower_id(members):
    people = staff(person(1, open_leads=2, capacity=10), person(2, open_leads=2, capacity=10))

    decision = decide(lead(), [rule(Strategy.LEAST_LOADED, members=members)], people)

    assert decision.owner_id == 1


def test_least_loaded_explanation_lists_each_load_and_who_was_chosen():
    people = staff(person(1, open_leads=3, capacity=20), person(2, open_leads=7, capacity=20))

    decision = decide(lead(), [rule(Strategy.LEAST_LOADED)], people)

    assert decision.explanation == (
        "Rule 'Used cars — web' → least loaded: 3 of 20 open for Alice Moreno, "
        "7 of 20 open for Bob Shah; Alice Moreno chosen"
    )


def test_least_loaded_skips_full_people_and_names_them():
    people = staff(person(1, open_leads=20, capacity=20), person(2, open_leads=7, capacity=20))

    decision = decide(lead(), [rule(Strategy.LEAST_LOADED)], people)

    assert decision.owner_id == 2
    assert decision.explanation == (
        "Rule 'Used cars — web' → least loaded: 7 of 20 open for Bob Shah; Bob Shah chosen "
        "(Alice Moreno full (20 of 20))"
    )


def test_least_loaded_leaves_no_cursor_to_save():
    decision = decide(lead(), [rule(Strategy.LEAST_LOADED)], staff(person(1), person(2)))

    assert decision.outcome == ASSIGNED
    assert decision.cursor_state is None


# --- previous owner -------------------------------------------------------------------------------

RETURNING = {"id": 5, "name": "Returning customers", "members": (1, 2, 3)}


def test_previous_owner_gets_the_lead_when_available():
    people = staff(person(1), person(2), person(3, open_leads=4))

    decision = decide(
        lead(previous_owner_id=3), [rule(Strategy.PREVIOUS_OWNER, **RETURNING)], people
    )

    assert decision.owner_id == 3
    assert decision.explanation == (
        "Rule 'Returning customers' → previous salesperson: Carol Diaz worked with this "
        "customer before (4 of 25 open)"
    )


@pytest.mark.parametrize(
    ("fields", "exclude", "why"),
    [
        ({"on_shift": False}, (), "Carol Diaz, the previous salesperson, is off shift"),
        ({"open_leads": 25}, (), "Carol Diaz, the previous salesperson, is full (25 of 25)"),
        ({"active": False}, (), "Carol Diaz, the previous salesperson, is inactive"),
        ({"can_own_leads": False}, (), "Carol Diaz, the previous salesperson, is inactive"),
        ({}, (3,), "Carol Diaz, the previous salesperson, missed its first response"),
    ],
)
def test_previous_owner_unavailable_falls_through_to_the_next_rule_with_the_reason(
    fields, exclude, why
):
    people = staff(person(1), person(2), person(3, **fields))
    rules = [
        rule(Strategy.PREVIOUS_OWNER, **RETURNING),
        rule(Strategy.ROUND_ROBIN, id=6, name="Everyone"),
    ]

    decision = decide(lead(previous_owner_id=3), rules, people, exclude=frozenset(exclude))

    assert decision.owner_id == 1
    assert decision.rule_name == "Everyone"
    assert decision.trail == (
        f"Rule 'Returning customers' → previous salesperson: {why}; next rule",
    )


def test_previous_owner_who_is_not_a_member_of_the_rule_does_not_get_the_lead():
    people = staff(person(1), person(2), person(4))

    decision = decide(
        lead(previous_owner_id=4), [rule(Strategy.PREVIOUS_OWNER, **RETURNING)], people
    )

    assert decision.owner_id is None
    assert decision.trail == (
        "Rule 'Returning customers' → previous salesperson: Dan Okafor is not a member of "
        "the rule; next rule",
    )


def test_previous_owner_who_left_the_rules_team_does_not_get_the_lead():
    the_rule = rule(Strategy.PREVIOUS_OWNER, members=(), team_id=USED_CARS, team_name="Used cars")
    people = staff(person(1), person(3, team_id=NEW_CARS))

    decision = decide(lead(previous_owner_id=3), [the_rule], people)

    assert decision.owner_id is None
    assert decision.trail == (
        "Rule 'Used cars — web' → previous salesperson: Carol Diaz is no longer in Used cars; "
        "next rule",
    )


def test_previous_owner_in_the_rules_team_gets_the_lead():
    the_rule = rule(Strategy.PREVIOUS_OWNER, members=(), team_id=USED_CARS, team_name="Used cars")

    decision = decide(lead(previous_owner_id=3), [the_rule], staff(person(1), person(3)))

    assert decision.owner_id == 3


@pytest.mark.parametrize("previous_owner_id", [None, 8])
def test_previous_owner_rule_without_a_previous_salesperson_passes_the_lead_on(
    previous_owner_id,
):
    people = staff(person(1), person(2), person(3))

    decision = decide(
        lead(previous_owner_id=previous_owner_id),
        [rule(Strategy.PREVIOUS_OWNER, **RETURNING)],
        people,
    )

    assert decision.owner_id is None
    assert decision.trail == (
        "Rule 'Returning customers' → previous salesperson: the customer has no previous "
        "salesperson; next rule",
    )


# --- pool -----------------------------------------------------------------------------------------


def test_pool_strategy_puts_the_lead_in_the_rules_team_pool():
    the_rule = rule(Strategy.POOL, name="Walk-ins", team_id=NEW_CARS, team_name="New cars")

    decision = decide(lead(), [the_rule], staff(person(1), person(2)))

    assert decision.outcome == POOL
    assert decision.owner_id is None
    assert decision.team_id == NEW_CARS
    assert decision.rule_name == "Walk-ins"
    assert decision.explanation == (
        "Rule 'Walk-ins' → team pool; waits in the New cars pool for the first to claim it"
    )


def test_pool_strategy_without_a_team_uses_the_pool_of_the_leads_team():
    decision = decide(lead(), [rule(Strategy.POOL, name="Walk-ins")], staff(person(1)))

    assert decision.team_id == USED_CARS
    assert decision.explanation == (
        "Rule 'Walk-ins' → team pool; waits in the Used cars pool for the first to claim it"
    )


# --- who is a candidate ---------------------------------------------------------------------------

UNAVAILABLE = [
    pytest.param({"on_shift": False}, (), "Alice Moreno off shift", id="off-shift"),
    pytest.param({"open_leads": 25, "capacity": 25}, (), "Alice Moreno full (25 of 25)", id="full"),
    pytest.param({"active": False}, (), "Alice Moreno inactive", id="inactive"),
    pytest.param({"can_own_leads": False}, (), "Alice Moreno inactive", id="no-sales-role"),
    pytest.param({}, (1,), "Alice Moreno missed its first response", id="excluded"),
]
ROTATING_AND_LOAD = [
    Strategy.ROUND_ROBIN,
    Strategy.WEIGHTED,
    Strategy.FASTEST_RESPONDER,
    Strategy.LEAST_LOADED,
]


@pytest.mark.parametrize("strategy", ROTATING_AND_LOAD)
@pytest.mark.parametrize(("fields", "exclude", "named"), UNAVAILABLE)
def test_unavailable_people_are_skipped_and_named_in_the_explanation(
    strategy, fields, exclude, named
):
    # Alice has the lowest id and the lightest load: each strategy would pick her first.
    people = staff(person(1, **fields), person(2, open_leads=5))

    decision = decide(lead(), [rule(strategy)], people, exclude=frozenset(exclude))

    assert decision.owner_id == 2
    assert decision.explanation.endswith(f"({named})")


@pytest.mark.parametrize(("fields", "exclude", "named"), UNAVAILABLE)
def test_skipped_candidates_carry_the_reason(fields, exclude, named):
    people = staff(person(1, **fields), person(2))

    decision = decide(lead(), [rule(Strategy.ROUND_ROBIN)], people, exclude=frozenset(exclude))

    assert [(c.id, c.skipped) for c in decision.candidates] == [
        (1, named.removeprefix("Alice Moreno ")),
        (2, ""),
    ]


def test_explanation_names_five_skipped_people_and_counts_the_rest():
    people = staff(*(person(pid, on_shift=False) for pid in range(1, 8)), person(9))
    the_rule = rule(Strategy.ROUND_ROBIN, members=(1, 2, 3, 4, 5, 6, 7, 9))

    decision = decide(lead(), [the_rule], people)

    assert decision.owner_id == 9
    assert decision.explanation == (
        "Rule 'Used cars — web' → round robin: Dana Levi's turn among 1 available "
        "(Alice Moreno off shift, Bob Shah off shift, Carol Diaz off shift, "
        "Dan Okafor off shift, Eve Lind off shift and 2 more)"
    )


def test_a_rule_without_members_takes_the_people_of_its_team():
    people = staff(person(3), person(1), person(2, team_id=NEW_CARS))
    the_rule = rule(Strategy.ROUND_ROBIN, members=(), team_id=USED_CARS)

    decision = decide(lead(), [the_rule], people)

    assert [c.id for c in decision.candidates] == [1, 3]
    assert decision.owner_id == 1


def test_members_missing_from_the_people_given_are_left_out():
    decision = decide(lead(), [rule(Strategy.ROUND_ROBIN, members=(8, 2))], staff(person(2)))

    assert decision.owner_id == 2
    assert [c.id for c in decision.candidates] == [2]


def test_a_rule_with_nobody_in_it_says_so():
    decision = decide(lead(), [rule(Strategy.ROUND_ROBIN, members=())], {})

    assert decision.trail == (
        "Rule 'Used cars — web' → round robin: the rule has no members; next rule",
    )


def test_an_assignment_carries_the_rules_settings_and_the_owners_team():
    the_rule = rule(Strategy.ROUND_ROBIN, sla_minutes=15, max_rotations=3, fallback_manager_id=9)
    people = staff(person(1, team_id=NEW_CARS), person(2))

    decision = decide(lead(), [the_rule], people)

    assert (decision.outcome, decision.owner_id, decision.team_id) == (ASSIGNED, 1, NEW_CARS)
    assert (decision.rule_id, decision.rule_name, decision.strategy) == (
        10,
        "Used cars — web",
        Strategy.ROUND_ROBIN,
    )
    assert (decision.sla_minutes, decision.max_rotations, decision.manager_id) == (15, 3, 9)


def test_an_unknown_strategy_is_refused():
    with pytest.raises(ValueError, match="bogus"):
        decide(lead(), [rule("bogus")], staff(person(1), person(2)))
