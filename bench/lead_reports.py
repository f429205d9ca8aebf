"""The lead reports' server time at a million leads, against the database's floor for touching
the period's leads, measured in one run.

The requirement: with 1,000,000 leads over three years in the database, every lead report
(`leads.reports.REPORTS`: its page, its CSV and its API, for the default period, the last 12
months; and its page filtered to one person and to one source) answers in at most 1 s of server
time for a sales manager.

This starts a throwaway PostgreSQL cluster, creates `--staff` people through the services (8
teams: six of sales with a sales manager each and two of BDC with a BDC manager each; BDC agents,
salespeople, about one in seven of them gone, whose leads stay) and the dealership's lead sources
(most with a cost per lead), then loads in set-wise SQL (INSERT ... SELECT FROM
generate_series; secondary indexes dropped during the load and rebuilt after, foreign-key
triggers off; VACUUM ANALYZE and CHECKPOINT after):

- `--leads` leads over `--years` years up to now, more by day than by night, for about 0.7 as
  many customers (three leads in ten are a known customer's new inquiry). Each lead is routed to
  someone present at the time (weak leads to BDC), with the routing decision and the score's
  factors kept as JSON on the lead as intake keeps them, and lives a story as the services would
  have written it: first contact after the delays the field reports (about a third within 5
  minutes, the night's leads the next morning, each person at their own pace), then qualified,
  an appointment, a sale 8-19 days after the lead for most buyers; or lost after a follow-up
  (quiet ones archived after 30 days), or disqualified (60% invalid or spam, a quarter
  non-target), before or after a first contact. An audit returns 8% of the disqualified leads to
  work, and 3% of the lost ones come back by resurfacing; both then sell, are lost again or stay
  open. Stories are cut at now: recent leads are still open;
- the columns the services keep for the reports, consistent with that story and with the
  history: the hour it arrived in, first contacted (and its seconds and band, as
  `FirstContactBand.of` writes them, checked on a sample), qualified, appointment set, audit
  return, closed and why, the longest quiet tier reached (and the current one for open leads),
  touches, calls, automated touches, the customer's first response, last activity, status
  change, assignment;
- the history: created, assigned (with the routing decision), every status change (with its
  reason), returns to work (with their cause), "came back" events; the activities that made the
  counters: automated acknowledgements and reminders, first contacts, follow-ups, unanswered
  calls, customers' replies;
- resurfacings: customers still shopping while their lead was quiet 7, 14 or 21 days (not
  lost), lost customers shopping again (returned to work, dismissed by a manager or waiting for
  review);
- follow-up tasks: the plan of every open contacted lead (due steps open, past ones mostly done,
  some overdue), the follow-ups done (each with its touch), the plan cancelled when a lead closed
  (its next step stands for it), open appointments.

Then, logged in as a sales manager through Django's test client (the whole request in this
process: middleware, session, the view, the template, CSV writer or serializer; no network), it
requests for every report its page, CSV and API with no query string (the default period), and
its page with `?person=` (the salesperson with the most leads in the period) and `?source=` (the
biggest source), `--warmup` untimed turns then `--turns` timed ones. The baseline, measured in
the same turns (the order rotates each turn), is the database's floor for touching the period's
leads: `SELECT count(*) FROM leads_lead WHERE created_at >= since AND created_at < until` through
a cursor on the same connection. Each URL's queries are counted once (CaptureQueriesContext); the
queries of every report's page are EXPLAIN (ANALYZE, BUFFERS)ed once: time, plan, scans, heap
fetches (the speed report's text plans go to stderr).

    .venv/bin/python bench/lead_reports.py [--leads 1000000] [--turns 10] [--warmup 2]
        [--staff 200] [--years 3] [--time-zone America/Chicago] [--seed 1]
    .venv/bin/python bench/lead_reports.py --quick        # 100,000 leads: a first check
    .venv/bin/python bench/lead_reports.py --build-only   # the data and its checks, no requests

At the default size the load takes 6 to 9 minutes on this machine (2 cores, shared with other
work: plan 1-1.5, leads 0.5-1, history 1-1.5, activities 0.5-1, tasks 0.5-1, indexes 1.5-2.5),
the whole run about 23; `--quick` about 2.5. What the services would never write (counters that
are not the lead's activities, a status that is not the latest event's, ...) is asserted absent
before anything is measured. The lead table is about 2 GB (rows of about 1.8 kB: the routing
decision and the score's factors as JSON, as intake keeps them), lead_report_idx about 160 MB.
PostgreSQL runs with its default settings (shared_buffers 128MB) and fsync on; only
max_wal_size is raised, so that the load does not checkpoint every few seconds. A URL that does
not answer 200 is reported with its status and left out of the figures. Prints one JSON
object; progress goes to stderr.
"""

import argparse
import json
import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.bulk import BulkLoad, fetch, queries_explained, spread, weighted_case  # noqa: E402
from bench.pg import django_setup, throwaway_postgres  # noqa: E402

TARGET_MS = 1000
TEAMS = [
    ("New cars North", "sales"),
    ("New cars South", "sales"),
    ("Used cars North", "sales"),
    ("Used cars South", "sales"),
    ("Trucks and fleet", "sales"),
    ("Internet sales", "sales"),
    ("BDC inbound", "bdc"),
    ("BDC outbound", "bdc"),
]
POOL_TEAM = "BDC inbound"
# Share of the staff who are BDC agents; one in LEAVER_EVERY of the agents and salespeople left.
BDC_AGENT_SHARE = 0.08
LEAVER_EVERY = 7
# (key, name, channel, share of leads, quality points, cost per lead, team). The last one is not
# configured: an old DMS import, as a dealership has.
SOURCES = [
    ("dealer-website", "Our website", "web_form", 24, 10, None, "Internet sales"),
    ("dealer-website-chat", "Website chat", "chat", 6, 10, None, "Internet sales"),
    ("cars-com", "Cars.com", "third_party", 11, 0, "28.00", "Used cars North"),
    ("autotrader", "Autotrader", "third_party", 9, 0, "24.00", "Used cars South"),
    ("cargurus", "CarGurus", "third_party", 9, 5, "32.00", "Used cars North"),
    ("truecar", "TrueCar", "third_party", 5, 0, "22.00", "New cars South"),
    ("edmunds", "Edmunds", "third_party", 3, 0, "18.00", "New cars North"),
    ("toyota-oem", "Toyota dealer portal", "oem", 7, 5, "15.00", "New cars North"),
    ("facebook-lead-ads", "Facebook lead ads", "social", 8, -10, "12.50", "BDC outbound"),
    ("google-lead-forms", "Google lead forms", "social", 4, -5, "9.00", "BDC outbound"),
    ("phone", "Call tracking", "phone", 8, 15, "4.00", "BDC inbound"),
    ("showroom", "Showroom", "walk_in", 4, 20, None, "New cars South"),
    ("dms-import", "", "import", 2, 0, None, None),
]
# Channels whose leads get an automated acknowledgement (and some a reminder two days on).
AUTOMATED_CHANNELS = ["web_form", "third_party", "oem", "social"]
# Local hour the lead comes in: little at night, most in the day and the evening.
HOURS = [1, 0.6, 0.4, 0.3, 0.3, 0.5, 1.2, 2.5, 4, 5.5, 6.5, 7, 7, 7, 6.8, 6.5, 6.2, 6, 5.8, 5.5,
         5, 4, 3, 1.8]  # fmt: skip
# Where a lead's story ends when it has had time to end (recent leads are cut short by now).
OUTCOMES = [
    ("new", 1.5),
    ("contacted", 2),
    ("qualified", 1),
    ("appointment", 0.5),
    ("sold", 15),
    ("lost", 65),
    ("disqualified", 15),
]
# The first personal contact after assignment, in minutes, for someone of average pace (the
# shape of leads.demo._first_response_delay): about a third of all leads within 5 minutes of
# arriving, a tenth after a day or more.
FIRST_RESPONSE = [(0.5, 4, 42), (4, 60, 20), (60, 300, 18), (300, 1440, 12), (1440, 4320, 8)]
# Days from the lead to the sale: most in days 8-19, still some in 20-45, a trickle after.
SALE_DAYS = [(1, 7, 22), (8, 19, 45), (20, 45, 25), (46, 90, 8)]
# Days from the last step to a loss.
LOSS_DAYS = [(1, 7, 25), (7, 30, 40), (30, 60, 35)]
# Share of leads returned to work: disqualified ones by an audit, lost ones by resurfacing; and
# what becomes of them then (sold, lost, still open).
AUDIT_SHARE = 0.08
REACTIVATION_SHARE = 0.03
AUDIT_LIFE = [("sold", 30), ("lost", 40), ("open", 30)]
REACTIVATION_LIFE = [("sold", 25), ("lost", 45), ("open", 30)]
# Share of quiet periods in which the customer was seen shopping (the not-lost resurfacing), and
# of lost leads whose customer came back without being returned to work.
NOT_LOST_SHARE = 0.045
DISMISSED_SHARE = 0.015
# Share of an open lead's past plan steps still open (overdue).
OVERDUE_SHARE = 0.05
# Score factor sets drawn (leads.scoring's factors), each with its purchase horizon.
SCORE_TEMPLATES = 48
HORIZONS = [
    ("within_week", 20),
    ("within_month", 35),
    ("within_3_months", 20),
    ("within_6_months", 7),
    ("later", 3),
    ("", 15),
]
# Eras by age (days) in which the people who left were still there.
ERAS_DAYS = [730, 365, 120]
TABLES = [
    "dealercrm_customer",
    "leads_lead",
    "leads_leadevent",
    "leads_activity",
    "leads_followuptask",
    "leads_resurfacing",
]
# History events and activities are numbered lead id * SLOTS + their slot in the lead's story,
# so that a task can name the activity it was done with without reading it back.
SLOTS = 16


def log(line):
    print(line, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=1_000_000)
    parser.add_argument("--staff", type=int, default=200)
    parser.add_argument("--years", type=int, default=3)
    parser.add_argument("--turns", type=int, default=10)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--time-zone", default="America/Chicago")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--quick", action="store_true", help="100,000 leads")
    parser.add_argument("--build-only", action="store_true", help="build and check; no requests")
    args = parser.parse_args()
    if args.quick:
        args.leads = 100_000
    if args.turns < 3:
        parser.error("--turns must be at least 3")
    if args.years < 2:
        parser.error("--years must be at least 2 (the period is the last 12 months)")
    if args.staff < 60:
        parser.error("--staff must be at least 60")

    load_start = [round(value, 2) for value in os.getloadavg()]
    started = time.perf_counter()
    with throwaway_postgres(log=log, conf={"max_wal_size": "4GB"}) as database_url:
        # The test client talks plain HTTP to "localhost": no HTTPS redirect.
        django_setup(
            database_url,
            SECURE_SSL_REDIRECT="false",
            ALLOWED_HOSTS="localhost",
            TIME_ZONE=args.time_zone,
        )
        result = run(args, load_start)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2, default=str))


def run(args, load_start):
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
        cursor.execute("SHOW shared_buffers")
        (shared_buffers,) = cursor.fetchone()
    now = timezone.now().replace(second=0, microsecond=0)
    people = staff_setup(args.staff)
    sources_setup(people)
    build = data_load(args, people, now)
    sizes = sizes_count(timezone.localdate(now))
    log(f"loaded: {json.dumps(sizes)}")
    checks = data_check(now)
    log(f"checks: {json.dumps(checks, default=str)}")
    result = {
        "benchmark": "lead reports: page, CSV and API server time against the period's lead count",
        "leads": sizes["leads_lead"],
        "machine": {
            "cpus": os.cpu_count(),
            "postgresql": version,
            "postgresql_settings": f"defaults (shared_buffers {shared_buffers}), durable, "
            "max_wal_size 4GB",
            "time_zone": args.time_zone,
            "load_average_at_start": load_start,
        },
        "build_seconds": build["total"],
        "build_steps_seconds": build,
        "rows": sizes,
        "data_checks": checks,
    }
    if not args.build_only:
        result.update(measure(args, people["reader"], now))
    result["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    return result


# --- people and sources --------------------------------------------------------------------------


def staff_setup(count):
    """The teams and `count` people, through the service that gives each their role's group: a
    sales manager per sales team (the first reads the reports), a BDC manager per BDC team, BDC
    agents, salespeople; one agent or salesperson in LEAVER_EVERY has left, in one of the eras."""
    from django.contrib.auth import get_user_model
    from django.db import transaction

    from dealercrm.models import Role, StaffProfile, Team
    from dealercrm.services import staff_create
    from leads.demo import FIRST_NAMES, LAST_NAMES

    rng = random.Random(7)
    with transaction.atomic():
        teams = {name: Team.objects.create(name=name, kind=kind) for name, kind in TEAMS}
        sales = [team for name, team in teams.items() if team.kind == Team.Kind.SALES]
        bdc = [team for name, team in teams.items() if team.kind == Team.Kind.BDC]
        plan = [(Role.SALES_MANAGER, team) for team in sales]
        plan += [(Role.BDC_MANAGER, team) for team in bdc]
        agents = round(count * BDC_AGENT_SHARE)
        plan += [(Role.BDC_AGENT, bdc[n % len(bdc)]) for n in range(agents)]
        plan += [(Role.SALESPERSON, sales[n % len(sales)]) for n in range(count - len(plan))]
        people = []
        for number, (role, team) in enumerate(plan):
            user = staff_create(
                username=f"{role.value}{number:03d}",
                role=role,
                team=team,
                first_name=rng.choice(FIRST_NAMES),
                last_name=rng.choice(LAST_NAMES),
            )
            people.append((user.pk, role, team.pk))
        owners = [
            (pk, role, team) for pk, role, team in people if role in ("salesperson", "bdc_agent")
        ]
        # Who left, and after which era: their leads stay theirs.
        leavers = {
            pk: 1 + n % len(ERAS_DAYS) for n, (pk, _, _) in enumerate(owners[::LEAVER_EVERY])
        }
        StaffProfile.objects.filter(user_id__in=leavers).update(active=False, on_shift=False)
        get_user_model().objects.filter(pk__in=leavers).update(is_active=False)
    reader = get_user_model().objects.get(pk=people[0][0])
    assert reader.has_perm("leads.view_lead_reports")
    speeds = {pk: round(rng.lognormvariate(0, 0.25), 3) for pk, _, _ in owners}
    return {
        "teams": {name: team.pk for name, team in teams.items()},
        "owners": owners,
        "leavers": leavers,
        "speeds": speeds,
        "managers": [pk for pk, role, _ in people if role in ("sales_manager", "bdc_manager")],
        "bdc_manager": next(pk for pk, role, _ in people if role == "bdc_manager"),
        "reader": reader,
        "count": len(people),
    }


def sources_setup(people):
    from decimal import Decimal

    from leads.models import LeadSource

    for key, name, channel, _, points, cost, team in SOURCES:
        if not name:
            continue
        LeadSource.objects.create(
            key=key,
            name=name,
            channel=channel,
            quality_points=points,
            team_id=people["teams"].get(team),
            form_enabled=key == "dealer-website",
            form_title="Ask us about a car" if key == "dealer-website" else "",
            cost_per_lead=Decimal(cost) if cost else None,
        )


# --- the data ------------------------------------------------------------------------------------


def index_case(column, weights):
    """A CASE choosing 1..len(weights) by the uniform random `column`, as an int."""
    return f"({weighted_case(column, list(enumerate(weights, start=1)))})::int"


def range_case(bucket, value, ranges):
    """A CASE drawing a number from [(low, high, weight)]: the bucket by `bucket`, the value in
    it by `value` (both uniform randoms)."""
    total = sum(weight for _, _, weight in ranges)
    branches, edge = [], 0.0
    for low, high, weight in ranges[:-1]:
        edge += weight / total
        branches.append(f"WHEN {bucket} < {edge:.6f} THEN {low} + {high - low} * {value}")
    low, high, _ = ranges[-1]
    return f"(CASE {' '.join(branches)} ELSE {low} + {high - low} * {value} END)"


def tier_case(interval, tiers):
    """The longest quiet tier (days) `interval` reaches; 0 below the first."""
    branches = " ".join(f"WHEN {interval} >= interval '{t} days' THEN {t}" for t in sorted(tiers,
                        reverse=True))  # fmt: skip
    return f"(CASE {branches} ELSE 0 END)"


def score_templates(sources):
    """SCORE_TEMPLATES factor sets as leads.scoring writes them, each with its purchase horizon,
    times each source's points: (horizon per set, [factors JSON], [score]) with the JSON and the
    score at (set - 1) * len(sources) + source."""
    from leads.scoring import FACTORS

    rng = random.Random(11)

    def factor(code, count=1):
        meta = FACTORS[code]
        times = min(count, meta.cap)
        detail = f"{count} × {meta.default_points}" if meta.cap > 1 else ""
        return {
            "code": code,
            "label": meta.label,
            "points": meta.default_points * times,
            "detail": detail,
        }

    horizons, factors, scores = [], [], []
    for _ in range(SCORE_TEMPLATES):
        horizon = rng.choices([h for h, _ in HORIZONS], [w for _, w in HORIZONS])[0]
        chosen = [factor("base")]
        for code, chance, most in (("website_session", 0.6, 5), ("form_viewed", 0.3, 3),
                                   ("vehicle_viewed", 0.5, 7)):  # fmt: skip
            if rng.random() < chance:
                chosen.append(factor(code, rng.randint(1, most)))
        for code, chance in (("seen_recently", 0.3), ("valid_phone", 0.8), ("valid_email", 0.85),
                             ("specific_vehicle", 0.25), ("trade_in", 0.35)):  # fmt: skip
            if rng.random() < chance:
                chosen.append(factor(code))
        if horizon:
            chosen.append(factor(f"horizon_{horizon}"))
        horizons.append(horizon)
        for _, name, _, _, points, _, _ in sources:
            each = list(chosen)
            if points:
                each.append({"code": "source", "label": f"Source: {name}", "points": points,
                             "detail": ""})  # fmt: skip
            factors.append(json.dumps(each))
            scores.append(max(0, min(100, sum(f["points"] for f in each))))
    return horizons, factors, scores


def routing_decisions(people):
    """The routing decision each owner's leads carry (leads.routing.decision_json), by user id;
    and the one of a lead waiting in the pool."""
    from django.contrib.auth import get_user_model

    from dealercrm.models import person_name

    users = get_user_model().objects.in_bulk([pk for pk, _, _ in people["owners"]])
    by_team = {}
    for pk, _, team in people["owners"]:
        by_team.setdefault(team, []).append(pk)
    teams = {pk: name for name, pk in people["teams"].items()}
    # By user id, for PostgreSQL's 1-based arrays.
    decisions = [None] * max(users)
    for pk, role, team in people["owners"]:
        mates = [other for other in by_team[team] if other != pk][:2]
        bdc = role == "bdc_agent"
        rule = {"id": 2 if bdc else 1, "name": "Weak leads to BDC" if bdc else "Sales by load"}
        candidates = [
            {"id": other, "name": person_name(users[other]), "open_leads": 11 + n * 3,
             "capacity": 25, "response_seconds": 240.0 + 60 * n, "weight": None, "skipped": ""}
            for n, other in enumerate([pk, *mates])
        ]  # fmt: skip
        decisions[pk - 1] = json.dumps(
            {
                "outcome": "assigned",
                "rule": rule,
                "strategy": "least_loaded",
                "explanation": f"{rule['name']}: {person_name(users[pk])} of {teams[team]} had "
                "the fewest open leads against their capacity (11 of 25).",
                "candidates": candidates,
                "trail": [f"Rule '{rule['name']}' matched.", "3 candidates on shift."],
                "sla_minutes": 15,
                "max_rotations": 2,
                "manager_id": people["managers"][0],
            }
        )
    pool = json.dumps(
        {
            "outcome": "pool",
            "rule": None,
            "strategy": "",
            "explanation": f"Nobody on shift under capacity: the lead waits in the {POOL_TEAM} "
            "pool.",
            "candidates": [],
            "trail": ["No rule had a candidate."],
            "sla_minutes": 15,
            "max_rotations": 2,
            "manager_id": people["bdc_manager"],
        }
    )
    return decisions, pool


def owner_case(people, params):
    """The owner of a lead by its era (people who left are still there in the eras before they
    left) and its score (weak leads to BDC agents): a CASE over arrays in `params`."""
    branches = []
    for era in range(1, len(ERAS_DAYS) + 2):
        present = [
            (pk, role)
            for pk, role, _ in people["owners"]
            if pk not in people["leavers"] or people["leavers"][pk] >= era
        ]
        for group in ("bdc_agent", "salesperson"):
            params[f"{group}_{era}"] = [pk for pk, role in present if role == group]
        branches.append(
            f"WHEN {era} THEN CASE WHEN w.score < 35"
            f" THEN (%(bdc_agent_{era})s::int[])[1 + floor(o.r_owner * "
            f"{len(params[f'bdc_agent_{era}'])})::int]"
            f" ELSE (%(salesperson_{era})s::int[])[1 + floor(o.r_owner * "
            f"{len(params[f'salesperson_{era}'])})::int] END"
        )
    return f"CASE w.era {' '.join(branches)} END"


DRAW_SQL = """
CREATE UNLOGGED TABLE lead_draw AS
SELECT d.n, d.hour, CASE WHEN d.local_ts AT TIME ZONE %(tz)s > %(latest)s
    THEN d.local_ts - interval '1 day' ELSE d.local_ts END AS local_ts
FROM (
    SELECT s.n, h.hour, s.day + h.hour * interval '1 hour' + s.r_minute * interval '1 hour'
        AS local_ts
    FROM (
        SELECT n, %(first_day)s::date + floor(random() * %(days)s)::int AS day,
            random() AS r_hour, random() AS r_minute
        FROM generate_series(1, %(leads)s) AS n
    ) AS s
    CROSS JOIN LATERAL (SELECT {hour_case} AS hour OFFSET 0) AS h
) AS d
"""

# One row per lead, ids in time order: who, what, and every moment of its story as planned
# (p_*), then as happened by now, with everything the lead row, its history, activities, tasks
# and resurfacings are made of. Each LATERAL is one step (OFFSET 0 keeps the planner from
# folding it into the next, which would compute its expressions again for every use).
PLAN_SQL = """
CREATE UNLOGGED TABLE lead_plan AS
WITH ordered AS (
    SELECT row_number() OVER w AS id, d.hour, d.local_ts,
        d.local_ts AT TIME ZONE %(tz)s AS created_at, d.r_new,
        count(*) FILTER (WHERE d.r_new) OVER w AS customers_so_far,
        random() AS r_customer, random() AS r_source, random() AS r_template,
        random() AS r_pool, random() AS r_owner, random() AS r_assign, random() AS r_outcome,
        random() AS r_dqnew, random() AS r_path, random() AS r_night, random() AS r_bucket,
        random() AS r_delay, random() AS r_sale_b, random() AS r_sale, random() AS r_q,
        random() AS r_a, random() AS r_arch, random() AS r_close_b, random() AS r_close,
        random() AS r_reason, random() AS r_reopen, random() AS r_reopen_t,
        random() AS r_life2, random() AS r_l2_reason, random() AS r_l2c, random() AS r_l2f,
        random() AS r_c1kind, random() AS r_c1out, random() AS r_dur, random() AS r_a1,
        random() AS r_a2, random() AS r_fkind, random() AS r_f1, random() AS r_f2,
        random() AS r_f3, random() AS r_f4, random() AS r_l1, random() AS r_l1t,
        random() AS r_l1b, random() AS r_reply, random() AS r_reply_t, random() AS r_nl,
        random() AS r_nl_t, random() AS r_dismiss, random() AS r_dismiss_t, random() AS r_decide,
        random() AS r_seen, random() AS r_appt, random() AS r_vehicle, random() AS r_cond,
        random() AS r_trade, random() AS r_comment
    FROM (SELECT *, random() >= %(repeat_share)s AS r_new FROM lead_draw) AS d
    WINDOW w AS (ORDER BY d.local_ts, d.n ROWS UNBOUNDED PRECEDING)
)
SELECT o.id, o.created_at, o.hour, w.customer_id, w.src, w.tmpl, w.score, w.horizon,
    (%(source_keys)s::text[])[w.src] AS source, (%(source_channels)s::text[])[w.src] AS channel,
    w2.owner, t1.team, t1.assigned_at, w2.outcome, p6.archived, p7.x_status, p7.pre_status,
    p7.cause, p7.l2_outcome, p7.x_reason, p7.l2_reason,
    h.c, h.q, h.a, h.s, h.x, h.ro, h.l2c, h.l2f,
    k.c1_kind, k.c1_outcome, k.f_kind, o.r_dur,
    k.a1, k.a2, k.fq, k.fa, k.fs, k.l1, k.l1b, k.rp, k.l2ft,
    st.status, st.first_contacted_at, st.qualified_at, st.closed_at, st.close_reason,
    st.personal_touches, st.calls, st.automated_touches, st.responded_at, st.last_activity_at,
    st.status_changed_at, st.appointment_at,
    CASE WHEN p7.cause = 'audit' THEN h.ro END AS audit_returned_at,
    coalesce({gap_tier}, 0) AS quiet_tier_reached,
    CASE WHEN st.status IN ('new', 'contacted', 'qualified', 'appointment')
        THEN {stale_tier} ELSE 0 END AS stale_tier,
    g.gap_start, g.gap, nl.nl_at, nl.nl_days, dis.dis_at, dis.decided_at,
    CASE WHEN nl.nl_at IS NOT NULL AND g.gap_start = st.last_activity_at
              AND st.status IN ('new', 'contacted', 'qualified', 'appointment') THEN nl.nl_at
         WHEN p7.cause = 'resurfacing' AND h.ro IS NOT NULL AND h.l2c IS NULL
              AND st.status IN ('new', 'contacted', 'qualified', 'appointment') THEN h.ro
    END AS resurfaced_at,
    greatest(CASE WHEN o.r_seen < 0.6 THEN o.created_at - o.r_seen * interval '16 days' END,
             nl.nl_at, CASE WHEN p7.cause = 'resurfacing' THEN h.ro END, dis.dis_at)
        AS last_seen_at,
    o.r_vehicle, o.r_cond, o.r_trade, o.r_comment, o.r_appt, o.r_decide
FROM ordered AS o
CROSS JOIN LATERAL (
    SELECT {source_case} AS src, 1 + floor(o.r_template * %(templates)s)::int AS tmpl,
        CASE WHEN o.r_new OR o.customers_so_far = 0 THEN greatest(o.customers_so_far, 1)
             ELSE 1 + floor(o.r_customer * o.customers_so_far)::bigint END AS customer_id,
        CASE WHEN o.created_at < %(era_1)s THEN 1 WHEN o.created_at < %(era_2)s THEN 2
             WHEN o.created_at < %(era_3)s THEN 3 ELSE 4 END AS era,
        o.created_at > %(now)s - interval '6 hours' AND o.r_pool < 0.4 AS pool
    OFFSET 0
) AS w0
CROSS JOIN LATERAL (
    SELECT w0.*, (%(scores)s::int[])[(w0.tmpl - 1) * %(source_count)s + w0.src] AS score,
        (%(horizons)s::text[])[w0.tmpl] AS horizon
    OFFSET 0
) AS w
CROSS JOIN LATERAL (
    SELECT CASE WHEN w.pool THEN NULL ELSE {owner_case} END AS owner,
        CASE WHEN w.pool THEN 'new' ELSE {outcome_case} END AS outcome
    OFFSET 0
) AS w2
CROSS JOIN LATERAL (
    SELECT coalesce((%(team_of)s::bigint[])[w2.owner], %(pool_team)s) AS team,
        CASE WHEN w2.owner IS NOT NULL
            THEN o.created_at + (3 + 87 * o.r_assign) * interval '1 second' END AS assigned_at,
        coalesce((%(speed_of)s::float8[])[w2.owner], 1) AS speed,
        w2.outcome = 'disqualified' AND o.r_dqnew < 0.5 AS dq_new,
        CASE WHEN o.r_path < 0.55 THEN 'contacted' WHEN o.r_path < 0.92 THEN 'qualified'
             ELSE 'appointment' END AS lost_path
    OFFSET 0
) AS t1
CROSS JOIN LATERAL (
    SELECT CASE WHEN w2.outcome = 'new' OR t1.dq_new THEN NULL
        WHEN (o.hour < 8 OR o.hour >= 20) AND o.r_night < 0.5
            THEN (date_trunc('day', o.local_ts)
                  + CASE WHEN o.hour >= 20 THEN interval '1 day' ELSE interval '0' END
                  + interval '8 hours' + (10 + 80 * o.r_delay) * interval '1 minute')
                 AT TIME ZONE %(tz)s
        ELSE t1.assigned_at + t1.speed * {delay_minutes} * interval '1 minute' END AS p_c
    OFFSET 0
) AS p1
CROSS JOIN LATERAL (
    SELECT CASE WHEN w2.outcome = 'sold' THEN greatest(
        o.created_at + {sale_days} * interval '1 day', p1.p_c + interval '8 hours') END AS p_s
    OFFSET 0
) AS p2
CROSS JOIN LATERAL (
    SELECT CASE WHEN w2.outcome = 'sold' THEN p1.p_c + (p2.p_s - p1.p_c) * (0.05 + 0.25 * o.r_q)
        WHEN w2.outcome IN ('qualified', 'appointment')
             OR (w2.outcome = 'lost' AND t1.lost_path <> 'contacted')
            THEN p1.p_c + (4 + 68 * o.r_q) * interval '1 hour' END AS p_q
    OFFSET 0
) AS p3
CROSS JOIN LATERAL (
    SELECT CASE WHEN w2.outcome = 'sold' THEN p3.p_q + (p2.p_s - p3.p_q) * (0.3 + 0.5 * o.r_a)
        WHEN w2.outcome = 'appointment' OR (w2.outcome = 'lost' AND t1.lost_path = 'appointment')
            THEN p3.p_q + (4 + 68 * o.r_a) * interval '1 hour' END AS p_a
    OFFSET 0
) AS p4
CROSS JOIN LATERAL (
    SELECT coalesce(p4.p_a, p3.p_q, p1.p_c) AS last_step,
        w2.outcome = 'lost' AND t1.lost_path = 'contacted'
            AND w.horizon IN ('within_6_months', 'later') AND o.r_arch < 0.7 AS archived
    OFFSET 0
) AS p5
CROSS JOIN LATERAL (
    SELECT p5.archived, CASE
        WHEN w2.outcome = 'lost' AND p5.archived
            THEN p5.last_step + interval '30 days' + o.r_close * interval '1 day'
        WHEN w2.outcome = 'lost' THEN p5.last_step + {loss_days} * interval '1 day'
        WHEN t1.dq_new THEN t1.assigned_at + (2 + 88 * o.r_close) * interval '1 minute'
        WHEN w2.outcome = 'disqualified'
            THEN p1.p_c + interval '1 hour' + o.r_close * o.r_close * interval '7 days'
        END AS p_x
    OFFSET 0
) AS p6
CROSS JOIN LATERAL (
    SELECT CASE WHEN w2.outcome = 'disqualified' THEN 'disqualified'
            WHEN w2.outcome = 'lost' THEN 'lost' END AS x_status,
        CASE WHEN t1.dq_new THEN 'new' WHEN w2.outcome = 'disqualified' THEN 'contacted'
            ELSE t1.lost_path END AS pre_status,
        CASE WHEN w2.outcome = 'disqualified' AND o.r_reopen < %(audit_share)s THEN 'audit'
            WHEN w2.outcome = 'lost' AND o.r_reopen < %(reactivation_share)s THEN 'resurfacing'
            END AS cause,
        CASE WHEN w2.outcome = 'disqualified'
                THEN (%(dq_ids)s::bigint[])[{dq_reason}]
            WHEN p6.archived THEN %(archived_id)s
            WHEN w2.outcome = 'lost' THEN (%(lost_ids)s::bigint[])[{lost_reason}] END AS x_reason,
        (%(lost_ids)s::bigint[])[{l2_reason}] AS l2_reason,
        CASE WHEN w2.outcome = 'disqualified' THEN {audit_life} ELSE {reactivation_life} END
            AS l2_outcome,
        CASE WHEN w2.outcome = 'disqualified'
                THEN p6.p_x + (2 + 8 * o.r_reopen_t) * interval '1 day'
            ELSE p6.p_x + (3 + 57 * o.r_reopen_t) * interval '1 day' END AS p_ro_if
    OFFSET 0
) AS p7
CROSS JOIN LATERAL (
    SELECT CASE WHEN p7.cause IS NOT NULL THEN p7.p_ro_if END AS p_ro,
        CASE WHEN p7.cause IS NOT NULL AND p7.pre_status = 'new'
            THEN p7.p_ro_if + (10 + 1430 * o.r_l2c) * interval '1 minute' END AS p_l2c
    OFFSET 0
) AS p8
CROSS JOIN LATERAL (
    SELECT CASE WHEN p8.p_ro IS NULL OR p7.l2_outcome = 'open' THEN NULL
        WHEN p7.l2_outcome = 'sold'
            THEN greatest(p8.p_ro, p8.p_l2c) + (3 + 22 * o.r_l2f) * interval '1 day'
        ELSE greatest(p8.p_ro, p8.p_l2c) + (5 + 35 * o.r_l2f) * interval '1 day' END AS p_l2f
    OFFSET 0
) AS p9
CROSS JOIN LATERAL (
    SELECT CASE WHEN p1.p_c <= %(now)s THEN p1.p_c END AS c,
        CASE WHEN p3.p_q <= %(now)s THEN p3.p_q END AS q,
        CASE WHEN p4.p_a <= %(now)s THEN p4.p_a END AS a,
        CASE WHEN p2.p_s <= %(now)s THEN p2.p_s END AS s,
        CASE WHEN p6.p_x <= %(now)s THEN p6.p_x END AS x,
        CASE WHEN p8.p_ro <= %(now)s THEN p8.p_ro END AS ro,
        CASE WHEN p8.p_l2c <= %(now)s THEN p8.p_l2c END AS l2c,
        CASE WHEN p9.p_l2f <= %(now)s THEN p9.p_l2f END AS l2f
    OFFSET 0
) AS h
CROSS JOIN LATERAL (
    -- The activities, each when it happened (NULL: it did not, or not yet).
    SELECT CASE WHEN o.r_c1kind < 0.70 THEN 'call' WHEN o.r_c1kind < 0.88 THEN 'email'
            ELSE 'sms' END AS c1_kind,
        CASE WHEN o.r_c1kind >= 0.70 THEN 'sent' WHEN o.r_c1out < 0.6 THEN 'connected'
            WHEN o.r_c1out < 0.85 THEN 'voicemail' ELSE 'no_answer' END AS c1_outcome,
        CASE WHEN o.r_fkind < 0.6 THEN 'call' WHEN o.r_fkind < 0.8 THEN 'sms' ELSE 'email' END
            AS f_kind,
        CASE WHEN (%(source_channels)s::text[])[w.src] = ANY(%(automated)s)
                AND o.created_at + (5 + 55 * o.r_a1) * interval '1 second' <= %(now)s
            THEN o.created_at + (5 + 55 * o.r_a1) * interval '1 second' END AS a1,
        CASE WHEN (%(source_channels)s::text[])[w.src] = ANY(%(automated)s) AND o.r_a2 < 0.35
            AND o.created_at + interval '2 days' + o.r_a1 * interval '6 hours'
                < least(coalesce(p2.p_s, p6.p_x, %(now)s), %(now)s)
            THEN o.created_at + interval '2 days' + o.r_a1 * interval '6 hours' END AS a2,
        CASE WHEN p3.p_q - (p3.p_q - p1.p_c) * (0.1 + 0.4 * o.r_f1) <= %(now)s
            THEN p3.p_q - (p3.p_q - p1.p_c) * (0.1 + 0.4 * o.r_f1) END AS fq,
        CASE WHEN p4.p_a - (p4.p_a - p3.p_q) * (0.1 + 0.4 * o.r_f2) <= %(now)s
            THEN p4.p_a - (p4.p_a - p3.p_q) * (0.1 + 0.4 * o.r_f2) END AS fa,
        CASE WHEN p2.p_s - (p2.p_s - coalesce(p4.p_a, p3.p_q)) * (0.1 + 0.4 * o.r_f3)
                <= %(now)s
            THEN p2.p_s - (p2.p_s - coalesce(p4.p_a, p3.p_q)) * (0.1 + 0.4 * o.r_f3) END AS fs,
        CASE WHEN w2.outcome = 'lost' AND NOT p5.archived AND o.r_l1 < 0.7
                AND p5.last_step + (p6.p_x - p5.last_step) * (0.3 + 0.4 * o.r_l1t) <= %(now)s
            THEN p5.last_step + (p6.p_x - p5.last_step) * (0.3 + 0.4 * o.r_l1t) END AS l1,
        CASE WHEN w2.outcome = 'lost' AND NOT p5.archived AND o.r_l1b < 0.5
                AND p5.last_step + (p6.p_x - p5.last_step) * (0.75 + 0.2 * o.r_l1t) <= %(now)s
            THEN p5.last_step + (p6.p_x - p5.last_step) * (0.75 + 0.2 * o.r_l1t) END AS l1b,
        CASE WHEN p1.p_c IS NOT NULL AND o.r_reply < 0.18
                AND p1.p_c + (coalesce(p3.p_q, p2.p_s, p6.p_x, p1.p_c + interval '4 days')
                              - p1.p_c) * (0.05 + 0.4 * o.r_reply_t) <= %(now)s
            THEN p1.p_c + (coalesce(p3.p_q, p2.p_s, p6.p_x, p1.p_c + interval '4 days')
                           - p1.p_c) * (0.05 + 0.4 * o.r_reply_t) END AS rp,
        CASE WHEN p7.l2_outcome = 'sold' AND p9.p_l2f - (p9.p_l2f - greatest(p8.p_ro, p8.p_l2c))
                * (0.1 + 0.4 * o.r_f4) <= %(now)s
            THEN p9.p_l2f - (p9.p_l2f - greatest(p8.p_ro, p8.p_l2c)) * (0.1 + 0.4 * o.r_f4)
            END AS l2ft
    OFFSET 0
) AS k
CROSS JOIN LATERAL (
    SELECT CASE
            WHEN h.l2f IS NOT NULL THEN p7.l2_outcome
            WHEN h.ro IS NOT NULL THEN CASE WHEN h.l2c IS NOT NULL THEN 'contacted'
                ELSE p7.pre_status END
            WHEN h.x IS NOT NULL THEN p7.x_status
            WHEN h.s IS NOT NULL THEN 'sold'
            WHEN h.a IS NOT NULL THEN 'appointment'
            WHEN h.q IS NOT NULL THEN 'qualified'
            WHEN h.c IS NOT NULL THEN 'contacted'
            ELSE 'new' END AS status,
        coalesce(h.c, h.l2c) AS first_contacted_at,
        coalesce(h.q, CASE WHEN p7.l2_outcome = 'sold' THEN h.l2f END) AS qualified_at,
        (h.c IS NOT NULL)::int + (k.fq IS NOT NULL)::int + (k.fa IS NOT NULL)::int
            + (k.fs IS NOT NULL)::int + (k.l1 IS NOT NULL)::int + (k.l1b IS NOT NULL)::int
            + (h.l2c IS NOT NULL)::int + (k.l2ft IS NOT NULL)::int AS personal_touches,
        (h.c IS NOT NULL AND k.c1_kind = 'call')::int
            + ((k.fq IS NOT NULL)::int + (k.fa IS NOT NULL)::int + (k.fs IS NOT NULL)::int)
              * (k.f_kind = 'call')::int
            + (k.l1 IS NOT NULL)::int + (h.l2c IS NOT NULL)::int + (k.l2ft IS NOT NULL)::int
            AS calls,
        (k.a1 IS NOT NULL)::int + (k.a2 IS NOT NULL)::int AS automated_touches,
        least(CASE WHEN k.c1_outcome = 'connected' THEN h.c END, k.fq, k.fa, k.fs, k.rp, h.l2c,
              k.l2ft) AS responded_at,
        greatest(o.created_at, k.a1, k.a2, h.c, k.fq, h.q, k.fa, h.a, k.fs, h.s, k.l1, k.l1b,
                 k.rp, h.x, h.ro, h.l2c, k.l2ft, h.l2f) AS last_activity_at,
        coalesce(greatest(h.c, h.q, h.a, h.s, h.x, h.ro, h.l2c, h.l2f), o.created_at)
            AS status_changed_at,
        CASE WHEN h.a IS NOT NULL AND h.x IS NULL AND h.s IS NULL
            THEN h.a + (1 + 4 * o.r_appt) * interval '1 day' END AS appointment_at
    OFFSET 0
) AS s0
CROSS JOIN LATERAL (
    SELECT s0.*,
        CASE WHEN s0.status IN ('lost', 'disqualified') THEN
            CASE WHEN h.l2f IS NOT NULL THEN p7.l2_reason ELSE p7.x_reason END END
            AS close_reason,
        CASE s0.status WHEN 'sold' THEN coalesce(h.l2f, h.s)
            WHEN 'lost' THEN coalesce(h.l2f, h.x) WHEN 'disqualified' THEN h.x END AS closed_at
    OFFSET 0
) AS st
LEFT JOIN LATERAL (
    -- The longest time the lead was open without CRM activity (to now, when it is open), and
    -- where it started: a closed lead waiting to be returned to work is not quiet.
    SELECT u.prev AS gap_start, u.t - u.prev AS gap
    FROM (
        SELECT t, lag(t) OVER (ORDER BY t) AS prev
        FROM unnest(ARRAY[o.created_at, k.a1, k.a2, h.c, k.fq, h.q, k.fa, h.a, k.fs, h.s, k.l1,
                          k.l1b, k.rp, h.x, h.ro, h.l2c, k.l2ft, h.l2f,
                          CASE WHEN st.status IN ('new', 'contacted', 'qualified', 'appointment')
                              THEN %(now)s END]) AS t
        WHERE t IS NOT NULL
    ) AS u
    WHERE u.prev IS NOT NULL AND NOT (u.prev = h.x AND h.ro IS NOT NULL)
    ORDER BY u.t - u.prev DESC
    LIMIT 1
) AS g ON true
CROSS JOIN LATERAL (
    SELECT CASE WHEN w2.owner IS NOT NULL AND {gap_tier} > 0 AND o.r_nl < %(not_lost_share)s
            THEN g.gap_start + {gap_tier} * interval '1 day'
                 + (g.gap - {gap_tier} * interval '1 day') * 0.9 * o.r_nl_t END AS nl_at,
        {gap_tier} AS nl_days
    OFFSET 0
) AS nl
CROSS JOIN LATERAL (
    SELECT CASE WHEN st.status = 'lost' AND h.ro IS NULL AND o.r_dismiss < %(dismissed_share)s
                AND h.x + (3 + 57 * o.r_dismiss_t) * interval '1 day' <= %(now)s
            THEN h.x + (3 + 57 * o.r_dismiss_t) * interval '1 day' END AS dis_at,
        CASE WHEN st.status = 'lost' AND h.ro IS NULL AND o.r_dismiss < %(dismissed_share)s
                AND h.x + (3 + 57 * o.r_dismiss_t) * interval '1 day'
                    + (1 + 47 * o.r_decide) * interval '1 hour' <= %(now)s
            THEN h.x + (3 + 57 * o.r_dismiss_t) * interval '1 day'
                + (1 + 47 * o.r_decide) * interval '1 hour' END AS decided_at
    OFFSET 0
) AS dis
"""

CUSTOMERS_SQL = """
INSERT INTO dealercrm_customer (id, first_name, last_name, email, phone, postal_code,
    preferred_contact, consent_email, consent_sms, consent_phone, created_at, updated_at)
SELECT c.customer_id, (%(first_names)s::text[])[1 + mod(c.customer_id * 7, %(first_count)s)],
    (%(last_names)s::text[])[1 + mod(c.customer_id * 13, %(last_count)s)],
    'customer' || c.customer_id || '@example.com',
    '+1' || (ARRAY['202', '312', '415', '512', '617', '713', '303', '206'])[
        1 + mod(c.customer_id, 8)] || lpad(mod(c.customer_id * 7919, 10000000)::text, 7, '0'),
    lpad(mod(c.customer_id * 31, 99999)::text, 5, '0'),
    (ARRAY['any', 'any', 'phone', 'email', 'sms'])[1 + mod(c.customer_id, 5)],
    mod(c.customer_id, 5) <> 0, mod(c.customer_id, 2) = 0, mod(c.customer_id, 10) <> 0,
    c.first_at, c.first_at
FROM (SELECT customer_id, min(created_at) AS first_at FROM lead_plan GROUP BY customer_id) AS c
"""

LEADS_SQL = """
INSERT INTO leads_lead (id, customer_id, source, channel, external_id, vehicle_year,
    vehicle_make, vehicle_model, vehicle_trim, vehicle_vin, vehicle_stock, vehicle_condition,
    tradein_year, tradein_make, tradein_model, tradein_vin, tradein_mileage, purchase_horizon,
    comments, score, score_factors, contact_issues, status, close_reason_id, owner_id, team_id,
    created_at, assigned_at, first_response_due_at, first_contacted_at, first_response_warned_at,
    appointment_at, resurfaced_at, routing, last_activity_at, stale_tier, last_seen_at,
    status_changed_at, closed_at, updated_at, qualified_at, appointment_set_at, audit_returned_at,
    quiet_tier_reached, personal_touches, calls, automated_touches, responded_at, created_hour,
    first_response_seconds, first_contact_band)
SELECT p.id, p.customer_id, p.source, p.channel,
    CASE WHEN p.channel IN ('third_party', 'oem', 'social', 'import')
        THEN p.source || '-' || (1000000 + p.id)::text ELSE '' END,
    CASE WHEN p.r_cond < 0.45 THEN %(this_year)s - floor(p.r_cond * 3)::int
        ELSE %(this_year)s - 2 - floor(p.r_vehicle * 9)::int END,
    v.make, v.model, v.trim,
    CASE WHEN mod(p.id, 5) = 0 THEN '1HGCV1F3' || lpad((p.id * 7)::text, 9, '0') ELSE '' END,
    CASE WHEN mod(p.id, 5) < 2 THEN 'S' || (10000 + mod(p.id, 90000))::text ELSE '' END,
    CASE WHEN p.r_cond < 0.45 THEN 'new' WHEN p.r_cond < 0.95 THEN 'used' ELSE '' END,
    CASE WHEN p.r_trade < 0.35 THEN 2010 + floor(p.r_trade * 30)::int END,
    CASE WHEN p.r_trade < 0.35 THEN t.make ELSE '' END,
    CASE WHEN p.r_trade < 0.35 THEN t.model ELSE '' END, '',
    CASE WHEN p.r_trade < 0.35 THEN 20000 + floor(p.r_trade * 400000)::int END,
    p.horizon, (%(comments)s::text[])[1 + floor(p.r_comment * %(comment_count)s)::int],
    p.score, (%(factors)s::jsonb[])[(p.tmpl - 1) * %(source_count)s + p.src],
    CASE WHEN p.close_reason = %(invalid_contact_id)s
        THEN '[{"field": "phone", "value": "+15550100000", "problem": "not a valid number"}]'
        ::jsonb ELSE '[]'::jsonb END,
    p.status, p.close_reason, p.owner, p.team, p.created_at, p.assigned_at,
    coalesce(p.assigned_at, p.created_at) + interval '15 minutes', p.first_contacted_at,
    CASE WHEN p.owner IS NOT NULL AND coalesce(p.first_contacted_at, %(now)s)
        > p.assigned_at + interval '15 minutes' THEN p.assigned_at + interval '10 minutes' END,
    p.appointment_at, p.resurfaced_at,
    CASE WHEN p.owner IS NULL THEN %(pool_routing)s::jsonb
        ELSE (%(routing)s::jsonb[])[p.owner] END,
    p.last_activity_at, p.stale_tier, p.last_seen_at, p.status_changed_at, p.closed_at,
    p.last_activity_at, p.qualified_at, p.a, p.audit_returned_at, p.quiet_tier_reached,
    p.personal_touches, p.calls, p.automated_touches, p.responded_at,
    extract(hour FROM p.created_at AT TIME ZONE %(tz)s), f.seconds,
    CASE WHEN f.seconds <= 300 THEN 1 WHEN f.seconds <= 3600 THEN 2
        WHEN (p.first_contacted_at AT TIME ZONE %(tz)s)::date
            = (p.created_at AT TIME ZONE %(tz)s)::date THEN 3
        WHEN f.seconds IS NOT NULL THEN 4 END
FROM lead_plan AS p
CROSS JOIN LATERAL (
    SELECT floor(extract(epoch FROM p.first_contacted_at - p.created_at))::int AS seconds
) AS f
CROSS JOIN LATERAL (
    SELECT (%(makes)s::text[])[1 + floor(p.r_vehicle * %(vehicle_count)s)::int] AS make,
        (%(models)s::text[])[1 + floor(p.r_vehicle * %(vehicle_count)s)::int] AS model,
        (%(trims)s::text[])[1 + floor(p.r_vehicle * %(vehicle_count)s)::int] AS trim
    OFFSET 0
) AS v
CROSS JOIN LATERAL (
    SELECT (%(makes)s::text[])[1 + mod(p.id * 5, %(vehicle_count)s)] AS make,
        (%(models)s::text[])[1 + mod(p.id * 5, %(vehicle_count)s)] AS model
    OFFSET 0
) AS t
"""

# The history, one row per step of the story that happened; slot numbers make the ids.
EVENTS_SQL = """
INSERT INTO leads_leadevent (id, lead_id, kind, at, actor_id, actor_label, from_status,
    to_status, from_owner_id, to_owner_id, reason_id, cause, note, routing)
SELECT p.id * %(slots)s + e.slot, p.id, e.kind, e.at, e.actor, e.label, e.from_status,
    e.to_status, NULL, e.to_owner, e.reason, e.cause, e.note, e.routing
FROM lead_plan AS p
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.x IS NOT NULL AND p.archived THEN NULL ELSE p.owner END AS closer,
        CASE WHEN p.x IS NOT NULL AND p.archived THEN 'sweep:archive' ELSE '' END
            AS closer_label,
        CASE WHEN p.l2c IS NOT NULL THEN 'contacted' ELSE p.pre_status END AS life2_from,
        CASE p.c1_kind WHEN 'call' THEN 'call' WHEN 'email' THEN 'e-mail'
            ELSE 'text message' END AS touch
    OFFSET 0
) AS f
CROSS JOIN LATERAL (VALUES
    (0, 'created', p.created_at, NULL::int, 'intake:' || p.source, '', 'new', NULL::int,
        NULL::bigint, '', '', NULL::jsonb),
    (1, 'assigned', p.assigned_at, NULL, 'routing', '', '', p.owner, NULL, '', '',
        (%(routing)s::jsonb[])[p.owner]),
    (2, 'status_changed', p.c, p.owner, '', 'new', 'contacted', NULL, NULL, '',
        'First contact: ' || f.touch, NULL),
    (3, 'status_changed', p.q, p.owner, '', 'contacted', 'qualified', NULL, NULL, '', '', NULL),
    (4, 'status_changed', p.a, p.owner, '', 'qualified', 'appointment', NULL, NULL, '', '',
        NULL),
    (5, 'status_changed', p.s, p.owner, '', CASE WHEN p.a IS NOT NULL THEN 'appointment'
        ELSE 'qualified' END, 'sold', NULL, NULL, '', '', NULL),
    (6, 'status_changed', p.x, f.closer, f.closer_label, p.pre_status, p.x_status, NULL,
        p.x_reason, '', CASE WHEN p.archived THEN 'Buying later than in 3 months; 30 days '
        || 'without activity.' ELSE '' END, NULL),
    (7, 'reopened', p.ro, CASE WHEN p.cause = 'audit' THEN %(auditor)s END,
        CASE WHEN p.cause = 'resurfacing' THEN 'sweep:reactivation' ELSE '' END, p.x_status,
        p.pre_status, NULL, NULL, p.cause, CASE WHEN p.cause = 'audit'
        THEN 'Audit: real customer, reachable by e-mail.' ELSE 'Shopping again on the website.'
        END, NULL),
    (8, 'status_changed', p.l2c, p.owner, '', 'new', 'contacted', NULL, NULL, '',
        'First contact: call', NULL),
    (9, 'status_changed', p.l2f, p.owner, '', f.life2_from, p.l2_outcome, NULL,
        CASE WHEN p.l2_outcome = 'lost' THEN p.l2_reason END, '', '', NULL),
    (10, 'resurfaced', p.nl_at, NULL, 'sweep:stale', '', '', NULL, NULL, '',
        'Quiet for ' || p.nl_days || ' days, still shopping: 2 visits; looked at vehicles.',
        NULL)
) AS e(slot, kind, at, actor, label, from_status, to_status, to_owner, reason, cause, note,
       routing)
WHERE e.at IS NOT NULL
"""

# The touches, one row per activity slot that happened; the counters on the lead are these.
ACTIVITIES_SQL = """
INSERT INTO leads_activity (id, lead_id, kind, direction, automated, duration_seconds, outcome,
    customer_responded, body, actor_id, occurred_at, created_at)
SELECT p.id * %(slots)s + e.slot, p.id, e.kind, e.direction, e.automated, e.duration,
    e.outcome, e.responded, e.body, e.actor, e.at, e.at
FROM lead_plan AS p
CROSS JOIN LATERAL (
    SELECT CASE WHEN p.f_kind = 'call' THEN 300 + floor(1200 * p.r_dur)::int END AS f_duration,
        CASE WHEN p.f_kind = 'call' THEN 'connected' ELSE 'replied' END AS f_outcome
    OFFSET 0
) AS f
CROSS JOIN LATERAL (VALUES
    (0, p.a1, 'email', 'outbound', true, NULL::int, 'sent', false,
        'Thank you for your inquiry! A member of our team will contact you shortly.', NULL::int),
    (1, p.a2, 'email', 'outbound', true, NULL, 'sent', false,
        'Still looking? Here are vehicles like the one you asked about.', NULL),
    (2, p.c, p.c1_kind, 'outbound', false,
        CASE WHEN p.c1_kind <> 'call' THEN NULL WHEN p.c1_outcome = 'connected'
            THEN 240 + floor(860 * p.r_dur)::int WHEN p.c1_outcome = 'voicemail'
            THEN 25 + floor(20 * p.r_dur)::int ELSE 10 + floor(30 * p.r_dur)::int END,
        p.c1_outcome, p.c1_outcome = 'connected', '', p.owner),
    (3, p.fq, p.f_kind, 'outbound', false, f.f_duration, f.f_outcome, true, '', p.owner),
    (4, p.fa, p.f_kind, 'outbound', false, f.f_duration, f.f_outcome, true, '', p.owner),
    (5, p.fs, p.f_kind, 'outbound', false, f.f_duration, f.f_outcome, true, '', p.owner),
    (6, p.l1, 'call', 'outbound', false, 10 + floor(50 * p.r_dur)::int, 'no_answer', false, '',
        p.owner),
    (7, p.l1b, 'email', 'outbound', false, NULL, 'sent', false,
        'Checking in: is the car still on your list?', p.owner),
    (8, p.rp, CASE WHEN p.r_dur < 0.6 THEN 'email' ELSE 'sms' END, 'inbound', false, NULL,
        'replied', true, 'Thanks, I will get back to you this week.', p.owner),
    (9, p.l2c, 'call', 'outbound', false, 240 + floor(860 * p.r_dur)::int, 'connected', true, '',
        p.owner),
    (10, p.l2ft, 'call', 'outbound', false, 300 + floor(1200 * p.r_dur)::int, 'connected', true,
        '', p.owner)
) AS e(slot, at, kind, direction, automated, duration, outcome, responded, body, actor)
WHERE e.at IS NOT NULL
"""

# Follow-ups done, each with the touch it was done with; the plan cancelled when the lead closed
# (its next step stands for the rest); the plan of every open contacted lead from its latest
# start (steps to come open, past ones open when overdue); open appointments.
TASKS_SQL = """
INSERT INTO leads_followuptask (lead_id, assignee_id, kind, channel, title, plan_day, due_on,
    status, created_at, closed_at, closed_by_id, closed_note, activity_id)
SELECT a.lead_id, a.actor_id, 'follow_up', a.kind,
    CASE a.kind WHEN 'call' THEN 'Call' WHEN 'sms' THEN 'Text message' ELSE 'E-mail' END
        || ' the customer',
    least(45, greatest(1, (a.occurred_at AT TIME ZONE %(tz)s)::date
        - (s.start AT TIME ZONE %(tz)s)::date)),
    (a.occurred_at AT TIME ZONE %(tz)s)::date, 'done', s.start, a.occurred_at, a.actor_id, '',
    a.id
FROM leads_activity AS a
JOIN lead_plan AS p ON p.id = a.lead_id
CROSS JOIN LATERAL (
    SELECT CASE WHEN mod(a.id, %(slots)s) = 10 THEN coalesce(p.l2c, p.ro) ELSE p.c END AS start
) AS s
WHERE mod(a.id, %(slots)s) IN (3, 4, 5, 6, 7, 10);

INSERT INTO leads_followuptask (lead_id, assignee_id, kind, channel, title, plan_day, due_on,
    status, created_at, closed_at, closed_by_id, closed_note, activity_id)
SELECT p.id, p.owner, 'follow_up', st.channel, st.instruction, st.day,
    (p.c AT TIME ZONE %(tz)s)::date + st.day, 'cancelled', p.c, coalesce(p.s, p.x), NULL,
    'Lead ' || CASE WHEN p.s IS NOT NULL THEN 'sold' ELSE p.x_status END, NULL
FROM lead_plan AS p
CROSS JOIN LATERAL (
    SELECT day, channel, instruction FROM leads_followupstep
    WHERE (p.c AT TIME ZONE %(tz)s)::date + day > (coalesce(p.s, p.x) AT TIME ZONE %(tz)s)::date
    ORDER BY day LIMIT 1
) AS st
WHERE p.c IS NOT NULL AND coalesce(p.s, p.x) IS NOT NULL;

INSERT INTO leads_followuptask (lead_id, assignee_id, kind, channel, title, plan_day, due_on,
    status, created_at, closed_at, closed_by_id, closed_note, activity_id)
SELECT p.id, p.owner, 'follow_up', st.channel, st.instruction, st.day,
    (s.start AT TIME ZONE %(tz)s)::date + st.day, 'open', s.start, NULL, NULL, '', NULL
FROM lead_plan AS p
CROSS JOIN LATERAL (SELECT greatest(p.c, p.ro, p.l2c) AS start) AS s
JOIN leads_followupstep AS st
    ON (s.start AT TIME ZONE %(tz)s)::date + st.day > %(today)s OR random() < %(overdue_share)s
WHERE p.status IN ('contacted', 'qualified', 'appointment') AND p.owner IS NOT NULL;

INSERT INTO leads_followuptask (lead_id, assignee_id, kind, channel, title, plan_day, due_on,
    status, created_at, closed_at, closed_by_id, closed_note, activity_id)
SELECT p.id, p.owner, 'appointment', 'meeting', 'Appointment: meet the customer', NULL,
    (p.appointment_at AT TIME ZONE %(tz)s)::date, 'open', p.a, NULL, NULL, '', NULL
FROM lead_plan AS p
WHERE p.status = 'appointment' AND p.appointment_at IS NOT NULL
"""

RESURFACING_SQL = """
INSERT INTO leads_resurfacing (lead_id, kind, outcome, detected_at, quiet_days, evidence,
    summary, owner_id, decided_by_id, decided_at)
SELECT p.id, r.kind, r.outcome, r.at, r.quiet_days,
    jsonb_build_object('since', r.since, 'sessions', 1 + mod(p.id, 4),
        'vehicle_views', 1 + mod(p.id, 6), 'vehicles', jsonb_build_array(l.vehicle_make || ' '
        || l.vehicle_model), 'form_views', mod(p.id, 2), 'actions', '[]'::jsonb,
        'last_seen_at', r.at),
    (1 + mod(p.id, 4)) || ' visits since ' || to_char(r.since AT TIME ZONE %(tz)s, 'Mon FMDD')
        || '; looked at ' || l.vehicle_make || ' ' || l.vehicle_model,
    r.owner, r.decided_by, r.decided_at
FROM lead_plan AS p
JOIN leads_lead AS l ON l.id = p.id
CROSS JOIN LATERAL (VALUES
    ('not_lost', 'resurfaced', p.nl_at, p.nl_days, p.gap_start, p.owner, NULL::int,
        NULL::timestamptz),
    ('reactivation', 'reopened', CASE WHEN p.cause = 'resurfacing' THEN p.ro END, NULL, p.x,
        p.owner, NULL, NULL),
    ('reactivation', CASE WHEN p.decided_at IS NOT NULL THEN 'dismissed' ELSE 'review' END,
        p.dis_at, NULL, p.x, NULL, CASE WHEN p.decided_at IS NOT NULL THEN %(auditor)s END,
        p.decided_at)
) AS r(kind, outcome, at, quiet_days, since, owner, decided_by, decided_at)
WHERE r.at IS NOT NULL
"""


def data_load(args, people, now):
    """Load everything set-wise; returns the seconds of each step."""
    from django.utils import timezone

    from leads.demo import COMMENTS, DISQUALIFIED_REASONS, FIRST_NAMES, LAST_NAMES, LOST_REASONS
    from leads.demo import VEHICLES as DEMO_VEHICLES
    from leads.models import LifecycleSettings, Reason

    tz = timezone.get_current_timezone_name()
    today = timezone.localdate(now)
    reasons = {(r.kind, r.code): r.pk for r in Reason.objects.filter(scope=Reason.Scope.SALES)}
    tiers = LifecycleSettings.current().stale_tiers
    horizons, factors, scores = score_templates(SOURCES)
    routing, pool_routing = routing_decisions(people)
    # By user id, for PostgreSQL's 1-based arrays.
    team_of, speed_of = [None] * len(routing), [None] * len(routing)
    for pk, _, team in people["owners"]:
        team_of[pk - 1], speed_of[pk - 1] = team, people["speeds"][pk]
    vehicles = DEMO_VEHICLES + [("Kia", "Telluride", "EX"), ("Ram", "1500", "Big Horn")]
    params = {
        "now": now,
        "latest": now - timedelta(minutes=2),
        "today": today,
        "this_year": today.year,
        "tz": tz,
        "first_day": today - timedelta(days=365 * args.years),
        "days": 365 * args.years,
        "leads": args.leads,
        "repeat_share": 0.3,
        "templates": SCORE_TEMPLATES,
        "scores": scores,
        "factors": factors,
        "horizons": horizons,
        "source_count": len(SOURCES),
        "source_keys": [key for key, *_ in SOURCES],
        "source_channels": [channel for _, _, channel, *_ in SOURCES],
        "automated": AUTOMATED_CHANNELS,
        "era_1": now - timedelta(days=ERAS_DAYS[0]),
        "era_2": now - timedelta(days=ERAS_DAYS[1]),
        "era_3": now - timedelta(days=ERAS_DAYS[2]),
        "team_of": team_of,
        "speed_of": speed_of,
        "routing": routing,
        "pool_routing": pool_routing,
        "pool_team": people["teams"][POOL_TEAM],
        "lost_ids": [reasons[("lost", code)] for code, _ in LOST_REASONS],
        "dq_ids": [reasons[("disqualified", code)] for code, _ in DISQUALIFIED_REASONS],
        "archived_id": reasons[("lost", "archived")],
        "invalid_contact_id": reasons[("disqualified", "invalid_contact")],
        "auditor": people["bdc_manager"],
        "audit_share": AUDIT_SHARE,
        "reactivation_share": REACTIVATION_SHARE,
        "not_lost_share": NOT_LOST_SHARE,
        "dismissed_share": DISMISSED_SHARE,
        "overdue_share": OVERDUE_SHARE,
        "first_names": FIRST_NAMES,
        "last_names": LAST_NAMES,
        "first_count": len(FIRST_NAMES),
        "last_count": len(LAST_NAMES),
        "makes": [make for make, _, _ in vehicles],
        "models": [model for _, model, _ in vehicles],
        "trims": [trim for _, _, trim in vehicles],
        "vehicle_count": len(vehicles),
        "comments": COMMENTS,
        "comment_count": len(COMMENTS),
        "slots": SLOTS,
    }
    gap_tier = tier_case("g.gap", tiers)
    plan_sql = PLAN_SQL.format(
        source_case=index_case("o.r_source", [share for _, _, _, share, *_ in SOURCES]),
        owner_case=owner_case(people, params),
        outcome_case=weighted_case("o.r_outcome", OUTCOMES),
        delay_minutes=range_case("o.r_bucket", "o.r_delay", FIRST_RESPONSE),
        sale_days=range_case("o.r_sale_b", "o.r_sale", SALE_DAYS),
        loss_days=range_case("o.r_close_b", "o.r_close", LOSS_DAYS),
        dq_reason=index_case("o.r_reason", [w for _, w in DISQUALIFIED_REASONS]),
        lost_reason=index_case("o.r_reason", [w for _, w in LOST_REASONS]),
        l2_reason=index_case("o.r_l2_reason", [w for _, w in LOST_REASONS]),
        audit_life=weighted_case("o.r_life2", AUDIT_LIFE),
        reactivation_life=weighted_case("o.r_life2", REACTIVATION_LIFE),
        gap_tier=gap_tier,
        stale_tier=tier_case("(%(now)s - st.last_activity_at)", tiers),
    )
    load = BulkLoad(TABLES, log=log, seed=args.seed, separator=";\n\n")
    step = load.step

    log(f"loading {args.leads:,} leads over {args.years} years ({tz})")
    step("plan", DRAW_SQL.format(hour_case=index_case("s.r_hour", HOURS) + " - 1"), params)
    step("plan", plan_sql, params)
    step("customers", CUSTOMERS_SQL, params)
    step("leads", LEADS_SQL, params)
    step("history", EVENTS_SQL, params)
    step("activities", ACTIVITIES_SQL, params)
    step("tasks", TASKS_SQL, params)
    step("resurfacings", RESURFACING_SQL, params)
    return load.finish(scratch_tables=["lead_draw", "lead_plan"])


def sizes_count(today):
    from django.db import connection

    counts = {}
    with connection.cursor() as cursor:
        for table in [*TABLES, "leads_leadsource", "dealercrm_staffprofile", "dealercrm_team"]:
            cursor.execute(f"SELECT count(*) FROM {table}")
            (counts[table],) = cursor.fetchone()
        cursor.execute(
            "SELECT count(*) FILTER (WHERE status = 'open'),"
            " count(*) FILTER (WHERE status = 'open' AND due_on < %s)"
            " FROM leads_followuptask",
            [today],
        )
        counts["open_tasks"], counts["overdue_tasks"] = cursor.fetchone()
        cursor.execute("SELECT count(DISTINCT customer_id) FROM leads_lead")
        (counts["customers_with_leads"],) = cursor.fetchone()
        cursor.execute(
            "SELECT pg_total_relation_size('leads_lead'), pg_relation_size('leads_lead'),"
            " pg_relation_size('lead_report_idx'), pg_total_relation_size('leads_leadevent'),"
            " pg_total_relation_size('leads_activity')"
        )
        total, heap, report_idx, events, activities = cursor.fetchone()
        cursor.execute("SELECT avg(pg_column_size(l.*))::int FROM leads_lead AS l")
        (row_bytes,) = cursor.fetchone()
    counts.update(
        {
            "lead_table_with_indexes_mb": round(total / 2**20),
            "lead_heap_mb": round(heap / 2**20),
            "lead_row_bytes_average": row_bytes,
            "lead_report_idx_mb": round(report_idx / 2**20),
            "event_table_with_indexes_mb": round(events / 2**20),
            "activity_table_with_indexes_mb": round(activities / 2**20),
        }
    )
    return counts


def data_check(now):
    """What the services would never write, asserted absent; and the shapes the reports read."""
    from django.db import connection
    from django.utils import timezone

    from dealercrm.periods import default_period
    from leads.models import Lead

    leads_total = Lead.objects.count()
    problems = {
        "counters that are not the lead's activities": """
            SELECT count(*) FROM leads_lead AS l
            LEFT JOIN (
                SELECT lead_id,
                    count(*) FILTER (WHERE NOT automated AND direction = 'outbound'
                                     AND kind <> 'note') AS personal,
                    count(*) FILTER (WHERE NOT automated AND direction = 'outbound'
                                     AND kind = 'call') AS calls,
                    count(*) FILTER (WHERE automated) AS automated,
                    min(occurred_at) FILTER (WHERE customer_responded OR direction = 'inbound')
                        AS responded,
                    min(occurred_at) FILTER (WHERE NOT automated AND direction = 'outbound')
                        AS first_personal,
                    max(occurred_at) AS latest
                FROM leads_activity GROUP BY lead_id
            ) AS a ON a.lead_id = l.id
            WHERE l.personal_touches <> coalesce(a.personal, 0)
               OR l.calls <> coalesce(a.calls, 0)
               OR l.automated_touches <> coalesce(a.automated, 0)
               OR l.responded_at IS DISTINCT FROM a.responded
               OR l.first_contacted_at IS DISTINCT FROM a.first_personal
               OR l.last_activity_at < a.latest""",
        "status that is not the latest status event's": """
            SELECT count(*) FROM leads_lead AS l
            JOIN LATERAL (
                SELECT to_status FROM leads_leadevent AS e
                WHERE e.lead_id = l.id AND e.to_status <> ''
                ORDER BY e.at DESC, e.id DESC LIMIT 1
            ) AS e ON true
            WHERE e.to_status <> l.status""",
        "closed lead without its reason, or open with one": """
            SELECT count(*) FROM leads_lead
            WHERE (status IN ('lost', 'disqualified')) <> (close_reason_id IS NOT NULL)""",
        "qualified status without qualified_at": """
            SELECT count(*) FROM leads_lead
            WHERE status IN ('qualified', 'appointment', 'sold') AND qualified_at IS NULL""",
        "out of order": """
            SELECT count(*) FROM leads_lead
            WHERE first_contacted_at < created_at OR qualified_at < first_contacted_at
               OR appointment_set_at < qualified_at OR closed_at < created_at
               OR status_changed_at > last_activity_at""",
        "something in the future": """
            SELECT (SELECT count(*) FROM leads_lead WHERE created_at > %(now)s
                    OR last_activity_at > %(now)s OR closed_at > %(now)s)
                 + (SELECT count(*) FROM leads_leadevent WHERE at > %(now)s)
                 + (SELECT count(*) FROM leads_activity WHERE occurred_at > %(now)s)
                 + (SELECT count(*) FROM leads_resurfacing WHERE detected_at > %(now)s)""",
        "audit return without its event": """
            SELECT count(*) FROM leads_lead AS l WHERE l.audit_returned_at IS NOT NULL
              AND NOT EXISTS (SELECT 1 FROM leads_leadevent AS e WHERE e.lead_id = l.id
                              AND e.kind = 'reopened' AND e.cause = 'audit'
                              AND e.at = l.audit_returned_at)""",
        "done task without its touch": """
            SELECT count(*) FROM leads_followuptask AS t
            LEFT JOIN leads_activity AS a ON a.id = t.activity_id
            WHERE t.status = 'done' AND (a.id IS NULL OR a.lead_id <> t.lead_id)""",
    }
    found = {}
    since, until = period(now)
    with connection.cursor() as cursor:
        for label, sql in problems.items():
            cursor.execute(sql, {"now": now})
            (found[label],) = cursor.fetchone()
        cursor.execute(
            """
            SELECT count(*),
                round(100.0 * count(*) FILTER (
                    WHERE first_contacted_at <= created_at + interval '5 minutes') / count(*), 1),
                round(100.0 * count(*) FILTER (
                    WHERE first_contacted_at <= created_at + interval '1 hour') / count(*), 1),
                round(100.0 * count(first_contacted_at) / count(*), 1),
                round(100.0 * count(qualified_at) / count(*), 1),
                round(100.0 * count(*) FILTER (WHERE status = 'sold') / count(*), 1),
                round(100.0 * count(audit_returned_at)
                      / nullif(count(*) FILTER (WHERE status = 'disqualified'
                                                OR audit_returned_at IS NOT NULL), 0), 1),
                round(100.0 * count(*) FILTER (WHERE quiet_tier_reached > 0) / count(*), 1),
                round(avg(personal_touches + automated_touches), 2)
            FROM leads_lead WHERE created_at >= %s AND created_at < %s
            """,
            [since, until],
        )
        (leads, within_5, within_hour, contacted, qualified, sold, audit, quiet,
         touches) = cursor.fetchone()  # fmt: skip
        cursor.execute(
            "SELECT status, count(*) FROM leads_lead WHERE created_at >= %s GROUP BY status"
            " ORDER BY 2 DESC",
            [since],
        )
        statuses = dict(cursor.fetchall())
        cursor.execute(
            """
            SELECT r.kind || ':' || r.code, count(*) FROM leads_lead AS l
            JOIN leads_reason AS r ON r.id = l.close_reason_id WHERE l.created_at >= %s
            GROUP BY 1 ORDER BY 2 DESC
            """,
            [since],
        )
        reasons = dict(cursor.fetchall())
        cursor.execute(
            """
            SELECT CASE WHEN d < 8 THEN '0-7' WHEN d < 20 THEN '8-19' WHEN d < 46 THEN '20-45'
                   ELSE '46+' END, count(*)
            FROM (SELECT extract(epoch FROM closed_at - created_at) / 86400 AS d
                  FROM leads_lead WHERE status = 'sold' AND created_at >= %s) AS s
            GROUP BY 1 ORDER BY 1
            """,
            [since],
        )
        sale_days = dict(cursor.fetchall())
        cursor.execute(
            "SELECT kind || ':' || outcome || coalesce(':' || quiet_days, ''), count(*)"
            " FROM leads_resurfacing GROUP BY 1 ORDER BY 1"
        )
        resurfacings = dict(cursor.fetchall())
        cursor.execute(
            "SELECT status || ':' || kind, count(*) FROM leads_followuptask GROUP BY 1 ORDER BY 1"
        )
        tasks = dict(cursor.fetchall())
        cursor.execute("SELECT kind, count(*) FROM leads_leadevent GROUP BY 1 ORDER BY 2 DESC")
        events = dict(cursor.fetchall())
    found["first contact timing not as the services keep it (every 500th lead)"] = sum(
        first_contact_kept(lead) != first_contact_expected(lead)
        for lead in Lead.objects.filter(pk__in=range(1, leads_total + 1, 500))
    )
    broken = {label: n for label, n in found.items() if n}
    assert not broken, f"the data breaks the services' rules: {broken}"
    return {
        "rules_broken": broken,
        "period": f"{default_period(timezone.localdate(now))}",
        "period_leads": leads,
        "period_first_contact_within_5_min_pct": within_5,
        "period_first_contact_within_hour_pct": within_hour,
        "period_ever_contacted_pct": contacted,
        "period_qualified_pct": qualified,
        "period_sold_pct": sold,
        "period_disqualified_returned_by_audit_pct": audit,
        "period_quiet_7_days_or_more_pct": quiet,
        "period_touches_per_lead": touches,
        "period_statuses": statuses,
        "period_close_reasons": reasons,
        "period_sales_by_days_after_lead": sale_days,
        "resurfacings": resurfacings,
        "tasks": tasks,
        "history_events": events,
    }


def first_contact_kept(lead):
    return lead.created_hour, lead.first_response_seconds, lead.first_contact_band


def first_contact_expected(lead):
    """The hour and the first-contact timing the services would have written for `lead`."""
    from django.utils import timezone

    from leads.models import FirstContactBand

    timing = (None, None)
    if lead.first_contacted_at is not None:
        timing = FirstContactBand.of(lead.created_at, lead.first_contacted_at)
    return timezone.localtime(lead.created_at).hour, *timing


def period(now):
    """The reports' default period (the last 12 months: from the first of the month eleven
    months ago to the end of today), as `since <= created_at < until`."""
    from django.utils import timezone

    from dealercrm.periods import default_period

    chosen = default_period(timezone.localdate(now))
    return chosen.since, chosen.until


# --- measuring -----------------------------------------------------------------------------------

BASELINE_SQL = "SELECT count(*) FROM leads_lead WHERE created_at >= %s AND created_at < %s"
VARIANTS = ["page", "csv", "api", "page_person", "page_source"]


def report_urls(key, person, source):
    page = f"/leads/reports/{key}/"
    return {
        "page": page,
        "csv": f"/leads/reports/{key}/csv/",
        "api": f"/api/v1/reports/{key}/",
        "page_person": f"{page}?person={person}",
        "page_source": f"{page}?source={source}",
    }


def filter_choices(since, until):
    """The salesperson with the most leads in the period, and the biggest configured source."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT l.owner_id FROM leads_lead AS l
            JOIN dealercrm_staffprofile AS s ON s.user_id = l.owner_id
            WHERE l.created_at >= %s AND l.created_at < %s AND s.role = 'salesperson'
            GROUP BY l.owner_id ORDER BY count(*) DESC LIMIT 1
            """,
            [since, until],
        )
        (person,) = cursor.fetchone()
        cursor.execute(
            """
            SELECT l.source FROM leads_lead AS l JOIN leads_leadsource AS s ON s.key = l.source
            WHERE l.created_at >= %s AND l.created_at < %s
            GROUP BY l.source ORDER BY count(*) DESC LIMIT 1
            """,
            [since, until],
        )
        (source,) = cursor.fetchone()
    return person, source


def measure(args, reader, now):
    from django.db import connection
    from django.test import Client

    from leads.reports import REPORTS

    client = Client(HTTP_HOST="localhost")
    client.force_login(reader)
    since, until = period(now)
    person, source = filter_choices(since, until)
    urls = {
        (key, variant): url
        for key in REPORTS
        for variant, url in report_urls(key, person, source).items()
    }
    status = {}
    for name, url in urls.items():
        status[name] = fetch(client, url)[0]
        if status[name] != 200:
            log(f"{url}: {status[name]}")
    live = [name for name in urls if status[name] == 200]

    def baseline():
        with connection.cursor() as cursor:
            cursor.execute(BASELINE_SQL, [since, until])
            return cursor.fetchone()[0]

    load_before = [round(value, 2) for value in os.getloadavg()]
    kinds = [*live, "baseline"]
    times = {kind: [] for kind in kinds}
    sizes = {}
    log(
        f"measuring {len(live)} URLs of {len(REPORTS)} reports and the baseline: "
        f"{args.warmup} untimed turns, then {args.turns}"
    )
    for turn in range(args.warmup + args.turns):
        # The order rotates, so that no request always runs right after another.
        shift = turn * len(kinds) // (args.warmup + args.turns)
        order = kinds[shift:] + kinds[:shift]
        for kind in order:
            started = time.perf_counter()
            if kind == "baseline":
                baseline()
            else:
                code, body = fetch(client, urls[kind])
                assert code == 200, f"{urls[kind]} answered {code} on turn {turn}"
                sizes[kind] = len(body)
            seconds = time.perf_counter() - started
            if turn >= args.warmup:
                times[kind].append(seconds * 1000)
        log(f"  turn {turn + 1}: done")
    load_after = [round(value, 2) for value in os.getloadavg()]
    base = statistics.median(times["baseline"])

    reports = {}
    explained = {}
    for key in REPORTS:
        reports[key] = {}
        for variant in VARIANTS:
            name = (key, variant)
            if name not in live:
                reports[key][variant] = {
                    "url": urls[name],
                    "status": status[name],
                    "measured": False,
                }
                continue
            queries = queries_explained(
                client, urls[name], log=log, explain=variant == "page" or key == "speed",
                print_plans=key == "speed" and variant == "page",
            )  # fmt: skip
            reports[key][variant] = {
                "url": urls[name],
                "status": 200,
                "bytes": sizes[name],
                **spread(times[name]),
                "queries": len(queries),
                "ratio": round(statistics.median(times[name]) / base, 1),
                "within_target": spread(times[name])["p90_ms"] <= TARGET_MS,
            }
            if variant == "page" or key == "speed":
                explained.setdefault(key, {})[variant] = (
                    queries
                    if variant == "page"
                    else sorted(queries, key=lambda q: -q.get("execution_ms", 0))[:3]
                )
    measured = [
        (key, variant, entry)
        for key, variants in reports.items()
        for variant, entry in variants.items()
        if entry.get("status") == 200
    ]
    slowest = max(measured, key=lambda item: item[2]["p90_ms"], default=None)
    return {
        "period": {"since": since.isoformat(), "until": until.isoformat()},
        "filters": {"person": person, "source": source},
        "turns": args.turns,
        "warmup_turns": args.warmup,
        "load_average_before_timed_turns": load_before,
        "load_average_after_timed_turns": load_after,
        "baseline_ms": {
            "what": "SELECT count(*) FROM leads_lead WHERE created_at >= since AND created_at "
            "< until (the default period), through a cursor on the same connection",
            **spread(times["baseline"]),
        },
        "reports": reports,
        "explained": explained,
        "target_ms": TARGET_MS,
        "meets_target_on": "the p90 of every URL measured",
        "all_within_target": bool(measured)
        and len(measured) == len(urls)
        and all(entry["p90_ms"] <= TARGET_MS for _, _, entry in measured),
        "slowest": (
            {"report": slowest[0], "variant": slowest[1], **slowest[2]} if slowest else None
        ),
    }


if __name__ == "__main__":
    main()
