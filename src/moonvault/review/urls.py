from django.urls import path

from moonvault.review import views

app_name = "review"

urlpatterns = [
    path("", views.my_reviews, name="my-reviews"),
    path("proposals/<int:proposal_id>/declare/", views.declare, name="declare"),
    path("proposals/<int:proposal_id>/", views.review, name="review"),
    path("calls/<int:call_id>/assignments/", views.assignments, name="assignments"),
    path("calls/<int:call_id>/assignments/add/", views.assignment_add, name="assignment-add"),
    path(
        "calls/<int:call_id>/assignments/remove/",
        views.assignment_remove,
        name="assignment-remove",
    ),
    path("calls/<int:call_id>/assignments/run/", views.assignment_run, name="assignment-run"),
    path("calls/<int:call_id>/ranking/", views.ranking, name="ranking"),
]
