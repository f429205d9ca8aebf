"""The disqualification audit: every disqualified lead with its reason and who decided, and
returning one to work in one click, recorded as an audit return."""

from leads.intake import lead_intake
from leads.models import LeadEvent, LeadStatus
from leads.submission import Submission
from tests.factories import make_lead


def junk(**fields):
    return lead_intake(Submission(source="website", **fields)).lead


def test_a_manager_sees_every_disqualified_lead_with_why_and_who(
    client, bdc_manager, salesperson, django_assert_num_queries
):
    no_contact = junk(phones=("12",))
    bot = junk(emails=("a@example.com",), honeypot_filled=True)
    by_hand = make_lead(LeadStatus.DISQUALIFIED, owner=salesperson, by=salesperson)
    make_lead(LeadStatus.LOST, owner=salesperson)  # lost, not disqualified: not listed
    client.force_login(bdc_manager)

    # session, user, permissions ×2 (the page and the menu share them), the reasons of the
    # filter, count, the page with each lead's closing note and who closed it.
    with django_assert_num_queries(7):
        response = client.get("/leads/disqualified/")

    page = response.context["page"]
    assert [lead.pk for lead in page] == [by_hand.pk, bot.pk, no_contact.pk]
    assert page[2].closing_note.startswith("No working phone or e-mail")
    assert (page[0].closed_by_name, page[1].closed_by_label) == ("Alice alice", "intake")
    assert b"filled in, as bots do" in response.content


def test_the_audit_filters_by_who_disqualified(client, bdc_manager, salesperson):
    bot = junk(emails=("a@example.com",), honeypot_filled=True)
    by_hand = make_lead(LeadStatus.DISQUALIFIED, owner=salesperson, by=salesperson)
    client.force_login(bdc_manager)

    intake = client.get("/leads/disqualified/", {"closed_by": "intake"}).context["page"]
    people = client.get("/leads/disqualified/", {"closed_by": "people"}).context["page"]

    assert [lead.pk for lead in intake] == [bot.pk]
    assert [lead.pk for lead in people] == [by_hand.pk]


def test_returning_a_lead_to_work_records_the_audit(client, bdc_manager):
    lead = junk(emails=("a@example.com",), honeypot_filled=True)
    client.force_login(bdc_manager)

    response = client.post(f"/leads/{lead.pk}/return-to-work/", {"note": "A real customer"})

    assert response.status_code == 302
    assert response["Location"] == "/leads/disqualified/"
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    event = lead.events.get(kind=LeadEvent.Kind.REOPENED)
    assert (event.cause, event.actor, event.note) == ("audit", bdc_manager, "A real customer")


def test_a_salesperson_may_not_audit(client, salesperson):
    lead = junk(phones=("12",))
    client.force_login(salesperson)

    assert client.get("/leads/disqualified/").status_code == 403
    assert client.post(f"/leads/{lead.pk}/return-to-work/").status_code == 403
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED
