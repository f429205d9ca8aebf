"""Normal forms for contact details, so that one person is found under one e-mail and one phone."""

import functools

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from dealercrm.errors import InvalidContactDetail


def normalize_email(raw):
    """Return the address trimmed and lower-cased, or "" for an empty one.

    Lower-casing the local part is not strictly RFC 5321, but every mailbox provider dealers'
    customers use treats it case-insensitively, and matching people is what matters here.
    """
    email = (raw or "").strip().lower()
    if not email:
        return ""
    if not _valid_email(email):
        raise InvalidContactDetail("e-mail", raw, "is not a valid e-mail address")
    return email


# Intake checks each detail more than once (to match, then to store) and imports repeat them;
# checking is the costly part of a row, and the answer never changes.
@functools.lru_cache(maxsize=4096)
def _valid_email(email):
    try:
        validate_email(email)
    except ValidationError:
        return False
    return True


@functools.lru_cache(maxsize=4096)
def _parsed_phone(text, region):
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_valid_number(number):
        return ""
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def normalize_phone(raw, region=None):
    """Return the number in E.164 (+15551234567), or "" for an empty one.

    Numbers without a country code are read in `region` (default: PHONE_DEFAULT_REGION).
    """
    text = (raw or "").strip()
    if not text:
        return ""
    region = region or settings.PHONE_DEFAULT_REGION
    e164 = _parsed_phone(text, region)
    if e164 is None:
        raise InvalidContactDetail("phone", raw, "is not a phone number")
    if not e164:
        raise InvalidContactDetail("phone", raw, f"is not a valid phone number in {region}")
    return e164
