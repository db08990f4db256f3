from functools import cache
from html import escape
from urllib.parse import quote, urlencode

from django import template
from django.conf import settings
from django.urls import reverse, translate_url
from django.utils.html import format_html
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import mark_safe
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


@register.simple_tag
def catalog_rows(samples) -> str:
    """The catalog table's rows, one per sample (the rows of `sample_search_rows`).

    Written here rather than as a loop in the template: the template engine spent about 50 µs on
    each row's seven cells, more than the search's queries took for the whole page of 50. The
    text is escaped as the template would (Django's `escape` is `html.escape`), and each link is
    the sample page's address as `reverse` gives it, reversed once for the page.
    """
    head, tail = reverse("sample-detail", args=[_MARK]).split(_MARK)
    language = get_language()
    form, pool, state = (_choice_labels(name, language) for name in ("form", "pool", "state"))
    return mark_safe(
        "".join(
            f'<tr><td><a href="{escape(head + quote(s["identifier"], safe=_URL_SAFE) + tail)}">'
            f"{escape(s['identifier'])}</a></td><td>{escape(s['mission'])}</td>"
            f"<td>{escape(form.get(s['form'], s['form']))}</td>"
            f"<td>{escape(pool.get(s['pool'], s['pool']))}</td>"
            f"<td>{escape(state.get(s['state'], s['state']))}</td>"
            f'<td class="num">{mass(s["mass_ug"])}</td><td>{escape(s["classification"])}'
            f"{' · ' + escape(s['subtype']) if s['subtype'] else ''}</td></tr>"
            for s in samples
        )
    )


# A stand-in identifier with nothing to quote, and the characters `reverse` leaves unquoted.
_MARK = "SAMPLE"
_URL_SAFE = RFC3986_SUBDELIMS + "/~:@"


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
    facet list would otherwise reverse it for each of its links. The query is written as
    `QueryDict.urlencode` would write the changed copy, without copying it for each of the
    page's forty-odd links.
    """
    request = context["request"]
    pairs = []
    for key, values in request.GET.lists():
        if key == name:
            values = [value] if value else []
        if key != "page":
            pairs += [(key, v) for v in values]
    if value and name not in request.GET:
        pairs.append((name, value))
    return f"{request.path}?{urlencode(pairs)}"


@register.filter
def get(mapping, key):
    return mapping.get(key) if mapping else None
