"""``{% bar percent title %}``: a share bar drawn as SVG, so that pages need no inline style (see bestby.web.csp).

A ``style="width: 40%"`` attribute is an inline style, which the Content-Security-Policy's ``style-src
'self'`` refuses; an SVG rectangle's ``width`` is an attribute of the drawing, not a style. The bar spans its
cell; the rectangle covers ``percent`` of it (0 to 100, as given: "40.0" stays "40.0").
"""

from django import template
from django.utils.html import format_html

register = template.Library()


@register.simple_tag
def bar(percent, title: str = ""):
    try:
        value = float(percent)
    except (TypeError, ValueError):
        value, percent = 0.0, "0"
    if not 0 <= value <= 100:
        percent = "0" if value < 0 else "100"
    label = title or f"{percent}%"
    # the label is the span's title (a tooltip) and the drawing's accessible name, not text of the cell
    return format_html('<span class="bar" title="{}"><svg viewBox="0 0 100 1" preserveAspectRatio="none" '
                       'role="img" aria-label="{}"><rect width="{}" height="1"/></svg></span>', label, label, percent)
