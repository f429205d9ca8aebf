"""De-duplication: one inquiry received once, a repeat inquiry merged, a returning customer
gets a new lead linked to the old one."""

from datetime import timedelta

from django.utils import timezone

from dealercrm.models import Customer, Notification
from leads.intake import lead_intake
from leads.models import Inquiry, Lead, LeadEvent, LeadStatus
from leads.services import lead_assign
from leads.submission import Submission, VehicleDetails
from tests.factories import make_lead


def inquiry(**fields):
    fields.setdefault("source", "website")
    fields.setdefault("emails", ("maria@example.com",))
    return Submission(**fields)


def test_a_repeat_inquiry_joins_the_open_lead_and_tells_its_owner(salesperson):
    first = lead_intake(
        inquiry(external_id="a", vehicle=VehicleDetails(year=2024, make="Honda", model="Civic"))
    ).lead
    lead_assign(lead=first, owner=salesperson, by=salesperson)

    result = lead_intake(
        inquiry(
            source="cars-com",
            external_id="b",
            phones=("202-555-0143",),
            vehicle=VehicleDetails(year=2025, make="Honda", model="CR-V"),
            comments="Does it come in red?",
        )
    )

    assert result.outcome == "merged"
    assert result.lead.pk == first.pk
    assert Lead.objects.count() == 1
    lead = Lead.objects.get()
    assert lead.vehicle_label == "2025 Honda CR-V"
    assert "Does it come in red?" in lead.comments
    assert lead.customer.phone == "+12025550143"
    assert lead.owner == salesperson
    merged = lead.events.get(kind=LeadEvent.Kind.MERGED)
    assert merged.note == (
        "Repeat inquiry via cars-com: now asks about 2025 Honda CR-V (was 2024 Honda Civic); "
        "left a comment."
    )
    assert [i.outcome for i in lead.inquiries.all()] == ["created", "merged"]
    notification = Notification.objects.get()
    assert notification.recipient == salesperson
    assert notification.url == f"/leads/{lead.pk}/"
    # No second routing turn: intake's routing (to the pool: no rules) and the hand assignment.
    assert list(
        lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).values_list("actor_label", flat=True)
    ) == ["intake", ""]


def test_a_repeat_inquiry_refreshes_the_score(db):
    first = lead_intake(inquiry(external_id="a")).lead

    lead_intake(inquiry(external_id="b", phones=("202-555-0143",), purchase_horizon="within_week"))

    first.refresh_from_db()
    # base 10 + e-mail 10 + phone 15 + within a week 20
    assert first.score == 55
    assert {factor["code"] for factor in first.score_factors} == {
        "base",
        "valid_email",
        "valid_phone",
        "horizon_within_week",
    }


def test_the_same_repeat_inquiry_twice_is_merged_once(db):
    lead_intake(inquiry(external_id="a"))
    lead_intake(inquiry(external_id="b", comments="again"))

    result = lead_intake(inquiry(external_id="b", comments="again"))

    assert result.outcome == "already_received"
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.MERGED).count() == 1
    assert Inquiry.objects.count() == 2


def test_a_customer_matches_by_phone_when_the_email_is_new(db):
    lead_intake(inquiry(emails=(), phones=("+12025550143",)))

    result = lead_intake(inquiry(emails=("other@example.com",), phones=("(202) 555-0143",)))

    assert result.outcome == "merged"
    assert Customer.objects.count() == 1


def test_a_returning_customer_without_an_open_lead_gets_a_new_lead_on_the_same_record(
    salesperson,
):
    old = make_lead(LeadStatus.SOLD, owner=salesperson)
    email = old.customer.email

    result = lead_intake(inquiry(emails=(email.upper(),)))

    assert result.outcome == "created"
    assert result.lead.pk != old.pk
    assert result.lead.customer_id == old.customer_id


def test_an_open_lead_older_than_30_days_is_not_merged_into(db):
    old = lead_intake(inquiry(), at=timezone.now() - timedelta(days=31)).lead

    result = lead_intake(inquiry())

    assert result.outcome == "created"
    assert result.lead.pk != old.pk
    assert result.lead.customer_id == old.customer_id


def test_a_resend_of_a_received_inquiry_writes_nothing(db):
    lead_intake(inquiry(comments="first"))

    result = lead_intake(inquiry(resend=True, comments="first"))

    assert result.outcome == "already_received"
    assert Inquiry.objects.count() == 1
    assert not LeadEvent.objects.filter(kind=LeadEvent.Kind.MERGED).exists()


def test_a_resend_never_received_before_is_created(db):
    result = lead_intake(inquiry(resend=True))

    assert result.outcome == "created"


def test_spam_never_joins_a_real_customer(db):
    real = lead_intake(inquiry()).lead

    spam = lead_intake(inquiry(honeypot_filled=True)).lead

    assert spam.pk != real.pk
    assert spam.customer_id != real.customer_id
    assert (spam.status, spam.close_reason.code) == (LeadStatus.DISQUALIFIED, "spam")
    real.refresh_from_db()
    assert real.status == LeadStatus.NEW


def test_a_lead_from_a_configured_source_waits_in_its_teams_pool(sales_team):
    from leads.models import LeadSource

    LeadSource.objects.create(key="website", name="Our website", team=sales_team, quality_points=8)

    lead = lead_intake(inquiry()).lead

    assert lead.team == sales_team
    assert lead.owner is None
    assert lead.channel == "third_party"
    assert {"code": "source", "label": "Source: Our website", "points": 8, "detail": ""} in (
        lead.score_factors
    )
