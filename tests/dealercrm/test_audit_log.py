"""The audit log: each sensitive change made through its service leaves one entry with who,
when, and each value before and after; managers read them at /audit/."""

from datetime import time

import pytest

from dealercrm.models import AuditEntry, ImmutableRowError, Role
from dealercrm.services import staff_set_routing
from leads.models import LeadEvent, LeadStatus
from leads.routing import lead_reassign
from leads.services import lead_reopen
from routing.errors import InvalidRule
from routing.models import OpeningHours, RoutingRule
from routing.services import opening_hours_set, rule_create, rule_delete, rule_move, rule_update
from tests.factories import make_lead, make_staff

A = AuditEntry.Action


def only_entry(**filters):
    [entry] = AuditEntry.objects.filter(**filters)
    return entry


@pytest.fixture
def rule(bdc_manager, salesperson):
    return rule_create(
        by=bdc_manager, name="Web leads", strategy="round_robin", members=[salesperson]
    )


def test_a_new_rule_is_logged_with_its_values_and_members(rule, bdc_manager):
    entry = only_entry(action=A.RULE_CREATED)

    assert (entry.actor, entry.target_type, entry.target_id) == (
        bdc_manager,
        "routingrule",
        rule.pk,
    )
    assert entry.target_label == "Web leads"
    assert entry.changes["name"] == [None, "Web leads"]
    assert entry.changes["strategy"] == [None, "round_robin"]
    assert entry.changes["members"] == [None, ["Alice alice"]]
    assert "id" not in entry.changes


def test_a_changed_rule_logs_only_what_changed(rule, bdc_manager, salesperson, other_salesperson):
    rule_update(rule=rule, by=bdc_manager, sla_minutes=15, members=[salesperson, other_salesperson])

    entry = only_entry(action=A.RULE_CHANGED)
    assert entry.changes == {
        "sla_minutes": [5, 15],
        "members": [["Alice alice"], ["Alice alice", "Bob bob"]],
    }


def test_switching_a_rule_off_is_logged(rule, bdc_manager):
    rule_update(rule=rule, by=bdc_manager, active=False)

    assert only_entry(action=A.RULE_CHANGED).changes == {"active": [True, False]}


def test_a_refused_change_leaves_no_entry(rule, bdc_manager):
    with pytest.raises(InvalidRule):
        rule_update(rule=rule, by=bdc_manager, sla_minutes=0)

    assert not AuditEntry.objects.filter(action=A.RULE_CHANGED).exists()


def test_moving_a_rule_logs_its_priority(rule, bdc_manager, salesperson):
    second = rule_create(
        by=bdc_manager, name="Phone", strategy="round_robin", members=[salesperson]
    )

    rule_move(rule=second, by=bdc_manager, offset=-1)

    entry = only_entry(action=A.RULE_MOVED)
    assert (entry.target_id, entry.changes) == (second.pk, {"priority": [20, 10]})


def test_a_deleted_rule_keeps_every_value_in_its_entry(rule, bdc_manager):
    rule_id = rule.pk
    rule_delete(rule=rule, by=bdc_manager)

    entry = only_entry(action=A.RULE_DELETED)
    assert not RoutingRule.objects.filter(pk=rule_id).exists()
    assert (entry.target_id, entry.target_label) == (rule_id, "Web leads")
    assert entry.changes["strategy"] == ["round_robin", None]
    assert entry.changes["members"] == [["Alice alice"], None]


def test_opening_hours_are_logged_per_weekday(bdc_manager):
    opening_hours_set(hours={0: (time(9), time(18)), 1: (time(9), time(18))}, by=bdc_manager)
    opening_hours_set(hours={0: (time(8), time(18))}, by=bdc_manager)

    latest = AuditEntry.objects.filter(action=A.HOURS_CHANGED).first()
    assert latest.target_label == "Opening hours"
    assert latest.changes == {
        "Monday": ["09:00–18:00", "08:00–18:00"],
        "Tuesday": ["09:00–18:00", "closed"],
    }
    assert OpeningHours.objects.count() == 1


def test_capacity_and_shift_changes_are_logged_and_no_change_logs_nothing(bdc_manager, salesperson):
    capacity = salesperson.staff.capacity
    staff_set_routing(user=salesperson, by=bdc_manager, capacity=capacity + 3, on_shift=False)
    staff_set_routing(user=salesperson, by=bdc_manager, capacity=capacity + 3)

    entry = only_entry(action=A.STAFF_ROUTING_CHANGED)
    assert (entry.target_type, entry.target_id, entry.target_label) == (
        "user",
        salesperson.pk,
        "Alice alice",
    )
    assert entry.changes == {"on_shift": [True, False], "capacity": [capacity, capacity + 3]}


def test_a_reassignment_is_logged_with_the_reason(bdc_manager, salesperson, other_salesperson):
    lead = make_lead(LeadStatus.CONTACTED, owner=salesperson)

    lead_reassign(lead=lead, owner=other_salesperson, by=bdc_manager, reason="Alice is on leave")
    lead_reassign(lead=lead, owner=None, by=bdc_manager, reason="Nobody free today")

    first, second = AuditEntry.objects.filter(action=A.LEAD_REASSIGNED).order_by("id")
    assert (first.target_type, first.target_id, first.actor) == ("lead", lead.pk, bdc_manager)
    assert (first.changes, first.note) == (
        {"owner": ["Alice alice", "Bob bob"]},
        "Alice is on leave",
    )
    assert second.changes == {"owner": ["Bob bob", "the pool"]}


def test_returns_to_work_by_people_are_logged_and_a_customer_coming_back_is_not(
    bdc_manager, salesperson
):
    audited = make_lead(LeadStatus.DISQUALIFIED, owner=salesperson)
    resurfaced = make_lead(LeadStatus.LOST, owner=salesperson)

    lead_reopen(lead=audited, cause=LeadEvent.ReopenCause.AUDIT, by=bdc_manager, note="Real buyer")
    lead_reopen(lead=resurfaced, cause=LeadEvent.ReopenCause.RESURFACING, by="sweep:reactivation")

    entry = only_entry(action=A.LEAD_RETURNED)
    assert (entry.target_id, entry.actor, entry.note) == (audited.pk, bdc_manager, "Real buyer")
    assert entry.changes == {
        "status": ["disqualified", "new"],
        "cause": [None, "Disqualification audit"],
    }


def test_entries_are_never_edited_or_deleted(rule):
    entry = AuditEntry.objects.get()
    entry.note = "changed"

    with pytest.raises(ImmutableRowError):
        entry.save()
    with pytest.raises(ImmutableRowError):
        entry.delete()


def test_managers_read_and_filter_the_log(client, bdc_manager, rule, salesperson):
    staff_set_routing(user=salesperson, by=bdc_manager, capacity=salesperson.staff.capacity + 1)
    rule_update(rule=rule, by="manage.py import_rules", sla_minutes=9)
    client.force_login(bdc_manager)

    everything = client.get("/audit/")
    by_action = client.get("/audit/", {"action": A.STAFF_ROUTING_CHANGED})
    by_person = client.get("/audit/", {"actor": bdc_manager.pk})
    of_the_rule = client.get("/audit/", {"target_type": "routingrule", "target_id": rule.pk})

    assert [entry.action for entry in everything.context["page"]] == [
        A.RULE_CHANGED,
        A.STAFF_ROUTING_CHANGED,
        A.RULE_CREATED,
    ]
    assert b"manage.py import_rules" in everything.content
    assert f'href="/routing/{rule.pk}/"'.encode() in everything.content
    assert [entry.action for entry in by_action.context["page"]] == [A.STAFF_ROUTING_CHANGED]
    assert len(by_person.context["page"]) == 2
    assert [entry.action for entry in of_the_rule.context["page"]] == [
        A.RULE_CHANGED,
        A.RULE_CREATED,
    ]


def test_the_log_page_takes_a_fixed_number_of_queries(
    client, bdc_manager, salesperson, django_assert_num_queries
):
    for n in range(5):
        make_staff(Role.SALESPERSON, salesperson.staff.team, username=f"s{n}")
        staff_set_routing(user=salesperson, by=bdc_manager, capacity=20 + n)
    client.force_login(bdc_manager)
    client.get("/audit/")  # warms the permission cache

    # Session, user, the actors of the filter, the count, the page of entries with their actor.
    with django_assert_num_queries(5):
        response = client.get("/audit/")

    assert len(response.context["page"]) == 5


def test_sales_staff_may_not_read_the_log(client, salesperson):
    client.force_login(salesperson)

    assert client.get("/audit/").status_code == 403
