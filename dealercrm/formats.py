"""How money reads on pages and in exports: "$1,234.50", with the dealership's currency symbol
(settings.CURRENCY_SYMBOL)."""

from decimal import Decimal

from django.conf import settings


def money_text(value):
    if value is None:
        return ""
    amount = Decimal(value).quantize(Decimal("0.01"))
    sign = "-" if amount < 0 else ""
    return f"{sign}{settings.CURRENCY_SYMBOL}{abs(amount):,.2f}"
