"""A rule's conditions: which leads it takes. Stored as JSON on the rule, read and checked here.

Every condition left empty matches every lead; the ones given must all hold.
"""

from dataclasses import dataclass, fields
from datetime import time

from dealercrm.vocabulary import LeadChannel
from routing.errors import InvalidRule

VEHICLE_CONDITIONS = ("new", "used")
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class InvalidConditions(InvalidRule):
    """The conditions of a rule do not make sense; `field` names the condition."""


@dataclass(frozen=True)
class Conditions:
    sources: tuple = ()  # lead source keys
    channels: tuple = ()
    score_min: int | None = None
    score_max: int | None = None
    vehicle_condition: str = ""  # "new", "used" or "" for either
    makes: tuple = ()  # lower-case
    weekdays: tuple = ()  # 0 = Monday, in the dealership's time zone
    hours_from: time | None = None  # local time window [from, to); may wrap past midnight
    hours_to: time | None = None
    known_customer: bool | None = None  # True: the customer was known before the inquiry

    @classmethod
    def from_dict(cls, data):
        """Read and check conditions as stored or posted; raises InvalidConditions."""
        data = data or {}
        if not isinstance(data, dict):
            raise InvalidConditions("conditions", "must be an object.")
        unknown = set(data) - {field.name for field in fields(cls)}
        if unknown:
            raise InvalidConditions(
                "conditions", f"unknown condition {', '.join(sorted(unknown))}."
            )
        channels = _texts(data, "channels")
        bad = sorted(set(channels) - set(LeadChannel.values))
        if bad:
            raise InvalidConditions("channels", f"unknown channel {', '.join(bad)}.")
        score_min = _score(data, "score_min")
        score_max = _score(data, "score_max")
        if score_min is not None and score_max is not None and score_min > score_max:
            raise InvalidConditions("score_max", "must not be below score_min.")
        vehicle_condition = data.get("vehicle_condition") or ""
        if vehicle_condition not in ("", *VEHICLE_CONDITIONS):
            raise InvalidConditions("vehicle_condition", "must be new, used or empty.")
        weekdays = data.get("weekdays") or ()
        if not isinstance(weekdays, list | tuple) or any(
            not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6
            for day in weekdays
        ):
            raise InvalidConditions("weekdays", "must be a list of 0 (Monday) to 6 (Sunday).")
        hours_from = _time(data, "hours_from")
        hours_to = _time(data, "hours_to")
        if (hours_from is None) != (hours_to is None):
            raise InvalidConditions("hours_to", "give both hours_from and hours_to, or neither.")
        if hours_from is not None and hours_from == hours_to:
            raise InvalidConditions("hours_to", "must differ from hours_from.")
        known = data.get("known_customer")
        if known is not None and not isinstance(known, bool):
            raise InvalidConditions("known_customer", "must be true, false or null.")
        return cls(
            sources=tuple(sorted(set(_texts(data, "sources")))),
            channels=tuple(sorted(set(channels))),
            score_min=score_min,
            score_max=score_max,
            vehicle_condition=vehicle_condition,
            makes=tuple(sorted({make.lower() for make in _texts(data, "makes")})),
            weekdays=tuple(sorted(set(weekdays))),
            hours_from=hours_from,
            hours_to=hours_to,
            known_customer=known,
        )

    def as_dict(self):
        """The JSON form, with only the conditions that are set."""
        data = {
            "sources": list(self.sources),
            "channels": list(self.channels),
            "score_min": self.score_min,
            "score_max": self.score_max,
            "vehicle_condition": self.vehicle_condition,
            "makes": list(self.makes),
            "weekdays": list(self.weekdays),
            "hours_from": self.hours_from.strftime("%H:%M") if self.hours_from else None,
            "hours_to": self.hours_to.strftime("%H:%M") if self.hours_to else None,
            "known_customer": self.known_customer,
        }
        return {name: value for name, value in data.items() if value not in (None, "", [])}

    def mismatch(self, lead):
        """Why `lead` (routing.engine.LeadFacts) does not match, in a few words; None when it
        matches."""
        if self.sources and lead.source not in self.sources:
            return f"source {lead.source or '(none)'} is not {_either(self.sources)}"
        if self.channels and lead.channel not in self.channels:
            return f"channel {lead.channel or '(none)'} is not {_either(self.channels)}"
        if self.score_min is not None and lead.score < self.score_min:
            return f"score {lead.score} is below {self.score_min}"
        if self.score_max is not None and lead.score > self.score_max:
            return f"score {lead.score} is above {self.score_max}"
        if self.vehicle_condition and lead.vehicle_condition != self.vehicle_condition:
            return f"not a {self.vehicle_condition} vehicle"
        if self.makes and lead.make.lower() not in self.makes:
            return f"make {lead.make or '(none)'} is not {_either(self.makes)}"
        local = lead.local_time
        if self.weekdays and local.weekday() not in self.weekdays:
            return f"{WEEKDAY_NAMES[local.weekday()]} is not a rule day"
        if self.hours_from is not None and not _within(
            local.time(), self.hours_from, self.hours_to
        ):
            return f"{local:%H:%M} is outside {self.hours_from:%H:%M}–{self.hours_to:%H:%M}"
        if self.known_customer is not None and lead.known_customer != self.known_customer:
            return "a known customer" if lead.known_customer else "a new customer"
        return None

    def summary(self):
        """The conditions in a line a manager reads: "web_form · hot (70+) · Toyota"."""
        parts = []
        if self.sources:
            parts.append(", ".join(self.sources))
        if self.channels:
            parts.append(", ".join(LeadChannel(channel).label for channel in self.channels))
        if self.score_min is not None or self.score_max is not None:
            parts.append(
                f"score {self.score_min or 0}–{100 if self.score_max is None else self.score_max}"
            )
        if self.vehicle_condition:
            parts.append(self.vehicle_condition)
        if self.makes:
            parts.append(", ".join(make.title() for make in self.makes))
        if self.weekdays:
            parts.append(" ".join(WEEKDAY_NAMES[day] for day in self.weekdays))
        if self.hours_from is not None:
            parts.append(f"{self.hours_from:%H:%M}–{self.hours_to:%H:%M}")
        if self.known_customer is not None:
            parts.append("known customers" if self.known_customer else "new customers")
        return " · ".join(parts) or "every lead"


def _either(values):
    return " or ".join(values)


def _within(moment, start, end):
    if start < end:
        return start <= moment < end
    return moment >= start or moment < end  # a window past midnight, e.g. 20:00–08:00


def _texts(data, name):
    values = data.get(name) or ()
    if not isinstance(values, list | tuple) or not all(
        isinstance(value, str) and value.strip() for value in values
    ):
        raise InvalidConditions(name, "must be a list of non-empty texts.")
    return [value.strip() for value in values]


def _score(data, name):
    value = data.get(name)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 100:
        raise InvalidConditions(name, "must be a whole number from 0 to 100.")
    return value


def _time(data, name):
    value = data.get(name)
    if value in (None, ""):
        return None
    if not isinstance(value, time):
        try:
            value = time.fromisoformat(value)
        except (TypeError, ValueError):
            raise InvalidConditions(name, "must be a time such as 08:00.") from None
    # To the minute, as as_dict stores it: a window checked with seconds could be stored empty
    # (08:00:10–08:00:50 as 08:00–08:00) and then not read back.
    return value.replace(second=0, microsecond=0)
