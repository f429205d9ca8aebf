"""Properties of routing: fair turns however many people and decisions, nobody unavailable ever
chosen whatever the rules and people, conditions that read back as stored, deadlines that never
come sooner than the minutes allowed."""

from collections import Counter
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from dealercrm.vocabulary import LeadChannel
from routing.conditions import Conditions, InvalidConditions
from routing.engine import ASSIGNED, POOL, Person, Rule, decide
from routing.hours import business_deadline
from routing.models import Fallback, Strategy
from tests.routing.builders import NEW_CARS, USED_CARS, lead, turns

# A decision costs well under a millisecond; a few hundred of them an example stays quick.
QUICK = settings(max_examples=100, deadline=None)


def team_of(count):
    return {pid: Person(id=pid, name=f"Person {pid}") for pid in range(1, count + 1)}


# --- fair turns -----------------------------------------------------------------------------------


@QUICK
@given(
    size=st.integers(1, 8),
    decisions=st.integers(0, 100),
    order=st.randoms(use_true_random=False),
)
def test_round_robin_counts_differ_by_at_most_one(size, decisions, order):
    members = list(range(1, size + 1))
    order.shuffle(members)

    the_rule = Rule(1, "Everyone", Strategy.ROUND_ROBIN, member_ids=tuple(members))

    owners = turns(decisions, the_rule, team_of(size))

    counts = [Counter(owners)[pid] for pid in members]
    assert sum(counts) == decisions
    assert max(counts) - min(counts) <= 1


@QUICK
@given(rounds=st.integers(1, 60))
def test_weighted_one_to_three_over_4k_decisions_gives_exactly_k_and_3k(rounds):
    the_rule = Rule(1, "Split", Strategy.WEIGHTED, member_ids=(1, 2), weights={1: 1, 2: 3})

    owners = turns(4 * rounds, the_rule, team_of(2))

    assert Counter(owners) == {1: rounds, 2: 3 * rounds}


@QUICK
@given(weights=st.lists(st.integers(0, 5), min_size=1, max_size=6), rounds=st.integers(1, 8))
def test_weighted_split_gives_each_person_exactly_their_weight_per_round(weights, rounds):
    total = sum(weights)
    members = tuple(range(1, len(weights) + 1))
    split = dict(zip(members, weights, strict=True))
    the_rule = Rule(1, "Split", Strategy.WEIGHTED, member_ids=members, weights=split)

    owners = turns(total * rounds, the_rule, team_of(len(weights)))

    counts = Counter(owners)
    assert [counts[pid] for pid in members] == [weight * rounds for weight in weights]


# --- nobody unavailable is chosen ----------------------------------------------------------------


# Mostly available people, so that most decisions choose somebody.
mostly = st.sampled_from([True, True, True, True, True, False])


@st.composite
def people(draw):
    count = draw(st.integers(1, 7))
    return {
        pid: Person(
            id=pid,
            name=f"Person {pid}",
            team_id=draw(st.sampled_from([USED_CARS, NEW_CARS])),
            can_own_leads=draw(mostly),
            active=draw(mostly),
            on_shift=draw(mostly),
            capacity=draw(st.integers(0, 10)),
            open_leads=draw(st.integers(0, 5)),
            response_seconds=draw(st.none() | st.floats(0, 20_000)),
        )
        for pid in range(1, count + 1)
    }


@st.composite
def rules(draw, ids):
    count = draw(st.integers(1, 3))
    drawn = []
    for rule_id in range(1, count + 1):
        # No members: the rule takes the people of its team.
        members = draw(st.just(()) | st.lists(st.sampled_from(ids), unique=True, min_size=1))
        drawn.append(
            Rule(
                id=rule_id,
                name=f"Rule {rule_id}",
                strategy=draw(st.sampled_from(Strategy.values)),
                member_ids=tuple(members),
                team_id=draw(st.sampled_from([None, USED_CARS, NEW_CARS])),
                weights=draw(st.dictionaries(st.sampled_from(ids), st.integers(0, 3), max_size=2)),
                fallback=draw(st.sampled_from(Fallback.values)),
                fallback_manager_id=draw(st.none() | st.sampled_from(ids)),
                stop=draw(st.booleans()),
            )
        )
    return drawn


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_the_chosen_person_is_never_off_shift_full_inactive_or_excluded(data):
    staff = data.draw(people())
    ids = sorted(staff)
    rule_set = data.draw(rules(ids))
    exclude = frozenset(data.draw(st.lists(st.sampled_from(ids), max_size=2)))
    previous_owner_id = data.draw(st.none() | st.sampled_from(ids))
    credits = st.dictionaries(st.sampled_from([str(pid) for pid in ids]), st.floats(-20, 20))
    cursors = {rule.id: data.draw(credits) for rule in rule_set}

    decision = decide(lead(previous_owner_id=previous_owner_id), rule_set, staff, cursors, exclude)

    if decision.outcome == POOL:
        assert decision.owner_id is None
        return
    assert decision.outcome == ASSIGNED
    owner = staff[decision.owner_id]
    assert owner.active and owner.can_own_leads
    assert owner.id not in exclude
    the_rule = next(rule for rule in rule_set if rule.id == decision.rule_id)
    if the_rule.fallback == Fallback.MANAGER and owner.id == the_rule.fallback_manager_id:
        return  # the named manager takes the lead whatever their shift and load
    assert owner.on_shift
    assert owner.open_leads < owner.capacity
    assert owner.id in {c.id for c in decision.candidates if not c.skipped}
    if the_rule.strategy == Strategy.WEIGHTED:
        assert the_rule.weights.get(owner.id, 1) > 0


# --- conditions read back as stored --------------------------------------------------------------

words = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8)
texts = st.lists(words, min_size=1, max_size=2).map(" ".join)
times = st.times().map(lambda moment: moment.replace(microsecond=0))
condition_data = st.fixed_dictionaries(
    {},
    optional={
        "sources": st.lists(texts, max_size=3),
        "channels": st.lists(st.sampled_from(LeadChannel.values), max_size=3),
        "score_min": st.none() | st.integers(0, 100),
        "score_max": st.none() | st.integers(0, 100),
        "vehicle_condition": st.sampled_from(["", "new", "used"]),
        "makes": st.lists(texts, max_size=3),
        "weekdays": st.lists(st.integers(0, 6), max_size=7),
        "known_customer": st.none() | st.booleans(),
    },
)
hours_data = st.one_of(
    st.just({}),
    st.tuples(times, times).map(
        lambda window: {"hours_from": window[0].isoformat(), "hours_to": window[1].isoformat()}
    ),
)


@settings(max_examples=300, deadline=None)
@given(data=condition_data, hours=hours_data)
def test_accepted_conditions_read_back_the_same_from_their_stored_form(data, hours):
    try:
        conditions = Conditions.from_dict({**data, **hours})
    except InvalidConditions:
        return  # e.g. score_min above score_max, or an empty time window

    assert Conditions.from_dict(conditions.as_dict()) == conditions


# --- deadlines ------------------------------------------------------------------------------------

NEW_YORK = ZoneInfo("America/New_York")
OPEN = {day: (time(9), time(18)) for day in range(5)} | {5: (time(9), time(13))}


@QUICK
@given(
    start=st.datetimes(datetime(2026, 1, 1), datetime(2027, 1, 1), timezones=st.just(UTC)),
    minutes=st.integers(1, 600),
)
def test_a_deadline_falls_in_opening_hours_and_never_sooner_than_the_minutes_given(start, minutes):
    due = business_deadline(start, minutes, OPEN, NEW_YORK)

    assert due - start >= timedelta(minutes=minutes)
    local = due.astimezone(NEW_YORK)
    opens, closes = OPEN[local.weekday()]
    assert opens < local.time() <= closes
