import phonenumbers
import pytest
from django.test import override_settings
from hypothesis import given
from hypothesis import strategies as st

from dealercrm.contacts import normalize_email, normalize_phone
from dealercrm.errors import InvalidContactDetail


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("(202) 555-0143", "+12025550143"),
        ("202.555.0143", "+12025550143"),
        ("+1 202 555 0143", "+12025550143"),
        ("1-202-555-0143", "+12025550143"),
        ("+44 20 7946 0958", "+442079460958"),
        ("  ", ""),
        (None, ""),
    ],
)
def test_phone_numbers_are_stored_in_e164(raw, expected):
    assert normalize_phone(raw) == expected


@override_settings(PHONE_DEFAULT_REGION="DE")
def test_numbers_without_a_country_code_use_the_configured_region():
    assert normalize_phone("030 901820") == "+4930901820"


@pytest.mark.parametrize("raw", ["call me", "555", "+1 000 000 0000"])
def test_an_invalid_phone_is_refused_with_the_value_named(raw):
    with pytest.raises(InvalidContactDetail) as raised:
        normalize_phone(raw)

    assert raised.value.field == "phone"
    assert repr(raw) in str(raised.value)


def test_emails_are_trimmed_and_lower_cased():
    assert normalize_email("  Jane.Doe@Example.COM ") == "jane.doe@example.com"
    assert normalize_email("") == ""


def test_an_invalid_email_is_refused():
    with pytest.raises(InvalidContactDetail, match="not a valid e-mail"):
        normalize_email("jane@")


valid_numbers = st.sampled_from(["US", "GB", "DE", "FR", "CA", "AU", "BR"]).map(
    lambda region: phonenumbers.example_number(region)
)


FORMATS = [
    phonenumbers.PhoneNumberFormat.E164,
    phonenumbers.PhoneNumberFormat.INTERNATIONAL,
    phonenumbers.PhoneNumberFormat.NATIONAL,
    phonenumbers.PhoneNumberFormat.RFC3966,
]


@given(valid_numbers, st.sampled_from(FORMATS))
def test_any_valid_number_in_any_format_normalises_to_its_e164_form(number, number_format):
    written = phonenumbers.format_number(number, number_format)
    region = phonenumbers.region_code_for_number(number)
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)

    assert normalize_phone(written, region) == e164
    assert normalize_phone(e164) == e164


@given(st.text(max_size=40))
def test_phone_input_is_either_normalised_or_refused_by_name(text):
    try:
        result = normalize_phone(text)
    except InvalidContactDetail as error:
        assert error.field == "phone"
    else:
        assert result == "" or (result.startswith("+") and result[1:].isdigit())


def test_numbers_display_nationally_at_home_and_internationally_abroad():
    from dealercrm.templatetags.contact_display import phone

    assert phone("+16175550176") == "(617) 555-0176"
    assert phone("+442079460958") == "+44 20 7946 0958"
    assert phone("") == ""
