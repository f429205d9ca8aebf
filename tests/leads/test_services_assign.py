import pytest

from leads.errors import InvalidAssignee, LeadIsClosed
from leads.models import LeadEvent, LeadStatus
from leads.services import lead_assign
from tests.factories import make_lead


@pytest.mark.django_db
def test_assigning_records_both_owners_and_moves_the_lead_to_the_owners_team(
    salesperson, used_car_salesperson
):
    lead = make_lead(LeadStatus.NEW, owner=salesperson)

    lead = lead_assign(lead=lead, owner=used_car_salesperson, by="routing", note="rotation")

    lead.refresh_from_db()
    assert lead.owner == used_car_salesperson
    assert lead.team == used_car_salesperson.staff.team
    event = lead.events.last()
    assert event.kind == LeadEvent.Kind.ASSIGNED
    assert (event.from_owner, event.to_owner) == (salesperson, used_car_salesperson)
    assert event.note == "rotation"


@pytest.mark.django_db
def test_assigning_to_nobody_returns_the_lead_to_the_team_pool(salesperson):
    lead = make_lead(LeadStatus.NEW, owner=salesperson)

    lead = lead_assign(lead=lead, owner=None, by="manager")

    assert lead.owner is None
    assert lead.assigned_at is None
    assert lead.team == salesperson.staff.team


@pytest.mark.django_db
def test_assigning_to_the_current_owner_records_nothing(salesperson):
    lead = make_lead(LeadStatus.NEW, owner=salesperson)
    events_before = lead.events.count()

    lead_assign(lead=lead, owner=salesperson, by="routing")

    assert lead.events.count() == events_before


@pytest.mark.django_db
def test_a_closed_lead_cannot_be_assigned(salesperson, other_salesperson):
    lead = make_lead(LeadStatus.SOLD, owner=salesperson)

    with pytest.raises(LeadIsClosed):
        lead_assign(lead=lead, owner=other_salesperson, by="manager")

    lead.refresh_from_db()
    assert lead.owner == salesperson


@pytest.mark.django_db
def test_a_lead_cannot_go_to_service_staff(salesperson, service_advisor):
    lead = make_lead(LeadStatus.NEW, owner=salesperson)

    with pytest.raises(InvalidAssignee, match="service advisor"):
        lead_assign(lead=lead, owner=service_advisor, by="manager")

    lead.refresh_from_db()
    assert lead.owner == salesperson


@pytest.mark.django_db
def test_a_lead_cannot_go_to_someone_who_left(salesperson, other_salesperson):
    other_salesperson.staff.active = False
    other_salesperson.staff.save()
    lead = make_lead(LeadStatus.NEW, owner=salesperson)

    with pytest.raises(InvalidAssignee, match="not an active member"):
        lead_assign(lead=lead, owner=other_salesperson, by="manager")
