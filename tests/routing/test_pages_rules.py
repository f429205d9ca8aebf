"""The routing pages: managers list, order, switch, create, edit and delete rules; htmx gets
the list fragment back; salespeople get 403 and strangers the login page."""

import pytest
from django.urls import reverse

from dealercrm.models import Role
from dealercrm.services import staff_set_role
from routing.models import RoutingRule
from routing.services import rule_create

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def manager(client, bdc_manager):
    client.force_login(bdc_manager)
    return client


@pytest.fixture
def rules(bdc_manager, salesperson, other_salesperson, sales_team):
    """Three rules in order: hot (weighted, both sellers), chat (Alice), the rest (team pool)."""
    return [
        rule_create(
            by=bdc_manager,
            name="Hot leads",
            conditions={"score_min": 70, "score_max": 100, "makes": ["Toyota"]},
            strategy="weighted",
            members=[salesperson, other_salesperson],
            weights={str(other_salesperson.pk): 3},
            fallback="manager",
            fallback_manager=bdc_manager,
        ),
        rule_create(
            by=bdc_manager,
            name="Chat",
            conditions={"channels": ["chat"]},
            strategy="round_robin",
            members=[salesperson],
            sla_minutes=3,
        ),
        rule_create(by=bdc_manager, name="The rest", strategy="pool", team=sales_team),
    ]


def names_in_order():
    return list(RoutingRule.objects.order_by("priority", "id").values_list("name", flat=True))


def form_data(**changes):
    """A rule form as the browser posts it: every field, empty ones as empty strings."""
    data = {
        "name": "Web leads",
        "priority": "",
        "active": "on",
        "sources": "",
        "score_band": "",
        "score_min": "",
        "score_max": "",
        "vehicle_condition": "",
        "makes": "",
        "hours_from": "",
        "hours_to": "",
        "known_customer": "",
        "strategy": "round_robin",
        "team": "",
        "sla_minutes": "5",
        "max_rotations": "2",
        "fallback": "next_rule",
        "fallback_manager": "",
    }
    data.update(changes)
    return {name: value for name, value in data.items() if value is not None}


def test_the_list_shows_each_rule_in_a_fixed_number_of_queries(
    manager, rules, django_assert_num_queries
):
    # 1 session, 2 user, 3 user permissions, 4 group permissions (the page and the menu share
    # them), 5 the rules with team and fallback manager joined, 6 the members of every rule.
    with django_assert_num_queries(6):
        response = manager.get(reverse("routing:rules"))

    assert response.status_code == 200
    assert [rule.name for rule in response.context["rules"]] == [
        "Hot leads",
        "Chat",
        "The rest",
    ]
    html = response.content.decode()
    assert "score 70–100 · Toyota" in html
    assert "Alice alice ×1, Bob bob ×3" in html
    assert "A named manager" in html and "manager Dana dana" in html
    assert "3 min" in html
    assert "New cars" in html
    assert "every lead" in html
    assert reverse("routing:rule_edit", args=[rules[1].pk]) in html
    assert reverse("routing:rule_new") in html
    assert 'href="/routing/"' in html  # the menu link


def test_htmx_switches_a_rule_off_and_gets_the_list_back(manager, rules):
    response = manager.post(
        reverse("routing:rule_toggle", args=[rules[1].pk]), {"active": "0"}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="rules"')
    assert "<html" not in html
    assert 'class="inactive"' in html
    rules[1].refresh_from_db()
    assert rules[1].active is False


def test_switching_posts_the_state_wanted_so_a_repeat_changes_nothing(manager, rules):
    url = reverse("routing:rule_toggle", args=[rules[0].pk])

    manager.post(url, {"active": "0"}, **HTMX)
    manager.post(url, {"active": "0"}, **HTMX)

    rules[0].refresh_from_db()
    assert rules[0].active is False


def test_without_javascript_switching_redirects_to_the_list(manager, rules):
    response = manager.post(reverse("routing:rule_toggle", args=[rules[2].pk]), {"active": "0"})

    assert response.status_code == 302
    assert response.url == reverse("routing:rules")
    rules[2].refresh_from_db()
    assert rules[2].active is False


def test_a_rule_whose_member_left_sales_can_still_be_switched_off(manager, rules, salesperson):
    staff_set_role(user=salesperson, role=Role.SERVICE_ADVISOR)  # Alice moved to service

    response = manager.post(
        reverse("routing:rule_toggle", args=[rules[1].pk]), {"active": "0"}, **HTMX
    )

    assert response.status_code == 200
    assert "cannot change" not in response.content.decode()
    rules[1].refresh_from_db()
    assert rules[1].active is False


def test_a_bad_switch_is_a_bad_request(manager, rules):
    response = manager.post(reverse("routing:rule_toggle", args=[rules[0].pk]), {"active": "x"})

    assert response.status_code == 400


def test_htmx_moves_a_rule_up_and_gets_the_new_order(manager, rules):
    response = manager.post(
        reverse("routing:rule_move", args=[rules[2].pk]), {"offset": "-1"}, **HTMX
    )

    assert response.status_code == 200
    html = response.content.decode()
    assert "<html" not in html
    assert html.index("The rest") < html.index(">Chat<")
    assert names_in_order() == ["Hot leads", "The rest", "Chat"]
    assert list(RoutingRule.objects.order_by("priority").values_list("priority", flat=True)) == [
        10,
        20,
        30,
    ]


def test_without_javascript_moving_redirects_to_the_list(manager, rules):
    response = manager.post(reverse("routing:rule_move", args=[rules[0].pk]), {"offset": "1"})

    assert response.status_code == 302
    assert names_in_order() == ["Chat", "Hot leads", "The rest"]


def test_a_new_rule_from_the_form_keeps_its_band_channels_and_days(
    manager, bdc_manager, salesperson, other_salesperson
):
    response = manager.post(
        reverse("routing:rule_new"),
        form_data(
            name="Hot web and chat",
            sources="website, cars-com",
            channels=["web_form", "chat"],
            score_band="hot",
            vehicle_condition="new",
            makes="Toyota, Lexus",
            weekdays=["0", "1", "2", "3", "4"],
            hours_from="08:00",
            hours_to="20:00",
            known_customer="no",
            strategy="weighted",
            members=[str(salesperson.pk), str(other_salesperson.pk)],
            **{f"weight_{salesperson.pk}": "1", f"weight_{other_salesperson.pk}": "3"},
            fallback="manager",
            fallback_manager=str(bdc_manager.pk),
        ),
    )

    assert response.status_code == 302, response.context["form"].errors
    rule = RoutingRule.objects.get(name="Hot web and chat")
    assert rule.conditions == {
        "sources": ["cars-com", "website"],
        "channels": ["chat", "web_form"],
        "score_min": 70,
        "score_max": 100,
        "vehicle_condition": "new",
        "makes": ["lexus", "toyota"],
        "weekdays": [0, 1, 2, 3, 4],
        "hours_from": "08:00",
        "hours_to": "20:00",
        "known_customer": False,
    }
    assert rule.weights == {str(salesperson.pk): 1, str(other_salesperson.pk): 3}
    assert set(rule.members.all()) == {salesperson, other_salesperson}
    assert (rule.fallback, rule.fallback_manager) == ("manager", bdc_manager)
    assert rule.priority == 10  # the first rule: empty priority puts it last


def test_the_edit_form_shows_the_rule_and_saves_changes(manager, rules, salesperson):
    hot = rules[0]
    url = reverse("routing:rule_edit", args=[hot.pk])

    form = manager.get(url).context["form"]
    assert form.initial["score_band"] == "hot"
    assert form.initial["makes"] == "Toyota"
    assert set(form["members"].value()) == {user.pk for user in hot.members.all()}

    response = manager.post(
        url,
        form_data(
            name="Warm chats",
            priority="10",
            active="",
            score_band="warm",
            channels=["chat", "phone"],
            strategy="round_robin",
            members=[str(salesperson.pk)],
            sla_minutes="7",
        ),
    )

    assert response.status_code == 302, response.context["form"].errors
    hot.refresh_from_db()
    assert hot.name == "Warm chats"
    assert hot.active is False
    assert hot.conditions == {"channels": ["chat", "phone"], "score_min": 40, "score_max": 69}
    assert hot.weights == {}  # weights belong to the weighted split only
    assert list(hot.members.all()) == [salesperson]
    assert hot.sla_minutes == 7


def test_an_explicit_score_range_is_kept(manager, salesperson):
    manager.post(
        reverse("routing:rule_new"),
        form_data(score_min="55", score_max="90", members=[str(salesperson.pk)]),
    )

    rule = RoutingRule.objects.get(name="Web leads")
    assert (rule.conditions["score_min"], rule.conditions["score_max"]) == (55, 90)


def test_a_band_and_a_different_range_together_are_refused(manager, salesperson):
    response = manager.post(
        reverse("routing:rule_new"),
        form_data(score_band="hot", score_min="10", members=[str(salesperson.pk)]),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "score_band": ["Choose a band or a range, not both."]
    }
    assert not RoutingRule.objects.exists()


def test_a_refusal_from_the_service_is_shown_next_to_its_field(manager, salesperson):
    response = manager.post(
        reverse("routing:rule_new"),
        form_data(members=[str(salesperson.pk)], fallback="manager"),
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "fallback_manager": ["Name the manager who takes the leads."]
    }
    assert "Name the manager who takes the leads." in response.content.decode()
    assert not RoutingRule.objects.exists()


def test_a_refused_condition_is_shown_next_to_it(manager, salesperson):
    response = manager.post(
        reverse("routing:rule_new"),
        form_data(members=[str(salesperson.pk)], hours_from="08:00"),
    )

    assert response.context["form"].errors == {
        "hours_to": ["Give both hours_from and hours_to, or neither."]
    }


def test_a_rule_needs_people_or_a_team(manager):
    response = manager.post(reverse("routing:rule_new"), form_data())

    assert response.context["form"].errors == {
        "members": ["Name the people who take these leads, or a team."]
    }


def test_a_service_advisor_is_not_offered_as_a_member(manager, salesperson, service_advisor):
    form = manager.get(reverse("routing:rule_new")).context["form"]

    offered = set(form.fields["members"].queryset)
    assert salesperson in offered
    assert service_advisor not in offered


def test_deleting_a_rule_from_its_page(manager, rules):
    response = manager.post(reverse("routing:rule_delete", args=[rules[1].pk]))

    assert response.status_code == 302
    assert names_in_order() == ["Hot leads", "The rest"]
    assert manager.get(reverse("routing:rule_edit", args=[rules[1].pk])).status_code == 404


def test_a_salesperson_gets_403_everywhere(client, salesperson, rules):
    client.force_login(salesperson)
    pk = rules[0].pk

    for url in (
        reverse("routing:rules"),
        reverse("routing:rule_new"),
        reverse("routing:rule_edit", args=[pk]),
    ):
        assert client.get(url).status_code == 403, url
    for url, data in (
        (reverse("routing:rule_new"), form_data(team="")),
        (reverse("routing:rule_edit", args=[pk]), form_data(name="Mine")),
        (reverse("routing:rule_toggle", args=[pk]), {"active": "0"}),
        (reverse("routing:rule_move", args=[pk]), {"offset": "1"}),
        (reverse("routing:rule_delete", args=[pk]), {}),
    ):
        assert client.post(url, data).status_code == 403, url
    assert names_in_order() == ["Hot leads", "Chat", "The rest"]
    assert RoutingRule.objects.get(pk=pk).active
    assert 'href="/routing/"' not in client.get(reverse("leads:list")).content.decode()


def test_strangers_are_sent_to_log_in(client, rules):
    for url in (
        reverse("routing:rules"),
        reverse("routing:rule_new"),
        reverse("routing:rule_edit", args=[rules[0].pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(f"{reverse('login')}?next=")
    response = client.post(reverse("routing:rule_delete", args=[rules[0].pk]))
    assert response.url.startswith(reverse("login"))
    assert RoutingRule.objects.count() == 3


def test_pages_load_htmx_from_our_own_static_files(manager):
    html = manager.get(reverse("routing:rules")).content.decode()

    # django-htmx serves the htmx it ships; no CDN.
    assert '<script src="/static/django_htmx/htmx-2.min.js" defer></script>' in html
