from django.contrib.auth import views as auth_views
from django.urls import include, path

from moonvault.web import documents, views

urlpatterns = [
    path("", views.home, name="home"),
    path("samples/", views.catalog, name="catalog"),
    path("samples/<str:identifier>/", views.sample_detail, name="sample-detail"),
    path("missions/", views.missions, name="missions"),
    path("missions/<str:code>/", views.mission_detail, name="mission-detail"),
    path("missions/<str:code>/report.pdf", views.mission_report_pdf, name="mission-report"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/<slug:slug>.csv", views.transparency_csv, name="transparency-csv"),
    path("transparency/all.json", views.transparency_all_json, name="transparency-all-json"),
    path("transparency/<slug:slug>.json", views.transparency_json, name="transparency-json"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("calls/", include("moonvault.calls.urls")),
    path("review/", include("moonvault.review.urls")),
    path("allocation/", include("moonvault.allocation.urls")),
    path("loans/", include("moonvault.loans.urls")),
    path("account/", include("moonvault.accounts.urls")),
    path(
        "documents/attachments/<int:attachment_id>/",
        documents.attachment_download,
        name="document-attachment",
    ),
    path(
        "documents/agreements/<int:loan_id>/",
        documents.agreement_download,
        name="document-agreement",
    ),
    path("audit/", include("moonvault.audit.urls")),
]
