from django.core.management.base import BaseCommand

from dealercrm.schedules import schedules_sync


class Command(BaseCommand):
    help = "Make django-q2's schedules match the sweeps declared in dealercrm/schedules.py."

    def handle(self, *args, **options):
        created, updated, removed = schedules_sync()
        self.stdout.write(f"Schedules: {created} created, {updated} updated, {removed} removed.")
