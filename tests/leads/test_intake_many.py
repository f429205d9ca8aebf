"""Bulk intake for imports gives every row the result one-by-one intake would give it."""

from django.db import transaction
from django.utils import timezone

from leads.intake import lead_intake, lead_intake_many
from leads.models import Lead
from leads.submission import Submission, VehicleDetails
from leads.tracking import WebEventInput, web_events_record
from tests.factories import make_lead


def rows(known_email):
    kia = VehicleDetails(year=2025, make="Kia", model="EV6")
    ford = VehicleDetails(year=2024, make="Ford", model="F-150")
    return [
        Submission(source="fair", external_id="1", emails=("ann@example.com",), vehicle=kia),
        Submission(source="fair", external_id="2", phones=("+13125550101",), comments="hi"),
        # Ann again, by e-mail, with a phone and another vehicle: merges into row 1's lead.
        Submission(
            source="fair",
            external_id="3",
            emails=("ANN@example.com",),
            phones=("+13125550102",),
            vehicle=ford,
            purchase_horizon="within_week",
            comments="Does the F-150 tow 5 tons?",
        ),
        # Row 2's person again, twice, one without an id of its own.
        Submission(source="fair", external_id="4", phones=("(312) 555-0101",), comments="again"),
        Submission(source="fair", phones=("312-555-0101",), comments="and again"),
        # The same inquiry as row 1: already received.
        Submission(source="fair", external_id="1", emails=("ann@example.com",), vehicle=kia),
        # Junk, a known customer, a visitor to stitch.
        Submission(source="fair", external_id="7", phones=("12",)),
        Submission(source="fair", external_id="8", emails=(known_email,)),
        Submission(source="fair", external_id="9", emails=("vic@example.com",), visitor_id="v-1"),
        Submission(source="fair", external_id="10", emails=("vic@example.com",), comments="x"),
        Submission(source="fair", external_id="11", emails=("new@example.com",)),
    ]


def snapshot(results):
    def lead_state(lead):
        lead = Lead.objects.get(pk=lead.pk)
        return (
            lead.customer.email,
            lead.customer.phone,
            lead.status,
            lead.vehicle_label,
            lead.purchase_horizon,
            lead.comments,
            lead.score,
            lead.score_factors,
            lead.contact_issues,
            lead.close_reason.code if lead.close_reason else "",
            lead.last_seen_at is not None,
            [(e.kind, e.to_status, e.note) for e in lead.events.order_by("id")],
            [(i.external_id, i.outcome) for i in lead.inquiries.order_by("id")],
        )

    return [(result.outcome, lead_state(result.lead)) for result in results]


def test_bulk_intake_matches_one_by_one_intake_row_for_row(db):
    known = make_lead()
    web_events_record(
        [WebEventInput(visitor_id="v-1", type="page_view", occurred_at=timezone.now())]
    )
    at = timezone.now()

    with transaction.atomic():
        one_by_one = snapshot([lead_intake(row, at=at) for row in rows(known.customer.email)])
        transaction.set_rollback(True)
    in_bulk = snapshot(lead_intake_many(rows(known.customer.email), at=at))

    assert [outcome for outcome, _ in in_bulk] == [
        "created",
        "created",
        "merged",
        "merged",
        "merged",
        "already_received",
        "created",
        "merged",
        "created",
        "merged",
        "created",
    ]
    assert in_bulk == one_by_one


def test_bulk_intake_writes_few_statements_for_many_plain_rows(db, django_assert_max_num_queries):
    plain = [
        Submission(source="fair", external_id=str(n), emails=(f"p{n}@example.com",))
        for n in range(200)
    ]

    # A dozen statements, some split into chunks the database accepts (SQLite takes 999
    # parameters per statement, and a lead has 50 columns): a row at a time would be over 2,000.
    with django_assert_max_num_queries(36):
        results = lead_intake_many(plain)

    assert {result.outcome for result in results} == {"created"}
    assert Lead.objects.count() == 200
