from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.module_loading import module_has_submodule

from dealercrm.demo import ADMIN_USERNAME, DEMO_PASSWORD, LOGIN_USERS, DemoContext
from dealercrm.models import Customer, Role


class Command(BaseCommand):
    help = (
        "Load a demo dealership: teams, people, customers and leads with 60 days of history. "
        "Idempotent: a second run adds nothing. --leads N adds N more leads in bulk."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--demo-users",
            action="store_true",
            help="Create one login per role with the documented demo password (automatic "
            "with DEBUG on).",
        )
        parser.add_argument(
            "--if-empty",
            action="store_true",
            help="Do nothing when the database already holds customers.",
        )
        parser.add_argument(
            "--leads",
            type=int,
            default=0,
            metavar="N",
            help="Also add N leads fast with bulk inserts, for benchmarks.",
        )

    def handle(self, *args, **options):
        if options["leads"] < 0:
            raise CommandError("--leads takes a number of leads, 0 or more.")
        context = DemoContext(
            now=timezone.now(),
            demo_users=options["demo_users"] or settings.DEBUG,
            bulk_leads=options["leads"],
            log=lambda message: self.stdout.write(message),
        )
        if options["if_empty"] and Customer.objects.exists():
            self.stdout.write("The database already holds customers; no demo data loaded.")
        else:
            self.load(context)
        if context.demo_users:
            self.print_logins()

    def load(self, context):
        for module in self.demo_modules():
            module.seed(context)
        if context.bulk_leads:
            for module in self.demo_modules():
                if hasattr(module, "add_bulk"):
                    module.add_bulk(context)

    def print_logins(self):
        usernames = [username for username, *_ in LOGIN_USERS] + [ADMIN_USERNAME]
        present = set(
            get_user_model()
            .objects.filter(username__in=usernames)
            .values_list("username", flat=True)
        )
        if not present:
            return
        self.stdout.write(f"Demo logins (password {DEMO_PASSWORD!r}):")
        for username, _, _, role, team in LOGIN_USERS:
            if username in present:
                self.stdout.write(f"  {username:<16}{Role(role).label}, {team}")
        if ADMIN_USERNAME in present:
            self.stdout.write(f"  {ADMIN_USERNAME:<16}superuser, for /admin/")
        self.print_api_tokens()

    def print_api_tokens(self):
        from rest_framework.authtoken.models import Token

        tokens = Token.objects.filter(user__staff__role=Role.LEAD_PROVIDER).select_related("user")
        for token in tokens.order_by("user__username"):
            self.stdout.write(
                f"API token of the lead-provider account {token.user.username!r}: {token.key}\n"
                f"  (try: curl -H 'Authorization: Token {token.key}' "
                '-H \'Content-Type: application/json\' -d \'{"source": "dealer-website", '
                '"email": "you@example.com"}\' http://127.0.0.1:8000/api/v1/leads/)'
            )

    @staticmethod
    def demo_modules():
        for app_config in apps.get_app_configs():
            if module_has_submodule(app_config.module, "demo"):
                yield import_module(f"{app_config.name}.demo")
