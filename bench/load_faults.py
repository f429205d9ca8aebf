"""Load and faults on the multi-machine setup (bench/cluster.py: PostgreSQL, Redis, 2 gunicorn
app servers behind nginx, 2 django-q2 task clusters, all on loopback), four scenarios, each on
a fresh cluster (in a child process), each bounded in time (1 to 4 minutes here), each with a
JSON result and a pass/fail.

1. contention: `--clients` threads post leads for `--seconds` while the first-response sweep
   rotates the leads whose 1-minute SLA was missed (its schedule, plus the same task enqueued
   every 10 s) and a manager reassigns leads through `POST /api/v1/leads/<id>/reassign/`
   (to a salesperson, full or not, or to the pool). Ten salespeople hold 40 open leads at most;
   the rest wait in the pool. Checked afterwards:
   - leads in = leads stored (source + external id), no 5xx;
   - each lead has one creation event and one assignment by intake's routing (kind "routed"),
     its first assignment;
   - each lead's assignments chain: each one moves the lead from the owner the previous one
     gave it to, and the last names its owner now (no assignment lost or applied twice);
   - capacity: replaying every assignment in the order of the history (each gain of a person
     is written under that person's row lock, so it is their order), routing (kind "routed" or
     "rotated") never gave a lead to someone already holding their capacity of open leads. A
     manager's reassignment may (leads/routing.py lead_reassign: "capacity is the manager's
     call"); those are counted, not failed.
2. database restart: `--clients` threads post leads while PostgreSQL is stopped (pg_ctl stop -m
   fast, cutting every connection) for `--down` seconds and started again; clients post again
   after Retry-After. Checked: every answer is 2xx or 503 with Retry-After (no 500, 502 or
   504) and none takes longer than 10 s; the first lead after the start is stored within 15 s,
   with the same gunicorn masters and workers (nothing restarted); GET /health/ said 503 while
   the database was down; leads in = leads stored, one lead per external id; no partial rows:
   every lead has its customer, exactly one creation event, one routed assignment and one
   inquiry ("created"), and every customer and inquiry made in the run belongs to a lead; both
   task clusters still run sweeps afterwards.
3. killed worker: `--quiet-leads` open leads become quiet for 7 days with their customers back
   on the website, and the stale sweep is enqueued; once its first batch (2,000 leads) has
   committed, its worker gets SIGKILL (the cluster's sentinel lives on and starts a new one).
   With Q_TIMEOUT=40 and Q_RETRY=50, the database queue (the ORM broker, settings.Q_CLUSTER)
   delivers the task again 50 s after it was taken; checked: it ran again and finished, and
   every lead was flagged and resurfaced once (one history event, one Resurfacing, one "came
   back" task, one notification each). Then (unless --no-redis-broker) the same with
   Q_BROKER=redis, to show why the queue is the database: the task is lost (it never runs
   again), and the sweep's next scheduled run — its window starts at the last run that
   finished — does the rest, once.
4. cache restart: as 2, with Redis (the shared cache: rate-limit counters, permissions)
   stopped and started again, empty: the same checks.

    .venv/bin/python bench/load_faults.py [--scenario 1 2 3 4] [--clients 8] [--seconds 75]
        [--down 5] [--quiet-leads 6000] [--no-redis-broker] [--logs DIR]

Prints one JSON object ({"scenarios": {...}, "passed": ...}); exits 1 when a scenario fails.
Needs redis-server and nginx (apt-get install redis-server nginx) and root or a user that may
run initdb.
"""

import argparse
import itertools
import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.cluster import (  # noqa: E402
    Client,
    cluster,
    cpu_split,
    lead_body,
    progress,
    seed_dealership,
    shutdown_clean,
)
from bench.intake_api import check_phones, cpu_snapshot, percentile_ms  # noqa: E402

INTAKE = "/api/v1/leads/"
SWEEP_FUNC = "dealercrm.schedules.sweep_run"
CAPACITY = 40
OK = (200, 201)


SCENARIOS = {1: "contention", 2: "database_restart", 3: "killed_worker", 4: "cache_restart"}


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scenario", type=int, nargs="*", default=[1, 2, 3, 4])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=75, help="load of scenario 1")
    parser.add_argument("--down", type=float, default=5, help="PostgreSQL down, scenario 2")
    parser.add_argument("--quiet-leads", type=int, default=6000, help="scenario 3")
    parser.add_argument("--no-redis-broker", action="store_true")
    parser.add_argument("--logs", help="copy each scenario's logs into DIR/<scenario>")
    parser.add_argument("--child", choices=[*SCENARIOS.values(), "orm", "redis"],
                        help=argparse.SUPPRESS)  # fmt: skip
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    if args.child:
        # One cluster per process: Django and django-q2 read their settings (the database,
        # Redis, the broker) once per process.
        check_phones(upto=200_000)
        began = time.monotonic()
        if args.child == "contention":
            result = contention(args)
        elif args.child in ("database_restart", "cache_restart"):
            result = backing_service_restart(args, args.child)
        else:
            checks = {}
            result = kill_mid_sweep(args, args.child, checks)
            result["checks"] = checks
        result["seconds"] = round(time.monotonic() - began, 1)
        print(json.dumps(result, default=str))
        return

    report = {"benchmark": "bench/load_faults.py", "scenarios": {}}
    for number in args.scenario:
        name = SCENARIOS[number]
        progress(f"== scenario {number}: {name} ==")
        if number == 3:
            parts = {
                b: child(args, b) for b in ["orm", *([] if args.no_redis_broker else ["redis"])]
            }
            result = {
                "what": "SIGKILL to the django-q2 worker running the stale sweep, mid-way",
                **{f"{b}_broker": part for b, part in parts.items()},
                "checks": {
                    k: v for part in parts.values() for k, v in part.get("checks", {}).items()
                },
                "seconds": round(sum(part.get("seconds", 0) for part in parts.values()), 1),
            }
        else:
            result = child(args, name)
        result["passed"] = bool(result.get("checks")) and all(result["checks"].values())
        report["scenarios"][name] = result
        progress(f"== scenario {number}: {'passed' if result['passed'] else 'FAILED'}")
    report["passed"] = all(r["passed"] for r in report["scenarios"].values())
    print(json.dumps(report, indent=2, default=str))
    sys.exit(0 if report["passed"] else 1)


def child(args, part):
    """Run one part in a child process (its own Django); its JSON, or the failure."""
    argv = [sys.executable, __file__, "--child", part, "--clients", str(args.clients),
            "--seconds", str(args.seconds), "--down", str(args.down),
            "--quiet-leads", str(args.quiet_leads)]  # fmt: skip
    if args.logs:
        argv += ["--logs", args.logs]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, text=True)
    try:
        out, _ = process.communicate()
    except BaseException:
        # Ctrl-C reached the child too (same process group); a TERM to this script is passed on.
        process.terminate()
        process.wait()
        raise
    try:
        return json.loads(out)
    except ValueError:
        return {"error": f"{part} exited {process.returncode} without a result", "checks": {}}


def logs_for(args, name):
    return str(Path(args.logs) / name) if args.logs else None


def finish(c, checks):
    """The checks every scenario shares, once its cluster has stopped."""
    checks["clean_shutdown"] = shutdown_clean(c)
    return c.shutdown


# --- posting -----------------------------------------------------------------------------------


def post_leads(c, *, clients, prefix, until, stop_event=None):
    """`clients` threads post new leads until time.monotonic() >= `until` (or `stop_event`),
    each trying a lead again after Retry-After until it has a final answer. Returns
    {external number: attempts} (see Client.post_until_answered)."""
    numbers = itertools.count()
    lock = threading.Lock()
    results = {}

    def client():
        http = Client(c.port, c.seed["provider_token"])
        while time.monotonic() < until and not (stop_event and stop_event.is_set()):
            with lock:
                n = next(numbers)
            attempts = http.post_until_answered(
                INTAKE, lead_body(n, prefix), deadline=time.monotonic() + 60
            )
            with lock:
                results[n] = attempts
        http.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


def intake_figures(results, seconds):
    attempts = [a for tries in results.values() for a in tries]
    answered = [n for n, tries in results.items() if tries[-1][0] in OK]
    latency = [a[1] for a in attempts if a[0] in OK]
    return {
        "leads_posted": len(results),
        "leads_answered_2xx": len(answered),
        "leads_per_second": round(len(answered) / seconds, 1) if seconds else None,
        "p50_ms": percentile_ms(latency, 50),
        "p90_ms": percentile_ms(latency, 90),
        "p99_ms": percentile_ms(latency, 99),
        "attempt_statuses": dict(Counter(str(a[0]) for a in attempts)),
        "slowest_attempt_s": round(max((a[1] for a in attempts), default=0), 2),
    }


def stored(prefix, posted):
    """Leads, inquiries and customers of the leads posted with `prefix` (lead_body), and their
    history, against the `posted` count."""
    from django.db.models import Count, Q

    from dealercrm.models import Customer
    from leads.models import Inquiry, Lead, LeadEvent

    inquiries = Inquiry.objects.filter(source="website", external_id__startswith=f"{prefix}-")
    leads = Lead.objects.filter(inquiries__in=inquiries).distinct()
    per_lead = Lead.objects.filter(pk__in=inquiries.values("lead_id")).annotate(
        created=Count("events", filter=Q(events__kind=LeadEvent.Kind.CREATED), distinct=True),
        routed=Count(
            "events",
            filter=Q(events__kind=LeadEvent.Kind.ASSIGNED, events__routing__kind="routed"),
            distinct=True,
        ),
        created_inquiries=Count(
            "inquiries", filter=Q(inquiries__outcome=Inquiry.Outcome.CREATED), distinct=True
        ),
    )
    emails = [f"{prefix}.{n}@example.com" for n in range(posted)]
    customers = Customer.objects.filter(email__in=emails)
    return {
        "posted": posted,
        "inquiries": inquiries.count(),
        "leads": leads.count(),
        "distinct_external_ids": inquiries.values("external_id").distinct().count(),
        "external_ids_with_several_leads": inquiries.values("external_id")
        .annotate(n=Count("lead_id", distinct=True))
        .filter(n__gt=1)
        .count(),
        "leads_without_their_customer": per_lead.filter(customer__isnull=True).count(),
        "leads_without_one_created_event": per_lead.exclude(created=1).count(),
        "leads_without_one_routed_assignment": per_lead.exclude(routed=1).count(),
        "leads_without_one_created_inquiry": per_lead.exclude(created_inquiries=1).count(),
        "customers": customers.count(),
        "customers_without_a_lead": customers.filter(leads__isnull=True).count(),
    }


# --- 1. contention -----------------------------------------------------------------------------


def contention_seed():
    """Ten salespeople with a capacity of 40, a round robin with a 1-minute SLA, the dealership
    always open (so that the SLA runs out during the load)."""
    data = seed_dealership(salespeople=10, capacity=CAPACITY, sla_minutes=1)()
    from routing.models import OpeningHours

    OpeningHours.objects.all().delete()
    return data


def contention(args):
    checks = {}
    with cluster(
        seed=contention_seed,
        env={"RATE_LIMIT_INTAKE": "1000000/m"},
        logs_to=logs_for(args, "contention"),
    ) as c:
        from django.db import connection
        from django_q.tasks import async_task

        from leads.models import Lead

        stop = threading.Event()
        reassigns = []
        sweeps_enqueued = []

        def manager():
            http = Client(c.port, c.seed["manager_token"])
            rng = random.Random(1)
            people = c.seed["salespeople"]
            while not stop.is_set():
                ids = list(
                    Lead.objects.filter(source="website")
                    .order_by("-pk")
                    .values_list("pk", flat=True)[:200]
                )
                connection.close()
                if not ids:
                    time.sleep(0.5)
                    continue
                for _ in range(10):
                    owner = rng.choice(people) if rng.random() < 0.7 else None
                    body = json.dumps({"owner": owner, "reason": "Balancing the floor"}).encode()
                    status, _, answer, seconds = http.request(
                        "POST", f"/api/v1/leads/{rng.choice(ids)}/reassign/", body
                    )
                    reassigns.append((status, seconds, answer[:200]))
                    if stop.wait(0.25):
                        break
            http.close()

        def sweeper():
            while not stop.wait(10):
                async_task(SWEEP_FUNC, "first-response", group="first-response-extra")
                sweeps_enqueued.append(time.monotonic())
            connection.close()

        helpers = [threading.Thread(target=manager), threading.Thread(target=sweeper)]
        for thread in helpers:
            thread.start()
        cpu_before = cpu_snapshot()
        began = time.monotonic()
        try:
            results = post_leads(c, clients=args.clients, prefix="lc", until=began + args.seconds)
        finally:
            stop.set()
            for thread in helpers:
                thread.join()
        wall = time.monotonic() - began
        cpu = cpu_split(cpu_before, cpu_snapshot(), c)
        # The sweeps in flight finish before the history is read (it is read in two queries).
        wait_sweeps_idle("first-response")
        intake = intake_figures(results, wall)
        counts = stored("lc", len(results))
        history = assignment_history(c.seed["salespeople"], CAPACITY)
        first_response_runs = sweep_runs("first-response")
        connection.close()
        reassign_statuses = Counter(str(r[0]) for r in reassigns)
        checks["no_process_died"] = not c.dead()

    checks["leads_in_equal_leads_stored"] = (
        counts["posted"] == intake["leads_answered_2xx"] == counts["leads"] == counts["inquiries"]
    )
    checks["one_lead_per_external_id"] = counts["external_ids_with_several_leads"] == 0
    checks["no_5xx"] = not any(
        s.startswith("5") for s in [*intake["attempt_statuses"], *reassign_statuses]
    )
    checks["reassignments_answered_200"] = set(reassign_statuses) == {"200"}
    checks["each_lead_created_once"] = counts["leads_without_one_created_event"] == 0
    checks["each_lead_routed_once_first"] = (
        counts["leads_without_one_routed_assignment"] == 0
        and history["leads_whose_first_assignment_is_not_routing"] == 0
    )
    checks["assignments_chain_per_lead"] = history["broken_chains"] == 0
    checks["routing_never_over_capacity"] = history["routing_over_capacity"] == 0
    checks["sweep_ran_during_load"] = first_response_runs["done"] > 0
    checks["sweep_rotated_leads"] = (
        history["by_kind"].get("rotated", 0) + history["by_kind"].get("to_pool", 0) > 0
    )
    shutdown = finish(c, checks)
    return {
        "what": "8 clients post leads while the first-response sweep rotates missed leads and "
        "a manager reassigns through the API",
        "intake": intake,
        "cpu": cpu,
        "reassign_requests": {
            "count": len(reassigns),
            "statuses": dict(reassign_statuses),
            "p50_ms": percentile_ms([r[1] for r in reassigns], 50),
            "samples_not_200": [r[2].decode(errors="replace") for r in reassigns if r[0] != 200][
                :3
            ],
        },
        "first_response_sweep_runs": first_response_runs,
        "extra_sweeps_enqueued": len(sweeps_enqueued),
        "stored": counts,
        "history": history,
        "checks": checks,
        "shutdown": shutdown,
    }


def assignment_history(people, capacity):
    """Replay every lead assignment in history order (see the module's docstring), reading
    the history and the leads in one snapshot (REPEATABLE READ)."""
    from django.db import connection, transaction

    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        return _assignment_history(people, capacity)


def _assignment_history(people, capacity):
    from leads.models import Lead, LeadEvent, LeadStatus

    people = set(people)
    rows = LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED).order_by("id")
    holding = defaultdict(int)  # open leads per person, as the history goes
    current = {}  # lead -> owner, as the history goes
    by_kind = Counter()
    over = []
    reassigned_over = 0
    first_not_routing = 0
    broken = []
    seen = set()
    closed = set(Lead.objects.exclude(status__in=[LeadStatus.NEW]).values_list("pk", flat=True))
    for lead_id, from_owner, to_owner, routing in rows.values_list(
        "lead_id", "from_owner_id", "to_owner_id", "routing"
    ).iterator(chunk_size=5000):
        kind = (routing or {}).get("kind", "")
        by_kind[kind] += 1
        if lead_id not in seen:
            seen.add(lead_id)
            if kind != "routed":
                first_not_routing += 1
        elif from_owner != current.get(lead_id):
            broken.append(lead_id)
        if from_owner is not None:
            holding[from_owner] -= 1
        if to_owner is not None:
            if to_owner in people and holding[to_owner] >= capacity:
                if kind in ("routed", "rotated"):
                    over.append({"lead": lead_id, "to": to_owner, "holding": holding[to_owner],
                                 "kind": kind})  # fmt: skip
                elif kind == "reassigned":
                    reassigned_over += 1
            holding[to_owner] += 1
        current[lead_id] = to_owner
    owners = dict(Lead.objects.filter(pk__in=current).values_list("pk", "owner_id"))
    broken += [lead_id for lead_id, owner in current.items() if owners.get(lead_id) != owner]
    broken_samples = [
        {
            "lead": lead_id,
            "owner_now": owners.get(lead_id),
            "assignments": [
                {
                    "id": e["id"],
                    "kind": (e["routing"] or {}).get("kind"),
                    "from": e["from_owner_id"],
                    "to": e["to_owner_id"],
                    "at": e["at"].isoformat(),
                    "by": e["actor_label"] or e["actor_id"],
                }
                for e in LeadEvent.objects.filter(lead_id=lead_id, kind=LeadEvent.Kind.ASSIGNED)
                .order_by("id")
                .values(
                    "id", "routing", "from_owner_id", "to_owner_id", "at", "actor_label", "actor_id"
                )  # fmt: skip
            ],
        }
        for lead_id in broken[:3]
    ]
    open_now = Counter(
        Lead.objects.filter(owner_id__in=people, status=LeadStatus.NEW).values_list(
            "owner_id", flat=True
        )
    )
    return {
        "assignments": sum(by_kind.values()),
        "by_kind": dict(by_kind),
        "leads": len(seen),
        "leads_whose_first_assignment_is_not_routing": first_not_routing,
        "broken_chains": len(broken),
        "broken_chain_samples": broken_samples,
        "routing_over_capacity": len(over),
        "routing_over_capacity_samples": over[:5],
        "reassignments_beyond_capacity": reassigned_over,
        "capacity": capacity,
        "open_leads_per_person_now": sorted(open_now.values()),
        "people_over_capacity_now": sum(1 for n in open_now.values() if n > capacity),
        "leads_closed": len(closed),
    }


def wait_sweeps_idle(name, timeout=60):
    """Until no run of sweep `name` is running and the task queue is empty."""
    from django.db import connection
    from django_q.brokers import get_broker

    from dealercrm.models import SweepRun

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(2)
        busy = SweepRun.objects.filter(name=name, status=SweepRun.Status.RUNNING).exists()
        queued = get_broker().queue_size()
        connection.close()
        if not busy and not queued:
            return


def sweep_runs(name, after=None):
    from dealercrm.models import SweepRun

    runs = SweepRun.objects.filter(name=name)
    if after is not None:
        runs = runs.filter(started_at__gte=after)
    statuses = Counter(runs.values_list("status", flat=True))
    return {"runs": sum(statuses.values()), **statuses}


# --- 2. database restart -----------------------------------------------------------------------


def backing_service_restart(args, name):
    """Scenario 2 (PostgreSQL) and 4 (Redis, the shared cache): the service stops for
    `--down` seconds under load and starts again."""
    database = name == "database_restart"
    checks = {}
    with cluster(
        seed=seed_dealership(salespeople=10, capacity=1_000_000),
        env={"RATE_LIMIT_INTAKE": "1000000/m"},
        logs_to=logs_for(args, name),
    ) as c:
        from django.db import connection
        from django.utils import timezone
        from django_q.tasks import async_task

        masters = [app.pid for app in c.apps]
        workers = {app.name: sorted(c.app_workers(i)) for i, app in enumerate(c.apps)}
        health = []
        stop = threading.Event()

        def poll_health():
            http = Client(c.apps[0].port)
            while not stop.wait(0.5):
                status, headers, _, seconds = http.request("GET", "/health/")
                health.append((time.monotonic(), status, headers.get("Retry-After"), seconds))
            http.close()

        outage = {}

        def restart():
            time.sleep(10)
            if database:
                stopped, started = c.postgres_restart(down_seconds=args.down)
            else:
                stopped, started = c.redis_restart(down_seconds=args.down)
            outage.update(stopped=stopped, started=started)

        poller = threading.Thread(target=poll_health)
        restarter = threading.Thread(target=restart)
        poller.start()
        began = time.monotonic()
        restarter.start()
        results = post_leads(
            c, clients=args.clients, prefix="db", until=began + 10 + args.down + 20
        )
        restarter.join()
        stop.set()
        poller.join()
        wall = time.monotonic() - began

        attempts = [a for tries in results.values() for a in tries]
        after_start = sorted(a[4] for a in attempts if a[0] in OK and a[4] >= outage["started"])
        first_ok_after = round(after_start[0] - outage["started"], 2) if after_start else None
        during = [h for h in health if outage["stopped"] <= h[0] <= outage["started"]]
        health_after = [h for h in health if h[0] > outage["started"] and h[1] == 200]
        bad = [a for a in attempts if a[0] not in (*OK, 503)]
        without_retry_after = [a for a in attempts if a[0] == 503 and not a[2]]

        # The task clusters took the restart too: a sweep enqueued now must run.
        restarted_at = timezone.now()
        async_task(SWEEP_FUNC, "first-response", group="after-restart")
        connection.close()
        deadline = time.monotonic() + 60
        runs = {}
        while time.monotonic() < deadline:
            runs = sweep_runs("first-response", after=restarted_at)
            connection.close()
            if runs.get("done"):
                break
            time.sleep(1)
        counts = stored("db", len(results))
        outcomes = Counter(
            (re.search(rb'"outcome":\s*"(\w+)"', tries[-1][3]) or [b"", b"?"])[1].decode()
            for tries in results.values()
            if tries[-1][0] in OK
        )
        connection.close()
        checks["no_process_died"] = not c.dead()
        checks["app_servers_not_restarted"] = masters == [
            app.pid for app in c.apps
        ] and workers == {app.name: sorted(c.app_workers(i)) for i, app in enumerate(c.apps)}

    checks["only_2xx_or_503"] = not bad
    checks["every_503_has_retry_after"] = not without_retry_after
    checks["saw_503_during_the_outage"] = any(a[0] == 503 for a in attempts)
    checks["no_hang"] = max(a[1] for a in attempts) <= 10
    checks["recovered_within_15_s"] = first_ok_after is not None and first_ok_after <= 15
    checks["health_503_while_down_200_after"] = (
        bool(during)
        and all(h[1] == 503 for h in during if h[0] - outage["stopped"] > 1)
        and bool(health_after)
    )
    checks["leads_in_equal_leads_stored"] = counts["posted"] == counts["leads"] == counts[
        "inquiries"
    ] == counts["customers"] and all(tries[-1][0] in OK for tries in results.values())
    checks["one_lead_per_external_id"] = counts["external_ids_with_several_leads"] == 0
    checks["no_partial_rows"] = (
        counts["leads_without_their_customer"] == 0
        and counts["leads_without_one_created_event"] == 0
        and counts["leads_without_one_routed_assignment"] == 0
        and counts["leads_without_one_created_inquiry"] == 0
        and counts["customers_without_a_lead"] == 0
    )
    checks["task_clusters_run_sweeps_after_restart"] = bool(runs.get("done"))
    shutdown = finish(c, checks)
    return {
        "what": f"{args.clients} clients post leads; "
        + ("PostgreSQL stopped (fast)" if database else "Redis stopped")
        + f" for {args.down} s after 10 s",
        "intake": intake_figures(results, wall),
        "final_outcomes": dict(outcomes),
        "down_seconds": round(outage["started"] - outage["stopped"], 2),
        "first_lead_stored_after_start_s": first_ok_after,
        "health_while_down": dict(Counter(str(h[1]) for h in during)),
        "health_200_after_start_s": round(health_after[0][0] - outage["started"], 2)
        if health_after
        else None,
        "not_2xx_or_503_samples": [f"{a[0]}: {a[3][:120]!r}" for a in bad[:5]],
        "sweeps_after_restart": runs,
        "stored": counts,
        "checks": checks,
        "shutdown": shutdown,
    }


# --- 3. a worker killed in the middle of a sweep -------------------------------------------------


def quiet_leads_seed(count):
    """`count` open leads of the seeded salespeople, quiet since just inside the stale sweep's
    next window, their customers on the website a minute ago; the sweeps' schedules moved a
    day ahead, so that only the task enqueued here (and, later, the one schedule made due)
    runs the stale sweep."""

    def seed():
        data = seed_dealership(salespeople=10, capacity=1_000_000)()
        from django.utils import timezone
        from django_q.models import Schedule

        from dealercrm.models import Customer, SweepRun
        from dealercrm.services import customer_build
        from leads.models import Lead
        from leads.services import lead_build, leads_create_many

        now = timezone.now()
        Schedule.objects.update(next_run=now + timedelta(days=1))
        since = (
            SweepRun.objects.filter(name="stale", status=SweepRun.Status.DONE)
            .order_by("-as_of")
            .values_list("as_of", flat=True)
            .first()
        )
        # Inside the window of the next run: (since - 7 days, now - 7 days], or before now - 7
        # days when the sweep has never run (no lower bound then).
        quiet = since - timedelta(days=7, seconds=-1) if since else now - timedelta(days=7, hours=1)
        customers = Customer.objects.bulk_create(
            customer_build(
                first_name="Quinn", last_name=str(n), email=f"quiet.{n}@example.com", at=quiet
            )  # fmt: skip
            for n in range(count)
        )
        people = data["salespeople"]
        leads = [
            lead_build(
                customer=customer,
                source="seed",
                at=quiet,
                owner_id=people[n % len(people)],
                assigned_at=quiet,
                team_id=data["team_id"],
            )  # fmt: skip
            for n, customer in enumerate(customers)
        ]
        for start in range(0, len(leads), 2000):
            leads_create_many(leads[start : start + 2000], by="bench")
        Lead.objects.filter(source="seed").update(last_seen_at=now - timedelta(minutes=1))
        return {**data, "since": since, "quiet_leads": count}

    return seed


def kill_mid_sweep(args, broker, checks):
    q_timeout, q_retry = 40, 50
    env = {"Q_TIMEOUT": str(q_timeout), "Q_RETRY": str(q_retry), "Q_BROKER": broker}
    out = {"broker": broker, "q_timeout": q_timeout, "q_retry": q_retry}
    with cluster(
        seed=quiet_leads_seed(args.quiet_leads), env=env, logs_to=logs_for(args, f"killed_{broker}")
    ) as c:
        from django.db import connection
        from django.utils import timezone
        from django_q.models import Schedule, Task
        from django_q.tasks import async_task

        from dealercrm.models import SweepRun
        from leads.models import Lead

        total = args.quiet_leads
        leads = Lead.objects.filter(source="seed")
        enqueued = timezone.now()
        task_id = async_task(SWEEP_FUNC, "stale", group="kill-me")
        connection.close()
        # Wait until the first batch has committed, then kill the worker running the task.
        deadline = time.monotonic() + 120
        flagged_at_kill = victim = None
        while time.monotonic() < deadline:
            started = [t for t in c.tasks_started("kill-me") if t["pid"] and not t["finished"]]
            flagged = leads.filter(stale_tier=7).count()
            connection.close()
            if started and 0 < flagged < total:
                victim = started[0]
                os.kill(victim["pid"], signal.SIGKILL)
                killed_at = time.monotonic()
                flagged_at_kill = flagged
                break
            time.sleep(0.1)
        if victim is None:
            out["error"] = "the sweep never reached a state to kill it mid-way"
            checks[f"{broker}_killed_mid_way"] = False
            return out
        # The sentinel starts a new worker; the killed run's batch in flight rolled back.
        time.sleep(2)
        out["killed"] = {
            "cluster": victim["cluster"],
            "worker": victim["worker"],
            "flagged_before_kill": flagged_at_kill,
            "leads": total,
            "reincarnated": any("reincarnated worker" in p.log_text() for p in c.tasks),
        }
        flagged_after_kill = leads.filter(stale_tier=7).count()
        connection.close()
        # Delivered again? Wait for Q_RETRY after it was taken, and a margin for the run.
        rerun = None
        deadline = time.monotonic() + q_retry + 45
        while time.monotonic() < deadline:
            done = list(
                SweepRun.objects.filter(
                    name="stale", started_at__gte=enqueued, status="done"
                ).values("started_at", "finished_at", "counts", "since")
            )
            connection.close()
            if done:
                rerun = done[0]
                break
            time.sleep(1)
        out["rerun"] = None
        if rerun is not None:
            starts = [t for t in c.tasks_started("kill-me")]
            out["rerun"] = {
                "started_s_after_kill": round(
                    (rerun["started_at"] - timezone.now()).total_seconds()
                    + (time.monotonic() - killed_at),
                    1,
                ),
                "seconds": round((rerun["finished_at"] - rerun["started_at"]).total_seconds(), 2),
                "quiet_7": rerun["counts"].get("quiet_7"),
                "resurfaced": rerun["counts"].get("resurfaced"),
                "ran_on": starts[-1]["cluster"] if len(starts) > 1 else None,
                "window_since": rerun["since"],
            }
        task = Task.objects.filter(id=task_id).values("success", "attempt_count").first()
        out["django_q_task"] = task
        if rerun is None:
            # The task is gone; the sweep's next scheduled run covers the window since the last
            # run that finished, so it does what the lost run did not.
            made_due = timezone.now()
            Schedule.objects.filter(name="stale").update(next_run=made_due - timedelta(seconds=1))
            connection.close()
            deadline = time.monotonic() + 75
            while time.monotonic() < deadline:
                done = list(
                    SweepRun.objects.filter(
                        name="stale", started_at__gte=made_due, status="done"
                    ).values("counts")
                )
                connection.close()
                if done:
                    out["next_scheduled_run"] = {
                        "quiet_7": done[0]["counts"].get("quiet_7"),
                        "resurfaced": done[0]["counts"].get("resurfaced"),
                    }
                    break
                time.sleep(1)
        out["runs"] = dict(
            Counter(SweepRun.objects.filter(name="stale", started_at__gte=enqueued).values_list(
                "status", flat=True))
        )  # fmt: skip
        out["effects"] = effects_once(leads, total)
        connection.close()
        checks[f"{broker}_no_process_died"] = not c.dead()

    out["shutdown"] = c.shutdown
    checks[f"{broker}_clean_shutdown"] = shutdown_clean(c)
    checks[f"{broker}_killed_mid_way"] = 0 < flagged_at_kill < total
    checks[f"{broker}_batch_in_flight_rolled_back"] = flagged_after_kill == flagged_at_kill
    if broker == "orm":
        checks["orm_task_ran_again"] = rerun is not None
        checks["orm_rerun_did_the_rest"] = (
            rerun is not None and rerun["counts"].get("quiet_7") == total - flagged_at_kill
        )
    else:
        # What the settings' comment says: django-q2's Redis broker loses it.
        checks["redis_task_lost_as_explained"] = rerun is None
        checks["redis_next_scheduled_run_did_the_rest"] = (
            out.get("next_scheduled_run", {}).get("quiet_7") == total - flagged_at_kill
        )
    checks[f"{broker}_effects_once"] = out["effects"]["once"]
    return out


def effects_once(leads, total):
    """Each quiet lead flagged, and resurfaced exactly once: one history event, one
    Resurfacing, one "came back" task, one notification to its owner."""
    from django.db.models import Count, Q

    from dealercrm.models import Notification
    from leads.models import FollowUpTask, LeadEvent, Resurfacing

    per_lead = leads.annotate(
        resurfaced_events=Count(
            "events", filter=Q(events__kind=LeadEvent.Kind.RESURFACED), distinct=True
        ),
    )
    resurfacings = Counter(
        Resurfacing.objects.filter(lead__in=leads).values_list("lead_id", flat=True)
    )
    tasks = Counter(
        FollowUpTask.objects.filter(lead__in=leads, kind=FollowUpTask.Kind.RESURFACED).values_list(
            "lead_id", flat=True
        )
    )
    notifications = Notification.objects.filter(kind="resurfaced").count()
    figures = {
        "flagged_7_days": leads.filter(stale_tier=7).count(),
        "leads_with_one_resurfaced_event": per_lead.filter(resurfaced_events=1).count(),
        "leads_with_several_resurfaced_events": per_lead.filter(resurfaced_events__gt=1).count(),
        "resurfacings": sum(resurfacings.values()),
        "leads_with_several_resurfacings": sum(1 for n in resurfacings.values() if n > 1),
        "came_back_tasks": sum(tasks.values()),
        "leads_with_several_tasks": sum(1 for n in tasks.values() if n > 1),
        "notifications": notifications,
    }
    figures["once"] = (
        figures["flagged_7_days"] == total
        and figures["leads_with_one_resurfaced_event"] == total
        and figures["resurfacings"] == total
        and figures["came_back_tasks"] == total
        and figures["notifications"] == total
    )
    return figures


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        progress("interrupted; everything was stopped")
        sys.exit(130)
