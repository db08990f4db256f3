from functools import cache

from django import template
from django.conf import settings
from django.urls import translate_url
from django.utils.html import format_html
from django.utils.translation import get_language

from moonvault.catalog.models import Sample
from moonvault.core.units import format_mass

register = template.Library()


@register.filter
def mass(micrograms: int | None) -> str:
    """The most readable unit, with the exact microgram figure on hover."""
    if micrograms is None:
        return "—"
    return format_html('<span title="{} µg">{}</span>', f"{micrograms:,}", format_mass(micrograms))


@register.filter
def sample_label(value: str, name: str) -> str:
    """The label of a sample's `name` choice (form, pool, state) for `value`.

    Django's `get_<name>_display` rebuilds the field's whole list of choices, translating every
    label, on each call: three columns of 50 catalog rows cost the page about 1,200 translations.
    """
    return _choice_labels(name, get_language()).get(value, value)


@cache
def _choice_labels(name: str, language: str | None) -> dict:
    # The labels in `language`, which is the active one whenever this is called.
    return {value: str(label) for value, label in Sample._meta.get_field(name).flatchoices}


@register.simple_tag(takes_context=True)
def default_language_path(context) -> str:
    """This page's address in the default language, the one form `set_language` can translate.

    An address without a language prefix is always read in the default language, whatever the
    cookie says, so `set_language` cannot resolve a prefixed one such as /zh-hans/missions/.
    """
    return translate_url(context["request"].get_full_path(), settings.LANGUAGE_CODE)


@register.simple_tag(takes_context=True)
def refine(context, name: str, value: str) -> str:
    """This catalog address with one filter set to `value` (cleared when empty), from page 1.

    The path is the request's own: the catalog and its partial answers share one address, and a
    facet list would otherwise reverse it for each of its links.
    """
    request = context["request"]
    params = request.GET.copy()
    params.pop("page", None)
    if value:
        params[name] = value
    else:
        params.pop(name, None)
    return f"{request.path}?{params.urlencode()}"


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None
