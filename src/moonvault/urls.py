from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from moonvault.api import api

urlpatterns = [
    path("api/v1/", api.urls),
    path("i18n/", include("django.conf.urls.i18n")),
]
urlpatterns += i18n_patterns(
    path("admin/", admin.site.urls),
    path("", include("moonvault.web.urls")),
    prefix_default_language=False,
)

handler404 = "moonvault.web.views.not_found"
# Uploaded documents have no public URL, not even under DEBUG: see moonvault.web.documents.
