"""What the benchmarks that build large data sets in SQL share: the bulk load into a throwaway
PostgreSQL (`BulkLoad`), a random weighted choice in SQL, and reading pages, their times
(`spread`) and their queries' plans (`queries_explained`).

    load = BulkLoad(TABLES, log=log, seed=args.seed)
    load.step("leads", LEADS_SQL, params)
    ...
    seconds = load.finish(scratch_tables=["lead_plan"])
"""

import json
import statistics
import time


def secondary_indexes_drop(cursor, tables):
    """Drop the indexes of `tables` that back no constraint (rebuilt after the load, which is
    much faster than keeping them up row by row); returns [(name, CREATE INDEX statement)]."""
    cursor.execute(
        """
        SELECT i.indexname, i.indexdef FROM pg_indexes AS i
        WHERE i.schemaname = 'public' AND i.tablename = ANY(%s)
          AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c
                          WHERE c.conindid = format('%%I.%%I', i.schemaname, i.indexname)::regclass)
        ORDER BY i.tablename, i.indexname
        """,
        [list(tables)],
    )
    indexes = cursor.fetchall()
    for name, _ in indexes:
        cursor.execute(f'DROP INDEX "{name}"')
    return indexes


class BulkLoad:
    """A set-wise load of `tables` on Django's connection, timed step by step.

    Starting it seeds PostgreSQL's random() with `seed`, gives the session memory for its joins
    and index builds, turns off foreign-key triggers (every reference is consistent by
    construction) and drops the tables' secondary indexes; `finish` rebuilds them, resets the
    session, drops the scratch tables, moves the id sequences past the loaded rows and VACUUM
    ANALYZEs, so that the measured queries see the statistics and visibility a live database has.
    `separator` splits a step's SQL into statements (None: one statement)."""

    def __init__(self, tables, *, log, seed, separator=None):
        from django.db import connection

        self.connection, self.tables, self.log = connection, list(tables), log
        self.separator = separator
        self.seconds = {}
        self.started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("SELECT setseed(%s)", [1 / (seed + 1)])
            cursor.execute("SET work_mem = '256MB'")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            cursor.execute("SET session_replication_role = replica")
            self.indexes = secondary_indexes_drop(cursor, self.tables)

    def step(self, name, sql, params=None, quiet=False):
        started = time.perf_counter()
        statements = sql.split(self.separator) if self.separator else [sql]
        with self.connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement, params)
        self.seconds[name] = round(self.seconds.get(name, 0) + time.perf_counter() - started, 1)
        if not quiet:
            self.log(f"  {name}: {self.seconds[name]} s")

    def finish(self, *, scratch_tables):
        """Rebuild, reset and analyze; returns the seconds of each step and the total."""
        for _, definition in self.indexes:
            self.step("indexes", definition, quiet=True)
        self.log(f"  indexes: {self.seconds.get('indexes', 0)} s ({len(self.indexes)} rebuilt)")
        with self.connection.cursor() as cursor:
            cursor.execute("RESET session_replication_role")
            cursor.execute("RESET maintenance_work_mem")
            cursor.execute("RESET work_mem")
            cursor.execute(f"DROP TABLE {', '.join(scratch_tables)}")
            for table in self.tables:
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT coalesce(max(id), 1) FROM {table}))"
                )
        for table in self.tables:
            self.step("vacuum analyze", f"VACUUM ANALYZE {table}")
        self.step("vacuum analyze", "CHECKPOINT")
        self.seconds["total"] = round(time.perf_counter() - self.started, 1)
        return self.seconds


def weighted_case(column, weighted):
    """A CASE choosing a value by the uniform random `column` with the weights of `weighted`
    [(value, weight)]."""
    total = sum(weight for _, weight in weighted)
    branches, edge = [], 0.0
    for value, weight in weighted[:-1]:
        edge += weight / total
        branches.append(f"WHEN {column} < {edge:.6f} THEN '{value}'")
    return f"CASE {' '.join(branches)} ELSE '{weighted[-1][0]}' END"


def fetch(client, url):
    """GET `url`; (status, body), with a streamed body read to its end (its rows are made as
    it is read, so that is part of the server's time)."""
    response = client.get(url, HTTP_ACCEPT="application/json" if "/api/" in url else "*/*")
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response.status_code, body


def plan_summary(plan, depth=3):
    """The top `depth` nodes of a plan, outermost first: "Sort < HashAggregate < Seq Scan"."""
    nodes = []
    while plan is not None and len(nodes) < depth:
        nodes.append(plan["Node Type"])
        children = plan.get("Plans") or []
        plan = children[0] if children else None
    return " < ".join(nodes)


def scans(plan):
    """Every scan of a plan, the same ones (a UNION ALL's month slices) counted together:
    "12 x Index Only Scan using serviceloss_kpi_idx on service_serviceloss (4,210 rows,
    1.3 ms)"."""
    found = {}

    def walk(node):
        if "Relation Name" in node:
            index = f" using {node['Index Name']}" if "Index Name" in node else ""
            label = f"{node['Node Type']}{index} on {node['Relation Name']}"
            count, rows, ms = found.get(label, (0, 0, 0.0))
            loops = node.get("Actual Loops", 1)
            found[label] = (
                count + 1,
                rows + node.get("Actual Rows", 0) * loops,
                ms + node.get("Actual Total Time", 0) * loops,
            )
        for child in node.get("Plans") or []:
            walk(child)

    walk(plan)
    return [
        f"{f'{count} x ' if count > 1 else ''}{label} ({rows:,} rows, {ms:.1f} ms)"
        for label, (count, rows, ms) in found.items()
    ]


def spread(values):
    """Median and p90 (nearest rank), min and max of `values` in ms."""
    ordered = sorted(values)
    return {
        "median_ms": round(statistics.median(ordered), 1),
        "p90_ms": round(ordered[max(0, int(len(ordered) * 0.9 + 0.5) - 1)], 1),
        "min_ms": round(ordered[0], 1),
        "max_ms": round(ordered[-1], 1),
    }


def queries_explained(client, url, *, log, explain=True, print_plans=False):
    """Every query one request to `url` runs; with `explain`, each SELECT EXPLAIN (ANALYZE,
    BUFFERS)ed: its time, its plan's top nodes, every scan and the heap fetches of the index-only
    ones (0 when the index alone answered). With `print_plans`, their text plans go to `log`."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fetch(client, url)
    entries = []
    for number, query in enumerate(captured.captured_queries, start=1):
        sql = query["sql"]
        entry = {
            "n": number,
            "sql": " ".join(sql.split())[:200],
            "client_ms": round(float(query["time"]) * 1000, 2),
        }
        entries.append(entry)
        if not explain or not sql.lstrip().upper().startswith(("SELECT", "WITH")):
            continue
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) " + sql)
            (document,) = cursor.fetchone()
            if print_plans:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                text = "\n".join(line for (line,) in cursor.fetchall())
                log(f"\nEXPLAIN (ANALYZE, BUFFERS) {url} query {number}:\n{sql}\n{text}")
        top = (document if isinstance(document, list) else json.loads(document))[0]
        plan = top["Plan"]
        entry.update(
            {
                "execution_ms": round(top["Execution Time"], 2),
                "planning_ms": round(top["Planning Time"], 2),
                "plan": plan_summary(plan, depth=4),
                "scans": scans(plan),
                "heap_fetches": heap_fetches(plan),
                "workers_launched": workers_launched(plan),
                "rows": plan.get("Actual Rows"),
                "shared_hit": plan.get("Shared Hit Blocks", 0),
                "shared_read": plan.get("Shared Read Blocks", 0),
                "temp_written": plan.get("Temp Written Blocks", 0),
            }
        )
    return entries


def heap_fetches(plan):
    """The heap fetches of a plan's index-only scans (all their loops and workers)."""
    own = plan.get("Heap Fetches", 0) if plan["Node Type"] == "Index Only Scan" else 0
    return own + sum(heap_fetches(child) for child in plan.get("Plans") or [])


def workers_launched(plan):
    own = plan.get("Workers Launched", 0)
    return own + sum(workers_launched(child) for child in plan.get("Plans") or [])
