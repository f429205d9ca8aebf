"""Lead scoring: transparent points, each listed with why it was given.

The score reads what the customer did on the dealer's website before (and after) the inquiry —
sessions, forms, vehicles viewed, how recently — how reachable they are, how good the source's
leads usually are, and how soon they mean to buy. Managers change the weights (ScoreWeight rows);
the factor catalog, its defaults and the caps live here. Pure: no database access.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from dealercrm.vocabulary import band_for


@dataclass(frozen=True)
class Factor:
    label: str
    default_points: int
    cap: int = 1  # counted at most this many times


FACTORS = {
    "base": Factor("Every inquiry", 10),
    "website_session": Factor("Website session", 4, cap=5),
    "form_viewed": Factor("Form viewed on the website", 3, cap=3),
    "vehicle_viewed": Factor("Vehicle viewed on the website", 2, cap=5),
    "seen_recently": Factor("On the website in the last 24 hours", 10),
    "valid_phone": Factor("Valid phone number", 15),
    "valid_email": Factor("Valid e-mail address", 10),
    "specific_vehicle": Factor("Asked about a specific vehicle (VIN or stock number)", 5),
    "trade_in": Factor("Has a trade-in", 5),
    "horizon_within_week": Factor("Buying within a week", 20),
    "horizon_within_month": Factor("Buying within a month", 15),
    "horizon_within_3_months": Factor("Buying within 3 months", 10),
    "horizon_within_6_months": Factor("Buying within 6 months", 3),
    "horizon_later": Factor("Buying later than 6 months", -10),
}


@dataclass(frozen=True)
class ScoreFacts:
    """Everything the score depends on, gathered by intake."""

    now: datetime
    has_valid_phone: bool = False
    has_valid_email: bool = False
    specific_vehicle: bool = False
    has_trade_in: bool = False
    purchase_horizon: str = ""
    sessions: int = 0
    forms_viewed: int = 0
    vehicles_viewed: int = 0
    last_seen_at: datetime | None = None
    source_name: str = ""
    source_points: int = 0


@dataclass(frozen=True)
class Score:
    points: int
    factors: list  # [{"code", "label", "points", "detail"}], JSON-ready

    @property
    def band(self):
        return band_for(self.points)


def default_weights():
    return {code: factor.default_points for code, factor in FACTORS.items()}


def lead_score(facts, weights):
    """The score (0–100) and the factors that made it. `weights` maps factor codes to points;
    a code missing from it counts its default."""
    counts = {
        "base": 1,
        "website_session": facts.sessions,
        "form_viewed": facts.forms_viewed,
        "vehicle_viewed": facts.vehicles_viewed,
        "seen_recently": int(
            facts.last_seen_at is not None and facts.now - facts.last_seen_at <= timedelta(hours=24)
        ),
        "valid_phone": int(facts.has_valid_phone),
        "valid_email": int(facts.has_valid_email),
        "specific_vehicle": int(facts.specific_vehicle),
        "trade_in": int(facts.has_trade_in),
    }
    if facts.purchase_horizon:
        counts[f"horizon_{facts.purchase_horizon}"] = 1

    factors = []
    for code, count in counts.items():
        factor = FACTORS[code]
        times = min(count, factor.cap)
        points = weights.get(code, factor.default_points) * times
        if times and points:
            detail = f"{count} × {points // times}" if factor.cap > 1 else ""
            if count > factor.cap:
                detail += f" (counted up to {factor.cap})"
            factors.append(
                {"code": code, "label": factor.label, "points": points, "detail": detail}
            )
    if facts.source_points:
        factors.append(
            {
                "code": "source",
                "label": f"Source: {facts.source_name}",
                "points": facts.source_points,
                "detail": "",
            }
        )
    total = sum(factor["points"] for factor in factors)
    return Score(points=max(0, min(100, total)), factors=factors)
