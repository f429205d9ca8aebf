"""POST /api/v1/leads/adf/ with the ADF documents of real public feeds (adf_samples/)."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from dealercrm.models import Customer
from leads.models import Inquiry, Lead, LeadStatus

SAMPLES = Path(__file__).resolve().parent / "adf_samples"


def sample(name):
    return (SAMPLES / name).read_bytes()


def post_adf(client, body, content_type="application/xml"):
    return client.post("/api/v1/leads/adf/", body, content_type=content_type)


def only_lead(response, status=201):
    assert response.status_code == status, response.content
    [result] = response.json()
    return result, Lead.objects.get(pk=result["id"])


def test_approval_genie_keeps_the_email_and_flags_the_made_up_phones(provider_api):
    result, lead = only_lead(
        post_adf(provider_api, sample("01_approvalgenie_multiphone_comments.xml"))
    )

    assert result["outcome"] == "created"
    assert (lead.source, lead.external_id, lead.channel) == ("ABC", "", "third_party")
    assert (lead.customer.first_name, lead.customer.last_name) == ("John", "Test01292019")
    assert lead.customer.email == "testemail@domain.com"
    assert lead.customer.phone == ""
    assert lead.customer.postal_code == "L4V1N3"
    assert [issue["value"] for issue in lead.contact_issues] == ["1234567890"]
    assert (lead.vehicle_year, lead.vehicle_make, lead.vehicle_model, lead.vehicle_condition) == (
        2023,
        "Hyundai",
        "i30",
        "used",
    )
    assert "looking for SUV, new to the country" in lead.comments
    assert lead.status == LeadStatus.NEW
    inquiry = lead.inquiries.get()
    assert inquiry.requested_at == datetime(2019, 1, 16, 0, 46, 36, tzinfo=UTC)
    assert "<vendorname>Approval Genie</vendorname>" in inquiry.raw_payload


def test_activix_full_lead_with_vehicle_timeframe_and_provider_extensions(provider_api):
    _, lead = only_lead(
        post_adf(
            provider_api,
            sample("03_activix_full_vehicle_finance_timeframe_provider_ext.xml"),
            "text/xml",
        )
    )

    assert (lead.source, lead.external_id) == ("Activix", "12345")
    assert lead.customer.phone == "+14382881008"
    assert lead.customer.email == "test@activix.ca"
    assert (lead.vehicle_vin, lead.vehicle_stock, lead.vehicle_trim) == (
        "2GTEK19R7V1511644",
        "V12345",
        "R-Design",
    )
    assert lead.vehicle_condition == "new"
    assert lead.purchase_horizon == "within_week"
    assert "Can you deliver the car to my house?" in lead.comments
    assert "Timeframe: Changing car soon." in lead.comments
    assert "<navigationhistory>" in lead.inquiries.get().raw_payload
    assert {factor["code"] for factor in lead.score_factors} >= {
        "valid_phone",
        "valid_email",
        "specific_vehicle",
        "horizon_within_week",
    }


def test_cobalt_carpoint_lead_keeps_the_vendor_extension_in_the_raw_payload(provider_api):
    _, lead = only_lead(
        post_adf(
            provider_api,
            sample("05_rust_adf_full_lead_cobalt_carpoint_ext.xml"),
            "application/x-adf+xml",
        )
    )

    assert (lead.source, lead.external_id) == ("Cobalt", "38889")
    assert lead.customer.email == "jdoe@example.com"
    assert lead.vehicle_label == "1997 Chevrolet Blazer"
    assert lead.vehicle_vin == "1GNDT13W5V2200000"
    assert lead.comments == "Can deliver by Thursday?"
    assert '<partner-score value="hot">97</partner-score>' in lead.inquiries.get().raw_payload


def test_two_prospects_make_two_results_and_the_contactless_resend_is_kept_and_flagged(
    provider_api,
):
    response = post_adf(provider_api, sample("06_rust_adf_two_prospects_new_and_resend.xml"))

    assert response.status_code == 201
    first, second = response.json()
    assert first["outcome"] == second["outcome"] == "created"
    good = Lead.objects.get(pk=first["id"])
    assert good.customer.email == "a@example.com"
    assert good.vehicle_label == "2024 Toyota Camry"
    assert good.status == LeadStatus.NEW
    flagged = Lead.objects.get(pk=second["id"])
    assert flagged.vehicle_label == "2025 Ford F-150"
    assert (flagged.status, flagged.close_reason.code) == (
        LeadStatus.DISQUALIFIED,
        "invalid_contact",
    )
    assert "requestdate 'one' is not a date; ignored" in good.inquiries.get().warnings


def test_the_root_version_attribute_form_is_read(provider_api):
    _, lead = only_lead(post_adf(provider_api, sample("07_seorylie_root_version_attr.xml")))

    assert (lead.customer.first_name, lead.customer.last_name) == ("John", "Doe")
    assert lead.customer.email == "john.doe@example.com"
    assert lead.vehicle_label == "2024 Honda Accord EX-L"


def test_the_xxe_probe_is_refused_and_nothing_is_stored(provider_api):
    response = post_adf(provider_api, sample("08_seorylie_xxe_attack_probe.xml"))

    assert response.status_code == 400
    assert "DTD" in response.json()["detail"]
    assert Customer.objects.count() == Lead.objects.count() == Inquiry.objects.count() == 0


def test_a_document_received_again_answers_200_with_the_same_leads(provider_api):
    body = sample("05_rust_adf_full_lead_cobalt_carpoint_ext.xml")
    first = post_adf(provider_api, body).json()

    again = post_adf(provider_api, body)

    assert again.status_code == 200
    assert [r["id"] for r in again.json()] == [r["id"] for r in first]
    assert [r["outcome"] for r in again.json()] == ["already_received"]
    assert Lead.objects.count() == 1


def test_a_resend_of_a_lead_received_before_answers_200(provider_api):
    body = sample("07_seorylie_root_version_attr.xml")
    first = post_adf(provider_api, body).json()

    again = post_adf(provider_api, body.replace(b"<prospect>", b'<prospect status="RESEND">'))

    assert again.status_code == 200
    assert again.json()[0]["id"] == first[0]["id"]
    assert again.json()[0]["outcome"] == "already_received"
    assert Inquiry.objects.count() == 1


def test_a_document_over_the_size_limit_answers_413(provider_api):
    from leads.adf import MAX_ADF_BYTES

    body = b"<adf><prospect><comments>" + b"x" * MAX_ADF_BYTES + b"</comments></prospect></adf>"

    assert post_adf(provider_api, body).status_code == 413
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty"),
        (b"<adf><prospect>", "line 1"),
        (b"<lead><prospect/></lead>", "adf"),
    ],
)
def test_a_broken_document_answers_400_saying_what_is_wrong(provider_api, body, words):
    response = post_adf(provider_api, body)

    assert response.status_code == 400
    assert words in response.json()["detail"]
    assert Lead.objects.count() == 0


def test_json_is_not_an_adf_document(provider_api):
    response = provider_api.post("/api/v1/leads/adf/", {"source": "x"}, format="json")

    assert response.status_code == 415


def test_a_salesperson_may_not_post_adf(client, salesperson):
    client.force_login(salesperson)

    assert post_adf(client, sample("07_seorylie_root_version_attr.xml")).status_code == 403


def test_a_document_with_too_many_prospects_is_refused_whole(provider_api):
    from leads.adf import MAX_PROSPECTS

    prospect = (
        b"<prospect><customer><contact><email>a@example.com</email></contact></customer></prospect>"
    )
    body = b"<adf>" + prospect * (MAX_PROSPECTS + 1) + b"</adf>"

    response = post_adf(provider_api, body)

    assert response.status_code == 400
    assert f"at most {MAX_PROSPECTS}" in response.json()["detail"]
    assert Lead.objects.count() == 0
