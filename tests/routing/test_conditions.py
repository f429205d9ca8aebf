"""A rule's conditions: each one matches and mismatches as described, and bad input is refused
with the name of the condition that is wrong."""

from datetime import datetime, time

import pytest

from routing.conditions import Conditions, InvalidConditions
from routing.engine import LeadFacts

MONDAY_10AM = datetime(2026, 1, 5, 10, 0)


def lead(**facts):
    return LeadFacts(**{"local_time": MONDAY_10AM, **facts})


def at(day, hour, minute=0):
    """A moment in the week of Monday 5 January 2026: day 0 is Monday."""
    return datetime(2026, 1, 5 + day, hour, minute)


# --- matching ---------------------------------------------------------------------------------


def test_no_conditions_match_every_lead():
    assert Conditions().mismatch(lead()) is None


@pytest.mark.parametrize(
    ("data", "matching", "other", "why"),
    [
        (
            {"sources": ["web_form", "autotrader"]},
            {"source": "autotrader"},
            {"source": "cars_com"},
            "source cars_com is not autotrader or web_form",
        ),
        (
            {"sources": ["web_form"]},
            {"source": "web_form"},
            {"source": ""},
            "source (none) is not web_form",
        ),
        (
            {"channels": ["chat", "sms"]},
            {"channel": "sms"},
            {"channel": "phone"},
            "channel phone is not chat or sms",
        ),
        ({"score_min": 70}, {"score": 70}, {"score": 69}, "score 69 is below 70"),
        ({"score_max": 30}, {"score": 30}, {"score": 31}, "score 31 is above 30"),
        (
            {"vehicle_condition": "new"},
            {"vehicle_condition": "new"},
            {"vehicle_condition": "used"},
            "not a new vehicle",
        ),
        (
            {"vehicle_condition": "used"},
            {"vehicle_condition": "used"},
            {"vehicle_condition": ""},
            "not a used vehicle",
        ),
        (
            {"makes": ["Toyota", "LEXUS"]},
            {"make": "lexus"},
            {"make": "Honda"},
            "make Honda is not lexus or toyota",
        ),
        ({"makes": ["toyota"]}, {"make": "TOYOTA"}, {"make": ""}, "make (none) is not toyota"),
        (
            {"weekdays": [5, 6]},
            {"local_time": at(6, 10)},
            {"local_time": at(4, 10)},
            "Fri is not a rule day",
        ),
        (
            {"hours_from": "08:00", "hours_to": "18:00"},
            {"local_time": at(0, 8)},
            {"local_time": at(0, 18)},
            "18:00 is outside 08:00–18:00",
        ),
        (
            {"hours_from": "08:00", "hours_to": "18:00"},
            {"local_time": at(0, 17, 59)},
            {"local_time": at(0, 7, 59)},
            "07:59 is outside 08:00–18:00",
        ),
        (
            {"known_customer": True},
            {"known_customer": True},
            {"known_customer": False},
            "a new customer",
        ),
        (
            {"known_customer": False},
            {"known_customer": False},
            {"known_customer": True},
            "a known customer",
        ),
    ],
)
def test_each_condition_matches_and_says_why_it_does_not(data, matching, other, why):
    conditions = Conditions.from_dict(data)

    assert conditions.mismatch(lead(**matching)) is None
    assert conditions.mismatch(lead(**other)) == why


@pytest.mark.parametrize(
    ("moment", "inside"),
    [
        (at(0, 20), True),
        (at(0, 23, 59), True),
        (at(1, 0), True),
        (at(1, 7, 59), True),
        (at(1, 8), False),
        (at(1, 12), False),
        (at(1, 19, 59), False),
    ],
)
def test_a_time_window_may_wrap_past_midnight(moment, inside):
    conditions = Conditions.from_dict({"hours_from": "20:00", "hours_to": "08:00"})

    assert (conditions.mismatch(lead(local_time=moment)) is None) is inside


def test_the_time_window_is_read_in_the_leads_local_time_not_its_weekday():
    # Sunday night, inside a weekday-only night window: the weekday condition still applies.
    conditions = Conditions.from_dict(
        {"weekdays": [0, 1, 2, 3, 4], "hours_from": "20:00", "hours_to": "08:00"}
    )

    assert conditions.mismatch(lead(local_time=at(6, 22))) == "Sun is not a rule day"
    assert conditions.mismatch(lead(local_time=at(0, 22))) is None


def test_every_condition_given_must_hold():
    conditions = Conditions.from_dict(
        {"sources": ["web_form"], "score_min": 50, "vehicle_condition": "used"}
    )

    assert conditions.mismatch(lead(source="web_form", score=80, vehicle_condition="used")) is None
    assert (
        conditions.mismatch(lead(source="web_form", score=80, vehicle_condition="new"))
        == "not a used vehicle"
    )


# --- reading and checking -----------------------------------------------------------------------


def test_from_dict_normalises_what_it_reads():
    conditions = Conditions.from_dict(
        {
            "sources": [" web_form ", "autotrader", "web_form"],
            "channels": ["sms", "chat"],
            "makes": ["Toyota", "toyota", "Kia"],
            "weekdays": [4, 0, 4],
            "hours_from": "08:30",
            "hours_to": "17:00",
        }
    )

    assert conditions == Conditions(
        sources=("autotrader", "web_form"),
        channels=("chat", "sms"),
        makes=("kia", "toyota"),
        weekdays=(0, 4),
        hours_from=time(8, 30),
        hours_to=time(17, 0),
    )


@pytest.mark.parametrize("empty", [None, {}])
def test_missing_conditions_are_no_conditions(empty):
    assert Conditions.from_dict(empty) == Conditions()


@pytest.mark.parametrize(
    ("data", "field"),
    [
        pytest.param(["sources"], "conditions", id="not-an-object"),
        pytest.param({"colour": ["red"]}, "conditions", id="unknown-key"),
        pytest.param({"sources": "web_form"}, "sources", id="sources-not-a-list"),
        pytest.param({"sources": ["web_form", " "]}, "sources", id="blank-source"),
        pytest.param({"channels": ["chat", "pigeon"]}, "channels", id="unknown-channel"),
        pytest.param({"makes": [7]}, "makes", id="make-not-text"),
        pytest.param({"score_min": -1}, "score_min", id="score-below-0"),
        pytest.param({"score_max": 101}, "score_max", id="score-above-100"),
        pytest.param({"score_min": "50"}, "score_min", id="score-as-text"),
        pytest.param({"score_min": 5.5}, "score_min", id="score-not-whole"),
        pytest.param({"score_max": True}, "score_max", id="score-a-boolean"),
        pytest.param({"score_min": 80, "score_max": 20}, "score_max", id="min-above-max"),
        pytest.param({"vehicle_condition": "certified"}, "vehicle_condition", id="condition"),
        pytest.param({"weekdays": [7]}, "weekdays", id="weekday-7"),
        pytest.param({"weekdays": [-1]}, "weekdays", id="weekday-negative"),
        pytest.param({"weekdays": ["Mon"]}, "weekdays", id="weekday-by-name"),
        pytest.param({"weekdays": [True]}, "weekdays", id="weekday-a-boolean"),
        pytest.param({"weekdays": "0"}, "weekdays", id="weekdays-not-a-list"),
        pytest.param({"hours_from": "08:00"}, "hours_to", id="only-hours-from"),
        pytest.param({"hours_to": "18:00"}, "hours_to", id="only-hours-to"),
        pytest.param({"hours_from": "8 am", "hours_to": "18:00"}, "hours_from", id="bad-from"),
        pytest.param({"hours_from": "08:00", "hours_to": "24:00"}, "hours_to", id="bad-to"),
        pytest.param({"hours_from": 8, "hours_to": "18:00"}, "hours_from", id="from-a-number"),
        pytest.param({"hours_from": "08:00", "hours_to": "08:00"}, "hours_to", id="empty-window"),
        pytest.param({"known_customer": "yes"}, "known_customer", id="known-as-text"),
    ],
)
def test_invalid_conditions_are_refused_naming_the_condition(data, field):
    with pytest.raises(InvalidConditions) as refused:
        Conditions.from_dict(data)

    assert refused.value.field == field


def test_unknown_conditions_are_named_in_the_message():
    with pytest.raises(InvalidConditions, match="unknown condition colour, doors"):
        Conditions.from_dict({"doors": 4, "colour": "red", "makes": ["kia"]})


def test_times_that_differ_only_in_seconds_are_an_empty_window():
    # Conditions are stored to the minute: 08:00:10–08:00:50 would be stored as 08:00–08:00,
    # which could not be read back.
    with pytest.raises(InvalidConditions) as refused:
        Conditions.from_dict({"hours_from": "08:00:10", "hours_to": "08:00:50"})

    assert refused.value.field == "hours_to"


def test_times_are_read_to_the_minute():
    conditions = Conditions.from_dict({"hours_from": "08:15:30", "hours_to": time(17, 0, 59)})

    assert (conditions.hours_from, conditions.hours_to) == (time(8, 15), time(17, 0))


# --- as_dict and summary ------------------------------------------------------------------------


def test_as_dict_holds_only_the_conditions_that_are_set():
    conditions = Conditions.from_dict(
        {"makes": ["Kia"], "score_min": 0, "known_customer": False, "sources": []}
    )

    assert conditions.as_dict() == {"makes": ["kia"], "score_min": 0, "known_customer": False}


def test_as_dict_reads_back_to_the_same_conditions():
    conditions = Conditions.from_dict(
        {
            "sources": ["web_form"],
            "channels": ["chat"],
            "score_min": 40,
            "score_max": 90,
            "vehicle_condition": "used",
            "makes": ["Ford"],
            "weekdays": [5, 6],
            "hours_from": "20:00",
            "hours_to": "08:15",
            "known_customer": True,
        }
    )

    assert conditions.as_dict()["hours_to"] == "08:15"
    assert Conditions.from_dict(conditions.as_dict()) == conditions


def test_summary_reads_as_a_line_for_a_manager():
    conditions = Conditions.from_dict(
        {
            "sources": ["web_form"],
            "channels": ["chat", "sms"],
            "score_min": 70,
            "vehicle_condition": "new",
            "makes": ["land rover"],
            "weekdays": [0, 5],
            "hours_from": "09:00",
            "hours_to": "17:30",
            "known_customer": False,
        }
    )

    assert conditions.summary() == (
        "web_form · Chat, Text message · score 70–100 · new · Land Rover · Mon Sat · "
        "09:00–17:30 · new customers"
    )


def test_summary_of_a_score_ceiling_starts_at_zero():
    assert Conditions.from_dict({"score_max": 30}).summary() == "score 0–30"


def test_summary_of_no_conditions_is_every_lead():
    assert Conditions().summary() == "every lead"
