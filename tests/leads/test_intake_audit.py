"""The audit list of leads intake disqualified by itself, and returning one to work."""

from leads.intake import lead_intake
from leads.models import LeadEvent, LeadStatus
from leads.submission import Submission
from tests.factories import make_lead


def junk(**fields):
    return lead_intake(Submission(source="website", **fields)).lead


def test_a_manager_sees_intakes_junk_with_why_and_not_leads_people_closed(
    client, bdc_manager, salesperson, django_assert_num_queries
):
    no_contact = junk(phones=("12",))
    bot = junk(emails=("a@example.com",), honeypot_filled=True)
    make_lead(LeadStatus.DISQUALIFIED, owner=salesperson)  # closed by a person: not listed
    client.force_login(bdc_manager)

    # session, user, permissions ×2 (the page and the menu share them), count, the page.
    with django_assert_num_queries(6):
        response = client.get("/leads/intake-audit/")

    page = response.context["page"]
    assert [lead.pk for lead in page] == [bot.pk, no_contact.pk]
    assert page[1].intake_note.startswith("No working phone or e-mail")
    assert b"filled in, as bots do" in response.content


def test_returning_a_lead_to_work_records_the_audit(client, bdc_manager):
    lead = junk(emails=("a@example.com",), honeypot_filled=True)
    client.force_login(bdc_manager)

    response = client.post(f"/leads/{lead.pk}/return-to-work/", {"note": "A real customer"})

    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.status == LeadStatus.NEW
    event = lead.events.get(kind=LeadEvent.Kind.REOPENED)
    assert (event.cause, event.actor, event.note) == ("audit", bdc_manager, "A real customer")


def test_a_salesperson_may_not_audit(client, salesperson):
    lead = junk(phones=("12",))
    client.force_login(salesperson)

    assert client.get("/leads/intake-audit/").status_code == 403
    assert client.post(f"/leads/{lead.pk}/return-to-work/").status_code == 403
    lead.refresh_from_db()
    assert lead.status == LeadStatus.DISQUALIFIED
