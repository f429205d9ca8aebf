"""Demo routing rules: what a BDC manager of the demo dealership would set up. Idempotent."""

from django.contrib.auth import get_user_model
from django.db import transaction

from dealercrm.models import Team
from routing.models import Fallback, RoutingRule, Strategy
from routing.services import rule_create

BY = "demo"


@transaction.atomic
def seed(context):
    if RoutingRule.objects.exists():
        context.log("Routing rules are already there.")
        return
    teams = {team.name: team for team in Team.objects.all()}
    people = {user.username: user for user in get_user_model().objects.all()}
    if not {"New cars", "Used cars", "BDC"} <= set(teams) or "amoreno" not in people:
        return  # the core demo (dealercrm.demo) was not loaded

    def members(*usernames):
        return [people[name] for name in usernames]

    rules = [
        dict(
            name="Returning customers → their salesperson",
            strategy=Strategy.PREVIOUS_OWNER,
            conditions={"known_customer": True},
        ),
        dict(
            name="Phone calls → BDC",
            strategy=Strategy.ROUND_ROBIN,
            team=teams["BDC"],
            conditions={"channels": ["phone"]},
            sla_minutes=3,
        ),
        dict(
            name="Hot leads → experienced sellers",
            strategy=Strategy.LEAST_LOADED,
            members=members("amoreno", "pshah", "mokafor"),
            conditions={"score_min": 70},
        ),
        dict(
            name="Cold leads → BDC qualification",
            strategy=Strategy.ROUND_ROBIN,
            team=teams["BDC"],
            conditions={"score_max": 39},
            sla_minutes=15,
        ),
        dict(
            name="New cars — website, chat, OEM, showroom",
            strategy=Strategy.FASTEST_RESPONDER,
            team=teams["New cars"],
            conditions={
                "sources": ["dealer-website", "dealer-website-chat", "toyota-oem", "showroom"]
            },
            fallback=Fallback.POOL,
        ),
        dict(
            name="Used cars — marketplaces",
            strategy=Strategy.WEIGHTED,
            members=members("lnguyen", "mokafor", "sjensen"),
            weights={
                people["lnguyen"].pk: 1,
                people["mokafor"].pk: 2,
                people["sjensen"].pk: 1,
            },
            team=teams["Used cars"],
            conditions={"sources": ["cars.com", "autotrader", "cargurus"]},
            fallback=Fallback.POOL,
        ),
        dict(
            name="Everything else → BDC pool",
            strategy=Strategy.POOL,
            team=teams["BDC"],
            sla_minutes=10,
        ),
        # A draft to try in replay: evenings and nights to the BDC pool with a longer SLA.
        dict(
            name="Draft: after hours → BDC pool",
            strategy=Strategy.POOL,
            team=teams["BDC"],
            conditions={"hours_from": "20:00", "hours_to": "08:00"},
            sla_minutes=30,
            active=False,
        ),
    ]
    for priority, rule in enumerate(rules, start=1):
        rule_create(by=BY, priority=priority * 10, **rule)
    context.log(f"Created {len(rules)} routing rules.")
