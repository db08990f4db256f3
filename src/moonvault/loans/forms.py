"""Forms for the loan pages. They parse input into what the services take; the services judge it.

Masses are typed in mg or g and converted exactly to micrograms. Text fields are no longer than
the columns they end in, so that no input reaches the database in a shape it would refuse.
"""

from datetime import date

from django import forms
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from moonvault.core.errors import DomainError
from moonvault.core.units import parse_mass
from moonvault.loans.models import (
    Authorship,
    DataDeposit,
    Exhibition,
    Handover,
    Incident,
    ItineraryStop,
    Loan,
    Publication,
    Shipment,
    StockCheck,
    Waiver,
)
from moonvault.loans.services.incidents import RESOLUTIONS
from moonvault.web.listing import ListFilter, with_all

MASS_UNITS = [("mg", "mg"), ("g", "g")]
# The largest value a BigIntegerField column holds.
MAX_MICROGRAMS = 2**63 - 1
# Loan dates are years apart; beyond this a date plus the loan's duration leaves the calendar.
LATEST_YEAR = 2200
TEXTAREA = forms.Textarea(attrs={"rows": 4})
DATE_INPUT = forms.DateInput(attrs={"type": "date"})


def _length(model, name: str) -> int:
    return model._meta.get_field(name).max_length


def micrograms(form: forms.Form, name: str, unit: str, *, required: bool = True) -> int | None:
    """Exact conversion of a mass field; the error, if any, is shown on that field."""
    text = (form.cleaned_data.get(name) or "").strip()
    if not text:
        if required:
            form.add_error(name, gettext("Give a mass."))
        return None
    try:
        value = parse_mass(text, unit, field=name)
    except DomainError as exc:
        form.add_error(name, exc.message)
        return None
    if abs(value) > MAX_MICROGRAMS:
        form.add_error(name, gettext("This mass is too large."))
        return None
    return value


def _check_date(form: forms.Form, name: str) -> None:
    day = form.cleaned_data.get(name)
    if day and not 1969 <= day.year <= LATEST_YEAR:
        form.add_error(
            name, gettext("Give a date between 1969 and %(year)s.") % {"year": LATEST_YEAR}
        )


class UnitField(forms.ChoiceField):
    def __init__(self, **kwargs):
        super().__init__(label=_("Unit"), choices=MASS_UNITS, initial="mg", **kwargs)


# --- curator: the agreement -------------------------------------------------------------------


class LoanCreateForm(forms.Form):
    proposal = forms.TypedChoiceField(label=_("Approved proposal"), coerce=int)
    official_name = forms.CharField(
        label=_("Authorized official"),
        max_length=_length(Loan, "official_name"),
        help_text=_("who signs for the borrower's institution"),
    )
    allowed_techniques = forms.CharField(label=_("Allowed techniques"), widget=TEXTAREA)
    destructive_allowed = forms.BooleanField(
        label=_("Destructive analysis allowed"), required=False
    )
    destructive_max = forms.CharField(
        label=_("Destructive use up to"), required=False, max_length=40
    )
    unit = UnitField()
    years = forms.IntegerField(label=_("Duration (years)"), initial=5, min_value=1, max_value=10)
    starts_on = forms.DateField(
        label=_("Start"), required=False, widget=DATE_INPUT, help_text=_("today if empty")
    )
    acknowledgement = forms.CharField(
        label=_("Acknowledgement text"),
        required=False,
        widget=TEXTAREA,
        help_text=_("the standard text if empty"),
    )
    data_embargo_until = forms.DateField(
        label=_("Data embargo until"), required=False, widget=DATE_INPUT
    )

    def __init__(self, *args, proposals, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["proposal"].choices = [
            (p.pk, f"{p.title} — {p.pi.get_full_name() or p.pi.get_username()}") for p in proposals
        ]

    def clean(self):
        data = super().clean()
        data["destructive_max_ug"] = (
            micrograms(self, "destructive_max", data.get("unit") or "mg", required=False) or 0
        )
        for name in ("starts_on", "data_embargo_until"):
            _check_date(self, name)
        return data


class SignatureForm(forms.Form):
    signed_by_name = forms.CharField(
        label=_("Signed by"), max_length=_length(Loan, "signed_by_name")
    )
    signed_pdf = forms.FileField(label=_("Signed agreement (PDF)"), required=False)


# --- shipments --------------------------------------------------------------------------------


class PackForm(forms.Form):
    container_code = forms.CharField(
        label=_("Container"), max_length=_length(Shipment, "container_code")
    )
    seal_number = forms.CharField(
        label=_("Seal number"), max_length=_length(Shipment, "seal_number")
    )
    nitrogen_purged = forms.BooleanField(label=_("Nitrogen-purged"), required=False, initial=True)
    location_code = forms.CharField(
        label=_("Packing location"), max_length=64, help_text=_("storage location code")
    )


class ShipmentChoiceForm(forms.Form):
    """A form acting on one of the loan's shipments, chosen among those offered."""

    shipment = forms.TypedChoiceField(coerce=int, widget=forms.HiddenInput)

    def __init__(self, *args, shipments=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["shipment"].choices = [(s.pk, s.pk) for s in shipments]


class DispatchForm(ShipmentChoiceForm):
    courier = forms.CharField(
        label=_("Courier"), required=False, max_length=_length(Shipment, "courier")
    )
    tracking_number = forms.CharField(
        label=_("Tracking number"), required=False, max_length=_length(Shipment, "tracking_number")
    )
    hand_carried_by = forms.CharField(
        label=_("Hand-carried by"),
        required=False,
        max_length=_length(Shipment, "hand_carried_by"),
        help_text=_("instead of a courier"),
    )
    hand_carry_log = forms.CharField(label=_("Hand-carry log"), required=False, widget=TEXTAREA)
    export_reference = forms.CharField(
        label=_("Export document"), required=False, max_length=_length(Shipment, "export_reference")
    )
    customs_reference = forms.CharField(
        label=_("Customs document"),
        required=False,
        max_length=_length(Shipment, "customs_reference"),
    )


class MeasuredForm(ShipmentChoiceForm):
    """Receipt of a shipment: the seal and the mass of each sample in it."""

    seal_intact = forms.BooleanField(label=_("Seal intact"), required=False, initial=True)
    unit = UnitField()

    def __init__(self, *args, items=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.items = list(items)
        for item in self.items:
            self.fields[f"mass_{item.sample_id}"] = forms.CharField(
                label=_("Mass of %(sample)s") % {"sample": item.sample.identifier}, max_length=40
            )

    def clean(self):
        data = super().clean()
        unit = data.get("unit") or "mg"
        data["measured"] = {
            item.sample_id: micrograms(self, f"mass_{item.sample_id}", unit) for item in self.items
        }
        return data

    def field_of(self, problem_field: str | None) -> str | None:
        """`measured.<sample id>` is the form's `mass_<sample id>`."""
        prefix, _dot, sample_id = (problem_field or "").partition(".")
        return f"mass_{sample_id}" if prefix == "measured" and sample_id else None


class ReturnReceiveForm(MeasuredForm):
    location_code = forms.CharField(
        label=_("Returned-material location"), max_length=64, help_text=_("storage location code")
    )


class ReturnPackForm(forms.Form):
    samples = forms.TypedMultipleChoiceField(
        label=_("Samples to return"), coerce=int, widget=forms.CheckboxSelectMultiple
    )
    container_code = forms.CharField(
        label=_("Container"), max_length=_length(Shipment, "container_code")
    )
    seal_number = forms.CharField(
        label=_("Seal number"), max_length=_length(Shipment, "seal_number")
    )

    def __init__(self, *args, held=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["samples"].choices = [(s.pk, s.identifier) for s in held]


# --- use --------------------------------------------------------------------------------------


class HeldSampleForm(forms.Form):
    sample = forms.TypedChoiceField(label=_("Sample"), coerce=int)

    def __init__(self, *args, held=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["sample"].choices = [(s.pk, s.identifier) for s in held]


class AnalysisForm(HeldSampleForm):
    technique = forms.CharField(label=_("Technique"), max_length=200)
    destructive = forms.BooleanField(label=_("Destructive"), required=False)
    mass_consumed = forms.CharField(
        label=_("Mass consumed"),
        required=False,
        max_length=40,
        help_text=_("destructive analyses only"),
    )
    unit = UnitField()
    performed_on = forms.DateField(
        label=_("Date"), required=False, widget=DATE_INPUT, help_text=_("today if empty")
    )

    def clean(self):
        data = super().clean()
        data["mass_consumed_ug"] = (
            micrograms(self, "mass_consumed", data.get("unit") or "mg", required=False) or 0
        )
        _check_date(self, "performed_on")
        return data


class SubsplitForm(HeldSampleForm):
    masses = forms.CharField(
        label=_("Masses of the new portions"),
        max_length=2000,
        help_text=_("separated by spaces or semicolons, e.g. 20; 30.5"),
    )
    loss = forms.CharField(label=_("Handling loss"), required=False, max_length=40)
    unit = UnitField()

    def clean(self):
        data = super().clean()
        unit = data.get("unit") or "mg"
        masses = []
        for text in (data.get("masses") or "").replace(";", " ").split():
            try:
                value = parse_mass(text, unit, field="masses")
            except DomainError as exc:
                self.add_error("masses", exc.message)
                break
            if abs(value) > MAX_MICROGRAMS:
                self.add_error("masses", gettext("This mass is too large."))
                break
            masses.append(value)
        data["masses_ug"] = masses
        data["loss_ug"] = micrograms(self, "loss", unit, required=False) or 0
        return data


class UsageReportForm(forms.Form):
    text = forms.CharField(
        label=_("Usage report"),
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("what was done with each sample, and what remains"),
    )


class InventoryForm(forms.Form):
    """The annual inventory: one mass and one place per sample held."""

    unit = UnitField()

    def __init__(self, *args, held=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.held = list(held)
        for sample in self.held:
            self.fields[f"mass_{sample.pk}"] = forms.CharField(
                label=_("Mass of %(sample)s") % {"sample": sample.identifier}, max_length=40
            )
            self.fields[f"place_{sample.pk}"] = forms.CharField(
                label=_("Where %(sample)s is kept") % {"sample": sample.identifier},
                max_length=200,
            )

    def clean(self):
        data = super().clean()
        unit = data.get("unit") or "mg"
        data["lines"] = [
            {
                "sample": sample.pk,
                "mass_ug": micrograms(self, f"mass_{sample.pk}", unit),
                "place": data.get(f"place_{sample.pk}", ""),
            }
            for sample in self.held
        ]
        return data

    def field_of(self, problem_field: str | None) -> str | None:
        """`lines.2.mass_ug` names the third line; the form calls it `mass_<sample id>`."""
        parts = (problem_field or "").split(".")
        if parts[0] != "lines" or len(parts) < 2 or not parts[1].isdigit():
            return None
        n = int(parts[1])
        if n >= len(self.held):
            return None
        kind = "place" if parts[-1] == "place" else "mass"
        return f"{kind}_{self.held[n].pk}"


class PublicationForm(forms.Form):
    doi = forms.CharField(label=_("DOI"), max_length=_length(Publication, "doi"))
    title = forms.CharField(label=_("Title"), max_length=_length(Publication, "title"))
    journal = forms.CharField(
        label=_("Journal"), required=False, max_length=_length(Publication, "journal")
    )
    year = forms.IntegerField(label=_("Year"), min_value=1969, max_value=LATEST_YEAR)
    authors = forms.CharField(
        label=_("Authors"), widget=TEXTAREA, max_length=20000, help_text=_("one per line")
    )
    samples = forms.MultipleChoiceField(
        label=_("Samples used"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, samples=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["samples"].choices = [(s.identifier, s.identifier) for s in samples]

    def clean(self):
        data = super().clean()
        names = [line.strip() for line in (data.get("authors") or "").splitlines() if line.strip()]
        longest = _length(Authorship, "name")
        if any(len(name) > longest for name in names):
            self.add_error(
                "authors",
                gettext("An author's name is at most %(n)s characters.") % {"n": longest},
            )
        data["author_names"] = names
        return data


class DataDepositForm(forms.Form):
    reference = forms.CharField(label=_("DOI or URL"), max_length=_length(DataDeposit, "reference"))
    embargo_until = forms.DateField(label=_("Embargo until"), required=False, widget=DATE_INPUT)


class WaiverForm(forms.Form):
    obligation = forms.ChoiceField(label=_("Obligation"), choices=Waiver.Obligation.choices)
    reason = forms.CharField(label=_("Reason"), widget=TEXTAREA)


# --- incidents and stock checks ---------------------------------------------------------------


RESOLUTION_LABELS = {
    "accept": _("Accept the records as they are"),
    "reweigh": _("Re-weigh: record the true mass"),
    "lost": _("Mark the sample lost"),
    "found": _("Found: put the sample back in a location"),
}


class IncidentResolveForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"),
        choices=[(name, RESOLUTION_LABELS[name]) for name in RESOLUTIONS],
        initial="accept",
    )
    resolution = forms.CharField(label=_("Resolution"), widget=TEXTAREA)
    measured = forms.CharField(
        label=_("Measured mass"), required=False, max_length=40, help_text=_("for a re-weighing")
    )
    unit = UnitField()
    location_code = forms.CharField(
        label=_("Location"), required=False, max_length=64, help_text=_("where it was found")
    )

    def clean(self):
        data = super().clean()
        data["measured_ug"] = micrograms(self, "measured", data.get("unit") or "mg", required=False)
        return data


class StockCheckStartForm(forms.Form):
    location_code = forms.CharField(
        label=_("Storage location"), max_length=64, help_text=_("its code; sub-locations included")
    )


class StockLineForm(forms.Form):
    FOUND = [("yes", _("Found")), ("no", _("Not found"))]

    found = forms.ChoiceField(label=_("Found?"), choices=FOUND, widget=forms.RadioSelect)
    measured = forms.CharField(label=_("Measured mass"), required=False, max_length=40)
    unit = UnitField()
    note = forms.CharField(label=_("Note"), required=False, max_length=2000)

    def clean(self):
        data = super().clean()
        data["found_bool"] = data.get("found") == "yes"
        data["measured_ug"] = micrograms(self, "measured", data.get("unit") or "mg", required=False)
        return data


# --- exhibitions ------------------------------------------------------------------------------


class ExhibitionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=_length(Exhibition, "title"))
    organiser = forms.CharField(label=_("Organiser"), max_length=_length(Exhibition, "organiser"))
    starts_on = forms.DateField(label=_("Opens"), widget=DATE_INPUT)
    ends_on = forms.DateField(label=_("Closes"), widget=DATE_INPUT)
    responsible_official = forms.CharField(
        label=_("Responsible official"), max_length=_length(Exhibition, "responsible_official")
    )
    deputy_official = forms.CharField(
        label=_("Deputy"), max_length=_length(Exhibition, "deputy_official")
    )
    continuous_watch = forms.BooleanField(label=_("Continuous watch"), required=False, initial=True)
    locked_case = forms.BooleanField(label=_("Locked, sealed case"), required=False, initial=True)
    transfer_log = forms.BooleanField(label=_("Transfer log kept"), required=False, initial=True)
    insurance_value = forms.DecimalField(
        label=_("Insurance value"), max_digits=14, decimal_places=2
    )
    insurance_currency = forms.CharField(
        label=_("Currency"), max_length=_length(Exhibition, "insurance_currency"), initial="CNY"
    )
    sample_identifiers = forms.CharField(
        label=_("Display samples"),
        widget=TEXTAREA,
        max_length=20000,
        help_text=_("identifiers from the public-benefit pool, one per line"),
    )
    stops = forms.CharField(
        label=_("Venues"),
        widget=TEXTAREA,
        max_length=20000,
        help_text=_(
            "one stop per line: venue; city; two-letter country; arrival date; departure date "
            "(dates as YYYY-MM-DD)"
        ),
    )

    def clean(self):
        data = super().clean()
        data["identifiers"] = [
            line.strip()
            for line in (data.get("sample_identifiers") or "").splitlines()
            if line.strip()
        ]
        data["stop_list"] = self._stops(data.get("stops") or "")
        return data

    def _stops(self, text: str) -> list[dict]:
        stops = []
        lengths = {
            "venue": _length(ItineraryStop, "venue"),
            "city": _length(ItineraryStop, "city"),
        }
        lines = [line for line in text.splitlines() if line.strip()]
        for n, line in enumerate(lines):
            parts = [p.strip() for p in line.split(";")]
            stop = None
            if len(parts) == 5:
                try:
                    arrive, depart = date.fromisoformat(parts[3]), date.fromisoformat(parts[4])
                except ValueError:
                    pass
                else:
                    stop = dict(zip(("venue", "city", "country"), parts[:3], strict=True))
                    stop.update(arrive_on=arrive, depart_on=depart)
            if stop is None or any(len(stop[k]) > m for k, m in lengths.items()):
                self.add_error(
                    "stops",
                    gettext(
                        "Line %(n)s: venue; city; country; arrival and departure as YYYY-MM-DD."
                    )
                    % {"n": n + 1},
                )
                continue
            stops.append(stop)
        return stops


class ExhibitionDispatchForm(forms.Form):
    container_code = forms.CharField(
        label=_("Container"), max_length=_length(Shipment, "container_code")
    )
    seal_number = forms.CharField(
        label=_("Seal number"), max_length=_length(Shipment, "seal_number")
    )
    courier = forms.CharField(label=_("Courier"), max_length=_length(Shipment, "courier"))
    location_code = forms.CharField(
        label=_("Packing location"), max_length=64, help_text=_("storage location code")
    )


class HandoverForm(forms.Form):
    at = forms.DateTimeField(
        label=_("When"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )
    place = forms.CharField(label=_("Where"), max_length=_length(Handover, "place"))
    from_party = forms.CharField(
        label=_("Handed over by"), max_length=_length(Handover, "from_party")
    )
    to_party = forms.CharField(label=_("Received by"), max_length=_length(Handover, "to_party"))
    seal_number = forms.CharField(
        label=_("Seal number"), max_length=_length(Handover, "seal_number")
    )
    seal_intact = forms.BooleanField(label=_("Seal intact"), required=False, initial=True)
    notes = forms.CharField(label=_("Notes"), required=False, widget=TEXTAREA)


class LocationForm(forms.Form):
    location_code = forms.CharField(
        label=_("Returned-material location"), max_length=64, help_text=_("storage location code")
    )


class LoanFilter(ListFilter):
    status = forms.ChoiceField(label=_("Status"), choices=with_all(Loan.Status.choices))
    search_label = _("Loan number or proposal contains")


class IncidentFilter(ListFilter):
    status = forms.ChoiceField(label=_("Status"), choices=with_all(Incident.Status.choices))
    kind = forms.ChoiceField(label=_("Kind"), choices=with_all(Incident.Kind.choices))
    search_label = _("Sample or loan contains")


class StockCheckFilter(ListFilter):
    status = forms.ChoiceField(label=_("Status"), choices=with_all(StockCheck.Status.choices))
    search_label = _("Location contains")


class ExhibitionFilter(ListFilter):
    status = forms.ChoiceField(label=_("Status"), choices=with_all(Exhibition.Status.choices))
    search_label = _("Title or organiser contains")
