from django.urls import path

from moonvault.allocation import views

app_name = "allocation"

urlpatterns = [
    path("calls/<int:call_id>/plan/", views.plan, name="plan"),
    path("plans/<int:plan_id>/apply/", views.plan_apply, name="plan-apply"),
    path("plans/<int:plan_id>/decide/", views.plan_decide, name="plan-decide"),
]
