"""`make bench`: every benchmark of the product at its required size on PostgreSQL, one JSON
report.

Each benchmark builds the data its requirement names, in the shape that requirement is about, on
a throwaway PostgreSQL 15 cluster with normal durability, and measures its figure against a
baseline taken in the same run (turns alternate, because this machine's speed varies by ±40%):

- lead reports: 1,000,000 leads over three years, 200 staff;
- stale sweep: 1,000,000 leads and 10,000,000 website events, 200 staff;
- service KPIs: 500,000 service opportunities;
- routing decision: 200 staff at 10,000 and 1,000,000 leads;
- my queue at 10,000 and 100,000 leads; intake through gunicorn; CSV import, bulk seed and the
  routing replay on a PostgreSQL cluster this runner starts.

They run one after another, never two at once (each loads both cores). The report lists, for
every figure: its value, the baseline, the ratio, the target and whether it is met; each
benchmark's whole output is kept under `raw`, and its progress goes to `bench/out/<name>.log`.

    .venv/bin/python bench/all.py [--quick] [--only NAME ...] [--output bench/out/report.json]

`--quick` runs every benchmark at a tenth of the size or less: a check that they all work (a
few minutes), not figures to quote. Exits 1 when a benchmark fails or a target is missed.
"""

import argparse
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PYTHON = sys.executable
OUT = ROOT / "bench" / "out"


def figure(name, value, unit, *, baseline=None, ratio=None, target=None, met=None, note=""):
    return {
        "figure": name,
        "value": value,
        "unit": unit,
        "baseline": baseline,
        "ratio": ratio,
        "target": target,
        "met": met,
        **({"note": note} if note else {}),
    }


def lead_reports_figures(r):
    base = r["baseline_ms"]["median_ms"]
    rows = []
    for key, variants in r["reports"].items():
        page = variants["page"]
        rows.append(
            figure(
                f"lead report {key}: page p90",
                page.get("p90_ms"),
                "ms",
                baseline=base,
                ratio=page.get("ratio"),
                target="<= 1000 ms at p90",
                met=page.get("within_target"),
            )
        )
    slowest = r["slowest"] or {}
    rows.append(
        figure(
            "lead reports: slowest of every page, CSV, API and filtered page (p90)",
            slowest.get("p90_ms"),
            "ms",
            baseline=base,
            ratio=slowest.get("ratio"),
            target="<= 1000 ms at p90",
            met=r["all_within_target"],
            note=f"{slowest.get('report')} {slowest.get('variant')}",
        )
    )
    return rows


def lifecycle_sweeps_figures(r):
    return [
        figure(
            "stale sweep",
            r["sweep_seconds_median"],
            "s",
            baseline=r["baseline_seconds_median"],
            ratio=r["ratio_sweep_to_baseline"],
            target=f"<= {r['target_ratio']}x the bare SQL",
            met=r["ok"]["ratio_within_target"],
        ),
        figure(
            "stale sweep with nothing new",
            r["second_run_seconds_median"],
            "s",
            target=f"< {r['target_second_run_seconds']} s",
            met=r["ok"]["second_run_within_target"],
        ),
    ]


def service_kpis_figures(r):
    return [
        figure(
            f"service KPIs {name}: median",
            r[name]["median_ms"],
            "ms",
            baseline=r["baseline"]["median_ms"],
            ratio=r[name]["ratio_median_to_baseline"],
            **(
                {"target": f"<= {r['target_page_server_ms']} ms at p90", "met": r["meets_target"]}
                if name == "page"
                else {}
            ),
        )
        for name in r["ratios_median_to_baseline"]
    ]


def routing_decision_figures(r):
    large = r["sizes"][max(r["sizes"], key=lambda label: r["sizes"][label]["leads"])]
    return [
        figure(
            "routing decision p50, largest lead table ÷ smallest",
            r["ratio_p50"],
            "ratio",
            baseline=r["baseline_ratio_p50"],
            ratio=r["ratio_p50"],
            target=f"<= {r['target_ratio_p50']}",
            met=r["pass"],
            note="baseline: the same ratio for a primary-key SELECT",
        ),
        figure(
            "routing decision p50 at the largest lead table",
            large["decision_ms"]["p50"],
            "ms",
            baseline=large["pk_select_ms"]["p50"],
            ratio=round(large["decision_ms"]["p50"] / large["pk_select_ms"]["p50"], 1),
        ),
    ]


def queue_page_figures(r):
    large = r["large"]
    return [
        figure(
            "my queue at the larger lead table: p95",
            large["server_ms_p95"],
            "ms",
            baseline=large["baseline_ms_median"],
            ratio=large["ratio_server_to_baseline"],
            target=f"<= {r['target_server_ms']} ms at p95",
            met=r["meets_target"],
        ),
        figure(
            "my queue: queries at both sizes",
            large["queries"],
            "queries",
            target="the same at both sizes",
            met=r["queries_constant"],
        ),
    ]


def intake_api_figures(r):
    intake, baseline = r["intake"], r["baseline"]
    return [
        figure(
            "lead intake through gunicorn: throughput",
            intake["leads_per_second_median"],
            "leads/s",
            baseline=baseline["requests_per_second_median"],
            ratio=r["ratio_intake_to_baseline_throughput"],
            target=f">= {r['target_throughput_ratio']} of a bare DRF create",
            met=r["throughput_target_met"],
        ),
        figure(
            "lead intake through gunicorn: p99",
            intake["p99_ms_median"],
            "ms",
            baseline=baseline["p99_ms_median"],
            ratio=round(intake["p99_ms_median"] / baseline["p99_ms_median"], 1),
            target=f"<= {r['target_p99_ms']} ms",
            met=r["p99_target_met"],
        ),
    ]


def import_leads_figures(r):
    value = r["import_rows_per_second_median"]
    return [
        figure(
            "CSV import",
            value,
            "rows/s",
            baseline=r["baseline_rows_per_second_median"],
            ratio=r["ratio_import_to_baseline_time"],
            target=f">= {r['target_rows_per_second']} rows/s",
            met=value >= r["target_rows_per_second"],
            note="ratio: import time ÷ baseline time",
        )
    ]


def seed_bulk_figures(r):
    value = r["seed_leads_per_minute_median"]
    return [
        figure(
            "bulk seed",
            value,
            "leads/min",
            baseline=r["baseline_rows_per_second_median"],
            ratio=r["ratio_seed_to_baseline"],
            target=f">= {r['target_leads_per_minute']} leads/min",
            met=value >= r["target_leads_per_minute"],
            note="baseline in rows/s; ratio: seed time ÷ baseline time",
        )
    ]


# "A few seconds" for a replay of about 10,000 leads.
REPLAY_TARGET_SECONDS = 5


def routing_replay_figures(r):
    value = r["replay_active_median_seconds"]
    baseline = sorted(r["baseline_seconds"])[len(r["baseline_seconds"]) // 2]
    return [
        figure(
            f"routing replay of 30 days ({r['leads_replayed']:,} leads)",
            value,
            "s",
            baseline=baseline,
            ratio=r["ratio_replay_to_baseline"],
            target=f"<= {REPLAY_TARGET_SECONDS} s",
            met=value <= REPLAY_TARGET_SECONDS,
        )
    ]


@dataclass
class Benchmark:
    name: str
    script: str
    args: list
    quick_args: list
    figures: object
    # Benchmarks that start no database of their own run on one this runner starts.
    needs_database: bool = False
    env: dict = field(default_factory=dict)


BENCHMARKS = [
    Benchmark("lead_reports", "lead_reports.py", ["--turns", "7"], ["--quick", "--turns", "3"],
              lead_reports_figures),
    Benchmark("lifecycle_sweeps", "lifecycle_sweeps.py", ["--staff", "200"],
              ["--leads", "100000", "--events", "1000000", "--repeat", "3"],
              lifecycle_sweeps_figures),
    Benchmark("service_kpis", "service_kpis.py", [],
              ["--opportunities", "50000", "--customers", "10000", "--turns", "5"],
              service_kpis_figures),
    Benchmark("routing_decision", "routing_decision.py", [],
              ["--large", "100000", "--decisions", "500"], routing_decision_figures),
    Benchmark("queue_page", "queue_page.py", [], ["--large", "30000", "--requests", "20"],
              queue_page_figures),
    Benchmark("intake_api", "intake_api.py", [], ["--seconds", "5", "--runs", "1"],
              intake_api_figures),
    Benchmark("import_leads", "import_leads.py", [], ["--rows", "1000", "--runs", "1"],
              import_leads_figures, needs_database=True),
    Benchmark("seed_bulk", "seed_bulk.py", [], ["--leads", "5000", "--runs", "1"],
              seed_bulk_figures, needs_database=True),
    Benchmark("routing_replay", "routing_replay.py", [], ["--leads", "5000", "--runs", "1"],
              routing_replay_figures, needs_database=True),
]  # fmt: skip


def log(line):
    print(line, file=sys.stderr, flush=True)


def run_one(benchmark, quick, database_url):
    """Run one benchmark in its own process; (its JSON or None, seconds, error text)."""
    command = [PYTHON, str(ROOT / "bench" / benchmark.script)]
    command += benchmark.quick_args if quick else benchmark.args
    env = {**os.environ, **benchmark.env}
    env.pop("DATABASE_URL", None)
    if benchmark.needs_database:
        env["DATABASE_URL"] = fresh_database(database_url, f"bench_{benchmark.name}")
    log_path = OUT / f"{benchmark.name}.log"
    started = time.monotonic()
    with open(log_path, "w") as progress:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=progress, text=True
        )
    seconds = round(time.monotonic() - started, 1)
    if done.returncode != 0:
        tail = log_path.read_text().splitlines()[-15:]
        return None, seconds, f"exit {done.returncode}: " + "\n".join(tail)
    return json.loads(done.stdout), seconds, ""


def database_for_small_benchmarks():
    """A throwaway PostgreSQL for the benchmarks that bring no database (each gets its own
    database on it, which it migrates)."""
    from bench.pg import throwaway_postgres

    return throwaway_postgres(log=log)


def fresh_database(database_url, name):
    """An empty database `name` on the cluster of `database_url`, and its URL: each benchmark
    measures its own rows (the routing replay replays whatever leads are there)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as db:
        db.execute(f'DROP DATABASE IF EXISTS "{name}"')
        db.execute(f'CREATE DATABASE "{name}"')
    return database_url.rsplit("/", 1)[0] + "/" + name


def machine():
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_average_at_start": [round(value, 2) for value in os.getloadavg()],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run")
    parser.add_argument("--only", nargs="+", choices=[b.name for b in BENCHMARKS])
    parser.add_argument("--output", type=Path, default=OUT / "report.json")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    chosen = [b for b in BENCHMARKS if not args.only or b.name in args.only]

    report = {
        "what": "every dealercrm benchmark, each figure with its same-run baseline and ratio",
        "size": "quick (a smoke run, not figures to quote)" if args.quick else "required",
        "machine": machine(),
        "benchmarks": {},
    }
    started = time.monotonic()
    with database_for_small_benchmarks() as database_url:
        for benchmark in chosen:
            log(f"== {benchmark.name} (progress in bench/out/{benchmark.name}.log)")
            result, seconds, error = run_one(benchmark, args.quick, database_url)
            entry = {"seconds": seconds}
            if result is None:
                entry.update(ok=False, error=error, figures=[])
            else:
                try:
                    figures = benchmark.figures(result)
                except (KeyError, TypeError, ValueError) as exc:
                    # The benchmark's output changed shape: keep it, say which figure is missing.
                    figures, error = [], f"reading its figures: {exc!r}"
                entry.update(
                    ok=not error and all(f["met"] is not False for f in figures),
                    figures=figures,
                    raw=result,
                    **({"error": error} if error else {}),
                )
            report["benchmarks"][benchmark.name] = entry
            for line in entry["figures"]:
                log(f"   {line['figure']}: {line['value']} {line['unit']} (met: {line['met']})")
            if error:
                log(f"   FAILED: {error}")
    report["seconds"] = round(time.monotonic() - started)
    report["machine"]["load_average_at_end"] = [round(value, 2) for value in os.getloadavg()]
    report["all_ok"] = all(entry["ok"] for entry in report["benchmarks"].values())
    report["summary"] = [
        {"benchmark": name, **line}
        for name, entry in report["benchmarks"].items()
        for line in entry["figures"]
    ]
    args.output.write_text(json.dumps(report, indent=2, default=str))
    print(json.dumps({k: v for k, v in report.items() if k != "benchmarks"}, indent=2))
    log(f"whole report (with each benchmark's raw output): {args.output}")
    sys.exit(0 if report["all_ok"] else 1)


if __name__ == "__main__":
    main()
