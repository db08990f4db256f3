"""Curators' forms: each parses the input, calls one service and puts its errors by the fields.

Form fields carry the names the services use in `DomainError.field` (`mass_ug`, `measured_ug`,
`loss_ug`, `children[0].mass_ug`, …), so an error lands next to the control that caused it. Nothing
is changed when a service refuses: services validate and run in one transaction.
"""

import re

from django import forms
from django.utils.translation import gettext_lazy as _

from moonvault.catalog import services
from moonvault.catalog.models import Form, Mission, Pool, Sample, StorageLocation
from moonvault.core.errors import DomainError
from moonvault.core.forms import ModelChoiceField
from moonvault.core.units import parse_mass

MASS_UNITS = [("g", _("g")), ("mg", _("mg")), ("ug", _("µg")), ("kg", _("kg"))]


class MassWidget(forms.MultiWidget):
    def __init__(self, attrs=None):
        widgets = [
            forms.TextInput(attrs={"inputmode": "decimal", "size": 12}),
            forms.Select(choices=MASS_UNITS),
        ]
        super().__init__(widgets, attrs)

    def decompress(self, value):
        return [value, "ug"] if value is not None else [None, "g"]


class MassField(forms.MultiValueField):
    """A decimal amount and a unit, converted exactly to whole micrograms."""

    widget = MassWidget

    def __init__(self, *, required=True, **kwargs):
        # The unit always has a value, so only the amount tells an empty field from a filled one.
        fields = (
            forms.CharField(max_length=40, required=False),
            forms.ChoiceField(choices=MASS_UNITS),
        )
        super().__init__(fields, require_all_fields=False, required=required, **kwargs)

    def has_changed(self, initial, data):
        # A unit chosen without an amount enters nothing, so an empty child row stays skipped.
        if initial is None and (not data or data[0] in self.empty_values):
            return False
        return super().has_changed(initial, data)

    def compress(self, data_list):
        if not data_list or data_list[0] in self.empty_values:
            if self.required:
                raise forms.ValidationError(self.error_messages["required"], code="required")
            return None
        amount, unit = data_list
        try:
            return parse_mass(amount, unit or "g")
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None


def _reason_field(*, required: bool, help_text=None) -> forms.CharField:
    return forms.CharField(
        label=_("Reason"),
        required=required,
        help_text=help_text,
        widget=forms.Textarea(attrs={"rows": 2, "cols": 60}),
    )


class ServiceForm(forms.Form):
    """A form whose `perform(actor=…)` (defined by each subclass) calls one service; `execute`
    turns the service's refusals into field errors."""

    success_message = _("Done.")

    def __init__(self, *args, sample: Sample | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.sample = sample
        self.result = None

    def execute(self, *, actor) -> bool:
        try:
            self.result = self.perform(actor=actor)
        except DomainError as exc:
            for problem in exc.problems:
                self.add_domain_problem(problem.field, problem.message)
            return False
        return True

    def success(self) -> str:
        sample = self.result if isinstance(self.result, Sample) else self.sample
        return self.success_message % {"identifier": sample.identifier}

    def add_domain_problem(self, field: str | None, message: str) -> None:
        self.add_error(field if field in self.fields else None, message)


class SampleReceiveForm(ServiceForm):
    identifier = forms.CharField(
        label=_("Identifier"),
        max_length=services.IDENTIFIER_MAX,
        help_text=_("e.g. CE5C0400YJFM00505, 74001,6040 or A0064"),
    )
    igsn = forms.CharField(label=_("IGSN"), max_length=32, required=False)
    mission = ModelChoiceField(label=_("Mission"), queryset=Mission.objects.all())
    form = forms.ChoiceField(label=_("Form"), choices=Form.choices)
    pool = forms.ChoiceField(label=_("Purpose pool"), choices=Pool.choices)
    mass_ug = MassField(label=_("Mass"))
    location = ModelChoiceField(label=_("Storage location"), queryset=StorageLocation.objects.all())
    pristine = forms.BooleanField(label=_("Pristine"), required=False, initial=True)
    classification = forms.CharField(label=_("Classification"), max_length=40, required=False)
    subtype = forms.CharField(label=_("Subtype"), max_length=60, required=False)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea)
    reason = _reason_field(required=False)

    success_message = _("Sample %(identifier)s received.")

    def perform(self, *, actor):
        data = self.cleaned_data
        new = services.NewSample(
            identifier=data["identifier"],
            mission=data["mission"],
            form=data["form"],
            pool=data["pool"],
            mass_ug=data["mass_ug"],
            location=data["location"],
            pristine=data["pristine"],
            classification=data["classification"],
            subtype=data["subtype"],
            igsn=data["igsn"],
            description=data["description"],
        )
        return services.sample_receive(actor=actor, new=new, reason=data["reason"])


class ChildForm(forms.Form):
    mass_ug = MassField(label=_("Mass"))
    identifier = forms.CharField(
        label=_("Identifier"),
        max_length=services.IDENTIFIER_MAX,
        required=False,
        help_text=_("leave empty for the next number"),
    )
    form = forms.ChoiceField(
        label=_("Form"), choices=[("", _("as the parent")), *Form.choices], required=False
    )


ChildFormSet = forms.formset_factory(ChildForm, extra=2, min_num=1, validate_min=True)

CHILD_FIELD = re.compile(r"^children\[(\d+)\]\.(\w+)$")


class SampleSplitForm(ServiceForm):
    loss_ug = MassField(
        label=_("Handling loss"),
        required=False,
        help_text=_("mass lost in the split, taken from the parent with the children"),
    )
    reason = _reason_field(required=False)

    def __init__(self, data=None, *args, **kwargs):
        super().__init__(data, *args, **kwargs)
        self.children = ChildFormSet(data, prefix="children")

    def is_valid(self) -> bool:
        return all([super().is_valid(), self.children.is_valid()])

    def child_specs(self) -> list[services.ChildSpec]:
        return [
            services.ChildSpec(
                mass_ug=child["mass_ug"],
                identifier=child["identifier"],
                form=child["form"],
            )
            for child in self.children.cleaned_data
            if child
        ]

    def perform(self, *, actor):
        return services.sample_split(
            actor=actor,
            sample_id=self.sample.pk,
            children=self.child_specs(),
            loss_ug=self.cleaned_data["loss_ug"] or 0,
            reason=self.cleaned_data["reason"],
        )

    def success(self) -> str:
        return _("Sample %(identifier)s split into %(children)s.") % {
            "identifier": self.sample.identifier,
            "children": ", ".join(child.identifier for child in self.result),
        }

    def add_domain_problem(self, field: str | None, message: str) -> None:
        # Services count children in the order given, which skips the rows left empty.
        match = CHILD_FIELD.match(field or "")
        if match:
            filled = [f for f in self.children.forms if f.cleaned_data]
            index, name = int(match[1]), match[2]
            if index < len(filled) and name in filled[index].fields:
                filled[index].add_error(name, message)
                return
        if field == "children":
            self.children._non_form_errors.append(message)
            return
        super().add_domain_problem(field, message)


class SampleWeighForm(ServiceForm):
    measured_ug = MassField(label=_("Measured mass"))
    reason = _reason_field(
        required=False, help_text=_("required when the measured mass differs from the record")
    )

    success_message = _("Weighing of %(identifier)s recorded.")

    def perform(self, *, actor):
        return services.sample_weigh(
            actor=actor,
            sample_id=self.sample.pk,
            measured_ug=self.cleaned_data["measured_ug"],
            reason=self.cleaned_data["reason"],
        )


class SampleMoveForm(ServiceForm):
    location = ModelChoiceField(
        label=_("New storage location"), queryset=StorageLocation.objects.all()
    )
    reason = _reason_field(required=False)

    success_message = _("Sample %(identifier)s moved.")

    def perform(self, *, actor):
        return services.sample_move(
            actor=actor,
            sample_id=self.sample.pk,
            location_code=self.cleaned_data["location"].code,
            reason=self.cleaned_data["reason"],
        )


class SampleConsumeForm(ServiceForm):
    technique = forms.CharField(
        label=_("Analytical technique"),
        max_length=100,
        help_text=_("e.g. ICP-MS, laser ablation, noble gas extraction"),
    )
    mass_ug = MassField(label=_("Mass consumed"))
    reason = _reason_field(required=False)

    success_message = _("Consumption of %(identifier)s recorded.")

    def perform(self, *, actor):
        return services.sample_consume(
            actor=actor,
            sample_id=self.sample.pk,
            mass_ug=self.cleaned_data["mass_ug"],
            technique=self.cleaned_data["technique"],
            reason=self.cleaned_data["reason"],
        )


class SampleMarkLostForm(ServiceForm):
    reason = _reason_field(required=True, help_text=_("how and when the sample went missing"))

    success_message = _("Sample %(identifier)s marked as lost.")

    def perform(self, *, actor):
        return services.sample_mark_lost(
            actor=actor, sample_id=self.sample.pk, reason=self.cleaned_data["reason"]
        )


class SampleReassignPoolForm(ServiceForm):
    pool = forms.ChoiceField(label=_("New purpose pool"), choices=Pool.choices)
    reason = _reason_field(required=True)

    success_message = _("Sample %(identifier)s reassigned to another purpose pool.")

    def perform(self, *, actor):
        return services.sample_reassign_pool(
            actor=actor,
            sample_id=self.sample.pk,
            pool=self.cleaned_data["pool"],
            reason=self.cleaned_data["reason"],
        )
