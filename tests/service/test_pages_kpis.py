"""The KPI page, its CSV and its API: who may see them, the period form, the queries the page
runs, and the same figures in all three."""

import csv
import io
from datetime import date
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import Role
from leads.models import Reason
from service.api.kpis import ServiceKpisSerializer
from service.models import CorrectiveAction
from service.services import (
    corrective_action_add,
    loss_parts_arrived,
    opportunity_advance,
    recapture_book,
)
from tests.factories import make_staff
from tests.service.test_kpis import at, lose, opened

pytestmark = pytest.mark.django_db

PAGE = reverse("service:kpis")
CSV = reverse("service:kpis_csv")
API = "/api/v1/service/kpis/"
QUARTER = {"start": "2025-01-01", "end": "2025-03-31"}


@pytest.fixture
def figures(service_advisor, service_manager):
    """Two advisors' quarter: 3,000.00 at stake, 1,300.00 lost to two reasons, one loss won back
    for 250.00, and a corrective action from February 1."""
    finn = make_staff(
        Role.SERVICE_ADVISOR, service_advisor.staff.team, username="finn", first_name="Finn"
    )
    erin = service_advisor
    first = opened(erin, "1000.00", at(2025, 1, 10))
    second = opened(finn, "2000.00", at(2025, 2, 10))
    before = opened(finn, "500.00", at(2024, 12, 1))
    no_show = lose(first, erin, at(2025, 1, 11), "no_show", event="no_show")
    lose(second, finn, at(2025, 2, 11), "price_too_high", "scope_reduced", "300.00")
    lose(before, finn, at(2024, 12, 2), "price_too_high")
    recapture = loss_parts_arrived(loss=no_show, by=service_manager, at=at(2025, 4, 2))
    booking = recapture_book(
        recapture=recapture, by=service_manager, estimated_value="250.00", at=at(2025, 4, 2)
    )
    opportunity_advance(opportunity=booking, to_stage="delivered", by=erin, at=at(2025, 4, 3))
    corrective_action_add(
        reason="no_show", action="Text reminders", started_on=date(2025, 2, 1), by=service_manager
    )


# --- who may see them ------------------------------------------------------------------------


@pytest.mark.parametrize("url", [PAGE, CSV, API])
@pytest.mark.parametrize("persona", ["service_advisor", "salesperson"])
def test_advisors_and_sales_staff_may_not_see_the_kpis(client, request, persona, url):
    client.force_login(request.getfixturevalue(persona))

    assert client.get(url).status_code == 403


@pytest.mark.parametrize("codename", ["view_service_kpis", "view_service_money"])
def test_one_of_the_two_permissions_is_not_enough(client, codename):
    user = make_staff(Role.SALESPERSON, None, username="half")
    user.user_permissions.add(Permission.objects.get(codename=codename))
    client.force_login(user)

    assert client.get(PAGE).status_code == 403
    assert client.get(API).status_code == 403


@pytest.mark.parametrize("url", [PAGE, CSV])
def test_someone_logged_out_is_sent_to_log_in(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


def test_the_api_wants_an_account(client):
    assert client.get(API).status_code in (401, 403)


# --- the page ----------------------------------------------------------------------------------


def test_a_service_manager_sees_the_kpis_in_a_fixed_number_of_queries(
    client, service_manager, figures, django_assert_num_queries
):
    client.force_login(service_manager)

    # 1 session, 2 user, 3 user permissions, 4 group permissions (the view and the menu share
    # them), 5 the corrective actions started in the period with their reasons, 6 money at
    # stake (one UNION ALL: a GROUP BY advisor per month of the period, a SUM per quarter of
    # the period before), 7 money lost (one UNION ALL: a GROUP BY reason and advisor per piece of
    # time between the months' and the actions' windows' edges, by reason alone outside the
    # period), 8 the reasons' labels, 9 the advisors' names, 10 the highest id of the period's
    # losses, 11 how many of the ids just below it are the period's (all: they are a run),
    # 12 what came back of them: their recaptures and recovery opportunities, by that id range.
    with django_assert_num_queries(12):
        response = client.get(PAGE, QUARTER)

    assert response.status_code == 200
    kpis = response.context["kpis"]
    assert (kpis.totals.at_stake, kpis.totals.lost, kpis.totals.percent) == (
        Decimal("3000.00"),
        Decimal("1300.00"),
        Decimal("43.3"),
    )
    assert [(row.code, row.lost, row.previous_lost) for row in kpis.by_reason] == [
        ("no_show", Decimal("1000.00"), Decimal("0.00")),
        ("price_too_high", Decimal("300.00"), Decimal("500.00")),
    ]
    assert kpis.recovery.won_back == Decimal("250.00")
    html = response.content.decode()
    for chart in ("reason", "advisor", "month"):
        assert f'id="chart-lost-by-{chart}" role="img"' in html
    assert 'id="chart-recovery"' in html and 'id="chart-corrective-actions"' in html
    assert '<th scope="row">No-show</th><td class="num">$1,000.00</td>' in html
    assert "43.3%" in html  # of the money at stake
    assert "Text reminders" in html
    assert f'href="{CSV}?start=2025-01-01&amp;end=2025-03-31"' in html


def test_the_query_count_does_not_grow_with_more_months_advisors_or_actions(
    client, service_manager, figures, django_assert_num_queries
):
    for month in range(4, 13):
        opened(None, "100.00", at(2024, month, 3))
    corrective_action_add(
        reason="missing_parts", action="Stock parts", started_on=date(2024, 6, 1),
        by=service_manager,
    )  # fmt: skip
    client.force_login(service_manager)

    with django_assert_num_queries(12):
        response = client.get(PAGE, {"start": "2024-01-01", "end": "2025-03-31"})

    assert len(response.context["kpis"].by_month) == 15
    assert len(response.context["kpis"].actions) == 2


def test_the_default_period_is_the_last_twelve_months(client, service_manager):
    client.force_login(service_manager)
    today = timezone.localdate()

    kpis = client.get(PAGE).context["kpis"]

    assert kpis.period.end == today
    assert kpis.period.start.day == 1
    assert len(kpis.by_month) == 12
    assert kpis.by_month[-1].month == today.replace(day=1)


@pytest.mark.parametrize(
    ("query", "words", "api_words"),
    [
        ({"start": "2025-03-01", "end": "2025-02-01"}, "ends (Feb 1, 2025) before it starts", ""),
        ({"start": "2021-01-01", "end": "2025-01-01"}, "longer than 3 years", ""),
        ({"start": "2025-13-01"}, "Enter a valid date", "Use one of these formats"),
    ],
)
def test_a_period_that_cannot_be_is_refused_with_words(
    client, service_manager, query, words, api_words
):
    client.force_login(service_manager)

    page = client.get(PAGE, query)
    export = client.get(CSV, query)
    api = client.get(API, query)

    assert page.status_code == 422
    assert page.context["kpis"] is None
    assert words in page.content.decode()
    assert (export.status_code, api.status_code) == (400, 400)
    assert words in export.content.decode()
    assert (api_words or words) in str(api.json())


def test_htmx_gets_the_results_alone(client, service_manager, figures):
    client.force_login(service_manager)

    response = client.get(PAGE, QUARTER, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="kpi-results")

    html = response.content.decode()
    assert html.lstrip().startswith('<section id="kpi-results"')
    assert "<form" not in html and "$1,300.00" in html


# --- CSV and API -------------------------------------------------------------------------------


def rows_of(response):
    return list(csv.reader(io.StringIO(response.content.decode())))


def test_the_csv_has_a_row_per_figure_and_names_the_currency(client, service_manager, figures):
    client.force_login(service_manager)

    response = client.get(CSV, QUARTER)

    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "service-kpis-2025-01-01-to-2025-03-31.csv" in response["Content-Disposition"]
    header, *rows = rows_of(response)
    assert header == [
        "section", "key", "label", "lost ($)", "at stake ($)", "percent", "previous", "change",
        "count",
    ]  # fmt: skip
    by_key = {(row[0], row[1]): row for row in rows}
    assert by_key["period", "current"][3:] == [
        "1300.00", "3000.00", "43.3", "500.00", "800.00", "2",
    ]  # fmt: skip
    assert by_key["reason", "no_show"] == [
        "reason", "no_show", "No-show", "1000.00", "3000.00", "33.3", "0.00", "1000.00", "1",
    ]  # fmt: skip
    assert by_key["reason", "price_too_high"][3:] == [
        "300.00", "3000.00", "10.0", "500.00", "-200.00", "1",
    ]  # fmt: skip
    assert by_key["reason_share", "no_show"][5] == "76.9"
    assert by_key["month", "2025-02"][2:] == [
        "February 2025", "300.00", "2000.00", "15.0", "", "", "1",
    ]  # fmt: skip
    assert by_key["recovery", "won_back"][3:] == ["250.00", "", "19.2", "", "", "1"]
    advisors = client.get(PAGE, QUARTER).context["kpis"].by_advisor
    assert [key for section, key in by_key if section == "advisor"] == [
        str(row.advisor_id) for row in advisors
    ]
    action = next(row for row in rows if row[0] == "action" and row[1].endswith("-count"))
    assert "Text reminders (No-show)" in action[2]


def test_the_api_answers_the_figures_the_page_shows(client, service_manager, figures):
    client.force_login(service_manager)

    page = client.get(PAGE, QUARTER).context["kpis"]
    api = client.get(API, QUARTER)

    assert api.status_code == 200
    body = api.json()
    assert body == ServiceKpisSerializer(page).data
    assert body["currency_symbol"] == "$"
    assert body["totals"] == {
        "at_stake": "3000.00", "opened": 2, "lost": "1300.00", "losses": 2, "percent": "43.3",
    }  # fmt: skip
    assert body["by_reason"][0]["code"] == "no_show"
    assert body["recovery"]["won_back"] == "250.00"
    assert body["actions"][0]["action"] == "Text reminders"


def test_the_schema_documents_the_kpis_endpoint(client):
    schema = client.get("/api/v1/schema/", {"format": "json"}).json()

    operation = schema["paths"]["/api/v1/service/kpis/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} == {"start", "end"}
    assert set(operation["responses"]) == {"200", "400"}
    assert "by_reason" in schema["components"]["schemas"]["ServiceKpis"]["properties"]


# --- corrective actions ------------------------------------------------------------------------

ACTIONS = reverse("service:corrective_actions")


def test_the_corrective_actions_page_lists_each_with_its_shares_in_fixed_queries(
    client, service_manager, figures, django_assert_num_queries
):
    corrective_action_add(
        reason="price_too_high", action="Price match", started_on=date(2025, 1, 15),
        by=service_manager, note="Against the chain down the road",
    )  # fmt: skip
    client.force_login(service_manager)

    # session, user, permissions ×2, the count, the page of actions with their reasons and
    # who added them, their losses before and after (one UNION ALL), the reasons of the form.
    with django_assert_num_queries(8):
        response = client.get(ACTIONS)

    rows = response.context["figures"]
    assert [row.action for row in rows] == ["Text reminders", "Price match"]
    html = response.content.decode()
    assert 'id="chart-corrective-actions"' in html
    assert "Against the chain down the road" in html
    assert 'name="action"' in html  # the form to add one


def test_a_manager_adds_a_corrective_action(client, service_manager):
    client.force_login(service_manager)
    reason = Reason.objects.get(kind="service_loss", code="no_capacity")

    response = client.post(
        ACTIONS,
        {"reason": reason.pk, "action": "Saturday shifts", "started_on": "2025-04-01"},
    )

    assert response.status_code == 302
    action = CorrectiveAction.objects.get()
    assert (action.reason, action.action, action.started_on, action.created_by) == (
        reason, "Saturday shifts", date(2025, 4, 1), service_manager,
    )  # fmt: skip


def test_a_corrective_action_needs_what_and_when(client, service_manager):
    client.force_login(service_manager)

    response = client.post(ACTIONS, {"reason": "", "action": " ", "started_on": "soon"})

    assert response.status_code == 422
    assert set(response.context["form"].errors) == {"reason", "action", "started_on"}
    assert not CorrectiveAction.objects.exists()


def test_an_advisor_sees_the_actions_but_may_not_add_one(client, service_advisor, figures):
    client.force_login(service_advisor)

    page = client.get(ACTIONS)
    post = client.post(ACTIONS, {"action": "Mine", "started_on": "2025-04-01"})

    assert page.status_code == 200
    assert page.context["form"] is None and 'name="action"' not in page.content.decode()
    assert post.status_code == 403
    assert CorrectiveAction.objects.count() == 1


def test_sales_staff_do_not_see_the_corrective_actions(client, salesperson):
    client.force_login(salesperson)

    assert client.get(ACTIONS).status_code == 403
