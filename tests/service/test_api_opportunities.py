"""The service opportunity API: systems post bookings, visits and quotes (JSON or ADF/XML) once
per source and id; staff read them with their losses and history, money only for those who may
see it."""

import json
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import call_command
from django.test.utils import override_settings
from drf_spectacular.drainage import GENERATOR_STATS

from dealercrm.models import Customer, Role, Vehicle
from leads.adf import MAX_ADF_BYTES
from service.models import ServiceEvent, ServiceOpportunity
from service.services import loss_log, opportunity_advance
from tests.factories import CustomerFactory, make_opportunity, make_staff

URL = "/api/v1/service/opportunities/"
SAMPLES = Path(__file__).resolve().parent.parent / "leads" / "adf_samples"
MONEY_FIELDS = {"initial_value", "estimated_value", "actual_value"}


def booking(**changes):
    body = {
        "source": "booking",
        "external_id": "dms-88213",
        "title": "Annual service and front brake pads",
        "estimated_value": "640.00",
        "stage": "booked",
        "booked_for": "2026-03-14T08:30:00-05:00",
        "mileage": 84250,
        "items": [
            {"description": "Annual service", "amount": "400"},
            {"description": "Front brake pads", "amount": "240.00"},
        ],
        "customer": {
            "first_name": "Maria",
            "last_name": "Lopez",
            "email": "Maria.Lopez@Example.com",
            "phone": "(202) 555-0143",
        },
        "vehicle": {"vin": "2hgfc2f59hh512345", "year": 2017, "make": "Honda", "model": "Civic"},
    }
    body.update(changes)
    return body


def post(client, body):
    return client.post(URL, json.dumps(body), content_type="application/json")


def post_xml(client, body, content_type="application/xml"):
    return client.post(URL, body, content_type=content_type)


def nothing_written():
    return (ServiceOpportunity.objects.count(), Customer.objects.count(), Vehicle.objects.count())


# --- posting JSON ------------------------------------------------------------------------------


def test_a_booking_opens_an_opportunity_with_its_customer_vehicle_and_work(
    provider_api, lead_provider, service_advisor
):
    response = post(provider_api, booking(advisor="erin"))

    assert response.status_code == 201, response.content
    opportunity = ServiceOpportunity.objects.get()
    assert response.json() == {
        "id": opportunity.pk,
        "source": "booking",
        "external_id": "dms-88213",
        "stage": "booked",
        "status": "open",
        "created": True,
        "url": f"/service/opportunities/{opportunity.pk}/",
    }
    assert (opportunity.title, opportunity.advisor, opportunity.mileage) == (
        "Annual service and front brake pads",
        service_advisor,
        84250,
    )
    assert opportunity.initial_value == opportunity.estimated_value == Decimal("640.00")
    assert opportunity.booked_for == datetime(2026, 3, 14, 13, 30, tzinfo=UTC)
    assert opportunity.items == [
        {"description": "Annual service", "amount": "400.00"},
        {"description": "Front brake pads", "amount": "240.00"},
    ]
    customer = opportunity.customer
    assert (customer.first_name, customer.email, customer.phone) == (
        "Maria",
        "maria.lopez@example.com",
        "+12025550143",
    )
    vehicle = opportunity.vehicle
    assert (vehicle.vin, vehicle.owner, vehicle.mileage) == ("2HGFC2F59HH512345", customer, 84250)
    event = ServiceEvent.objects.get(opportunity=opportunity)
    assert (event.kind, event.actor, event.to_stage) == ("created", lead_provider, "booked")


def test_the_same_booking_posted_twice_opens_one_opportunity_and_answers_200(provider_api):
    first = post(provider_api, booking())
    again = post(provider_api, booking())

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["created"] is False
    assert nothing_written() == (1, 1, 1)
    assert ServiceEvent.objects.count() == 1


def test_a_repost_naming_a_later_stage_moves_the_opportunity_forward_and_never_back(
    provider_api,
):
    opened = post(provider_api, booking()).json()

    checked_in = post(provider_api, booking(stage="checked_in"))
    earlier = post(provider_api, booking(stage="planned"))

    assert checked_in.status_code == 200
    assert (checked_in.json()["id"], checked_in.json()["stage"]) == (opened["id"], "checked_in")
    assert earlier.json()["stage"] == "checked_in"
    opportunity = ServiceOpportunity.objects.get()
    assert opportunity.checked_in_at is not None
    stages = opportunity.events.filter(kind__in=["created", "stage"])
    assert list(stages.values_list("kind", "from_stage", "to_stage")) == [
        ("created", "", "booked"),
        ("stage", "booked", "checked_in"),
    ]


def test_a_repost_with_other_contact_details_opens_no_second_customer(provider_api):
    post(provider_api, booking())

    again = post(
        provider_api,
        booking(customer={"email": "maria@new-address.example", "phone": "+12025550199"}),
    )

    assert again.status_code == 200
    assert nothing_written() == (1, 1, 1)


def test_the_same_id_from_another_source_is_another_opportunity(provider_api):
    post(provider_api, booking())

    quote = post(provider_api, booking(source="quote", stage="planned"))

    assert quote.status_code == 201
    assert ServiceOpportunity.objects.count() == 2
    assert Customer.objects.count() == 1


def test_bad_input_names_each_field_and_writes_nothing(provider_api, salesperson):
    response = post(
        provider_api,
        booking(
            source="fax",
            external_id=" ",
            estimated_value="-5",
            stage="washed",
            advisor="alice",
            items=[{"amount": "10"}],
            customer={"email": "not-an-address", "phone": "12"},
            vehicle={"year": 1800},
        ),
    )

    assert response.status_code == 400
    errors = response.json()
    assert set(errors) == {
        "source",
        "external_id",
        "estimated_value",
        "stage",
        "advisor",
        "items",
        "customer",
        "vehicle",
    }
    assert errors["advisor"] == ["Alice alice is not an active service advisor."]
    assert set(errors["customer"]) == {"email", "phone"}
    assert "not a valid e-mail address" in errors["customer"]["email"][0]
    assert errors["items"]["0"] == {"description": ["This field is required."]}
    assert set(errors["vehicle"]) == {"year"}
    assert nothing_written() == (0, 0, 0)


def test_a_customer_without_email_or_phone_is_refused(provider_api):
    response = post(provider_api, booking(customer={"first_name": "Maria"}))

    assert response.status_code == 400
    assert response.json() == {
        "customer": {
            "non_field_errors": ["The customer needs an e-mail address or a phone number."]
        }
    }


def test_an_unknown_advisor_is_named(provider_api):
    response = post(provider_api, booking(advisor="nobody"))

    assert response.json() == {"advisor": ["Nobody has the username 'nobody'."]}


def test_a_refusal_of_the_service_leaves_no_customer_or_vehicle_behind(provider_api):
    # The customer and the vehicle are written before the opportunity is refused.
    response = post(provider_api, booking(stage="delivered"))

    assert response.status_code == 400
    assert response.json() == {
        "detail": "A new opportunity cannot start delivered; record the work first."
    }
    assert nothing_written() == (0, 0, 0)


def test_a_booking_for_a_known_customer_and_car_reuses_them(provider_api):
    customer = CustomerFactory(email="maria.lopez@example.com")
    car = Vehicle.objects.create(vin="2HGFC2F59HH512345", make="Honda", owner=customer)

    post(provider_api, booking())

    opportunity = ServiceOpportunity.objects.get()
    assert (opportunity.customer, opportunity.vehicle) == (customer, car)
    assert (Customer.objects.count(), Vehicle.objects.count()) == (1, 1)


@pytest.mark.parametrize("role", [Role.SERVICE_ADVISOR, Role.SERVICE_MANAGER])
def test_service_staff_may_post_too(client, db, role):
    client.force_login(make_staff(role))

    assert post(client, booking()).status_code == 201


def test_a_salesperson_may_not_post_an_opportunity(client, salesperson):
    client.force_login(salesperson)

    response = post(client, booking())

    assert response.status_code == 403
    assert ServiceOpportunity.objects.count() == 0


def test_an_anonymous_post_is_refused(client, db):
    assert post(client, booking()).status_code in (401, 403)
    assert nothing_written() == (0, 0, 0)


# --- posting ADF -------------------------------------------------------------------------------

SERVICE_REQUEST = b"""<?xml version="1.0" encoding="UTF-8"?>
<?adf version="1.0"?>
<adf>
  <prospect status="new">
    <id sequence="1" source="dealer-website">svc-0042</id>
    <requestdate>2026-03-10T09:12:00-05:00</requestdate>
    <vehicle interest="service">
      <year>2017</year><make>Honda</make><model>Civic</model>
      <vin>2HGFC2F59HH512345</vin><odometer units="km">84,250</odometer>
    </vehicle>
    <customer>
      <contact>
        <name part="first">Maria</name><name part="last">Lopez</name>
        <email>Maria.Lopez@example.com</email><phone>202-555-0143</phone>
      </contact>
      <comments>oil change and
        brake noise</comments>
    </customer>
  </prospect>
</adf>"""


def sample(name):
    return (SAMPLES / name).read_bytes()


def test_an_adf_service_request_opens_an_opportunity_to_be_estimated(provider_api):
    response = post_xml(provider_api, SERVICE_REQUEST)

    assert response.status_code == 201, response.content
    opportunity = ServiceOpportunity.objects.get()
    assert response.json() == [
        {
            "id": opportunity.pk,
            "source": "web",
            "external_id": "dealer-website:svc-0042",
            "stage": "planned",
            "status": "open",
            "created": True,
            "url": f"/service/opportunities/{opportunity.pk}/",
        }
    ]
    assert opportunity.title == "Service request: 2017 Honda Civic — oil change and brake noise"
    assert opportunity.estimated_value == Decimal("0.00")
    assert opportunity.mileage == 84250
    customer = opportunity.customer
    assert (customer.first_name, customer.last_name, customer.email, customer.phone) == (
        "Maria",
        "Lopez",
        "maria.lopez@example.com",
        "+12025550143",
    )
    assert (opportunity.vehicle.vin, opportunity.vehicle.year, opportunity.vehicle.mileage) == (
        "2HGFC2F59HH512345",
        2017,
        84250,
    )


@pytest.mark.parametrize("content_type", ["text/xml", "application/x-adf+xml"])
def test_an_adf_request_sent_again_opens_nothing(provider_api, content_type):
    first = post_xml(provider_api, SERVICE_REQUEST)

    again = post_xml(provider_api, SERVICE_REQUEST, content_type)

    assert again.status_code == 200
    assert again.json()[0]["id"] == first.json()[0]["id"]
    assert again.json()[0]["created"] is False
    assert nothing_written() == (1, 1, 1)


def test_a_prospect_without_an_id_is_refused_and_none_of_the_document_is_written(provider_api):
    without_id = SERVICE_REQUEST.replace(
        b'<id sequence="1" source="dealer-website">svc-0042</id>', b""
    )
    two = SERVICE_REQUEST.replace(b"</adf>", without_id.split(b"<adf>")[1])

    response = post_xml(provider_api, two)

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Prospect 2 has no <id>.")
    assert "resend is recognised" in response.json()["detail"]
    assert nothing_written() == (0, 0, 0)


def test_a_prospect_nobody_can_reach_is_refused(provider_api):
    unreachable = SERVICE_REQUEST.replace(
        b"<email>Maria.Lopez@example.com</email><phone>202-555-0143</phone>",
        b"<email>maria at example</email>",
    )

    response = post_xml(provider_api, unreachable)

    assert response.status_code == 400
    detail = response.json()["detail"]
    assert detail.startswith("Prospect 1 gives no usable e-mail address or phone number")
    assert "'maria at example' is not a valid e-mail address" in detail
    assert nothing_written() == (0, 0, 0)


def test_a_real_feed_with_an_id_goes_through(provider_api):
    response = post_xml(
        provider_api, sample("03_activix_full_vehicle_finance_timeframe_provider_ext.xml")
    )

    assert response.status_code == 201, response.content
    assert response.json()[0]["external_id"] == "Activix:12345"
    opportunity = ServiceOpportunity.objects.get()
    assert opportunity.title.startswith(
        "Service request: 2020 Volvo XC90 — Can you deliver the car to my house?"
    )
    assert len(opportunity.title) <= 200
    assert (opportunity.customer.email, opportunity.customer.phone) == (
        "test@activix.ca",
        "+14382881008",
    )
    assert (opportunity.vehicle.vin, opportunity.mileage) == ("2GTEK19R7V1511644", 1500)


def test_a_real_feed_with_a_bad_phone_is_reached_by_email(provider_api):
    response = post_xml(provider_api, sample("05_rust_adf_full_lead_cobalt_carpoint_ext.xml"))

    assert response.status_code == 201, response.content
    customer = ServiceOpportunity.objects.get().customer
    assert (customer.email, customer.phone) == ("jdoe@example.com", "")


def test_a_real_feed_without_an_id_is_refused_with_a_clear_message(provider_api):
    response = post_xml(provider_api, sample("07_seorylie_root_version_attr.xml"))

    assert response.status_code == 400
    assert response.json()["detail"].startswith("Prospect 1 has no <id>.")
    assert nothing_written() == (0, 0, 0)


def test_the_xxe_probe_is_refused_without_reading_the_file(provider_api):
    response = post_xml(provider_api, sample("08_seorylie_xxe_attack_probe.xml"))

    assert response.status_code == 400
    assert "DTD" in response.json()["detail"]
    assert "root:" not in response.content.decode()
    assert nothing_written() == (0, 0, 0)


def test_an_oversized_adf_document_answers_413(provider_api):
    body = b"<adf><prospect><comments>" + b"x" * MAX_ADF_BYTES + b"</comments></prospect></adf>"

    assert post_xml(provider_api, body).status_code == 413


def test_a_document_that_is_not_adf_is_refused(provider_api):
    response = post_xml(provider_api, b"<lead><name>Maria</name></lead>")

    assert response.status_code == 400
    assert "starts with <adf>" in response.json()["detail"]


# --- reading -----------------------------------------------------------------------------------


@pytest.fixture
def workshop(service_advisor):
    """Three opportunities with customers, cars and an advisor; one lost on a no-show."""
    opened = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    rows = []
    for number in range(3):
        customer = CustomerFactory(first_name=f"Owner{number}", last_name="Driver")
        car = Vehicle.objects.create(make="Honda", model="Civic", year=2017, owner=customer)
        rows.append(
            make_opportunity(
                customer,
                vehicle=car,
                advisor=service_advisor,
                value="500.00",
                items=[{"description": "Brake pads", "amount": "500"}],
                booked_for=datetime(2026, 3, 10 + number, 8, 0, tzinfo=UTC),
                at=opened.replace(day=2 + number),
            )
        )
    loss_log(opportunity=rows[0], event="no_show", reason="no_show", by=service_advisor)
    return rows


def results(response):
    assert response.status_code == 200, response.content
    return response.json()["results"]


def test_the_list_runs_a_fixed_number_of_queries(
    client, service_advisor, workshop, django_assert_num_queries
):
    client.force_login(service_advisor)

    # session, user, the user's permissions and group permissions, the page count, the page
    # with customer, vehicle and advisor joined.
    with django_assert_num_queries(6):
        rows = results(client.get(URL))

    assert [row["id"] for row in rows] == [o.pk for o in reversed(workshop)]
    first = rows[-1]
    assert first["customer"]["first_name"] == "Owner0"
    assert (first["vehicle"]["make"], first["advisor"]["name"]) == ("Honda", "Erin erin")
    assert (first["status"], first["initial_value"], first["estimated_value"]) == (
        "lost",
        "500.00",
        "500.00",
    )
    assert first["items"] == [{"description": "Brake pads", "amount": "500.00"}]


def test_the_detail_holds_losses_and_history_in_a_fixed_number_of_queries(
    client, service_advisor, workshop, django_assert_num_queries
):
    lost = workshop[0]
    client.force_login(service_advisor)

    # session, user, permissions ×2, the opportunity with its joins, its losses with reason
    # and logger, its history with the actors.
    with django_assert_num_queries(7):
        response = client.get(f"{URL}{lost.pk}/")

    body = response.json()
    assert body["url"] == f"/service/opportunities/{lost.pk}/"
    [loss] = body["losses"]
    assert (loss["event"], loss["reason"], loss["amount"], loss["whole"]) == (
        "no_show",
        {"code": "no_show", "label": "No-show"},
        "500.00",
        True,
    )
    assert loss["logged_by"] == "Erin erin"
    assert [(event["kind"], event["by"]) for event in body["history"]] == [
        ("created", "test"),
        ("loss", "Erin erin"),
    ]
    assert body["history"][1]["summary"] == "No-show (No-show): $500.00 lost"


def test_a_salesperson_reads_opportunities_without_any_money(
    client, salesperson, workshop, django_assert_num_queries
):
    lost = workshop[0]
    client.force_login(salesperson)

    rows = results(client.get(URL))
    # session, user, the opportunity with its joins, its history (the permissions are cached
    # since the list; the losses are not read).
    with django_assert_num_queries(4):
        detail = client.get(f"{URL}{lost.pk}/").json()

    assert len(rows) == 3
    assert all(not (MONEY_FIELDS & set(row)) for row in rows)
    assert all("amount" not in item for row in rows for item in row["items"])
    assert not MONEY_FIELDS & set(detail)
    assert detail["items"] == [{"description": "Brake pads"}]
    # Lost sales are service records sales roles do not hold (`view_serviceloss`); the history
    # still tells what happened, without the amount.
    assert "losses" not in detail
    assert detail["history"][1]["summary"] == "No-show (No-show): [amount] lost"
    assert "500.00" not in json.dumps(detail)


def test_service_money_shows_to_whoever_is_granted_it(client, salesperson, workshop):
    from django.contrib.auth.models import Permission

    salesperson.user_permissions.add(Permission.objects.get(codename="view_service_money"))
    client.force_login(salesperson)

    rows = results(client.get(URL))

    assert {row["initial_value"] for row in rows} == {"500.00"}


def test_lead_providers_post_but_do_not_read(provider_api, workshop):
    assert provider_api.get(URL).status_code == 403
    assert provider_api.get(f"{URL}{workshop[0].pk}/").status_code == 404


def test_an_opportunity_answers_404_alike_when_missing_and_when_not_visible(client, workshop):
    nobody = make_staff(Role.LEAD_PROVIDER, username="dms")
    client.force_login(nobody)

    invisible = client.get(f"{URL}{workshop[0].pk}/")
    missing = client.get(f"{URL}999999/")

    assert invisible.status_code == missing.status_code == 404
    assert invisible.json() == missing.json()


def test_a_salesperson_sees_a_missing_opportunity_as_404(client, salesperson):
    client.force_login(salesperson)

    assert client.get(f"{URL}999999/").status_code == 404


def ids(response):
    return sorted(row["id"] for row in results(response))


def test_the_list_filters_by_stage_status_source_advisor_dates_and_customer(
    client, service_manager, service_advisor, workshop
):
    lost, second, third = workshop
    walk_in = make_opportunity(
        CustomerFactory(first_name="Walk", last_name="In", email="walk.in@example.com"),
        source="visit",
        stage="checked_in",
        at=datetime(2026, 3, 20, 10, 0, tzinfo=UTC),
    )
    opportunity_advance(opportunity=third, to_stage="checked_in", by=service_advisor)
    client.force_login(service_manager)

    def found(**query):
        return ids(client.get(URL, query))

    assert found(stage="checked_in") == sorted([third.pk, walk_in.pk])
    assert found(status="lost") == [lost.pk]
    assert found(source="visit") == [walk_in.pk]
    assert found(advisor=service_advisor.pk) == sorted(o.pk for o in workshop)
    assert found(created_after="2026-03-03") == sorted([second.pk, third.pk, walk_in.pk])
    assert found(created_before="2026-03-03") == [lost.pk]
    assert found(booked_on="2026-03-11") == [second.pk]
    assert found(q="walk in") == [walk_in.pk]
    assert found(q="walk.in@") == [walk_in.pk]
    assert found(q=walk_in.customer.phone[-7:]) == [walk_in.pk]


def test_a_bad_filter_value_is_named(client, service_manager):
    client.force_login(service_manager)

    response = client.get(URL, {"stage": "washed", "booked_on": "tomorrow"})

    assert response.status_code == 400
    assert set(response.json()) == {"stage", "booked_on"}


@override_settings(TIME_ZONE="America/Chicago")
def test_booked_on_is_the_dealerships_day(client, service_manager):
    late = make_opportunity(booked_for=datetime(2026, 3, 11, 3, 0, tzinfo=UTC))
    client.force_login(service_manager)

    # 03:00 UTC on March 11 is the evening of March 10 in Chicago.
    assert ids(client.get(URL, {"booked_on": date(2026, 3, 10).isoformat()})) == [late.pk]
    assert ids(client.get(URL, {"booked_on": "2026-03-11"})) == []


# --- the contract ------------------------------------------------------------------------------


def test_the_schema_builds_without_warnings_and_documents_the_service_endpoints(
    client, db, tmp_path
):
    # The generator's warnings accumulate over the process; count only this build's.
    GENERATOR_STATS.reset()
    # Fails (SchemaGenerationError) on any warning; the warnings are printed on stderr.
    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yml")
    )

    schema = client.get("/api/v1/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert set(paths[URL]) == {"get", "post"}
    assert set(paths[URL]["post"]["requestBody"]["content"]) == {
        "application/json",
        "application/xml",
        "text/xml",
        "application/x-adf+xml",
    }
    assert set(paths[URL]["post"]["responses"]) == {"200", "201", "400", "413"}
    assert {
        f"{URL}{{id}}/",
        f"{URL}{{id}}/losses/",
        f"{URL}{{id}}/advance/",
        "/api/v1/service/losses/{id}/parts-arrived/",
    } <= set(paths)
    assert set(paths[f"{URL}{{id}}/losses/"]["post"]["requestBody"]["content"]) == {
        "application/json"
    }
