"""What every intake channel hands to the intake pipeline: one inquiry, parsed but not yet
normalised or matched.

The JSON API, the ADF/XML parser, the hosted website form, the call-tracking webhook and the CSV
import each build a `Submission`; `leads.intake.lead_intake` does the rest the same way for all of
them. Values arrive as the sender wrote them (phones and e-mails unnormalised); a parser leaves a
field empty rather than guess, and says what it left out in `warnings`.
"""

from dataclasses import dataclass, field
from datetime import datetime


class Format:
    """How the inquiry reached us; kept with its raw payload."""

    JSON = "json"
    ADF = "adf"
    FORM = "form"
    CALL = "call"
    CSV = "csv"

    choices = [
        (JSON, "JSON API"),
        (ADF, "ADF/XML"),
        (FORM, "Website form"),
        (CALL, "Call tracking"),
        (CSV, "CSV import"),
    ]


@dataclass(frozen=True)
class VehicleDetails:
    """A vehicle of interest or a trade-in. `condition` is "new", "used" or ""."""

    year: int | None = None
    make: str = ""
    model: str = ""
    trim: str = ""
    vin: str = ""
    stock: str = ""
    condition: str = ""
    mileage: int | None = None

    def is_empty(self):
        return not any(
            (self.year, self.make, self.model, self.trim, self.vin, self.stock, self.mileage)
        )


@dataclass(frozen=True)
class CallDetails:
    """A phone call reported by call tracking."""

    caller_number: str
    called_number: str = ""
    duration_seconds: int | None = None
    recording_url: str = ""


@dataclass(frozen=True)
class Submission:
    """One inquiry from one person.

    `emails` and `phones` are in the sender's order of preference; intake uses the first one that
    is valid and flags the lead when none is. `phone_region` is an ISO 3166 alpha-2 code for
    numbers written without a country code ("" means the dealership's default region).
    `resend` marks an inquiry the sender says it sent before (ADF `status="resend"`).
    `honeypot_filled` is set by the website form when its hidden field was filled in (a bot).
    """

    source: str
    channel: str = ""  # "" means the source's usual channel
    external_id: str = ""
    first_name: str = ""
    last_name: str = ""
    emails: tuple[str, ...] = ()
    phones: tuple[str, ...] = ()
    phone_region: str = ""
    postal_code: str = ""
    vehicle: VehicleDetails | None = None
    trade_in: VehicleDetails | None = None
    purchase_horizon: str = ""
    comments: str = ""
    visitor_id: str = ""
    consent_email: bool = False
    consent_sms: bool = False
    consent_phone: bool = False
    requested_at: datetime | None = None
    resend: bool = False
    honeypot_filled: bool = False
    call: CallDetails | None = None
    payload_format: str = Format.JSON
    raw_payload: str = ""
    warnings: tuple[str, ...] = field(default=())
