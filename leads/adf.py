"""Reading ADF/XML leads (Auto-lead Data Format 1.0) into `Submission`s.

Lead providers post one <adf> document holding one <prospect> per inquiry. Real feeds break the
DTD in every way the samples in tests/leads/adf_samples/ show: elements out of order or missing,
upper-case enum values, HTML inside CDATA comments, provider extensions, sloppy dates. So this
module reads elements by name (case-insensitively, ignoring order), leaves a value it cannot
understand empty and says so in `Submission.warnings`, and refuses the whole document
(`AdfRejected`) only when it is unsafe or is not an ADF document at all.

Pure: no database, no models. Intake (`leads.intake`) normalises, matches and stores.
"""

import codecs
import email
import email.policy
import html
import logging
import re
import traceback
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring
from django.core.exceptions import SuspiciousOperation
from django.utils.dateparse import parse_datetime
from django.utils.html import strip_tags

from dealercrm.errors import DomainError
from leads.submission import Format, Submission, VehicleDetails

logger = logging.getLogger(__name__)

MAX_ADF_BYTES = 1_000_000
# Real feeds send one prospect, sometimes a few; thousands in one document is an attack on the
# intake (each prospect is a transaction), not a batch of leads.
MAX_PROSPECTS = 100

# Field sizes of the columns the values end up in (leads.Lead, dealercrm.Customer).
MAX_SOURCE = 64
MAX_EXTERNAL_ID = 128
MAX_NAME = 100
MAX_POSTAL_CODE = 16
MAX_MAKE = MAX_MODEL = 50
MAX_TRIM = 80
MAX_VIN = 17
MAX_STOCK = 32
MAX_COMMENTS = 10_000
# Lead.tradein_mileage is a PositiveIntegerField; no real odometer gets near this.
MAX_MILEAGE = 10_000_000

_COUNTRY_NAMES = {
    "canada": "CA",
    "united states": "US",
    "usa": "US",
    "united states of america": "US",
}
_SKIPPED_PHONE_TYPES = frozenset({"fax", "pager"})
_YES = {"1", "true", "yes"}
# (days ahead, horizon): the first bound the buying date falls within wins.
_HORIZONS = (
    (7, "within_week"),
    (31, "within_month"),
    (92, "within_3_months"),
    (183, "within_6_months"),
)

_XML_ENCODING = re.compile(rb"""\A\s*<\?xml[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)["']""")
_LINE_BREAK_TAGS = re.compile(r"<\s*br\s*/?\s*>|</\s*(?:p|div|li|tr|h[1-6])\s*>", re.IGNORECASE)
_ANY_TAG = re.compile(r"<[^<>]*>")
_THOUSANDS = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_ADF_OPEN = re.compile(r"<\s*adf[\s>/]", re.IGNORECASE)
_ADF_CLOSE = re.compile(r"</\s*adf\s*>", re.IGNORECASE)
_PROLOG_TAIL = re.compile(r"(?:<\?xml[^<>]*\?>\s*)?(?:<\?adf[^<>]*\?>\s*)?\Z", re.IGNORECASE)
_DECLARED_ENCODING = re.compile(
    r"""\A(<\?xml[^<>]*?\bencoding\s*=\s*)(["'])[^"']*\2""", re.IGNORECASE
)


class AdfRejected(DomainError):
    """The whole document is refused; the message says why in words an integrator understands."""


def parse_adf(data: bytes, *, default_source: str = "adf") -> list[Submission]:
    """One Submission per <prospect>, in document order.

    `default_source` names the sender when the prospect says nothing about it (no `<id source>`,
    no `<provider><name>`). Raises AdfRejected for an empty, oversized, unsafe (DTD, entities),
    malformed or non-ADF document; never for a field value.
    """
    data = bytes(data)
    if len(data) > MAX_ADF_BYTES:
        raise AdfRejected(
            f"The ADF document is {len(data):,} bytes; the limit is {MAX_ADF_BYTES:,} bytes."
        )
    if not data.strip():
        raise AdfRejected("The body is empty; expected an ADF document (<adf>…</adf>).")
    text, document_warnings = _decode(data)
    root = _parse_xml(text)
    if _tag(root) != "adf":
        name = root.tag.rpartition("}")[2]
        raise AdfRejected(f"The root element is <{name}>; an ADF document starts with <adf>.")
    prospects = _children(root, "prospect")
    if not prospects:
        raise AdfRejected(
            "The document has no <prospect>; ADF sends each lead in a <prospect> element."
        )
    if len(prospects) > MAX_PROSPECTS:
        raise AdfRejected(
            f"The document has {len(prospects):,} prospects; send at most {MAX_PROSPECTS} "
            "per document."
        )
    parsed_at = datetime.now(UTC)
    submissions = []
    for number, prospect in enumerate(prospects, start=1):
        # A prospect that trips over something unforeseen must not sink the others: keep it as
        # an empty submission with its raw document so that a person can read it.
        try:
            submission = _submission(
                prospect,
                raw=text,
                default_source=default_source,
                parsed_at=parsed_at,
                warnings=list(document_warnings),
            )
        except Exception as exc:
            # The traceback's frames name code, not data; the exception message may hold data.
            logger.warning(
                "ADF prospect %d could not be read (%s):\n%s",
                number,
                type(exc).__name__,
                "".join(traceback.format_tb(exc.__traceback__)),
            )
            submission = Submission(
                source=default_source[:MAX_SOURCE],
                channel="third_party",
                resend=_attr(prospect, "status").lower() == "resend",
                payload_format=Format.ADF,
                raw_payload=text,
                warnings=(
                    *document_warnings,
                    f"prospect {number} could not be read; only the raw document was kept",
                ),
            )
        submissions.append(submission)
    return submissions


def adf_from_email(message: bytes) -> bytes:
    """The ADF document inside an e-mail (.eml).

    Providers that cannot post over HTTP mail the XML as the text/plain or text/xml body, or as an
    .xml attachment, sometimes with a greeting or a signature around it. The first part (in the
    order of the message) holding an <adf> element wins; text/html parts are not read. A part
    with a MIME charset is returned re-encoded as UTF-8 (with its XML declaration saying so);
    one without is returned as sent, so its XML declaration decides. Raises AdfRejected when no
    part holds an <adf> document.
    """
    parsed = email.message_from_bytes(bytes(message), policy=email.policy.default)
    for part in parsed.walk():
        if part.is_multipart() or part.get_content_type() == "text/html":
            continue
        if part.get_content_maintype() in ("image", "audio", "video"):
            continue
        payload = part.get_payload(decode=True)
        if not isinstance(payload, bytes) or not payload:
            continue
        document = _document_in_part(payload, part.get_content_charset())
        if document is not None:
            return document
    raise AdfRejected(
        "The e-mail holds no ADF document: no text or XML part contains an <adf> element."
    )


def _document_in_part(payload: bytes, charset: str | None) -> bytes | None:
    if charset:
        try:
            text = payload.decode(charset)
        except (ValueError, LookupError):
            # A wrong or unknown MIME charset (often us-ascii on 8-bit text): let the XML
            # declaration decide, as for an attachment. ValueError, not only UnicodeError: the
            # codec lookup refuses a name holding a NUL byte with a bare ValueError.
            pass
        else:
            document = _adf_document(text)
            if document is None:
                return None
            return _DECLARED_ENCODING.sub(r"\1\2UTF-8\2", document, count=1).encode()
    # latin-1 maps every byte to one character, so the offsets found are byte offsets.
    document = _adf_document(payload.decode("latin-1"))
    return None if document is None else document.encode("latin-1")


def _adf_document(text: str) -> str | None:
    """From the XML declaration (if any) before the first <adf> to the last </adf>."""
    opening = _ADF_OPEN.search(text)
    if opening is None:
        return None
    start = opening.start()
    prolog = _PROLOG_TAIL.search(text, 0, start)
    if prolog is not None:
        start = prolog.start()
    end = len(text)
    for closing in _ADF_CLOSE.finditer(text, opening.end()):
        end = closing.end()
    # Without a closing tag the document is cut short; parse_adf says so with a line number.
    return text[start:end]


# The document ---------------------------------------------------------------------------------


def _decode(data: bytes) -> tuple[str, list[str]]:
    """The document as text (the XML declaration decides, as for an XML parser), and a warning
    when it had to be read differently than declared.

    Parsing the decoded text rather than the bytes lets Python's codecs read any encoding,
    including the multi-byte ones expat refuses, and gives raw_payload exactly what was parsed.
    """
    if data.startswith(codecs.BOM_UTF8):
        return _decode_as(data, "utf-8-sig", "UTF-8")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _decode_as(data, "utf-16", "UTF-16")
    if data.startswith(b"<\x00"):
        return _decode_as(data, "utf-16-le", "UTF-16")
    if data.startswith(b"\x00<"):
        return _decode_as(data, "utf-16-be", "UTF-16")
    declared = _XML_ENCODING.match(data)
    name = declared.group(1).decode("ascii") if declared else "UTF-8"
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        raise AdfRejected(
            f"The document declares encoding {name!r}, which is not a character encoding we "
            "know; send it as UTF-8."
        ) from None
    if codec.startswith(("utf-16", "utf-32")):
        # The declaration was readable as ASCII, so the bytes are not UTF-16 whatever it says.
        codec = "utf-8"
    if codec in ("utf-8", "ascii"):
        try:
            return data.decode("utf-8"), []
        except UnicodeDecodeError:
            # Feeds built by string concatenation often declare (or default to) UTF-8 and send
            # windows-1252; reading it so keeps the lead, and the warning tells a person why an
            # accented name may look odd.
            return _windows_1252(data), [
                f"the document is not valid {name} as declared; it was read as windows-1252"
            ]
    return _decode_as(data, codec, name)


def _decode_as(data: bytes, codec: str, name: str) -> tuple[str, list[str]]:
    try:
        return data.decode(codec), []
    except (UnicodeError, LookupError):
        raise AdfRejected(
            f"The document cannot be read as {name}, the encoding it declares; send it as UTF-8."
        ) from None


def _windows_1252(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        # Five bytes are undefined in windows-1252; ISO-8859-1 reads every byte.
        return data.decode("latin-1")


def _parse_xml(text: str) -> Element:
    # Leading blank lines before <?xml ...?> are a fatal error for expat and harmless here.
    stripped = text.lstrip()
    try:
        return fromstring(stripped, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        raise AdfRejected(
            "The document contains a DTD or an entity declaration (<!DOCTYPE …> or <!ENTITY …>); "
            "DTDs and entities are not accepted in ADF leads. Send the <adf> document without a "
            "DOCTYPE."
        ) from None
    except ParseError as exc:
        line, column = exc.position
        skipped = text[: len(text) - len(stripped)]
        if line == 1:
            column += len(skipped) - (skipped.rfind("\n") + 1)
        line += skipped.count("\n")
        reason = str(exc).rsplit(": line ", 1)[0]
        raise AdfRejected(
            f"The document is not well-formed XML: {reason} at line {line}, column {column}."
        ) from None
    except (ValueError, LookupError):
        # Characters that XML cannot carry (lone surrogates from exotic codecs) end up here.
        raise AdfRejected("The document cannot be read as XML text.") from None


# One prospect ---------------------------------------------------------------------------------


def _submission(
    prospect: Element,
    *,
    raw: str,
    default_source: str,
    parsed_at: datetime,
    warnings: list[str],
) -> Submission:
    source, external_id = _source_and_id(prospect, default_source, warnings)
    requested_at = _requested_at(prospect, warnings)
    customers = _children(prospect, "customer")
    contact = _contact(customers)
    first_name, last_name = _names(contact, warnings)
    address = _child(contact, "address")
    vehicle, trade_in, vehicle_notes = _vehicles(prospect, warnings)
    timeframe = _child_of_any(customers, "timeframe")
    horizon = _purchase_horizon(timeframe, requested_at or parsed_at, warnings)

    paragraphs = [
        _plain_text(_raw_text(comments), warnings)
        for customer in customers
        for comments in _children(customer, "comments")
    ]
    paragraphs += vehicle_notes
    description = _plain_text(_raw_text(_child(timeframe, "description")), warnings)
    if description:
        paragraphs.append(f"Timeframe: {description}")
    comments = _capped(
        "\n\n".join(p for p in paragraphs if p), MAX_COMMENTS, "comment text", warnings
    )

    return Submission(
        source=source,
        channel="third_party",
        external_id=external_id,
        first_name=first_name,
        last_name=last_name,
        emails=_contact_values(contact, "email"),
        phones=_contact_values(contact, "phone", skip_types=_SKIPPED_PHONE_TYPES),
        phone_region=_region(_first_line(address, "country")),
        postal_code=_capped(
            _first_line(address, "postalcode"), MAX_POSTAL_CODE, "postal code", warnings
        ),
        vehicle=vehicle,
        trade_in=trade_in,
        purchase_horizon=horizon,
        comments=comments,
        requested_at=requested_at,
        resend=_attr(prospect, "status").lower() == "resend",
        payload_format=Format.ADF,
        raw_payload=raw,
        warnings=tuple(warnings),
    )


def _source_and_id(prospect: Element, default_source: str, warnings: list[str]):
    identifier = _child(prospect, "id")
    source = _attr(identifier, "source") if identifier is not None else ""
    if not source:
        source = _first_line(_child(prospect, "provider"), "name") or default_source
    external_id = _text(identifier)
    return (
        _capped(source, MAX_SOURCE, "source", warnings),
        _capped(external_id, MAX_EXTERNAL_ID, "id", warnings),
    )


def _requested_at(prospect: Element, warnings: list[str]) -> datetime | None:
    text = _first_line(prospect, "requestdate")
    if not text:
        return None
    moment = _moment(text)
    if moment is None:
        warnings.append(f"requestdate {_quoted(text)} is not a date; ignored")
    return moment


def _contact(customers: list[Element]) -> Element | None:
    contacts = [c for customer in customers for c in _children(customer, "contact")]
    for contact in contacts:
        if _attr(contact, "primarycontact") in _YES:
            return contact
    if contacts:
        return contacts[0]
    # Some feeds put <name>, <email> and <phone> straight under <customer>.
    for customer in customers:
        if any(_children(customer, name) for name in ("name", "email", "phone")):
            return customer
    return None


def _names(contact: Element | None, warnings: list[str]) -> tuple[str, str]:
    first = last = full = ""
    for name in _children(contact, "name"):
        value = _line(name)
        part = _attr(name, "part").lower()
        if not value or part in ("middle", "suffix", "prefix"):
            continue
        if part == "first":
            first = first or value
        elif part == "last":
            last = last or value
        else:
            full = full or value
    if full and not (first or last):
        *given, family = full.split()
        first, last = (" ".join(given), family) if given else (family, "")
    return (
        _capped(first, MAX_NAME, "first name", warnings),
        _capped(last, MAX_NAME, "last name", warnings),
    )


def _contact_values(
    contact: Element | None, kind: str, *, skip_types: frozenset[str] = frozenset()
) -> tuple[str, ...]:
    """Non-empty <email> or <phone> texts, preferred ones first, without repeats."""
    preferred, others = [], []
    for element in _children(contact, kind):
        value = _text(element)
        if not value or _attr(element, "type").lower() in skip_types:
            continue
        if _attr(element, "preferredcontact") in _YES:
            preferred.append(value)
        else:
            others.append(value)
    return tuple(dict.fromkeys(preferred + others))


def _region(country: str) -> str:
    if len(country) == 2 and country.isascii() and country.isalpha():
        return country.upper()
    return _COUNTRY_NAMES.get(country.lower(), "")


def _vehicles(prospect: Element, warnings: list[str]):
    """The vehicle of interest, the trade-in, and what else the vehicles say for the comments.

    The first vehicle of each kind that says anything wins; later ones are mentioned in the
    comments so the salesperson still sees them.
    """
    vehicle = trade_in = None
    notes = []
    for element in _children(prospect, "vehicle"):
        is_trade_in = re.sub(r"[\s_-]", "", _attr(element, "interest").lower()) == "tradein"
        label = "trade-in" if is_trade_in else "vehicle"
        details = _vehicle_details(element, label, warnings)
        if details.is_empty() and not details.condition:
            pass  # Nothing to show, though its comments may still say something.
        elif is_trade_in and trade_in is None:
            trade_in = details
        elif not is_trade_in and vehicle is None:
            vehicle = details
        else:
            also = "trading in" if is_trade_in else "interested in"
            notes.append(f"Also {also}: {_describe(details)}")
        for comments in _children(element, "comments"):
            text = _plain_text(_raw_text(comments), warnings)
            if text:
                notes.append(f"{'Trade-in' if is_trade_in else 'Vehicle'}: {text}")
    return vehicle, trade_in, notes


def _vehicle_details(element: Element, label: str, warnings: list[str]) -> VehicleDetails:
    year = _whole_number(_first_line(element, "year"), f"{label} year", "a year", warnings)
    if year is not None and not 1900 <= year <= 2100:
        warnings.append(f"{label} year {year} is not between 1900 and 2100; ignored")
        year = None
    vin = _first_line(element, "vin").upper()
    if len(vin) > MAX_VIN:
        warnings.append(f"{label} VIN {_quoted(vin)} is longer than {MAX_VIN} characters; ignored")
        vin = ""
    mileage = _whole_number(
        _first_line(element, "odometer"), f"{label} odometer", "a whole number", warnings
    )
    if mileage is not None and mileage > MAX_MILEAGE:
        warnings.append(f"{label} odometer {mileage} is not a plausible mileage; ignored")
        mileage = None
    condition = _attr(element, "status").lower()

    def capped(name, limit):
        return _capped(_first_line(element, name), limit, f"{label} {name}", warnings)

    return VehicleDetails(
        year=year,
        make=capped("make", MAX_MAKE),
        model=capped("model", MAX_MODEL),
        trim=capped("trim", MAX_TRIM),
        vin=vin,
        stock=capped("stock", MAX_STOCK),
        condition=condition if condition in ("new", "used") else "",
        mileage=mileage,
    )


def _describe(details: VehicleDetails) -> str:
    words = [str(details.year or ""), details.make, details.model, details.trim]
    return (
        " ".join(w for w in words if w)
        or (details.vin and f"VIN {details.vin}")
        or (details.stock and f"stock {details.stock}")
        or f"a {details.condition} vehicle"
    )


def _purchase_horizon(timeframe: Element | None, reference: datetime, warnings: list[str]) -> str:
    text = _first_line(timeframe, "earliestdate") or _first_line(timeframe, "latestdate")
    if not text:
        return ""
    moment = _moment(text)
    if moment is None:
        warnings.append(f"timeframe date {_quoted(text)} is not a date; ignored")
        return ""
    days = (moment - reference) / timedelta(days=1)
    # A buying date already past (or today) means the customer is ready now.
    for limit, horizon in _HORIZONS:
        if days <= limit:
            return horizon
    return "later"


# Values ---------------------------------------------------------------------------------------


def _moment(text: str) -> datetime | None:
    """An ISO 8601 date or date-time; one without an offset is taken as UTC. Other notations
    (01/02/2024) are not guessed at: US and Canadian feeds disagree on the day's place."""
    try:
        moment = parse_datetime(text)
        if moment is None:
            return None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        # Storing converts to UTC; "9999-12-31T23:59-23:00" would overflow there, not here.
        moment.astimezone(UTC)
    except (ValueError, OverflowError):
        return None
    return moment


def _whole_number(text: str, label: str, noun: str, warnings: list[str]) -> int | None:
    """A whole number written plainly, with thousands commas ("12,345") or as a decimal
    ("1500.0", rounded)."""
    if not text:
        return None
    cleaned = text.replace(",", "") if _THOUSANDS.fullmatch(text) else text
    try:
        number = Decimal(cleaned)
    except InvalidOperation:
        number = None
    # adjusted() bounds the size before int() builds it: "1e999999999" must not allocate.
    if number is None or not number.is_finite() or number < 0 or number.adjusted() > 12:
        warnings.append(f"{label} {_quoted(text)} is not {noun}; ignored")
        return None
    return int(number.to_integral_value())


def _plain_text(markup: str, warnings: list[str]) -> str:
    """Comments as a person reads them: HTML (often sent in CDATA) reduced to its text, entities
    unescaped, each line stripped, runs of blank lines collapsed into one."""
    if not markup.strip():
        return ""
    markup = _LINE_BREAK_TAGS.sub("\n", markup)
    try:
        text = strip_tags(markup)
    except (SuspiciousOperation, AssertionError):
        # Django refuses deeply nested or unclosed markup; Python's html.parser raises
        # AssertionError on "<![" without a marked-section keyword it knows ("<![x>", "<![ ").
        # A cruder cut still keeps the words.
        warnings.append("comments hold malformed HTML; tags were removed roughly")
        text = _ANY_TAG.sub("", markup)
    lines = []
    for line in html.unescape(text).splitlines():
        line = line.strip()
        if line or (lines and lines[-1]):
            lines.append(line)
    return "\n".join(lines).strip()


def _capped(value: str, limit: int, label: str, warnings: list[str]) -> str:
    if len(value) <= limit:
        return value
    warnings.append(f"{label} is longer than {limit} characters; cut to {limit}")
    return value[:limit].rstrip()


def _quoted(value: str) -> str:
    """A value for a warning, short enough to read."""
    return repr(value if len(value) <= 40 else value[:39] + "…")


# Elements -------------------------------------------------------------------------------------
# Feeds vary the case of tag and attribute names and some add a namespace, so elements are
# compared by lower-cased local name. All helpers accept None for a missing parent.


def _tag(element: Element) -> str:
    tag = element.tag
    return tag.rpartition("}")[2].lower() if isinstance(tag, str) else ""


def _children(parent: Element | None, name: str) -> list[Element]:
    if parent is None:
        return []
    return [child for child in parent if _tag(child) == name]


def _child(parent: Element | None, name: str) -> Element | None:
    children = _children(parent, name)
    return children[0] if children else None


def _child_of_any(parents: list[Element], name: str) -> Element | None:
    for parent in parents:
        child = _child(parent, name)
        if child is not None:
            return child
    return None


def _attr(element: Element | None, name: str) -> str:
    if element is None:
        return ""
    for key, value in element.attrib.items():
        if key.rpartition("}")[2].lower() == name:
            return value.strip()
    return ""


def _raw_text(element: Element | None) -> str:
    return "" if element is None else "".join(element.itertext())


def _text(element: Element | None) -> str:
    return _raw_text(element).strip()


def _line(element: Element | None) -> str:
    """The text on one line, runs of whitespace (newlines from pretty-printing) made one space."""
    return " ".join(_raw_text(element).split())


def _first_line(parent: Element | None, name: str) -> str:
    """The first non-empty text of the children called `name`: a duplicate empty element left
    before the real one must not hide it."""
    for child in _children(parent, name):
        value = _line(child)
        if value:
            return value
    return ""
