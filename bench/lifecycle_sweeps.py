"""The stale sweep against the bare SQL it stands for, at a million leads and ten million
website events, measured in one run.

The requirement: with 1,000,000 leads and 10,000,000 website events on PostgreSQL, the stale +
not-lost sweep finishes within 3x the time of the equivalent bare SQL UPDATE measured in the same
run, and a second run with nothing new finishes in under 1 s.

This starts a throwaway PostgreSQL cluster, creates `--staff` salespeople through the services,
and loads in set-wise SQL (INSERT ... SELECT FROM generate_series; secondary indexes dropped
during the load and rebuilt after, foreign-key triggers off; VACUUM ANALYZE and CHECKPOINT
after):

- `--leads` leads, one customer each, created over two years; `--open-share` of them open (new,
  contacted, qualified, appointment), their last CRM activity spread evenly over the last 90
  days, so that some thousand open leads cross each quiet tier (7, 14, 21 days) every day; the
  rest sold, lost or disqualified;
- `--events` website events on one visitor per customer: shopping before the lead came in (open
  leads) or around its life (closed ones), and for `--comeback-share` of the open leads 2 to 7
  more after their last CRM activity: the customers still shopping, the "not lost" (13.7-21.6%
  in the field); each lead's last-seen time is its customer's latest event (as leads.tracking
  keeps it);
- the state the previous runs left, as of `since` = now - `--window-hours`: the quiet tier each
  open lead had reached by then, and resurfaced_at on the quiet leads whose customer came back
  before then; a successful SweepRun as of `since`. No open lead's quiet time crosses a tier in
  the minute after `now`, so that the run a minute later has nothing new.

Then, in `--repeat` alternating turns (baseline first, then sweep first, ...), each from the
same starting state:

- the baseline: the equivalent bare SQL, each statement committed on its own: per tier, highest
  first, `UPDATE leads_lead SET stale_tier = T, resurfaced_at = CASE ... END WHERE status IN
  (open) AND last_activity_at > since - T AND last_activity_at <= now - T AND stale_tier < T`,
  and the not-lost pass `UPDATE leads_lead SET resurfaced_at = now WHERE stale_tier > 0 AND
  resurfaced_at IS NULL AND last_seen_at >= since - 1 hour AND last_seen_at <= now AND
  last_seen_at > last_activity_at`; no RETURNING, nothing told to anyone;
- the sweep as production runs it: `dealercrm.schedules.sweep_run("stale", now)`, which records
  its SweepRun and takes `since` from the last successful one; the claims in batches of 2,000,
  and for every lead resurfaced its evidence (one query over the events), history event,
  resurfacing, "came back" task and notification, and the e-mail tasks enqueued on the django-q2
  ORM broker after commit. Right after it, the run a minute later,
  `sweep_run("stale", now + 1 minute)`, `--second-runs` times (each one's SweepRun removed, so
  that each is the run right after the sweep).

Both must flag and resurface the same rows: their counts are asserted equal, and so is a digest
of (id, stale_tier, resurfaced_at) over the open leads after each turn. Between turns the touched
leads are set back from a snapshot of the open leads, the rows the sweep inserted (history
events, resurfacings, tasks, notifications of kind "resurfaced" at `now`, broker tasks, its
SweepRuns) are deleted, and the tables VACUUMed and CHECKPOINTed, so that neither dead rows nor
a checkpoint fall into the next turn. One untimed turn of each warms caches first (a worker
runs sweeps in a long-lived process).

Each sweep's statements are timed by phase (client side, round trip included: claims, loading
the claimed leads, evidence, inserts, broker); "Python and commits" is the rest of the run.
The plan of the first claim (EXPLAIN, without ANALYZE), which holds the inner select, goes to
stderr with those of the not-lost claim and one evidence query.

    .venv/bin/python bench/lifecycle_sweeps.py [--leads 1000000] [--events 10000000]
        [--staff 50] [--open-share 0.10] [--comeback-share 0.17] [--window-hours 24]
        [--repeat 5] [--second-runs 3] [--seed 1]

A quick try: `--leads 100000 --events 1000000 --repeat 3` (about half a minute). At the default
size the load takes about 3.5 minutes on this machine (2 cores; 1.5 of them for the events, 1
to rebuild the indexes) and the whole run a little over 4; the lead table with its indexes
takes about 0.4 GB, the events about 1.9 GB. PostgreSQL runs with its default settings
(shared_buffers 128MB) and fsync on; only max_wal_size is raised, so that the load does not
checkpoint every few seconds.

Left out: every lead is owned by an active salesperson, so the rare re-routing of a comeback
whose owner has left does not happen; every event belongs to an identified visitor (anonymous
events would only make the event table larger: the evidence reads the customer index).

Prints one JSON object; progress goes to stderr. "ratio_sweep_to_baseline" is the ratio of the
medians (target <= 3); "second_run_seconds_median" is the run a minute later (target < 1 s).
"""

import argparse
import json
import re
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk import BulkLoad  # noqa: E402
from bench.pg import django_setup, throwaway_postgres  # noqa: E402

TARGET_RATIO = 3
TARGET_SECOND_RUN_SECONDS = 1
# Days over which open leads' last CRM activity is spread.
OPEN_QUIET_DAYS = 90
MAKES = ["Toyota", "Honda", "Ford", "Kia", "Chevrolet", "Hyundai"]
MODELS = ["RAV4", "CR-V", "F-150", "EV6", "Equinox", "Tucson"]
# Kinds of website events and their shares of the background (before or around a lead).
EVENT_MIX = [
    ("page_view", 0.45),
    ("vehicle_view", 0.30),
    ("search", 0.12),
    ("form_view", 0.05),
    ("trade_in_valuation", 0.02),
    ("payment_calculator", 0.02),
    ("form_submit", 0.015),
    ("chat_started", 0.01),
    ("call_click", 0.01),
    ("directions_click", 0.01),
    ("text_click", 0.005),
]
# Customers still shopping look at cars more than anything.
COMEBACK_MIX = [
    ("vehicle_view", 0.55),
    ("page_view", 0.25),
    ("search", 0.10),
    ("form_view", 0.05),
    ("payment_calculator", 0.03),
    ("call_click", 0.02),
]
# The tables the sweep writes besides leads_lead; cleared of its rows between turns.
SIDE_TABLES = (
    "leads_leadevent",
    "leads_resurfacing",
    "leads_followuptask",
    "dealercrm_notification",
    "django_q_ormq",
    "dealercrm_sweeprun",
)


def log(line):
    print(line, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--open-share", type=float, default=0.10)
    parser.add_argument("--comeback-share", type=float, default=0.17)
    parser.add_argument("--window-hours", type=float, default=24.0)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--second-runs", type=int, default=3)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if args.repeat < 3:
        parser.error("--repeat must be at least 3")
    if not 0 < args.window_hours < 24 * 7:
        parser.error("--window-hours must be above 0 and below a week (the first tier)")

    started = time.perf_counter()
    with throwaway_postgres(log=log, conf={"max_wal_size": "8GB"}) as database_url:
        django_setup(database_url)
        result = run(args)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


def run(args):
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from leads.models import LifecycleSettings

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    tiers = sorted(LifecycleSettings.current().stale_tiers, reverse=True)
    now = timezone.now().replace(second=0, microsecond=0)
    since = now - timedelta(hours=args.window_hours)
    people = staff_setup(args.staff)

    build = leads_and_events_load(args, people, tiers, now, since)
    sizes = sizes_count()
    log(f"loaded: {sizes}; {build}")
    start_state_keep(now, since)

    bench = Bench(tiers, now, since)
    log("warming up (one untimed turn of each)")
    bench.reset()
    bench.baseline()
    bench.reset()
    bench.sweep(second_runs=1)
    bench.turns.clear()

    for rep in range(args.repeat):
        order = ("baseline", "sweep") if rep % 2 == 0 else ("sweep", "baseline")
        figures = {"order": " then ".join(order)}
        for kind in order:
            bench.reset()
            if kind == "baseline":
                figures["baseline"] = bench.baseline()
            else:
                figures["sweep"] = bench.sweep(second_runs=args.second_runs)
        log(
            f"turn {rep + 1}/{args.repeat}: baseline {figures['baseline']['seconds']:.3f} s, "
            f"sweep {figures['sweep']['seconds']:.3f} s, second runs "
            f"{figures['sweep']['second_runs_seconds']}"
        )
        bench.turns.append(figures)
    bench.reset()
    plans = bench.explain()

    baseline_median = statistics.median(t["baseline"]["seconds"] for t in bench.turns)
    sweep_median = statistics.median(t["sweep"]["seconds"] for t in bench.turns)
    second = [s for t in bench.turns for s in t["sweep"]["second_runs_seconds"]]
    second_median = statistics.median(second)
    ratio = sweep_median / baseline_median
    counts = bench.counts
    return {
        "benchmark": "stale sweep: sweep_run('stale', now) against the equivalent bare SQL",
        "database": f"PostgreSQL {version} (throwaway cluster, default settings but "
        "max_wal_size 8GB, for the load; durable)",
        "sizes": sizes,
        "build_seconds": build,
        "now": now.isoformat(),
        "since": since.isoformat(),
        "window_hours": args.window_hours,
        "tiers_days": sorted(tiers),
        "rows": {
            "flagged_per_tier": {str(t): counts[f"quiet_{t}"] for t in sorted(tiers)},
            "flagged": sum(counts[f"quiet_{t}"] for t in tiers),
            "resurfaced_when_flagged": counts["resurfaced"] - counts["seen_again"],
            "resurfaced_seen_while_quiet": counts["seen_again"],
            "resurfaced": counts["resurfaced"],
            "same_rows_and_same_end_state_as_baseline": True,  # asserted every turn
        },
        "baseline": "the bare UPDATEs (one per tier, highest first, and the not-lost pass), "
        "each committed on its own; no RETURNING, no evidence, nothing told",
        "sweep": "dealercrm.schedules.sweep_run('stale', now): claims in batches, evidence, "
        "history, resurfacings, tasks, notifications, e-mail tasks enqueued, its SweepRun",
        "repetitions": args.repeat,
        "baseline_seconds_median": round(baseline_median, 3),
        "sweep_seconds_median": round(sweep_median, 3),
        "ratio_sweep_to_baseline": round(ratio, 2),
        "target_ratio": TARGET_RATIO,
        "sweep_phases_seconds_median": phases_median(bench.turns),
        "second_run": "sweep_run('stale', now + 1 minute) right after the sweep: nothing new",
        "second_runs": len(second),
        "second_run_seconds_median": round(second_median, 4),
        "second_run_seconds_max": round(max(second), 4),
        "target_second_run_seconds": TARGET_SECOND_RUN_SECONDS,
        "turns": bench.turns,
        "plans": plans,
        "ok": {
            "ratio_within_target": ratio <= TARGET_RATIO,
            "second_run_within_target": second_median < TARGET_SECOND_RUN_SECONDS,
        },
    }


# --- set-up ------------------------------------------------------------------------------------


def staff_setup(count):
    """`count` salespeople in one team, through the service; returns their user ids."""
    from django.db import transaction

    from dealercrm.models import Role, Team
    from dealercrm.services import staff_create

    with transaction.atomic():
        team = Team.objects.create(name="Sales")
        users = [
            staff_create(
                username=f"seller{n:03d}",
                role=Role.SALESPERSON,
                team=team,
                first_name="Seller",
                last_name=f"{n:03d}",
                capacity=5000,
            )
            for n in range(count)
        ]
    return {"team": team.pk, "users": [user.pk for user in users]}


# One row per lead: what it is and when things happened to it. Open leads' last activity is
# spread evenly over the last OPEN_QUIET_DAYS, so that every day as many cross each tier; a new
# lead's activity is its creation. Closed leads closed within 45 days of coming in.
PLAN_SQL = """
CREATE TEMP TABLE lead_plan AS
SELECT id, open, status, comeback,
    CASE WHEN open AND status = 'new' THEN active_at
         WHEN open THEN active_at - r_gap * interval '30 days'
         ELSE created END AS created_at,
    CASE WHEN open THEN active_at
         ELSE least(%(now)s, created + r_gap * interval '45 days') END AS last_activity_at
FROM (
    SELECT n AS id, r_open < %(open_share)s AS open,
        CASE WHEN r_open < %(open_share)s THEN
            CASE WHEN r_status < 0.15 THEN 'new' WHEN r_status < 0.55 THEN 'contacted'
                 WHEN r_status < 0.80 THEN 'qualified' ELSE 'appointment' END
        ELSE
            CASE WHEN r_status < 0.30 THEN 'sold' WHEN r_status < 0.85 THEN 'lost'
                 ELSE 'disqualified' END
        END AS status,
        r_open < %(open_share)s AND r_back < %(comeback_share)s AS comeback,
        %(now)s - r_at * %(quiet_days)s * interval '1 day' AS active_at,
        %(now)s - r_at * interval '730 days' AS created,
        r_gap
    FROM (
        SELECT n, random() AS r_open, random() AS r_status, random() AS r_back,
            random() AS r_at, random() AS r_gap
        FROM generate_series(1, %(leads)s) AS n
    ) AS drawn
) AS shaped
"""

# Website events: `{source}` yields (c: the customer, at: when); the kind and the vehicle are
# drawn here. Sessions are half hours of a visitor. Visitor id = customer id.
EVENTS_SQL = """
INSERT INTO leads_webevent (type, url, vin, stock, make, model, session_key, vehicle_key,
    occurred_at, received_at, customer_id, visitor_id)
SELECT type, '', '', stock, CASE WHEN stock = '' THEN '' ELSE make END,
    CASE WHEN stock = '' THEN '' ELSE model END,
    'v' || c || ':' || floor(extract(epoch FROM at) / 1800)::bigint,
    CASE WHEN stock = '' THEN '' ELSE 'stock:' || stock END,
    at, at + interval '2 minutes', c, c
FROM (
    SELECT c, at, type,
        CASE WHEN type = 'vehicle_view' THEN 'S' || (1000 + floor(r_vehicle * 3000)::int)
             ELSE '' END AS stock,
        (%(makes)s::text[])[1 + floor(r_vehicle * %(make_count)s)::int] AS make,
        (%(models)s::text[])[1 + floor(r_vehicle * %(make_count)s)::int] AS model
    FROM (
        SELECT c, at, {type_case} AS type, r_vehicle
        FROM (SELECT c, at, random() AS r_type, random() AS r_vehicle FROM ({source}) AS s)
            AS drawn
    ) AS typed
) AS shaped
"""

# The customers still shopping: 2 to 7 events each after the lead's last CRM activity.
COMEBACK_SOURCE = """
SELECT p.id AS c,
    p.last_activity_at + (0.001 + 0.999 * random()) * (%(now)s - p.last_activity_at) AS at
FROM lead_plan AS p CROSS JOIN LATERAL generate_series(1, 2 + mod(p.id, 6)::int) AS k
WHERE p.comeback
"""

# Everything else, on customers drawn at random: the month before an open lead came in; for a
# closed one from a month before it came in to three months after it closed.
BACKGROUND_SOURCE = """
SELECT p.id AS c,
    CASE WHEN p.open THEN p.created_at - r_at * interval '30 days'
         ELSE p.created_at - interval '30 days' + r_at * (least(%(now)s,
              p.last_activity_at + interval '90 days') - p.created_at + interval '30 days')
    END AS at
FROM (
    SELECT 1 + floor(random() * %(leads)s)::bigint AS c, random() AS r_at
    FROM generate_series(1, %(count)s)
) AS picked
JOIN lead_plan AS p ON p.id = picked.c
"""

SEEN_SQL = """
CREATE TEMP TABLE seen AS
SELECT e.customer_id AS id, min(e.occurred_at) AS first_at, max(e.occurred_at) AS last_at,
    min(e.occurred_at) FILTER (WHERE e.occurred_at > p.last_activity_at) AS back_at
FROM leads_webevent AS e JOIN lead_plan AS p ON p.id = e.customer_id
GROUP BY e.customer_id
"""

CUSTOMERS_SQL = """
INSERT INTO dealercrm_customer (id, first_name, last_name, email, phone, postal_code,
    preferred_contact, consent_email, consent_sms, consent_phone, created_at, updated_at)
SELECT id, 'Customer', id::text, 'c' || id || '@example.com',
    '+1202' || lpad(mod(id, 10000000)::text, 7, '0'), '', 'any', true, true, true,
    created_at, created_at
FROM lead_plan
"""

VISITORS_SQL = """
INSERT INTO leads_webvisitor (id, visitor_id, identified_email, identified_phone, first_seen_at,
    last_seen_at, session_key, customer_id)
SELECT id, 'v' || id, '', '', first_at, last_at, '', id FROM seen
"""

# The leads as the previous runs left them as of `since`: the highest tier each open lead had
# crossed, and resurfaced_at where its customer came back after that lead went quiet (a sweep
# resurfaces a quiet lead when it crosses the first tier with the customer already back, or
# when the customer comes back later).
LEADS_SQL = """
INSERT INTO leads_lead (id, source, channel, external_id, vehicle_make, vehicle_model,
    vehicle_trim, vehicle_vin, vehicle_stock, vehicle_condition, tradein_make, tradein_model,
    tradein_vin, purchase_horizon, comments, score, score_factors, contact_issues, routing,
    status, customer_id, owner_id, team_id, created_at, assigned_at, first_contacted_at,
    last_activity_at, status_changed_at, closed_at, updated_at, last_seen_at, stale_tier,
    resurfaced_at)
SELECT p.id, 'website', 'web_form', '', (%(makes)s::text[])[1 + mod(p.id, %(make_count)s)],
    (%(models)s::text[])[1 + mod(p.id, %(make_count)s)], '', '', '', 'used', '', '', '', '', '',
    mod(p.id * 37, 101), '[]', '[]', '{{}}', p.status, p.id,
    (%(users)s::int[])[1 + mod(p.id, %(people)s)], %(team)s, p.created_at, p.created_at,
    CASE WHEN p.status <> 'new'
         THEN p.created_at + least(p.last_activity_at - p.created_at, interval '1 hour') END,
    p.last_activity_at, p.last_activity_at,
    CASE WHEN NOT p.open THEN p.last_activity_at END, p.last_activity_at, s.last_at, q.tier,
    CASE WHEN q.tier > 0 AND s.back_at IS NOT NULL
              AND greatest(p.last_activity_at + %(first_tier)s * interval '1 day', s.back_at)
                  <= %(since)s
         THEN greatest(p.last_activity_at + %(first_tier)s * interval '1 day', s.back_at) END
FROM lead_plan AS p
LEFT JOIN seen AS s ON s.id = p.id
CROSS JOIN LATERAL (
    SELECT CASE {tier_case} ELSE 0 END AS tier
) AS q
"""


def leads_and_events_load(args, people, tiers, now, since):
    """Load customers, leads, visitors and events set-wise; returns the seconds of each step."""
    from django.db import connection

    params = {
        "now": now,
        "since": since,
        "leads": args.leads,
        "open_share": args.open_share,
        "comeback_share": args.comeback_share,
        "quiet_days": OPEN_QUIET_DAYS,
        "makes": MAKES,
        "models": MODELS,
        "make_count": len(MAKES),
        "users": people["users"],
        "people": len(people["users"]),
        "team": people["team"],
        "first_tier": min(tiers),
    }
    tables = ["dealercrm_customer", "leads_lead", "leads_webvisitor", "leads_webevent"]
    load = BulkLoad(tables, log=log, seed=args.seed)
    step = load.step

    log(f"loading {args.leads:,} leads and {args.events:,} website events")
    step("plan leads", PLAN_SQL, params)
    # The minute after `now` crosses no tier: the second run has nothing new.
    for tier in tiers:
        step(
            "plan leads",
            "UPDATE lead_plan SET created_at = created_at - interval '2 minutes',"
            " last_activity_at = last_activity_at - interval '2 minutes'"
            " WHERE open AND last_activity_at > %(edge)s"
            " AND last_activity_at <= %(edge)s + interval '1 minute'",
            {"edge": now - timedelta(days=tier)},
        )
    step("plan leads", "ANALYZE lead_plan")
    step("customers", CUSTOMERS_SQL)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM lead_plan p, generate_series(1, 2 + mod(p.id, 6)::int)"
                       " WHERE p.comeback")  # fmt: skip
        (comeback_events,) = cursor.fetchone()
    background = max(0, args.events - comeback_events)
    step(
        "events",
        EVENTS_SQL.format(source=COMEBACK_SOURCE, type_case=type_case(COMEBACK_MIX)),
        params,
    )
    step(
        "events",
        EVENTS_SQL.format(source=BACKGROUND_SOURCE, type_case=type_case(EVENT_MIX)),
        {**params, "count": background},
    )
    step("last seen", SEEN_SQL)
    step("visitors", VISITORS_SQL)
    tier_case = " ".join(
        f"WHEN p.open AND p.last_activity_at <= %(since)s - {int(tier)} * interval '1 day' "
        f"THEN {int(tier)}"
        for tier in tiers
    )
    step("leads", LEADS_SQL.format(tier_case=tier_case), params)
    return load.finish(scratch_tables=["lead_plan", "seen"])


def type_case(mix):
    """A CASE choosing an event type by `r_type` with the shares of `mix`."""
    branches, edge = [], 0.0
    for name, share in mix[:-1]:
        edge += share
        branches.append(f"WHEN r_type < {edge:.4f} THEN '{name}'")
    return f"CASE {' '.join(branches)} ELSE '{mix[-1][0]}' END"


def sizes_count():
    from django.db import connection

    from leads.models import OPEN_STATUSES

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE status = ANY(%s)),
                count(*) FILTER (WHERE status = ANY(%s) AND stale_tier > 0),
                count(*) FILTER (WHERE status = ANY(%s) AND stale_tier > 0
                                 AND last_seen_at > last_activity_at)
            FROM leads_lead
            """,
            [sorted(OPEN_STATUSES)] * 3,
        )
        leads, open_leads, quiet, quiet_seen = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM leads_webevent")
        (events,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM leads_webvisitor")
        (visitors,) = cursor.fetchone()
        cursor.execute(
            "SELECT pg_total_relation_size('leads_lead'), pg_total_relation_size('leads_webevent')"
        )
        lead_bytes, event_bytes = cursor.fetchone()
    return {
        "leads": leads,
        "open_leads": open_leads,
        "quiet_open_leads_at_since": quiet,
        "quiet_open_leads_seen_since_activity_share": round(quiet_seen / max(quiet, 1), 3),
        "website_events": events,
        "web_visitors": visitors,
        "customers": leads,
        "lead_table_with_indexes_mb": round(lead_bytes / 2**20),
        "event_table_with_indexes_mb": round(event_bytes / 2**20),
    }


def start_state_keep(now, since):
    """The previous run as of `since`, and a snapshot of what the sweep may change on the open
    leads (a table, so that every turn starts from the same state)."""
    from django.db import connection
    from django.utils import timezone

    from dealercrm.models import SweepRun
    from leads.models import OPEN_STATUSES

    started = timezone.now() - timedelta(minutes=1)
    SweepRun.objects.create(
        name="stale",
        as_of=since,
        since=since - timedelta(minutes=10),
        started_at=started,
        finished_at=started,
        status=SweepRun.Status.DONE,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE bench_lead_start AS SELECT id, stale_tier, resurfaced_at"
            " FROM leads_lead WHERE status = ANY(%s)",
            [sorted(OPEN_STATUSES)],
        )
        cursor.execute("ALTER TABLE bench_lead_start ADD PRIMARY KEY (id)")
        cursor.execute("ANALYZE bench_lead_start")


# --- measuring ---------------------------------------------------------------------------------


class Bench:
    """The two turns, the reset between them, and what they found."""

    def __init__(self, tiers, now, since):
        from leads.models import OPEN_STATUSES

        self.tiers = tiers
        self.now = now
        self.since = since
        self.open = sorted(OPEN_STATUSES)
        self.turns = []
        self.counts = None
        self.digest = None
        self.statements = {}  # the first of each kind the sweep ran, for EXPLAIN

    def reset(self):
        """Back to the starting state: the open leads' flags from the snapshot, the sweep's
        rows deleted, dead rows vacuumed, a checkpoint taken."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                """
                UPDATE leads_lead AS l SET stale_tier = s.stale_tier,
                    resurfaced_at = s.resurfaced_at
                FROM bench_lead_start AS s
                WHERE l.id = s.id AND (l.stale_tier <> s.stale_tier
                                       OR l.resurfaced_at IS DISTINCT FROM s.resurfaced_at)
                """
            )
            now = self.now
            cursor.execute(
                "DELETE FROM leads_leadevent WHERE kind = 'resurfaced' AND at = %s", [now]
            )
            cursor.execute("DELETE FROM leads_resurfacing WHERE detected_at = %s", [now])
            cursor.execute(
                "DELETE FROM leads_followuptask WHERE kind = 'resurfaced' AND created_at = %s",
                [now],
            )
            cursor.execute(
                "DELETE FROM dealercrm_notification WHERE kind = 'resurfaced' AND created_at = %s",
                [now],
            )
            cursor.execute("DELETE FROM django_q_ormq")
            cursor.execute(
                "DELETE FROM dealercrm_sweeprun WHERE name = 'stale' AND as_of >= %s", [now]
            )
            for table in ("leads_lead", *SIDE_TABLES):
                cursor.execute(f"VACUUM {table}")
            cursor.execute("CHECKPOINT")

    def baseline(self):
        """The bare UPDATEs, each committed on its own (autocommit). Returns their figures."""
        from django.db import connection

        from leads.resurfacing import LATENESS

        statements = []
        for tier in self.tiers:
            statements.append(
                (
                    f"quiet_{tier}",
                    "UPDATE leads_lead SET stale_tier = %s, resurfaced_at = CASE WHEN"
                    " resurfaced_at IS NULL AND last_seen_at > last_activity_at"
                    " AND last_seen_at <= %s THEN %s ELSE resurfaced_at END"
                    " WHERE status = ANY(%s) AND last_activity_at > %s"
                    " AND last_activity_at <= %s AND stale_tier < %s",
                    [
                        tier,
                        self.now,
                        self.now,
                        self.open,
                        self.since - timedelta(days=tier),
                        self.now - timedelta(days=tier),
                        tier,
                    ],
                )
            )
        statements.append(
            (
                "seen_again",
                "UPDATE leads_lead SET resurfaced_at = %s WHERE stale_tier > 0"
                " AND resurfaced_at IS NULL AND last_seen_at >= %s AND last_seen_at <= %s"
                " AND last_seen_at > last_activity_at",
                [self.now, self.since - LATENESS, self.now],
            )
        )
        rows, each = {}, {}
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for label, sql, params in statements:
                begun = time.perf_counter()
                cursor.execute(sql, params)
                rows[label] = cursor.rowcount
                each[label] = round(time.perf_counter() - begun, 4)
        seconds = time.perf_counter() - started
        with connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM leads_lead WHERE resurfaced_at = %s", [self.now])
            (resurfaced,) = cursor.fetchone()
        rows["resurfaced"] = resurfaced
        self._check(rows, "baseline")
        return {"seconds": round(seconds, 4), "statements_seconds": each, "rows": rows}

    def sweep(self, second_runs):
        """sweep_run("stale", now), its statements timed by phase; then the run a minute later,
        `second_runs` times. Returns their figures."""
        from django.db import connection

        from dealercrm.models import SweepRun
        from dealercrm.schedules import sweep_run

        timer = StatementTimes()
        started = time.perf_counter()
        with connection.execute_wrapper(timer):
            counts = sweep_run("stale", self.now)
        seconds = time.perf_counter() - started
        for label, (sql, params) in timer.first.items():
            self.statements.setdefault(label, (sql, params))
        rows = {
            **{f"quiet_{tier}": counts[f"quiet_{tier}"] for tier in self.tiers},
            # What changed besides the flags: the quiet leads seen again (changed = flagged +
            # seen again).
            "seen_again": counts["changed"] - sum(counts[f"quiet_{t}"] for t in self.tiers),
            "resurfaced": counts["resurfaced"],
        }
        self._check(rows, "sweep")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FROM leads_leadevent WHERE kind <> 'resurfaced' OR at <> %s",
                [self.now],
            )
            (other,) = cursor.fetchone()
        assert other == 0, f"the sweep wrote {other} history events besides resurfacings"

        later = self.now + timedelta(minutes=1)
        second = []
        for _ in range(second_runs):
            begun = time.perf_counter()
            again = sweep_run("stale", later)
            second.append(round(time.perf_counter() - begun, 4))
            assert again["changed"] == 0, f"the run a minute later changed something: {again}"
            SweepRun.objects.filter(name="stale", as_of=later).delete()
        phases = timer.summary()
        phases["Python and commits"] = {
            "statements": 0,
            "seconds": round(seconds - sum(p["seconds"] for p in phases.values()), 4),
        }
        return {
            "seconds": round(seconds, 4),
            "rows": rows,
            "phases": phases,
            "second_runs_seconds": second,
        }

    def _check(self, rows, kind):
        """Both turns must change the same rows, and leave the open leads in the same state."""
        from django.db import connection

        comparable = {
            label: rows[label]
            for label in [f"quiet_{t}" for t in self.tiers] + ["seen_again", "resurfaced"]
        }
        if self.counts is None:
            self.counts = comparable
        assert comparable == self.counts, f"{kind} changed {comparable}, before {self.counts}"
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT md5(string_agg(id || ':' || stale_tier || ':'"
                " || coalesce(extract(epoch FROM resurfaced_at)::text, ''), ',' ORDER BY id))"
                " FROM leads_lead WHERE status = ANY(%s)",
                [self.open],
            )
            (digest,) = cursor.fetchone()
        if self.digest is None:
            self.digest = digest
        assert digest == self.digest, f"the {kind} left the open leads in another state"

    def explain(self):
        """EXPLAIN (no ANALYZE) the first quiet claim, the not-lost claim and one evidence query
        the sweep ran, from the starting state; the plans go to stderr. Returns the scans of
        each, e.g. "Index Scan using lead_status_activity_idx on leads_lead"."""
        from django.db import connection

        wanted = ("UPDATE leads_lead (quiet claim)", "UPDATE leads_lead (not-lost claim)",
                  "SELECT leads_webevent (evidence)")  # fmt: skip
        scans = {}
        with connection.cursor() as cursor:
            for label in wanted:
                if label not in self.statements:
                    continue
                sql, params = self.statements[label]
                cursor.execute("EXPLAIN " + sql, params)
                plan = "\n".join(line for (line,) in cursor.fetchall())
                log(f"\nEXPLAIN {label}:\n{sql[:400]}{' ...' if len(sql) > 400 else ''}\n{plan}")
                scans[label] = re.findall(
                    r"((?:Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan|Bitmap Heap Scan)"
                    r"(?: using \w+)? on \w+)",
                    plan,
                )
        return scans


class StatementTimes:
    """An execute wrapper: the time of the sweep's statements by kind, from sending each to
    having its rows (client side, so the round trip is in), and the first of each kind."""

    def __init__(self):
        self.seconds = {}
        self.first = {}

    def __call__(self, execute, sql, params, many, context):
        label = statement_label(sql)
        self.first.setdefault(label, (sql, params))
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds.setdefault(label, []).append(time.perf_counter() - started)

    def summary(self):
        return {
            label: {"statements": len(times), "seconds": round(sum(times), 4)}
            for label, times in sorted(self.seconds.items(), key=lambda item: -sum(item[1]))
        }


def statement_label(sql):
    """A short name for a statement of the sweep: its verb and table, and for the lead table
    which claim, e.g. "UPDATE leads_lead (quiet claim)"."""
    text = sql.lstrip()
    if text.upper().startswith("WITH W"):
        return "SELECT leads_webevent (evidence)"
    verb = text.split(None, 1)[0].upper()
    if verb not in ("SELECT", "INSERT", "UPDATE", "DELETE"):
        return verb  # SAVEPOINT, RELEASE: their names change every time
    match = re.search(r'"(\w+)"', text)
    table = match.group(1) if match else "?"
    if verb == "UPDATE" and table == "leads_lead":
        kind = "quiet claim" if "SET stale_tier" in text else "not-lost claim"
        return f"UPDATE leads_lead ({kind})"
    return f"{verb} {table}"


def phases_median(turns):
    labels = {label for turn in turns for label in turn["sweep"]["phases"]}
    medians = {
        label: round(
            statistics.median(
                turn["sweep"]["phases"].get(label, {"seconds": 0})["seconds"] for turn in turns
            ),
            4,
        )
        for label in labels
    }
    return dict(sorted(medians.items(), key=lambda item: -item[1]))


if __name__ == "__main__":
    main()
