"""The service KPIs (service.kpis): money at stake and lost revenue of a period, by reason with
the period before, by advisor and by month, what was won back, and the corrective actions'
before and after — exact figures from opportunities and losses built through the services."""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from dealercrm.models import Role
from dealercrm.periods import Period, default_period, latest_end, percent, period_refusal
from service.kpis import (
    ACTIONS_SHOWN,
    _came_back,
    action_windows,
    corrective_action_figures,
    service_kpis,
)
from service.models import CorrectiveAction, ServiceOpportunity
from service.services import (
    corrective_action_add,
    loss_log,
    loss_parts_arrived,
    opportunity_advance,
    recapture_book,
    recapture_decline,
)
from tests.factories import make_opportunity, make_staff

pytestmark = pytest.mark.django_db

# The period under test: the first quarter of 2025, 90 days; the one before runs from
# October 3 to December 31, 2024.
START, END = date(2025, 1, 1), date(2025, 3, 31)
AFTER = datetime(2025, 4, 10, 9)  # recoveries are booked after the period: not at stake in it


def at(year, month, day, hour=12, minute=0):
    return timezone.make_aware(datetime(year, month, day, hour, minute))


def opened(advisor, value, when, **fields):
    return make_opportunity(advisor=advisor, value=value, at=when, **fields)


def lose(opportunity, by, when, reason, event="order_cancelled", amount=None):
    return loss_log(
        opportunity=opportunity, event=event, reason=reason, by=by, amount=amount, at=when
    )


@pytest.fixture
def other_advisor(service_advisor):
    return make_staff(
        Role.SERVICE_ADVISOR, service_advisor.staff.team, username="finn", first_name="Finn"
    )


@pytest.fixture
def quarter(service_advisor, other_advisor):
    """Erin and Finn's first quarter of 2025 and the 90 days before it.

    In the period: 6,000.00 at stake (Erin 1,500, Finn 3,500, nobody 1,000) and 3,500.00 lost
    in four sales (one of them on an opportunity opened in the period before). Before it:
    2,300.00 at stake and 2,000.00 lost."""
    erin, finn = service_advisor, other_advisor
    o1 = opened(erin, "1000.00", at(2025, 1, 10))
    o2 = opened(erin, "500.00", at(2025, 2, 5))
    o3 = opened(finn, "2000.00", at(2025, 2, 20))
    opened(finn, "1500.00", at(2025, 3, 15))
    opened(None, "1000.00", at(2025, 3, 31, 23, 30))  # the last minutes of the period
    opened(erin, "700.00", at(2025, 4, 1, 0, 0))  # the first minute after it
    p1 = opened(erin, "800.00", at(2024, 10, 3, 0, 0))  # the first minute of the one before
    p2 = opened(finn, "1200.00", at(2024, 12, 1))
    p4 = opened(erin, "300.00", at(2024, 12, 20))
    early = opened(finn, "999.00", at(2024, 10, 2, 23, 59))  # before both periods
    losses = {
        "o1": lose(o1, erin, at(2025, 1, 12), "no_show", event="no_show"),
        "o2": lose(o2, erin, at(2025, 2, 6), "price_too_high", "scope_reduced", "200.00"),
        "o3": lose(o3, finn, at(2025, 3, 1), "missing_parts"),
        "p4": lose(p4, erin, at(2025, 1, 3), "no_capacity", event="appointment_cancelled"),
        "p1": lose(p1, erin, at(2024, 10, 5), "price_too_high"),
        "p2": lose(p2, finn, at(2024, 12, 2), "no_show", event="no_show"),
        "early": lose(early, finn, at(2024, 10, 2, 23, 0), "missing_parts"),
    }
    return losses


def by_code(kpis):
    return {row.code: row for row in kpis.by_reason}


def test_the_totals_count_what_was_opened_and_lost_in_the_period(quarter):
    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    totals = kpis.totals
    assert (totals.at_stake, totals.opened) == (Decimal("6000.00"), 5)
    assert (totals.lost, totals.losses) == (Decimal("3500.00"), 4)
    assert totals.percent == Decimal("58.3")
    assert kpis.period == Period(START, END)
    assert kpis.previous_period == Period(date(2024, 10, 3), date(2024, 12, 31))


def test_the_trend_compares_with_the_same_number_of_days_just_before(quarter):
    trend = service_kpis(START, END, today=date(2025, 4, 30)).trend

    previous = trend.previous
    assert (previous.at_stake, previous.opened) == (Decimal("2300.00"), 3)
    assert (previous.lost, previous.losses) == (Decimal("2000.00"), 2)
    assert previous.percent == Decimal("87.0")
    assert trend.lost_change == Decimal("1500.00")
    assert trend.lost_change_percent == Decimal("75.0")
    assert trend.at_stake_change == Decimal("3700.00")
    assert trend.percent_change == Decimal("-28.7")


def test_lost_revenue_by_reason_with_its_share_and_the_period_before(quarter):
    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    assert [row.code for row in kpis.by_reason] == [
        "missing_parts",
        "no_show",
        "no_capacity",
        "price_too_high",
    ]
    reasons = by_code(kpis)
    parts = reasons["missing_parts"]
    assert (parts.label, parts.lost, parts.losses) == ("Missing parts", Decimal("2000.00"), 1)
    assert (parts.percent_of_stake, parts.share_of_lost) == (Decimal("33.3"), Decimal("57.1"))
    # Its loss of October 2 was before the previous period began.
    assert (parts.previous_lost, parts.previous_losses) == (Decimal("0.00"), 0)
    assert (parts.change, parts.change_percent) == (Decimal("2000.00"), None)
    no_show = reasons["no_show"]
    assert (no_show.lost, no_show.percent_of_stake, no_show.share_of_lost) == (
        Decimal("1000.00"),
        Decimal("16.7"),
        Decimal("28.6"),
    )
    assert (no_show.previous_lost, no_show.change, no_show.change_percent) == (
        Decimal("1200.00"),
        Decimal("-200.00"),
        Decimal("-16.7"),
    )
    capacity = reasons["no_capacity"]
    assert (capacity.lost, capacity.percent_of_stake, capacity.share_of_lost) == (
        Decimal("300.00"),
        Decimal("5.0"),
        Decimal("8.6"),
    )
    price = reasons["price_too_high"]
    assert (price.lost, price.previous_lost, price.change, price.change_percent) == (
        Decimal("200.00"),
        Decimal("800.00"),
        Decimal("-600.00"),
        Decimal("-75.0"),
    )
    assert sum(row.share_of_lost for row in kpis.by_reason) == Decimal("100.0")


def test_a_reason_lost_only_in_the_period_before_is_listed_with_nothing_now(
    service_advisor, other_advisor
):
    before = opened(service_advisor, "400.00", at(2024, 11, 1))
    lose(before, service_advisor, at(2024, 11, 2), "competitor_offer")

    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    (row,) = kpis.by_reason
    assert (row.code, row.lost, row.previous_lost, row.change) == (
        "competitor_offer",
        Decimal("0.00"),
        Decimal("400.00"),
        Decimal("-400.00"),
    )
    assert (row.percent_of_stake, row.share_of_lost, row.change_percent) == (
        None,
        None,
        Decimal("-100.0"),
    )


def test_lost_revenue_by_advisor_against_their_money_at_stake(
    quarter, service_advisor, other_advisor
):
    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    rows = [
        (row.advisor_id, row.name, row.lost, row.losses, row.at_stake, row.opened, row.percent)
        for row in kpis.by_advisor
    ]
    money = Decimal
    assert rows == [
        (other_advisor.pk, "Finn finn", money("2000"), 1, money("3500"), 2, money("57.1")),
        # The loss of January 3 counts against Erin, though its opportunity opened before.
        (service_advisor.pk, "Erin erin", money("1500"), 3, money("1500"), 2, money("100.0")),
        (None, "No advisor", money("0"), 0, money("1000"), 1, money("0.0")),
    ]


def test_a_loss_stays_with_the_advisor_who_had_the_sale_when_it_was_lost(
    service_advisor, other_advisor
):
    job = opened(service_advisor, "600.00", at(2025, 2, 1))
    lose(job, service_advisor, at(2025, 2, 2), "price_too_high")
    # The opportunity changes hands afterwards (as an import or the admin may do).
    ServiceOpportunity.objects.filter(pk=job.pk).update(advisor=other_advisor)

    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    by_advisor = {row.advisor_id: row for row in kpis.by_advisor}
    assert by_advisor[service_advisor.pk].lost == Decimal("600.00")
    assert by_advisor[service_advisor.pk].at_stake == Decimal("0.00")
    assert by_advisor[service_advisor.pk].percent is None
    assert by_advisor[other_advisor.pk].lost == Decimal("0.00")
    assert by_advisor[other_advisor.pk].at_stake == Decimal("600.00")


def test_seasonality_gives_every_calendar_month_of_the_period(quarter):
    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    months = [
        (row.month, row.lost, row.losses, row.at_stake, row.opened, row.percent)
        for row in kpis.by_month
    ]
    assert months == [
        (date(2025, 1, 1), Decimal("1300.00"), 2, Decimal("1000.00"), 1, Decimal("130.0")),
        (date(2025, 2, 1), Decimal("200.00"), 1, Decimal("2500.00"), 2, Decimal("8.0")),
        (date(2025, 3, 1), Decimal("2000.00"), 1, Decimal("2500.00"), 2, Decimal("80.0")),
    ]


def test_months_without_anything_are_there_with_nothing(service_advisor):
    kpis = service_kpis(date(2025, 1, 15), date(2025, 4, 10), today=date(2025, 4, 30))

    assert [(row.month, row.lost, row.at_stake, row.percent) for row in kpis.by_month] == [
        (date(2025, month, 1), Decimal("0.00"), Decimal("0.00"), None) for month in (1, 2, 3, 4)
    ]
    assert (kpis.totals.at_stake, kpis.totals.lost, kpis.totals.percent) == (
        Decimal("0.00"),
        Decimal("0.00"),
        None,
    )
    assert kpis.by_reason == kpis.by_advisor == []


def test_days_and_months_are_the_dealerships_not_utc(settings, service_advisor):
    settings.TIME_ZONE = "America/New_York"
    # 22:00 in New York on January 31 is 03:00 UTC on February 1.
    late = opened(service_advisor, "100.00", at(2025, 1, 31, 22))
    lose(late, service_advisor, at(2025, 1, 31, 23), "no_show", event="no_show")
    # 20:00 on March 31 in New York is already April 1 in UTC: still in the period.
    opened(service_advisor, "50.00", at(2025, 3, 31, 20))

    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    january, february, march = kpis.by_month
    assert (january.at_stake, january.lost) == (Decimal("100.00"), Decimal("100.00"))
    assert (february.at_stake, february.lost) == (Decimal("0.00"), Decimal("0.00"))
    assert march.at_stake == Decimal("50.00")
    assert kpis.totals.at_stake == Decimal("150.00")


def test_recovery_counts_what_came_back_of_the_periods_losses(quarter, service_manager):
    manager = service_manager
    # Erin's no-show: rebooked for 900.00, the car not in yet.
    rebooked = loss_parts_arrived(loss=quarter["o1"], by=manager, at=at(2025, 4, 10))
    recapture_book(recapture=rebooked, by=manager, estimated_value="900.00", at=at(2025, 4, 10))
    # The reduced scope: booked back and delivered, invoiced 180.00.
    delivered = loss_parts_arrived(loss=quarter["o2"], by=manager, at=at(2025, 4, 11))
    booking = recapture_book(recapture=delivered, by=manager, at=at(2025, 4, 11))
    opportunity_advance(
        opportunity=booking, to_stage="delivered", by=manager, actual_value="180.00",
        at=at(2025, 4, 20),
    )  # fmt: skip
    # Finn's cancelled order: offered again, declined.
    declined = loss_parts_arrived(loss=quarter["o3"], by=manager, at=at(2025, 4, 12))
    recapture_decline(recapture=declined, by=manager, at=at(2025, 4, 12))
    # A loss of the period before, won back: not this period's.
    earlier = loss_parts_arrived(loss=quarter["p1"], by=manager, at=at(2025, 1, 5))
    won_before = recapture_book(recapture=earlier, by=manager, at=at(2025, 4, 13))
    opportunity_advance(
        opportunity=won_before, to_stage="delivered", by=manager, at=at(2025, 4, 21)
    )

    recovery = service_kpis(START, END, today=date(2025, 4, 30)).recovery

    assert (recovery.lost, recovery.losses) == (Decimal("3500.00"), 4)
    assert (recovery.won_back, recovery.won_back_count) == (Decimal("180.00"), 1)
    assert recovery.won_back_percent == Decimal("5.1")
    assert (recovery.booked_back, recovery.booked_back_count) == (Decimal("900.00"), 1)
    assert recovery.booked_back_percent == Decimal("25.7")
    assert (recovery.recaptures, recovery.recaptures_booked) == (3, 2)


def test_a_loss_logged_late_with_an_earlier_date_is_not_counted_as_the_periods(
    service_advisor, service_manager, django_assert_num_queries
):
    """The period's losses are usually a run of ids; a loss logged afterwards with a date
    before the period breaks the run, and its recaptures must not count."""
    erin, manager = service_advisor, service_manager
    first = lose(opened(erin, "300.00", at(2025, 1, 5)), erin, at(2025, 1, 6), "no_show", "no_show")
    backdated = lose(opened(erin, "500.00", at(2024, 6, 1)), erin, at(2024, 6, 2), "no_contact")
    last = lose(opened(erin, "200.00", at(2025, 3, 5)), erin, at(2025, 3, 6), "missing_parts")
    assert first.pk < backdated.pk < last.pk
    for loss in (first, backdated, last):
        loss_parts_arrived(loss=loss, by=manager, at=at(2025, 4, 1))
    booked = recapture_book(
        recapture=backdated.recaptures.get(), by=manager, estimated_value="450.00",
        at=at(2025, 4, 2),
    )  # fmt: skip

    with django_assert_num_queries(4):  # the highest id, the run (broken), the lowest, the rest
        came_back = _came_back(Period(START, END), 2)

    assert came_back == {("recapture", "open"): (2, None)}
    recovery = service_kpis(START, END, today=date(2025, 4, 30)).recovery
    assert (recovery.recaptures, recovery.recaptures_booked) == (2, 0)
    assert (recovery.booked_back, recovery.booked_back_count) == (Decimal("0.00"), 0)
    assert booked.recovers_id == backdated.pk


def test_nothing_lost_nothing_won_back(service_advisor):
    recovery = service_kpis(START, END, today=date(2025, 4, 30)).recovery

    assert (recovery.lost, recovery.won_back, recovery.booked_back) == (Decimal("0.00"),) * 3
    assert (recovery.won_back_percent, recovery.recaptures) == (None, 0)


# --- corrective actions ----------------------------------------------------------------------


def loss_on(advisor, day, reason, amount, event="order_cancelled"):
    job = opened(advisor, amount, timezone.make_aware(datetime.combine(day, time(9))))
    event = "no_show" if reason == "no_show" else event
    return lose(job, advisor, timezone.make_aware(datetime.combine(day, time(10))), reason, event)


def test_a_corrective_action_compares_its_reasons_share_before_and_after(
    service_advisor, service_manager
):
    erin = service_advisor
    action = corrective_action_add(
        reason="missing_parts", action="Stock brake pads", started_on=date(2025, 3, 1),
        by=service_manager,
    )  # fmt: skip
    today = date(2025, 4, 29)  # 60 days since the start, the start included
    # Before: December 31 to February 28 (60 days).
    loss_on(erin, date(2024, 12, 30), "missing_parts", "999.00")  # a day too early
    loss_on(erin, date(2024, 12, 31), "missing_parts", "100.00")
    loss_on(erin, date(2025, 2, 28), "missing_parts", "300.00")
    loss_on(erin, date(2025, 1, 10), "no_show", "200.00")
    loss_on(erin, date(2025, 2, 1), "no_show", "400.00")
    # After: March 1 to April 29.
    loss_on(erin, date(2025, 3, 1), "missing_parts", "100.00")
    loss_on(erin, date(2025, 3, 2), "no_show", "100.00")
    loss_on(erin, date(2025, 4, 1), "no_show", "100.00")
    loss_on(erin, date(2025, 4, 29), "no_show", "200.00")

    (row,) = corrective_action_figures([action], today)

    assert (row.window_days, row.complete, row.days_observed) == (60, True, 60)
    assert (row.before_start, row.before_end) == (date(2024, 12, 31), date(2025, 2, 28))
    assert (row.after_start, row.after_end) == (date(2025, 3, 1), date(2025, 4, 29))
    assert (row.before_reason_losses, row.before_losses) == (2, 4)
    assert (row.after_reason_losses, row.after_losses) == (1, 4)
    assert (row.before_count_share, row.after_count_share, row.count_share_change) == (
        Decimal("50.0"),
        Decimal("25.0"),
        Decimal("-25.0"),
    )
    assert (row.before_reason_lost, row.before_lost) == (Decimal("400.00"), Decimal("1000.00"))
    assert (row.after_reason_lost, row.after_lost) == (Decimal("100.00"), Decimal("500.00"))
    assert (row.before_money_share, row.after_money_share, row.money_share_change) == (
        Decimal("40.0"),
        Decimal("20.0"),
        Decimal("-20.0"),
    )
    assert (row.reason_label, row.action) == ("Missing parts", "Stock brake pads")


def test_the_windows_are_at_least_30_and_at_most_180_days():
    started = date(2025, 3, 1)

    def windows(today):
        found = action_windows(started, today)
        assert found.started_on == started
        return (found.days, found.before_start, found.after_end)

    assert windows(date(2025, 3, 10)) == (30, date(2025, 1, 30), date(2025, 3, 30))
    assert windows(date(2025, 3, 30)) == (30, date(2025, 1, 30), date(2025, 3, 30))
    assert windows(date(2025, 3, 31))[0] == 31
    assert windows(date(2025, 8, 27)) == (180, date(2024, 9, 2), date(2025, 8, 27))
    assert windows(date(2026, 3, 1)) == (180, date(2024, 9, 2), date(2025, 8, 27))


def test_a_young_action_is_provisional_and_counts_only_the_days_so_far(
    service_advisor, service_manager
):
    action = corrective_action_add(
        reason="no_show", action="Text reminders", started_on=date(2025, 4, 20),
        by=service_manager,
    )  # fmt: skip
    loss_on(service_advisor, date(2025, 4, 21), "no_show", "100.00")
    loss_on(service_advisor, date(2025, 4, 22), "price_too_high", "300.00")
    loss_on(service_advisor, date(2025, 3, 25), "no_show", "100.00")

    (row,) = corrective_action_figures([action], date(2025, 4, 29))

    assert (row.window_days, row.complete, row.days_observed) == (30, False, 10)
    assert (row.before_start, row.after_end) == (date(2025, 3, 21), date(2025, 5, 19))
    assert (row.before_count_share, row.after_count_share) == (Decimal("100.0"), Decimal("50.0"))
    assert (row.before_money_share, row.after_money_share) == (Decimal("100.0"), Decimal("25.0"))


def test_actions_with_overlapping_windows_are_read_in_one_query(
    service_advisor, service_manager, django_assert_num_queries
):
    parts = corrective_action_add(
        reason="missing_parts", action="Stock parts", started_on=date(2025, 2, 1),
        by=service_manager,
    )  # fmt: skip
    shows = corrective_action_add(
        reason="no_show", action="Reminders", started_on=date(2025, 3, 1), by=service_manager
    )
    loss_on(service_advisor, date(2025, 1, 20), "missing_parts", "100.00")  # before both
    loss_on(service_advisor, date(2025, 2, 10), "no_show", "100.00")  # after 1, before 2
    loss_on(service_advisor, date(2025, 3, 10), "missing_parts", "100.00")  # after both
    actions = list(CorrectiveAction.objects.select_related("reason").order_by("started_on"))

    with django_assert_num_queries(1):
        first, second = corrective_action_figures(actions, date(2025, 4, 29))

    assert (first.action_id, second.action_id) == (parts.pk, shows.pk)
    # 88 days after February 1 (to April 29): before from November 5.
    assert (first.window_days, first.before_start) == (88, date(2024, 11, 5))
    assert (first.before_count_share, first.after_count_share) == (
        Decimal("100.0"),
        Decimal("50.0"),
    )
    assert (second.window_days, second.before_start) == (60, date(2024, 12, 31))
    assert (second.before_count_share, second.after_count_share) == (
        Decimal("50.0"),
        Decimal("0.0"),
    )


def test_the_kpis_list_the_actions_started_in_the_period(service_manager):
    for day in range(1, ACTIONS_SHOWN + 2):
        corrective_action_add(
            reason="no_show", action=f"Action {day}", started_on=date(2025, 1, day),
            by=service_manager,
        )  # fmt: skip
    corrective_action_add(
        reason="no_show", action="Last year", started_on=date(2024, 12, 31), by=service_manager
    )

    kpis = service_kpis(START, END, today=date(2025, 4, 30))

    assert [row.action for row in kpis.actions] == [
        f"Action {day}" for day in range(ACTIONS_SHOWN + 1, 1, -1)
    ]
    assert kpis.more_actions is True


# --- periods -----------------------------------------------------------------------------------


def test_the_default_period_is_twelve_calendar_months_up_to_today():
    assert default_period(date(2025, 11, 23)) == Period(date(2024, 12, 1), date(2025, 11, 23))
    assert default_period(date(2025, 1, 5)) == Period(date(2024, 2, 1), date(2025, 1, 5))


def test_a_period_is_refused_when_it_ends_before_it_starts_or_runs_over_three_years():
    assert period_refusal(date(2025, 1, 1), date(2025, 1, 1)) == ""
    assert "before it starts" in period_refusal(date(2025, 1, 2), date(2025, 1, 1))
    assert latest_end(date(2022, 1, 1)) == date(2024, 12, 31)
    assert period_refusal(date(2022, 1, 1), date(2024, 12, 31)) == ""
    assert "longer than 3 years" in period_refusal(date(2022, 1, 1), date(2025, 1, 1))
    assert latest_end(date(2024, 2, 29)) == date(2027, 2, 28)


def test_percentages_round_half_up_to_one_decimal():
    assert percent(Decimal("1"), Decimal("8")) == Decimal("12.5")
    assert percent(Decimal("1"), Decimal("3")) == Decimal("33.3")
    assert percent(Decimal("2"), Decimal("3")) == Decimal("66.7")
    assert percent(5, 0) is None
    assert Period(START, END).before().days == Period(START, END).days == 90
    assert Period(START, END).since + timedelta(days=90) == Period(START, END).until
