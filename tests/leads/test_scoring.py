"""Scoring: transparent points from behaviour, reachability, source and horizon."""

from datetime import UTC, datetime, timedelta

import pytest

from dealercrm.vocabulary import band_for
from leads.models import ScoreWeight
from leads.scoring import ScoreFacts, default_weights, lead_score

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


def codes(score):
    return {factor["code"]: factor["points"] for factor in score.factors}


def test_every_factor_is_listed_with_its_points():
    score = lead_score(
        ScoreFacts(
            now=NOW,
            has_valid_phone=True,
            has_valid_email=True,
            specific_vehicle=True,
            has_trade_in=True,
            purchase_horizon="within_week",
            sessions=2,
            forms_viewed=1,
            vehicles_viewed=3,
            last_seen_at=NOW - timedelta(hours=3),
            source_name="Our website",
            source_points=10,
        ),
        default_weights(),
    )

    assert codes(score) == {
        "base": 10,
        "website_session": 8,
        "form_viewed": 3,
        "vehicle_viewed": 6,
        "seen_recently": 10,
        "valid_phone": 15,
        "valid_email": 10,
        "specific_vehicle": 5,
        "trade_in": 5,
        "horizon_within_week": 20,
        "source": 10,
    }
    assert score.points == 100  # 102, capped
    assert score.band == "hot"


def test_counted_factors_stop_at_their_cap_and_say_so():
    score = lead_score(ScoreFacts(now=NOW, sessions=9), default_weights())

    [session] = [factor for factor in score.factors if factor["code"] == "website_session"]
    assert session["points"] == 20
    assert session["detail"] == "9 × 4 (counted up to 5)"


def test_a_manager_weight_replaces_the_default_and_a_score_never_drops_below_zero():
    weights = {**default_weights(), "base": 0, "horizon_later": -40}

    score = lead_score(ScoreFacts(now=NOW, purchase_horizon="later"), weights)

    assert codes(score) == {"horizon_later": -40}
    assert score.points == 0
    assert score.band == "cold"


def test_seen_more_than_a_day_ago_is_not_recent():
    score = lead_score(
        ScoreFacts(now=NOW, last_seen_at=NOW - timedelta(hours=25)), default_weights()
    )

    assert "seen_recently" not in codes(score)


@pytest.mark.parametrize(
    ("points", "band"), [(0, "cold"), (39, "cold"), (40, "warm"), (69, "warm"), (70, "hot")]
)
def test_bands(points, band):
    assert band_for(points) == band


@pytest.mark.django_db
def test_the_weights_a_dealership_starts_with_are_the_catalogs_defaults():
    assert dict(ScoreWeight.objects.values_list("code", "points")) == default_weights()
