"""manage.py import_leads FILE.csv --source NAME: a broker's or an event's list of leads."""

import sys
from collections import Counter
from itertools import islice

from django.core.management.base import BaseCommand, CommandError

from leads.csv_import import COLUMNS, RowRejected, csv_rows
from leads.intake import lead_intake_many

# Rows are received in batches, each in one transaction (a transaction per row costs a disk
# sync each) and mostly with set-wise statements (see lead_intake_many).
BATCH = 500


class Command(BaseCommand):
    help = (
        "Import leads from a CSV file with a header row. Known columns: "
        + ", ".join(sorted(COLUMNS))
        + ". Prints one line per row: created, merged (a repeat inquiry), already received, "
        "or rejected and why."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="the CSV file (UTF-8); - reads standard input")
        parser.add_argument("--source", required=True, help="the lead source, e.g. autofair-2026")

    def handle(self, *args, file, source, **options):
        source = source.strip()
        if not source:
            raise CommandError("--source needs a name.")
        try:
            lines = sys.stdin if file == "-" else open(file, newline="", encoding="utf-8-sig")  # noqa: SIM115
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        outcomes = Counter()
        try:
            with lines:
                rows = csv_rows(lines, source=source)
                while batch := list(islice(rows, BATCH)):
                    self._import(batch, outcomes)
        except RowRejected as problem:
            raise CommandError(str(problem)) from None
        except UnicodeDecodeError:
            raise CommandError(f"{file} is not UTF-8 text; save it as CSV UTF-8.") from None
        summary = ", ".join(
            f"{count} {outcome.replace('_', ' ')}" for outcome, count in sorted(outcomes.items())
        )
        self.stdout.write(f"{sum(outcomes.values())} rows: {summary or 'none'}.")

    def _import(self, rows, outcomes):
        readable = [row for row in rows if row.submission is not None]
        results = iter(lead_intake_many([row.submission for row in readable]))
        for row in rows:
            if row.submission is None:
                outcomes["rejected"] += 1
                self.stdout.write(f"row {row.number}: rejected: {row.problem}")
                continue
            result = next(results)
            outcomes[result.outcome] += 1
            lead = result.lead
            detail = f" (disqualified: {lead.close_reason.label})" if lead.close_reason_id else ""
            outcome = result.outcome.replace("_", " ")
            self.stdout.write(f"row {row.number}: {outcome}: lead {lead.pk}{detail}")
