"""Figures of the report pages as text: amounts, multiples, shares, rates, and exact values for data-* attributes."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def num(value) -> str:
    """The exact value (``repr`` of a float) for a data-* attribute; "" for None."""
    return "" if value is None else repr(float(value))


@register.filter
def money(value) -> str:
    """Whole units with thousands separators (``12,345``); "–" for None."""
    return "–" if value is None else f"{float(value):,.0f}"


@register.filter
def times(value) -> str:
    """A multiple (``2.4x``); "–" for None."""
    return "–" if value is None else f"{float(value):.1f}x"


@register.filter
def pct(value) -> str:
    """A share 0..1 as a whole percentage (``45%``); "–" for None."""
    return "–" if value is None else f"{100 * float(value):.0f}%"


@register.filter
def pct1(value) -> str:
    """A percentage already in percent (``12.3%``); "–" for None."""
    return "–" if value is None else f"{float(value):.1f}%"


@register.filter
def rate(value) -> str:
    """A rate with one decimal (``1.5``); "–" for None."""
    return "–" if value is None else f"{float(value):.1f}"


@register.filter
def brier(value) -> str:
    return "–" if value is None else f"{float(value):.3f}"
