"""Proposals: drafting in steps, refusals that name the field, submission, return and withdrawal."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from moonvault.calls.models import (
    Call,
    CallStatus,
    Proposal,
    ProposalAction,
    ProposalStatus,
    ProposalVersion,
)
from moonvault.calls.services import (
    ATTACHMENT_MAX_BYTES,
    attachment_add,
    call_transition,
    doi_add,
    item_add,
    method_add,
    proposal_create,
    proposal_decide,
    proposal_part_remove,
    proposal_return,
    proposal_submit,
    proposal_update,
    proposal_withdraw,
    team_member_add,
)
from moonvault.catalog.models import Form, Pool
from moonvault.core.errors import Conflict, DomainError, NotFound, PermissionDenied
from tests.calls.conftest import MG, refused
from tests.conftest import GRAM

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\n%%EOF\n"


@pytest.fixture
def named_fragment(receive, mission_ce5):
    return receive(
        "CE5C0400YJFM00505", mission_ce5, 35 * MG, form=Form.ROCK_FRAGMENT, pool=Pool.RESEARCH
    )


def test_an_applicant_drafts_a_proposal_over_several_steps(round_, named_fragment):
    pi, coi = round_.people.pi, round_.people.coi
    proposal = proposal_create(actor=pi, call_id=round_.call.pk, title="  Young mare basalts ")
    assert (proposal.status, proposal.title, proposal.pi) == (
        ProposalStatus.DRAFT,
        "Young mare basalts",
        pi,
    )

    proposal_update(actor=pi, proposal_id=proposal.pk, abstract="Ages and sources.")
    proposal_update(
        actor=pi,
        proposal_id=proposal.pk,
        science_case="Two billion years of volcanism.",
        data_sharing_plan="Open data after a year.",
        prior_results="Apollo 12 basalt ages.",
        all_or_nothing=True,
    )
    registered = team_member_add(actor=pi, proposal_id=proposal.pk, user=coi, name="", country="")
    by_name = team_member_add(
        actor=pi,
        proposal_id=proposal.pk,
        name="Marie Laurent",
        email="m.laurent@univ-lorraine.example",
        institution_name="Université de Lorraine",
        country="fr",
    )
    tem = method_add(
        actor=pi, proposal_id=proposal.pk, technique="SIMS U-Pb", destructive=True, mass_ug=80 * MG
    )
    raman = method_add(
        actor=pi, proposal_id=proposal.pk, technique="Raman", destructive=False, mass_ug=0
    )
    powder = item_add(
        actor=pi,
        proposal_id=proposal.pk,
        mission="CE5",
        pool=Pool.RESEARCH,
        form=Form.POWDER,
        requested_mass_ug=300 * MG,
        minimum_mass_ug=300 * MG,
    )
    sections = item_add(
        actor=pi,
        proposal_id=proposal.pk,
        mission="CE5",
        pool=Pool.RESEARCH,
        form=Form.THIN_SECTION,
        units=2,
        justification="petrography before the isotopes",
    )
    fragment = item_add(
        actor=pi, proposal_id=proposal.pk, sample_identifier="CE5C0400YJFM00505", units=1
    )
    doi = doi_add(actor=pi, proposal_id=proposal.pk, doi="https://doi.org/10.1126/Science.ABL7957")
    attachment = attachment_add(
        actor=pi,
        proposal_id=proposal.pk,
        uploaded=SimpleUploadedFile("letters/support.pdf", PDF, "application/pdf"),
    )

    proposal.refresh_from_db()
    assert (proposal.abstract, proposal.science_case, proposal.all_or_nothing) == (
        "Ages and sources.",
        "Two billion years of volcanism.",
        True,
    )
    assert (registered.user, registered.name, registered.email) == (coi, "Chen Yu", coi.email)
    assert (registered.institution.name, registered.institution_name, registered.country) == (
        "Purple Mountain Observatory",
        "Purple Mountain Observatory",
        "CN",
    )
    assert (by_name.user, by_name.institution, by_name.country) == (None, None, "FR")
    assert (by_name.institution_name, by_name.email) == (
        "Université de Lorraine",
        "m.laurent@univ-lorraine.example",
    )
    assert list(proposal.methods.all()) == [tem, raman]
    assert (powder.requested_mass_ug, powder.minimum_mass_ug, powder.units) == (
        300 * MG,
        300 * MG,
        0,
    )
    assert (sections.form, sections.units, sections.requested_mass_ug) == (Form.THIN_SECTION, 2, 0)
    assert (fragment.sample, fragment.form, fragment.units) == (
        named_fragment,
        Form.ROCK_FRAGMENT,
        1,
    )
    assert (fragment.mission.code, fragment.pool, fragment.requested_mass_ug) == (
        "CE5",
        Pool.RESEARCH,
        35 * MG,
    )
    assert doi.doi == "10.1126/science.abl7957"
    assert (attachment.name, attachment.size) == ("support.pdf", len(PDF))
    assert attachment.file.read() == PDF
    assert list(proposal.team.all()) == [registered, by_name]
    assert list(proposal.items.all()) == [powder, sections, fragment]


def test_a_part_of_the_draft_can_be_removed_but_only_its_own(round_):
    first, second = round_.draft(), round_.draft(round_.people.other)
    item = first.items.get()
    with refused(NotFound, field="part_id"):
        proposal_part_remove(
            actor=round_.people.other, proposal_id=second.pk, part="item", part_id=item.pk
        )
    with refused(DomainError, field="part", message="unknown part 'budget'"):
        proposal_part_remove(
            actor=round_.people.pi, proposal_id=first.pk, part="budget", part_id=item.pk
        )
    proposal_part_remove(actor=round_.people.pi, proposal_id=first.pk, part="item", part_id=item.pk)
    assert not first.items.exists()


def add_item(**values):
    base = {"mission": "CE5", "pool": Pool.RESEARCH, "form": Form.POWDER}
    return lambda actor, pk: item_add(actor=actor, proposal_id=pk, **{**base, **values})


def add_method(**values):
    base = {"technique": "laser ablation ICP-MS", "destructive": True, "mass_ug": MG}
    return lambda actor, pk: method_add(actor=actor, proposal_id=pk, **{**base, **values})


def add_member(**values):
    base = {"name": "Marie Laurent", "country": "FR", "institution_name": "IPGP"}
    return lambda actor, pk: team_member_add(actor=actor, proposal_id=pk, **{**base, **values})


def attach(name, content=b"", *, size=0):
    """Upload `content`, padded to `size` bytes only when the test runs."""
    return lambda actor, pk: attachment_add(
        actor=actor,
        proposal_id=pk,
        uploaded=SimpleUploadedFile(name, content.ljust(size, b"0")),
    )


BAD_INPUT = [
    pytest.param(
        add_item(mission="XX9", requested_mass_ug=MG, minimum_mass_ug=MG),
        NotFound,
        "mission",
        id="unknown mission",
    ),
    pytest.param(
        add_item(mission="A17", requested_mass_ug=MG, minimum_mass_ug=MG),
        DomainError,
        "mission",
        id="mission not offered",
    ),
    pytest.param(
        add_item(pool="attic", requested_mass_ug=MG, minimum_mass_ug=MG),
        DomainError,
        "pool",
        id="unknown pool",
    ),
    pytest.param(
        add_item(pool=Pool.PERMANENT, requested_mass_ug=MG, minimum_mass_ug=MG),
        DomainError,
        "pool",
        id="pool not offered",
    ),
    pytest.param(
        add_item(form="ingot", requested_mass_ug=MG, minimum_mass_ug=MG),
        DomainError,
        "form",
        id="unknown form",
    ),
    pytest.param(
        add_item(form=Form.GLASS_BEAD, units=3), DomainError, "form", id="form not offered"
    ),
    pytest.param(
        add_item(requested_mass_ug=MG, minimum_mass_ug=MG + 1),
        DomainError,
        "minimum_mass_ug",
        id="minimum above request",
    ),
    pytest.param(add_item(requested_mass_ug=MG), DomainError, "minimum_mass_ug", id="no minimum"),
    pytest.param(
        add_item(requested_mass_ug=0, minimum_mass_ug=0),
        DomainError,
        "requested_mass_ug",
        id="zero mass",
    ),
    pytest.param(
        add_item(requested_mass_ug=-MG, minimum_mass_ug=0),
        DomainError,
        "requested_mass_ug",
        id="negative mass",
    ),
    pytest.param(
        add_item(requested_mass_ug=1.5, minimum_mass_ug=1),
        DomainError,
        "requested_mass_ug",
        id="fractional mass",
    ),
    pytest.param(
        add_item(requested_mass_ug=GRAM + 1, minimum_mass_ug=MG),
        DomainError,
        "requested_mass_ug",
        id="over the cap",
    ),
    pytest.param(
        add_item(requested_mass_ug=MG, minimum_mass_ug=MG, units=2),
        DomainError,
        "units",
        id="units of powder",
    ),
    pytest.param(
        add_item(form=Form.THIN_SECTION, units=1, requested_mass_ug=MG),
        DomainError,
        "requested_mass_ug",
        id="mass of a thin section",
    ),
    pytest.param(add_item(form=Form.THIN_SECTION), DomainError, "units", id="no units"),
    pytest.param(
        add_item(sample_identifier="CE5-NOWHERE", units=1),
        NotFound,
        "sample_identifier",
        id="unknown sample",
    ),
    pytest.param(add_method(technique=" "), DomainError, "technique", id="no technique"),
    pytest.param(add_method(mass_ug=0), DomainError, "mass_ug", id="destructive without mass"),
    pytest.param(
        add_method(destructive=False, mass_ug=-1), DomainError, "mass_ug", id="negative method mass"
    ),
    pytest.param(add_member(name=" "), DomainError, "name", id="member without name"),
    pytest.param(add_member(country=""), DomainError, "country", id="member without country"),
    pytest.param(
        add_member(country="France"), DomainError, "country", id="member with a bad country"
    ),
    pytest.param(
        add_member(institution_name=""),
        DomainError,
        "institution_name",
        id="member without institution",
    ),
    pytest.param(
        lambda actor, pk: doi_add(actor=actor, proposal_id=pk, doi="doi:11.1/x"),
        DomainError,
        "doi",
        id="bad doi",
    ),
    pytest.param(
        attach("case.pdf", b"Dear committee, %PDF- follows"),
        DomainError,
        "file",
        id="text named .pdf",
    ),
    pytest.param(
        attach("case.docx", b"PK\x03\x04word/document.xml"), DomainError, "file", id="word file"
    ),
    pytest.param(
        attach("big.pdf", PDF, size=ATTACHMENT_MAX_BYTES + 1),
        DomainError,
        "file",
        id="oversized pdf",
    ),
    pytest.param(
        lambda actor, pk: proposal_update(actor=actor, proposal_id=pk, status="approved"),
        DomainError,
        "status",
        id="unknown text field",
    ),
    pytest.param(
        lambda actor, pk: proposal_update(actor=actor, proposal_id=pk, title="t" * 301),
        DomainError,
        "title",
        id="title too long",
    ),
]


def test_bad_drafting_input_is_refused_naming_the_field_and_changes_nothing(
    round_, mission_a17, subtests
):
    proposal = round_.draft()
    for case in BAD_INPUT:
        action, error, field = case.values
        with subtests.test(case.id), refused(error, field=field):
            action(round_.people.pi, proposal.pk)


def test_a_named_sample_is_one_unit(round_, named_fragment):
    proposal = round_.draft()
    with refused(DomainError, field="units", message="a named sample is one unit"):
        item_add(
            actor=round_.people.pi,
            proposal_id=proposal.pk,
            sample_identifier=named_fragment.identifier,
            units=2,
        )


def test_a_named_sample_from_a_pool_the_call_does_not_offer_is_refused(
    round_, receive, mission_ce5
):
    kept = receive("CE5Z0100YJFM00101", mission_ce5, 5 * GRAM, pool=Pool.PERMANENT)
    proposal = round_.draft()
    with refused(DomainError, field="pool"):
        item_add(
            actor=round_.people.pi,
            proposal_id=proposal.pk,
            sample_identifier=kept.identifier,
            requested_mass_ug=MG,
            minimum_mass_ug=MG,
        )


def test_only_an_applicant_drafts_and_only_in_an_open_call(round_, make_call):
    with refused(PermissionDenied, field=None, message="applicant"):
        proposal_create(actor=round_.people.rev_us, call_id=round_.call.pk)
    draft_call = make_call()
    with refused(Conflict, field="call", message="not open"):
        proposal_create(actor=round_.people.pi, call_id=draft_call.pk)
    with refused(NotFound, field="call"):
        proposal_create(actor=round_.people.pi, call_id=round_.call.pk + 1000)


def test_submission_lists_every_problem_with_its_field(round_):
    proposal = proposal_create(actor=round_.people.pi, call_id=round_.call.pk)
    with pytest.raises(DomainError) as caught:
        proposal_submit(actor=round_.people.pi, proposal_id=proposal.pk)
    assert caught.value.message == "the proposal is incomplete"
    assert [(p.field, p.message) for p in caught.value.problems] == [
        ("title", "title is required"),
        ("abstract", "abstract is required"),
        ("science_case", "science case is required"),
        ("data_sharing_plan", "data-sharing plan is required"),
        ("methods", "describe at least one method"),
        ("items", "request at least one sample item"),
    ]
    proposal.refresh_from_db()
    assert proposal.status == ProposalStatus.DRAFT
    assert not ProposalVersion.objects.exists()


def test_submission_refuses_destructive_methods_that_need_more_than_is_requested(round_):
    proposal = round_.draft()
    method_add(
        actor=round_.people.pi,
        proposal_id=proposal.pk,
        technique="noble gases",
        destructive=True,
        mass_ug=400 * MG,
    )
    with refused(DomainError, field="methods", message="incomplete") as caught:
        proposal_submit(actor=round_.people.pi, proposal_id=proposal.pk)
    assert caught.value.problems[0].message == (
        "destructive methods need more mass than is requested"
    )


def test_submission_freezes_a_version_and_later_edits_are_refused(round_):
    pi = round_.people.pi
    proposal = round_.submitted()
    item = proposal.items.get()

    assert (proposal.status, proposal.submitted_at is not None) == (ProposalStatus.SUBMITTED, True)
    version = proposal.versions.get()
    assert (version.number, version.submitted_at) == (1, proposal.submitted_at)
    assert version.content["title"] == "Space weathering of Chang'e-5 regolith"
    assert version.content["methods"] == [
        {"technique": "TEM", "destructive": True, "mass_ug": 50 * MG}
    ]
    assert version.content["items"][0] | {"id": None} == {
        "id": None,
        "mission__code": "CE5",
        "pool": Pool.RESEARCH,
        "form": Form.POWDER,
        "sample__identifier": None,
        "requested_mass_ug": 400 * MG,
        "minimum_mass_ug": 100 * MG,
        "units": 0,
        "justification": "",
    }
    edits = [
        lambda: proposal_update(actor=pi, proposal_id=proposal.pk, abstract="rewritten"),
        lambda: add_item(requested_mass_ug=MG, minimum_mass_ug=MG)(pi, proposal.pk),
        lambda: add_method()(pi, proposal.pk),
        lambda: add_member()(pi, proposal.pk),
        lambda: doi_add(actor=pi, proposal_id=proposal.pk, doi="10.1038/s41586-021-04100-2"),
        lambda: attach("more.pdf", PDF)(pi, proposal.pk),
        lambda: proposal_part_remove(
            actor=pi, proposal_id=proposal.pk, part="item", part_id=item.pk
        ),
        lambda: proposal_submit(actor=pi, proposal_id=proposal.pk),
    ]
    for edit in edits:
        with refused(Conflict, field="proposal", message="submitted and can no longer be edited"):
            edit()
    assert proposal.versions.get().content == version.content


def test_a_returned_proposal_can_be_edited_and_its_resubmission_is_version_two(round_):
    people = round_.people
    proposal = round_.submitted()
    with refused(PermissionDenied, field=None):
        proposal_return(actor=people.pi, proposal_id=proposal.pk, reason="fix it")
    with refused(DomainError, field="reason", message="say what must change"):
        proposal_return(actor=people.chair, proposal_id=proposal.pk, reason=" ")

    returned = proposal_return(
        actor=people.member, proposal_id=proposal.pk, reason="Justify the 400 mg."
    )
    assert returned.status == ProposalStatus.RETURNED
    proposal_update(actor=people.pi, proposal_id=proposal.pk, abstract="400 mg: 8 TEM lamellae.")
    resubmitted = proposal_submit(actor=people.pi, proposal_id=proposal.pk)

    assert resubmitted.status == ProposalStatus.SUBMITTED
    versions = list(proposal.versions.all())
    assert [v.number for v in versions] == [1, 2]
    assert versions[0].content["abstract"] == "Nanophase iron in young mare soil."
    assert versions[1].content["abstract"] == "400 mg: 8 TEM lamellae."
    history = ProposalAction.objects.filter(proposal=proposal)
    assert [(a.action, a.actor, a.reason) for a in history] == [
        ("created", people.pi, ""),
        ("submitted", people.pi, "version 1"),
        ("returned", people.member, "Justify the 400 mg."),
        ("submitted", people.pi, "version 2"),
    ]


def test_only_a_submitted_unscreened_proposal_can_be_returned(round_):
    draft = round_.draft()
    with refused(Conflict, field="proposal", message="only a submitted"):
        proposal_return(actor=round_.people.chair, proposal_id=draft.pk, reason="too early")
    screened = round_.submitted(round_.people.other)
    round_.screened(screened)
    with refused(Conflict, field="proposal", message="only a submitted"):
        proposal_return(actor=round_.people.chair, proposal_id=screened.pk, reason="too late")


@pytest.mark.parametrize("stage", ["draft", "submitted", "under_review", "ranked"])
def test_a_proposal_can_be_withdrawn_until_the_decision(round_, stage):
    proposal = round_.draft() if stage == "draft" else round_.submitted()
    if stage == "under_review":
        round_.in_review(proposal)
    if stage == "ranked":
        round_.ranked(proposal)
    withdrawn = proposal_withdraw(
        actor=round_.people.pi, proposal_id=proposal.pk, reason="the instrument broke"
    )
    assert withdrawn.status == ProposalStatus.WITHDRAWN
    last = proposal.actions.last()
    assert (last.action, last.reason) == ("withdrawn", "the instrument broke")


def test_a_decided_or_withdrawn_proposal_cannot_be_withdrawn(round_):
    decided, withdrawn = round_.submitted(), round_.submitted(round_.people.other)
    proposal_withdraw(actor=round_.people.other, proposal_id=withdrawn.pk)
    round_.ranked(decided)
    item = decided.items.get()
    proposal_decide(
        actor=round_.people.chair,
        proposal_id=decided.pk,
        approved={item.pk: item.requested_mass_ug},
        reasons={},
    )
    for actor, proposal in ((round_.people.pi, decided), (round_.people.other, withdrawn)):
        with refused(Conflict, field="proposal", message="cannot be withdrawn"):
            proposal_withdraw(actor=actor, proposal_id=proposal.pk)


def test_another_applicant_can_neither_see_nor_edit_a_proposal_and_learns_nothing_of_it(round_):
    other = round_.people.other
    proposal = round_.draft()
    absent = Proposal.objects.order_by("-pk").first().pk + 100
    attempts = [
        lambda pk: proposal_update(actor=other, proposal_id=pk, abstract="mine now"),
        lambda pk: add_item(requested_mass_ug=MG, minimum_mass_ug=MG)(other, pk),
        lambda pk: add_member()(other, pk),
        lambda pk: doi_add(actor=other, proposal_id=pk, doi="10.1038/x"),
        lambda pk: proposal_submit(actor=other, proposal_id=pk),
        lambda pk: proposal_withdraw(actor=other, proposal_id=pk),
        lambda pk: proposal_part_remove(actor=other, proposal_id=pk, part="method", part_id=1),
    ]
    for attempt in attempts:
        messages = []
        for pk in (proposal.pk, absent):
            with refused(NotFound, field="proposal") as caught:
                attempt(pk)
            messages.append(caught.value.message.replace(str(pk), "N"))
        assert messages == ["proposal N does not exist"] * 2


def test_a_pdf_of_exactly_the_size_limit_is_accepted(round_):
    proposal = round_.draft()
    attach("limit.pdf", PDF, size=ATTACHMENT_MAX_BYTES)(round_.people.pi, proposal.pk)
    assert proposal.attachments.get().size == ATTACHMENT_MAX_BYTES


def test_a_proposal_returned_during_screening_can_be_resubmitted_after_the_deadline(round_):
    proposal = round_.submitted()
    for status in (CallStatus.CLOSED, CallStatus.SCREENING):
        call_transition(actor=round_.people.chair, call_id=round_.call.pk, to_status=status)
    proposal_return(actor=round_.people.chair, proposal_id=proposal.pk, reason="add a data plan")
    Call.objects.filter(pk=round_.call.pk).update(
        proposals_due=round_.call.proposals_due.replace(year=2020)
    )
    resubmitted = proposal_submit(actor=proposal.pi, proposal_id=proposal.pk)
    assert resubmitted.status == ProposalStatus.SUBMITTED
    assert resubmitted.versions.count() == 2
