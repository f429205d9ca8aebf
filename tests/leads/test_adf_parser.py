"""The ADF/XML parser on real samples from public feeds and on the ways feeds go wrong.

The samples are in adf_samples/ (copied from the team's shared set); each sample test pins every
field the parser produces, so any change in the mapping shows up as a failure.
"""

import dataclasses
from datetime import UTC, datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

import pytest

from leads import adf
from leads.adf import MAX_ADF_BYTES, AdfRejected, adf_from_email, parse_adf
from leads.submission import Format, Submission, VehicleDetails

SAMPLES = Path(__file__).resolve().parent / "adf_samples"


def _sample(name):
    return (SAMPLES / name).read_bytes()


def _without_raw(submission):
    return dataclasses.replace(submission, raw_payload="")


def _adf(*prospects, header='<?xml version="1.0" encoding="UTF-8"?>\n<?adf version="1.0"?>'):
    return f"{header}\n<adf>\n{''.join(prospects)}\n</adf>\n".encode()


def _prospect(body, *, status="new"):
    return f'<prospect status="{status}">{body}</prospect>'


def _one(body, **kwargs):
    [submission] = parse_adf(_adf(_prospect(body, **kwargs)))
    return submission


def _tz(hours):
    return timezone(timedelta(hours=hours))


# The samples ----------------------------------------------------------------------------------


def test_sample_01_approvalgenie_skips_pager_and_fax_and_reads_the_canadian_address():
    data = _sample("01_approvalgenie_multiphone_comments.xml")

    [submission] = parse_adf(data)

    assert _without_raw(submission) == Submission(
        source="ABC",
        channel="third_party",
        external_id="",
        first_name="John",
        last_name="Test01292019",
        emails=("testemail@domain.com",),
        phones=("1234567890", "9999999999"),
        phone_region="CA",
        postal_code="L4V1N3",
        vehicle=VehicleDetails(year=2023, make="Hyundai", model="i30", condition="used"),
        comments=(
            "Date of Birth: 1980-11-17\n"
            "Monthly Payment: 1450\n"
            "Rent_or_own: Rent\n"
            "Time at address: 11 years 2 months\n"
            "Occupation: Occupation1\n"
            "Employer: EmployerName\n"
            "Time with Employer: 2 years 2\n"
            "Monthly Income: 5500\n"
            "Lead Timestamp: 08/31/2019 04:30pm\n"
            "IP Address: 70.25.4.55\n"
            "Comments: looking for SUV, new to the country..."
        ),
        requested_at=datetime(2019, 1, 16, 0, 46, 36, tzinfo=UTC),
        payload_format=Format.ADF,
    )
    assert submission.requested_at.utcoffset() == timedelta(hours=-6)
    assert submission.raw_payload == data.decode()


def test_sample_03_activix_maps_the_full_vehicle_and_the_timeframe():
    data = _sample("03_activix_full_vehicle_finance_timeframe_provider_ext.xml")

    [submission] = parse_adf(data)

    assert _without_raw(submission) == Submission(
        source="Activix",
        channel="third_party",
        external_id="12345",
        first_name="Test",
        last_name="Activix 2",
        emails=("test@activix.ca",),
        # Three <phone> elements with the same number.
        phones=("+14382881008",),
        phone_region="CA",
        postal_code="J1B2N3",
        vehicle=VehicleDetails(
            year=2020,
            make="Volvo",
            model="XC90",
            trim="R-Design",
            vin="2GTEK19R7V1511644",
            # Not "33323", the stock number of the <option> nested in the vehicle.
            stock="V12345",
            condition="new",
            mileage=1500,
        ),
        # Earliest date 2020-05-01 19:30 UTC, three days after the request.
        purchase_horizon="within_week",
        comments=(
            "Can you deliver the car to my house?\n\nVehicle: Demo car\n\n"
            "Timeframe: Changing car soon."
        ),
        requested_at=datetime(2020, 4, 28, 15, 30, 20, tzinfo=_tz(-5)),
        payload_format=Format.ADF,
    )
    assert "navigationhistory" in submission.raw_payload


def test_sample_05_cobalt_prefers_the_id_source_to_the_provider_name():
    [submission] = parse_adf(_sample("05_rust_adf_full_lead_cobalt_carpoint_ext.xml"))

    assert _without_raw(submission) == Submission(
        source="Cobalt",
        channel="third_party",
        external_id="38889",
        first_name="John",
        last_name="Doe",
        emails=("jdoe@example.com",),
        phones=("393-999-3922",),
        vehicle=VehicleDetails(
            year=1997,
            make="Chevrolet",
            model="Blazer",
            vin="1GNDT13W5V2200000",
            condition="used",
        ),
        comments="Can deliver by Thursday?",
        requested_at=datetime(2000, 3, 30, 15, 30, 20, tzinfo=_tz(-8)),
        payload_format=Format.ADF,
    )
    assert "<partner-score" in submission.raw_payload


def test_sample_06_reads_both_prospects_and_flags_the_resend():
    data = _sample("06_rust_adf_two_prospects_new_and_resend.xml")

    first, second = parse_adf(data)

    assert _without_raw(first) == Submission(
        source="adf",
        channel="third_party",
        first_name="A",
        emails=("a@example.com",),
        vehicle=VehicleDetails(year=2024, make="Toyota", model="Camry"),
        payload_format=Format.ADF,
        warnings=("requestdate 'one' is not a date; ignored",),
    )
    assert _without_raw(second) == Submission(
        source="adf",
        channel="third_party",
        vehicle=VehicleDetails(year=2025, make="Ford", model="F-150"),
        resend=True,
        payload_format=Format.ADF,
        warnings=("requestdate 'two' is not a date; ignored",),
    )
    assert first.raw_payload == second.raw_payload == data.decode()


def test_sample_07_accepts_the_version_on_the_root_element():
    [submission] = parse_adf(_sample("07_seorylie_root_version_attr.xml"))

    assert _without_raw(submission) == Submission(
        source="adf",
        channel="third_party",
        first_name="John",
        last_name="Doe",
        emails=("john.doe@example.com",),
        phones=("555-123-4567",),
        vehicle=VehicleDetails(
            year=2024, make="Honda", model="Accord", trim="EX-L", condition="new"
        ),
        requested_at=datetime(2024, 1, 15, 10, 30, tzinfo=UTC),
        payload_format=Format.ADF,
    )


def test_sample_08_the_xxe_probe_is_refused():
    with pytest.raises(AdfRejected, match="DTDs and entities are not accepted"):
        parse_adf(_sample("08_seorylie_xxe_attack_probe.xml"))


# Documents refused as a whole -----------------------------------------------------------------


def test_a_billion_laughs_document_is_refused():
    data = b"""<?xml version="1.0"?>
<!DOCTYPE adf [
  <!ENTITY lol "lol">
  <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
  <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
]>
<adf><prospect><customer><comments>&lol3;</comments></customer></prospect></adf>"""

    with pytest.raises(AdfRejected, match="DTDs and entities are not accepted"):
        parse_adf(data)


def test_an_external_dtd_is_refused():
    data = b'<!DOCTYPE adf SYSTEM "http://attacker.example/adf.dtd">\n<adf><prospect/></adf>'

    with pytest.raises(AdfRejected, match="DTDs and entities are not accepted"):
        parse_adf(data)


def test_malformed_xml_is_refused_with_its_line_and_column():
    data = b"<adf>\n  <prospect>\n  </prospekt>\n</adf>"

    with pytest.raises(AdfRejected) as refused:
        parse_adf(data)

    assert str(refused.value) == (
        "The document is not well-formed XML: mismatched tag at line 3, column 4."
    )


def test_blank_lines_before_the_declaration_are_skipped_and_still_counted_in_errors():
    assert parse_adf(b"\n\n" + _sample("07_seorylie_root_version_attr.xml"))

    with pytest.raises(AdfRejected, match="at line 4, column 4"):
        parse_adf(b"\n\n<adf>\n  </prospect>\n</adf>")


def test_an_undeclared_html_entity_is_malformed_xml():
    with pytest.raises(AdfRejected, match="undefined entity at line 4, column 44"):
        parse_adf(_adf(_prospect("<customer><comments>a&nbsp;b</comments></customer>")))


@pytest.mark.parametrize("root", ["lead", "ADFX", "xml"])
def test_a_document_whose_root_is_not_adf_is_refused(root):
    with pytest.raises(AdfRejected, match=f"The root element is <{root}>"):
        parse_adf(f"<{root}><prospect/></{root}>".encode())


def test_a_document_without_prospect_is_refused():
    with pytest.raises(AdfRejected, match="has no <prospect>"):
        parse_adf(b"<adf><vendor><vendorname>X</vendorname></vendor></adf>")


def test_a_document_over_the_size_limit_is_refused_before_parsing():
    comments = "x" * MAX_ADF_BYTES
    data = _adf(_prospect(f"<customer><comments>{comments}</comments></customer>"))

    with pytest.raises(AdfRejected, match="the limit is 1,000,000 bytes"):
        parse_adf(data)


def test_a_document_at_the_size_limit_is_read():
    padding = b" " * (MAX_ADF_BYTES - len(_adf(_prospect(""))))
    data = _adf(_prospect("")) + padding
    assert len(data) == MAX_ADF_BYTES

    assert len(parse_adf(data)) == 1


@pytest.mark.parametrize("data", [b"", b"  \r\n\t "])
def test_an_empty_body_is_refused(data):
    with pytest.raises(AdfRejected, match="The body is empty"):
        parse_adf(data)


def test_an_unknown_encoding_is_refused():
    data = b'<?xml version="1.0" encoding="klingon-8"?><adf><prospect/></adf>'

    with pytest.raises(AdfRejected, match="declares encoding 'klingon-8'"):
        parse_adf(data)


# Leniency -------------------------------------------------------------------------------------


def test_tag_names_and_enum_values_are_read_whatever_their_case():
    data = b"""<ADF><Prospect Status="RESEND">
        <ID Source="Dealer.com">A-1</ID>
        <Vehicle Interest="BUY" STATUS="NEW"><Year>2024</Year><MAKE>Kia</MAKE></Vehicle>
        <Vehicle interest="Trade-In" status="Used"><year>2015</year><make>Mazda</make></Vehicle>
        <Customer><Contact PrimaryContact="1">
            <Name Part="FULL">Ana Lima</Name>
            <Phone Type="FAX">111</Phone><Phone type="Cellphone">222</Phone>
        </Contact></Customer>
    </Prospect></ADF>"""

    [submission] = parse_adf(data)

    assert submission.resend is True
    assert (submission.source, submission.external_id) == ("Dealer.com", "A-1")
    assert submission.vehicle == VehicleDetails(year=2024, make="Kia", condition="new")
    assert submission.trade_in == VehicleDetails(year=2015, make="Mazda", condition="used")
    assert (submission.first_name, submission.last_name) == ("Ana", "Lima")
    assert submission.phones == ("222",)


@pytest.mark.parametrize("interest", ["trade-in", "Trade In", "TRADEIN", "trade_in"])
def test_a_trade_in_vehicle_is_read_next_to_the_vehicle_of_interest(interest):
    submission = _one(
        '<vehicle interest="buy" status="new"><year>2025</year><make>Ford</make>'
        "<model>Escape</model><stock>F123</stock></vehicle>"
        f'<vehicle interest="{interest}" status="used"><year>2016</year><make>Honda</make>'
        "<model>Civic</model><vin> 2hgfc2f59gh512345 </vin><odometer>98500.0</odometer>"
        "<comments>Small dent on the rear door</comments></vehicle>"
    )

    assert submission.vehicle == VehicleDetails(
        year=2025, make="Ford", model="Escape", stock="F123", condition="new"
    )
    assert submission.trade_in == VehicleDetails(
        year=2016,
        make="Honda",
        model="Civic",
        vin="2HGFC2F59GH512345",
        condition="used",
        mileage=98500,
    )
    assert submission.comments == "Trade-in: Small dent on the rear door"
    assert submission.warnings == ()


def test_extra_vehicles_of_interest_are_mentioned_in_the_comments():
    submission = _one(
        "<customer><comments>Which one is cheaper?</comments></customer>"
        '<vehicle interest="buy"><year>2024</year><make>Ford</make><model>Escape</model></vehicle>'
        '<vehicle interest="test-drive"><year>2024</year><make>Ford</make><model>F-150</model>'
        "<comments>Only if it is the XLT</comments></vehicle>"
        "<vehicle/>"
    )

    assert submission.vehicle == VehicleDetails(year=2024, make="Ford", model="Escape")
    assert submission.comments == (
        "Which one is cheaper?\n\n"
        "Also interested in: 2024 Ford F-150\n\n"
        "Vehicle: Only if it is the XLT"
    )


def test_a_vehicle_that_only_says_new_or_used_is_kept_for_routing():
    submission = _one('<vehicle interest="buy" status="used"><make></make></vehicle>')

    assert submission.vehicle == VehicleDetails(condition="used")


def test_html_in_cdata_comments_becomes_plain_text():
    submission = _one(
        "<customer><comments><![CDATA[<p>Hello,&nbsp;I&#39;d like a <b>quote</b> &amp; "
        "a test drive.</p>\n\n\n   <br/>   <div>Call me after 5pm</div><br><br>"
        "<ul><li>Blue</li><li>AWD</li></ul>]]></comments></customer>"
    )

    assert submission.comments == (
        "Hello,\xa0I'd like a quote & a test drive.\n\nCall me after 5pm\n\nBlue\nAWD"
    )


def test_comments_with_markup_django_refuses_to_strip_are_kept_with_a_warning():
    submission = _one(f"<customer><comments>{'&lt;a ' * 400}&gt; call me</comments></customer>")

    assert submission.comments.endswith("call me")
    assert submission.warnings == ("comments hold malformed HTML; tags were removed roughly",)


def test_xml_comments_are_ignored_even_inside_a_value():
    submission = _one("<!-- a --><vehicle><make>Hon<!-- internal -->da</make></vehicle><!-- b -->")

    assert submission.vehicle == VehicleDetails(make="Honda")


@pytest.mark.parametrize("encoding", ["ISO-8859-1", "windows-1252"])
def test_a_declared_single_byte_encoding_is_decoded(encoding):
    text = (
        f'<?xml version="1.0" encoding="{encoding}"?>\n<adf><prospect><customer><contact>'
        '<name part="first">Zoë</name><name part="last">Müller</name></contact>'
        "<comments>Prêt à acheter</comments></customer></prospect></adf>"
    )

    [submission] = parse_adf(text.encode(encoding))

    assert (submission.first_name, submission.last_name) == ("Zoë", "Müller")
    assert submission.comments == "Prêt à acheter"
    assert submission.raw_payload == text


def test_windows_1252_characters_outside_latin_1_are_decoded():
    text = (
        '<?xml version="1.0" encoding="windows-1252"?><adf><prospect><customer>'
        "<comments>Budget: 20 000 € – “firm”</comments></customer></prospect></adf>"
    )

    [submission] = parse_adf(text.encode("cp1252"))

    assert submission.comments == "Budget: 20 000 € – “firm”"


def test_an_encoding_expat_cannot_read_is_decoded_by_python():
    text = (
        '<?xml version="1.0" encoding="Shift_JIS"?><adf><prospect><customer><contact>'
        '<name part="full">山田 太郎</name></contact></customer></prospect></adf>'
    )

    [submission] = parse_adf(text.encode("shift_jis"))

    assert (submission.first_name, submission.last_name) == ("山田", "太郎")


def test_utf_16_with_a_byte_order_mark_is_decoded():
    text = '<?xml version="1.0" encoding="UTF-16"?><adf><prospect><id>Zoë-1</id></prospect></adf>'

    [submission] = parse_adf(text.encode("utf-16"))

    assert submission.external_id == "Zoë-1"


def test_windows_1252_sent_as_utf_8_is_read_with_a_warning():
    data = "<adf><prospect><customer><contact><name>Zoë Müller</name></contact></customer>"
    data = (data + "</prospect></adf>").encode("cp1252")

    [submission] = parse_adf(data)

    assert (submission.first_name, submission.last_name) == ("Zoë", "Müller")
    assert submission.warnings == (
        "the document is not valid UTF-8 as declared; it was read as windows-1252",
    )


def test_a_sloppy_prospect_does_not_sink_a_good_one():
    good = _prospect(
        '<id source="Edmunds">E-1</id><requestdate>2024-03-01T09:00:00Z</requestdate>'
        "<customer><contact><name part='first'>Good</name><name part='last'>Lead</name>"
        "<email>good@example.com</email></contact></customer>"
    )
    sloppy = _prospect(
        "free text where elements belong"
        "<requestdate>one</requestdate><requestdate>2024-01-01</requestdate>"
        "<vehicle>stray text<year>abc</year><year>1999</year><make/><make>  Dodge </make>"
        "<vin>1234567890ABCDEFGHIJ</vin><odometer>12k</odometer></vehicle>"
        '<vehicle interest="trade-in"><year>1850</year><model>Model T</model>'
        "<odometer>-5</odometer></vehicle>"
        "<customer>Just text<contact/></customer><customer><contact><email/>"
        "<email>  </email><phone></phone></contact>"
        "<timeframe><earliestdate>soon</earliestdate></timeframe></customer>"
        "<id/><id source='other'>2</id>",
        status="",
    )

    first, second = parse_adf(_adf(good, sloppy))

    assert (first.first_name, first.last_name, first.emails) == (
        "Good",
        "Lead",
        ("good@example.com",),
    )
    assert (first.source, first.external_id, first.warnings) == ("Edmunds", "E-1", ())
    assert first.requested_at == datetime(2024, 3, 1, 9, tzinfo=UTC)
    assert _without_raw(second) == Submission(
        source="adf",
        channel="third_party",
        # Of duplicate elements the first with a value is read, even when that value is not
        # usable: the parser does not hunt through them for one it likes.
        vehicle=VehicleDetails(make="Dodge"),
        trade_in=VehicleDetails(model="Model T"),
        payload_format=Format.ADF,
        warnings=(
            "requestdate 'one' is not a date; ignored",
            "vehicle year 'abc' is not a year; ignored",
            "vehicle VIN '1234567890ABCDEFGHIJ' is longer than 17 characters; ignored",
            "vehicle odometer '12k' is not a whole number; ignored",
            "trade-in year 1850 is not between 1900 and 2100; ignored",
            "trade-in odometer '-5' is not a whole number; ignored",
            "timeframe date 'soon' is not a date; ignored",
        ),
    )


def test_a_prospect_the_parser_trips_over_is_kept_with_its_raw_document(monkeypatch):
    calls = []
    read_vehicles = adf._vehicles

    def fails_the_second_time(prospect, warnings):
        calls.append(prospect)
        if len(calls) == 2:
            raise RuntimeError("unforeseen")
        return read_vehicles(prospect, warnings)

    monkeypatch.setattr(adf, "_vehicles", fails_the_second_time)
    data = _sample("06_rust_adf_two_prospects_new_and_resend.xml")

    first, second = parse_adf(data, default_source="acme")

    assert first.vehicle == VehicleDetails(year=2024, make="Toyota", model="Camry")
    assert _without_raw(second) == Submission(
        source="acme",
        channel="third_party",
        resend=True,
        payload_format=Format.ADF,
        warnings=("prospect 2 could not be read; only the raw document was kept",),
    )
    assert second.raw_payload == data.decode()


# Field mapping --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("names", "first", "last"),
    [
        ('<name part="full">Mary Ann  Smith</name>', "Mary Ann", "Smith"),
        ("<name>Prince</name>", "Prince", ""),
        ('<name part="first">Jo</name><name part="middle">Q</name>', "Jo", ""),
        ('<name part="last">Doe</name><name part="full">Jane Doe</name>', "", "Doe"),
        ('<name part="full"></name><name part="full">\n  Li\n  Wei\n</name>', "Li", "Wei"),
    ],
)
def test_names_are_read_from_parts_or_split_from_a_full_name(names, first, last):
    submission = _one(f"<customer><contact>{names}</contact></customer>")

    assert (submission.first_name, submission.last_name) == (first, last)


def test_the_primary_contact_is_preferred_over_the_first_one():
    submission = _one(
        "<customer>"
        "<contact><name>Other Person</name><email>other@example.com</email></contact>"
        '<contact primarycontact="1"><name>Main Person</name><email>main@example.com</email>'
        "</contact></customer>"
    )

    assert (submission.first_name, submission.emails) == ("Main", ("main@example.com",))


def test_contact_details_written_straight_under_customer_are_read():
    submission = _one("<customer><name>Sam Lee</name><phone>555-0100</phone></customer>")

    assert (submission.first_name, submission.last_name) == ("Sam", "Lee")
    assert submission.phones == ("555-0100",)


def test_preferred_emails_and_phones_come_first_without_repeats():
    submission = _one(
        "<customer><contact>"
        "<email>a@example.com</email><email></email>"
        '<email preferredcontact="1">b@example.com</email><email>a@example.com</email>'
        '<phone type="voice">111</phone><phone type="pager">222</phone>'
        '<phone type="cellphone" preferredcontact="1">333</phone>'
        '<phone type="fax" preferredcontact="1">444</phone><phone>111</phone><phone>555</phone>'
        "</contact></customer>"
    )

    assert submission.emails == ("b@example.com", "a@example.com")
    assert submission.phones == ("333", "111", "555")


@pytest.mark.parametrize(
    ("country", "region"),
    [
        ("CA", "CA"),
        ("us", "US"),
        ("Canada", "CA"),
        ("United States", "US"),
        ("USA", "US"),
        ("united states of america", "US"),
        ("Mexico", ""),
        ("C1", ""),
        ("", ""),
    ],
)
def test_the_phone_region_comes_from_the_country(country, region):
    submission = _one(
        "<customer><contact><address><postalcode> 90210 </postalcode>"
        f"<country>{country}</country></address></contact></customer>"
    )

    assert (submission.phone_region, submission.postal_code) == (region, "90210")


def test_the_source_falls_back_to_the_provider_name_then_the_default():
    from_provider = _one(
        '<id source=" ">77</id><provider><name part="full">Cars.com</name></provider>'
    )
    [from_default] = parse_adf(_adf(_prospect("<id>78</id>")), default_source="leadco")

    assert (from_provider.source, from_provider.external_id) == ("Cars.com", "77")
    assert (from_default.source, from_default.external_id) == ("leadco", "78")


def test_overlong_source_and_id_are_cut_with_a_warning():
    submission = _one(f'<id source="{"s" * 70}">{"9" * 130}</id>')

    assert submission.source == "s" * 64
    assert submission.external_id == "9" * 128
    assert submission.warnings == (
        "source is longer than 64 characters; cut to 64",
        "id is longer than 128 characters; cut to 128",
    )


def test_overlong_vehicle_fields_are_cut_with_a_warning():
    submission = _one(f"<vehicle><make>{'M' * 51}</make><trim>{'T' * 81}</trim></vehicle>")

    assert submission.vehicle == VehicleDetails(make="M" * 50, trim="T" * 80)
    assert submission.warnings == (
        "vehicle make is longer than 50 characters; cut to 50",
        "vehicle trim is longer than 80 characters; cut to 80",
    )


@pytest.mark.parametrize(
    ("odometer", "mileage"),
    [("1500", 1500), ("1500.0", 1500), ("12,345", 12345), (" 7 ", 7)],
)
def test_the_odometer_is_read_as_a_whole_number(odometer, mileage):
    submission = _one(f"<vehicle><odometer>{odometer}</odometer></vehicle>")

    assert submission.vehicle.mileage == mileage
    assert submission.warnings == ()


@pytest.mark.parametrize(
    ("requestdate", "expected"),
    [
        ("2019-01-15T18:46:36-06:00", datetime(2019, 1, 16, 0, 46, 36, tzinfo=UTC)),
        ("2024-01-15T10:30:00Z", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15T10:30:00", datetime(2024, 1, 15, 10, 30, tzinfo=UTC)),
        ("2024-01-15", datetime(2024, 1, 15, tzinfo=UTC)),
    ],
)
def test_the_request_date_is_read_as_an_aware_datetime(requestdate, expected):
    submission = _one(f"<requestdate>{requestdate}</requestdate>")

    assert submission.requested_at == expected
    assert submission.requested_at.tzinfo is not None


@pytest.mark.parametrize("requestdate", ["01/15/2024", "2024-13-45T10:00:00", "yesterday"])
def test_a_request_date_that_is_not_iso_8601_is_left_empty_with_a_warning(requestdate):
    submission = _one(f"<requestdate>{requestdate}</requestdate>")

    assert submission.requested_at is None
    assert submission.warnings == (f"requestdate '{requestdate}' is not a date; ignored",)


@pytest.mark.parametrize(
    ("days_ahead", "horizon"),
    [
        (-30, "within_week"),
        (0, "within_week"),
        (7, "within_week"),
        (8, "within_month"),
        (31, "within_month"),
        (32, "within_3_months"),
        (92, "within_3_months"),
        (93, "within_6_months"),
        (183, "within_6_months"),
        (184, "later"),
    ],
)
def test_the_purchase_horizon_counts_days_from_the_request_date(days_ahead, horizon):
    requested = datetime(2024, 6, 1, 12, tzinfo=UTC)
    earliest = requested + timedelta(days=days_ahead)

    submission = _one(
        f"<requestdate>{requested.isoformat()}</requestdate><customer><timeframe>"
        f"<earliestdate>{earliest.isoformat()}</earliestdate></timeframe></customer>"
    )

    assert submission.purchase_horizon == horizon


def test_the_latest_date_is_used_when_there_is_no_earliest_date():
    submission = _one(
        "<requestdate>2024-06-01</requestdate><customer><timeframe><earliestdate/>"
        "<latestdate>2024-08-01</latestdate></timeframe></customer>"
    )

    assert submission.purchase_horizon == "within_3_months"


@pytest.mark.parametrize(
    ("earliest", "horizon"), [("2999-01-01", "later"), ("2001-01-01", "within_week")]
)
def test_without_a_request_date_the_horizon_counts_from_now(earliest, horizon):
    submission = _one(
        f"<customer><timeframe><earliestdate>{earliest}</earliestdate></timeframe></customer>"
    )

    assert submission.purchase_horizon == horizon


def test_overlong_comments_are_cut_with_a_warning():
    submission = _one(f"<customer><comments>{'word ' * 3000}</comments></customer>")

    assert len(submission.comments) == 9_999  # 10,000 less the space the cut ended on
    assert submission.comments.endswith(" word")
    assert submission.warnings == ("comment text is longer than 10000 characters; cut to 10000",)


# E-mail ---------------------------------------------------------------------------------------


def _email():
    message = EmailMessage()
    message["From"] = "leads@provider.example"
    message["To"] = "crm@dealer.example"
    message["Subject"] = "New lead"
    return message


def test_an_adf_document_in_a_plain_text_body_is_found_between_greeting_and_signature():
    document = _sample("05_rust_adf_full_lead_cobalt_carpoint_ext.xml").decode()
    message = _email()
    message.set_content(f"New lead below.\n\n{document}\n-- \nProvider Inc.\n", cte="7bit")

    found = adf_from_email(message.as_bytes())

    assert found.startswith(b'<?xml version="1.0"?>\n<?adf version="1.0"?>\n<adf>')
    assert found.endswith(b"</adf>")
    assert parse_adf(found)[0].external_id == "38889"


def test_an_adf_document_in_a_quoted_printable_body_is_decoded():
    document = (
        '<?xml version="1.0" encoding="ISO-8859-1"?><adf><prospect><customer><contact>'
        '<name part="first">Zoë</name><name part="last">Müller</name></contact>'
        f"<comments>{'Looking for a family SUV with a third row of seats. ' * 3}</comments>"
        "</customer></prospect></adf>"
    )
    message = _email()
    message.set_content(document, charset="utf-8", cte="quoted-printable")
    raw = message.as_bytes()
    assert b"Zo=C3=AB" in raw and b"=\n" in raw  # really quoted-printable, with soft breaks

    [submission] = parse_adf(adf_from_email(raw))

    assert (submission.first_name, submission.last_name) == ("Zoë", "Müller")
    assert submission.comments.startswith("Looking for a family SUV with a third row of seats. L")


def test_an_adf_document_attached_as_xml_is_found():
    attachment = _sample("03_activix_full_vehicle_finance_timeframe_provider_ext.xml")
    message = _email()
    message.set_content("Please find the lead attached.")
    message.add_attachment(attachment, maintype="application", subtype="xml", filename="lead.xml")
    raw = message.as_bytes()
    assert b"multipart/mixed" in raw and b"Content-Transfer-Encoding: base64" in raw

    found = adf_from_email(raw)

    assert found == attachment.strip()
    assert parse_adf(found)[0].source == "Activix"


def test_a_wrong_mime_charset_gives_way_to_the_document_itself():
    document = "<adf><prospect><customer><contact><name>Zoë Müller</name></contact></customer>"
    raw = (
        b"Subject: New lead\nContent-Type: text/plain; charset=us-ascii\n"
        b"Content-Transfer-Encoding: 8bit\n\n" + f"{document}</prospect></adf>\n".encode()
    )

    [submission] = parse_adf(adf_from_email(raw))

    assert (submission.first_name, submission.last_name) == ("Zoë", "Müller")


def test_an_e_mail_without_an_adf_document_is_refused():
    message = _email()
    message.set_content("Hello, please call me back about the <b>adfx</b> offer.")
    message.add_alternative("<html><body><adf>not here</adf></body></html>", subtype="html")

    with pytest.raises(AdfRejected, match="The e-mail holds no ADF document"):
        adf_from_email(message.as_bytes())
