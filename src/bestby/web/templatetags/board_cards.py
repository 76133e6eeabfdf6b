"""The board's card and owner choices, rendered in Python: the fragments a page repeats hundreds of times.

A card through Django's template engine (an ``{% include %}`` with a few
loops and filters, on model instances) cost about 0.4 ms; a board shows up to
7 columns x 20 cards, and an admin's owner filter lists every user (a
thousand in the benchmark), which made template work and model instances most
of the board's time. Here a card is built from one plain row (a dict from
``QuerySet.values``, see :data:`CARD_FIELDS`) with every value passed through
:func:`html.escape`, at a few microseconds a card.
"""

from __future__ import annotations

from html import escape

from django import template
from django.urls import reverse
from django.utils.safestring import SafeString, mark_safe

from bestby.people.models import User
from bestby.web.templatetags.humanize_amount import amount

register = template.Library()

#: the fields :func:`card` reads, for ``Deal.objects.values(*CARD_FIELDS)``
CARD_FIELDS = ("pk", "external_id", "name", "amount", "owner_id", "owner__external_id", "owner__name",
               "owner__email", "freshness__state", "freshness__reasons", "freshness__best_by")


def _deal_url(external_id: str) -> str:
    base = reverse("deal", args=["__ID__"])
    return base.replace("__ID__", escape(external_id))


@register.simple_tag
def card(row: dict) -> SafeString:
    """One board card: state colour, link, id, owner, amount, best-by, and the reasons (hover and details)."""
    state = row["freshness__state"]
    reasons = (row["freshness__reasons"] or []) if state else []
    if state:
        # the hover text: the state, then one line per reason (&#10; is a line break inside an attribute)
        title = "&#10;".join(escape(x) for x in (state, *(f"· {r['text']}" for r in reasons)))
    else:
        state, title = "unknown", "freshness not computed yet"
    owner = (User.display(row["owner__name"], row["owner__email"], row["owner__external_id"])
             if row["owner_id"] else "no owner")
    best_by = row["freshness__best_by"].strftime("%Y-%m-%d") if row["freshness__best_by"] else "–"
    ext = escape(row["external_id"])
    details = ""
    if reasons:
        items = "".join(f'<li data-code="{escape(r["code"])}">{escape(r["text"])}</li>' for r in reasons)
        details = (f'<details><summary>{state}: {len(reasons)} reason{"" if len(reasons) == 1 else "s"}</summary>'
                   f"<ul>{items}</ul></details>")
    return mark_safe(
        f'<li class="card state-{escape(state)}" data-deal="{ext}" data-state="{escape(state)}" title="{title}">'
        f'<a href="{_deal_url(row["external_id"])}">{escape(row["name"] or row["external_id"])}</a> '
        f'<span class="id">{ext}</span> <span class="owner">{escape(owner)}</span> '
        f'<span class="amount">{escape(amount(row["amount"]))}</span> '
        f'<span class="best-by">best by {best_by}</span>{details}</li>\n')


@register.simple_tag
def options(choices, selected: str) -> SafeString:
    """``<option>`` elements for a filter; each choice is a (value, shown text) pair or a plain value."""
    pairs = (c if isinstance(c, tuple) else (c, c) for c in choices)
    return mark_safe("".join(
        f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(shown)}</option>'
        for value, shown in pairs))
