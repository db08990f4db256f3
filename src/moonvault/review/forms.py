"""Forms for declarations, reviews, assignments and the ranking. They parse; services judge."""

from django import forms
from django.utils.translation import gettext_lazy as _

from moonvault.review.selectors import REVIEW_DUE, REVIEW_SUBMITTED
from moonvault.web.listing import ListFilter, with_all

SCORES = [(n, str(n)) for n in range(1, 6)]
SHORT_TEXTAREA = forms.Textarea(attrs={"rows": 2})


class DeclarationForm(forms.Form):
    conflicted = forms.TypedChoiceField(
        label=_("Conflict of interest"),
        choices=[("no", _("I have no conflict of interest")), ("yes", _("I have a conflict"))],
        coerce=lambda value: value == "yes",
        widget=forms.RadioSelect,
    )
    reason = forms.CharField(
        label=_("Reason"),
        required=False,
        widget=SHORT_TEXTAREA,
        help_text=_("what the conflict is; required when you declare one"),
    )


def _score(label, description):
    return forms.TypedChoiceField(
        label=label, help_text=description, choices=SCORES, coerce=int, widget=forms.RadioSelect
    )


class ReviewForm(forms.Form):
    merit = _score(
        _("Scientific merit"),
        _("1 poor – 5 excellent: the importance and originality of the science case"),
    )
    feasibility = _score(
        _("Feasibility and capability"),
        _(
            "1 poor – 5 excellent: whether the methods can work and the team can handle "
            "the samples safely"
        ),
    )
    justification = _score(
        _("Justification of mass and samples"),
        _("1 poor – 5 excellent: whether the mass and the samples asked for are justified"),
    )
    comments_to_applicant = forms.CharField(
        label=_("Comments to the applicant"), required=False, widget=forms.Textarea
    )
    comments_to_committee = forms.CharField(
        label=_("Confidential comments to the committee"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )


class AssignmentAddForm(forms.Form):
    proposal = forms.IntegerField(widget=forms.HiddenInput)
    reviewer = forms.IntegerField(widget=forms.HiddenInput)


class AssignmentRemoveForm(forms.Form):
    assignment = forms.IntegerField(widget=forms.HiddenInput)


class AssignmentRunForm(forms.Form):
    fairness = forms.BooleanField(
        label=_("Serve the worst-matched proposal first"),
        required=False,
        help_text=_("otherwise the total expertise match is maximized"),
    )


class RankingForm(forms.Form):
    """A position and a reason per ranked proposal; the order follows the positions."""

    def __init__(self, *args, entries, **kwargs):
        super().__init__(*args, **kwargs)
        self.entries = entries
        for entry in entries:
            # The table's headers name these inputs; the labels serve screen readers.
            self.fields[f"rank_{entry.proposal_id}"] = forms.IntegerField(
                label=_("Position"),
                min_value=1,
                initial=entry.final_rank,
                widget=forms.NumberInput(attrs={"aria-label": _("Position")}),
            )
            self.fields[f"reason_{entry.proposal_id}"] = forms.CharField(
                label=_("Reason for the change"),
                required=False,
                initial=entry.reason,
                widget=forms.Textarea(attrs={"rows": 2, "aria-label": _("Reason for the change")}),
            )

    def fields_of(self, entry):
        return self[f"rank_{entry.proposal_id}"], self[f"reason_{entry.proposal_id}"]

    def service_fields(self) -> dict[str, str]:
        return {f"reasons.{e.proposal_id}": f"reason_{e.proposal_id}" for e in self.entries}

    def clean(self):
        data = super().clean()
        ranks = {e.proposal_id: data.get(f"rank_{e.proposal_id}") for e in self.entries}
        if None in ranks.values():
            return data
        if len(set(ranks.values())) != len(ranks):
            raise forms.ValidationError(_("Give every proposal a different position."))
        data["order"] = sorted(ranks, key=ranks.__getitem__)
        data["reasons"] = {pid: data.get(f"reason_{pid}", "") for pid in ranks}
        return data


class AssignmentFilter(ListFilter):
    review = forms.ChoiceField(
        label=_("Review"),
        choices=with_all([(REVIEW_DUE, _("due")), (REVIEW_SUBMITTED, _("submitted"))]),
    )
    search_label = _("Proposal or call contains")
