"""Every admin page opens, and staff see in the admin only the leads they may see elsewhere."""

from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone

from dealercrm.models import LifecycleDate, Vehicle
from dealercrm.schedules import sweep_run
from dealercrm.services import staff_set_routing
from leads.intake import lead_intake
from leads.models import (
    Activity,
    LeadSource,
    LeadStatus,
    LifecycleSettings,
    Recycling,
    Resurfacing,
)
from leads.services import activity_log
from leads.submission import Submission
from leads.tracking import WebEventInput, web_events_record
from service.models import ServiceSettings
from service.services import corrective_action_add, issue_open, loss_log, loss_parts_arrived
from service.setup import campaign_save
from tests.factories import make_lead, make_opportunity

OUR_APPS = {"auth", "dealercrm", "routing", "leads", "service"}


@pytest.fixture
def a_bit_of_everything(salesperson, other_salesperson, service_advisor):
    lead = make_lead(LeadStatus.LOST, owner=salesperson)
    Vehicle.objects.create(vin="1HGCM82633A004352", make="Honda", owner=lead.customer)
    activity_log(lead=lead, kind=Activity.Kind.CALL, by=salesperson)
    staff_set_routing(user=salesperson, by=other_salesperson, capacity=30)
    make_lead(owner=other_salesperson)
    LeadSource.objects.create(key="website", name="Our website")
    lead_intake(Submission(source="website", emails=("ann@example.com",), visitor_id="v-1"))
    web_events_record(
        [WebEventInput(visitor_id="v-1", type="page_view", occurred_at=timezone.now())]
    )
    now = timezone.now()
    date = LifecycleDate.objects.create(
        customer=lead.customer,
        kind=LifecycleDate.Kind.LEASE_END,
        date=timezone.localdate(now) + timedelta(days=60),
    )
    Recycling.objects.create(lifecycle_date=date, lead=lead, created_lead=False, at=now)
    Resurfacing.objects.create(
        lead=lead,
        kind=Resurfacing.Kind.REACTIVATION,
        outcome=Resurfacing.Outcome.REVIEW,
        detected_at=now,
        summary="2 visits since Nov 12",
    )
    sweep_run("task-reminders", now)
    LifecycleSettings.current()
    # Service: an opportunity with its history, a lost sale, its recapture, a campaign, a
    # corrective action, a customer issue and the settings.
    opportunity = make_opportunity(lead.customer, advisor=service_advisor, by=service_advisor)
    loss = loss_log(
        opportunity=opportunity,
        event="quote_declined",
        reason="missing_parts",
        amount="120.00",
        declined_items=["Front brake pads"],
        by=service_advisor,
    )
    loss_parts_arrived(loss=loss, by=service_advisor)
    today = timezone.localdate(now)
    campaign_save(
        by=service_advisor,
        name="Brake week",
        offer="20% off brake pads",
        keywords="brake",
        starts_on=today,
        ends_on=today + timedelta(days=27),
    )
    corrective_action_add(
        reason="missing_parts", action="Stock brake pads", started_on=today, by=service_advisor
    )
    issue_open(customer=lead.customer, kind="service", summary="Waited", by=service_advisor)
    ServiceSettings.current()
    return lead


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model",
    [model for model in admin.site._registry if model._meta.app_label in OUR_APPS],
    ids=lambda model: model._meta.label,
)
def test_every_admin_list_and_change_page_opens(admin_client, a_bit_of_everything, model):
    meta = model._meta
    listing = admin_client.get(reverse(f"admin:{meta.app_label}_{meta.model_name}_changelist"))
    assert listing.status_code == 200
    assert listing.context["cl"].result_count >= 1

    first = model._default_manager.order_by("pk").first()
    change = admin_client.get(
        reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[first.pk])
    )
    assert change.status_code == 200


@pytest.mark.django_db
def test_a_staff_salesperson_sees_only_own_leads_in_the_admin(
    client, salesperson, a_bit_of_everything
):
    salesperson.is_staff = True
    salesperson.save()
    salesperson.user_permissions.add(Permission.objects.get(codename="view_lead"))
    client.force_login(salesperson)

    response = client.get(reverse("admin:leads_lead_changelist"))

    assert [lead.pk for lead in response.context["cl"].result_list] == [a_bit_of_everything.pk]
