"""How fast `seed_demo --leads N` adds leads, against a same-run baseline.

The baseline is the database's own floor: one `executemany` of as many plain rows as the seed
writes (customers, leads and their history), into a scratch table on the same connection. The
ratio says how far the seed is from that floor, whatever this machine's speed is today.

    .venv/bin/python bench/seed_bulk.py [--leads 50000] [--runs 3]

Uses a fresh SQLite file unless DATABASE_URL is set (then that database; it adds rows to it).
Prints one JSON object.
"""

import argparse
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


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--leads", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="dealercrm-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from dealercrm.demo import DemoContext
    from leads import demo
    from leads.models import Customer, Lead, LeadEvent

    call_command("migrate", verbosity=0)
    call_command("seed_demo", stdout=StringIO())

    seed_seconds, rows_per_run = [], []
    for _ in range(args.runs):
        before = Customer.objects.count() + Lead.objects.count() + LeadEvent.objects.count()
        started = time.perf_counter()
        demo.add_bulk(
            DemoContext(now=timezone.now(), demo_users=False, bulk_leads=args.leads, log=str)
        )
        seed_seconds.append(time.perf_counter() - started)
        after = Customer.objects.count() + Lead.objects.count() + LeadEvent.objects.count()
        rows_per_run.append(after - before)

    rows = round(statistics.median(rows_per_run))
    baseline_seconds = [raw_insert_seconds(connection, rows) for _ in range(args.runs)]

    seed = statistics.median(seed_seconds)
    baseline = statistics.median(baseline_seconds)
    print(
        json.dumps(
            {
                "benchmark": "seed_demo --leads",
                "database": connection.vendor,
                "leads_per_run": args.leads,
                "rows_written_per_run": rows,
                "runs": args.runs,
                "seed_seconds": [round(s, 2) for s in seed_seconds],
                "seed_leads_per_minute_median": round(args.leads / seed * 60),
                "target_leads_per_minute": 50_000,
                "baseline": "executemany of the same number of 10-column rows",
                "baseline_seconds": [round(s, 2) for s in baseline_seconds],
                "baseline_rows_per_second_median": round(rows / baseline),
                "ratio_seed_to_baseline": round(seed / baseline, 2),
            },
            indent=2,
        )
    )


def raw_insert_seconds(connection, rows):
    from django.db import transaction
    from django.utils import timezone

    now = timezone.now()
    stamp = connection.ops.adapt_datetimefield_value(now)
    values = [(i, "status_changed", stamp, i % 50, "routing", "new", "contacted", i % 7, "", "")
              for i in range(rows)]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_rows")
        cursor.execute(
            "CREATE TABLE bench_rows (a bigint, b varchar(16), c timestamp, d bigint,"
            " e varchar(64), f varchar(16), g varchar(16), h bigint, i text, j text)"
        )
    started = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.executemany(
            "INSERT INTO bench_rows VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)", values
        )
    elapsed = time.perf_counter() - started
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE bench_rows")
    return elapsed


if __name__ == "__main__":
    main()
