"""Routing decision latency at two sizes of the lead table, measured in one run.

The requirement: a decision must not scan the lead table, so its cost does not grow with the
number of leads; the benchmark is decision latency with 200 staff at 10,000 and at 1,000,000
leads, ratio of the medians ≤ 1.5.

This starts a throwaway PostgreSQL cluster, creates `--staff` people in five teams and seven
routing rules (previous owner, least loaded, team pool, fastest responder, weighted split, two
round robins) through the services, and loads `--small` leads. That database is copied
(CREATE DATABASE ... TEMPLATE) and the copy grown to `--large` leads. The same `--decisions`
binding decisions (`leads.routing.routing_decide(..., apply=True)`, one per committed
transaction, as intake makes them) then run against both databases in alternating blocks, so
that the other work on this machine weighs on both sizes alike; the same goes for a primary-key
SELECT, the noise baseline. At each size one decision of each kind runs under
CaptureQueriesContext, and every SELECT it made is EXPLAINed to show how it reaches the lead and
customer tables.

    .venv/bin/python bench/routing_decision.py [--staff 200] [--small 10000] [--large 1000000]
        [--decisions 2000] [--warmup 100] [--seed 1]

The open leads are the same at both sizes (10% of the small load); the grown leads are closed
history. Open leads are work people hold, bounded by their capacity, so a larger table means
more history, not more open leads (10% of a million leads open would be 500 per person against
capacities of 25 to 60). Prints one JSON object; progress goes to stderr.
"""

import argparse
import gc
import json
import logging
import math
import os
import random
import re
import statistics
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from django.db import DEFAULT_DB_ALIAS  # noqa: E402

from bench.pg import django_setup, throwaway_postgres  # noqa: E402

TEAMS = [
    ("Sales North", "sales"),
    ("Sales South", "sales"),
    ("Sales East", "sales"),
    ("BDC Internet", "bdc"),
    ("BDC Phones", "bdc"),
]
FIRST_NAMES = ["Ann", "Ben", "Cara", "Dan", "Eve", "Finn", "Gia", "Hal", "Ida", "Joe"]
# (source, channel, share of leads); the rules route by source.
SOURCES = [
    ("website", "web_form", 0.35),
    ("cargurus", "third_party", 0.20),
    ("aggregator", "third_party", 0.15),
    ("phone", "phone", 0.15),
    ("oem_portal", "oem", 0.15),
]
MAKES = ["Toyota", "Honda", "Ford", "Kia", "Chevrolet", "Hyundai"]
OPEN_SHARE = 0.10  # of the small load
POOL_SHARE = 0.05  # leads nobody owns (they waited in a team pool)
KNOWN_SHARE = 1 / 3  # decisions for a returning customer: the previous-owner lookup runs
LEAD_TABLES = ("leads_lead", "dealercrm_customer")


def log(line):
    print(line, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--staff", type=int, default=200)
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=1_000_000)
    parser.add_argument("--decisions", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    if not 0 < args.small < args.large:
        parser.error("--small must be positive and below --large")
    if args.staff < 40:
        parser.error("--staff must be at least 40 (the rules name 24 people)")

    started = time.perf_counter()
    with throwaway_postgres(log=log) as database_url:
        django_setup(database_url, LOG_LEVEL=os.environ.get("LOG_LEVEL", "INFO"))
        result = run(args, database_url)
    result["total_seconds"] = round(time.perf_counter() - started, 1)
    print(json.dumps(result, indent=2))


def run(args, database_url):
    from django.core.management import call_command
    from django.db import connection, connections

    logging.disable(logging.INFO)  # rule_create logs each rule
    call_command("migrate", verbosity=0)
    rng = random.Random(args.seed)
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]

    staff = staff_setup(rng, args.staff)
    rules = rules_setup(rng, staff)
    plan = decision_plan(rng, args.warmup + args.decisions)
    pk_draws = [rng.random() for _ in range(args.warmup + args.decisions)]

    small = Size("small", connections[DEFAULT_DB_ALIAS])
    large = None
    try:
        log(f"loading {args.small:,} leads")
        small.load(args.small, OPEN_SHARE, staff, args.seed)
        # The large database starts as a copy of the small one (same staff, rules, cursors and
        # first leads), then grows; both stay, so that they can be measured in turns.
        large = small.copy("large", "dealercrm_large", database_url)
        log(f"growing a copy to {args.large:,} leads")
        large.load(args.large - args.small, 0.0, staff, args.seed + 1)
        log("measuring")
        measure_in_turns(args, plan, pk_draws, [small, large])
        for size in (small, large):
            size.explain_kinds(staff)
    finally:
        for size in (small, large):
            if size is not None:
                size.wrapper.close()
        connections[DEFAULT_DB_ALIAS] = small.wrapper

    sizes = {size.label: size.report() for size in (small, large)}

    def ratio(part, key):
        return round(sizes["large"][part][key] / sizes["small"][part][key], 2)

    return {
        "benchmark": "routing_decide(facts, customer_id=..., apply=True)",
        "database": f"PostgreSQL {version} (throwaway cluster, default settings, durable)",
        "timed": "the whole transaction.atomic() block per decision: routing_decide and its "
        "COMMIT (one decision per transaction); routing_decide_call_only_ms leaves out the COMMIT",
        "method": f"the {args.small:,}-lead database is copied (CREATE DATABASE ... TEMPLATE) "
        f"and the copy grown to {args.large:,} leads; then the same decisions run against both "
        f"in alternating blocks of {BLOCK} (small, large, large, small, ...), so that load "
        "from other work on the machine falls on both sizes alike",
        "staff": args.staff,
        "teams": [name for name, _ in TEAMS],
        "staff_off_shift": sum(1 for person in staff if not person["on_shift"]),
        "rules": rules,
        "decisions_per_size": args.decisions,
        "warmup_per_size": args.warmup,
        "decision_mix": {
            "known_customer_share": round(sum(known for _, known, _ in plan) / len(plan), 3),
            "sources": {source: share for source, _, share in SOURCES},
            "score": "uniform 0-100 (hot: 70+)",
            "makes": MAKES,
            "same_facts_at_both_sizes": True,
            "known_customer": "a customer drawn uniformly from all customers at that size "
            "(each has 1-3 earlier leads)",
        },
        "leads_load": "set-wise INSERT ... SELECT FROM generate_series (customers with 1-3 "
        "leads each, created over 2 years; 90% of the small load closed, the grown leads all "
        f"closed; {POOL_SHARE:.0%} unowned); then VACUUM ANALYZE and CHECKPOINT, so that "
        "autovacuum and checkpoints of the load do not fall into the measurement",
        "sizes": sizes,
        "ratio_p50": ratio("decision_ms", "p50"),
        "ratio_p99": ratio("decision_ms", "p99"),
        "ratio_mean": ratio("decision_ms", "mean"),
        "baseline": "one primary-key SELECT of a random lead, "
        "Lead.objects.filter(pk=...).values_list('pk').first(), autocommit, timed in the same "
        "alternating blocks",
        "baseline_ratio_p50": ratio("pk_select_ms", "p50"),
        "baseline_ratio_p99": ratio("pk_select_ms", "p99"),
        "target_ratio_p50": 1.5,
        "pass": ratio("decision_ms", "p50") <= 1.5,
    }


# --- set-up ------------------------------------------------------------------------------------


def staff_setup(rng, count):
    """`count` salespeople and BDC agents over five teams, in one transaction."""
    from django.db import transaction

    from dealercrm.models import Role, StaffProfile, Team
    from dealercrm.services import staff_create

    people = []
    with transaction.atomic():
        teams = [Team.objects.create(name=name, kind=kind) for name, kind in TEAMS]
        for n in range(count):
            team = teams[n % len(teams)]
            role = Role.SALESPERSON if team.kind == "sales" else Role.BDC_AGENT
            on_shift = rng.random() >= 0.1
            user = staff_create(
                username=f"staff{n:04d}",
                role=role,
                first_name=FIRST_NAMES[n % len(FIRST_NAMES)],
                last_name=f"Staff{n:04d}",
                team=team,
                capacity=rng.randint(25, 60),
                on_shift=on_shift,
            )
            # Median first response: mostly minutes, a long tail; a few new people have none.
            seconds = None
            if rng.random() >= 0.05:
                seconds = round(min(7200, max(20, rng.lognormvariate(math.log(300), 0.9))), 1)
            StaffProfile.objects.filter(user_id=user.pk).update(response_seconds=seconds)
            people.append({"user": user, "team": team, "role": role, "on_shift": on_shift})
    return people


def rules_setup(rng, staff):
    """Seven rules in priority order, through routing.services.rule_create."""
    from django.db import transaction

    from dealercrm.models import Team
    from routing.services import rule_create

    teams = {team.name: team for team in Team.objects.all()}
    sellers = [person["user"] for person in staff if person["team"].kind == "sales"]
    hot_team = rng.sample(sellers, 20)
    toyota = rng.sample([user for user in sellers if user not in hot_team], 4)
    specs = [
        dict(name="Returning customer: previous salesperson", strategy="previous_owner",
             conditions={"known_customer": True}),
        dict(name="Hot leads: least loaded", strategy="least_loaded",
             conditions={"score_min": 70}, members=hot_team),
        dict(name="Aggregator, low score: BDC pool", strategy="pool",
             conditions={"sources": ["aggregator"], "score_max": 39},
             team=teams["BDC Phones"]),
        dict(name="CarGurus: fastest responder", strategy="fastest_responder",
             conditions={"sources": ["cargurus"]}, team=teams["BDC Internet"]),
        dict(name="Toyota: weighted split", strategy="weighted", conditions={"makes": ["Toyota"]},
             members=toyota, weights={u.pk: w for u, w in zip(toyota, (1, 3, 2, 1), strict=True)}),
        dict(name="Website: Sales North round robin", strategy="round_robin",
             conditions={"sources": ["website"]}, team=teams["Sales North"]),
        dict(name="Everything else: Sales South round robin", strategy="round_robin",
             conditions={}, team=teams["Sales South"]),
    ]  # fmt: skip
    with transaction.atomic():
        for priority, spec in enumerate(specs, start=1):
            rule_create(by="bench", priority=priority * 10, **spec)
    return [
        {
            "name": spec["name"],
            "strategy": spec["strategy"],
            "conditions": spec["conditions"],
            "people": f"{len(spec['members'])} members"
            if spec.get("members")
            else (f"team {spec['team'].name}" if spec.get("team") else "the previous owner"),
        }
        for spec in specs
    ]


def decision_plan(rng, count):
    """[(LeadFacts template, known customer, draw of the customer)], the same at both sizes."""
    from routing.engine import LeadFacts

    plan = []
    for _ in range(count):
        source, channel = _weighted_source(rng.random())
        known = rng.random() < KNOWN_SHARE
        facts = LeadFacts(
            local_time=None,  # set just before each decision
            source=source,
            channel=channel,
            score=rng.randint(0, 100),
            vehicle_condition=rng.choice(["new", "used"]),
            make=rng.choice(MAKES),
            known_customer=known,
        )
        plan.append((facts, known, rng.random()))
    return plan


def _weighted_source(draw):
    for source, channel, share in SOURCES:
        if draw < share:
            return source, channel
        draw -= share
    return SOURCES[-1][:2]


# The customers of a load own 1, 2 or 3 leads in turn: lead i belongs to the load's customer
# 3 * (i / 6) + (0, 1, 1, 2, 2, 2)[i % 6], and is that customer's first lead when i % 6 is 0, 1
# or 3. Customer ids are given explicitly so that the leads can name them without a lookup.
CUSTOMERS_SQL = """
INSERT INTO dealercrm_customer (id, first_name, last_name, email, phone, postal_code,
    preferred_contact, consent_email, consent_sms, consent_phone, created_at, updated_at)
SELECT g, 'Ann', 'Lee' || g, 'c' || g || '@example.com', '+1' || lpad(g::text, 10, '0'), '',
    'any', false, false, false, at, at
FROM (
    SELECT g, %(now)s - random() * interval '730 days' AS at
    FROM generate_series(%(first)s, %(last)s) AS g
) AS drawn
"""

LEADS_SQL = """
WITH drawn AS (
    SELECT i, c.id AS customer_id, c.created_at AS customer_at, i %% 6 IN (0, 1, 3) AS first,
        random() AS r_open, random() AS r_status, random() AS r_owner, random() AS r_pool,
        random() AS r_source, random() AS r_make, random() AS r_score, random() AS r_at,
        random() AS r_gap
    FROM generate_series(0, %(count)s - 1) AS i
    JOIN dealercrm_customer AS c ON c.id = %(first_customer)s + 3 * (i / 6)
        + CASE WHEN i %% 6 = 0 THEN 0 WHEN i %% 6 < 3 THEN 1 ELSE 2 END
),
shaped AS (
    SELECT d.*, r_open < %(open_share)s AS open,
        -- Open leads lean towards the first people, so that a few of them are full.
        CASE WHEN r_pool < %(pool_share)s THEN NULL
            WHEN r_open < %(open_share)s THEN 1 + floor(%(people)s * r_owner * r_owner)::int
            ELSE 1 + floor(%(people)s * r_owner)::int END AS k,
        CASE WHEN r_source < 0.35 THEN 'website' WHEN r_source < 0.55 THEN 'cargurus'
            WHEN r_source < 0.70 THEN 'aggregator' WHEN r_source < 0.85 THEN 'phone'
            ELSE 'oem_portal' END AS source
    FROM drawn AS d
),
timed AS (
    SELECT s.*,
        CASE WHEN open THEN greatest(customer_at, %(now)s - r_at * interval '30 days')
            WHEN first THEN customer_at
            ELSE customer_at + r_at * (%(now)s - customer_at) END AS created
    FROM shaped AS s
),
final AS (
    SELECT t.*,
        CASE WHEN open THEN
            CASE WHEN r_status < 0.30 THEN 'new' WHEN r_status < 0.60 THEN 'contacted'
                WHEN r_status < 0.85 THEN 'qualified' ELSE 'appointment' END
        ELSE
            CASE WHEN r_status < 0.20 THEN 'sold' WHEN r_status < 0.80 THEN 'lost'
                ELSE 'disqualified' END
        END AS status,
        CASE WHEN open THEN created + r_gap * (%(now)s - created)
            ELSE least(%(now)s, created + r_gap * interval '60 days') END AS changed
    FROM timed AS t
)
INSERT INTO leads_lead (customer_id, source, channel, external_id, vehicle_year, vehicle_make,
    vehicle_model, vehicle_trim, vehicle_vin, vehicle_stock, vehicle_condition, tradein_make,
    tradein_model, tradein_vin, purchase_horizon, comments, score, score_factors,
    contact_issues, routing, status, owner_id, team_id, created_at, assigned_at,
    first_contacted_at, last_activity_at, status_changed_at, closed_at, updated_at)
SELECT customer_id, source,
    CASE source WHEN 'website' THEN 'web_form' WHEN 'phone' THEN 'phone'
        WHEN 'oem_portal' THEN 'oem' ELSE 'third_party' END,
    '', 2014 + i %% 13, (%(makes)s::text[])[1 + floor(r_make * %(make_count)s)::int], '', '',
    '', '', CASE WHEN i %% 5 < 3 THEN 'used' ELSE 'new' END, '', '', '', '', '',
    CASE WHEN source = 'aggregator' THEN floor(r_score * 60) ELSE floor(r_score * 101) END,
    '[]'::jsonb, '[]'::jsonb, '{}'::jsonb, status, (%(users)s::int[])[k],
    (%(teams)s::bigint[])[coalesce(k, 1 + floor(%(people)s * r_owner)::int)],
    created, CASE WHEN k IS NOT NULL THEN created END,
    CASE WHEN status <> 'new' THEN least(changed, created + interval '20 minutes') END,
    changed, changed, CASE WHEN NOT open THEN changed END, changed
FROM final
"""


def leads_load(count, open_share, staff):
    """Add `count` leads of new customers, set-wise; returns the seconds it took."""
    from django.db import connection, transaction
    from django.utils import timezone

    last_customer = 3 * ((count - 1) // 6) + (0, 1, 1, 2, 2, 2)[(count - 1) % 6]
    now = timezone.now()
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(id), 0) + 1 FROM dealercrm_customer")
        first_customer = cursor.fetchone()[0]
        cursor.execute(
            CUSTOMERS_SQL,
            {"now": now, "first": first_customer, "last": first_customer + last_customer},
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('dealercrm_customer', 'id'), max(id))"
            " FROM dealercrm_customer"
        )
        cursor.execute(
            LEADS_SQL,
            {
                "count": count,
                "first_customer": first_customer,
                "open_share": open_share,
                "pool_share": POOL_SHARE,
                "people": len(staff),
                "users": [person["user"].pk for person in staff],
                "teams": [person["team"].pk for person in staff],
                "makes": MAKES,
                "make_count": len(MAKES),
                "now": now,
            },
        )
    return time.perf_counter() - started


def settle():
    """VACUUM ANALYZE the loaded tables and CHECKPOINT: statistics for the planner, a visibility
    map for index-only scans, and no autovacuum or checkpoint of the load while measuring."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        for table in LEAD_TABLES:
            cursor.execute(f"VACUUM ANALYZE {table}")
        cursor.execute("CHECKPOINT")
    return time.perf_counter() - started


# --- measuring ---------------------------------------------------------------------------------

BLOCK = 100  # decisions (or primary-key reads) in a row against one database


def use(wrapper):
    """Make `wrapper` the default connection: the ORM and transaction.atomic() then use its
    database."""
    from django.db import connections

    connections[DEFAULT_DB_ALIAS] = wrapper


class Size:
    """One database of the benchmark: its connection, its load, and what was measured on it."""

    def __init__(self, label, wrapper):
        self.label = label
        self.wrapper = wrapper
        self.facts = {}
        self.timings, self.call_timings, self.pk_timings = [], [], []
        self.queries = QueryTimes()
        self.decided_by = Counter()
        self.kinds = {}

    def load(self, count, open_share, staff, seed):
        use(self.wrapper)
        with self.wrapper.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [1 / (seed + 1)])  # the load's random()
        self.facts["load_seconds"] = round(leads_load(count, open_share, staff), 1)
        self.facts["vacuum_analyze_checkpoint_seconds"] = round(settle(), 1)
        log(f"{self.label}: {self.facts}")

    def copy(self, label, name, database_url):
        """A new Size `label` on a copy of this database, named `name`."""
        import psycopg
        from django.db.utils import load_backend

        # CREATE DATABASE ... TEMPLATE wants no session on the template.
        self.wrapper.close()
        started = time.perf_counter()
        admin_url = database_url.rsplit("/", 1)[0] + "/postgres"
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(
                f'CREATE DATABASE "{name}" TEMPLATE "{self.wrapper.settings_dict["NAME"]}"'
            )
        settings_dict = {**self.wrapper.settings_dict, "NAME": name}
        wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(
            settings_dict, DEFAULT_DB_ALIAS
        )
        copied = Size(label, wrapper)
        copied.facts["copy_of_small_seconds"] = round(time.perf_counter() - started, 1)
        return copied

    def bounds(self):
        from django.db.models import Count, Max, Min

        from dealercrm.models import Customer
        from leads.models import Lead

        if "leads" not in self.facts:
            customers = Customer.objects.aggregate(first=Min("pk"), last=Max("pk"))
            leads = Lead.objects.aggregate(first=Min("pk"), last=Max("pk"), n=Count("pk"))
            self.customer_range = (customers["first"], customers["last"])
            self.lead_range = (leads["first"], leads["last"])
            self.facts["leads"] = leads["n"]
            self.facts["customers"] = customers["last"] - customers["first"] + 1

    def customer_for(self, draw):
        # Every customer of the loads has 1-3 leads, and their ids are contiguous.
        first, last = self.customer_range
        return first + int(draw * (last - first + 1))

    def decide(self, plan, offset, warmup):
        from django.db import transaction
        from django.utils import timezone

        from leads.routing import routing_decide

        with self.wrapper.execute_wrapper(self.queries):
            for n, (template, _known, draw) in enumerate(plan, start=offset):
                facts = replace(template, local_time=timezone.localtime())
                customer_id = self.customer_for(draw)
                self.queries.recording = n >= warmup
                started = time.perf_counter()
                with transaction.atomic():
                    decision, _ = routing_decide(facts, customer_id=customer_id, apply=True)
                    decided = time.perf_counter()
                elapsed = time.perf_counter() - started
                if n >= warmup:
                    self.timings.append(elapsed)
                    self.call_timings.append(decided - started)
                    self.decided_by[decision.strategy or "no rule: general pool"] += 1

    def read_by_pk(self, draws, offset, warmup):
        from leads.models import Lead

        first, last = self.lead_range
        for n, draw in enumerate(draws, start=offset):
            pk = first + int(draw * (last - first + 1))
            started = time.perf_counter()
            Lead.objects.filter(pk=pk).values_list("pk").first()
            elapsed = time.perf_counter() - started
            if n >= warmup:
                self.pk_timings.append(elapsed)

    def explain_kinds(self, staff):
        from django.db import connection

        use(self.wrapper)
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_total_relation_size('leads_lead')")
            self.facts["lead_table_with_indexes_mb"] = round(cursor.fetchone()[0] / 2**20)
        self.facts["open_leads"] = open_load(staff)
        self.kinds = kinds_captured(self.customer_for)

    def report(self):
        return {
            **self.facts,
            "decision_ms": summary(self.timings),
            "routing_decide_call_only_ms": summary(self.call_timings),
            "queries_in_measured_decisions": self.queries.summary(len(self.timings)),
            "pk_select_ms": summary(self.pk_timings),
            "decided_by": dict(self.decided_by.most_common()),
            "one_decision_of_each_kind": self.kinds,
        }


def measure_in_turns(args, plan, pk_draws, sizes):
    """The same decisions, then the same primary-key reads, on every size in alternating
    blocks: A B, B A, A B, ..."""
    for size in sizes:
        use(size.wrapper)
        size.bounds()
    gc.collect()
    for turn, offset in enumerate(range(0, len(plan), BLOCK)):
        for size in sizes if turn % 2 == 0 else sizes[::-1]:
            use(size.wrapper)
            size.decide(plan[offset : offset + BLOCK], offset, args.warmup)
    for turn, offset in enumerate(range(0, len(pk_draws), BLOCK)):
        for size in sizes if turn % 2 == 0 else sizes[::-1]:
            use(size.wrapper)
            size.read_by_pk(pk_draws[offset : offset + BLOCK], offset, args.warmup)


class QueryTimes:
    """An execute wrapper: how long each kind of query of the measured decisions took, from
    sending it to having its rows (client side, so it includes the round trip)."""

    def __init__(self):
        self.recording = False
        self.seconds = {}

    def __call__(self, execute, sql, params, many, context):
        if not self.recording:
            return execute(sql, params, many, context)
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.seconds.setdefault(query_label(sql), []).append(time.perf_counter() - started)

    def summary(self, decisions):
        return {
            label: {
                "per_decision": round(len(seconds) / decisions, 2),
                "p50_ms": round(statistics.median(seconds) * 1000, 3),
                "p99_ms": round(percentile(seconds, 99) * 1000, 3),
            }
            for label, seconds in sorted(self.seconds.items())
        }


def query_label(sql):
    """A short name for a query of a decision: its verb, its main table and what it does, e.g.
    "SELECT leads_lead ORDER BY LIMIT" (the previous owner)."""
    verb = sql.split(None, 1)[0].upper()
    if verb == "SELECT":
        # The outer FROM: subqueries in the select list come before it.
        table = next(
            match.group(1)
            for match in re.finditer(r'\bFROM\s+"(\w+)"', sql)
            if sql.count("(", 0, match.start()) == sql.count(")", 0, match.start())
        )
    else:
        table = re.search(r'"(\w+)"', sql).group(1)
    parts = [verb, table]
    parts += [f"JOIN {joined}" for joined in re.findall(r'\bJOIN\s+"(\w+)"', sql)]
    upper = sql.upper()
    if "COUNT(" in upper:
        parts.append("with COUNT")
    if "ORDER BY" in upper and "LIMIT" in upper:
        parts.append("ORDER BY LIMIT")
    if "FOR UPDATE" in upper:
        parts.append("FOR UPDATE")
    return " ".join(parts)


def percentile(values, p):
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1]


def summary(seconds):
    ms = [s * 1000 for s in seconds]
    return {
        "p50": round(statistics.median(ms), 3),
        "p99": round(percentile(ms, 99), 3),
        "mean": round(statistics.fmean(ms), 3),
        "samples": len(ms),
    }


def open_load(staff):
    """How the open leads sit on the people the rules choose from."""
    from leads.selectors import staff_for_routing

    loads = [(p.open_leads, p.capacity) for p in staff_for_routing()]
    return {
        "total_owned": sum(n for n, _ in loads),
        "per_person_median": statistics.median(n for n, _ in loads),
        "per_person_max": max(n for n, _ in loads),
        "people_full": sum(1 for n, capacity in loads if n >= capacity),
    }


def kinds_captured(customer_for):
    """For one decision of each kind: the rule that decided, the queries it made, and how each
    of its SELECTs reaches the lead and customer tables (EXPLAIN)."""
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext
    from django.utils import timezone

    from leads.routing import routing_decide
    from routing.engine import LeadFacts

    def facts(source, score, make, known=False):
        channel = next(channel for key, channel, _ in SOURCES if key == source)
        return LeadFacts(
            local_time=timezone.localtime(),
            source=source,
            channel=channel,
            score=score,
            make=make,
            vehicle_condition="used",
            known_customer=known,
        )

    def known_customer(owner_available):
        # A returning customer whose previous salesperson can (or cannot) take the lead, found
        # by preview decisions, which write nothing.
        wanted = "previous_owner" if owner_available else "round_robin"
        probe = random.Random(7)
        for _ in range(500):
            customer_id = customer_for(probe.random())
            decision, _ = routing_decide(
                facts("phone", 50, "Honda", True), customer_id=customer_id, apply=False
            )
            if decision.strategy == wanted:
                return customer_id
        return None

    kinds = [
        ("previous owner", facts("phone", 50, "Honda", True), known_customer(True)),
        ("previous owner unavailable, then round robin", facts("phone", 50, "Honda", True),
         known_customer(False)),
        ("least loaded (hot)", facts("phone", 85, "Honda"), customer_for(0.5)),
        ("team pool (aggregator, low score)", facts("aggregator", 20, "Honda"), customer_for(0.5)),
        ("fastest responder (cargurus)", facts("cargurus", 50, "Honda"), customer_for(0.5)),
        ("weighted (Toyota)", facts("oem_portal", 50, "Toyota"), customer_for(0.5)),
        ("round robin (website team)", facts("website", 50, "Honda"), customer_for(0.5)),
        ("round robin (catch-all)", facts("phone", 50, "Honda"), customer_for(0.5)),
    ]  # fmt: skip
    captured = {}
    for label, lead_facts, customer_id in kinds:
        if customer_id is None:
            captured[label] = "no such customer found in 500 tries"
            continue
        with CaptureQueriesContext(connection) as queries, transaction.atomic():
            decision, _ = routing_decide(lead_facts, customer_id=customer_id, apply=True)
        # The debug cursor records BEGIN and COMMIT too; they are not the decision's queries.
        statements = [
            query["sql"]
            for query in queries.captured_queries
            if query["sql"] not in ("BEGIN", "COMMIT")
        ]
        access = []
        for sql in statements:
            if sql.lstrip().upper().startswith("SELECT"):
                access += lead_table_access(sql)
        captured[label] = {
            "rule": decision.rule_name or None,
            "outcome": decision.outcome,
            "queries": len(statements),
            "statements": [query_label(sql) for sql in statements],
            "lead_and_customer_table_access": sorted(set(access)),
            "seq_scan_on_lead_or_customer_table": any(a.startswith("Seq Scan") for a in access),
        }
    return captured


def lead_table_access(sql):
    """The plan nodes of `sql` that read leads_lead or dealercrm_customer, e.g.
    "Index Only Scan using lead_owner_status_idx on leads_lead"."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (FORMAT JSON) " + sql)
        plan = cursor.fetchone()[0]
    if isinstance(plan, str):
        plan = json.loads(plan)
    found = []

    def walk(node, bitmap_of=None):
        # A bitmap heap scan names the table, the bitmap index scans under it the indexes.
        relation = node.get("Relation Name") or bitmap_of
        if relation in LEAD_TABLES:
            index = f" using {node['Index Name']}" if node.get("Index Name") else ""
            found.append(f"{node['Node Type']}{index} on {relation}")
        for child in node.get("Plans", ()):
            walk(child, relation if node["Node Type"].startswith("Bitmap") else None)

    walk(plan[0]["Plan"])
    return found


if __name__ == "__main__":
    main()
