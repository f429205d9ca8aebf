"""Demo data for the core: the dealership's teams and people.

Each app may have a `demo` module with `seed(context)` (and `add_bulk(context)` for benchmark
volumes); `manage.py seed_demo` runs them in INSTALLED_APPS order, so an app's demo data can
rely on the data of the apps below it. Every seed is idempotent.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from random import Random

from django.contrib.auth import get_user_model
from django.db import transaction

from dealercrm.models import Role, StaffProfile, Team
from dealercrm.services import staff_create


@dataclass
class DemoContext:
    now: datetime
    demo_users: bool
    bulk_leads: int = 0
    rng: Random = field(default_factory=lambda: Random(20261122))
    log: Callable[[str], None] = print


DEMO_PASSWORD = "demo-dealercrm"

TEAMS = [
    ("New cars", Team.Kind.SALES),
    ("Used cars", Team.Kind.SALES),
    ("BDC", Team.Kind.BDC),
    ("Service", Team.Kind.SERVICE),
]

# The people who work leads every day; they own the demo leads. They cannot log in.
FLOOR_STAFF = [
    ("amoreno", "Alex", "Moreno", Role.SALESPERSON, "New cars", 25),
    ("pshah", "Priya", "Shah", Role.SALESPERSON, "New cars", 25),
    ("tbecker", "Tom", "Becker", Role.SALESPERSON, "New cars", 20),
    ("lnguyen", "Linh", "Nguyen", Role.SALESPERSON, "Used cars", 25),
    ("mokafor", "Marcus", "Okafor", Role.SALESPERSON, "Used cars", 30),
    ("sjensen", "Sofia", "Jensen", Role.SALESPERSON, "Used cars", 20),
    ("rdiaz", "Rosa", "Diaz", Role.BDC_AGENT, "BDC", 60),
    ("kwalsh", "Kevin", "Walsh", Role.BDC_AGENT, "BDC", 60),
    ("hpark", "Hana", "Park", Role.SERVICE_ADVISOR, "Service", 0),
]

# One login per role, with DEMO_PASSWORD; created only with DEBUG on or --demo-users.
LOGIN_USERS = [
    ("sales", "Sam", "Seller", Role.SALESPERSON, "New cars"),
    ("bdc", "Blair", "Caller", Role.BDC_AGENT, "BDC"),
    ("bdcmanager", "Morgan", "Lead", Role.BDC_MANAGER, "BDC"),
    ("salesmanager", "Jordan", "Desk", Role.SALES_MANAGER, "New cars"),
    ("advisor", "Avery", "Wrench", Role.SERVICE_ADVISOR, "Service"),
    ("advisor2", "Jamie", "Lift", Role.SERVICE_ADVISOR, "Service"),
    ("servicemanager", "Casey", "Bay", Role.SERVICE_MANAGER, "Service"),
]
ADMIN_USERNAME = "admin"


@transaction.atomic
def seed(context):
    teams = {}
    for name, kind in TEAMS:
        teams[name], _ = Team.objects.get_or_create(name=name, defaults={"kind": kind})
    existing = set(get_user_model().objects.values_list("username", flat=True))

    def add(username, first, last, role, team, **profile):
        if username in existing:
            return None
        return staff_create(
            username=username,
            first_name=first,
            last_name=last,
            email=f"{username}@demo-dealer.example",
            role=role,
            team=teams[team],
            **profile,
        )

    for username, first, last, role, team, capacity in FLOOR_STAFF:
        add(username, first, last, role, team, capacity=capacity)
    if not context.demo_users:
        return
    for username, first, last, role, team in LOGIN_USERS:
        user = add(username, first, last, role, team, password=DEMO_PASSWORD)
        if user and role in {Role.BDC_MANAGER, Role.SALES_MANAGER, Role.SERVICE_MANAGER}:
            # Managers keep the reason catalog and people's shifts in the admin.
            user.is_staff = True
            user.save(update_fields=["is_staff"])
    if ADMIN_USERNAME not in existing:
        get_user_model().objects.create_superuser(
            ADMIN_USERNAME, "admin@demo-dealer.example", DEMO_PASSWORD
        )


def salespeople_by_team():
    """Active sales and BDC staff by team name, in a stable order."""
    people = {}
    profiles = (
        StaffProfile.objects.filter(
            active=True, role__in=[Role.SALESPERSON, Role.BDC_AGENT], team__isnull=False
        )
        .select_related("user", "team")
        .order_by("user__username")
    )
    for profile in profiles:
        people.setdefault(profile.team.name, []).append(profile.user)
    return people
