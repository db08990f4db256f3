from django.contrib.auth import views as auth_views
from django.urls import include, path

from moonvault.web import views

urlpatterns = [
    path("", views.home, name="home"),
    path("samples/", views.catalog, name="catalog"),
    path("samples/<str:identifier>/", views.sample_detail, name="sample-detail"),
    path("missions/", views.missions, name="missions"),
    path("missions/<str:code>/", views.mission_detail, name="mission-detail"),
    path("transparency/", views.transparency, name="transparency"),
    path("transparency/<slug:slug>.csv", views.transparency_csv, name="transparency-csv"),
    path("login/", auth_views.LoginView.as_view(template_name="web/login.html"), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("calls/", include("moonvault.calls.urls")),
    path("review/", include("moonvault.review.urls")),
    path("allocation/", include("moonvault.allocation.urls")),
    path("loans/", include("moonvault.loans.urls")),
]
