"""The call-tracking webhook: POST /api/v1/calls/."""

from leads.models import Activity, Lead, LeadEvent, LeadStatus

CALL = {
    "source": "call-tracking",
    "external_id": "call-77",
    "caller_number": "(202) 555-0143",
    "called_number": "+12025550100",
    "caller_name": "Ann Marie Lee",
    "duration_seconds": 245,
    "recording_url": "https://calls.example/rec/77.mp3",
}


def test_a_call_makes_a_phone_lead_with_the_call_on_it(provider_api):
    response = provider_api.post("/api/v1/calls/", CALL, format="json")

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert (lead.channel, lead.status, lead.external_id) == ("phone", LeadStatus.NEW, "call-77")
    assert lead.customer.phone == "+12025550143"
    assert (lead.customer.first_name, lead.customer.last_name) == ("Ann Marie", "Lee")
    call = Activity.objects.get()
    assert (call.kind, call.direction, call.automated) == ("call", "inbound", True)
    assert call.duration_seconds == 245
    assert "https://calls.example/rec/77.mp3" in call.body
    # An inbound call is not the dealership's first contact.
    assert lead.first_contacted_at is None


def test_a_second_call_joins_the_callers_open_lead(provider_api):
    provider_api.post("/api/v1/calls/", CALL, format="json")

    response = provider_api.post(
        "/api/v1/calls/", {**CALL, "external_id": "call-78", "duration_seconds": 30}, format="json"
    )

    assert response.status_code == 200
    assert response.json()["outcome"] == "merged"
    assert Lead.objects.count() == 1
    assert Activity.objects.count() == 2
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.MERGED).count() == 1


def test_a_call_from_a_hidden_number_is_kept_as_a_disqualified_lead(provider_api):
    response = provider_api.post(
        "/api/v1/calls/", {**CALL, "caller_number": "anonymous"}, format="json"
    )

    assert response.status_code == 201
    lead = Lead.objects.get()
    assert (lead.status, lead.close_reason.code) == (LeadStatus.DISQUALIFIED, "invalid_contact")
    assert Activity.objects.get().duration_seconds == 245


def test_a_call_without_a_caller_answers_400(provider_api):
    response = provider_api.post("/api/v1/calls/", {"source": "call-tracking"}, format="json")

    assert response.status_code == 400
    assert response.json() == {"caller_number": ["This field is required."]}
