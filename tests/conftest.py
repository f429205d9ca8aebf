import pytest

from dealercrm.models import Role, Team
from tests.factories import TeamFactory, make_staff


@pytest.fixture
def sales_team(db):
    return TeamFactory(name="New cars", kind=Team.Kind.SALES)


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Used cars", kind=Team.Kind.SALES)


@pytest.fixture
def salesperson(sales_team):
    return make_staff(Role.SALESPERSON, sales_team, username="alice", first_name="Alice")


@pytest.fixture
def other_salesperson(sales_team):
    return make_staff(Role.SALESPERSON, sales_team, username="bob", first_name="Bob")


@pytest.fixture
def used_car_salesperson(other_team):
    return make_staff(Role.SALESPERSON, other_team, username="carol", first_name="Carol")


@pytest.fixture
def sellers(sales_team):
    """Three salespeople of the New cars team, in id order: Ann, Ben and Cat Seller."""
    return [
        make_staff(
            Role.SALESPERSON, sales_team, username=name, first_name=name.title(), last_name="Seller"
        )  # fmt: skip
        for name in ("ann", "ben", "cat")
    ]


@pytest.fixture
def bdc_manager(db):
    team = TeamFactory(name="BDC", kind=Team.Kind.BDC)
    return make_staff(Role.BDC_MANAGER, team, username="dana", first_name="Dana")


@pytest.fixture
def service_advisor(db):
    team = TeamFactory(name="Service", kind=Team.Kind.SERVICE)
    return make_staff(Role.SERVICE_ADVISOR, team, username="erin", first_name="Erin")


@pytest.fixture
def service_manager(service_advisor):
    """The manager of the Service team that Erin advises in."""
    return make_staff(
        Role.SERVICE_MANAGER, service_advisor.staff.team, username="sam", first_name="Sam"
    )


@pytest.fixture
def lead_provider(db):
    return make_staff(Role.LEAD_PROVIDER, None, username="cars-feed", first_name="Cars feed")


@pytest.fixture
def provider_api(lead_provider):
    """An API client authenticated as a lead provider's integration, with its token."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=lead_provider).key}")
    return client


@pytest.fixture(autouse=True)
def empty_cache():
    """Permission sets, scoring weights and sources are cached between requests; each test
    starts without them."""
    from django.core.cache import cache

    cache.clear()
