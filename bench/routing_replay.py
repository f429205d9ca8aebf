"""How long a replay of 30 days of leads takes (the requirement: about 10,000 leads answer in
a few seconds), against a same-run baseline: reading the same leads with the replay's own
query and doing nothing with them. The ratio is the cost of deciding every lead again.

    .venv/bin/python bench/routing_replay.py [--leads 20000] [--runs 3]

The demo dealership (its people and eight routing rules) plus `--leads` bulk leads spread over
60 days, so about half fall in the 30 days replayed. Uses a fresh SQLite file unless
DATABASE_URL is set. Prints one JSON object.
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
    parser.add_argument("--leads", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="dealercrm-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
    import django

    django.setup()
    from datetime import timedelta

    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from leads.replay import _leads, routing_replay
    from routing.models import RoutingRule

    call_command("migrate", verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", "--leads", str(args.leads), stdout=StringIO())
    load_seconds = time.perf_counter() - started
    now = timezone.now()
    every_rule = list(RoutingRule.objects.values_list("pk", flat=True))

    active, draft, baseline = [], [], []
    result = None
    for _ in range(args.runs):
        started = time.perf_counter()
        list(_leads(now - timedelta(days=30), now))
        baseline.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = routing_replay(days=30, now=now)
        active.append(time.perf_counter() - started)
        started = time.perf_counter()
        routing_replay(days=30, rule_ids=every_rule, now=now)
        draft.append(time.perf_counter() - started)

    median = statistics.median
    print(
        json.dumps(
            {
                "benchmark": "routing replay of 30 days",
                "database": connection.vendor,
                "leads_in_database": args.leads + 320,
                "leads_replayed": result.leads,
                "rules": len(every_rule),
                "people": len(result.rows) - 1,
                "load_seconds": round(load_seconds, 1),
                "runs": args.runs,
                "replay_active_rules_seconds": [round(s, 2) for s in active],
                "replay_draft_all_rules_seconds": [round(s, 2) for s in draft],
                "replay_active_median_seconds": round(median(active), 2),
                "target_seconds": "a few (≈10,000 leads)",
                "baseline": "the replay's lead query alone, rows read and dropped",
                "baseline_seconds": [round(s, 2) for s in baseline],
                "ratio_replay_to_baseline": round(median(active) / median(baseline), 1),
            },
            indent=2,
            ensure_ascii=False,
        )
    )


if __name__ == "__main__":
    main()
