import phonenumbers
from django import template
from django.conf import settings

register = template.Library()


@register.filter
def phone(e164):
    """A stored E.164 number as people read it: nationally in the dealer's region
    ((617) 555-0176), internationally otherwise (+44 20 7946 0958)."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    home = phonenumbers.region_code_for_number(number) == settings.PHONE_DEFAULT_REGION
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if home
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(number, style)
