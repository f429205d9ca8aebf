"""The managers' life-cycle pages — the comebacks review queue and the life-cycle settings —
and what the stale sweep leaves in the workspace: the quiet badge and the comeback on the
timeline."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from dealercrm.models import Notification, Role
from dealercrm.schedules import sweep_run
from leads.errors import ActorRequired, InvalidLifecycleSetting
from leads.lifecycle_forms import LifecycleSettingsForm
from leads.lifecycle_settings import lifecycle_settings_set
from leads.models import FollowUpTask, LeadEvent, LeadStatus, LifecycleSettings, Resurfacing
from leads.resurfacing import lead_reactivate, resurfacing_review_decide
from leads.services import activity_log
from tests.factories import browse, make_lead, make_staff

COMEBACKS = "/leads/comebacks/"
SETTINGS = "/leads/lifecycle-settings/"
HTMX = {"HTTP_HX_REQUEST": "true"}


def decide_url(resurfacing):
    return f"/leads/comebacks/{resurfacing.pk}/decide/"


@pytest.fixture
def review_mode(bdc_manager):
    """The dealership wants a manager to decide on lost customers shopping again."""
    lifecycle_settings_set(
        by=bdc_manager, reactivation_mode=LifecycleSettings.ReactivationMode.REVIEW
    )


def shopping_again(owner, *, minutes=60):
    """A lead `owner` lost whose customer looked at a car on the website `minutes` later: the
    reactivation finds it (in review mode: a comeback waiting for a manager)."""
    lead = make_lead(LeadStatus.LOST, owner=owner)
    seen = timezone.now() + timedelta(minutes=minutes)
    browse(lead.customer, seen)
    lead_reactivate(lead.pk, now=seen + timedelta(minutes=5))
    return lead, lead.resurfacings.order_by("-id").first()


# --- who may see them -------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("path", [COMEBACKS, SETTINGS])
def test_a_salesperson_may_not_open_the_managers_pages(client, salesperson, path):
    client.force_login(salesperson)

    assert client.get(path).status_code == 403


@pytest.mark.django_db
@pytest.mark.parametrize("path", [COMEBACKS, SETTINGS])
def test_someone_logged_out_is_sent_to_log_in(client, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={path}"


def test_a_salesperson_may_not_decide_a_comeback(client, salesperson, review_mode):
    lead, comeback = shopping_again(salesperson)
    client.force_login(salesperson)

    response = client.post(decide_url(comeback), {"decision": "reopen"})

    assert response.status_code == 403
    comeback.refresh_from_db()
    lead.refresh_from_db()
    assert (comeback.outcome, lead.status) == (Resurfacing.Outcome.REVIEW, LeadStatus.LOST)


def test_the_menu_shows_the_managers_their_pages_and_nobody_else(client, salesperson, bdc_manager):
    client.force_login(salesperson)
    selling = client.get("/leads/queue/").content.decode()
    client.force_login(bdc_manager)
    managing = client.get("/leads/board/").content.decode()

    for link in (f'href="{COMEBACKS}">Comebacks', 'href="/sweeps/">Scheduled work'):
        assert link not in selling
        assert link in managing


# --- the review queue ---------------------------------------------------------------------------


def test_the_queue_lists_comebacks_waiting_oldest_first_with_what_the_customer_did(
    client, bdc_manager, salesperson, other_salesperson, review_mode, django_assert_num_queries
):
    first, first_comeback = shopping_again(salesperson, minutes=30)
    _, second_comeback = shopping_again(other_salesperson, minutes=90)
    _, third_comeback = shopping_again(salesperson, minutes=150)
    resurfacing_review_decide(resurfacing=third_comeback, by=bdc_manager, reopen=False)
    lifecycle_settings_set(
        by=bdc_manager, reactivation_mode=LifecycleSettings.ReactivationMode.REOPEN
    )
    _, reopened_comeback = shopping_again(other_salesperson, minutes=200)
    client.force_login(bdc_manager)

    # 1 session, 2 user, 3 user permissions, 4 group permissions (the page, the visibility
    # filter and the menu share them), 5 the comebacks waiting with their leads' customers,
    # owners and reasons, 6 the recent comebacks with customers, owners and deciders.
    with django_assert_num_queries(6):
        response = client.get(COMEBACKS)

    assert [item.pk for item in response.context["pending"]] == [
        first_comeback.pk,
        second_comeback.pk,
    ]
    recent = list(response.context["recent"])
    assert [item.pk for item in recent] == [
        reopened_comeback.pk,
        third_comeback.pk,
        second_comeback.pk,
        first_comeback.pk,
    ]
    assert [item.outcome for item in recent[:2]] == ["reopened", "dismissed"]
    assert (recent[0].owner, recent[1].decided_by) == (other_salesperson, bdc_manager)
    page = response.content.decode()
    assert first_comeback.summary.startswith("1 visit since")
    assert first_comeback.summary in page
    row = page[page.index(f'id="comeback-{first_comeback.pk}"') :]
    row = row[: row.index("</tr>")]
    assert escape(first.customer) in row
    assert "Lost</span> · Bought from another dealer" in row
    assert "Alice alice" in row
    assert 'value="reopen"' in row and 'value="dismiss"' in row
    assert f'href="{SETTINGS}"' in page


def test_returning_a_comeback_to_work_gives_the_customer_back_to_their_salesperson(
    client, bdc_manager, salesperson, review_mode
):
    lead, comeback = shopping_again(salesperson)
    client.force_login(bdc_manager)

    response = client.post(decide_url(comeback), {"decision": "reopen"}, **HTMX)

    assert response.status_code == 200
    assert response["HX-Trigger"] == "comebackDecided"
    body = response.content.decode()
    assert body.strip().startswith(f'<tr id="comeback-{comeback.pk}" class="decided">')
    assert escape(f"{lead.customer} is back at work with Alice alice, who was told.") in body
    lead.refresh_from_db()
    assert (lead.status, lead.owner, lead.resurfaced_at is not None) == (
        LeadStatus.CONTACTED,
        salesperson,
        True,
    )
    comeback.refresh_from_db()
    assert (comeback.outcome, comeback.decided_by, comeback.owner) == (
        Resurfacing.Outcome.REOPENED,
        bdc_manager,
        salesperson,
    )
    reopening = lead.events.get(kind=LeadEvent.Kind.REOPENED)
    assert (reopening.cause, reopening.actor) == (LeadEvent.ReopenCause.RESURFACING, bdc_manager)
    told = Notification.objects.get(recipient=salesperson, kind="resurfaced")
    assert told.message == f"{lead.customer} came back: {comeback.summary}"
    assert told.url == f"/leads/{lead.pk}/"
    task = lead.tasks.get(kind=FollowUpTask.Kind.RESURFACED)
    assert (task.assignee, task.status) == (salesperson, FollowUpTask.Status.OPEN)


def test_dismissing_a_comeback_leaves_the_lead_lost(client, bdc_manager, salesperson, review_mode):
    lead, comeback = shopping_again(salesperson)
    client.force_login(bdc_manager)

    response = client.post(decide_url(comeback), {"decision": "dismiss"}, follow=True)

    assert response.redirect_chain == [(COMEBACKS, 302)]
    assert [str(message) for message in response.context["messages"]] == [
        f"Dismissed: {lead.customer} stays lost. Only new visits to the website can bring "
        f"the lead back."
    ]
    assert list(response.context["pending"]) == []
    lead.refresh_from_db()
    assert (lead.status, lead.owner) == (LeadStatus.LOST, salesperson)
    comeback.refresh_from_db()
    assert (comeback.outcome, comeback.decided_by, comeback.owner) == (
        Resurfacing.Outcome.DISMISSED,
        bdc_manager,
        None,
    )
    assert not Notification.objects.filter(recipient=salesperson, kind="resurfaced").exists()


def test_a_second_decision_on_a_comeback_says_it_was_already_decided(
    client, bdc_manager, salesperson, sales_team, review_mode
):
    lead, comeback = shopping_again(salesperson)
    other_manager = make_staff(Role.SALES_MANAGER, sales_team, username="sam", first_name="Sam")
    client.force_login(bdc_manager)
    client.post(decide_url(comeback), {"decision": "reopen"}, **HTMX)
    client.force_login(other_manager)

    htmx = client.post(decide_url(comeback), {"decision": "dismiss"}, **HTMX)
    plain = client.post(decide_url(comeback), {"decision": "dismiss"}, follow=True)

    comeback.refresh_from_db()
    decided = timezone.localtime(comeback.decided_at)
    words = (
        f"Already decided: Dana dana returned {lead.customer} to work at "
        f"{decided:%H:%M} on {decided:%b %-d}. Nothing was changed."
    )
    assert htmx.status_code == 409
    assert escape(words) in htmx.content.decode()
    assert "HX-Trigger" not in htmx
    assert [str(message) for message in plain.context["messages"]] == [words]
    assert (comeback.outcome, comeback.decided_by) == (Resurfacing.Outcome.REOPENED, bdc_manager)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.CONTACTED


def test_a_decision_must_say_which(client, bdc_manager, salesperson, review_mode):
    _, comeback = shopping_again(salesperson)
    client.force_login(bdc_manager)

    response = client.post(decide_url(comeback), {"decision": "maybe"})

    assert response.status_code == 400
    comeback.refresh_from_db()
    assert comeback.outcome == Resurfacing.Outcome.REVIEW


# --- the settings -------------------------------------------------------------------------------


def settings_form(**changes):
    """What the settings page posts: every field as it is now, with `changes`."""
    current = LifecycleSettings.current()
    data = {
        name: getattr(current, name)
        for name in LifecycleSettingsForm.Meta.fields
        if name != "stale_tiers"
    }
    data["stale_tiers"] = ", ".join(map(str, current.stale_tiers))
    return {**data, **changes}


@pytest.mark.django_db
def test_the_settings_page_shows_the_tiers_as_typed(client, bdc_manager):
    client.force_login(bdc_manager)

    response = client.get(SETTINGS)

    assert response.status_code == 200
    assert 'name="stale_tiers" value="7, 14, 21"' in response.content.decode()
    assert "Save the settings" in response.content.decode()


@pytest.mark.django_db
def test_a_manager_saves_the_settings_tiers_sorted(client, bdc_manager):
    client.force_login(bdc_manager)

    response = client.post(
        SETTINGS,
        settings_form(stale_tiers="30, 5,10", reminder_hour="7", reactivation_mode="review"),
        follow=True,
    )

    assert response.redirect_chain == [(SETTINGS, 302)]
    assert [str(message) for message in response.context["messages"]] == [
        "Life-cycle settings saved; each sweep uses them from its next run."
    ]
    saved = LifecycleSettings.objects.get()
    assert (saved.stale_tiers, saved.reminder_hour, saved.reactivation_mode) == (
        [5, 10, 30],
        7,
        "review",
    )
    assert 'value="5, 10, 30"' in response.content.decode()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("7, 7", "7 days given twice; each tier is a different number of days."),
        ("0", "0 days is outside 1 to 90 days."),
        ("14, 91", "91 days is outside 1 to 90 days."),
        ("abc", "“abc” is not a whole number of days; type numbers separated by commas"),
        ("7, 14.5", "“14.5” is not a whole number of days"),
        ("7, 14, 21, 28", "4 tiers given; at most 3."),
        (" , ", "Give at least one quiet tier, e.g. 7."),
    ],
)
def test_the_settings_refuse_tiers_the_sweep_cannot_use(client, bdc_manager, typed, error):
    client.force_login(bdc_manager)

    response = client.post(SETTINGS, settings_form(stale_tiers=typed, reminder_hour="6"))

    assert response.status_code == 200
    errors = response.context["form"].errors
    assert list(errors) == ["stale_tiers"]
    assert error in " ".join(errors["stale_tiers"])
    assert error in response.content.decode()
    assert LifecycleSettings.objects.get().stale_tiers == [7, 14, 21]
    assert LifecycleSettings.objects.get().reminder_hour == 8


@pytest.mark.django_db
@pytest.mark.parametrize("hour", ["24", "-1"])
def test_the_reminder_hour_is_an_hour_of_the_day(client, bdc_manager, hour):
    client.force_login(bdc_manager)

    response = client.post(SETTINGS, settings_form(reminder_hour=hour))

    assert response.context["form"].errors == {
        "reminder_hour": ["The reminder hour is an hour of the day, 0 to 23."]
    }
    assert LifecycleSettings.objects.get().reminder_hour == 8


@pytest.mark.django_db
def test_the_settings_service_refuses_a_job_an_unknown_setting_and_a_bad_value(bdc_manager):
    with pytest.raises(ActorRequired):
        lifecycle_settings_set(by="sweep:stale", stale_tiers=[3])
    with pytest.raises(InvalidLifecycleSetting, match="no setting named 'id'"):
        lifecycle_settings_set(by=bdc_manager, id=2)
    with pytest.raises(InvalidLifecycleSetting, match="Reactivation mode: Value 'sometimes'"):
        lifecycle_settings_set(by=bdc_manager, stale_tiers=[3], reactivation_mode="sometimes")
    assert LifecycleSettings.current().stale_tiers == [7, 14, 21]  # nothing written

    saved = lifecycle_settings_set(by=bdc_manager, stale_tiers=(30, 3), reminder_hour=0)

    assert (saved.stale_tiers, saved.reminder_hour) == ([3, 30], 0)
    assert LifecycleSettings.objects.get().stale_tiers == [3, 30]


@pytest.mark.django_db
def test_someone_who_may_only_look_at_the_settings_cannot_save_them(client, salesperson):
    from django.contrib.auth.models import Permission

    salesperson.user_permissions.add(Permission.objects.get(codename="view_lifecyclesettings"))
    client.force_login(salesperson)

    page = client.get(SETTINGS)
    refused = client.post(SETTINGS, settings_form(stale_tiers="3"))

    assert page.status_code == 200
    assert "Save the settings" not in page.content.decode()
    assert all(field.field.disabled for field in page.context["form"])
    assert refused.status_code == 403
    assert LifecycleSettings.objects.get().stale_tiers == [7, 14, 21]


@pytest.mark.django_db
def test_the_admin_saves_the_settings_through_the_same_rules(admin_client):
    LifecycleSettings.current()
    url = reverse("admin:leads_lifecyclesettings_change", args=[1])

    refused = admin_client.post(url, settings_form(stale_tiers="7, 7"))
    saved = admin_client.post(url, settings_form(stale_tiers="21, 3"))

    assert refused.status_code == 200
    assert "7 days given twice" in refused.content.decode()
    assert saved.status_code == 302
    assert LifecycleSettings.objects.get().stale_tiers == [3, 21]
    changelist = admin_client.get(reverse("admin:leads_lifecyclesettings_changelist"))
    assert changelist.context["has_add_permission"] is False
    assert (
        admin_client.get(reverse("admin:leads_lifecyclesettings_delete", args=[1])).status_code
        == 403
    )


# --- the workspace: quiet leads and comebacks --------------------------------------------------


def queue_item(html, lead):
    """The queue's item of `lead`, as HTML."""
    link = html.index(f'href="/leads/{lead.pk}/"')
    return html[html.rindex("<li", 0, link) : html.index("</li>", link)]


def test_a_quiet_lead_shows_its_tier_in_the_queue_and_on_its_page(client, salesperson):
    now = timezone.now()
    still_shopping = make_lead(LeadStatus.CONTACTED, owner=salesperson)
    browse(still_shopping.customer, now + timedelta(days=10))
    worked = make_lead(LeadStatus.CONTACTED, owner=salesperson)
    sweep_run("stale", now + timedelta(days=15))
    still_shopping.refresh_from_db()
    worked.refresh_from_db()
    assert (still_shopping.stale_tier, worked.stale_tier) == (14, 14)
    activity_log(lead=worked, kind="call", by=salesperson, outcome="connected")
    client.force_login(salesperson)

    queue = client.get("/leads/queue/").content.decode()
    page = client.get(f"/leads/{still_shopping.pk}/")

    assert ">Quiet 14 days</span>" in queue_item(queue, still_shopping)
    assert "Quiet" not in queue_item(queue, worked)
    html = page.content.decode()
    assert ">Quiet 14 days</span>" in html
    comeback = next(
        entry for entry in page.context["timeline"] if entry.title == "The customer came back"
    )
    assert comeback.tags == ["resurfaced"]
    assert comeback.detail.startswith("Quiet for 14 days, still shopping: 1 visit since ")
    assert "looked at Kia EV6" in comeback.detail
    assert comeback.actor == "sweep:stale"
    assert '<span class="tag">resurfaced</span>' in html
    assert f"<small>{comeback.detail}</small>" in html
    worked_page = client.get(f"/leads/{worked.pk}/").content.decode()
    assert "Quiet 14 days" not in worked_page
