"""The service managers' setup pages: the service settings (when lost sales come back, when a
visit makes a sales lead) and the campaigns the recapture sweep offers declined work with."""

from datetime import date, timedelta

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from leads.errors import ActorRequired
from service.models import Recapture, ServiceCampaign, ServiceSettings
from service.services import loss_log, loss_parts_arrived, recapture_book
from service.setup import (
    InvalidCampaign,
    InvalidServiceSetting,
    campaign_save,
    service_settings_update,
)
from service.setup_forms import ServiceSettingsForm
from service.tasks import recapture_sweep
from tests.factories import CustomerFactory, make_opportunity

SETTINGS = reverse("service:settings")
CAMPAIGNS = reverse("service:campaigns")
DEFAULTS = {
    "rebook_after_days": 2,
    "follow_up_after_days": 30,
    "sales_lead_vehicle_age_years": 7,
    "sales_lead_mileage_km": 120_000,
}


def settings_form(**changes):
    """What the settings page posts: every field as it is now, with `changes`."""
    current = ServiceSettings.current()
    return {
        **{name: getattr(current, name) for name in ServiceSettingsForm.Meta.fields},
        **changes,
    }


def saved_settings():
    row = ServiceSettings.current()
    return {name: getattr(row, name) for name in DEFAULTS}


def campaign_form(**changes):
    today = timezone.localdate()
    return {
        "name": "Brake week",
        "offer": "20% off brake pads and discs",
        "makes": "",
        "keywords": "brake",
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=27)).isoformat(),
        "active": "on",
        **changes,
    }


def a_campaign(by, name="Brake week", days=(0, 27), **fields):
    today = timezone.localdate()
    campaign, _ = campaign_save(
        by=by,
        name=name,
        offer=fields.pop("offer", "20% off brakes"),
        starts_on=today + timedelta(days=days[0]),
        ends_on=today + timedelta(days=days[1]),
        **fields,
    )
    return campaign


def brakes_declined_on_price(advisor, value="300.00"):
    """A quote for brake work the customer declined as too expensive: work a brake campaign
    fits."""
    quote = make_opportunity(
        CustomerFactory(),
        advisor=advisor,
        source="quote",
        stage="planned",
        value=value,
        title="Brake service",
    )
    return loss_log(
        opportunity=quote,
        event="quote_declined",
        reason="price_too_high",
        declined_items=[{"description": "Front brake pads", "amount": value}],
        by=advisor,
    )


# --- the settings -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_settings_page_shows_the_current_settings(client, service_manager):
    client.force_login(service_manager)

    response = client.get(SETTINGS)

    assert response.status_code == 200
    page = response.content.decode()
    assert 'name="rebook_after_days" value="2"' in page
    assert 'name="sales_lead_mileage_km" value="120000"' in page
    assert "Save the settings" in page


@pytest.mark.django_db
def test_a_manager_saves_the_settings(client, service_manager):
    client.force_login(service_manager)

    response = client.post(
        SETTINGS,
        settings_form(
            rebook_after_days="1",
            follow_up_after_days="45",
            sales_lead_vehicle_age_years="0",
            sales_lead_mileage_km="150000",
        ),
        follow=True,
    )

    assert response.redirect_chain == [(SETTINGS, 302)]
    assert [str(message) for message in response.context["messages"]] == [
        "Service settings saved: losses logged from now on come back after these days, and "
        "visits from now on make sales leads by these thresholds."
    ]
    assert saved_settings() == {
        "rebook_after_days": 1,
        "follow_up_after_days": 45,
        "sales_lead_vehicle_age_years": 0,
        "sales_lead_mileage_km": 150_000,
    }
    assert 'name="follow_up_after_days" value="45"' in response.content.decode()


@pytest.mark.django_db
def test_losses_logged_after_a_change_come_back_after_the_new_days(service_manager):
    service_settings_update(by=service_manager, follow_up_after_days=10, rebook_after_days=0)
    today = timezone.localdate()

    declined = brakes_declined_on_price(service_manager)
    missed = loss_log(
        opportunity=make_opportunity(advisor=service_manager),
        event="no_show",
        reason="no_show",
        by=service_manager,
    )

    assert declined.follow_up_on == today + timedelta(days=10)
    assert missed.follow_up_on == today


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("field", "typed", "error"),
    [
        (
            "rebook_after_days",
            "31",
            "Rebook a missed appointment after (days): give a whole number from 0 to 30.",
        ),
        (
            "follow_up_after_days",
            "0",
            "Offer declined work again after (days): give a whole number from 1 to 365.",
        ),
        (
            "follow_up_after_days",
            "two weeks",
            "Offer declined work again after (days): give a whole number from 1 to 365.",
        ),
        (
            "sales_lead_vehicle_age_years",
            "-1",
            "Sales lead for a car this old (years): give a whole number from 0 to 30.",
        ),
        (
            "sales_lead_mileage_km",
            "",
            "Sales lead for a car with this many km: give a whole number from 0 to 1,000,000.",
        ),
    ],
)
def test_the_settings_refuse_a_value_naming_its_field(client, service_manager, field, typed, error):
    client.force_login(service_manager)

    response = client.post(SETTINGS, settings_form(**{"rebook_after_days": "5", field: typed}))

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [error]}
    assert error in response.content.decode()
    assert saved_settings() == DEFAULTS  # nothing written, the valid change neither


@pytest.mark.django_db
def test_the_settings_service_refuses_a_job_an_unknown_setting_and_a_bad_value(service_manager):
    with pytest.raises(ActorRequired):
        service_settings_update(by="sweep:service-recapture", rebook_after_days=3)
    with pytest.raises(InvalidServiceSetting, match="no service setting named 'id'"):
        service_settings_update(by=service_manager, id=2)
    with pytest.raises(InvalidServiceSetting, match=r"\(days\): 400 is outside 1 to 365") as bad:
        service_settings_update(by=service_manager, rebook_after_days=3, follow_up_after_days=400)
    assert bad.value.field == "follow_up_after_days"
    with pytest.raises(InvalidServiceSetting, match="True is not a whole number"):
        service_settings_update(by=service_manager, rebook_after_days=True)
    assert saved_settings() == DEFAULTS

    saved = service_settings_update(by=service_manager, sales_lead_mileage_km=90_000)

    assert saved.sales_lead_mileage_km == 90_000
    assert saved_settings() == {**DEFAULTS, "sales_lead_mileage_km": 90_000}


@pytest.mark.django_db
def test_someone_who_may_only_look_at_the_settings_cannot_save_them(client, service_advisor):
    service_advisor.user_permissions.add(Permission.objects.get(codename="view_servicesettings"))
    client.force_login(service_advisor)

    page = client.get(SETTINGS)
    refused = client.post(SETTINGS, settings_form(rebook_after_days="9"))

    assert page.status_code == 200
    assert "Save the settings" not in page.content.decode()
    assert all(field.field.disabled for field in page.context["form"])
    assert refused.status_code == 403
    assert saved_settings() == DEFAULTS


@pytest.mark.django_db
def test_an_advisor_may_not_open_or_change_the_setup_pages(client, service_advisor):
    campaign = a_campaign(service_advisor)
    client.force_login(service_advisor)
    edit = reverse("service:campaign", args=[campaign.pk])

    answers = [
        client.get(SETTINGS).status_code,
        client.post(SETTINGS, settings_form(rebook_after_days="9")).status_code,
        client.get(CAMPAIGNS).status_code,
        client.post(CAMPAIGNS, campaign_form(name="Tyre week")).status_code,
        client.get(edit).status_code,
        client.post(edit, campaign_form(offer="Everything free")).status_code,
    ]

    assert answers == [403] * 6
    assert saved_settings() == DEFAULTS
    assert list(ServiceCampaign.objects.values_list("name", "offer")) == [
        ("Brake week", "20% off brakes")
    ]


@pytest.mark.django_db
def test_a_salesperson_is_refused_too_and_a_visitor_is_sent_to_log_in(client, salesperson):
    assert client.get(CAMPAIGNS).status_code == 302
    client.force_login(salesperson)

    assert client.get(SETTINGS).status_code == 403
    assert client.get(CAMPAIGNS).status_code == 403


@pytest.mark.django_db
def test_the_admin_saves_the_settings_through_the_same_rules(admin_client):
    ServiceSettings.current()
    url = reverse("admin:service_servicesettings_change", args=[1])

    refused = admin_client.post(url, settings_form(rebook_after_days="99"))
    saved = admin_client.post(url, settings_form(rebook_after_days="4"))

    assert refused.status_code == 200
    assert "from 0 to 30" in refused.content.decode()
    assert saved.status_code == 302
    assert saved_settings() == {**DEFAULTS, "rebook_after_days": 4}


# --- the campaigns ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_manager_adds_a_campaign_and_the_sweep_offers_it_to_work_declined_on_price(
    client, service_manager, service_advisor
):
    declined = brakes_declined_on_price(service_advisor)
    client.force_login(service_manager)

    response = client.post(
        CAMPAIGNS,
        campaign_form(makes=" , ", keywords="Brake,  pads , brake; DISCS"),
        follow=True,
    )

    assert response.redirect_chain == [(CAMPAIGNS, 302)]
    assert [str(message) for message in response.context["messages"]] == [
        "Campaign “Brake week” added; the recapture sweep offers it to fitting declined work "
        "at its next run."
    ]
    campaign = ServiceCampaign.objects.get()
    assert (campaign.offer, campaign.makes, campaign.keywords, campaign.active) == (
        "20% off brake pads and discs",
        "",
        "Brake, pads, DISCS",
        True,
    )
    assert [row.name for row in response.context["campaigns"]] == ["Brake week"]

    counts = recapture_sweep(timezone.now())

    assert counts["campaign"] == 1
    offer = Recapture.objects.get(kind=Recapture.Kind.CAMPAIGN)
    assert (offer.loss, offer.campaign, offer.assignee) == (declined, campaign, service_advisor)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("changes", "field", "error"),
    [
        (
            {"starts_on": "2026-03-15", "ends_on": "2026-03-01"},
            "ends_on",
            "The campaign ends (Mar 1, 2026) before it starts (Mar 15, 2026).",
        ),
        (
            {"keywords": "brake, ac"},
            "keywords",
            "“ac” is too short to pick declined work by: a keyword has at least 3 letters.",
        ),
        ({"name": "  "}, "name", "Give the campaign a name, e.g. “Brake week”."),
        ({"offer": ""}, "offer", "Say what the customer gets, e.g. “20% off brakes”."),
        (
            {"starts_on": "15/03/2026"},
            "starts_on",
            "The start is not a date; use the calendar or type 2026-03-15.",
        ),
        ({"ends_on": ""}, "ends_on", "Say when the campaign ends."),
    ],
)
def test_a_campaign_that_cannot_run_is_refused_naming_the_field(
    client, service_manager, changes, field, error
):
    client.force_login(service_manager)

    response = client.post(CAMPAIGNS, campaign_form(**changes))

    assert response.status_code == 200
    assert response.context["form"].errors == {field: [error]}
    assert error in response.content.decode()
    assert not ServiceCampaign.objects.exists()


@pytest.mark.django_db
def test_the_campaign_service_refuses_what_the_form_refuses(service_manager):
    day = date(2026, 3, 15)
    with pytest.raises(ActorRequired):
        campaign_save(by="admin", name="A", offer="B", starts_on=day, ends_on=day)
    with pytest.raises(InvalidCampaign, match="ends .* before it starts") as refused:
        campaign_save(
            by=service_manager, name="A", offer="B", starts_on=day, ends_on=date(2026, 3, 1)
        )
    assert refused.value.field == "ends_on"
    with pytest.raises(InvalidCampaign, match="“ac” is too short"):
        campaign_save(
            by=service_manager, name="A", offer="B", starts_on=day, ends_on=day, keywords="ac"
        )
    assert not ServiceCampaign.objects.exists()


@pytest.mark.django_db
def test_a_manager_switches_a_campaign_off_from_its_form(client, service_manager):
    campaign = a_campaign(service_manager, keywords="brake")
    client.force_login(service_manager)
    edit = reverse("service:campaign", args=[campaign.pk])

    form = client.get(edit)
    response = client.post(
        edit,
        campaign_form(offer="25% off brake pads", makes="Toyota", active=""),
        follow=True,
    )

    assert form.status_code == 200
    assert 'value="Brake week"' in form.content.decode()
    assert "Change “Brake week”" in form.content.decode()
    assert response.redirect_chain == [(CAMPAIGNS, 302)]
    assert [str(message) for message in response.context["messages"]] == [
        "Campaign “Brake week” saved; it is switched off, so nothing is offered."
    ]
    campaign.refresh_from_db()
    assert (campaign.offer, campaign.makes, campaign.active) == (
        "25% off brake pads",
        "Toyota",
        False,
    )
    assert "switched off" in response.content.decode()


@pytest.mark.django_db
def test_an_unknown_campaign_is_not_found(client, service_manager):
    client.force_login(service_manager)

    assert client.get(reverse("service:campaign", args=[999])).status_code == 404


@pytest.mark.django_db
def test_the_campaigns_list_counts_offers_and_bookings_in_one_query(
    client, service_manager, service_advisor, django_assert_num_queries
):
    brakes = a_campaign(service_manager, "Brake week", days=(-3, 20), keywords="brake")
    a_campaign(service_manager, "Winter check", days=(10, 40), keywords="tyre")
    a_campaign(service_manager, "Spring wash", days=(-90, -60), keywords="wash")
    a_campaign(service_manager, "Paused", days=(-3, 20), active=False)
    for value in ("300.00", "200.00", "150.00"):
        brakes_declined_on_price(service_advisor, value=value)
    recapture_sweep(timezone.now())
    offered = Recapture.objects.filter(campaign=brakes).order_by("pk")
    recapture_book(recapture=offered.first(), by=service_advisor)
    loss_parts_arrived(loss=offered.last().loss, by=service_advisor)  # not a campaign offer
    client.force_login(service_manager)

    # 1 session, 2 user, 3 user permissions, 4 group permissions, 5 the campaigns with their
    # offers and bookings counted.
    with django_assert_num_queries(5):
        response = client.get(CAMPAIGNS)

    rows = [(c.name, c.state, c.offers, c.booked) for c in response.context["campaigns"]]
    assert rows == [
        ("Winter check", "planned", 0, 0),
        ("Brake week", "running", 3, 1),
        ("Paused", "off", 0, 0),
        ("Spring wash", "ended", 0, 0),
    ]
    page = response.content.decode()
    assert "Add a campaign" in page
    assert reverse("service:campaign", args=[brakes.pk]) in page


@pytest.mark.django_db
def test_the_admin_saves_a_campaign_through_the_same_rules(admin_client):
    url = reverse("admin:service_servicecampaign_add")

    refused = admin_client.post(url, campaign_form(keywords="brake, ac"))
    saved = admin_client.post(url, campaign_form(keywords="brake, Brake , pads"))

    assert refused.status_code == 200
    assert "“ac” is too short" in refused.content.decode()
    assert saved.status_code == 302
    assert list(ServiceCampaign.objects.values_list("name", "keywords")) == [
        ("Brake week", "brake, pads")
    ]
