from django.urls import path

from moonvault.calls.views import applicant, committee, public

app_name = "calls"

urlpatterns = [
    path("", public.call_list, name="call-list"),
    path("<int:call_id>/", public.call_detail, name="call-detail"),
    path("<int:call_id>/apply/", applicant.proposal_start, name="proposal-start"),
    path("proposals/", applicant.my_proposals, name="my-proposals"),
    path("proposals/<int:proposal_id>/", applicant.proposal_detail, name="proposal-detail"),
    path(
        "proposals/<int:proposal_id>/step/<int:step>/",
        applicant.proposal_edit,
        name="proposal-edit",
    ),
    path("proposals/<int:proposal_id>/<slug:part>/add/", applicant.part_add, name="part-add"),
    path(
        "proposals/<int:proposal_id>/<slug:part>/<int:part_id>/remove/",
        applicant.part_remove,
        name="part-remove",
    ),
    path("proposals/<int:proposal_id>/submit/", applicant.proposal_submit, name="proposal-submit"),
    path(
        "proposals/<int:proposal_id>/withdraw/",
        applicant.proposal_withdraw,
        name="proposal-withdraw",
    ),
    path("committee/", committee.dashboard, name="dashboard"),
    path("committee/new/", committee.call_new, name="call-new"),
    path("committee/<int:call_id>/", committee.call_admin, name="call-admin"),
    path("committee/<int:call_id>/transition/", committee.call_transition, name="call-transition"),
    path("committee/<int:call_id>/extend/", committee.call_extend, name="call-extend"),
    path("committee/<int:call_id>/panel/", committee.call_panel, name="call-panel"),
    path("committee/reviewers/", committee.reviewer_search, name="reviewer-search"),
    path("committee/<int:call_id>/screening/", committee.screening, name="screening"),
    path(
        "committee/proposals/<int:proposal_id>/screen/",
        committee.screen_decide,
        name="screen-decide",
    ),
    path(
        "committee/proposals/<int:proposal_id>/return/",
        committee.proposal_return,
        name="proposal-return",
    ),
    path("committee/proposals/<int:proposal_id>/decision/", committee.decision, name="decision"),
]
