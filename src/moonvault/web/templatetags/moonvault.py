from django import template
from django.utils.html import format_html

from moonvault.core.units import format_mass

register = template.Library()


@register.filter
def mass(micrograms: int | None) -> str:
    """The most readable unit, with the exact microgram figure on hover."""
    if micrograms is None:
        return "—"
    return format_html('<span title="{} µg">{}</span>', f"{micrograms:,}", format_mass(micrograms))
