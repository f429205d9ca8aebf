"""Properties of the ADF/XML parser: what any well-formed lead document round-trips to, and what
any damaged one does (a list of submissions or AdfRejected, never another exception)."""

import base64
import quopri
import re
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads.adf import AdfRejected, adf_from_email, parse_adf
from leads.submission import Submission, VehicleDetails

SAMPLES = Path(__file__).resolve().parent / "adf_samples"
SAMPLE_DOCUMENTS = [path.read_bytes() for path in sorted(SAMPLES.glob("*.xml"))]

# Each property stays around a second: up to four generated prospects cost ~30 ms an example.
FEW = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MORE = settings(max_examples=200, deadline=None)

# Letters, marks and digits from the whole of Unicode: none is whitespace, all are XML characters.
words = st.text(st.characters(categories=("L", "M", "N")), min_size=1, max_size=12)
names = st.lists(words, min_size=1, max_size=3).map(" ".join)
# Ids and sources may hold anything XML can carry, markup characters included.
free_text = st.text(
    st.characters(exclude_categories=("Cc", "Cs"), exclude_characters="\ufffe\uffff"),
    min_size=1,
    max_size=40,
).filter(lambda text: text == text.strip())
phones = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["", "+1 ", "(", "+44-"]),
    st.text("0123456789", min_size=3, max_size=3),
    st.sampled_from(["", " ", ") ", "-", "."]),
    st.text("0123456789", min_size=4, max_size=8),
)
# Cheaper than st.emails() and enough here: the parser passes e-mails through as written.
emails = st.builds(
    "{}@{}.{}".format,
    st.text("abcXYZ019.!#$%&'*+/=?^_`{|}~-", min_size=1, max_size=12),
    st.text("abcdefxyz0189-", min_size=1, max_size=10),
    st.sampled_from(["com", "ca", "co.uk", "example"]),
)
vins = st.text("0123456789ABCDEFGHJKLMNPRSTUVWXYZabcdefghjklmnprstuvwxyz", min_size=17, max_size=17)
offsets = st.integers(-14 * 60, 14 * 60).map(lambda minutes: timezone(timedelta(minutes=minutes)))
request_dates = st.one_of(
    st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1), timezones=offsets),
    st.datetimes(datetime(1990, 1, 1), datetime(2100, 1, 1)),
)

COUNTRIES = {"CA": "CA", "us": "US", "Canada": "CA", "USA": "US", "United States": "US"}
COUNTRIES |= {"Mexico": "", "Deutschland": ""}
INTERESTS = ["buy", "lease", "test-drive", "trade-in", "trade in", "tradein", None]
CONDITIONS = ["new", "used", "certified", None]
PHONE_TYPES = ["phone", "voice", "cellphone", "fax", "pager", None]
STATUSES = ["new", "resend", "update", None]


class Doc:
    """Builds XML text with tag names and enum values in a random case and children in a random
    order.

    Layout comes from one seeded `random.Random` rather than from a draw per decision: it keeps
    generation fast, and the values (which are drawn) are what a failure shrinks to. Elements of
    one name keep their order (the first vehicle of interest, the e-mails in order of preference):
    only how they interleave with the others varies.
    """

    def __init__(self, draw):
        self.random = draw(st.randoms(use_true_random=True))

    def case(self, word):
        if word is None:
            return None
        alternating = "".join(c.upper() if i % 2 else c for i, c in enumerate(word))
        return self.random.choice([word, word.upper(), word.title(), alternating])

    def element(self, name, children=(), attributes=None, text=""):
        tag = self.case(name)
        attrs = "".join(
            f" {self.case(key)}={quoteattr(value)}"
            for key, value in (attributes or {}).items()
            if value is not None
        )
        children = self._interleaved(children)
        if self.random.random() < 0.3:
            children.insert(self.random.randint(0, len(children)), "<!-- provider note -->")
        return f"<{tag}{attrs}>{escape(text)}{''.join(children)}</{tag}>"

    def _interleaved(self, children):
        groups = {}
        for child in children:
            groups.setdefault(re.match(r"<([\w-]+)", child)[1].lower(), []).append(child)
        slots = [name for name, group in groups.items() for _ in group]
        self.random.shuffle(slots)
        pending = {name: iter(group) for name, group in groups.items()}
        return [next(pending[name]) for name in slots]


@st.composite
def vehicles(draw, doc):
    interest = draw(st.sampled_from(INTERESTS))
    condition = draw(st.sampled_from(CONDITIONS))
    fields = {
        "year": draw(st.none() | st.integers(1900, 2100)),
        "make": draw(st.none() | names),
        "model": draw(st.none() | names),
        "trim": draw(st.none() | names),
        "vin": draw(st.none() | vins),
        "stock": draw(st.none() | words),
        "odometer": draw(st.none() | st.integers(0, 999_999)),
    }
    children = [
        doc.element(tag, text=str(value)) for tag, value in fields.items() if value is not None
    ]
    xml = doc.element(
        "vehicle",
        children,
        {
            "interest": doc.case(interest),
            "status": doc.case(condition),
        },
    )
    details = VehicleDetails(
        year=fields["year"],
        make=fields["make"] or "",
        model=fields["model"] or "",
        trim=fields["trim"] or "",
        vin=(fields["vin"] or "").upper(),
        stock=fields["stock"] or "",
        condition=condition if condition in ("new", "used") else "",
        mileage=fields["odometer"],
    )
    return xml, interest in ("trade-in", "trade in", "tradein"), details


@st.composite
def prospects(draw):
    """A <prospect> and the Submission fields it should give."""
    doc = Doc(draw)
    expected = {}
    children = []

    status = draw(st.sampled_from(STATUSES))
    expected["resend"] = status == "resend"
    source, external_id = draw(st.none() | free_text), draw(st.none() | free_text)
    if source or external_id:
        children.append(doc.element("id", attributes={"source": source}, text=external_id or ""))
    provider = draw(st.none() | names)
    if provider:
        children.append(doc.element("provider", [doc.element("name", text=provider)]))
    expected["source"] = source or provider or "adf"
    expected["external_id"] = external_id or ""

    requested_at = draw(st.none() | request_dates)
    if requested_at:
        children.append(doc.element("requestdate", text=requested_at.isoformat()))
        if requested_at.tzinfo is None:
            requested_at = requested_at.replace(tzinfo=UTC)
    expected["requested_at"] = requested_at

    vehicle = trade_in = None
    for xml, is_trade_in, details in draw(st.lists(vehicles(doc), max_size=2)):
        children.append(xml)
        if details.is_empty() and not details.condition:
            continue
        if is_trade_in:
            trade_in = trade_in or details
        else:
            vehicle = vehicle or details
    expected["vehicle"], expected["trade_in"] = vehicle, trade_in

    contact = []
    first, last = draw(names), draw(st.none() | words)
    if draw(st.booleans()):
        contact.append(doc.element("name", attributes={"part": doc.case("first")}, text=first))
        if last:
            contact.append(doc.element("name", attributes={"part": doc.case("last")}, text=last))
    else:
        full = f"{first} {last}" if last else first
        contact.append(
            doc.element(
                "name",
                attributes={"part": doc.case(draw(st.sampled_from(["full", None])))},
                text=full,
            )
        )
        if not last:
            first, _, last = first.rpartition(" ")
            first, last = (first, last) if first else (last, "")
    expected["first_name"], expected["last_name"] = first, last or ""

    preferred, others = [], []
    for email in draw(st.lists(emails, max_size=3, unique=True)):
        is_preferred = draw(st.booleans())
        (preferred if is_preferred else others).append(email)
        contact.append(
            doc.element(
                "email", attributes={"preferredcontact": "1" if is_preferred else "0"}, text=email
            )
        )
    expected["emails"] = tuple(preferred + others)

    preferred, others = [], []
    for phone in draw(st.lists(phones, max_size=3, unique=True)):
        kind, is_preferred = draw(st.sampled_from(PHONE_TYPES)), draw(st.booleans())
        if kind not in ("fax", "pager"):
            (preferred if is_preferred else others).append(phone)
        attributes = {
            "type": doc.case(kind),
            "preferredcontact": "1" if is_preferred else None,
        }
        contact.append(doc.element("phone", attributes=attributes, text=phone))
    expected["phones"] = tuple(preferred + others)

    country, postal_code = (
        draw(st.none() | st.sampled_from(sorted(COUNTRIES))),
        draw(st.none() | words),
    )
    address = [doc.element("country", text=country)] if country else []
    address += [doc.element("postalcode", text=postal_code)] if postal_code else []
    if address:
        contact.append(doc.element("address", address))
    expected["phone_region"] = COUNTRIES.get(country, "")
    expected["postal_code"] = postal_code or ""

    customer = [doc.element("contact", contact, {"primarycontact": "1"})]
    comment = draw(st.none() | names)
    if comment:
        customer.append(doc.element("comments", text=comment))
    children.append(doc.element("customer", customer))
    expected["comment"] = comment

    return doc.element("prospect", children, {"status": doc.case(status)}), expected


HEADERS = [
    '<?xml version="1.0" encoding="{encoding}"?>\n<?adf version="1.0"?>\n<adf>',
    '<?xml version="1.0" encoding="{encoding}"?>\n<adf version="1.0">',
    "<adf>",
]


@FEW
@given(
    generated=st.lists(prospects(), min_size=1, max_size=4),
    header=st.sampled_from(HEADERS),
    encoding=st.sampled_from(["UTF-8", "ISO-8859-1", "windows-1252", "UTF-16"]),
)
def test_every_generated_prospect_round_trips(generated, header, encoding):
    if "{encoding}" not in header:
        encoding = "UTF-8"  # No declaration: the document must be UTF-8.
    body = "\n".join(xml for xml, _ in generated)
    text = f"{header.format(encoding=encoding)}\n{body}\n</adf>"
    # Characters the encoding lacks travel as character references, as a careful sender does.
    data = text.encode(encoding, errors="xmlcharrefreplace")

    submissions = parse_adf(data)

    assert len(submissions) == len(generated)
    for submission, (_, expected) in zip(submissions, generated, strict=True):
        assert submission.warnings == ()
        assert submission.channel == "third_party"
        assert submission.source == expected["source"]
        assert submission.external_id == expected["external_id"]
        assert submission.resend == expected["resend"]
        assert submission.requested_at == expected["requested_at"]
        assert (submission.first_name, submission.last_name) == (
            expected["first_name"],
            expected["last_name"],
        )
        assert submission.emails == expected["emails"]
        assert submission.phones == expected["phones"]
        assert submission.phone_region == expected["phone_region"]
        assert submission.postal_code == expected["postal_code"]
        assert submission.vehicle == expected["vehicle"]
        assert submission.trade_in == expected["trade_in"]
        if expected["comment"]:
            assert submission.comments.startswith(expected["comment"])
    assert len({submission.raw_payload for submission in submissions}) == 1


# Damaged documents ----------------------------------------------------------------------------

# Fragments that make a random edit likelier to reach an interesting branch than random bytes.
SNIPPETS = [
    b"<prospect>",
    b"</prospect>",
    b'<prospect status="RESEND">',
    b"<vehicle>",
    b'<vehicle interest="TRADE-IN">',
    b"</vehicle>",
    b"<customer>",
    b"<contact>",
    b"<![CDATA[<p>a</p><b>",
    b"]]>",
    b"<!--",
    b"-->",
    b"&amp;",
    b"&#0;",
    b"&#x1F600;",
    b"&lol;",
    b"<!DOCTYPE adf>",
    b'<!ENTITY x "y">',
    b"<?xml version='1.0' encoding='latin-1'?>",
    b'encoding="UTF-16"',
    b'encoding="Shift_JIS"',
    b"\xef\xbb\xbf",
    b"\xff\xfe",
    b"\xc3",
    b"\x00",
    b"<year>1e999999999</year>",
    b"<odometer>NaN</odometer>",
    b"<requestdate>9999-12-31T23:59:59-23:59</requestdate>",
    b"<earliestdate>0001-01-01T00:00:00+14:00</earliestdate>",
    b"<comments>" + b"<b>" * 60 + b"</comments>",
    b"<name part='full'>  </name>",
]


@st.composite
def damaged_documents(draw):
    data = bytearray(draw(st.sampled_from(SAMPLE_DOCUMENTS)))
    for _ in range(draw(st.integers(1, 4))):
        start = draw(st.integers(0, len(data)))
        end = draw(st.integers(start, min(len(data), start + 80)))
        edit = draw(st.sampled_from(["delete", "duplicate", "insert", "truncate"]))
        if edit == "delete":
            del data[start:end]
        elif edit == "duplicate":
            data[start:start] = data[start:end]
        elif edit == "insert":
            data[start:start] = draw(st.binary(min_size=1, max_size=16) | st.sampled_from(SNIPPETS))
        else:
            del data[start:]
    return bytes(data)


@MORE
@given(damaged_documents())
def test_a_damaged_document_gives_submissions_or_a_rejection_and_nothing_else(data):
    try:
        submissions = parse_adf(data)
    except AdfRejected as rejected:
        assert str(rejected)
        return

    assert submissions
    assert all(isinstance(submission, Submission) for submission in submissions)
    # The per-prospect safety net must stay a net: damage is handled by the field readers.
    for submission in submissions:
        assert not any("could not be read" in warning for warning in submission.warnings)


@FEW
@given(
    document=damaged_documents(),
    prefix=st.binary(max_size=40),
    encoding=st.sampled_from(["7bit", "8bit", "quoted-printable", "base64"]),
)
def test_an_e_mail_gives_a_document_or_a_rejection_and_nothing_else(document, prefix, encoding):
    body = {
        "quoted-printable": quopri.encodestring,
        "base64": base64.encodebytes,
    }.get(encoding, bytes)(document)
    headers = (
        "Subject: Lead\nContent-Type: text/plain; charset=iso-8859-1\n"
        f"Content-Transfer-Encoding: {encoding}\n\n"
    )

    try:
        found = adf_from_email(prefix + headers.encode() + body)
    except AdfRejected:
        return

    assert isinstance(found, bytes)
    assert b"<adf" in found.lower()
