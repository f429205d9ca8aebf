"""Intake routes every new lead through the active rules and keeps the decision and its reason."""

from datetime import UTC, datetime, timedelta

from django.db import connection

from leads.intake import lead_intake, lead_intake_many
from leads.models import Lead, LeadEvent, LeadStatus
from leads.submission import Submission, VehicleDetails
from routing.models import Fallback, Strategy
from routing.services import rule_create
from tests.factories import make_lead

WEDNESDAY_10AM = datetime(2026, 11, 18, 10, 0, tzinfo=UTC)
LOCK = 1 if connection.vendor == "postgresql" else 0


def inquiry(n, **fields):
    return Submission(
        source=fields.pop("source", "website"),
        external_id=f"f-{n}",
        first_name=f"Customer{n}",
        emails=(fields.pop("email", f"buyer{n}@example.net"),),
        **fields,
    )


def test_round_robin_takes_turns_and_explains_each_choice(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="Web leads", strategy=Strategy.ROUND_ROBIN, members=sellers)

    leads = [lead_intake(inquiry(n), at=WEDNESDAY_10AM).lead for n in range(6)]

    assert [lead.owner_id for lead in leads] == [p.pk for p in sellers] * 2
    first = Lead.objects.get(pk=leads[0].pk)
    assert first.assigned_at == WEDNESDAY_10AM
    assert first.routing["rule"]["name"] == "Web leads"
    assert first.routing["explanation"] == (
        "Rule 'Web leads' → round robin: Ann Seller's turn among 3 available"
    )
    assert first.first_response_due_at == WEDNESDAY_10AM + timedelta(minutes=5)
    routed = first.events.get(kind=LeadEvent.Kind.ASSIGNED)
    assert routed.to_owner == sellers[0]
    assert routed.actor_label == "intake"
    assert routed.routing["candidates"][0] == {
        "id": sellers[0].pk,
        "name": "Ann Seller",
        "open_leads": 0,
        "capacity": 25,
        "response_seconds": None,
        "weight": 1.0,
        "skipped": "",
    }


def test_least_loaded_gives_the_lead_to_the_emptiest_and_skips_those_off_shift(
    sellers, bdc_manager
):
    ann, ben, cat = sellers
    for _ in range(3):
        make_lead(owner=ann)
    make_lead(owner=ben)
    cat.staff.on_shift = False
    cat.staff.save()
    rule_create(
        by=bdc_manager, name="Used cars — web", strategy=Strategy.LEAST_LOADED, members=sellers
    )

    lead = lead_intake(inquiry(1), at=WEDNESDAY_10AM).lead

    assert lead.owner == ben
    assert lead.routing["explanation"] == (
        "Rule 'Used cars — web' → least loaded: 3 of 25 open for Ann Seller, 1 of 25 open for "
        "Ben Seller; Ben Seller chosen (Cat Seller off shift)"
    )


def test_a_full_person_gets_nothing_and_the_fallback_pool_takes_the_lead(
    sellers, bdc_manager, sales_team
):
    for person in sellers:
        person.staff.capacity = 1
        person.staff.save()
        make_lead(owner=person)
    rule_create(
        by=bdc_manager,
        name="Web",
        strategy=Strategy.ROUND_ROBIN,
        members=sellers,
        team=sales_team,
        fallback=Fallback.POOL,
    )

    lead = lead_intake(inquiry(1), at=WEDNESDAY_10AM).lead

    assert lead.owner is None
    assert lead.team == sales_team
    assert lead.routing["outcome"] == "pool"
    assert lead.routing["explanation"] == (
        "Rule 'Web' → round robin: nobody available (Ann Seller full (1 of 1), Ben Seller full "
        "(1 of 1), Cat Seller full (1 of 1)); waits in the New cars pool for the first to claim it"
    )


def test_the_customer_returns_to_their_previous_salesperson(sellers, bdc_manager):
    ann, ben, _ = sellers
    earlier = lead_intake(inquiry(1), at=WEDNESDAY_10AM - timedelta(days=60)).lead
    make_lead(owner=ben, customer=earlier.customer, status=LeadStatus.LOST)
    rule_create(by=bdc_manager, name="History", strategy=Strategy.PREVIOUS_OWNER, priority=1)
    rule_create(by=bdc_manager, name="Everyone", strategy=Strategy.ROUND_ROBIN, members=sellers)

    again = lead_intake(inquiry(2, email="buyer1@example.net"), at=WEDNESDAY_10AM).lead

    assert again.pk != earlier.pk
    assert again.owner == ben
    assert again.routing["explanation"] == (
        "Rule 'History' → previous salesperson: Ben Seller worked with this customer before "
        "(0 of 25 open)"
    )


def test_a_previous_salesperson_off_shift_falls_through_to_the_next_rule(sellers, bdc_manager):
    ann, ben, _ = sellers
    earlier = lead_intake(inquiry(1), at=WEDNESDAY_10AM - timedelta(days=60)).lead
    make_lead(owner=ben, customer=earlier.customer, status=LeadStatus.LOST)
    ben.staff.on_shift = False
    ben.staff.save()
    rule_create(by=bdc_manager, name="History", strategy=Strategy.PREVIOUS_OWNER, priority=1)
    rule_create(by=bdc_manager, name="Ann", strategy=Strategy.ROUND_ROBIN, members=[ann])

    lead = lead_intake(inquiry(2, email="buyer1@example.net"), at=WEDNESDAY_10AM).lead

    assert lead.owner == ann
    assert lead.routing["trail"] == [
        "Rule 'History' → previous salesperson: Ben Seller, the previous salesperson, is off "
        "shift; next rule"
    ]
    history = lead.events.get(kind=LeadEvent.Kind.ASSIGNED)
    assert history.note == "Rule 'Ann' → round robin: Ann Seller's turn among 1 available"


def test_conditions_send_hot_leads_to_one_rule_and_the_rest_to_another(sellers, bdc_manager):
    ann, ben, _ = sellers
    rule_create(
        by=bdc_manager,
        name="Hot",
        strategy=Strategy.ROUND_ROBIN,
        members=[ann],
        conditions={"score_min": 60},
        priority=1,
    )
    rule_create(by=bdc_manager, name="Rest", strategy=Strategy.ROUND_ROBIN, members=[ben])
    hot = inquiry(1, phones=("+12025550101",), purchase_horizon="within_week",
                  vehicle=VehicleDetails(vin="1HGCM82633A004352"))  # fmt: skip

    hot_lead = lead_intake(hot, at=WEDNESDAY_10AM).lead
    cold_lead = lead_intake(inquiry(2), at=WEDNESDAY_10AM).lead

    assert hot_lead.score >= 60
    assert hot_lead.owner == ann
    assert cold_lead.owner == ben


def test_with_no_rules_a_lead_waits_in_its_pool_and_says_why(db):
    lead = lead_intake(inquiry(1), at=WEDNESDAY_10AM).lead

    assert lead.owner is None
    assert lead.routing["explanation"] == (
        "No rule took the lead (no rule matched); it waits in the general pool"
    )
    assert lead.first_response_due_at == WEDNESDAY_10AM + timedelta(minutes=5)


def test_a_lead_arriving_after_closing_is_due_minutes_after_opening(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="Web", strategy=Strategy.ROUND_ROBIN, members=sellers)
    friday_night = datetime(2026, 11, 20, 21, 30, tzinfo=UTC)

    lead = lead_intake(inquiry(1), at=friday_night).lead

    # Saturday opens at 9:00 (the opening hours a dealership starts with).
    assert lead.first_response_due_at == datetime(2026, 11, 21, 9, 5, tzinfo=UTC)


def test_junk_is_routed_to_nobody(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="Web", strategy=Strategy.ROUND_ROBIN, members=sellers)

    lead = lead_intake(inquiry(1, honeypot_filled=True), at=WEDNESDAY_10AM).lead

    assert lead.status == LeadStatus.DISQUALIFIED
    assert lead.owner is None
    assert lead.routing == {}
    assert not lead.events.filter(kind=LeadEvent.Kind.ASSIGNED).exists()


def test_an_import_takes_turns_as_fairly_as_leads_one_by_one(sellers, bdc_manager):
    rule_create(by=bdc_manager, name="Web", strategy=Strategy.ROUND_ROBIN, members=sellers)

    results = lead_intake_many([inquiry(n) for n in range(30)], at=WEDNESDAY_10AM)

    owners = [result.lead.owner_id for result in results]
    assert [owners.count(person.pk) for person in sellers] == [10, 10, 10]
    assert LeadEvent.objects.filter(kind=LeadEvent.Kind.ASSIGNED).count() == 30
    # And the next single lead continues the rotation where the import left it.
    assert lead_intake(inquiry(99), at=WEDNESDAY_10AM).lead.owner == sellers[0]


def test_an_import_respects_capacity(sellers, bdc_manager, sales_team):
    for person in sellers:
        person.staff.capacity = 2
        person.staff.save()
    rule_create(
        by=bdc_manager, name="Web", strategy=Strategy.LEAST_LOADED, members=sellers,
        team=sales_team, fallback=Fallback.POOL,
    )  # fmt: skip

    results = lead_intake_many([inquiry(n) for n in range(8)], at=WEDNESDAY_10AM)

    owners = [result.lead.owner_id for result in results]
    assert sorted(owners.count(person.pk) for person in sellers) == [2, 2, 2]
    assert owners.count(None) == 2


def test_routing_a_new_lead_takes_a_fixed_number_of_queries(
    sellers, bdc_manager, django_assert_num_queries, django_capture_on_commit_callbacks
):
    rule_create(by=bdc_manager, name="Web", strategy=Strategy.ROUND_ROBIN, members=sellers)
    for n in range(5):
        lead_intake(inquiry(n), at=WEDNESDAY_10AM)

    # savepoint, [lock], what is known, customer insert, the rule set's version (the rules
    # themselves are kept in the process), the people with their open leads, the rule's cursor
    # locked, the chosen person read (and their staff row locked, on PostgreSQL), their open
    # leads recounted, the cursor saved, lead insert, history insert (created and routed),
    # inquiry insert, the owner's notification insert, release; then, on commit, the
    # notification's e-mail task enqueued (an INSERT into django-q2's ORM queue). Showing the
    # new lead's owner and team takes no more.
    with (
        django_assert_num_queries(15 + LOCK),
        django_capture_on_commit_callbacks(execute=True) as on_commit,
    ):
        lead = lead_intake(inquiry(100), at=WEDNESDAY_10AM).lead
        assert lead.owner.get_full_name() == "Cat Seller"  # the sixth turn among three
        assert lead.team.name == "New cars"
    assert len(on_commit) == 1
