"""manage.py ingest_adf PATH...: ADF/XML leads from files, as saved from the mailbox they
arrived in (.eml) or as plain documents (.xml)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leads.adf import MAX_ADF_BYTES, AdfRejected, adf_from_email, parse_adf
from leads.intake import lead_intake


class Command(BaseCommand):
    help = (
        "Receive ADF/XML leads from .xml files or .eml e-mails (the ADF document in the body or "
        "an attachment). Prints one line per prospect; a refused file is reported and the others "
        "go on. Exits with status 1 when any file was refused."
    )

    def add_arguments(self, parser):
        parser.add_argument("paths", nargs="+", metavar="PATH")

    def handle(self, *args, paths, **options):
        refused = 0
        for path in map(Path, paths):
            try:
                results = self._ingest(path)
            except (AdfRejected, OSError) as problem:
                refused += 1
                reason = problem.strerror if isinstance(problem, OSError) else str(problem)
                self.stdout.write(f"{path}: refused: {reason}")
                continue
            for number, result in enumerate(results, start=1):
                outcome = result.outcome.replace("_", " ")
                self.stdout.write(f"{path} prospect {number}: {outcome}: lead {result.lead.pk}")
        if refused:
            raise CommandError(f"{refused} of {len(paths)} files refused.")

    def _ingest(self, path):
        with path.open("rb") as file:
            data = file.read(MAX_ADF_BYTES * 4 + 1)
        if path.suffix.lower() == ".eml":
            data = adf_from_email(data)
        return [lead_intake(submission) for submission in parse_adf(data)]
