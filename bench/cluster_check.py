"""Beyond one machine, checked: 2 app servers behind nginx, Redis, 2 django-q2 task clusters and
a throwaway PostgreSQL (bench/cluster.py), under concurrent intake, rolling reloads and
restarts, and a sweep made due everywhere at once.

1. Intake: `--clients` threads post `--leads` leads each through nginx (`POST /api/v1/leads/`,
   one new customer each, external ids unique), routed in the request by a round robin over ten
   salespeople with capacity to spare. Clients try again after Retry-After on 429/502/503/504 or
   a broken connection, as a lead provider's queue does. Meanwhile (unless --no-maintenance)
   each app server is reloaded (HUP: new workers, as for a deploy), then restarted drained
   (marked down in nginx's upstream, TERM once its log is quiet, started, put back), then one is
   restarted without draining (TERM while nginx still sends to it); the failed attempts in each
   operation's window are counted: reloads and drained restarts must cause none.
   Checks: leads in = leads stored (by source + external id), one lead and one inquiry per
   external id; each lead created once and routed once (exactly one `created` and one `assigned`
   event per lead, the assignment's routing kind "routed"); the round robin even (no lost or
   doubled turn: shares differ by at most one); both app servers served intake (their access
   logs).
2. The proxy: static files served by nginx (not the app); a body over the ADF limit refused by
   nginx with 413 and one at the limit passed on; a forged X-Real-IP is replaced by the
   client's address (the app servers' access logs), so the per-address limit of the public web
   form (RATE_LIMIT_WEB_FORM, 10/m, counted in Redis across both servers) still holds.
3. Sweeps act once: `--quiet-leads` leads are made quiet for 7 days (their customer back on the
   website since), then the stale sweep is made due several times at once: its django-q2
   schedule's next_run set to now (one cluster's scheduler takes it) and the same task
   enqueued three more times (`async_task(sweep_run, "stale")`), so that several runs race, on
   whichever clusters take them (reported from their logs). Checks: four runs, each recorded
   as done (SweepRun: the schedule fired once, with two schedulers); each of those leads
   flagged once and resurfaced once (one "resurfaced" event, one Resurfacing); the runs'
   counts add up to the number of leads.
4. Every process stops by itself with exit code 0 (TERM/QUIT), none killed.

    .venv/bin/python bench/cluster_check.py [--clients 8] [--leads 250] [--quiet-leads 400]

Prints one JSON report; exits 1 when a check fails. Needs redis-server and nginx
(apt-get install redis-server nginx) and root or a user that may run initdb.
"""

import argparse
import json
import signal
import sys
import threading
import time
from collections import Counter
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
ADF = "/api/v1/leads/adf/"
FORM_KEY = "dealer-site"
SWEEP_FUNC = "dealercrm.schedules.sweep_run"
MAX_ADF_BYTES = 1_000_000
FORGED = "203.0.113.77"
# Copies of the stale sweep's task enqueued at once, besides its schedule: which cluster's
# pusher takes each is up to the queue, so several make it likely that both clusters run one.
ENQUEUED = 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--leads", type=int, default=250, help="leads per client")
    parser.add_argument("--quiet-leads", type=int, default=400)
    parser.add_argument("--no-maintenance", action="store_true")
    parser.add_argument("--logs", help="copy every log and the nginx configuration here")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    check_phones(upto=args.clients * args.leads + 100)
    started = time.monotonic()
    report = {"benchmark": "bench/cluster_check.py", "checks": {}}
    try:
        with cluster(
            app_servers=2,
            task_clusters=2,
            seed=seed,
            # The intake limit is per integration account (3000/m); the clients here are one.
            env={"RATE_LIMIT_INTAKE": "1000000/m"},
            logs_to=args.logs,
        ) as c:
            report["setup"] = {
                "app_servers": len(c.apps),
                "gunicorn_workers_each": 2,
                "task_clusters": len(c.tasks),
                "q_workers_each": 2,
                "proxy": "nginx" if c.proxy else None,
                "broker": "django-q2 ORM broker (PostgreSQL); Redis for the cache",
            }
            report["intake"] = intake(c, args, report["checks"])
            report["proxy"] = proxy(c, report["checks"])
            report["sweep"] = sweep(c, args, report["checks"])
            report["checks"]["no_process_died"] = not c.dead()
    except KeyboardInterrupt:
        progress("interrupted; everything was stopped")
        sys.exit(130)
    report["shutdown"] = c.shutdown
    report["checks"]["clean_shutdown"] = shutdown_clean(c)
    report["seconds"] = round(time.monotonic() - started, 1)
    report["passed"] = all(report["checks"].values())
    print(json.dumps(report, indent=2, default=str))
    sys.exit(0 if report["passed"] else 1)


def seed():
    """The dealership of bench/cluster.py, and a website form for the rate-limit check."""
    data = seed_dealership(salespeople=10, capacity=100_000)()
    from leads.models import LeadSource

    LeadSource.objects.create(key=FORM_KEY, name="Dealer site", form_enabled=True)
    return data


# --- 1. intake -------------------------------------------------------------------------------


def intake(c, args, checks):
    token = c.seed["provider_token"]
    results = [[] for _ in range(args.clients)]
    done = Counter()
    lock = threading.Lock()
    total = args.clients * args.leads

    def client(index):
        http = Client(c.port, token)
        for i in range(args.leads):
            n = index * args.leads + i
            attempts = http.post_until_answered(
                INTAKE, lead_body(n, "cc"), deadline=time.monotonic() + 120
            )
            results[index].append((n, attempts, time.monotonic()))
            with lock:
                done["posted"] += 1
        with lock:
            done["stale_connections"] += http.stale_connections
        http.close()

    operations = []

    def maintenance():
        """Once a fifth of the leads are in: each app server reloaded (HUP, as for a deploy of
        new code), then each restarted drained (out of nginx's upstream first), then one
        restarted bluntly (TERM while nginx still sends to it), 2 s apart."""
        while done["posted"] < total // 5:
            time.sleep(0.05)
        plan = [("reload", i) for i in range(len(c.apps))]
        plan += [("drained restart", i) for i in range(len(c.apps))]
        plan += [("restart without draining", 0)]
        for kind, index in plan:
            began = time.monotonic()
            record = {"operation": kind, "server": c.apps[index].name}
            if kind == "reload":
                record["seconds"] = c.app_reload(index)
            elif kind == "drained restart":
                record["stop"] = c.app_restart_drained(index)
            else:
                record["stop"] = c.app_stop(index)
                c.app_start(index)
            record["window"] = (began, time.monotonic() + 2)
            operations.append(record)
            time.sleep(2)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    restarter = threading.Thread(target=maintenance, daemon=True)
    cpu_before = cpu_snapshot()
    began = time.monotonic()
    for thread in threads:
        thread.start()
    if not args.no_maintenance:
        restarter.start()
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    cpu = cpu_split(cpu_before, cpu_snapshot(), c)
    if not args.no_maintenance:
        restarter.join(timeout=120)
    for record in operations:
        start, end = record.pop("window")
        failed = Counter(
            str(a[0])
            for out in results
            for _, tries, _ in out
            for a in tries
            if start <= a[4] <= end and a[0] not in (200, 201)
        )
        record["failed_attempts_during"] = dict(failed)

    attempts = [a for out in results for _, tries, _ in out for a in tries]
    finals = {n: tries[-1] for out in results for n, tries, _ in out}
    answered = {n for n, last in finals.items() if last[0] in (200, 201)}
    ok_latency = [a[1] for a in attempts if a[0] in (200, 201)]
    statuses = Counter(str(a[0]) for a in attempts)
    retried = sum(1 for out in results for _, tries, _ in out if len(tries) > 1)

    stored = stored_counts(prefix="cc-", expected=total)
    stored["postgres_connections_of_the_servers"] = postgres_connections()
    per_server = {
        c.apps[i].name: sum(1 for line in c.access_log_lines(i) if f"POST {INTAKE} " in line)
        for i in range(len(c.apps))
    }
    checks["all_leads_answered"] = len(answered) == total
    checks["leads_in_equal_leads_stored"] = stored["leads"] == stored["inquiries"] == total
    checks["one_lead_per_external_id"] = stored["external_ids_with_several_leads"] == 0
    checks["each_lead_created_once"] = stored["leads_without_one_created_event"] == 0
    checks["each_lead_routed_once"] = stored["leads_without_one_routed_assignment"] == 0
    checks["no_lead_assigned_twice"] = stored["leads_assigned_more_than_once"] == 0
    checks["round_robin_even"] = stored["round_robin_spread"] <= 1
    checks["both_app_servers_served"] = all(count > 0 for count in per_server.values())
    if operations:
        checks["maintenance_finished"] = len(operations) == 2 * len(c.apps) + 1
        checks["restarts_graceful"] = all(
            r["stop"]["exit_code"] == 0 and not r["stop"]["killed"]
            for r in operations
            if "stop" in r
        )
        # Reloads and drained restarts must go unnoticed; a restart without draining may cut
        # a POST waiting in the listen backlog (502), which the client posts again.
        checks["reloads_and_drained_restarts_unnoticed"] = not any(
            r["failed_attempts_during"]
            for r in operations
            if r["operation"] != "restart without draining"
        )
    return {
        "clients": args.clients,
        "leads_posted": total,
        "seconds": round(wall, 2),
        "leads_per_second": round(len(answered) / wall, 1),
        "p50_ms": percentile_ms(ok_latency, 50),
        "p90_ms": percentile_ms(ok_latency, 90),
        "p99_ms": percentile_ms(ok_latency, 99),
        "attempt_statuses": dict(statuses),
        "leads_that_needed_a_retry": retried,
        # Kept-alive connections nginx closed on a reload, the request sent again at once.
        "stale_connections_sent_again": done["stale_connections"],
        "failed_samples": [f"{a[0]}: {a[3][:120]!r}" for a in attempts if a[0] not in (200, 201)][
            :5
        ],
        "requests_per_app_server": per_server,
        "maintenance_during_load": operations,
        "cpu": cpu,
        "stored": stored,
    }


def stored_counts(prefix, expected):
    """What the database holds for the inquiries whose external id starts with `prefix`."""
    from django.db import connection
    from django.db.models import Count, Q

    from leads.models import Inquiry, Lead, LeadEvent

    inquiries = Inquiry.objects.filter(source="website", external_id__startswith=prefix)
    lead_ids = inquiries.values("lead_id")
    leads = Lead.objects.filter(pk__in=lead_ids)
    per_lead = leads.annotate(
        created=Count("events", filter=Q(events__kind=LeadEvent.Kind.CREATED)),
        assigned=Count("events", filter=Q(events__kind=LeadEvent.Kind.ASSIGNED)),
        routed=Count(
            "events",
            filter=Q(events__kind=LeadEvent.Kind.ASSIGNED, events__routing__kind="routed"),
        ),
    )
    owners = Counter(leads.values_list("owner_id", flat=True))
    counts = {
        "expected": expected,
        "inquiries": inquiries.count(),
        "leads": leads.count(),
        "external_ids_with_several_leads": inquiries.values("external_id")
        .annotate(n=Count("lead_id", distinct=True))
        .filter(n__gt=1)
        .count(),
        "leads_without_one_created_event": per_lead.exclude(created=1).count(),
        "leads_without_one_routed_assignment": per_lead.exclude(routed=1).count(),
        "leads_assigned_more_than_once": per_lead.filter(assigned__gt=1).count(),
        "leads_in_the_pool": owners.get(None, 0),
        "leads_per_salesperson": sorted(n for owner, n in owners.items() if owner),
    }
    shares = counts["leads_per_salesperson"] or [0]
    counts["round_robin_spread"] = max(shares) - min(shares)
    connection.close()
    return counts


def postgres_connections():
    """Client connections to the database other than this script's: one per gunicorn worker
    and per django-q2 process that has used it (CONN_MAX_AGE keeps them open)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND backend_type = 'client backend' AND pid <> pg_backend_pid()"
        )
        count = cursor.fetchone()[0]
    connection.close()
    return count


# --- 2. the proxy ----------------------------------------------------------------------------


def proxy(c, checks):
    if c.proxy is None:
        return {"skipped": "nginx is not installed"}
    http = Client(c.port)
    results = {}

    before = [len(c.access_log_lines(i)) for i in range(len(c.apps))]
    status, headers, body, _ = http.request("GET", "/static/dealercrm/app.css")
    after = [len(c.access_log_lines(i)) for i in range(len(c.apps))]
    results["static_file"] = {
        "status": status,
        "bytes": len(body),
        "app_log_lines": after != before,
    }
    checks["static_files_served_by_nginx"] = status == 200 and body and after == before

    # A body over the limit: refused by nginx (JSON, 413) before any app server sees it.
    provider = Client(c.port, c.seed["provider_token"])
    headers = {"Content-Type": "application/xml"}
    status, _, body, _ = provider.request("POST", ADF, b"<" * (MAX_ADF_BYTES + 1), headers)
    provider.close()
    too_large = {"status": status, "body": body[:120].decode(errors="replace")}
    status, _, body, _ = provider.request("POST", ADF, b"<" * MAX_ADF_BYTES, headers)
    provider.close()
    at_limit = {"status": status, "body": body[:120].decode(errors="replace")}
    results["adf_body_over_the_limit"] = too_large
    results["adf_body_at_the_limit"] = at_limit
    checks["oversized_body_refused_by_nginx"] = too_large["status"] == 413 and (
        "at most 1,000,000 bytes." in too_large["body"]
    )
    # At the limit it reaches the app, which says what is wrong with the document itself.
    checks["body_at_the_limit_reaches_the_app"] = at_limit["status"] == 400

    # Forged client addresses: nginx sets X-Real-IP itself, so the web form's per-address
    # limit counts them all as one address, across both app servers (counters in Redis).
    form = Client(c.port)
    form.headers = {"Content-Type": "application/x-www-form-urlencoded"}
    statuses = Counter()
    for n in range(25):
        forged = {"X-Real-IP": f"203.0.113.{n}", "X-Forwarded-For": f"203.0.113.{n}"}
        status, _, _, _ = form.request("POST", f"/f/{FORM_KEY}/", b"first_name=x", forged)
        statuses[status] += 1
    form.close()
    spoof_lines = [
        line
        for i in range(len(c.apps))
        for line in c.access_log_lines(i)
        if line.startswith("203.0.113.")
    ]
    form_lines = Counter(
        c.apps[i].name
        for i in range(len(c.apps))
        for line in c.access_log_lines(i)
        if f"POST /f/{FORM_KEY}/ " in line
    )
    results["web_form_posts_with_forged_addresses"] = {
        "statuses": {str(k): v for k, v in statuses.items()},
        "served_by": dict(form_lines),
        "access_log_lines_with_a_forged_address": len(spoof_lines),
    }
    # Fixed one-minute windows: 25 posts may straddle two, so at most 20 pass.
    checks["forged_x_real_ip_ignored"] = not spoof_lines
    checks["web_form_limit_holds_across_servers"] = statuses.get(429, 0) >= 5 and len(
        form_lines
    ) == len(c.apps)
    return results


# --- 3. a sweep made due everywhere at once ---------------------------------------------------


def sweep(c, args, checks):
    from datetime import timedelta

    from django.db import connection
    from django.db.models import Count, Q
    from django.utils import timezone
    from django_q.models import Schedule
    from django_q.tasks import async_task

    from dealercrm.models import SweepRun
    from leads.models import Lead, LeadEvent, Resurfacing

    now = timezone.now()
    since = (
        SweepRun.objects.filter(name="stale", status=SweepRun.Status.DONE)
        .order_by("-as_of")
        .values_list("as_of", flat=True)
        .first()
    )
    # Quiet since just inside the window the next run looks at (since - 7 days, now - 7 days],
    # their customers back on the website a minute ago.
    quiet_since = (since or now) - timedelta(days=7) + timedelta(seconds=1)
    chosen = list(
        Lead.objects.filter(inquiries__external_id__startswith="cc-")
        .order_by("pk")
        .values_list("pk", flat=True)[: args.quiet_leads]
    )
    Lead.objects.filter(pk__in=chosen).update(
        last_activity_at=quiet_since, last_seen_at=now - timedelta(minutes=1)
    )
    # Runs at once: the schedule (one cluster's scheduler takes it within ~30 s, and only one)
    # and ENQUEUED tasks enqueued now, which the clusters' pushers fetch.
    offsets = {process.name: len(process.log_text()) for process in c.tasks}
    triggered = timezone.now()
    Schedule.objects.filter(name="stale").update(next_run=triggered - timedelta(seconds=1))
    for _ in range(ENQUEUED):
        async_task(SWEEP_FUNC, "stale", group="stale")
    connection.close()

    runs = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        runs = list(
            SweepRun.objects.filter(name="stale", started_at__gte=triggered).values(
                "status", "examined", "changed", "counts", "started_at", "finished_at"
            )
        )
        if len(runs) >= ENQUEUED + 1 and all(
            run["status"] != SweepRun.Status.RUNNING for run in runs
        ):
            break
        connection.close()
        time.sleep(1)
    per_lead = Lead.objects.filter(pk__in=chosen).annotate(
        resurfaced=Count("events", filter=Q(events__kind=LeadEvent.Kind.RESURFACED))
    )
    flagged = Lead.objects.filter(pk__in=chosen, stale_tier=7).count()
    resurfaced_once = per_lead.filter(resurfaced=1).count()
    resurfacings = Counter(
        Resurfacing.objects.filter(lead_id__in=chosen).values_list("lead_id", flat=True)
    )
    connection.close()
    quiet_7 = sum((run["counts"] or {}).get("quiet_7", 0) for run in runs)
    ran_on = {
        process.name: process.log_text()[offsets[process.name] :].count(f"'{SWEEP_FUNC}' [stale]")
        for process in c.tasks
    }
    checks["sweep_ran_once_per_trigger"] = len(runs) == ENQUEUED + 1 and all(
        run["status"] == SweepRun.Status.DONE for run in runs
    )
    checks["sweep_flagged_each_lead_once"] = flagged == len(chosen) == quiet_7
    checks["sweep_resurfaced_each_lead_once"] = resurfaced_once == len(chosen) and (
        len(resurfacings) == len(chosen) and set(resurfacings.values()) == {1}
    )
    return {
        "quiet_leads": len(chosen),
        "runs": [
            {
                "status": run["status"],
                "changed": run["changed"],
                "quiet_7": (run["counts"] or {}).get("quiet_7"),
                "resurfaced": (run["counts"] or {}).get("resurfaced"),
                "seconds": round((run["finished_at"] - run["started_at"]).total_seconds(), 2)
                if run["finished_at"]
                else None,
                "started_after_trigger_s": round(
                    (run["started_at"] - triggered).total_seconds(), 2
                ),
            }
            for run in sorted(runs, key=lambda run: run["started_at"])
        ],
        "stale_runs_per_cluster_log": ran_on,
        "flagged_7_days": flagged,
        "quiet_7_counted_by_all_runs": quiet_7,
        "leads_with_one_resurfaced_event": resurfaced_once,
        "resurfacings": sum(resurfacings.values()),
    }


if __name__ == "__main__":
    main()
