"""Small builders for the routing engine's facts: people by id with fixed names, rules with the
members 1 and 2 unless told, and a lead arriving on a Monday morning."""

from datetime import datetime

from routing.engine import LeadFacts, Person, Rule, decide

USED_CARS = 20
NEW_CARS = 30
NAMES = {
    1: "Alice Moreno",
    2: "Bob Shah",
    3: "Carol Diaz",
    4: "Dan Okafor",
    5: "Eve Lind",
    6: "Farid Haddad",
    7: "Gina Rossi",
    9: "Dana Levi",
}
MONDAY_10AM = datetime(2026, 1, 5, 10, 0)


def lead(**facts):
    return LeadFacts(
        **{"local_time": MONDAY_10AM, "team_id": USED_CARS, "team_name": "Used cars", **facts}
    )


def person(pid, **fields):
    return Person(**{"id": pid, "name": NAMES[pid], "team_id": USED_CARS, **fields})


def staff(*people):
    return {p.id: p for p in people}


def rule(strategy, *, members=(1, 2), **fields):
    return Rule(
        **{"id": 10, "name": "Used cars — web", "strategy": strategy, **fields},
        member_ids=tuple(members),
    )


def turns(count, the_rule, people, exclude=frozenset()):
    """The owners of `count` decisions in a row, each saving the rule's cursor as the caller
    does."""
    owners, cursors = [], {}
    for _ in range(count):
        decision = decide(lead(), [the_rule], people, cursors, exclude)
        owners.append(decision.owner_id)
        cursors = {the_rule.id: decision.cursor_state}
    return owners
