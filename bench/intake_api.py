"""Sustained `POST /api/v1/leads/` through gunicorn on PostgreSQL, against a same-run baseline.

The baseline is a bare DRF create of one lead-shaped row (`bench/baseline/`: a ModelSerializer
and a CreateAPIView, token-authenticated like the intake). On this 2-core machine such an
endpoint does roughly 300-450 requests/s (PLATFORM.md). Both are served by one gunicorn (2 sync
workers, `bench.baseline.settings`, DEBUG off) from a throwaway PostgreSQL 15 cluster with
normal durability, and loaded by the same client: N threads, one HTTP connection each, every
request a new lead (unique external id, e-mail and phone), routed in the request by a round robin
over a team of ten salespeople, who close their leads between rounds. Rounds alternate baseline
and intake; each phase warms up, then measures. Targets: intake >= 50% of the baseline's
throughput with p99 <= 150 ms.

    .venv/bin/python bench/intake_api.py [--seconds 20] [--runs 3] [--clients 8]

Client, server and database share the machine's cores, as in PLATFORM.md's figures: compare
within one run. Needs root (the cluster runs as the postgres OS user) or a user that may run
initdb. Prints one JSON object; progress goes to stderr. Exits 1 when an endpoint does not answer
201 before the load starts (the gunicorn log tail says why).
"""

import argparse
import contextlib
import http.client
import itertools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg import postmaster_pid, throwaway_postgres  # noqa: E402

BASELINE_PATH = "/bench/baseline/leads/"
INTAKE_PATH = "/api/v1/leads/"
WORKERS = 2
TARGET_THROUGHPUT_RATIO = 0.5
# People the round-robin rule of the benchmark takes turns between.
ROUTED_SELLERS = 10
TARGET_P99_MS = 150

# Every n gets its own valid US number: 5 area codes x 792 exchanges (N11 left out) x 10,000
# lines. Checked against phonenumbers' metadata before the load (see check_phones).
AREAS = (202, 312, 415, 617, 718)
EXCHANGES = tuple(e for e in range(201, 1000) if e % 100 != 11)


def progress(line):
    print(line, file=sys.stderr, flush=True)


def phone(n):
    rest = n // len(AREAS)
    exchange = EXCHANGES[rest // 10_000 % len(EXCHANGES)]
    return f"+1{AREAS[n % len(AREAS)]}{exchange}{rest % 10_000:04d}"


def lead_body(n):
    return json.dumps(
        {
            "source": "website",
            "external_id": f"bench-{n}",
            "first_name": "Ann",
            "last_name": f"Lee{n}",
            "email": f"ann{n}@example.com",
            "phone": phone(n),
            "vehicle": {"year": 2025, "make": "Toyota", "model": "RAV4", "condition": "new"},
            "purchase_horizon": "within_month",
            "visitor_id": f"v-{n}",
        }
    ).encode()


def check_phones(upto):
    """An invalid number would not fail the request (the lead is kept and flagged), it would
    silently change the work measured; so refuse to start instead."""
    import phonenumbers

    bad = [
        phone(n)
        for n in range(0, upto, 97)
        if not phonenumbers.is_valid_number(phonenumbers.parse(phone(n)))
    ]
    if bad:
        raise RuntimeError(f"The phone generator makes invalid numbers, e.g. {bad[:3]}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=20, help="measured seconds per phase")
    parser.add_argument("--runs", type=int, default=3, help="rounds of baseline + intake")
    parser.add_argument("--clients", type=int, default=8, help="concurrent connections")
    parser.add_argument("--warmup", type=float, default=3, help="unmeasured seconds per phase")
    args = parser.parse_args()

    # So that `kill` goes through the same cleanup as Ctrl-C.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    check_phones(upto=int(2_000 * (args.seconds + args.warmup) * args.runs * 2))
    try:
        result = run(args)
    except ServerError as error:
        progress(str(error))
        sys.exit(1)
    except KeyboardInterrupt:
        progress("interrupted; stopped gunicorn and PostgreSQL")
        sys.exit(130)
    print(json.dumps(result, indent=2))


class ServerError(RuntimeError):
    pass


def run(args):
    with contextlib.ExitStack() as stack:
        database_url = stack.enter_context(throwaway_postgres(log=progress))
        os.environ.update(
            DJANGO_SETTINGS_MODULE="bench.baseline.settings",
            DATABASE_URL=database_url,
            DEBUG="false",
            SECRET_KEY="bench",
            ALLOWED_HOSTS="127.0.0.1,localhost",
            # Loopback HTTP: production sits behind a TLS proxy; the redirect would answer 301.
            SECURE_SSL_REDIRECT="false",
        )
        database = prepare_database()
        scratch = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="bench-gunicorn.")))
        port = free_port()
        server = stack.enter_context(gunicorn(port, scratch / "gunicorn.log"))
        key = database["token"]
        counter = itertools.count()
        pids = (server.process.pid, postmaster_pid(database_url))
        for path in (BASELINE_PATH, INTAKE_PATH):
            preflight(port, path, key, counter, server)

        phases = {BASELINE_PATH: [], INTAKE_PATH: []}
        for round_ in range(1, args.runs + 1):
            for path in (BASELINE_PATH, INTAKE_PATH):
                if path == INTAKE_PATH:
                    work_the_leads()
                phase = load(port, path, key, counter, args, pids)
                phases[path].append(phase)
                progress(
                    f"round {round_}/{args.runs} {path}: {phase['requests_per_second']} req/s, "
                    f"p50 {phase['p50_ms']} ms, p99 {phase['p99_ms']} ms, "
                    f"errors {phase['errors']}, server CPU {phase['server_cpu_ms_per_request']} "
                    f"ms/request, % of machine {phase['cpu_pct_of_machine']}"
                )

        rows = count_rows()
        error_samples = [s for p in phases.values() for phase in p for s in phase["error_samples"]]
        if error_samples:
            progress(f"gunicorn log tail:\n{server.log_tail()}")
        baseline = summary(phases[BASELINE_PATH], "requests")
        intake = summary(phases[INTAKE_PATH], "leads")
        base = baseline["requests_per_second_median"]
        ratio = round(intake["leads_per_second_median"] / base, 2) if base else 0
        errors = baseline["errors_total"] + intake["errors_total"]
        other = round(
            statistics.median(
                phase["cpu_pct_of_machine"]["other"] for p in phases.values() for phase in p
            ),
            1,
        )
        created = {
            path: sum(phase["all_statuses"].get("201", 0) for phase in p) + 1
            for path, p in phases.items()
        }
        return {
            "benchmark": "POST /api/v1/leads/ vs a bare DRF create, gunicorn on PostgreSQL",
            "database": f"PostgreSQL {database['version']}, fsync and synchronous_commit on",
            "server": f"gunicorn {server.version}, {WORKERS} sync workers, 127.0.0.1, "
            "bench.baseline.settings",
            "debug": False,
            "conn_max_age": database["conn_max_age"],
            "connections": "one per client; gunicorn's sync workers close after each response, "
            "so each request opens a new TCP connection",
            "clients": args.clients,
            "seconds": args.seconds,
            "warmup_seconds": args.warmup,
            "runs": args.runs,
            "baseline": {"endpoint": f"POST {BASELINE_PATH}", **baseline},
            "intake": {"endpoint": f"POST {INTAKE_PATH}", **intake},
            "ratio_intake_to_baseline_throughput": ratio,
            # What the ratio would be with the cores to themselves and CPU the bottleneck
            # (gunicorn + PostgreSQL CPU per baseline request / per lead).
            "ratio_cpu_per_request_baseline_to_intake": round(
                baseline["server_cpu_ms_per_request_median"]
                / max(0.01, intake["server_cpu_ms_per_request_median"]),
                2,
            ),
            "target_throughput_ratio": TARGET_THROUGHPUT_RATIO,
            "target_p99_ms": TARGET_P99_MS,
            "throughput_target_met": ratio >= TARGET_THROUGHPUT_RATIO,
            "p99_target_met": intake["p99_ms_median"] <= TARGET_P99_MS,
            "errors": errors,
            "targets_met": ratio >= TARGET_THROUGHPUT_RATIO
            and intake["p99_ms_median"] <= TARGET_P99_MS
            and errors == 0,
            "error_samples": error_samples[:10],
            "other_cpu_pct_of_machine_median": other,
            "warnings": warnings(errors, other, created, rows),
            # Every 201 made exactly one row (warm-ups and the preflight request included).
            "rows_check": {
                "baseline_201s": created[BASELINE_PATH],
                "baseline_rows": rows["baseline"],
                "intake_201s": created[INTAKE_PATH],
                "leads": rows["leads"],
                "leads_with_contact_issues": rows["leads_with_contact_issues"],
            },
        }


def warnings(errors, other_cpu, created, rows):
    found = []
    if errors:
        found.append(f"{errors} answers in the measured windows were not 2xx (error_samples).")
    if other_cpu > 10:
        found.append(
            f"Other processes used a median {other_cpu}% of the machine while measuring: "
            "absolute figures are depressed, compare within this run."
        )
    if (created[BASELINE_PATH], created[INTAKE_PATH]) != (rows["baseline"], rows["leads"]):
        found.append("The number of 201 answers differs from the number of rows created.")
    if rows["leads_unrouted"]:
        found.append("Some leads were not routed to a salesperson.")
    if rows["leads_with_contact_issues"]:
        found.append("Some leads have contact issues: the generated e-mail or phone was refused.")
    return found


def prepare_database():
    """Migrate (with --run-syncdb for the baseline's table), make the lead provider's token.
    Runs in this process; the connection is closed before gunicorn starts."""
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from dealercrm.models import Role, Team
    from dealercrm.services import staff_create
    from routing.models import Strategy
    from routing.services import rule_create

    progress("migrating")
    call_command("migrate", run_syncdb=True, verbosity=0)
    user = staff_create(username="bench-provider", role=Role.LEAD_PROVIDER)
    # Every lead is routed in the request, as in production: a round robin over a team.
    team = Team.objects.create(name="Bench sellers")
    for n in range(ROUTED_SELLERS):
        staff_create(
            username=f"bench-seller-{n}", role=Role.SALESPERSON, team=team, capacity=1_000_000
        )
    rule_create(by="bench", name="Bench round robin", strategy=Strategy.ROUND_ROBIN, team=team)
    token = Token.objects.create(user=user).key
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    connection.close()
    return {
        "token": token,
        "version": version,
        "conn_max_age": settings.DATABASES["default"]["CONN_MAX_AGE"],
    }


def work_the_leads():
    """Between intake phases, the sellers close what they were given, as they do in a
    dealership whose people hold a few dozen open leads each: otherwise every round would route
    against thousands of open leads per person, which capacity never allows."""
    from django.db import connection
    from django.utils import timezone

    from leads.models import Lead, LeadStatus

    Lead.objects.filter(status=LeadStatus.NEW).update(
        status=LeadStatus.LOST, closed_at=timezone.now()
    )
    connection.close()


def count_rows():
    from django.db import connection

    from bench.baseline.models import BaselineLead
    from leads.models import Lead

    rows = {
        "baseline": BaselineLead.objects.count(),
        "leads": Lead.objects.count(),
        "leads_unrouted": Lead.objects.filter(owner__isnull=True).count(),
        "leads_with_contact_issues": Lead.objects.exclude(contact_issues=[]).count(),
    }
    connection.close()
    return rows


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, process, log_path):
        self.process = process
        self.log_path = log_path
        self.version = ""

    def log_tail(self, chars=6000):
        with contextlib.suppress(OSError):
            return self.log_path.read_text(errors="replace")[-chars:]
        return ""


@contextlib.contextmanager
def gunicorn(port, log_path):
    """gunicorn as production would run it, in its own session so that a Ctrl-C reaches only
    this script, which then stops it."""
    import gunicorn as gunicorn_package

    command = [
        sys.executable, "-m", "gunicorn", "dealercrm.wsgi:application",
        "--workers", str(WORKERS), "--worker-class", "sync", "--no-control-socket",
        "--bind", f"127.0.0.1:{port}", "--error-logfile", "-",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(process, log_path)
    server.version = gunicorn_package.__version__
    try:
        wait_until_answering(server, port)
        progress(f"gunicorn {server.version} answering on 127.0.0.1:{port}")
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_until_answering(server, port, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise ServerError(
                f"gunicorn exited ({server.process.returncode}):\n{server.log_tail()}"
            )
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
        try:
            conn.request("GET", BASELINE_PATH)
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
        finally:
            conn.close()
    raise ServerError(f"gunicorn did not answer within {timeout} s:\n{server.log_tail()}")


def headers(key):
    return {"Authorization": f"Token {key}", "Content-Type": "application/json"}


def preflight(port, path, key, counter, server):
    """One request each before the load, so that a broken endpoint fails loudly, not as a
    benchmark of error pages."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        conn.request("POST", path, lead_body(next(counter)), headers(key))
        response = conn.getresponse()
        body = response.read().decode(errors="replace")
    finally:
        conn.close()
    if response.status != 201:
        raise ServerError(
            f"POST {path} answered {response.status}, not 201: {body[:2000]}\n"
            f"gunicorn log tail:\n{server.log_tail()}"
        )


def load(port, path, key, counter, args, pids):
    """`args.clients` threads post leads for warm-up + measured seconds; the figures cover the
    responses that arrived inside the measured window. `pids`: gunicorn's and the postmaster's,
    to split the CPU time."""
    request_headers = headers(key)
    results = [[] for _ in range(args.clients)]
    samples = []
    ready = threading.Barrier(args.clients + 1)
    clock = {}

    def client(out):
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        ready.wait()
        end = clock["end"]
        while True:
            body = lead_body(next(counter))
            started = time.perf_counter()
            if started >= end:
                break
            try:
                conn.request("POST", path, body, request_headers)
                response = conn.getresponse()
                answer = response.read()
                status = response.status
            except (OSError, http.client.HTTPException) as error:
                conn.close()
                answer, status = repr(error).encode(), type(error).__name__
            finished = time.perf_counter()
            out.append((finished, finished - started, status))
            if not (isinstance(status, int) and 200 <= status < 300) and len(samples) < 5:
                samples.append(f"{status}: {answer[:300].decode(errors='replace')}")
        conn.close()

    threads = [threading.Thread(target=client, args=(out,), daemon=True) for out in results]
    for thread in threads:
        thread.start()
    start = time.perf_counter()
    clock["measure"] = start + args.warmup
    clock["end"] = clock["measure"] + args.seconds
    ready.wait()
    time.sleep(max(0, clock["measure"] - time.perf_counter()))
    cpu_before = cpu_snapshot()
    time.sleep(max(0, clock["end"] - time.perf_counter()))
    cpu_after = cpu_snapshot()
    for thread in threads:
        thread.join()

    everything = [r for out in results for r in out]
    measured = [r for r in everything if clock["measure"] <= r[0] <= clock["end"]]
    latencies = sorted(r[1] for r in measured)
    shares, used = cpu_shares(cpu_before, cpu_after, *pids)
    ok = sum(1 for r in measured if isinstance(r[2], int) and 200 <= r[2] < 300)
    return {
        "requests_per_second": round(len(measured) / args.seconds, 1),
        "ok_per_second": round(ok / args.seconds, 1),
        "p50_ms": percentile_ms(latencies, 50),
        "p99_ms": percentile_ms(latencies, 99),
        "errors": len(measured) - ok,
        "statuses": dict(Counter(str(r[2]) for r in measured)),
        "all_statuses": dict(Counter(str(r[2]) for r in everything)),
        "cpu_pct_of_machine": shares,
        # CPU time per answer, whoever else was busy: the figure that survives a shared machine.
        "server_cpu_ms_per_request": round(
            1000
            * (used["gunicorn"] + used["postgres"])
            / os.sysconf("SC_CLK_TCK")
            / max(1, len(measured)),
            2,
        ),  # fmt: skip
        "error_samples": samples,
    }


def percentile_ms(seconds, pct):
    """Nearest-rank percentile of a list of durations in seconds, in milliseconds."""
    if not seconds:
        return None
    ordered = sorted(seconds)
    rank = max(1, -(-len(ordered) * pct // 100))
    return round(ordered[int(rank) - 1] * 1000, 1)


def cpu_snapshot():
    """Busy and total jiffies of the whole machine (/proc/stat), and per process
    (ppid, process group, session, user + system jiffies)."""
    with open("/proc/stat") as f:
        fields = [int(v) for v in f.readline().split()[1:]]
    processes = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                with open(f"/proc/{entry.name}/stat") as f:
                    rest = f.read().rsplit(")", 1)[1].split()
                processes[int(entry.name)] = (
                    int(rest[1]),
                    int(rest[2]),
                    int(rest[3]),
                    int(rest[11]) + int(rest[12]),
                )
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields), processes


def cpu_shares(before, after, gunicorn_pid, postmaster_pid):
    """Percent of the machine's capacity (all cores) used while measuring, split between this
    client, gunicorn's processes, the PostgreSQL cluster and everything else (other work on the
    machine, processes that exited, the kernel's network work)."""
    total = max(1, after[1] - before[1])
    used = {"client": 0, "gunicorn": 0, "postgres": 0}
    for pid, (ppid, pgrp, _session, jiffies) in after[2].items():
        if pid == os.getpid():
            group = "client"
        elif pgrp == gunicorn_pid:
            group = "gunicorn"
        elif postmaster_pid in (pid, ppid):
            group = "postgres"
        else:
            continue
        used[group] += jiffies - before[2].get(pid, (0, 0, 0, 0))[3]
    busy = after[0] - before[0]
    shares = {name: round(100 * value / total, 1) for name, value in used.items()}
    shares["other"] = round(100 * (busy - sum(used.values())) / total, 1)
    shares["busy"] = round(100 * busy / total, 1)
    return shares, used


def summary(phases, unit):
    """Per-run figures and their medians. `unit` names the throughput: 2xx answers per second
    (requests for the baseline, leads for the intake)."""
    throughput = [phase["ok_per_second"] for phase in phases]
    p50 = [phase["p50_ms"] for phase in phases]
    p99 = [phase["p99_ms"] for phase in phases]
    return {
        f"{unit}_per_second": throughput,
        "p50_ms": p50,
        "p99_ms": p99,
        "errors": [phase["errors"] for phase in phases],
        "statuses": [phase["statuses"] for phase in phases],
        "cpu_pct_of_machine": [phase["cpu_pct_of_machine"] for phase in phases],
        "server_cpu_ms_per_request": [phase["server_cpu_ms_per_request"] for phase in phases],
        f"{unit}_per_second_median": round(statistics.median(throughput), 1),
        "p50_ms_median": round(statistics.median(p50), 1),
        "p99_ms_median": round(statistics.median(p99), 1),
        "server_cpu_ms_per_request_median": round(
            statistics.median(phase["server_cpu_ms_per_request"] for phase in phases), 2
        ),
        "errors_total": sum(phase["errors"] for phase in phases),
    }


if __name__ == "__main__":
    main()
