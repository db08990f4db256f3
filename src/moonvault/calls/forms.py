"""Forms for the pages of allocation rounds. They parse input; the services judge it."""

from dataclasses import dataclass
from decimal import Decimal
from functools import cached_property

from django import forms
from django.contrib.auth.models import User
from django.forms.utils import ErrorDict
from django.utils.translation import gettext_lazy as _

from moonvault.calls.models import CallStatus, ProposalStatus
from moonvault.catalog.models import DIVISIBLE_FORMS, Form, Pool
from moonvault.catalog.selectors import mission_list
from moonvault.core.errors import DomainError
from moonvault.core.forms import ModelMultipleChoiceField
from moonvault.core.middleware import out_of_range
from moonvault.core.units import MICROGRAMS_PER, parse_mass
from moonvault.review.selectors import ReviewerSearch, panel_members, reviewer_search
from moonvault.web.listing import ListFilter, with_all

MASS_UNITS = [("mg", "mg"), ("g", "g")]
# What the database columns hold: masses are 64-bit integers, counts 16-bit.
LARGEST_MASS_UG = 2**63 - 1
LARGEST_COUNT = 32767
TEXTAREA = forms.Textarea(attrs={"rows": 5})
SHORT_TEXTAREA = forms.Textarea(attrs={"rows": 2})


def _micrograms(form: forms.Form, name: str, unit: str) -> int:
    """Exact conversion of a mass field; an empty field is no mass."""
    text = (form.cleaned_data.get(name) or "").strip()
    if not text:
        return 0
    try:
        micrograms = parse_mass(text, unit, field=name)
    except DomainError as exc:
        form.add_error(name, exc.message)
        return 0
    if abs(micrograms) > LARGEST_MASS_UG:
        form.add_error(name, _("This mass is too large."))
        return 0
    return micrograms


def mass_in(micrograms: int, unit: str) -> str:
    """The exact figure of a mass in a unit, as typed into a form."""
    value = (Decimal(micrograms) / MICROGRAMS_PER[unit]).normalize()
    return f"{value:f}"


# --- proposals -------------------------------------------------------------------------------


class SummaryForm(forms.Form):
    title = forms.CharField(label=_("Title"), required=False)
    abstract = forms.CharField(label=_("Abstract"), required=False, widget=TEXTAREA)
    science_case = forms.CharField(label=_("Science case"), required=False, widget=TEXTAREA)
    keywords = forms.CharField(
        label=_("Keywords"), required=False, help_text=_("comma-separated, used to match reviewers")
    )
    all_or_nothing = forms.BooleanField(
        label=_("All or nothing"),
        required=False,
        help_text=_("the committee approves the whole request or declines it"),
    )


class TeamMemberForm(forms.Form):
    username = forms.CharField(
        label=_("Registered user"),
        required=False,
        help_text=_("their username; leave empty to enter a name, email and institution"),
    )
    name = forms.CharField(label=_("Name"), required=False, max_length=200)
    email = forms.EmailField(label=_("Email"), required=False)
    institution_name = forms.CharField(label=_("Institution"), required=False, max_length=200)
    country = forms.CharField(
        label=_("Country"), required=False, help_text=_("two-letter ISO code, e.g. CN, FR")
    )


class MethodForm(forms.Form):
    technique = forms.CharField(label=_("Technique"), required=False, max_length=200)
    destructive = forms.BooleanField(label=_("Destructive"), required=False)
    mass = forms.CharField(label=_("Mass needed"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=MASS_UNITS, initial="mg", required=False)

    def clean(self):
        data = super().clean()
        data["mass_ug"] = _micrograms(self, "mass", data.get("unit") or "mg")
        return data


class ItemForm(forms.Form):
    sample_identifier = forms.CharField(
        label=_("Named sample"),
        required=False,
        help_text=_("a sample identifier; leave empty to ask for a form from a mission and pool"),
    )
    mission = forms.ChoiceField(label=_("Mission"), required=False)
    pool = forms.ChoiceField(label=_("Purpose pool"), required=False)
    form = forms.ChoiceField(label=_("Form"), required=False)
    requested_mass = forms.CharField(
        label=_("Requested mass"), required=False, help_text=_("for powder and regolith")
    )
    minimum_mass = forms.CharField(label=_("Minimum useful mass"), required=False)
    unit = forms.ChoiceField(label=_("Unit"), choices=MASS_UNITS, initial="mg", required=False)
    units = forms.IntegerField(
        label=_("Whole units"),
        required=False,
        min_value=0,
        max_value=LARGEST_COUNT,
        help_text=_("for thin sections, rock fragments, particles and other whole pieces"),
    )
    justification = forms.CharField(label=_("Justification"), required=False, widget=TEXTAREA)

    def __init__(self, *args, call, **kwargs):
        super().__init__(*args, **kwargs)
        blank = [("", "—")]
        self.fields["mission"].choices = blank + [(m.code, m.name) for m in call.missions.all()]
        self.fields["pool"].choices = blank + [c for c in Pool.choices if c[0] in call.pools]
        self.fields["form"].choices = blank + [c for c in Form.choices if c[0] in call.forms]

    def clean(self):
        data = super().clean()
        unit = data.get("unit") or "mg"
        data["requested_mass_ug"] = _micrograms(self, "requested_mass", unit)
        data["minimum_mass_ug"] = _micrograms(self, "minimum_mass", unit)
        data["units"] = data.get("units") or 0
        return data


class ResultsForm(forms.Form):
    prior_results = forms.CharField(label=_("Prior results"), required=False, widget=TEXTAREA)
    data_sharing_plan = forms.CharField(
        label=_("Data-sharing plan"), required=False, widget=TEXTAREA
    )


class DoiForm(forms.Form):
    doi = forms.CharField(
        label=_("DOI"), max_length=200, help_text=_("e.g. 10.1038/s41586-021-04100-2")
    )


class AttachmentForm(forms.Form):
    file = forms.FileField(label=_("PDF file"), help_text=_("PDF only, at most 10 MB"))


class ReasonForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), required=False, widget=SHORT_TEXTAREA)


# --- review panels ---------------------------------------------------------------------------

# The panel's search box and the button that searches without saving, posted beside the panel.
PANEL_QUERY = "panel_q"
PANEL_SEARCH = "panel_search"
LONGEST_PANEL_QUERY = 100
# The query whose results the page shows (kept up to date by the search as the chair types), and
# the form's default button: hidden, first of the form, so Enter in any field posts it rather
# than the search button; it names itself so that Enter can be told from a click on the form's
# visible button.
PANEL_SEARCHED = "panel_searched"
PANEL_ENTER = "panel_enter"


class PanelField(ModelMultipleChoiceField):
    """A review panel. It accepts any reviewer, but shows only the chosen members and what a
    search found (calls/_panel_field.html): a list of every reviewer was thousands of checkboxes,
    slow to render and of no use to a chair looking for one person."""

    def __init__(self):
        super().__init__(
            label=_("Review panel"),
            queryset=None,
            required=False,
            widget=forms.CheckboxSelectMultiple,
            template_name="calls/_panel_field.html",
            error_messages={"invalid_choice": _("User %(value)s is not an active reviewer.")},
        )


@dataclass(frozen=True)
class PanelChoice:
    """What the panel field shows: the members as chosen so far and the reviewers found."""

    members: list[User]
    query: str
    found: ReviewerSearch


class PanelChoosing:
    """For a form with a `PanelField` named `panel`, validated against `reviewers`.

    Without JavaScript, the search button posts the whole form: the form comes back as typed,
    neither judged (no field is flagged before the chair has finished) nor saved.

    Enter in any field posts the form's default button (`PANEL_ENTER`, before the search button),
    which saves. But Enter in the search box after typing a query that was not searched yet is a
    search: without JavaScript, that is how the box searches on Enter (with JavaScript, Enter in
    the box presses the search button, web/enter-button.js).
    """

    def __init__(self, *args, reviewers, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["panel"].queryset = reviewers
        self.searching = PANEL_SEARCH in self.data or (
            PANEL_ENTER in self.data and self._query(PANEL_QUERY) != self._query(PANEL_SEARCHED)
        )

    def _query(self, name: str) -> str:
        return self.data.get(name, "")[:LONGEST_PANEL_QUERY].strip()

    def full_clean(self):
        if self.searching:
            self._errors, self.cleaned_data = ErrorDict(), {}
        else:
            super().full_clean()

    def is_valid(self) -> bool:
        return not self.searching and super().is_valid()

    @cached_property
    def panel_choice(self) -> PanelChoice:
        """The members: the boxes ticked in the posted form, else the initial panel (ids)."""
        chosen = {
            int(value)
            for value in self["panel"].value() or ()
            if str(value).isdecimal() and not out_of_range(str(value))
        }
        query = self._query(PANEL_QUERY)
        return PanelChoice(
            members=panel_members(ids=chosen),
            query=query,
            found=reviewer_search(query=query, exclude=chosen),
        )


# --- calls -----------------------------------------------------------------------------------


class CallForm(PanelChoosing, forms.Form):
    title = forms.CharField(label=_("Title"), required=False, max_length=200)
    title_zh = forms.CharField(label=_("Chinese title"), required=False, max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=TEXTAREA)
    missions = ModelMultipleChoiceField(
        label=_("Missions offered"), queryset=None, to_field_name="code", required=False
    )
    pools = forms.MultipleChoiceField(
        label=_("Purpose pools offered"),
        choices=Pool.choices,
        initial=[Pool.RESEARCH],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    sample_forms = forms.MultipleChoiceField(
        label=_("Sample forms offered"),
        choices=Form.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    release_budget = forms.CharField(label=_("Mass that may be released (g)"))
    per_proposal_cap = forms.CharField(label=_("Mass cap per proposal (g)"))
    intent_due = forms.DateField(
        label=_("Notice of intent due"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    proposals_due = forms.DateTimeField(
        label=_("Proposals due (UTC)"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    review_due = forms.DateField(
        label=_("Reviews due"), widget=forms.DateInput(attrs={"type": "date"})
    )
    decision_due = forms.DateField(
        label=_("Decision due"), widget=forms.DateInput(attrs={"type": "date"})
    )
    panel = PanelField()
    reviewers_per_proposal = forms.IntegerField(
        label=_("Reviewers per proposal"), initial=3, max_value=LARGEST_COUNT
    )
    max_reviewer_load = forms.IntegerField(
        label=_("Maximum proposals per reviewer"), initial=8, max_value=LARGEST_COUNT
    )
    same_country_conflict = forms.BooleanField(
        label=_("Same country is a conflict of interest"), required=False
    )
    coauthor_window_years = forms.IntegerField(
        label=_("Co-authorship window (years)"), initial=3, min_value=0, max_value=LARGEST_COUNT
    )
    country_share_cap_pct = forms.IntegerField(
        label=_("Largest share of the released mass per country (%)"),
        required=False,
        max_value=LARGEST_COUNT,
    )
    all_or_nothing_default = forms.BooleanField(
        label=_("Proposals all-or-nothing by default"), required=False
    )

    # Service field names that differ from the form's.
    SERVICE_FIELDS = {
        "release_budget_ug": "release_budget",
        "per_proposal_cap_ug": "per_proposal_cap",
        "forms": "sample_forms",
    }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["missions"].queryset = mission_list()

    def clean(self):
        data = super().clean()
        data["release_budget_ug"] = _micrograms(self, "release_budget", "g")
        data["per_proposal_cap_ug"] = _micrograms(self, "per_proposal_cap", "g")
        return data


class TransitionForm(forms.Form):
    to_status = forms.ChoiceField(choices=CallStatus.choices, widget=forms.HiddenInput)
    reason = forms.CharField(label=_("Reason"), widget=SHORT_TEXTAREA)

    def __init__(self, data=None, **kwargs):
        # One form per possible move sits on the call's page: each needs its own field ids.
        move = (data or {}).get("to_status") or kwargs.get("initial", {}).get("to_status", "")
        prefix = f"id_{move}_" if move in CallStatus.values else "id_move_"
        super().__init__(data, auto_id=prefix + "%s", **kwargs)


class ExtensionForm(forms.Form):
    proposals_due = forms.DateTimeField(
        label=_("New proposal deadline (UTC)"),
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
    )
    reason = forms.CharField(label=_("Reason"), required=False, widget=SHORT_TEXTAREA)

    def __init__(self, data=None, **kwargs):
        super().__init__(data, auto_id="id_extension_%s", **kwargs)


class PanelForm(PanelChoosing, forms.Form):
    panel = PanelField()


class ScreeningForm(forms.Form):
    eligible = forms.TypedChoiceField(
        label=_("Eligible"),
        choices=[("yes", _("Eligible")), ("no", _("Ineligible"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=SHORT_TEXTAREA,
        help_text=_("required when you override the automatic result"),
    )


class DecisionForm(forms.Form):
    """One amount and one reason per requested item: a mass for divisible forms, else units."""

    comment = forms.CharField(label=_("Comment to the applicant"), required=False, widget=TEXTAREA)

    def __init__(self, *args, items, decided=None, **kwargs):
        super().__init__(*args, **kwargs)
        decided = decided or {}
        self.items = items
        for item in items:
            previous = decided.get(item.pk)
            if item.form in DIVISIBLE_FORMS:
                amount = previous.approved_mass_ug if previous else item.requested_mass_ug
                self.fields[f"approved_{item.pk}"] = forms.CharField(
                    label=_("Approved mass (mg)"), required=False, initial=mass_in(amount, "mg")
                )
            else:
                self.fields[f"approved_{item.pk}"] = forms.IntegerField(
                    label=_("Approved units"),
                    required=False,
                    max_value=LARGEST_COUNT,
                    initial=previous.approved_units if previous else item.units,
                )
            self.fields[f"reason_{item.pk}"] = forms.CharField(
                label=_("Reason for a cut"),
                required=False,
                initial=previous.reason if previous else "",
                widget=SHORT_TEXTAREA,
            )

    def rows(self):
        """Each item with its two bound fields, for the template."""
        return [(i, self[f"approved_{i.pk}"], self[f"reason_{i.pk}"]) for i in self.items]

    def service_fields(self) -> dict[str, str]:
        names = {}
        for item in self.items:
            names[f"approved.{item.pk}"] = f"approved_{item.pk}"
            names[f"reasons.{item.pk}"] = f"reason_{item.pk}"
        return names

    def clean(self):
        data = super().clean()
        approved, reasons = {}, {}
        for item in self.items:
            name = f"approved_{item.pk}"
            if item.form in DIVISIBLE_FORMS:
                approved[item.pk] = _micrograms(self, name, "mg")
            else:
                approved[item.pk] = data.get(name) or 0
            reasons[item.pk] = data.get(f"reason_{item.pk}", "")
        data["approved"], data["reasons"] = approved, reasons
        return data


class CallFilter(ListFilter):
    status = forms.ChoiceField(label=_("Status"), choices=with_all(CallStatus.choices))
    mission = forms.ChoiceField(label=_("Mission"))
    search_label = _("Title contains")

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        self.fields["mission"].choices = with_all((m.code, m.code) for m in mission_list())


class ProposalFilter(ListFilter):
    status = forms.ChoiceField(label=_("Status"), choices=with_all(ProposalStatus.choices))
    search_label = _("Title or call contains")
