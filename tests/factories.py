"""Test data built through the services, so that every lead has the history a real one has."""

import itertools

import factory

from dealercrm.models import Customer, Role, Team
from dealercrm.services import staff_create
from leads.models import LeadStatus, Reason
from leads.services import lead_assign, lead_change_status, lead_create

_usernames = itertools.count(1)


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ["name"]

    name = factory.Sequence(lambda n: f"Team {n}")
    kind = Team.Kind.SALES


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    phone = factory.Sequence(lambda n: f"+1202555{n % 10000:04d}")


def make_staff(role=Role.SALESPERSON, team=None, **fields):
    fields.setdefault("username", f"{role}-{next(_usernames)}")
    fields.setdefault("first_name", "Test")
    fields.setdefault("last_name", fields["username"])
    return staff_create(role=role, team=team, **fields)


def reason(kind, code):
    return Reason.objects.get(kind=kind, code=code)


# How each status is reached from new, through the services.
PATH_TO = {
    LeadStatus.NEW: [],
    LeadStatus.CONTACTED: [LeadStatus.CONTACTED],
    LeadStatus.QUALIFIED: [LeadStatus.CONTACTED, LeadStatus.QUALIFIED],
    LeadStatus.APPOINTMENT: [LeadStatus.CONTACTED, LeadStatus.QUALIFIED, LeadStatus.APPOINTMENT],
    LeadStatus.SOLD: [LeadStatus.CONTACTED, LeadStatus.SOLD],
    LeadStatus.LOST: [LeadStatus.CONTACTED, LeadStatus.LOST],
    LeadStatus.DISQUALIFIED: [LeadStatus.DISQUALIFIED],
}
CLOSING_REASON = {
    LeadStatus.LOST: ("lost", "bought_elsewhere"),
    LeadStatus.DISQUALIFIED: ("disqualified", "spam"),
}


def make_lead(status=LeadStatus.NEW, owner=None, team=None, customer=None, by="test", **fields):
    """A lead in `status`, reached through the same service calls a person would make."""
    lead = lead_create(
        customer=customer or CustomerFactory(),
        source=fields.pop("source", "dealer-website"),
        channel=fields.pop("channel", "web_form"),
        team=team,
        by=by,
        **fields,
    )
    if owner is not None:
        lead = lead_assign(lead=lead, owner=owner, by=by)
    for step in PATH_TO[LeadStatus(status)]:
        closing = CLOSING_REASON.get(step)
        lead = lead_change_status(
            lead=lead, to_status=step, by=by, reason=reason(*closing) if closing else None
        )
    return lead


def browse(customer, at, *, type="vehicle_view", session="s1", make="Kia", model="EV6", vin=""):
    """The customer does one thing on the dealer's website at `at`, as its tracker reports it
    (identified by their e-mail)."""
    from leads.tracking import WebEventInput, web_events_record

    web_events_record(
        [
            WebEventInput(
                visitor_id=f"visitor-{customer.pk}",
                type=type,
                occurred_at=at,
                session_id=session,
                make=make if type == "vehicle_view" else "",
                model=model if type == "vehicle_view" else "",
                vin=vin,
                email=customer.email,
            )
        ],
        at=at,
    )


def make_opportunity(
    customer=None,
    *,
    advisor=None,
    value="400.00",
    stage="booked",
    source="booking",
    title="Annual service",
    vehicle=None,
    by="test",
    **fields,
):
    """A service opportunity opened through the service, so its history exists."""
    from service.services import opportunity_create

    return opportunity_create(
        customer=customer or CustomerFactory(),
        advisor=advisor,
        estimated_value=value,
        stage=stage,
        source=source,
        title=title,
        vehicle=vehicle,
        by=by,
        **fields,
    )
