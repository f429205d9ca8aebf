"""The service KPIs' server time at half a million service opportunities, against the bare SQL
aggregates they stand for, measured in one run.

The requirement: with 500,000 service opportunities over three years in the database, the KPI
page `/service/kpis/` (its default period, the last 12 months) renders in at most 300 ms of
server time for a service manager.

This starts a throwaway PostgreSQL cluster, creates `--advisors` service advisors and a service
manager through the services, and loads in set-wise SQL (INSERT ... SELECT FROM generate_series;
secondary indexes dropped during the load and rebuilt after, foreign-key triggers off; VACUUM
ANALYZE and CHECKPOINT after):

- `--customers` customers with one car each;
- `--opportunities` service opportunities spread evenly over `--years` years up to now, from
  every source (bookings half of them), each with its stage, status, values and times as the
  services would have left them: delivered (won), lost, or still open when recent;
- a loss on about `--loss-share` of them, more in winter and in the summer holidays: no-shows and
  cancelled appointments before the car is in, cancelled orders and reduced scopes in the
  workshop, declined quotes (some for the whole quote); reasons from the catalog's service-loss
  reasons, weighted by event and by season (no workshop capacity in the tyre months, postponed in
  the holidays, no-shows in winter). A whole loss closes its opportunity; a partial one lowers
  its estimate. Three corrective actions, each from a date, make their reason rarer after it;
- what the recapture sweep and the advisors did since: each loss whose follow-up day has come
  was claimed with its rebook or follow-up task; about a tenth of the older ones were won back
  (a recovery booking that `recovers` the loss, counted among the opportunities), a quarter
  given up, the rest declined again or still open; work declined on price that a campaign's
  keyword fits was offered again while the campaign ran (the last one runs now);
- every opportunity's history: its creation, its delivery, its losses, recaptures and
  recoveries; some customer issues.

Then, logged in as the service manager through Django's test client (the whole request in this
process: middleware, session, the view, the template or serializer, no network), it requests
the page, the API `/api/v1/service/kpis/` and the CSV `/service/kpis.csv`, `--warmup` untimed
turns then `--turns` timed ones. The baseline, measured in the same turns (the order rotates
each turn), is what the page cannot do without: the bare aggregates run through a cursor on the
same connection (lost money and count by reason, by month and reason, the money at stake in the
period). Their ratio says what the page adds to the database's floor. Every query the page, the
API and the CSV ran is EXPLAIN ANALYZEd once: plan nodes, scans and time, so a slow one is easy
to find (the text plans of the page's go to stderr).

    .venv/bin/python bench/service_kpis.py [--opportunities 500000] [--customers 100000]
        [--advisors 20] [--years 3] [--loss-share 0.25] [--turns 15] [--warmup 3] [--seed 1]
    .venv/bin/python bench/service_kpis.py --quick      # 50,000 opportunities: a first check
    .venv/bin/python bench/service_kpis.py --build-only # the data and its checks, no requests

A URL that does not answer 200 (the page is built elsewhere; it answers 501 until it exists) is
reported with its status and left out of the figures. Prints one JSON object; progress goes to
stderr.
"""

import argparse
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk import BulkLoad, fetch, queries_explained, spread, weighted_case  # noqa: E402
from bench.pg import django_setup, throwaway_postgres  # noqa: E402

TARGET_PAGE_MS = 300
PAGE_URL = "/service/kpis/"
API_URL = "/api/v1/service/kpis/"
CSV_URL = "/service/kpis.csv"
# The KPIs' period when service.kpis does not say.
PERIOD_DAYS = 365
# The corrective actions prevent about 7% of the losses there would have been: the share drawn
# is raised by as much, so that about --loss-share of the opportunities end up with a loss.
LOSS_CALIBRATION = 1.08
# Share of the opportunities that are recovery bookings of earlier losses.
RECOVERY_SHARE = 0.025

# (source, share of opportunities)
SOURCES = [
    ("booking", 0.50),
    ("visit", 0.14),
    ("quote", 0.14),
    ("campaign", 0.06),
    ("web", 0.08),
    ("marketing", 0.04),
    ("external", 0.04),
]
# The events a loss can be, by the kind of source: a walk-in has no appointment to miss, a quote
# is mostly declined.
EVENTS = {
    "quote": [("quote_declined", 0.75), ("scope_reduced", 0.25)],
    "visit": [("scope_reduced", 0.60), ("order_cancelled", 0.40)],
    "booked": [
        ("no_show", 0.28),
        ("appointment_cancelled", 0.30),
        ("scope_reduced", 0.25),
        ("order_cancelled", 0.07),
        ("quote_declined", 0.10),
    ],
}
# Reasons by event (weights), before the season's multipliers.
REASONS = {
    "no_show": {"no_show": 70, "no_contact": 20, "customer_postponed": 10},
    "appointment_cancelled": {
        "customer_postponed": 35,
        "no_capacity": 20,
        "missing_parts": 20,
        "competitor_offer": 15,
        "other": 10,
    },
    "order_cancelled": {
        "missing_parts": 35,
        "price_too_high": 30,
        "competitor_offer": 20,
        "other": 15,
    },
    "scope_reduced": {"price_too_high": 60, "customer_postponed": 30, "missing_parts": 10},
    "quote_declined": {
        "price_too_high": 45,
        "competitor_offer": 25,
        "no_contact": 15,
        "customer_postponed": 15,
    },
}
# Months and what weighs more in them: the workshop is full when tyres are changed, customers
# postpone in the holidays and miss appointments in winter.
SEASONS = {
    "tyres": ([4, 10, 11], {"no_capacity": 3.0, "missing_parts": 1.5}),
    "holidays": ([7, 8], {"customer_postponed": 2.0, "no_contact": 1.5}),
    "winter": ([12, 1, 2], {"no_show": 1.5, "no_contact": 1.3}),
    "other": ([3, 5, 6, 9], {}),
}
# How much more (or less) often a sale is lost in each month, January first.
LOSS_SEASON = [1.2, 1.1, 0.95, 0.9, 0.9, 0.95, 1.15, 1.15, 0.9, 0.9, 1.0, 1.25]
# (reason, days before now it started, share of that reason's losses it prevents, action)
CORRECTIVE_ACTIONS = [
    ("no_capacity", 420, 0.5, "Saturday shifts in the tyre season"),
    ("missing_parts", 300, 0.5, "Stock brake pads and filters for the ten most serviced models"),
    ("no_show", 180, 0.4, "Text reminder the day before every appointment"),
]
# (name, offer, keyword, month, day): two campaigns a year, each for four weeks.
CAMPAIGNS = [
    ("Spring brake week", "20% off brake pads and discs", "brake", 3, 15),
    ("Winter tyre fitting", "Free fitting with four winter tyres", "tyre", 10, 1),
]
PRICE_REASONS = ("price_too_high", "competitor_offer")
REBOOKED = ("no_show", "appointment_cancelled")
# (title, the work line declined or reduced)
WORK = [
    ("Annual service", "Cabin air filter"),
    ("Oil and filter change", "Wiper blades"),
    ("Brake inspection", "Front brake pads"),
    ("Brake noise", "Rear brake discs"),
    ("Tyre change", "Four winter tyres"),
    ("Air conditioning service", "A/C recharge"),
    ("Timing belt replacement", "Timing belt kit"),
    ("Battery check", "Battery"),
    ("Wheel alignment", "Wheel alignment"),
    ("Diagnostics: warning light", "Brake fluid change"),
]
MAKES = ["Toyota", "Honda", "Ford", "Kia", "Chevrolet", "Hyundai", "Subaru", "Nissan"]
MODELS = ["RAV4", "CR-V", "F-150", "Sportage", "Equinox", "Tucson", "Outback", "Rogue"]
TABLES = [
    "dealercrm_customer",
    "dealercrm_vehicle",
    "service_serviceopportunity",
    "service_serviceloss",
    "service_recapture",
    "service_serviceevent",
    "service_customerissue",
]


def log(line):
    print(line, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=500_000)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--advisors", type=int, default=20)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--loss-share", type=float, default=0.25)
    parser.add_argument("--turns", type=int, default=15)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quick", action="store_true", help="50,000 opportunities and 10,000 customers"
    )
    parser.add_argument("--build-only", action="store_true", help="build and check; no requests")
    args = parser.parse_args()
    if args.quick:
        args.opportunities, args.customers = 50_000, 10_000
    if args.turns < 3:
        parser.error("--turns must be at least 3")
    if not 0 < args.loss_share < 0.8:
        parser.error("--loss-share must be above 0 and below 0.8")
    if args.years < 2:
        parser.error("--years must be at least 2 (the period is the last 12 months)")

    started = time.perf_counter()
    with throwaway_postgres(log=log, conf={"max_wal_size": "4GB"}) as database_url:
        # The test client talks plain HTTP to "localhost": no HTTPS redirect.
        django_setup(database_url, SECURE_SSL_REDIRECT="false", ALLOWED_HOSTS="localhost")
        result = run(args)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


def run(args):
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    now = timezone.now().replace(second=0, microsecond=0)
    people = staff_setup(args.advisors)
    build = data_load(args, people, now)
    sizes = sizes_count(now)
    log(f"loaded: {json.dumps(sizes)}")
    checks = data_check(now)
    log(f"checks: {json.dumps(checks)}")
    result = {
        "benchmark": "service KPIs: page, API and CSV server time against the bare aggregates",
        "database": f"PostgreSQL {version} (throwaway cluster, default settings, durable)",
        "data": sizes,
        "data_checks": checks,
        "build_seconds": build,
    }
    if args.build_only:
        return result
    result.update(measure(args, people["manager"], now))
    return result


def staff_setup(count):
    """`count` service advisors and a service manager in the Service team, through the service
    that gives them their role's group."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from dealercrm.models import Role, Team
    from dealercrm.services import staff_create

    with transaction.atomic():
        team = Team.objects.create(name="Service", kind=Team.Kind.SERVICE)
        advisors = [
            staff_create(
                username=f"advisor{n:02d}",
                role=Role.SERVICE_ADVISOR,
                team=team,
                first_name="Advisor",
                last_name=f"{n:02d}",
            )
            for n in range(count)
        ]
        manager = staff_create(
            username="servicemanager",
            role=Role.SERVICE_MANAGER,
            team=team,
            first_name="Service",
            last_name="Manager",
        )
    return {
        "advisors": [user.pk for user in advisors],
        "manager": get_user_model().objects.get(pk=manager.pk),
    }


# --- the data ------------------------------------------------------------------------------------


def reason_case():
    """The reason of a loss, by its event and its month's season (the weights of REASONS times
    the season's multipliers)."""
    branches = []
    for event, base in REASONS.items():
        for months, boost in SEASONS.values():
            weights = [(code, weight * boost.get(code, 1.0)) for code, weight in base.items()]
            month_list = ", ".join(str(m) for m in months)
            branches.append(
                f"WHEN event = '{event}' AND month IN ({month_list}) "
                f"THEN {weighted_case('r_reason', weights)}"
            )
    return f"CASE {' '.join(branches)} END"


def event_case():
    groups = {
        "quote": "source = 'quote'",
        "visit": "source = 'visit'",
        "booked": "source NOT IN ('quote', 'visit')",
    }
    branches = [
        f"WHEN {groups[group]} THEN {weighted_case('r_event', EVENTS[group])}" for group in groups
    ]
    return f"CASE {' '.join(branches)} END"


# One row per (non-recovery) opportunity: when it came, from where, its value, and whether it is
# lost in part or in whole, for which event and reason. Created evenly over the span, so ids
# follow time as they would.
PLAN_SQL = """
CREATE UNLOGGED TABLE opp_plan AS
SELECT r.*, r.r_loss < %(loss_share)s * (%(season)s::float8[])[r.month]
    AND NOT ({prevented}) AS has_loss
FROM (
SELECT e.*, {reason_case} AS reason_code
FROM (
    SELECT s.*, {event_case} AS event
    FROM (
        SELECT d.*, {source_case} AS source,
            extract(month FROM d.created_at AT TIME ZONE %(tz)s)::int AS month,
            round((60 + 1440 * d.r_value * d.r_value)::numeric, 2) AS value
        FROM (
            SELECT n AS id,
                %(start)s::timestamptz + (n - 1 + random()) * (%(span)s::interval / %(base)s)
                    AS created_at,
                1 + floor(random() * %(customers)s)::bigint AS customer_id,
                random() AS r_source, random() AS r_loss, random() AS r_event,
                random() AS r_reason, random() AS r_value, random() AS r_time,
                random() AS r_part, random() AS r_whole, random() AS r_fix,
                random() AS r_recovery, random() AS r_work, random() AS r_hour
            FROM generate_series(1, %(base)s) AS n
        ) AS d
    ) AS s
) AS e
) AS r
"""

# When each step would happen: the appointment (bookings and leads), the check-in, the delivery;
# the loss, when it is one and it has happened by now.
TIMES_SQL = """
CREATE UNLOGGED TABLE opp_times AS
SELECT p.id, p.customer_id, p.source, p.value, p.created_at, p.event, p.reason_code, p.r_part,
    p.r_whole, p.r_recovery, p.r_work, p.r_time, t.booked_for, c.checkin_at, d.deliver_at,
    CASE WHEN l.loss_at <= %(now)s THEN l.loss_at END AS loss_at,
    coalesce(l.loss_at <= %(now)s AND (p.event IN ('no_show', 'appointment_cancelled',
        'order_cancelled') OR (p.event = 'quote_declined' AND p.r_whole < 0.6)), false) AS whole
FROM opp_plan AS p
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.source IN ('visit', 'quote') THEN NULL
        ELSE date_trunc('day', p.created_at + (1 + floor(p.r_time * 14)) * interval '1 day')
            + (8 + floor(p.r_hour * 9)) * interval '1 hour' END AS booked_for
) AS t
CROSS JOIN LATERAL (
    SELECT CASE p.source WHEN 'visit' THEN p.created_at
        WHEN 'quote' THEN p.created_at + (2 + 8 * p.r_time) * interval '1 day'
        ELSE t.booked_for END AS checkin_at
) AS c
CROSS JOIN LATERAL (
    SELECT c.checkin_at + (2 + 46 * p.r_part) * interval '1 hour' AS deliver_at
) AS d
CROSS JOIN LATERAL (
    SELECT CASE WHEN NOT p.has_loss THEN NULL
        WHEN p.event = 'no_show' THEN t.booked_for + interval '30 minutes'
        WHEN p.event = 'appointment_cancelled'
            THEN p.created_at + (t.booked_for - p.created_at) * p.r_part
        WHEN p.event IN ('order_cancelled', 'scope_reduced')
            THEN c.checkin_at + (d.deliver_at - c.checkin_at) * (0.1 + 0.4 * p.r_part)
        ELSE p.created_at + (c.checkin_at - p.created_at) * p.r_part END AS loss_at
) AS l
"""

# The opportunities as the services would have left them.
OPPORTUNITIES_SQL = """
INSERT INTO service_serviceopportunity (id, source, external_id, title, items, stage, status,
    initial_value, estimated_value, actual_value, advisor_id, booked_for, mileage, created_at,
    checked_in_at, delivered_at, closed_at, customer_id, vehicle_id, recovers_id, sales_lead_id)
SELECT o.id, o.source, '', w.title,
    jsonb_build_array(jsonb_build_object('description', w.title, 'amount', o.value::text)),
    CASE WHEN o.whole THEN
            CASE WHEN o.event = 'order_cancelled' THEN 'in_work'
                 WHEN o.source = 'quote' THEN 'planned' ELSE 'booked' END
         WHEN o.deliver_at <= %(now)s THEN
            CASE WHEN o.r_work < 0.4 THEN 'followed_up' ELSE 'delivered' END
         WHEN %(now)s < o.checkin_at THEN
            CASE WHEN o.source IN ('quote', 'web', 'marketing') AND o.r_time < 0.5
                 THEN 'planned' WHEN o.source = 'quote' THEN 'planned' ELSE 'booked' END
         WHEN %(now)s < o.checkin_at + (o.deliver_at - o.checkin_at) * 0.2 THEN 'checked_in'
         WHEN %(now)s < o.checkin_at + (o.deliver_at - o.checkin_at) * 0.7 THEN 'in_work'
         ELSE 'quality_check' END,
    CASE WHEN o.whole THEN 'lost' WHEN o.deliver_at <= %(now)s THEN 'won' ELSE 'open' END,
    o.value, o.value - coalesce(a.partial, 0),
    CASE WHEN NOT o.whole AND o.deliver_at <= %(now)s THEN o.value - coalesce(a.partial, 0) END,
    (%(advisors)s::bigint[])[1 + mod(o.customer_id + (o.r_time < 0.2)::int, %(advisor_count)s)],
    o.booked_for, NULL, o.created_at,
    CASE WHEN o.whole AND o.event <> 'order_cancelled' THEN NULL
         WHEN o.checkin_at <= %(now)s THEN o.checkin_at END,
    CASE WHEN NOT o.whole AND o.deliver_at <= %(now)s THEN o.deliver_at END,
    CASE WHEN o.whole THEN o.loss_at WHEN o.deliver_at <= %(now)s THEN o.deliver_at END,
    o.customer_id, o.customer_id, NULL, NULL
FROM opp_times AS o
CROSS JOIN LATERAL (
    SELECT CASE WHEN o.loss_at IS NOT NULL AND NOT o.whole
        THEN round(o.value * (0.15 + 0.5 * o.r_part)::numeric, 2) END AS partial
) AS a
CROSS JOIN LATERAL (
    SELECT (%(titles)s::text[])[1 + floor(o.r_work * %(work_count)s)::int] AS title
) AS w
"""

# The losses, numbered in time order, with what became of them: won back (a fixed number of
# the older ones), given up, or still to win back; claimed by the sweep on their follow-up day.
LOSSES_SQL = """
CREATE UNLOGGED TABLE loss_rows AS
SELECT row_number() OVER (ORDER BY o.loss_at, o.id) AS id, o.id AS opportunity_id,
    o.customer_id, op.advisor_id, o.event, r.id AS reason_id, o.reason_code, o.loss_at AS at,
    o.whole,
    CASE WHEN o.whole THEN o.value ELSE round(o.value * (0.15 + 0.5 * o.r_part)::numeric, 2)
        END AS amount,
    (%(items)s::text[])[1 + floor(o.r_work * %(work_count)s)::int] AS item,
    f.follow_up_on, o.r_recovery, o.r_time,
    CASE WHEN f.sweep_at <= %(now)s THEN f.sweep_at END AS followed_up_at
FROM opp_times AS o
JOIN service_serviceopportunity AS op ON op.id = o.id
JOIN leads_reason AS r ON r.kind = 'service_loss' AND r.code = o.reason_code
CROSS JOIN LATERAL (
    SELECT (o.loss_at AT TIME ZONE %(tz)s)::date
        + CASE WHEN o.event IN ('no_show', 'appointment_cancelled') THEN %(rebook_days)s
               ELSE %(follow_up_days)s END AS follow_up_on
) AS d
CROSS JOIN LATERAL (
    SELECT d.follow_up_on, (d.follow_up_on + time '07:00') AT TIME ZONE %(tz)s AS sweep_at
) AS f
WHERE o.loss_at IS NOT NULL
"""

RECOVERY_SQL = """
ALTER TABLE loss_rows ADD COLUMN recovery text NOT NULL DEFAULT 'pending',
    ADD COLUMN recovery_id bigint;
UPDATE loss_rows AS l SET recovery = 'recovered', recovery_id = %(base)s + w.n
FROM (
    SELECT id, row_number() OVER (ORDER BY r_recovery, id) AS n FROM loss_rows
    WHERE at < %(old)s AND followed_up_at IS NOT NULL
) AS w
WHERE w.id = l.id AND w.n <= %(recoveries)s;
UPDATE loss_rows SET recovery = 'given_up'
WHERE recovery = 'pending' AND at < %(old)s AND r_recovery > 0.75;
"""

LOSS_INSERT_SQL = """
INSERT INTO service_serviceloss (id, opportunity_id, event, reason_id, note, amount, whole,
    declined_items, at, logged_by_id, advisor_id, recovery, follow_up_on, followed_up_at,
    parts_arrived_at)
SELECT id, opportunity_id, event, reason_id,
    CASE WHEN reason_code = 'other' THEN 'Customer said they would call back' ELSE '' END,
    amount, whole,
    jsonb_build_array(jsonb_build_object('description', item, 'amount', amount::text)),
    at, advisor_id, advisor_id, recovery, follow_up_on, followed_up_at, NULL
FROM loss_rows
"""

# The bookings that won lost sales back: the customer's car, the lost amount, booked when the
# follow-up was done, delivered unless that is still to come.
RECOVERIES_SQL = """
INSERT INTO service_serviceopportunity (id, source, external_id, title, items, stage, status,
    initial_value, estimated_value, actual_value, advisor_id, booked_for, mileage, created_at,
    checked_in_at, delivered_at, closed_at, customer_id, vehicle_id, recovers_id, sales_lead_id)
SELECT l.recovery_id, 'booking', '', 'Won back: ' || l.item,
    jsonb_build_array(jsonb_build_object('description', l.item, 'amount', l.amount::text)),
    CASE WHEN b.booked_for + interval '4 hours' <= %(now)s THEN 'delivered' ELSE 'booked' END,
    CASE WHEN b.booked_for + interval '4 hours' <= %(now)s THEN 'won' ELSE 'open' END,
    l.amount, l.amount,
    CASE WHEN b.booked_for + interval '4 hours' <= %(now)s THEN l.amount END,
    l.advisor_id, b.booked_for, NULL, b.created_at,
    CASE WHEN b.booked_for <= %(now)s THEN b.booked_for END,
    CASE WHEN b.booked_for + interval '4 hours' <= %(now)s THEN b.booked_for + interval '4 hours'
        END,
    CASE WHEN b.booked_for + interval '4 hours' <= %(now)s THEN b.booked_for + interval '4 hours'
        END,
    l.customer_id, l.customer_id, l.id, NULL
FROM loss_rows AS l
CROSS JOIN LATERAL (
    SELECT l.followed_up_at + l.r_time * interval '2 days' AS created_at,
        date_trunc('day', l.followed_up_at) + (4 + floor(l.r_time * 5)) * interval '1 day'
            + interval '9 hours' AS booked_for
) AS b
WHERE l.recovery = 'recovered'
"""

# The sweep's task on each loss it claimed, and what the advisor made of it.
RECAPTURES_SQL = """
INSERT INTO service_recapture (loss_id, kind, campaign_id, visit_id, summary, assignee_id,
    due_on, status, created_at, done_at, done_by_id, booking_id)
SELECT l.id, CASE WHEN l.event IN ('no_show', 'appointment_cancelled') THEN 'rebook'
    ELSE 'follow_up' END, NULL, NULL, 'Bring back: ' || l.item, l.advisor_id, l.follow_up_on,
    CASE WHEN l.recovery = 'recovered' THEN 'booked'
         WHEN l.recovery = 'given_up' OR l.follow_up_on < %(today)s - 14 THEN 'declined'
         ELSE 'open' END,
    l.followed_up_at,
    CASE WHEN l.recovery = 'recovered' THEN o.created_at
         WHEN l.recovery = 'given_up' OR l.follow_up_on < %(today)s - 14
             THEN l.followed_up_at + interval '1 day' END,
    CASE WHEN l.recovery <> 'pending' OR l.follow_up_on < %(today)s - 14 THEN l.advisor_id END,
    l.recovery_id
FROM loss_rows AS l
LEFT JOIN service_serviceopportunity AS o ON o.id = l.recovery_id
WHERE l.followed_up_at IS NOT NULL
"""

# Work declined on price that a campaign fits, offered again when the campaign started: once per
# loss and campaign, for losses of the year before it.
CAMPAIGN_RECAPTURES_SQL = """
INSERT INTO service_recapture (loss_id, kind, campaign_id, visit_id, summary, assignee_id,
    due_on, status, created_at, done_at, done_by_id, booking_id)
SELECT l.id, 'campaign', c.id, NULL, c.name || ': ' || c.offer, l.advisor_id, c.starts_on,
    CASE WHEN c.ends_on >= %(today)s THEN 'open' ELSE 'declined' END,
    (c.starts_on + time '07:00') AT TIME ZONE %(tz)s,
    CASE WHEN c.ends_on < %(today)s THEN (c.starts_on + time '12:00') AT TIME ZONE %(tz)s END,
    CASE WHEN c.ends_on < %(today)s THEN l.advisor_id END, NULL
FROM loss_rows AS l
JOIN service_servicecampaign AS c
    ON l.at < (c.starts_on + time '07:00') AT TIME ZONE %(tz)s
    AND l.at >= (c.starts_on + time '07:00') AT TIME ZONE %(tz)s - interval '365 days'
    AND lower(l.item) LIKE '%%' || c.keywords || '%%'
WHERE l.reason_code IN ('price_too_high', 'competitor_offer')
    AND l.event IN ('order_cancelled', 'scope_reduced', 'quote_declined')
    AND l.recovery = 'pending'
"""

EVENTS_SQL = """
INSERT INTO service_serviceevent (opportunity_id, kind, at, actor_id, actor_label, from_stage,
    to_stage, loss_id, summary)
SELECT id, 'created', created_at, advisor_id, '', '',
    CASE WHEN checked_in_at = created_at THEN 'checked_in'
         WHEN source IN ('quote', 'web', 'marketing') THEN 'planned' ELSE 'booked' END,
    NULL, 'Opened from ' || source || ': ' || title
FROM service_serviceopportunity;
INSERT INTO service_serviceevent (opportunity_id, kind, at, actor_id, actor_label, from_stage,
    to_stage, loss_id, summary)
SELECT id, 'stage', delivered_at, advisor_id, '', 'in_work', 'delivered', NULL,
    'In work → Delivered, invoiced ' || actual_value::text
FROM service_serviceopportunity WHERE delivered_at IS NOT NULL;
INSERT INTO service_serviceevent (opportunity_id, kind, at, actor_id, actor_label, from_stage,
    to_stage, loss_id, summary)
SELECT opportunity_id, 'loss', at, advisor_id, '', '', '', id,
    event || ' (' || reason_code || '): ' || amount::text || ' lost'
FROM loss_rows;
INSERT INTO service_serviceevent (opportunity_id, kind, at, actor_id, actor_label, from_stage,
    to_stage, loss_id, summary)
SELECT l.opportunity_id, 'recapture', r.created_at, NULL, 'service:' || r.kind, '', '', l.id,
    r.summary
FROM service_recapture AS r JOIN loss_rows AS l ON l.id = r.loss_id;
INSERT INTO service_serviceevent (opportunity_id, kind, at, actor_id, actor_label, from_stage,
    to_stage, loss_id, summary)
SELECT l.opportunity_id, 'recovered', o.created_at, l.advisor_id, '', '', '', l.id,
    'Won back: booked, ' || l.amount::text
FROM loss_rows AS l JOIN service_serviceopportunity AS o ON o.id = l.recovery_id
"""

CUSTOMERS_SQL = """
INSERT INTO dealercrm_customer (id, first_name, last_name, email, phone, postal_code,
    preferred_contact, consent_email, consent_sms, consent_phone, created_at, updated_at)
SELECT n, 'Customer', n::text, 'c' || n || '@example.com',
    '+1202' || lpad(mod(n, 10000000)::text, 7, '0'), '', 'any', true, true, true,
    %(start)s, %(start)s
FROM generate_series(1, %(customers)s) AS n
"""

VEHICLES_SQL = """
INSERT INTO dealercrm_vehicle (id, vin, year, make, model, trim, mileage, owner_id, created_at)
SELECT n, '', 2008 + mod(n * 7, 18), (%(makes)s::text[])[1 + mod(n, %(make_count)s)],
    (%(models)s::text[])[1 + mod(n, %(make_count)s)], '',
    (%(this_year)s - (2008 + mod(n * 7, 18))) * 14000 + mod(n * 37, 9000), n, %(start)s
FROM generate_series(1, %(customers)s) AS n
"""

ISSUES_SQL = """
INSERT INTO service_customerissue (customer_id, vehicle_id, opportunity_id, kind, summary,
    details, status, opened_by_id, opened_at, resolved_by_id, resolved_at, resolution)
SELECT o.customer_id, o.vehicle_id, o.id, CASE WHEN mod(o.id, 3) = 0 THEN 'service'
    ELSE 'vehicle' END, 'Noise after the last visit', '',
    CASE WHEN o.delivered_at > %(now)s - interval '30 days' THEN 'open' ELSE 'resolved' END,
    o.advisor_id, o.delivered_at + interval '2 days',
    CASE WHEN o.delivered_at <= %(now)s - interval '30 days' THEN o.advisor_id END,
    CASE WHEN o.delivered_at <= %(now)s - interval '30 days'
        THEN o.delivered_at + interval '9 days' END,
    CASE WHEN o.delivered_at <= %(now)s - interval '30 days' THEN 'Fixed under warranty'
        ELSE '' END
FROM service_serviceopportunity AS o
WHERE o.status = 'won' AND mod(o.id, 97) = 0 AND o.delivered_at <= %(now)s - interval '2 days'
"""


def data_load(args, people, now):
    """Load everything set-wise; returns the seconds of each step."""
    from django.utils import timezone

    from dealercrm.models import Role
    from service.models import CorrectiveAction, ServiceCampaign, ServiceSettings

    rules = ServiceSettings.current()
    today = timezone.localdate(now)
    start = now - timedelta(days=365 * args.years)
    recoveries = round(args.opportunities * RECOVERY_SHARE)
    base = args.opportunities - recoveries
    manager = people["manager"]
    assert manager.staff.role == Role.SERVICE_MANAGER
    for reason, days_ago, _, action in CORRECTIVE_ACTIONS:
        CorrectiveAction.objects.create(
            reason_id=reason_id(reason),
            action=action,
            started_on=today - timedelta(days=days_ago),
            created_by=manager,
            created_at=now - timedelta(days=days_ago + 3),
        )
    for year in range(start.year, today.year + 1):
        for name, offer, keyword, month, day in CAMPAIGNS:
            starts = today.replace(year=year, month=month, day=day)
            if starts < start.date() or starts >= today:
                continue
            ServiceCampaign.objects.create(
                name=f"{name} {year}",
                offer=offer,
                keywords=keyword,
                starts_on=starts,
                ends_on=starts + timedelta(days=27),
                active=True,
            )
    # The campaign running now, which the page may show.
    ServiceCampaign.objects.create(
        name="Brake check days",
        offer="Brake pads at 15% off",
        keywords="brake",
        starts_on=today - timedelta(days=5),
        ends_on=today + timedelta(days=20),
        active=True,
    )

    # A loss prevented by a corrective action after its start: the opportunity was not lost.
    prevented = " OR ".join(
        f"(r.reason_code = '{reason}' AND r.created_at >= %(action_{n})s AND r.r_fix < {share})"
        for n, (reason, _, share, _) in enumerate(CORRECTIVE_ACTIONS)
    )
    params = {
        "now": now,
        "today": today,
        "old": now - timedelta(days=40),
        "start": start,
        "span": timedelta(days=365 * args.years),
        "base": base,
        "recoveries": recoveries,
        "customers": args.customers,
        "loss_share": args.loss_share * LOSS_CALIBRATION,
        "season": [m * 12 / sum(LOSS_SEASON) for m in LOSS_SEASON],
        "tz": timezone.get_current_timezone_name(),
        "advisors": people["advisors"],
        "advisor_count": len(people["advisors"]),
        "titles": [title for title, _ in WORK],
        "items": [item for _, item in WORK],
        "work_count": len(WORK),
        "rebook_days": rules.rebook_after_days,
        "follow_up_days": rules.follow_up_after_days,
        "makes": MAKES,
        "models": MODELS,
        "make_count": len(MAKES),
        "this_year": today.year,
        **{
            f"action_{n}": now - timedelta(days=days_ago)
            for n, (_, days_ago, _, _) in enumerate(CORRECTIVE_ACTIONS)
        },
    }
    load = BulkLoad(TABLES, log=log, seed=args.seed, separator=";\n")
    step = load.step

    log(
        f"loading {args.opportunities:,} service opportunities over {args.years} years for "
        f"{args.customers:,} customers"
    )
    step("customers and vehicles", CUSTOMERS_SQL, params)
    step("customers and vehicles", VEHICLES_SQL, params)
    plan = PLAN_SQL.format(
        reason_case=reason_case(),
        event_case=event_case(),
        source_case=source_case(),
        prevented=prevented,
    )
    step("plan", plan, params)
    step("plan", TIMES_SQL, params)
    step("opportunities", OPPORTUNITIES_SQL, params)
    step("losses", LOSSES_SQL, params)
    step("losses", RECOVERY_SQL, params)
    step("losses", LOSS_INSERT_SQL)
    step("recoveries", RECOVERIES_SQL, params)
    step("recaptures", RECAPTURES_SQL, params)
    step("recaptures", CAMPAIGN_RECAPTURES_SQL, params)
    step("history", EVENTS_SQL)
    step("issues", ISSUES_SQL, params)
    return load.finish(scratch_tables=["opp_plan", "opp_times", "loss_rows"])


def source_case():
    return weighted_case("r_source", SOURCES)


def reason_id(code):
    from leads.models import Reason

    return Reason.objects.get(kind=Reason.Kind.SERVICE_LOSS, code=code).pk


def sizes_count(now):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE created_at >= %s),
                count(*) FILTER (WHERE status = 'open'), count(*) FILTER (WHERE status = 'won'),
                count(*) FILTER (WHERE status = 'lost'),
                count(*) FILTER (WHERE recovers_id IS NOT NULL),
                count(*) FILTER (WHERE EXISTS (SELECT 1 FROM service_serviceloss AS l
                                               WHERE l.opportunity_id = o.id))
            FROM service_serviceopportunity AS o
            """,
            [kpi_period(now)[0]],
        )
        opportunities, in_period, open_, won, lost, recoveries, with_loss = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE at >= %s), count(*) FILTER (WHERE whole),
                count(*) FILTER (WHERE recovery = 'recovered'),
                count(*) FILTER (WHERE recovery = 'given_up'),
                count(*) FILTER (WHERE recovery = 'pending')
            FROM service_serviceloss
            """,
            [kpi_period(now)[0]],
        )
        losses, losses_in_period, whole, recovered, given_up, pending = cursor.fetchone()
        counts = {}
        for table in TABLES:
            cursor.execute(f"SELECT count(*) FROM {table}")
            (counts[table],) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FROM service_recapture WHERE kind = 'campaign'"
            " UNION ALL SELECT count(*) FROM service_servicecampaign"
            " UNION ALL SELECT count(*) FROM service_correctiveaction"
            " UNION ALL SELECT count(*) FROM dealercrm_staffprofile"
            " WHERE role = 'service_advisor'"
        )
        campaign_recaptures, campaigns, actions, advisors = (n for (n,) in cursor.fetchall())
        cursor.execute(
            "SELECT pg_total_relation_size('service_serviceopportunity'),"
            " pg_total_relation_size('service_serviceloss'),"
            " pg_total_relation_size('service_serviceevent')"
        )
        opp_bytes, loss_bytes, event_bytes = cursor.fetchone()
    return {
        "opportunities": opportunities,
        "opportunities_in_period": in_period,
        "open": open_,
        "won": won,
        "lost": lost,
        "recovery_opportunities": recoveries,
        "opportunities_with_a_loss_share": round(with_loss / opportunities, 3),
        "losses": losses,
        "losses_in_period": losses_in_period,
        "whole_losses": whole,
        "losses_won_back": recovered,
        "losses_given_up": given_up,
        "losses_pending": pending,
        "recaptures": counts["service_recapture"],
        "campaign_recaptures": campaign_recaptures,
        "campaigns": campaigns,
        "corrective_actions": actions,
        "history_events": counts["service_serviceevent"],
        "customer_issues": counts["service_customerissue"],
        "customers": counts["dealercrm_customer"],
        "vehicles": counts["dealercrm_vehicle"],
        "advisors": advisors,
        "opportunity_table_with_indexes_mb": round(opp_bytes / 2**20),
        "loss_table_with_indexes_mb": round(loss_bytes / 2**20),
        "event_table_with_indexes_mb": round(event_bytes / 2**20),
    }


def data_check(now):
    """What the services would never write, asserted absent; and the shapes the KPIs read:
    losses by reason and event, and by month (the seasons) in the period."""
    from django.db import connection

    problems = {
        "whole loss on an open or won opportunity": """
            SELECT count(*) FROM service_serviceloss l JOIN service_serviceopportunity o
                ON o.id = l.opportunity_id WHERE l.whole AND o.status <> 'lost'""",
        "lost opportunity without a whole loss": """
            SELECT count(*) FROM service_serviceopportunity o WHERE o.status = 'lost'
              AND NOT EXISTS (SELECT 1 FROM service_serviceloss l
                              WHERE l.opportunity_id = o.id AND l.whole)""",
        "partial loss not below the value": """
            SELECT count(*) FROM service_serviceloss l JOIN service_serviceopportunity o
                ON o.id = l.opportunity_id
            WHERE NOT l.whole AND (l.amount >= o.initial_value
                                   OR o.estimated_value <> o.initial_value - l.amount)""",
        "missed appointment after check-in": """
            SELECT count(*) FROM service_serviceloss l JOIN service_serviceopportunity o
                ON o.id = l.opportunity_id
            WHERE l.event IN ('no_show', 'appointment_cancelled')
              AND o.stage NOT IN ('planned', 'booked')""",
        "something in the future": """
            SELECT (SELECT count(*) FROM service_serviceopportunity
                    WHERE created_at > %(now)s OR closed_at > %(now)s
                       OR checked_in_at > %(now)s)
                 + (SELECT count(*) FROM service_serviceloss WHERE at > %(now)s)
                 + (SELECT count(*) FROM service_recapture WHERE created_at > %(now)s)""",
        "recovery before its loss": """
            SELECT count(*) FROM service_serviceopportunity o JOIN service_serviceloss l
                ON l.id = o.recovers_id WHERE o.created_at <= l.at""",
        "won back without a recovery booking": """
            SELECT count(*) FROM service_serviceloss l WHERE l.recovery = 'recovered'
              AND NOT EXISTS (SELECT 1 FROM service_serviceopportunity o
                              WHERE o.recovers_id = l.id)""",
        "reason that is not a service-loss reason": """
            SELECT count(*) FROM service_serviceloss l JOIN leads_reason r ON r.id = l.reason_id
            WHERE r.kind <> 'service_loss'""",
    }
    found = {}
    with connection.cursor() as cursor:
        for label, sql in problems.items():
            cursor.execute(sql, {"now": now})
            (found[label],) = cursor.fetchone()
        since = kpi_period(now)[0]
        cursor.execute(
            """
            SELECT r.code, count(*), sum(l.amount) FROM service_serviceloss l
            JOIN leads_reason r ON r.id = l.reason_id WHERE l.at >= %s
            GROUP BY r.code ORDER BY sum(l.amount) DESC
            """,
            [since],
        )
        by_reason = {code: f"{n:,} losses, {amount:,.2f}" for code, n, amount in cursor.fetchall()}
        cursor.execute(
            "SELECT event, count(*) FROM service_serviceloss WHERE at >= %s GROUP BY event"
            " ORDER BY 2 DESC",
            [since],
        )
        by_event = dict(cursor.fetchall())
        cursor.execute(
            """
            SELECT to_char(l.month, 'YYYY-MM'), round(l.n::numeric / o.n, 3)
            FROM (SELECT date_trunc('month', at) AS month, count(*) AS n
                  FROM service_serviceloss WHERE at >= %s GROUP BY 1) AS l
            JOIN (SELECT date_trunc('month', created_at) AS month, count(*) AS n
                  FROM service_serviceopportunity WHERE created_at >= %s GROUP BY 1) AS o
                ON o.month = l.month
            ORDER BY 1
            """,
            [since, since - timedelta(days=31)],
        )
        by_month = dict(cursor.fetchall())
    broken = {label: n for label, n in found.items() if n}
    assert not broken, f"the data breaks the services' rules: {broken}"
    return {
        "rules_broken": broken,
        "period_losses_by_reason_count_and_amount": by_reason,
        "period_losses_by_event": by_event,
        "period_losses_per_opportunity_by_month": {k: float(v or 0) for k, v in by_month.items()},
    }


# --- measuring -----------------------------------------------------------------------------------

# What the page cannot do without, over the period: the money lost by reason and by month, and
# the money at stake.
BASELINE = [
    (
        "lost money by reason",
        "SELECT reason_id, count(*), sum(amount) FROM service_serviceloss"
        " WHERE at >= %(since)s AND at < %(until)s GROUP BY reason_id",
    ),
    (
        "lost money by month and reason",
        "SELECT date_trunc('month', at AT TIME ZONE %(tz)s), reason_id, count(*), sum(amount)"
        " FROM service_serviceloss WHERE at >= %(since)s AND at < %(until)s GROUP BY 1, 2",
    ),
    (
        "money at stake",
        "SELECT count(*), sum(initial_value) FROM service_serviceopportunity"
        " WHERE created_at >= %(since)s AND created_at < %(until)s",
    ),
]


def measure(args, manager, now):
    from django.db import connection
    from django.test import Client
    from django.utils import timezone

    client = Client(HTTP_HOST="localhost")
    client.force_login(manager)
    urls = {"page": PAGE_URL, "api": API_URL, "csv": CSV_URL}
    status = {}
    for name, url in urls.items():
        status[name] = fetch(client, url)[0]
        log(f"{url}: {status[name]}")
    live = [name for name in urls if status[name] == 200]
    since, until = kpi_period(now)
    params = {"since": since, "until": until, "tz": timezone.get_current_timezone_name()}

    def baseline():
        each = {}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for label, sql in BASELINE:
                begun = time.perf_counter()
                cursor.execute(sql, params)
                cursor.fetchall()
                each[label] = time.perf_counter() - begun
        return time.perf_counter() - started, each

    # Other work on this machine weighs on every figure (they vary about 40% from run to run):
    # the load before and after the timed turns says how quiet it was.
    load_before = round(os.getloadavg()[0], 2)
    kinds = [*live, "baseline"]
    times = {kind: [] for kind in kinds}
    statements = {label: [] for label, _ in BASELINE}
    sizes = {}
    log(f"measuring {', '.join(kinds)}: {args.warmup} untimed turns, then {args.turns}")
    for turn in range(args.warmup + args.turns):
        # The order rotates, so that no kind always runs right after another.
        order = kinds[turn % len(kinds) :] + kinds[: turn % len(kinds)]
        for kind in order:
            if kind == "baseline":
                seconds, each = baseline()
                if turn >= args.warmup:
                    for label, value in each.items():
                        statements[label].append(value)
            else:
                started = time.perf_counter()
                code, body = fetch(client, urls[kind])
                seconds = time.perf_counter() - started
                assert code == 200, f"{urls[kind]} answered {code} on turn {turn}"
                sizes[kind] = len(body)
            if turn >= args.warmup:
                times[kind].append(seconds * 1000)
    base = statistics.median(times["baseline"])
    load_after = round(os.getloadavg()[0], 2)
    figures = {}
    for name, url in urls.items():
        if name not in live:
            figures[name] = {"url": url, "status": status[name], "measured": False}
            continue
        queries = queries_explained(client, url, log=log, print_plans=name == "page")
        figures[name] = {
            "url": url,
            "status": 200,
            "bytes": sizes[name],
            "queries": len(queries),
            **spread(times[name]),
            "ratio_median_to_baseline": round(statistics.median(times[name]) / base, 2),
        }
        if name == "page":
            figures[name]["queries_explained"] = queries
        else:
            # The API and the CSV run the page's figures again: their three slowest suffice.
            slowest = sorted(queries, key=lambda q: -q.get("execution_ms", 0))[:3]
            figures[name]["slowest_queries_explained"] = slowest
    page = figures["page"]
    slowest = max(
        page.get("queries_explained", []), key=lambda q: q.get("execution_ms", 0), default=None
    )
    return {
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_1min_before_timed_turns": load_before,
            "load_average_1min_after_timed_turns": load_after,
        },
        "period": {"since": params["since"].isoformat(), "until": params["until"].isoformat()},
        "turns": args.turns,
        "warmup_turns": args.warmup,
        **figures,
        "baseline": {
            "what": "the bare aggregates the page needs, through a cursor on the same "
            "connection: " + "; ".join(label for label, _ in BASELINE),
            **spread(times["baseline"]),
            "statements_ms_median": {
                label: round(statistics.median(values) * 1000, 2)
                for label, values in statements.items()
            },
        },
        "ratios_median_to_baseline": {
            name: figures[name]["ratio_median_to_baseline"] for name in live
        },
        "target_page_server_ms": TARGET_PAGE_MS,
        "meets_target": (page["p90_ms"] <= TARGET_PAGE_MS if page.get("measured", True) else None),
        "meets_target_on": "the page's p90 server time",
        "slowest_page_query": slowest,
    }


def kpi_period(now):
    """The page's default period, as the KPIs define it (the last 12 months: from the first of
    the month eleven months ago to the end of today), else the last 365 days."""
    from django.utils import timezone

    try:
        from dealercrm.periods import default_period
    except ImportError:
        return now - timedelta(days=PERIOD_DAYS), now
    period = default_period(timezone.localdate(now))
    return period.since, period.until


if __name__ == "__main__":
    main()
