import json

from django.core.management.base import BaseCommand, CommandError

from dealercrm.schedules import SWEEPS, SWEEPS_BY_NAME, moment, sweep_run


class Command(BaseCommand):
    help = (
        "Run a scheduled sweep once, now or as of --now, keep it in the sweep history and print "
        "what it did as JSON."
    )

    def add_arguments(self, parser):
        parser.add_argument("names", nargs="*", help=", ".join(SWEEPS_BY_NAME))
        parser.add_argument("--all", action="store_true", help="Run every sweep.")
        parser.add_argument("--now", help="Run as of this ISO 8601 time, e.g. 2026-11-22T09:30Z.")

    def handle(self, *args, names, all, now, **options):
        if all:
            names = [sweep.name for sweep in SWEEPS]
        if not names:
            raise CommandError(f"Name a sweep ({', '.join(SWEEPS_BY_NAME)}) or give --all.")
        unknown = [name for name in names if name not in SWEEPS_BY_NAME]
        if unknown:
            raise CommandError(
                f"Unknown sweep {', '.join(unknown)}; known: {', '.join(SWEEPS_BY_NAME)}."
            )
        try:
            now = moment(now)
        except ValueError as error:
            raise CommandError(str(error)) from None
        for name in names:
            result = sweep_run(name, now)
            self.stdout.write(json.dumps({"sweep": name, **result}))
