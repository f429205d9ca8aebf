"""Who may open what: every URL of the project asked by every role, by someone logged out and by
a superuser, against a table a reviewer can read (GET below, then WRITES).

The URLs come from the resolver: a URL added without a row in the tables fails
`test_every_url_has_a_row_and_every_row_a_url`. The admin site is covered as a group.

The objects the URLs name are built once for the module (`world`); every request runs in its own
savepoint, so a permitted write (a rule deleted, a lead claimed) is gone before the next case.
"""

import logging
from datetime import timedelta
from types import SimpleNamespace
from urllib.parse import quote, urlsplit

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, resolve, reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from dealercrm.models import Role, Team
from dealercrm.roles import ROLE_PERMISSIONS
from dealercrm.services import notification_send
from leads.lifecycle_settings import lifecycle_settings_set
from leads.models import Lead, LeadSource, LeadStatus, LifecycleSettings
from leads.resurfacing import lead_reactivate
from routing.services import rule_create
from service.services import issue_open, loss_log, loss_parts_arrived
from service.setup import campaign_save
from tests.factories import TeamFactory, browse, make_lead, make_opportunity, make_staff

ANONYMOUS, SUPERUSER = "anonymous", "superuser"
COLUMNS = (
    ANONYMOUS,
    Role.SALESPERSON,
    Role.BDC_AGENT,
    Role.BDC_MANAGER,
    Role.SALES_MANAGER,
    Role.SERVICE_ADVISOR,
    Role.SERVICE_MANAGER,
    Role.LEAD_PROVIDER,
    SUPERUSER,
)

# Columns: anonymous; Alice the salesperson (who owns every lead below); a BDC agent of another
# team; a BDC manager; a sales manager; a service advisor; a service manager; a lead provider's
# integration account; root, a superuser without a staff profile.
# A cell is the status expected, or LOGIN: a 302 to the login page with ?next= the URL asked for.
# 404 on a page a role may not use means the view hides the row (a lead, an opportunity, a
# notification) rather than refusing: "missing" and "not yours" read alike (STYLE.md).
LOGIN = "login"

# fmt: off
GET = {
    #                                   anon    sell bdc  bdcM salM svcA svcM prov root
    "home":                            (LOGIN,  302, 302, 302, 302, 302, 302, 302, 302),
    "health":                          (200,    200, 200, 200, 200, 200, 200, 200, 200),
    # django.contrib.auth: sign-in and password reset are public; logout is POST only.
    "login":                           (200,    200, 200, 200, 200, 200, 200, 200, 200),
    "logout":                          (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "password_change":                 (LOGIN,  200, 200, 200, 200, 200, 200, 200, 200),
    "password_change_done":            (LOGIN,  200, 200, 200, 200, 200, 200, 200, 200),
    "password_reset":                  (200,    200, 200, 200, 200, 200, 200, 200, 200),
    "password_reset_done":             (200,    200, 200, 200, 200, 200, 200, 200, 200),
    "password_reset_confirm":          (200,    200, 200, 200, 200, 200, 200, 200, 200),
    "password_reset_complete":         (200,    200, 200, 200, 200, 200, 200, 200, 200),
    # Everyone has notifications; Alice's is hers alone (404 for anyone else, even root).
    "notifications":                   (LOGIN,  200, 200, 200, 200, 200, 200, 200, 200),
    "notification_unread":             (LOGIN,  200, 200, 200, 200, 200, 200, 200, 200),
    "notification_open":               (LOGIN,  302, 404, 404, 404, 404, 404, 404, 404),
    "notifications_read_all":          (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "sweeps":                          (LOGIN,  403, 403, 200, 200, 403, 200, 403, 200),
    "audit":                           (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    # The lead list filters rows instead of refusing: service staff and the lead provider get
    # an empty list (test_each_role_sees_only_its_leads checks what is in it).
    "leads:list":                      (LOGIN,  200, 200, 200, 200, 403, 403, 403, 200),
    "leads:queue":                     (LOGIN,  200, 200, 200, 200, 403, 403, 403, 200),
    "leads:queue_counters":            (LOGIN,  200, 200, 200, 200, 403, 403, 403, 200),
    # Alice's lead: the BDC agent (another team) may not see it, nor may the service staff or
    # the provider (no view_lead): 404 alike.
    "leads:detail":                    (LOGIN,  200, 404, 200, 200, 404, 404, 404, 200),
    "leads:log_activity":              (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:status":                    (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:appointment":               (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:reopen":                    (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:task_complete":             (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:return_to_work":            (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:claim":                     (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:reassign":                  (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:board":                     (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "leads:board_reassign":            (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:disqualified":              (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "leads:plan":                      (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "leads:comebacks":                 (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "leads:comeback_decide":           (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "leads:lifecycle_settings":        (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "leads:reports":                   (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "leads:report":                    (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "leads:report_csv":                (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "routing:rules":                   (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "routing:rule_new":                (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "routing:rule_edit":               (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "routing:rule_toggle":             (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "routing:rule_move":               (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "routing:rule_delete":             (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "lead_routing:staff":              (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "lead_routing:staff_update":       (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "lead_routing:hours":              (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "lead_routing:preview":            (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "lead_routing:replay":             (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    # Sales staff read a customer's service history without the money (roles.py;
    # test_service_money_is_shown_only_to_who_may_see_it checks the money is left out).
    "service:desk":                    (LOGIN,  200, 200, 200, 200, 200, 200, 403, 200),
    "service:opportunities":           (LOGIN,  200, 200, 200, 200, 200, 200, 403, 200),
    "service:opportunity_new":         (LOGIN,  403, 403, 403, 403, 200, 200, 403, 200),
    "service:opportunity":             (LOGIN,  200, 200, 200, 200, 200, 200, 404, 200),
    "service:loss_log":                (LOGIN,  403, 403, 403, 403, 200, 200, 403, 200),
    "service:advance":                 (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "service:parts_arrived":           (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "service:recaptures":              (LOGIN,  403, 403, 403, 403, 200, 200, 403, 200),
    "service:recapture_book":          (LOGIN,  403, 403, 403, 403, 200, 200, 403, 200),
    "service:recapture_decline":       (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "service:kpis":                    (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "service:kpis_csv":                (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "service:customers":               (LOGIN,  200, 200, 200, 200, 200, 200, 403, 200),
    "service:customer":                (LOGIN,  200, 200, 200, 200, 200, 200, 403, 200),
    "service:issue_new":               (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "service:issue_resolve":           (405,    405, 405, 405, 405, 405, 405, 405, 405),
    "service:corrective_actions":      (LOGIN,  403, 403, 403, 403, 200, 200, 403, 200),
    "service:settings":                (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "service:campaigns":               (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "service:campaign":                (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "leads_public:web_form":           (200,    200, 200, 200, 200, 200, 200, 200, 200),
    # The API. TokenAuthentication comes first, so someone without credentials gets 401 with
    # `WWW-Authenticate: Token`. DRF checks permissions before the method: a GET on a POST-only
    # endpoint is 403 for a role the endpoint's default capability refuses, 405 for the others.
    "api:schema":                      (200,    200, 200, 200, 200, 200, 200, 200, 200),
    "api:docs":                        (200,    200, 200, 200, 200, 200, 200, 200, 200),
    "api:lead-list":                   (401,    200, 200, 200, 200, 403, 403, 403, 200),
    "api:lead-adf":                    (401,    405, 405, 405, 405, 403, 403, 403, 405),
    "api:lead-detail":                 (401,    200, 404, 200, 200, 403, 403, 403, 200),
    "api:lead-claim":                  (401,    405, 405, 405, 405, 403, 403, 403, 405),
    "api:lead-reassign":               (401,    405, 405, 405, 405, 403, 403, 403, 405),
    "api:routing-staff-list":          (401,    403, 403, 200, 200, 403, 403, 403, 200),
    "api:routing-staff-detail":        (401,    403, 403, 405, 405, 403, 403, 403, 405),
    "api:web-events":                  (401,    403, 405, 405, 405, 403, 403, 405, 405),
    "api:calls":                       (401,    403, 405, 405, 405, 403, 403, 405, 405),
    "api:routing-preview":             (401,    403, 403, 405, 405, 403, 403, 403, 405),
    "api:report":                      (401,    403, 403, 200, 200, 403, 403, 403, 200),
    "api:routing-rule-list":           (401,    403, 403, 200, 200, 403, 403, 403, 200),
    "api:routing-rule-detail":         (401,    403, 403, 200, 200, 403, 403, 403, 200),
    "api:service-kpis":                (401,    403, 403, 403, 403, 403, 200, 403, 200),
    "api:service-opportunity-list":    (401,    200, 200, 200, 200, 200, 200, 403, 200),
    "api:service-opportunity-detail":  (401,    200, 200, 200, 200, 200, 200, 404, 200),
    "api:service-opportunity-advance": (401,    405, 405, 405, 405, 405, 405, 403, 405),
    "api:service-opportunity-losses":  (401,    405, 405, 405, 405, 405, 405, 403, 405),
    "api:service-loss-parts-arrived":  (401,    403, 403, 403, 403, 405, 405, 403, 405),
}

# Writes with empty data: every POST-only URL (405 above) and the forms and API endpoints that
# also take a write. A permitted role gets the form back (200 or 422), a 400, or the redirect
# that follows an action; what matters is that nobody else gets past 302-to-login/401/403/404.
WRITES = {
    #                                         anon    sell bdc  bdcM salM svcA svcM prov root
    "POST login":                            (200,    200, 200, 200, 200, 200, 200, 200, 200),
    "POST logout":                           (302,    302, 302, 302, 302, 302, 302, 302, 302),
    "POST notifications_read_all":           (LOGIN,  302, 302, 302, 302, 302, 302, 302, 302),
    # Working Alice's lead: Alice and the managers get the lead page back (with the form's
    # errors as messages); the rest do not see the lead at all.
    "POST leads:log_activity":               (LOGIN,  302, 404, 302, 302, 404, 404, 404, 302),
    "POST leads:status":                     (LOGIN,  302, 404, 302, 302, 404, 404, 404, 302),
    "POST leads:appointment":                (LOGIN,  302, 404, 302, 302, 404, 404, 404, 302),
    "POST leads:reopen":                     (LOGIN,  302, 404, 302, 302, 404, 404, 404, 302),
    "POST leads:task_complete":              (LOGIN,  302, 404, 302, 302, 404, 404, 404, 302),
    "POST leads:return_to_work":             (LOGIN,  403, 403, 302, 302, 403, 403, 403, 302),
    # Claiming needs change_lead (403 without it); the agent cannot see Alice's lead (404);
    # for the others it is taken already, which the lead page then says.
    "POST leads:claim":                      (LOGIN,  302, 404, 302, 302, 403, 403, 403, 302),
    "POST leads:reassign":                   (LOGIN,  403, 403, 302, 302, 403, 403, 403, 302),
    "POST leads:board_reassign":             (LOGIN,  403, 403, 302, 302, 403, 403, 403, 302),
    "POST leads:plan":                       (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "POST leads:comeback_decide":            (LOGIN,  403, 403, 400, 400, 403, 403, 403, 400),
    "POST leads:lifecycle_settings":         (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "POST routing:rule_new":                 (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "POST routing:rule_edit":                (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "POST routing:rule_toggle":              (LOGIN,  403, 403, 400, 400, 403, 403, 403, 400),
    "POST routing:rule_move":                (LOGIN,  403, 403, 400, 400, 403, 403, 403, 400),
    "POST routing:rule_delete":              (LOGIN,  403, 403, 302, 302, 403, 403, 403, 302),
    "POST lead_routing:staff_update":        (LOGIN,  403, 403, 400, 400, 403, 403, 403, 400),
    "POST lead_routing:hours":               (LOGIN,  403, 403, 200, 200, 403, 403, 403, 200),
    "POST service:opportunity_new":          (LOGIN,  403, 403, 403, 403, 422, 422, 403, 422),
    "POST service:loss_log":                 (LOGIN,  403, 403, 403, 403, 422, 422, 403, 422),
    "POST service:advance":                  (LOGIN,  403, 403, 403, 403, 302, 302, 403, 302),
    "POST service:parts_arrived":            (LOGIN,  403, 403, 403, 403, 302, 302, 403, 302),
    "POST service:recapture_book":           (LOGIN,  403, 403, 403, 403, 422, 422, 403, 422),
    "POST service:recapture_decline":        (LOGIN,  403, 403, 403, 403, 302, 302, 403, 302),
    "POST service:issue_new":                (LOGIN,  403, 403, 403, 403, 422, 422, 403, 422),
    "POST service:issue_resolve":            (LOGIN,  403, 403, 403, 403, 422, 422, 403, 422),
    # The advisor sees corrective actions but may not add one.
    "POST service:corrective_actions":       (LOGIN,  403, 403, 403, 403, 403, 422, 403, 422),
    "POST service:settings":                 (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "POST service:campaigns":                (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "POST service:campaign":                 (LOGIN,  403, 403, 403, 403, 403, 200, 403, 200),
    "POST leads_public:web_form":            (200,    200, 200, 200, 200, 200, 200, 200, 200),
    # The API, with a JSON `{}`: 400 names the missing fields; the ADF endpoint takes XML only.
    "POST api:lead-list":                    (401,    403, 400, 400, 400, 403, 403, 400, 400),
    "POST api:lead-adf":                     (401,    403, 415, 415, 415, 403, 403, 415, 415),
    "POST api:lead-claim":                   (401,    400, 404, 400, 400, 403, 403, 403, 400),
    "POST api:lead-reassign":                (401,    403, 403, 400, 400, 403, 403, 403, 400),
    "PATCH api:routing-staff-detail":        (401,    403, 403, 200, 200, 403, 403, 403, 200),
    "POST api:web-events":                   (401,    403, 400, 400, 400, 403, 403, 400, 400),
    "POST api:calls":                        (401,    403, 400, 400, 400, 403, 403, 400, 400),
    "POST api:routing-preview":              (401,    403, 403, 200, 200, 403, 403, 403, 200),
    "POST api:routing-rule-list":            (401,    403, 403, 400, 400, 403, 403, 403, 400),
    "PATCH api:routing-rule-detail":         (401,    403, 403, 200, 200, 403, 403, 403, 200),
    "DELETE api:routing-rule-detail":        (401,    403, 403, 204, 204, 403, 403, 403, 204),
    "POST api:service-opportunity-list":     (401,    403, 403, 403, 403, 400, 400, 400, 400),
    "POST api:service-opportunity-advance":  (401,    403, 403, 403, 403, 400, 400, 403, 400),
    "POST api:service-opportunity-losses":   (401,    403, 403, 403, 403, 400, 400, 403, 400),
    "POST api:service-loss-parts-arrived":   (401,    403, 403, 403, 403, 200, 200, 403, 200),
}
# fmt: on

# Where a 302 that is not to the login page must lead: a URL name, or one per column.
REDIRECTS = {
    "GET home": {
        Role.SALESPERSON: "leads:queue",
        Role.BDC_AGENT: "leads:queue",
        Role.BDC_MANAGER: "leads:board",
        Role.SALES_MANAGER: "leads:board",
        Role.SERVICE_ADVISOR: "service:desk",
        Role.SERVICE_MANAGER: "service:desk",
        Role.LEAD_PROVIDER: "notifications",
        SUPERUSER: "leads:board",
    },
    "GET notification_open": "leads:detail",
    "POST logout": "login",
    "POST notifications_read_all": "notifications",
    "POST leads:log_activity": "leads:detail",
    "POST leads:status": "leads:detail",
    "POST leads:appointment": "leads:detail",
    "POST leads:reopen": "leads:detail",
    "POST leads:task_complete": "leads:detail",
    "POST leads:return_to_work": "leads:disqualified",
    "POST leads:claim": "leads:detail",
    "POST leads:reassign": "leads:detail",
    "POST leads:board_reassign": "leads:board",
    "POST routing:rule_delete": "routing:rules",
    "POST service:advance": "service:opportunity",
    "POST service:parts_arrived": "service:opportunity",
    "POST service:recapture_decline": "service:recaptures",
}

# (method and URL name, column) -> why the table's expectation is not met yet.
KNOWN_BUGS = {}


def build_world():
    """One of everything a URL names, set up through the services: a lead Alice (salesperson)
    owns, with its follow-up tasks; a disqualified lead and a comeback of a lost one, both
    Alice's; her notification; a routing rule; two service opportunities, one with a lost sale
    whose parts arrived (so a follow-up exists) and one whose parts are awaited; a customer
    issue; a campaign; a lead source with a hosted form."""
    sales = TeamFactory(name="New cars", kind=Team.Kind.SALES)
    bdc = TeamFactory(name="BDC", kind=Team.Kind.BDC)
    service = TeamFactory(name="Service", kind=Team.Kind.SERVICE)
    users = {
        Role.SALESPERSON: make_staff(Role.SALESPERSON, sales, username="alice"),
        Role.BDC_AGENT: make_staff(Role.BDC_AGENT, bdc, username="bea"),
        Role.BDC_MANAGER: make_staff(Role.BDC_MANAGER, bdc, username="dana"),
        Role.SALES_MANAGER: make_staff(Role.SALES_MANAGER, sales, username="max"),
        Role.SERVICE_ADVISOR: make_staff(Role.SERVICE_ADVISOR, service, username="erin"),
        Role.SERVICE_MANAGER: make_staff(Role.SERVICE_MANAGER, service, username="sam"),
        Role.LEAD_PROVIDER: make_staff(Role.LEAD_PROVIDER, None, username="cars-feed"),
        # An account made with createsuperuser: no staff profile.
        SUPERUSER: get_user_model().objects.create_superuser(
            username="root", email="root@example.com", password="not-used"
        ),
    }
    alice, dana, erin = (
        users[Role.SALESPERSON],
        users[Role.BDC_MANAGER],
        users[Role.SERVICE_ADVISOR],
    )

    lead = make_lead(LeadStatus.CONTACTED, owner=alice, team=sales)
    disqualified = make_lead(LeadStatus.DISQUALIFIED, owner=alice, team=sales)
    # A lost customer of Alice's shopping again, waiting for a manager's decision.
    lifecycle_settings_set(by=dana, reactivation_mode=LifecycleSettings.ReactivationMode.REVIEW)
    lost = make_lead(LeadStatus.LOST, owner=alice, team=sales)
    seen = timezone.now() + timedelta(minutes=60)
    browse(lost.customer, seen)
    lead_reactivate(lost.pk, now=seen + timedelta(minutes=5))

    opportunity = make_opportunity(
        lead.customer, advisor=erin, source="quote", value="400.00", by=erin
    )
    loss = loss_log(
        opportunity=opportunity,
        event="quote_declined",
        reason="missing_parts",
        amount="123.45",
        declined_items=["Front brake pads"],
        by=erin,
    )
    loss_parts_arrived(loss=loss, by=erin)
    waiting = loss_log(
        opportunity=make_opportunity(advisor=erin, source="quote", by=erin),
        event="quote_declined",
        reason="missing_parts",
        amount="80.00",
        declined_items=["Wiper blades"],
        by=erin,
    )
    today = timezone.localdate()
    campaign, _ = campaign_save(
        by=users[Role.SERVICE_MANAGER],
        name="Brake week",
        offer="20% off brake pads",
        keywords="brake",
        starts_on=today,
        ends_on=today + timedelta(days=27),
    )
    return SimpleNamespace(
        users=users,
        alice=alice,
        lead=lead,
        task=lead.tasks.order_by("due_on", "pk").first(),
        disqualified=disqualified,
        lost=lost,
        comeback=lost.resurfacings.get(),
        notification=notification_send(
            kind="test", message="Look at this", recipient=alice, url=f"/leads/{lead.pk}/"
        ),
        rule=rule_create(by=dana, name="Website pool", strategy="pool", team=sales),
        opportunity=opportunity,
        loss=waiting,
        recapture=loss.recaptures.get(),
        issue=issue_open(customer=lead.customer, kind="service", summary="Waited", by=erin),
        campaign=campaign,
        source=LeadSource.objects.create(
            key="our-site",
            name="Our website",
            channel=Lead.Channel.WEB_FORM,
            team=sales,
            form_enabled=True,
            form_title="Ask about a car",
        ),
    )


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker):
    """Built once for the module inside a transaction rolled back at the end; each test's own
    transaction (pytest-django's `db`) nests inside it as a savepoint. Each person signs in once
    here too: signing in per case cost about a quarter of the module's time."""
    with django_db_blocker.unblock(), transaction.atomic():
        world = build_world()
        world.sessions = {}
        for who, user in world.users.items():
            signing_in = Client()
            signing_in.force_login(user)
            world.sessions[who] = signing_in.cookies[settings.SESSION_COOKIE_NAME].value
        yield world
        transaction.set_rollback(True)


@pytest.fixture(scope="module", autouse=True)
def quiet_refusals():
    """Django logs every 403 and 404 with its traceback; over a thousand of them only slow the
    module down. Errors (a 500) are still logged."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def sign_in(client, world, who):
    if who != ANONYMOUS:
        client.cookies[settings.SESSION_COOKIE_NAME] = world.sessions[who]


# Where each URL's path arguments come from: an attribute of the world (its pk), or a value.
KWARGS = {
    "password_reset_confirm": {"uidb64": "alice-uid", "token": "a-token-that-is-not-valid"},
    "notification_open": {"pk": "notification"},
    "leads:log_activity": {"pk": "lead"},
    "leads:status": {"pk": "lead"},
    "leads:appointment": {"pk": "lead"},
    "leads:reopen": {"pk": "lead"},
    "leads:task_complete": {"pk": "lead", "task_pk": "task"},
    "leads:detail": {"pk": "lead"},
    "leads:return_to_work": {"pk": "disqualified"},
    "leads:claim": {"pk": "lead"},
    "leads:reassign": {"pk": "lead"},
    "leads:comeback_decide": {"pk": "comeback"},
    "leads:report": {"key": "speed"},
    "leads:report_csv": {"key": "speed"},
    "routing:rule_edit": {"pk": "rule"},
    "routing:rule_toggle": {"pk": "rule"},
    "routing:rule_move": {"pk": "rule"},
    "routing:rule_delete": {"pk": "rule"},
    "lead_routing:staff_update": {"user_id": "alice"},
    "service:opportunity": {"pk": "opportunity"},
    "service:loss_log": {"pk": "opportunity"},
    "service:advance": {"pk": "opportunity"},
    "service:parts_arrived": {"pk": "loss"},
    "service:recapture_book": {"pk": "recapture"},
    "service:recapture_decline": {"pk": "recapture"},
    "service:customer": {"pk": "customer"},
    "service:issue_new": {"pk": "customer"},
    "service:issue_resolve": {"pk": "issue"},
    "service:campaign": {"pk": "campaign"},
    "leads_public:web_form": {"key": "our-site"},
    "api:lead-detail": {"pk": "lead"},
    "api:lead-claim": {"pk": "lead"},
    "api:lead-reassign": {"pk": "lead"},
    "api:routing-staff-detail": {"id": "alice"},
    "api:report": {"report": "speed"},
    "api:routing-rule-detail": {"pk": "rule"},
    "api:service-opportunity-detail": {"pk": "opportunity"},
    "api:service-opportunity-advance": {"pk": "opportunity"},
    "api:service-opportunity-losses": {"pk": "opportunity"},
    "api:service-loss-parts-arrived": {"pk": "loss"},
}


def url_of(world, name):
    def value(what):
        if what == "alice-uid":
            return urlsafe_base64_encode(force_bytes(world.alice.pk))
        if what == "customer":
            return world.lead.customer_id
        if hasattr(world, what):
            return getattr(world, what).pk
        return what

    return reverse(name, kwargs={key: value(what) for key, what in KWARGS.get(name, {}).items()})


def resolved_names():
    """Every URL pattern outside the admin site, as "namespace:name"; None for a pattern
    without a name (which the table could not hold)."""

    def walk(resolver, namespace):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
                yield from walk(pattern, inner)
            elif isinstance(pattern, URLPattern):
                yield namespace, pattern.name

    return [
        f"{namespace}{name}" if name else None
        for namespace, name in walk(get_resolver(), "")
        if not namespace.startswith("admin:")
    ]


def send(client, method, url):
    """An empty request: JSON `{}` to the API, an empty form elsewhere."""
    if method == "GET":
        return client.get(url)
    if method == "DELETE":
        return client.delete(url)
    if url.startswith("/api/"):
        return client.generic(method, url, "{}", content_type="application/json")
    return client.generic(method, url, "", content_type="application/x-www-form-urlencoded")


def cases():
    rows = [(f"GET {name}", row) for name, row in GET.items()]
    rows += list(WRITES.items())
    params = []
    for request, row in rows:
        for who, expected in zip(COLUMNS, row, strict=True):
            marks = []
            if (request, who) in KNOWN_BUGS:
                marks = [pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[request, who])]
            params.append(
                pytest.param(request, who, expected, id=f"{request} as {who}", marks=marks)
            )
    return params


@pytest.mark.parametrize(("request_line", "who", "expected"), cases())
def test_who_may_open_what(db, client, world, request_line, who, expected):
    method, name = request_line.split(" ")
    url = url_of(world, name)
    sign_in(client, world, who)

    response = send(client, method, url)

    if expected == LOGIN:
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('login')}?next={quote(url)}"
        return
    assert response.status_code == expected
    if expected == 302:
        target = REDIRECTS[request_line]
        target = target[who] if isinstance(target, dict) else target
        assert resolve(urlsplit(response["Location"]).path).view_name == target
    if expected == 401:
        assert response["WWW-Authenticate"].startswith("Token")
    if expected in (401, 403, 404, 405):
        # A refusal names nothing of Alice's customer.
        assert world.lead.customer.email.encode() not in response.content


def test_every_url_has_a_row_and_every_row_a_url():
    names = resolved_names()
    assert None not in names, "a URL without a name cannot have a row in the table"
    assert sorted(set(names) - set(GET)) == [], "URLs without a row in GET"
    assert sorted(set(GET) - set(names)) == [], "rows of URLs that are gone"

    written = {line.split(" ")[1] for line in WRITES}
    assert written <= set(GET)
    # The superuser may do anything: a 405 in that column is a URL that takes no GET, and so
    # must be tried with a write.
    takes_no_get = {name for name, row in GET.items() if row[COLUMNS.index(SUPERUSER)] == 405}
    assert sorted(takes_no_get - written) == [], "POST-only URLs without a row in WRITES"

    assert set(KWARGS) <= set(GET)
    lines = {f"GET {name}": row for name, row in GET.items()} | WRITES
    redirecting = {line for line, row in lines.items() if 302 in row}
    assert set(REDIRECTS) == redirecting, "every 302 in the tables says where it leads"
    assert {line for line, _ in KNOWN_BUGS} <= set(lines)
    assert set(COLUMNS[1:-1]) == set(Role), "every role has a column"
    cells = [cell for row in [*GET.values(), *WRITES.values()] for cell in row]
    assert {cell for cell in cells if not isinstance(cell, int)} == {LOGIN}


ADMIN_URLS = ["admin:index", "admin:leads_lead_changelist", "admin:service_serviceloss_changelist"]


@pytest.mark.parametrize("name", ADMIN_URLS)
@pytest.mark.parametrize("who", COLUMNS)
def test_only_a_superuser_gets_into_the_admin(db, client, world, who, name):
    url = reverse(name)
    sign_in(client, world, who)

    response = client.get(url)

    if who == SUPERUSER:
        assert response.status_code == 200
        if name == "admin:index":
            apps = {app["app_label"] for app in response.context["app_list"]}
            assert {"auth", "dealercrm", "leads", "service"} <= apps
        else:
            assert response.context["cl"].result_count >= 1
    else:
        # No role makes a person staff (is_staff): the admin asks everyone else to sign in.
        assert response.status_code == 302
        assert response["Location"] == f"{reverse('admin:login')}?next={quote(url)}"


# Which of the leads (all Alice's) each role finds in the lead list and the API.
SEES_ALICES_LEADS = {
    Role.SALESPERSON: True,
    Role.BDC_AGENT: False,
    Role.BDC_MANAGER: True,
    Role.SALES_MANAGER: True,
    Role.SERVICE_ADVISOR: False,
    Role.SERVICE_MANAGER: False,
    Role.LEAD_PROVIDER: False,
    SUPERUSER: True,
}


@pytest.mark.parametrize("who", COLUMNS[1:])
def test_each_role_sees_only_its_leads(db, client, world, who):
    sign_in(client, world, who)
    alices = {world.lead.pk, world.disqualified.pk, world.lost.pk}
    expected = alices if SEES_ALICES_LEADS[who] else set()

    page = client.get(reverse("leads:list"))
    api = client.get(reverse("api:lead-list"))

    if GET["leads:list"][COLUMNS.index(who)] == 200:
        assert {lead.pk for lead in page.context["page"]} == expected
    if GET["api:lead-list"][COLUMNS.index(who)] == 200:
        assert {row["id"] for row in api.json()["results"]} == expected


MONEY_PAGES = ["service:opportunity", "service:customer", "api:service-opportunity-detail"]


@pytest.mark.parametrize("name", MONEY_PAGES)
@pytest.mark.parametrize("who", COLUMNS[1:])
def test_service_money_is_shown_only_to_who_may_see_it(db, client, world, who, name):
    """Sales staff read the service history without the money; the lost sale's $123.45 is on
    these pages for those who hold view_service_money (and the superuser)."""
    sign_in(client, world, who)

    response = client.get(url_of(world, name))

    if response.status_code != 200:
        assert GET[name][COLUMNS.index(who)] != 200
        return
    may_see_money = who == SUPERUSER or "service.view_service_money" in ROLE_PERMISSIONS[who]
    assert (b"123.45" in response.content) == may_see_money


def test_returning_a_lead_already_at_work_is_refused_not_a_500(db, client, world):
    sign_in(client, world, Role.BDC_MANAGER)
    client.raise_request_exception = False

    response = client.post(reverse("leads:return_to_work", args=[world.lead.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("leads:disqualified")
    assert Lead.objects.get(pk=world.lead.pk).status == LeadStatus.CONTACTED


def test_returning_a_lead_to_work_does_not_redirect_off_site(db, client, world):
    sign_in(client, world, Role.BDC_MANAGER)

    response = client.post(
        reverse("leads:return_to_work", args=[world.disqualified.pk]),
        {"next": "https://evil.example/"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("leads:disqualified")
