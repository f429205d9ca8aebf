"""How fast `manage.py import_leads` takes a broker's CSV file, against a same-run baseline.

Each run imports a fresh file of `--rows` leads (by default one row in ten repeats the person
before it, so merges are measured too) through the whole intake pipeline: normalising, matching,
de-duplicating, scoring, history. The baseline is the database's floor for per-row work: one
single-row INSERT per CSV row, in the same batched transactions, on the same connection.

    .venv/bin/python bench/import_leads.py [--rows 5000] [--runs 3] [--repeat-every 10]

Uses a fresh SQLite file unless DATABASE_URL is set (then that database; it adds rows to it).
Prints one JSON object. Target: at least 1,000 rows/s.
"""

import argparse
import csv
import json
import os
import statistics
import sys
import tempfile
import time
from io import StringIO
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

AREA_CODES = ["202", "312", "415", "512", "617", "713", "303", "206"]
MAKES = [("Toyota", "RAV4"), ("Honda", "CR-V"), ("Ford", "F-150"), ("Kia", "EV6")]
HEADER = ["external_id", "first_name", "last_name", "email", "phone", "vehicle_year",
          "vehicle_make", "vehicle_model", "purchase_horizon", "comments"]  # fmt: skip


def broker_file(path, run, rows, offset, repeat_every):
    with open(path, "w", newline="", encoding="utf-8") as file:
        writer = csv.writer(file)
        writer.writerow(HEADER)
        for n in range(rows):
            # Every `repeat_every`th row is the previous person again (a repeat inquiry); runs
            # never share a person.
            repeat = repeat_every and n % repeat_every == repeat_every - 1
            person = offset + (n - 1 if repeat else n)
            make, model = MAKES[n % len(MAKES)]
            writer.writerow([
                f"r{run}-{n}", "Ann", f"Lee{person}", f"ann{run}.{person}@example.com",
                f"+1{AREA_CODES[person % 8]}555{(person // 8) % 10000:04d}", 2025, make,
                model, "within_month", "",
            ])  # fmt: skip


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--repeat-every",
        type=int,
        default=10,
        help="every Nth row repeats the previous person (0: none)",
    )
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="dealercrm-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
    import django

    django.setup()
    import logging

    from django.core.management import call_command
    from django.db import connection

    logging.disable(logging.INFO)  # one log line per lead would time the terminal
    call_command("migrate", verbosity=0)

    import_seconds, baseline_seconds, outcomes = [], [], []
    for run in range(args.runs):
        path = Path(scratch) / f"broker-{run}.csv"
        broker_file(path, f"{os.getpid()}-{run}", args.rows, run * args.rows, args.repeat_every)
        out = StringIO()
        started = time.perf_counter()
        call_command("import_leads", str(path), "--source", "bench-broker", stdout=out)
        import_seconds.append(time.perf_counter() - started)
        outcomes.append(out.getvalue().splitlines()[-1])
        baseline_seconds.append(row_inserts_seconds(connection, args.rows))

    imported = statistics.median(import_seconds)
    baseline = statistics.median(baseline_seconds)
    print(
        json.dumps(
            {
                "benchmark": "import_leads",
                "database": connection.vendor,
                "rows_per_run": args.rows,
                "repeat_inquiry_every": args.repeat_every,
                "runs": args.runs,
                "outcomes": outcomes,
                "import_seconds": [round(s, 2) for s in import_seconds],
                "import_rows_per_second_median": round(args.rows / imported),
                "target_rows_per_second": 1000,
                "baseline": "one single-row INSERT per CSV row, batched transactions of 500",
                "baseline_seconds": [round(s, 3) for s in baseline_seconds],
                "baseline_rows_per_second_median": round(args.rows / baseline),
                "ratio_import_to_baseline_time": round(imported / baseline, 1),
            },
            indent=2,
        )
    )


def row_inserts_seconds(connection, rows):
    from django.db import transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_rows")
        cursor.execute(
            "CREATE TABLE bench_rows (a varchar(32), b varchar(100), c varchar(100),"
            " d varchar(254), e varchar(20), f integer, g varchar(50), h varchar(50))"
        )
    started = time.perf_counter()
    for batch in range(0, rows, 500):
        with transaction.atomic(), connection.cursor() as cursor:
            for n in range(batch, min(rows, batch + 500)):
                cursor.execute(
                    "INSERT INTO bench_rows VALUES (%s, %s, %s, %s, %s, %s, %s, %s)",
                    [f"r{n}", "Ann", f"Lee{n}", f"ann{n}@example.com", "+12025550143", 2025,
                     "Kia", "EV6"],
                )  # fmt: skip
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_rows")
    return elapsed


if __name__ == "__main__":
    main()
