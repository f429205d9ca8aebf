"""My queue's server time and query count at two sizes of the lead table, in one run.

The requirement: with 100,000 leads in the database the queue runs a constant number of
queries and renders in at most 150 ms of server time.

This starts a throwaway PostgreSQL cluster, creates `--staff` salespeople, and loads `--small`
leads with their follow-up tasks in set-wise SQL (the plan's 16 steps for every contacted lead;
done or cancelled for closed ones), then measures; then grows the tables to `--large` leads and
measures again. The person measured holds `--open` open leads at both sizes (open leads are work
a person holds, bounded by capacity: a larger table means more history, not more open leads).

Server time is the whole request through Django's test client in this process (middleware,
session, the view, the template), without a network. The baseline, measured in the same run and
in alternating turns, is the database's own share: the very SQL statements the page ran,
executed raw on the same connection. Their ratio says what Django and the template add.

    .venv/bin/python bench/queue_page.py [--small 10000] [--large 100000] [--staff 50]
        [--open 60] [--requests 60]

Prints one JSON object; progress goes to stderr.
"""

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.pg import throwaway_postgres  # noqa: E402

TARGET_MS = 150


def log(line):
    print(line, file=sys.stderr, flush=True)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=10_000)
    parser.add_argument("--large", type=int, default=100_000)
    parser.add_argument("--staff", type=int, default=50)
    parser.add_argument("--open", type=int, default=60)
    parser.add_argument("--requests", type=int, default=60)
    args = parser.parse_args()
    with throwaway_postgres(log=log) as database_url:
        os.environ["DATABASE_URL"] = database_url
        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dealercrm.settings")
        # The measured requests must not pay for console logging of every request.
        os.environ.setdefault("LOG_LEVEL", "WARNING")
        import django

        django.setup()
        print(json.dumps(run(args), indent=2))


def run(args):
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    people = staff_setup(args.staff)
    person = people[0]
    log(f"loading {args.small:,} leads")
    leads_load(args.small - args.open, people, person, args.open, first_id=1)
    small = measure(person, args.requests)
    log(f"growing to {args.large:,} leads")
    leads_load(args.large - args.small, people, person, 0, first_id=args.small + 1)
    large = measure(person, args.requests)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        (leads,) = cursor.fetchone()
        cursor.execute("SELECT count(*) FROM leads_followuptask")
        (tasks,) = cursor.fetchone()
        cursor.execute("SHOW server_version")
        (version,) = cursor.fetchone()
    return {
        "benchmark": "my queue page: server time and queries",
        "database": f"PostgreSQL {version} (throwaway cluster, default settings, durable)",
        "rows_at_large": {"leads": leads, "followup_tasks": tasks},
        "open_leads_of_the_person": args.open,
        "requests_per_size": args.requests,
        "small": small,
        "large": large,
        "queries_constant": small["queries"] == large["queries"],
        "ratio_large_to_small_server_ms_median": round(
            large["server_ms_median"] / small["server_ms_median"], 2
        ),
        "target_server_ms": TARGET_MS,
        "meets_target": large["server_ms_p95"] <= TARGET_MS,
    }


def staff_setup(count):
    from dealercrm.models import Role, Team
    from dealercrm.services import staff_create

    team = Team.objects.create(name="Sales")
    return [
        staff_create(
            username=f"seller{n}",
            role=Role.SALESPERSON,
            team=team,
            first_name="Seller",
            last_name=str(n),
            capacity=1000,
        )
        for n in range(count)
    ]


def leads_load(count, people, person, open_count, first_id):
    """`count` leads with ids from `first_id`, spread over `people`: 8% still open, the rest
    closed history; `open_count` more open leads for `person`, of every kind of urgency. Every
    lead past new has its follow-up plan (open tasks while the lead is open)."""
    from django.db import connection, transaction

    owners = "ARRAY[" + ",".join(str(p.pk) for p in people) + "]::bigint[]"
    # The person's open leads are only those given to them below; their closed history grows
    # with the table like everyone's.
    others = "ARRAY[" + ",".join(str(p.pk) for p in people if p != person) + "]::bigint[]"
    last = first_id + count + open_count - 1
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO dealercrm_customer (id, first_name, last_name, email, phone,
                postal_code, preferred_contact, consent_email, consent_sms, consent_phone,
                created_at, updated_at)
            SELECT n, 'Customer', n::text, 'c' || n || '@example.com',
                   '+1202' || lpad((n %% 10000000)::text, 7, '0'), '', 'any', true, true, true,
                   now(), now()
            FROM generate_series(%s, %s) AS n
            """,
            [first_id, last],
        )
        # Statuses: of the table's leads 8% open (spread over the four open statuses), the
        # rest sold, lost or disqualified; the person's own open leads come last.
        cursor.execute(
            f"""
            INSERT INTO leads_lead (id, customer_id, source, channel, external_id, vehicle_make,
                vehicle_model, vehicle_trim, vehicle_vin, vehicle_stock, vehicle_condition,
                tradein_make, tradein_model, tradein_vin, purchase_horizon, comments, score,
                score_factors, contact_issues, status, owner_id, team_id, created_at,
                assigned_at, first_response_due_at, first_contacted_at, routing,
                last_activity_at, status_changed_at, closed_at, updated_at, resurfaced_at)
            SELECT n, n, 'website', 'web_form', '', 'Toyota', 'RAV4', '', '', '', 'new', '', '',
                '', '', '', (n * 37) %% 101, '[]', '[]', s.status,
                CASE WHEN n > %(last_history)s THEN %(person)s
                     WHEN s.status IN ('sold', 'lost', 'disqualified')
                         THEN ({owners})[1 + n %% array_length({owners}, 1)]
                     ELSE ({others})[1 + n %% array_length({others}, 1)] END,
                %(team)s, now() - (n %% 60) * interval '1 day', now(),
                CASE WHEN s.status = 'new' THEN now() + (n %% 30) * interval '1 minute' END,
                CASE WHEN s.status <> 'new' THEN now() - (n %% 60) * interval '1 day' END,
                '{{}}', now() - (n %% 20) * interval '1 day', now(),
                CASE WHEN s.status IN ('sold', 'lost', 'disqualified') THEN now() END, now(),
                CASE WHEN n > %(last_history)s AND n %% 10 = 0 THEN now() END
            FROM generate_series(%(first)s, %(last)s) AS n
            CROSS JOIN LATERAL (SELECT CASE
                WHEN n > %(last_history)s THEN (ARRAY['new', 'contacted', 'qualified',
                    'appointment'])[1 + n %% 4]
                WHEN n %% 100 < 8 THEN (ARRAY['new', 'contacted', 'qualified',
                    'appointment'])[1 + n %% 4]
                ELSE (ARRAY['sold', 'lost', 'lost', 'disqualified'])[1 + n %% 4] END AS status
            ) AS s
            """,
            {
                "first": first_id,
                "last": last,
                "last_history": first_id + count - 1,
                "person": person.pk,
                "team": person.staff.team_id,
            },
        )
        cursor.execute(
            """
            INSERT INTO leads_followuptask (lead_id, assignee_id, kind, channel, title, plan_day,
                due_on, status, created_at, closed_at, closed_note)
            SELECT l.id, l.owner_id, 'follow_up', s.channel, s.instruction, s.day,
                (l.created_at + s.day * interval '1 day')::date,
                CASE WHEN l.closed_at IS NULL THEN 'open'
                     WHEN s.day %% 2 = 0 THEN 'done' ELSE 'cancelled' END,
                l.created_at, l.closed_at, ''
            FROM leads_lead l CROSS JOIN leads_followupstep s
            WHERE l.id BETWEEN %s AND %s AND l.status <> 'new'
            """,
            [first_id, last],
        )
        for table in ("dealercrm_customer", "leads_lead", "leads_followuptask"):
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
        cursor.execute("ANALYZE")


def measure(person, requests):
    """The queue for `person`: its queries, then `requests` timed requests alternating with
    raw runs of the same SQL."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="localhost")
    client.force_login(person)
    for _ in range(5):  # warm: permission cache, compiled templates, the database's cache
        assert client.get("/leads/queue/").status_code == 200
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/leads/queue/")
    statements = [query["sql"] for query in captured.captured_queries]
    shown = response.content.decode().count('class="queue-item urgency-')

    server, raw = [], []
    each = [[] for _ in statements]
    for _ in range(requests):
        started = time.perf_counter()
        client.get("/leads/queue/")
        server.append(time.perf_counter() - started)
        started = time.perf_counter()
        with connection.cursor() as cursor:
            for n, sql in enumerate(statements):
                begun = time.perf_counter()
                cursor.execute(sql)
                cursor.fetchall()
                each[n].append(time.perf_counter() - begun)
        raw.append(time.perf_counter() - started)
    server_ms = sorted(s * 1000 for s in server)
    raw_ms = sorted(s * 1000 for s in raw)
    return {
        "queries": len(statements),
        "leads_on_page": shown,
        "server_ms_median": round(statistics.median(server_ms), 1),
        "server_ms_p95": round(server_ms[int(len(server_ms) * 0.95) - 1], 1),
        "baseline": "the page's own SQL statements, executed raw on the same connection",
        "baseline_ms_median": round(statistics.median(raw_ms), 1),
        "ratio_server_to_baseline": round(
            statistics.median(server_ms) / statistics.median(raw_ms), 2
        ),
        "statements_ms_median": {
            f"{n + 1} {sql[:60]}": round(statistics.median(times) * 1000, 2)
            for n, (sql, times) in enumerate(zip(statements, each, strict=True))
        },
    }


if __name__ == "__main__":
    main()
