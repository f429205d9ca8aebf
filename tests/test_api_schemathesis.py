"""The API keeps the contract it publishes: schemathesis reads /api/v1/schema/ from the WSGI app
and calls every operation in-process with requests built from that schema, as a user allowed to
call it, against a few real rows. No answer may be a 5xx, and every answer must have a status
code, content type, headers and body that the schema declares for it.

Generation is deterministic (the same requests on every run) and positive: requests the schema
allows. Values at the far ends of what the schema allows are probed one by one at the end.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis import checks
from schemathesis.config import SchemathesisConfig

from dealercrm.models import Role, Team
from dealercrm.wsgi import application
from leads.models import LeadStatus
from routing.services import rule_create
from service.api.views import ADF_EXAMPLE as SERVICE_ADF
from service.services import loss_log
from tests.factories import TeamFactory, make_lead, make_opportunity, make_staff

CONFIG = SchemathesisConfig.from_dict(
    {"generation": {"mode": "positive", "deterministic": True, "with-security-parameters": False}}
)

# The schema view reads no table, so the schema loads at collection, before any database.
schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", application, config=CONFIG)

CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]

# The integrations' endpoints are called as a lead provider's account, the service ones as a
# service manager, the rest (leads, routing, reports) as a sales manager.
INTAKE = {
    "POST /api/v1/leads/",
    "POST /api/v1/leads/adf/",
    "POST /api/v1/events/",
    "POST /api/v1/calls/",
    "POST /api/v1/service/opportunities/",
}

# 2**64: beyond any id or count a database column holds.
HUGE = 18_446_744_073_709_551_616


class World:
    """The callers, and the rows that an id in a path can name."""

    def __init__(self):
        sales = TeamFactory(name="New cars", kind=Team.Kind.SALES)
        service = TeamFactory(name="Service", kind=Team.Kind.SERVICE)
        self.sales_manager = make_staff(Role.SALES_MANAGER, sales, username="mona")
        seller = make_staff(Role.SALESPERSON, sales, username="sid")
        advisor = make_staff(Role.SERVICE_ADVISOR, service, username="erin")
        self.service_manager = make_staff(Role.SERVICE_MANAGER, service, username="sam")
        self.lead_provider = make_staff(Role.LEAD_PROVIDER, None, username="cars-feed")

        leads = [
            make_lead(team=sales),
            make_lead(team=sales),
            make_lead(LeadStatus.CONTACTED, owner=seller, team=sales),
            make_lead(LeadStatus.LOST, owner=seller, team=sales),
        ]
        rule = rule_create(
            by=self.sales_manager,
            name="Hot web leads",
            conditions={"channels": ["web_form"], "score_min": 70},
            strategy="round_robin",
            members=[seller, self.sales_manager],
        )
        booking = make_opportunity(advisor=advisor, value="400.00")
        quote = make_opportunity(advisor=advisor, value="640.00", source="quote")
        loss = loss_log(
            opportunity=quote,
            event="scope_reduced",
            reason="missing_parts",
            amount="120",
            by=advisor,
        )
        # By the path's start: the rows its {id} names.
        self.ids = {
            "/api/v1/leads/": [lead.pk for lead in leads],
            "/api/v1/routing/rules/": [rule.pk],
            "/api/v1/routing/staff/": [seller.pk, self.sales_manager.pk],
            "/api/v1/service/opportunities/": [booking.pk, quote.pk],
            "/api/v1/service/losses/": [loss.pk],
        }
        self.tokens = {}

    def headers(self, operation):
        if operation.label in INTAKE:
            user = self.lead_provider
        elif operation.path.startswith("/api/v1/service/"):
            user = self.service_manager
        else:
            user = self.sales_manager
        if user.pk not in self.tokens:
            self.tokens[user.pk] = Token.objects.create(user=user).key
        return {"Authorization": f"Token {self.tokens[user.pk]}"}

    def existing_id(self, path, generated):
        """Three generated ids in four name a real row; the fourth is sent as generated, and
        names no row (or one by chance). So are ids that are not whole numbers."""
        if type(generated) is not int or generated % 4 == 0:
            return generated
        ids = next(ids for start, ids in self.ids.items() if path.startswith(start))
        return ids[generated % len(ids)]


@pytest.fixture
def world(db):
    # Django closes "old" connections when a request starts and ends (its test client turns
    # that off): the test's transaction must outlive the requests made through the WSGI app.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield World()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_the_api_answers_as_its_schema_says(case, world):
    if "id" in case.path_parameters:
        case.path_parameters["id"] = world.existing_id(
            case.operation.path, case.path_parameters["id"]
        )
    case.call_and_validate(headers=world.headers(case.operation), checks=CHECKS)


ID_ROUTES = [
    "GET /api/v1/leads/{id}/",
    "POST /api/v1/leads/{id}/claim/",
    "POST /api/v1/leads/{id}/reassign/",
    "GET /api/v1/routing/rules/{id}/",
    "PATCH /api/v1/routing/rules/{id}/",
    "DELETE /api/v1/routing/rules/{id}/",
    "GET /api/v1/service/opportunities/{id}/",
    "POST /api/v1/service/opportunities/{id}/advance/",
    "POST /api/v1/service/opportunities/{id}/losses/",
    "POST /api/v1/service/losses/{id}/parts-arrived/",
]

PROBES = [
    *(pytest.param(label, {"path_parameters": {"id": HUGE}}, id=label) for label in ID_ROUTES),
    pytest.param(
        "PATCH /api/v1/routing/staff/{id}/",
        {"path_parameters": {"id": HUGE}},
        id="staff id",
    ),
    pytest.param(
        "GET /api/v1/leads/",
        {"query": {"owner": HUGE}},
        id="lead owner filter",
    ),
    pytest.param(
        "GET /api/v1/leads/",
        {"query": {"created_after": "0001-01-01T00:00:00+14:00"}},
        id="lead created_after filter",
    ),
    pytest.param(
        "GET /api/v1/service/opportunities/",
        {"query": {"advisor": HUGE}},
        id="opportunity advisor filter",
    ),
    pytest.param(
        "GET /api/v1/service/opportunities/",
        {"query": {"booked_on": "9999-12-31"}},
        id="opportunity booked_on filter",
    ),
    pytest.param(
        "GET /api/v1/reports/{report}/",
        {
            "path_parameters": {"report": "sources"},
            "query": {"start": "9999-12-01", "end": "9999-12-31"},
        },
        id="report period",
    ),
    pytest.param(
        "GET /api/v1/service/kpis/",
        {"query": {"start": "0001-01-01", "end": "0001-01-02"}},
        id="kpi period",
    ),
    pytest.param(
        "POST /api/v1/routing/preview/",
        {"body": {"rules": [HUGE]}, "media_type": "application/json"},
        id="preview rules",
    ),
    pytest.param(
        "POST /api/v1/routing/preview/",
        {"body": {"at": "9999-12-31T23:59:59Z"}, "media_type": "application/json"},
        id="preview at",
    ),
    pytest.param(
        "POST /api/v1/leads/",
        {
            "body": {"source": "website", "email": "a@example.com", "trade_in": {"mileage": HUGE}},
            "media_type": "application/json",
        },
        id="trade-in mileage",
    ),
]


@pytest.mark.parametrize(("label", "fields"), PROBES)
def test_extreme_values_are_answered_not_a_500(world, label, fields):
    method, path = label.split(" ")
    case = schema[path][method].Case(**fields)

    response = case.call_and_validate(headers=world.headers(case.operation), checks=CHECKS)

    # A value beyond what any row holds is a bad request or names nothing.
    assert response.status_code in (400, 404), response.text


# Schemathesis sends a generated string as an XML element (`<data>...</data>`), never as an ADF
# document: real documents go as bytes, as a lead provider's system sends them.
LEAD_ADF = b"""<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf>
  <prospect status="new">
    <id source="dealer-website">web-20260310-0042</id>
    <requestdate>2026-03-10T09:12:00-05:00</requestdate>
    <vehicle interest="buy" status="new">
      <year>2025</year><make>Toyota</make><model>RAV4</model>
    </vehicle>
    <customer>
      <contact>
        <name part="first">Maria</name><name part="last">Lopez</name>
        <email>maria.lopez@example.com</email><phone>202-555-0143</phone>
      </contact>
    </customer>
  </prospect>
</adf>"""


@pytest.mark.parametrize(
    ("label", "media_type", "document"),
    [
        *(
            pytest.param(
                "POST /api/v1/leads/adf/",
                media_type,
                LEAD_ADF,
            )
            for media_type in ("application/xml", "text/xml")
        ),
        ("POST /api/v1/service/opportunities/", "application/xml", SERVICE_ADF.encode()),
    ],
)
def test_an_adf_document_is_answered_as_the_schema_says(world, label, media_type, document):
    method, path = label.split(" ")
    case = schema[path][method].Case(body=document, media_type=media_type)

    response = case.call_and_validate(headers=world.headers(case.operation), checks=CHECKS)

    assert response.status_code == 201, response.text
