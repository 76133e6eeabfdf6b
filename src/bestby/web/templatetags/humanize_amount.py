from decimal import Decimal

from django import template
from django.conf import settings

from bestby.bounds import EXACT_DIGITS, DecimalBound

#: the widest amount bestby stores (15 significant digits, bestby.bounds.EXACT_DIGITS); past it, never a valid one
_MONEY = DecimalBound(EXACT_DIGITS, 2)

register = template.Library()


@register.filter
def amount(value) -> str:
    """Format money as ``12,345 USD`` (whole units: pipeline totals are not cent-exact decisions)."""
    if value is None:
        return "–"
    if not _MONEY.holds(value):  # stored before bounds were checked (or by hand): say so, do not fail the page
        return f"invalid amount ({value})"
    return f"{Decimal(value):,.0f} {settings.BESTBY_CURRENCY}"


@register.filter
def share(total, totals) -> str:
    """Width in percent of this stage's open amount against the largest stage's."""
    top = max((t.open_amount for t in totals), default=0)
    return "0" if not top else f"{float(total.open_amount) / float(top) * 100:.1f}"
