"""The status machine: every move, allowed or forbidden, and the history it leaves."""

import itertools
from datetime import timedelta

import pytest
from django.utils import timezone

from dealercrm.models import ImmutableRowError
from leads.errors import ActorRequired, InvalidReason, InvalidTransition, ReasonRequired
from leads.models import LeadEvent, LeadStatus
from leads.services import lead_change_status
from tests.factories import make_lead, reason

S = LeadStatus

# Written out by hand rather than read from leads.models.TRANSITIONS, so that a change to the
# table has to be made here too, on purpose.
ALLOWED = {
    (S.NEW, S.CONTACTED),
    (S.NEW, S.LOST),
    (S.NEW, S.DISQUALIFIED),
    (S.CONTACTED, S.QUALIFIED),
    (S.CONTACTED, S.APPOINTMENT),
    (S.CONTACTED, S.SOLD),
    (S.CONTACTED, S.LOST),
    (S.CONTACTED, S.DISQUALIFIED),
    (S.QUALIFIED, S.APPOINTMENT),
    (S.QUALIFIED, S.SOLD),
    (S.QUALIFIED, S.LOST),
    (S.APPOINTMENT, S.QUALIFIED),
    (S.APPOINTMENT, S.SOLD),
    (S.APPOINTMENT, S.LOST),
}
ALL_MOVES = list(itertools.product(S, S))
REASON_FOR = {S.LOST: ("lost", "price"), S.DISQUALIFIED: ("disqualified", "non_target")}


def _reason_for(status):
    return reason(*REASON_FOR[status]) if status in REASON_FOR else None


@pytest.mark.django_db
@pytest.mark.parametrize(("from_status", "to_status"), sorted(ALLOWED))
def test_an_allowed_move_changes_the_status_and_appends_one_event(
    from_status, to_status, salesperson
):
    lead = make_lead(from_status, owner=salesperson)
    events_before = lead.events.count()
    at = timezone.now() + timedelta(seconds=1)

    lead = lead_change_status(
        lead=lead, to_status=to_status, by=salesperson, reason=_reason_for(to_status), at=at
    )

    lead.refresh_from_db()
    assert lead.status == to_status
    assert lead.status_changed_at == at
    assert lead.events.count() == events_before + 1
    event = lead.events.last()
    assert event.kind == LeadEvent.Kind.STATUS_CHANGED
    assert (event.from_status, event.to_status) == (from_status, to_status)
    assert event.actor == salesperson
    assert event.at == at
    assert event.reason == _reason_for(to_status)


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("from_status", "to_status"), [move for move in ALL_MOVES if move not in ALLOWED]
)
def test_a_forbidden_move_raises_and_writes_nothing(from_status, to_status, salesperson):
    lead = make_lead(from_status, owner=salesperson)
    events_before = lead.events.count()

    with pytest.raises(InvalidTransition) as raised:
        lead_change_status(
            lead=lead, to_status=to_status, by=salesperson, reason=_reason_for(to_status)
        )

    assert f"'{from_status}' cannot move to '{to_status}'" in str(raised.value)
    lead.refresh_from_db()
    assert lead.status == from_status
    assert lead.events.count() == events_before


@pytest.mark.django_db
def test_closing_a_lead_sets_closed_at_and_the_reason(salesperson):
    lead = make_lead(S.QUALIFIED, owner=salesperson)
    at = timezone.now()

    lead = lead_change_status(
        lead=lead, to_status=S.LOST, by=salesperson, reason=reason("lost", "price"), at=at
    )

    lead.refresh_from_db()
    assert lead.closed_at == at
    assert lead.close_reason.code == "price"
    assert lead.is_open is False


@pytest.mark.django_db
@pytest.mark.parametrize("to_status", [S.LOST, S.DISQUALIFIED])
def test_losing_or_disqualifying_without_a_reason_is_refused(to_status, salesperson):
    lead = make_lead(S.CONTACTED, owner=salesperson)

    with pytest.raises(ReasonRequired, match=f"Marking a lead {to_status} needs a reason"):
        lead_change_status(lead=lead, to_status=to_status, by=salesperson)

    lead.refresh_from_db()
    assert lead.status == S.CONTACTED
    assert lead.closed_at is None


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("to_status", "kind", "code"),
    [
        (S.LOST, "disqualified", "spam"),  # a disqualification reason is not a loss reason
        (S.DISQUALIFIED, "lost", "price"),
        (S.LOST, "service_loss", "no_show"),  # a service reason is not a sales reason
    ],
)
def test_a_reason_of_the_wrong_kind_is_refused(to_status, kind, code, salesperson):
    lead = make_lead(S.CONTACTED, owner=salesperson)

    with pytest.raises(InvalidReason):
        lead_change_status(
            lead=lead, to_status=to_status, by=salesperson, reason=reason(kind, code)
        )

    lead.refresh_from_db()
    assert lead.status == S.CONTACTED


@pytest.mark.django_db
def test_an_inactive_reason_is_refused(salesperson):
    retired = reason("lost", "price")
    retired.active = False
    retired.save()
    lead = make_lead(S.CONTACTED, owner=salesperson)

    with pytest.raises(InvalidReason):
        lead_change_status(lead=lead, to_status=S.LOST, by=salesperson, reason=retired)


@pytest.mark.django_db
def test_a_reason_given_for_an_open_move_is_refused(salesperson):
    lead = make_lead(S.CONTACTED, owner=salesperson)

    with pytest.raises(InvalidReason, match="takes no reason"):
        lead_change_status(
            lead=lead, to_status=S.QUALIFIED, by=salesperson, reason=reason("lost", "price")
        )


@pytest.mark.django_db
def test_the_other_reason_needs_a_note(salesperson):
    lead = make_lead(S.CONTACTED, owner=salesperson)
    other = reason("lost", "other")

    with pytest.raises(ReasonRequired, match="needs a note"):
        lead_change_status(lead=lead, to_status=S.LOST, by=salesperson, reason=other, note=" ")

    lead = lead_change_status(
        lead=lead, to_status=S.LOST, by=salesperson, reason=other, note="Moved abroad"
    )
    assert lead.events.last().note == "Moved abroad"


@pytest.mark.django_db
def test_a_job_is_recorded_by_name_not_as_a_person():
    lead = make_lead(S.CONTACTED)

    lead_change_status(
        lead=lead, to_status=S.LOST, by="sweep:stale", reason=reason("lost", "no_response")
    )

    event = lead.events.last()
    assert event.actor is None
    assert event.actor_label == "sweep:stale"
    assert event.actor_name == "sweep:stale"


@pytest.mark.django_db
def test_moving_to_contacted_by_hand_records_the_first_contact_time(salesperson):
    lead = make_lead(S.NEW, owner=salesperson)
    at = timezone.now()

    lead = lead_change_status(lead=lead, to_status=S.CONTACTED, by=salesperson, at=at)

    assert lead.first_contacted_at == at


@pytest.mark.django_db
def test_a_missed_appointment_keeps_the_first_contact_time(salesperson):
    lead = make_lead(S.APPOINTMENT, owner=salesperson)
    first_contact = lead.first_contacted_at

    lead = lead_change_status(lead=lead, to_status=S.QUALIFIED, by=salesperson)

    assert lead.first_contacted_at == first_contact
    assert lead.closed_at is None


@pytest.mark.django_db
def test_history_rows_cannot_be_edited_or_deleted(salesperson):
    event = make_lead(S.NEW).events.get()
    event.note = "rewritten"

    with pytest.raises(ImmutableRowError):
        event.save()
    with pytest.raises(ImmutableRowError):
        event.delete()


@pytest.mark.django_db
@pytest.mark.parametrize("nobody", ["", "   ", None])
def test_a_change_without_an_actor_is_refused_and_writes_nothing(nobody):
    lead = make_lead(S.NEW)

    with pytest.raises(ActorRequired, match="needs an actor"):
        lead_change_status(lead=lead, to_status=S.CONTACTED, by=nobody)

    lead.refresh_from_db()
    assert lead.status == S.NEW
    assert lead.events.count() == 1
