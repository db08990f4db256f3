"""Filters and pages above every list: one GET form, one pager, the same behaviour everywhere.

A list's filter form declares its fields (all optional); the values that validate are passed to the
list's selector as keyword arguments, and a value that does not validate is shown next to its field
and ignored, so that a mistyped filter never hides the list or changes anything.
"""

from dataclasses import dataclass

from django import forms
from django.core.paginator import Page, Paginator
from django.utils.translation import gettext_lazy as _

PAGE_SIZE = 50


class ListFilter(forms.Form):
    """A list's filters: each field's name is an argument of the list's selector."""

    q = forms.CharField(required=False, max_length=100, strip=True)
    search_label = _("Contains")

    def __init__(self, data=None, **kwargs):
        super().__init__(data, auto_id="f-%s", **kwargs)
        self.fields["q"].label = self.search_label
        for name, field in self.fields.items():
            field.required = False
            field.widget.attrs.setdefault("aria-describedby", f"error-{name}")

    def filters(self) -> dict:
        """The filters that validated and were given."""
        self.is_valid()
        return {
            name: value
            for name, value in getattr(self, "cleaned_data", {}).items()
            if name not in self.errors and value not in ("", None)
        }


def with_all(choices) -> list[tuple[str, str]]:
    """A filter's choices, starting with "all" (no filtering)."""
    return [("", _("All")), *choices]


@dataclass(frozen=True)
class Listing:
    form: ListFilter | None
    page: Page
    # The rest of the query string, for the pager's links.
    params: str
    # The query parameter giving the page number.
    param: str = "page"

    @property
    def filtered(self) -> bool:
        return bool(self.form and self.form.filters())


def listing(request, form_class: type[ListFilter], rows, *, size: int | None = None) -> Listing:
    """Filter and page a list: `rows(**filters)` returns the rows, a queryset or a list."""
    form = form_class(request.GET or None)
    return paged(request, rows(**form.filters()), size=size, form=form)


def paged(
    request, rows, *, param: str = "page", size: int | None = None, form: ListFilter | None = None
) -> Listing:
    """Page `rows` by the query parameter `param`, `size` (else PAGE_SIZE) a page: a second
    list on a page takes its own parameter, and each pager keeps the other's place."""
    page = Paginator(rows, size or PAGE_SIZE).get_page(request.GET.get(param))
    params = request.GET.copy()
    params.pop(param, None)
    return Listing(form=form, page=page, params=params.urlencode(), param=param)
