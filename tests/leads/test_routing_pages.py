"""The routing pages that need lead data: staff on shift and capacity with the opening hours,
preview and replay. Managers use them; salespeople get 403 and strangers the login page."""

import re
from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import Role, StaffProfile
from dealercrm.services import staff_response_times_set
from leads.intake import lead_intake
from leads.models import Lead, LeadEvent, LeadStatus
from leads.submission import Submission, VehicleDetails
from routing.models import OpeningHours, RoutingCursor, Strategy
from routing.services import opening_hours_set, rule_create
from tests.factories import make_lead, make_staff

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
PAGES = ["lead_routing:staff", "lead_routing:preview", "lead_routing:replay"]
CAPACITY_ERROR = "Capacity is a whole number of open leads, 0 to 1,000."


@pytest.fixture
def manager(client, bdc_manager):
    client.force_login(bdc_manager)
    return client


def row_of(html, user):
    """The staff table row of `user`."""
    match = re.search(rf'<tr id="staff-{user.pk}".*?</tr>', html, re.S)
    assert match, f"no row for {user.username}"
    return match.group(0)


def text(html):
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


# --- who may open the pages ---------------------------------------------------------------


@pytest.mark.parametrize("page", PAGES)
def test_a_salesperson_may_not_open_the_manager_pages(client, salesperson, page):
    client.force_login(salesperson)

    assert client.get(reverse(page)).status_code == 403


@pytest.mark.parametrize("page", PAGES)
def test_a_stranger_is_sent_to_log_in(client, page):
    response = client.get(reverse(page))

    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_a_salesperson_cannot_put_anyone_off_shift_or_change_the_hours(
    client, salesperson, other_salesperson
):
    client.force_login(salesperson)
    hours_before = stored_hours()

    shift = client.post(
        reverse("lead_routing:staff_update", args=[other_salesperson.pk]), {"on_shift": "0"}
    )
    hours = client.post(reverse("lead_routing:hours"), hours_form())

    assert shift.status_code == 403 and hours.status_code == 403
    assert StaffProfile.objects.get(user=other_salesperson).on_shift is True
    assert stored_hours() == hours_before


def test_every_routing_page_links_to_the_others(manager):
    for page in ["routing:rules", *PAGES]:
        html = manager.get(reverse(page)).content.decode()
        for other in ["routing:rules", *PAGES]:
            assert f'href="{reverse(other)}"' in html
        assert html.count('aria-current="page"') == 1


# --- staff on shift and capacity ----------------------------------------------------------


def test_the_staff_page_shows_open_leads_against_capacity_and_response_times(
    manager, salesperson, other_salesperson, bdc_manager
):
    StaffProfile.objects.filter(user=salesperson).update(capacity=3)
    for _ in range(3):
        make_lead(owner=salesperson)
    make_lead(owner=salesperson, status=LeadStatus.SOLD)  # closed: not counted
    make_lead(owner=other_salesperson, status=LeadStatus.CONTACTED)
    staff_response_times_set({salesperson.pk: 240.0, other_salesperson.pk: 45.0})

    response = manager.get(reverse("lead_routing:staff"))

    assert response.status_code == 200
    html = response.content.decode()
    alice = text(row_of(html, salesperson))
    assert "Alice" in alice and "Salesperson" in alice and "New cars" in alice
    assert "3 of 3 full" in alice
    assert "4 min" in alice
    assert 'class="full"' in row_of(html, salesperson)
    bob = text(row_of(html, other_salesperson))
    assert "1 of 25" in bob and "full" not in bob
    assert "45 s" in bob
    dana = text(row_of(html, bdc_manager))
    assert "BDC manager" in dana and "0 of 25" in dana and "—" in dana
    assert [p.user_id for p in response.context["people"]] == [
        bdc_manager.pk,  # team BDC before New cars
        salesperson.pk,
        other_salesperson.pk,
    ]


@pytest.mark.parametrize("people", [3, 6])
def test_the_staff_page_takes_the_same_queries_however_many_people(
    manager, sales_team, people, django_assert_num_queries
):
    for n in range(people):
        seller = make_staff(Role.SALESPERSON, sales_team, username=f"seller{n}")
        make_lead(owner=seller)
        make_lead(owner=seller, status=LeadStatus.QUALIFIED)
    opening_hours_set(hours={0: (time(9), time(18))}, by=None)

    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the people with user and
    # team joined and their open leads counted in a subquery, 6 the opening hours (then cached).
    with django_assert_num_queries(6):
        response = manager.get(reverse("lead_routing:staff"))

    assert len(response.context["people"]) == people + 1  # and Dana, the manager
    assert text(response.content.decode()).count("2 of 25") == people


def test_htmx_puts_a_person_off_shift_and_gets_their_row_back(manager, salesperson):
    make_lead(owner=salesperson)

    response = manager.post(
        reverse("lead_routing:staff_update", args=[salesperson.pk]), {"on_shift": "0"}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="staff-{salesperson.pk}"')
    assert "<html" not in html
    assert "Off shift" in html and "1 of 25" in text(html)
    assert 'name="on_shift" value="1"' in html  # the button now puts her back on shift
    assert StaffProfile.objects.get(user=salesperson).on_shift is False


def test_putting_a_person_off_shift_twice_leaves_them_off(manager, salesperson):
    url = reverse("lead_routing:staff_update", args=[salesperson.pk])

    manager.post(url, {"on_shift": "0"}, **HTMX)
    manager.post(url, {"on_shift": "0"}, **HTMX)

    assert StaffProfile.objects.get(user=salesperson).on_shift is False


def test_without_javascript_a_change_redirects_to_the_staff_page(manager, salesperson):
    response = manager.post(
        reverse("lead_routing:staff_update", args=[salesperson.pk]), {"capacity": "12"}
    )

    assert response.status_code == 302
    assert response.url == reverse("lead_routing:staff")
    assert StaffProfile.objects.get(user=salesperson).capacity == 12


def test_htmx_sets_a_capacity_and_the_row_shows_it(manager, salesperson):
    make_lead(owner=salesperson)

    response = manager.post(
        reverse("lead_routing:staff_update", args=[salesperson.pk]), {"capacity": "1"}, **HTMX
    )

    assert "1 of 1 full" in text(response.content.decode())
    assert StaffProfile.objects.get(user=salesperson).capacity == 1


@pytest.mark.parametrize("bad", ["-3", "1001", "lots", "2.5", ""])
def test_a_bad_capacity_is_refused_in_the_row_and_changes_nothing(manager, salesperson, bad):
    response = manager.post(
        reverse("lead_routing:staff_update", args=[salesperson.pk]), {"capacity": bad}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith(f'<tr id="staff-{salesperson.pk}"')
    assert CAPACITY_ERROR in html
    assert "Alice alice&#x27;s capacity stays 25." in html
    assert 'aria-invalid="true"' in html
    assert StaffProfile.objects.get(user=salesperson).capacity == 25


def test_a_change_of_someone_who_works_no_leads_is_not_found(manager, service_advisor):
    response = manager.post(
        reverse("lead_routing:staff_update", args=[service_advisor.pk]), {"on_shift": "0"}
    )

    assert response.status_code == 404
    assert StaffProfile.objects.get(user=service_advisor).on_shift is True


# --- opening hours ------------------------------------------------------------------------


def hours_form(**changes):
    """The hours form as the browser posts it: Monday to Saturday open, Sunday closed."""
    data = {}
    for day in range(7):
        data[f"opens_{day}"] = "09:00" if day < 5 else "10:00"
        data[f"closes_{day}"] = "18:00" if day < 5 else "16:00"
    data["opens_6"] = data["closes_6"] = ""
    data["closed_6"] = "on"
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def stored_hours():
    return {h.weekday: (h.opens, h.closes) for h in OpeningHours.objects.all()}


def test_the_staff_page_shows_the_opening_hours_with_closed_days_ticked(manager):
    opening_hours_set(hours={0: (time(8, 30), time(17))}, by=None)

    html = manager.get(reverse("lead_routing:staff")).content.decode()

    assert 'name="opens_0" value="08:30"' in html and 'name="closes_0" value="17:00"' in html
    assert re.search(r'<input type="checkbox" name="closed_1"[^>]* checked', html)
    assert not re.search(r'<input type="checkbox" name="closed_0"[^>]* checked', html)


def test_saving_the_opening_hours_stores_them_and_a_closed_day_has_no_hours(manager):
    response = manager.post(reverse("lead_routing:hours"), hours_form(), **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<section id="opening-hours"')
    assert "Opening hours saved." in html
    assert 'name="opens_5" value="10:00"' in html
    assert stored_hours() == {
        **{day: (time(9), time(18)) for day in range(5)},
        5: (time(10), time(16)),
    }


def test_without_javascript_saving_the_hours_redirects_to_the_staff_page(manager):
    response = manager.post(reverse("lead_routing:hours"), hours_form(closed_5="on"))

    assert response.status_code == 302
    assert response.url == reverse("lead_routing:staff")
    assert sorted(stored_hours()) == [0, 1, 2, 3, 4]


def test_closing_before_opening_is_refused_naming_the_weekday(manager):
    opening_hours_set(hours={1: (time(9), time(18))}, by=None)

    response = manager.post(
        reverse("lead_routing:hours"), hours_form(opens_1="18:00", closes_1="09:00"), **HTMX
    )

    html = response.content.decode()
    assert "Tuesday must close after it opens." in html
    assert "Opening hours saved." not in html
    assert 'name="opens_1" value="18:00"' in html  # what was typed stays to be corrected
    assert stored_hours() == {1: (time(9), time(18))}


def test_an_open_day_needs_both_times(manager):
    hours_before = stored_hours()

    response = manager.post(reverse("lead_routing:hours"), hours_form(closes_3=""))

    assert response.status_code == 200  # the page again, with the error
    assert "Thursday: give the opening and closing time, or tick closed." in (
        response.content.decode()
    )
    assert stored_hours() == hours_before


# --- preview ------------------------------------------------------------------------------


@pytest.fixture
def rules(bdc_manager, salesperson, other_salesperson, sales_team):
    """Hot Toyotas go to Bob; chat to Alice, but that rule is off; the rest wait in the pool."""
    return {
        "hot": rule_create(
            by=bdc_manager,
            name="Hot Toyotas",
            conditions={"score_min": 70, "makes": ["Toyota"]},
            strategy=Strategy.ROUND_ROBIN,
            members=[other_salesperson],
            sla_minutes=10,
        ),
        "chat": rule_create(
            by=bdc_manager,
            name="Chat to Alice",
            active=False,
            conditions={"channels": ["chat"]},
            strategy=Strategy.ROUND_ROBIN,
            members=[salesperson],
        ),
        "rest": rule_create(by=bdc_manager, name="The rest", strategy="pool", team=sales_team),
    }


def typed(**changes):
    data = {
        "lead": "",
        "source": "website",
        "channel": "web_form",
        "score": "85",
        "vehicle_condition": "new",
        "make": "Toyota",
        "known_customer": "no",
        "previous_owner": "",
        "at": "",
        "rule_set": "active",
    }
    data.update(changes)
    return data


def test_the_preview_form_offers_every_rule_for_a_draft_with_the_active_ones_ticked(manager, rules):
    html = manager.get(reverse("lead_routing:preview")).content.decode()

    assert "Chat to Alice (inactive)" in html
    assert re.search(rf'value="{rules["hot"].pk}"[^>]* checked', html)
    assert not re.search(rf'value="{rules["chat"].pk}"[^>]* checked', html)
    assert 'type="datetime-local"' in html and 'name="at" value="20' in html  # now
    assert 'id="preview-result"' in html and "would get it" not in html


def test_preview_of_a_typed_hot_lead_names_the_person_and_the_rule_and_writes_nothing(
    manager, rules, other_salesperson
):
    events, leads = LeadEvent.objects.count(), Lead.objects.count()
    cursor = RoutingCursor.objects.get(rule=rules["hot"]).state

    response = manager.get(reverse("lead_routing:preview"), typed(), **HTMX)

    assert response.status_code == 200
    html = response.content.decode()
    assert html.strip().startswith('<section id="preview-result"')
    assert "<html" not in html
    assert "Bob bob would get it" in html
    assert "<strong>Hot Toyotas</strong> (round robin)" in html
    assert "Rule &#x27;Hot Toyotas&#x27; → round robin: Bob bob&#x27;s turn among 1" in html
    assert "10 minutes of opening hours" in html
    assert "0 of 25" in text(html)
    assert (LeadEvent.objects.count(), Lead.objects.count()) == (events, leads)
    assert RoutingCursor.objects.get(rule=rules["hot"]).state == cursor


def test_preview_shows_the_rules_passed_over_and_the_pool(manager, rules):
    response = manager.get(reverse("lead_routing:preview"), typed(score="20"), **HTMX)

    html = response.content.decode()
    assert "It would wait in the New cars pool" in html
    assert "&#x27;Hot Toyotas&#x27; skipped: score 20 is below 70" in html


def test_preview_with_a_draft_uses_an_inactive_rule_ticked_in_it(manager, rules, salesperson):
    draft = typed(channel="chat", rule_set="draft", rules=[rules["chat"].pk, rules["rest"].pk])
    active = manager.get(reverse("lead_routing:preview"), typed(channel="chat", score="20"))

    response = manager.get(reverse("lead_routing:preview"), draft)

    assert "It would wait in the New cars pool" in active.content.decode()
    decision = response.context["result"]["decision"]
    assert decision.owner_id == salesperson.pk
    assert decision.rule_name == "Chat to Alice"
    assert "Alice alice would get it" in response.content.decode()


def test_a_draft_needs_a_rule(manager, rules):
    response = manager.get(reverse("lead_routing:preview"), typed(rule_set="draft"), **HTMX)

    html = response.content.decode()
    assert "Draft rule set: Tick at least one rule for the draft, or try the active rules." in html
    assert "would get it" not in html and "would wait" not in html


def test_preview_works_without_javascript_for_an_existing_lead(manager, rules, other_salesperson):
    lead = make_lead(score=90, vehicle_make="Toyota")

    response = manager.get(reverse("lead_routing:preview"), {"lead": lead.pk})

    html = response.content.decode()
    assert "<html" in html and 'id="preview-result"' in html
    assert "Bob bob would get it" in html
    assert f'name="lead" value="{lead.pk}"' in html
    assert re.search(rf'value="{rules["hot"].pk}"[^>]* checked', html)  # the active set
    assert not re.search(rf'value="{rules["chat"].pk}"[^>]* checked', html)


def test_preview_of_a_lead_that_does_not_exist_says_so(manager, rules):
    response = manager.get(reverse("lead_routing:preview"), {"lead": "999999"}, **HTMX)

    assert response.status_code == 200
    assert "There is no lead with this number that you may see." in response.content.decode()


# --- replay -------------------------------------------------------------------------------


def inquiry(n):
    return Submission(
        source="website",
        external_id=f"replay-{n}",
        first_name=f"Customer{n}",
        emails=(f"buyer{n}@example.net",),
        vehicle=VehicleDetails(make="Toyota", model="Corolla"),
    )


@pytest.fixture
def replayable(bdc_manager, salesperson, other_salesperson):
    """Leads that came in two days ago and were taken in turns by Alice and Bob, and a draft
    rule, off, that would give them all to Alice."""

    def arrive(count):
        rule_create(
            by=bdc_manager,
            name="Web leads",
            strategy=Strategy.ROUND_ROBIN,
            members=[salesperson, other_salesperson],
        )
        two_days_ago = timezone.now() - timedelta(days=2)
        for n in range(count):
            lead_intake(inquiry(n), at=two_days_ago + timedelta(minutes=n))
        return rule_create(
            by=bdc_manager,
            name="All to Alice",
            active=False,
            strategy=Strategy.ROUND_ROBIN,
            members=[salesperson],
        )

    return arrive


def test_replay_with_a_draft_shows_who_would_have_got_the_leads(
    manager, replayable, salesperson, other_salesperson
):
    draft = replayable(10)
    assert Lead.objects.filter(owner=salesperson).count() == 5

    response = manager.get(
        reverse("lead_routing:replay"), {"days": "7", "rule_set": "draft", "rules": draft.pk}
    )

    result = response.context["result"]
    rows = {row.person_id: (row.replayed, row.actual, row.difference) for row in result.rows}
    assert rows == {salesperson.pk: (10, 5, 5), other_salesperson.pk: (0, 5, -5), None: (0, 0, 0)}
    assert result.by_rule == (("All to Alice", 10), ("No rule (pool)", 0))
    assert (result.leads, result.changed) == (10, 5)
    html = text(response.content.decode())
    assert "Alice alice 10 5 +5" in html
    assert "Bob bob 0 5 -5" in html
    assert "Pool (unassigned) 0 0 0" in html
    assert "10 leads in the last 7 days" in html and "5 would change hands" in html
    assert "everyone active now counts as on shift" in html


def test_replay_with_the_active_rules_matches_what_happened(
    manager, replayable, salesperson, other_salesperson
):
    replayable(4)

    response = manager.get(reverse("lead_routing:replay"), {"days": "30"})

    result = response.context["result"]
    assert {row.person_id: (row.replayed, row.actual) for row in result.rows} == {
        salesperson.pk: (2, 2),
        other_salesperson.pk: (2, 2),
        None: (0, 0),
    }
    assert result.changed == 0 and result.by_rule[0] == ("Web leads", 4)


def test_leads_older_than_the_days_are_not_replayed(manager, replayable):
    replayable(3)

    response = manager.get(reverse("lead_routing:replay"), {"days": "1"})

    assert response.context["result"].leads == 0


def test_the_replay_form_runs_nothing_until_asked_and_refuses_bad_days(manager):
    page = manager.get(reverse("lead_routing:replay"))
    bad = manager.get(reverse("lead_routing:replay"), {"days": "91"}, **HTMX)

    assert page.context["result"] is None and 'name="days" value="30"' in page.content.decode()
    html = bad.content.decode()
    assert "Days: Ensure this value is less than or equal to 90." in html
    assert "would change hands" not in html


@pytest.mark.parametrize("leads", [10, 20])
def test_the_replay_takes_the_same_queries_however_many_leads(
    manager, replayable, leads, django_assert_num_queries
):
    draft = replayable(leads)
    query = {"days": "30", "rule_set": "draft", "rules": draft.pk}

    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the rules for the tick
    # boxes; the replay: 6 the draft rules, 7 their members, 8 the leads with their previous
    # and first owners, 9 the people with their open leads, 10 the lead sources' teams,
    # 11 the leads still open when the window began, 12 the names of those who actually got
    # leads but are not in the draft (Bob).
    with django_assert_num_queries(12):
        response = manager.get(reverse("lead_routing:replay"), query, **HTMX)

    html = response.content.decode()
    assert html.strip().startswith('<section id="replay-result"')
    assert f"{leads} leads in the last 30 days" in text(html)
    assert f"Alice alice {leads} {leads // 2} +{leads // 2}" in text(html)
