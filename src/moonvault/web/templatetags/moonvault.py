from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.html import format_html

from moonvault.core.units import format_mass

register = template.Library()


@register.filter
def mass(micrograms: int | None) -> str:
    """The most readable unit, with the exact microgram figure on hover."""
    if micrograms is None:
        return "—"
    return format_html('<span title="{} µg">{}</span>', f"{micrograms:,}", format_mass(micrograms))


@register.simple_tag(takes_context=True)
def default_language_path(context) -> str:
    """This page's address in the default language, the one form `set_language` can translate.

    An address without a language prefix is always read in the default language, whatever the
    cookie says, so `set_language` cannot resolve a prefixed one such as /zh-hans/missions/.
    """
    return translate_url(context["request"].get_full_path(), settings.LANGUAGE_CODE)


@register.simple_tag(takes_context=True)
def refine(context, name: str, value: str) -> str:
    """This catalog address with one filter set to `value` (cleared when empty), from page 1."""
    params = context["request"].GET.copy()
    params.pop("page", None)
    if value:
        params[name] = value
    else:
        params.pop(name, None)
    return "?" + params.urlencode()


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None
