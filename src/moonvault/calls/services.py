"""Calls, proposals, screening and decisions. Every action checks who may do it and records why."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from moonvault.accounts.models import Role
from moonvault.accounts.permissions import require_role
from moonvault.audit.models import AuditEntry
from moonvault.audit.services import audit_record
from moonvault.calls.models import (
    DECIDED_STATUSES,
    EDITABLE_STATUSES,
    Attachment,
    Call,
    CallStatus,
    CallTransition,
    Decision,
    DecisionItem,
    Method,
    PriorPublication,
    Proposal,
    ProposalAction,
    ProposalStatus,
    ProposalVersion,
    RequestedItem,
    Screening,
    TeamMember,
)
from moonvault.catalog.models import DIVISIBLE_FORMS, Form, Mission, Pool, Sample
from moonvault.core.errors import Conflict, DomainError, FieldProblem, NotFound
from moonvault.core.identifiers import normalize_doi
from moonvault.core.notify import notify
from moonvault.core.units import check_count, check_mass
from moonvault.core.uploads import pdf_check
from moonvault.review.selectors import reviews_missing
from moonvault.review.services import ranking_compute, refuse_own_proposal

# status → the statuses a call may move to next, with the action's name.
CALL_FLOW = {
    CallStatus.DRAFT: {CallStatus.OPEN: "open"},
    CallStatus.OPEN: {CallStatus.CLOSED: "close"},
    CallStatus.CLOSED: {CallStatus.SCREENING: "start screening"},
    CallStatus.SCREENING: {CallStatus.REVIEW: "start review"},
    CallStatus.REVIEW: {CallStatus.RANKING: "start ranking"},
    CallStatus.RANKING: {CallStatus.DECIDED: "publish decisions"},
    CallStatus.DECIDED: {CallStatus.CLOSED_OUT: "close out"},
    CallStatus.CLOSED_OUT: {},
}
CALL_TEXT_FIELDS = ("title", "title_zh", "description")
PROPOSAL_TEXT_FIELDS = (
    "title",
    "abstract",
    "science_case",
    "keywords",
    "prior_results",
    "data_sharing_plan",
)
ATTACHMENT_MAX_BYTES = 10 * 1024 * 1024
MAX_UNITS = 1000  # whole units per requested item
RESUBMISSION_STATUSES = frozenset({CallStatus.OPEN, CallStatus.CLOSED, CallStatus.SCREENING})


def _check_lengths(model, **values: str) -> None:
    """Refuse text longer than its column holds, naming the field, before the database would."""
    for name, value in values.items():
        if not isinstance(value, str):
            raise DomainError(_("must be text"), field=name)
        limit = model._meta.get_field(name).max_length
        if limit and len(value) > limit:
            raise DomainError(_("at most %(limit)s characters") % {"limit": limit}, field=name)


def _call_locked(call_id: int) -> Call:
    call = Call.objects.select_for_update().filter(pk=call_id).first()
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    return call


def _check_choices(values: list[str], choices, field: str) -> list[str]:
    unknown = [v for v in values if v not in choices.values]
    if unknown:
        raise DomainError(
            _("unknown %(field)s: %(unknown)s") % {"field": field, "unknown": ", ".join(unknown)},
            field=field,
        )
    return list(dict.fromkeys(values))


@transaction.atomic
def call_create(
    *,
    actor,
    title: str,
    missions: list[str],
    pools: list[str],
    forms: list[str],
    release_budget_ug: int,
    per_proposal_cap_ug: int,
    proposals_due: datetime,
    review_due,
    decision_due,
    intent_due=None,
    description: str = "",
    title_zh: str = "",
    panel=(),
    reviewers_per_proposal: int = 3,
    max_reviewer_load: int = 8,
    same_country_conflict: bool = False,
    coauthor_window_years: int = 3,
    country_share_cap_pct: int | None = None,
    all_or_nothing_default: bool = False,
) -> Call:
    require_role(actor, Role.COMMITTEE)
    if not title.strip():
        raise DomainError(_("a call needs a title"), field="title")
    _check_lengths(Call, title=title.strip(), title_zh=title_zh.strip())
    mission_rows = list(Mission.objects.filter(code__in=missions))
    missing = set(missions) - {m.code for m in mission_rows}
    if missing or not missions:
        raise DomainError(
            _("unknown missions: %(missing)s") % {"missing": ", ".join(sorted(missing))}
            if missing
            else _("offer a mission"),
            field="missions",
        )
    if not pools or not forms:
        raise DomainError(
            _("offer at least one pool and one form"), field="pools" if not pools else "forms"
        )
    check_mass(release_budget_ug, "release_budget_ug")
    check_mass(per_proposal_cap_ug, "per_proposal_cap_ug")
    if per_proposal_cap_ug > release_budget_ug:
        raise DomainError(
            _("the per-proposal cap must be positive and within the budget"),
            field="per_proposal_cap_ug",
        )
    check_count(reviewers_per_proposal, "reviewers_per_proposal", low=1, high=20)
    check_count(max_reviewer_load, "max_reviewer_load", low=1, high=500)
    check_count(coauthor_window_years, "coauthor_window_years", high=50)
    if country_share_cap_pct is not None:
        check_count(country_share_cap_pct, "country_share_cap_pct", low=1, high=100)
    if not proposals_due.date() <= review_due <= decision_due:
        raise DomainError(
            _("dates must run: proposals due, then reviews due, then decision"), field="review_due"
        )
    if intent_due and intent_due > proposals_due.date():
        raise DomainError(_("the notice of intent is due before the proposals"), field="intent_due")
    call = Call.objects.create(
        title=title.strip(),
        title_zh=title_zh.strip(),
        description=description,
        pools=_check_choices(pools, Pool, "pools"),
        forms=_check_choices(forms, Form, "forms"),
        release_budget_ug=release_budget_ug,
        per_proposal_cap_ug=per_proposal_cap_ug,
        intent_due=intent_due,
        proposals_due=proposals_due,
        review_due=review_due,
        decision_due=decision_due,
        chair=actor,
        reviewers_per_proposal=reviewers_per_proposal,
        max_reviewer_load=max_reviewer_load,
        same_country_conflict=same_country_conflict,
        coauthor_window_years=coauthor_window_years,
        country_share_cap_pct=country_share_cap_pct,
        all_or_nothing_default=all_or_nothing_default,
        created_by=actor,
    )
    call.missions.set(mission_rows)
    call.panel.set(panel)
    return call


@transaction.atomic
def call_set_panel(*, actor, call_id: int, reviewers) -> Call:
    require_role(actor, Role.COMMITTEE)
    call = _call_locked(call_id)
    if call.status not in {
        CallStatus.DRAFT,
        CallStatus.OPEN,
        CallStatus.CLOSED,
        CallStatus.SCREENING,
    }:
        raise Conflict(_("the panel is fixed once review has started"), field="panel")
    call.panel.set(reviewers)
    return call


@transaction.atomic
def call_transition(*, actor, call_id: int, to_status: str, reason: str = "") -> Call:
    """Move a call one step along its lifecycle, if its preconditions hold."""
    require_role(actor, Role.COMMITTEE)
    call = _call_locked(call_id)
    allowed = CALL_FLOW[CallStatus(call.status)]
    if to_status not in allowed:
        nexts = ", ".join(str(s.label) for s in allowed) or _("nothing")
        raise Conflict(
            _("a call that is %(status)s can only move to: %(nexts)s")
            % {"status": call.get_status_display().lower(), "nexts": nexts},
            field="status",
        )
    _check_transition_preconditions(call, CallStatus(to_status))
    CallTransition.objects.create(
        call=call,
        from_status=call.status,
        to_status=to_status,
        action=allowed[to_status],
        actor=actor,
        reason=reason,
    )
    call.status = to_status
    call.save(update_fields=["status"])
    if to_status == CallStatus.RANKING:
        ranking_compute(actor=actor, call_id=call.pk)
    if to_status == CallStatus.DECIDED:
        audit_record(
            kind=AuditEntry.Kind.DECISION,
            actor=actor,
            target=f"call {call.pk}",
            summary=f"decisions published: {call.title}",
        )
        _announce_decisions(call)
    return call


def _check_transition_preconditions(call: Call, to: CallStatus) -> None:
    proposals = call.proposals.exclude(status=ProposalStatus.WITHDRAWN)
    if to == CallStatus.OPEN and call.proposals_due <= timezone.now():
        raise Conflict(
            _("the proposal deadline has passed; extend it first"), field="proposals_due"
        )
    if to == CallStatus.REVIEW:
        unscreened = proposals.filter(status=ProposalStatus.SUBMITTED).count()
        if unscreened:
            raise Conflict(
                _("%(unscreened)s submitted proposal(s) still await a screening decision")
                % {"unscreened": unscreened},
                field="status",
            )
        if not call.panel.exists():
            raise Conflict(_("the call has no review panel"), field="panel")
    if to == CallStatus.RANKING:
        missing = reviews_missing(call=call)
        if missing:
            raise Conflict(
                _("%(count)s assigned review(s) are not submitted yet") % {"count": len(missing)},
                field="status",
            )
        # Without a review a proposal would never be ranked, and so never decided.
        unassigned = proposals.filter(
            status=ProposalStatus.UNDER_REVIEW, assignments__isnull=True
        ).count()
        if unassigned:
            raise Conflict(
                _("%(unassigned)s proposal(s) under review have no reviewer")
                % {"unassigned": unassigned},
                field="status",
            )
    if to == CallStatus.DECIDED:
        undecided = proposals.filter(status=ProposalStatus.RANKED).count()
        if undecided:
            raise Conflict(
                _("%(undecided)s ranked proposal(s) have no decision yet")
                % {"undecided": undecided},
                field="status",
            )


@transaction.atomic
def call_extend_deadline(*, actor, call_id: int, proposals_due: datetime, reason: str) -> Call:
    require_role(actor, Role.COMMITTEE)
    call = _call_locked(call_id)
    if call.status not in {CallStatus.DRAFT, CallStatus.OPEN, CallStatus.CLOSED}:
        raise Conflict(_("the deadline can no longer change"), field="proposals_due")
    if not reason.strip():
        raise DomainError(_("an extension needs a reason"), field="reason")
    if proposals_due <= call.proposals_due:
        raise DomainError(
            _("the new deadline must be later than the current one"), field="proposals_due"
        )
    if proposals_due <= timezone.now():
        # Reopening on a past deadline would open a call that nobody can submit to.
        raise DomainError(_("the new deadline has already passed"), field="proposals_due")
    if proposals_due.date() > call.review_due:
        raise DomainError(
            _("the new deadline falls after the review deadline"), field="proposals_due"
        )
    previous = call.proposals_due
    call.proposals_due = proposals_due
    reopen = call.status == CallStatus.CLOSED
    CallTransition.objects.create(
        call=call,
        from_status=call.status,
        to_status=CallStatus.OPEN if reopen else call.status,
        action="extend deadline",
        actor=actor,
        reason=f"{reason.strip()} (was {previous.isoformat()}, now {proposals_due.isoformat()})",
    )
    if reopen:
        call.status = CallStatus.OPEN
    call.save(update_fields=["proposals_due", "status"])
    return call


# --- proposals --------------------------------------------------------------------------------


def _proposal_for_pi(actor, proposal_id: int, *, editable: bool = True) -> Proposal:
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("call")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None or proposal.pi_id != getattr(actor, "pk", None):
        # Someone else's proposal is reported as absent, so its existence does not leak.
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    if editable and proposal.status not in EDITABLE_STATUSES:
        raise Conflict(
            _("the proposal is %(status)s and can no longer be edited")
            % {"status": proposal.get_status_display().lower()},
            field="proposal",
        )
    return proposal


def _record(proposal: Proposal, action: str, actor, reason: str = "") -> None:
    ProposalAction.objects.create(proposal=proposal, action=action, actor=actor, reason=reason)


@transaction.atomic
def proposal_create(*, actor, call_id: int, title: str = "") -> Proposal:
    require_role(actor, Role.APPLICANT)
    call = Call.objects.filter(pk=call_id).first()
    if call is None:
        raise NotFound(_("call %(call_id)s does not exist") % {"call_id": call_id}, field="call")
    if call.status != CallStatus.OPEN:
        raise Conflict(_("the call is not open for proposals"), field="call")
    proposal = Proposal.objects.create(
        call=call, pi=actor, title=title.strip(), all_or_nothing=call.all_or_nothing_default
    )
    _record(proposal, "created", actor)
    return proposal


@transaction.atomic
def proposal_update(
    *, actor, proposal_id: int, all_or_nothing: bool | None = None, **fields
) -> Proposal:
    proposal = _proposal_for_pi(actor, proposal_id)
    unknown = set(fields) - set(PROPOSAL_TEXT_FIELDS)
    if unknown:
        raise DomainError(
            _("unknown field %(unknown)s") % {"unknown": sorted(unknown)[0]},
            field=sorted(unknown)[0],
        )
    _check_lengths(Proposal, **fields)
    for name, value in fields.items():
        setattr(proposal, name, value)
    if all_or_nothing is not None:
        proposal.all_or_nothing = all_or_nothing
    proposal.save()
    return proposal


@transaction.atomic
def team_member_add(
    *,
    actor,
    proposal_id: int,
    name: str,
    country: str,
    email: str = "",
    user=None,
    institution=None,
    institution_name: str = "",
) -> TeamMember:
    proposal = _proposal_for_pi(actor, proposal_id)
    if user is not None:
        person = getattr(user, "person", None)
        name = name or user.get_full_name() or user.get_username()
        email = email or user.email
        institution = institution or (person.institution if person else None)
    if not name.strip():
        raise DomainError(_("a team member needs a name"), field="name")
    if institution is not None:
        country = country or institution.country
        institution_name = institution_name or institution.name
    country = country.strip().upper()
    if len(country) != 2 or not country.isalpha():
        raise DomainError(_("country must be a two-letter ISO 3166 code"), field="country")
    if not institution_name.strip():
        raise DomainError(_("name the team member's institution"), field="institution_name")
    _check_lengths(
        TeamMember,
        name=name.strip(),
        email=email.strip(),
        institution_name=institution_name.strip(),
    )
    return TeamMember.objects.create(
        proposal=proposal,
        user=user,
        name=name.strip(),
        email=email.strip(),
        institution=institution,
        institution_name=institution_name.strip(),
        country=country,
    )


@transaction.atomic
def method_add(
    *, actor, proposal_id: int, technique: str, destructive: bool, mass_ug: int
) -> Method:
    proposal = _proposal_for_pi(actor, proposal_id)
    if not technique.strip():
        raise DomainError(_("name the technique"), field="technique")
    if len(technique.strip()) > Method._meta.get_field("technique").max_length:
        raise DomainError(_("at most 200 characters"), field="technique")
    check_mass(mass_ug, "mass_ug", allow_zero=True)
    if destructive and mass_ug == 0:
        raise DomainError(_("a destructive technique consumes some mass"), field="mass_ug")
    return Method.objects.create(
        proposal=proposal, technique=technique.strip(), destructive=destructive, mass_ug=mass_ug
    )


@transaction.atomic
def item_add(
    *,
    actor,
    proposal_id: int,
    mission: str = "",
    pool: str = "",
    form: str = "",
    sample_identifier: str = "",
    requested_mass_ug: int = 0,
    minimum_mass_ug: int = 0,
    units: int = 0,
    justification: str = "",
) -> RequestedItem:
    proposal = _proposal_for_pi(actor, proposal_id)
    sample = None
    if sample_identifier:
        sample = (
            Sample.objects.select_related("mission").filter(identifier=sample_identifier).first()
        )
        if sample is None:
            raise NotFound(
                _("sample %(sample_identifier)s does not exist")
                % {"sample_identifier": repr(sample_identifier)},
                field="sample_identifier",
            )
        mission_row, pool, form = sample.mission, sample.pool, sample.form
    else:
        mission_row = Mission.objects.filter(code=mission).first()
        if mission_row is None:
            raise NotFound(
                _("mission %(mission)s does not exist") % {"mission": repr(mission)},
                field="mission",
            )
        if pool not in Pool.values:
            raise DomainError(
                _("%(pool)s is not a purpose pool") % {"pool": repr(pool)}, field="pool"
            )
        if form not in Form.values:
            raise DomainError(
                _("%(form)s is not a sample form") % {"form": repr(form)}, field="form"
            )
    call = proposal.call
    if not call.missions.filter(pk=mission_row.pk).exists():
        raise DomainError(
            _("the call does not offer %(name)s") % {"name": mission_row.name}, field="mission"
        )
    if pool not in call.pools:
        raise DomainError(_("the call does not offer that purpose pool"), field="pool")
    if form not in call.forms:
        raise DomainError(_("the call does not offer that sample form"), field="form")
    check_mass(requested_mass_ug, "requested_mass_ug", allow_zero=True)
    check_mass(minimum_mass_ug, "minimum_mass_ug", allow_zero=True)
    check_count(units, "units", high=MAX_UNITS)
    if form in DIVISIBLE_FORMS:
        if requested_mass_ug <= 0:
            raise DomainError(_("request a mass greater than zero"), field="requested_mass_ug")
        if not 0 < minimum_mass_ug <= requested_mass_ug:
            raise DomainError(
                _("the minimum useful mass is above zero and at most the requested mass"),
                field="minimum_mass_ug",
            )
        if requested_mass_ug > call.per_proposal_cap_ug:
            raise DomainError(
                _("the request exceeds the call's per-proposal cap"), field="requested_mass_ug"
            )
        if units:
            raise DomainError(_("divisible forms are requested by mass, not units"), field="units")
    else:
        if units < 1:
            raise DomainError(
                _("whole-unit forms are requested as a number of units"), field="units"
            )
        for name, value in (
            ("requested_mass_ug", requested_mass_ug),
            ("minimum_mass_ug", minimum_mass_ug),
        ):
            if value:
                raise DomainError(
                    _("whole-unit forms are requested by units, not mass"), field=name
                )
        if sample is not None and units != 1:
            raise DomainError(_("a named sample is one unit"), field="units")
        requested_mass_ug = minimum_mass_ug = sample.mass_ug if sample else 0
    return RequestedItem.objects.create(
        proposal=proposal,
        mission=mission_row,
        pool=pool,
        form=form,
        sample=sample,
        requested_mass_ug=requested_mass_ug,
        minimum_mass_ug=minimum_mass_ug,
        units=units,
        justification=justification,
    )


@transaction.atomic
def doi_add(*, actor, proposal_id: int, doi: str) -> PriorPublication:
    proposal = _proposal_for_pi(actor, proposal_id)
    return PriorPublication.objects.create(proposal=proposal, doi=normalize_doi(doi))


@transaction.atomic
def attachment_add(*, actor, proposal_id: int, uploaded) -> Attachment:
    """PDF only, judged by content, not by name; size-limited."""
    proposal = _proposal_for_pi(actor, proposal_id)
    pdf_check(uploaded, field="file", max_bytes=ATTACHMENT_MAX_BYTES)
    name = uploaded.name.rsplit("/", 1)[-1][:200]
    return Attachment.objects.create(
        proposal=proposal, file=uploaded, name=name, size=uploaded.size
    )


PART_MODELS = {
    "team": TeamMember,
    "method": Method,
    "item": RequestedItem,
    "doi": PriorPublication,
    "attachment": Attachment,
}


@transaction.atomic
def proposal_part_remove(*, actor, proposal_id: int, part: str, part_id: int) -> None:
    proposal = _proposal_for_pi(actor, proposal_id)
    model = PART_MODELS.get(part)
    if model is None:
        raise DomainError(_("unknown part %(part)s") % {"part": repr(part)}, field="part")
    deleted, _count = model.objects.filter(proposal=proposal, pk=part_id).delete()
    if not deleted:
        raise NotFound(
            _("%(part)s %(part_id)s is not part of this proposal")
            % {"part": part, "part_id": part_id},
            field="part_id",
        )


def proposal_problems(proposal: Proposal) -> list[tuple[str, str]]:
    """What stops a proposal from being submitted, as (field, message) pairs."""
    problems = []
    for name in ("title", "abstract", "science_case", "data_sharing_plan"):
        if not getattr(proposal, name).strip():
            label = Proposal._meta.get_field(name).verbose_name
            problems.append((name, _("%(label)s is required") % {"label": label}))
    if not proposal.methods.exists():
        problems.append(("methods", _("describe at least one method")))
    if not proposal.items.exists():
        problems.append(("items", _("request at least one sample item")))
    destructive = sum(m.mass_ug for m in proposal.methods.all() if m.destructive)
    requested = sum(i.requested_mass_ug for i in proposal.items.all())
    if destructive > requested:
        problems.append(("methods", _("destructive methods need more mass than is requested")))
    return problems


def _snapshot(proposal: Proposal) -> dict:
    return {
        **{name: getattr(proposal, name) for name in PROPOSAL_TEXT_FIELDS},
        "all_or_nothing": proposal.all_or_nothing,
        "team": list(
            proposal.team.values("name", "email", "institution_name", "country", "user_id")
        ),
        "methods": list(proposal.methods.values("technique", "destructive", "mass_ug")),
        "items": list(
            proposal.items.values(
                "id",
                "mission__code",
                "pool",
                "form",
                "sample__identifier",
                "requested_mass_ug",
                "minimum_mass_ug",
                "units",
                "justification",
            )
        ),
        "dois": list(proposal.prior_dois.values_list("doi", flat=True)),
        "attachments": list(proposal.attachments.values("name", "size")),
    }


@transaction.atomic
def proposal_submit(*, actor, proposal_id: int) -> Proposal:
    proposal = _proposal_for_pi(actor, proposal_id)
    call = Call.objects.select_for_update().get(pk=proposal.call_id)
    now = timezone.now()
    # A proposal the committee returned for changes may come back after the deadline, until
    # review starts; anything else must meet the deadline.
    returned = proposal.status == ProposalStatus.RETURNED and call.status in RESUBMISSION_STATUSES
    if not returned and (call.status != CallStatus.OPEN or now >= call.proposals_due):
        raise Conflict(_("the call's deadline has passed; submissions are closed"), field="call")
    problems = proposal_problems(proposal)
    if problems:
        raise DomainError(
            _("the proposal is incomplete"),
            problems=[FieldProblem(f, m) for f, m in problems],
        )
    number = proposal.versions.count() + 1
    ProposalVersion.objects.create(
        proposal=proposal, number=number, content=_snapshot(proposal), submitted_at=now
    )
    proposal.status = ProposalStatus.SUBMITTED
    proposal.submitted_at = now
    proposal.save(update_fields=["status", "submitted_at", "updated_at"])
    _record(proposal, "submitted", actor, f"version {number}")
    notify(
        [actor],
        f"Proposal received: {proposal.title}",
        f"Your proposal to {call.title} was submitted (version {number}).",
    )
    return proposal


@transaction.atomic
def proposal_withdraw(*, actor, proposal_id: int, reason: str = "") -> Proposal:
    proposal = _proposal_for_pi(actor, proposal_id, editable=False)
    if proposal.status in DECIDED_STATUSES or proposal.status == ProposalStatus.WITHDRAWN:
        raise Conflict(_("a decided or withdrawn proposal cannot be withdrawn"), field="proposal")
    proposal.status = ProposalStatus.WITHDRAWN
    proposal.save(update_fields=["status", "updated_at"])
    _record(proposal, "withdrawn", actor, reason)
    return proposal


def _proposal_for_committee(actor, proposal_id: int) -> Proposal:
    require_role(actor, Role.COMMITTEE)
    proposal = (
        Proposal.objects.select_for_update(of=("self",))
        .select_related("call", "pi")
        .filter(pk=proposal_id)
        .first()
    )
    if proposal is None:
        raise NotFound(
            _("proposal %(proposal_id)s does not exist") % {"proposal_id": proposal_id},
            field="proposal",
        )
    refuse_own_proposal(actor, Proposal.objects.filter(pk=proposal.pk))
    return proposal


@transaction.atomic
def proposal_return(*, actor, proposal_id: int, reason: str) -> Proposal:
    """The committee sends a submitted proposal back to its PI for changes."""
    proposal = _proposal_for_committee(actor, proposal_id)
    if proposal.status != ProposalStatus.SUBMITTED:
        raise Conflict(_("only a submitted, unscreened proposal can be returned"), field="proposal")
    if not reason.strip():
        raise DomainError(_("say what must change"), field="reason")
    proposal.status = ProposalStatus.RETURNED
    proposal.save(update_fields=["status", "updated_at"])
    _record(proposal, "returned", actor, reason)
    notify(
        [proposal.pi],
        f"Proposal returned for changes: {proposal.title}",
        f"The committee returned your proposal for changes:\n\n{reason}",
    )
    return proposal


# --- screening ---------------------------------------------------------------------------------


def eligibility_checks(proposal: Proposal) -> list[dict]:
    """The automatic rules, each with whether it passed and why."""
    call = proposal.call
    offered_missions = set(call.missions.values_list("code", flat=True))
    checks = []

    def check(rule: str, passed: bool, message: str) -> None:
        checks.append({"rule": rule, "passed": passed, "message": message})

    items = list(proposal.items.select_related("mission"))
    off = [
        i
        for i in items
        if i.mission.code not in offered_missions
        or i.pool not in call.pools
        or i.form not in call.forms
    ]
    check(
        "offered",
        not off,
        "every requested item is offered by the call"
        if not off
        else f"{len(off)} item(s) ask for a mission, pool or form the call does not offer",
    )
    total = sum(i.requested_mass_ug for i in items)
    check(
        "mass_cap",
        total <= call.per_proposal_cap_ug,
        f"requested {total} µg of at most {call.per_proposal_cap_ug} µg",
    )
    person = getattr(proposal.pi, "person", None)
    overdue = person.obligations_overdue_since if person else None
    check(
        "obligations",
        overdue is None,
        "the PI has no overdue loan report or return"
        if overdue is None
        else f"the PI has overdue loan obligations since {overdue.isoformat()}",
    )
    problems = proposal_problems(proposal)
    check(
        "complete",
        not problems,
        "all required fields are complete" if not problems else "; ".join(m for _, m in problems),
    )
    return checks


@transaction.atomic
def call_screen(*, actor, call_id: int) -> list[Screening]:
    """Run the automatic checks on every submitted proposal of a call in screening."""
    require_role(actor, Role.COMMITTEE)
    call = _call_locked(call_id)
    if call.status != CallStatus.SCREENING:
        raise Conflict(_("the call is not in eligibility screening"), field="status")
    results = []
    for proposal in call.proposals.filter(status=ProposalStatus.SUBMITTED).select_related(
        "pi__person"
    ):
        checks = eligibility_checks(proposal)
        screening, _created = Screening.objects.update_or_create(
            proposal=proposal,
            defaults={"checks": checks, "automatic_eligible": all(c["passed"] for c in checks)},
        )
        results.append(screening)
    return results


@transaction.atomic
def proposal_screen_decide(
    *, actor, proposal_id: int, eligible: bool, reason: str = ""
) -> Screening:
    """A committee member confirms or overrides the automatic result; an override needs a reason."""
    proposal = _proposal_for_committee(actor, proposal_id)
    if proposal.call.status != CallStatus.SCREENING or proposal.status != ProposalStatus.SUBMITTED:
        raise Conflict(_("this proposal is not awaiting screening"), field="proposal")
    screening = Screening.objects.filter(proposal=proposal).first()
    if screening is None:
        raise Conflict(_("run the automatic checks first"), field="proposal")
    if eligible != screening.automatic_eligible and not reason.strip():
        raise DomainError(_("overriding the automatic result needs a reason"), field="reason")
    screening.eligible = eligible
    screening.decided_by = actor
    screening.decided_at = timezone.now()
    screening.reason = reason
    screening.save()
    proposal.status = ProposalStatus.UNDER_REVIEW if eligible else ProposalStatus.INELIGIBLE
    proposal.save(update_fields=["status", "updated_at"])
    _record(proposal, "eligible" if eligible else "ineligible", actor, reason)
    failed = [c["message"] for c in screening.checks if not c["passed"]]
    notify(
        [proposal.pi],
        f"Eligibility: {proposal.title}",
        "Your proposal passed eligibility screening and goes to review."
        if eligible
        else "Your proposal was found ineligible: " + "; ".join([*failed, reason]).strip("; "),
    )
    return screening


# --- decisions ---------------------------------------------------------------------------------


@transaction.atomic
def proposal_decide(
    *, actor, proposal_id: int, approved: dict[int, int], reasons: dict[int, str], comment: str = ""
) -> Decision:
    """Record the committee's decision: approved mass (or units) per requested item.

    The outcome follows from the masses: everything in full is approved, nothing is declined,
    anything between is partly approved. Every cut item needs a reason the applicant will read.
    """
    proposal = _proposal_for_committee(actor, proposal_id)
    decidable = DECIDED_STATUSES | {ProposalStatus.RANKED}
    if proposal.call.status != CallStatus.RANKING or proposal.status not in decidable:
        raise Conflict(
            _("decisions are taken on ranked proposals of a call in ranking"), field="proposal"
        )
    items = list(proposal.items.all())
    unknown = set(approved) - {i.pk for i in items}
    if unknown:
        raise DomainError(
            _("item %(unknown)s is not part of this proposal") % {"unknown": sorted(unknown)[0]},
            field="approved",
        )
    rows, full, none = [], True, True
    for item in items:
        amount = approved.get(item.pk, 0)
        whole = item.form not in DIVISIBLE_FORMS
        ceiling = item.units if whole else item.requested_mass_ug
        field = f"approved.{item.pk}"
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 <= amount <= ceiling:
            raise DomainError(
                _("approve between 0 and %(ceiling)s") % {"ceiling": ceiling}, field=field
            )
        if not whole and 0 < amount < item.minimum_mass_ug:
            raise DomainError(_("below the item's minimum useful mass"), field=field)
        cut = amount < ceiling
        if cut and not reasons.get(item.pk, "").strip():
            raise DomainError(
                _("a cut or declined item needs a reason"), field=f"reasons.{item.pk}"
            )
        full &= not cut
        none &= amount == 0
        rows.append((item, amount, whole, reasons.get(item.pk, "").strip()))
    if proposal.all_or_nothing and not full and not none:
        raise DomainError(
            _("an all-or-nothing proposal is approved whole or declined"), field="approved"
        )
    outcome = (
        ProposalStatus.APPROVED
        if full
        else ProposalStatus.DECLINED
        if none
        else ProposalStatus.PARTIALLY_APPROVED
    )
    Decision.objects.filter(proposal=proposal).delete()
    decision = Decision.objects.create(
        proposal=proposal, outcome=outcome, comment=comment, decided_by=actor
    )
    DecisionItem.objects.bulk_create(
        DecisionItem(
            decision=decision,
            item=item,
            approved_mass_ug=0 if whole else amount,
            approved_units=amount if whole else 0,
            reason=reason,
        )
        for item, amount, whole, reason in rows
    )
    proposal.status = outcome
    proposal.save(update_fields=["status", "updated_at"])
    _record(proposal, str(outcome), actor, comment)
    audit_record(
        kind=AuditEntry.Kind.DECISION,
        actor=actor,
        target=f"proposal {proposal.pk}",
        summary=f"proposal decided: {outcome}",
    )
    return decision


def _announce_decisions(call: Call) -> None:
    """Applicants hear of decisions when the committee publishes them, all at once."""
    for proposal in call.proposals.filter(status__in=DECIDED_STATUSES).select_related("pi"):
        notify(
            [proposal.pi],
            f"Decision: {proposal.title}",
            f"The committee's decision on your proposal: {proposal.get_status_display()}. "
            "The approved masses, the reasons for any cut and the reviewers' comments are on "
            "your proposal page.",
        )
