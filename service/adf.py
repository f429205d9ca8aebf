"""Service requests sent as ADF/XML: each prospect of a document read by `leads.adf.parse_adf`
becomes the data of one service opportunity, in the shape the service API's JSON takes.

Pure: no database. The API resolves the customer and vehicle and opens (or recognises) the
opportunity with `service.services.opportunity_open`.
"""

from decimal import Decimal

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail
from leads.submission import Submission, VehicleDetails
from service.errors import InvalidOpportunity
from service.models import ServiceOpportunity, Stage

# ADF is what dealer websites and lead portals send; their service forms are web requests.
ADF_SOURCE = ServiceOpportunity.Source.WEB
MAX_TITLE = ServiceOpportunity._meta.get_field("title").max_length
MAX_EXTERNAL_ID = ServiceOpportunity._meta.get_field("external_id").max_length


def opportunity_data(submission: Submission, number: int = 1) -> dict:
    """What prospect `number` of a document asks for, as the API's JSON body would say it.

    The prospect's <id>, after its sender (the id's `source`, else the provider's name), is the
    opportunity's external id ("activix:12345"): without one a resend could not be
    told from a new request, so the prospect is refused (InvalidOpportunity) rather than opened
    twice. The work is not priced yet (estimated value 0). The customer is reached at the first
    e-mail and the first phone that are valid; InvalidOpportunity when none is.
    """
    external_id = submission.external_id.strip()
    if not external_id:
        raise InvalidOpportunity(
            f"Prospect {number} has no <id>. Send each service request with an id, e.g. "
            '<id source="your-system">12345</id>, so that a resend is recognised and opens '
            "nothing twice."
        )
    # Ids are unique per sender only: two portals may both send request 12345.
    external_id = f"{submission.source}:{external_id}"
    if len(external_id) > MAX_EXTERNAL_ID:
        raise InvalidOpportunity(
            f"Prospect {number} has an <id> and source of {len(external_id)} characters; "
            f"the limit is {MAX_EXTERNAL_ID}."
        )
    vehicle = submission.vehicle
    return {
        "source": ADF_SOURCE,
        "external_id": external_id,
        "title": service_title(vehicle, submission.comments),
        "estimated_value": Decimal("0.00"),
        "stage": Stage.PLANNED,
        "mileage": vehicle.mileage if vehicle else None,
        "items": [],
        "customer": _customer(submission, number),
        "vehicle": _vehicle(vehicle),
    }


def service_title(vehicle: VehicleDetails | None, comments: str) -> str:
    """ "Service request: 2017 Honda Civic — oil change and brake noise", cut to fit."""
    title = "Service request"
    described = _describe(vehicle)
    if described:
        title += f": {described}"
    request = " ".join(comments.split())
    if request:
        title += f" — {request}"
    if len(title) > MAX_TITLE:
        title = title[: MAX_TITLE - 1].rstrip() + "…"
    return title


def _describe(vehicle: VehicleDetails | None) -> str:
    if vehicle is None:
        return ""
    words = " ".join(str(word) for word in (vehicle.year, vehicle.make, vehicle.model) if word)
    return words or (f"VIN {vehicle.vin}" if vehicle.vin else "")


def _customer(submission: Submission, number: int) -> dict:
    problems = []
    region = submission.phone_region or None
    email = _first_valid(submission.emails, normalize_email, problems)
    phone = _first_valid(submission.phones, lambda raw: normalize_phone(raw, region), problems)
    if not (email or phone):
        why = f" ({'; '.join(problems)})" if problems else ""
        raise InvalidOpportunity(
            f"Prospect {number} gives no usable e-mail address or phone number for the "
            f"customer{why}; a service customer must be reachable."
        )
    return {
        "first_name": submission.first_name,
        "last_name": submission.last_name,
        "email": email,
        "phone": phone,
    }


def _first_valid(values, normalize, problems):
    """The first detail that reads: a typo in one of several e-mails or phones should not cost
    the request when another reaches the customer."""
    for value in values:
        try:
            return normalize(value)
        except InvalidContactDetail as problem:
            problems.append(str(problem))
    return ""


def _vehicle(vehicle: VehicleDetails | None) -> dict | None:
    if vehicle is None:
        return None
    return {
        "vin": vehicle.vin,
        "year": vehicle.year,
        "make": vehicle.make,
        "model": vehicle.model,
        "mileage": vehicle.mileage,
    }
