from django.urls import path

from moonvault.loans.views import exhibitions, exports, inventory, public, research

app_name = "loans"

urlpatterns = [
    path("", research.compliance, name="compliance"),
    path("mine/", research.my_loans, name="my-loans"),
    path("export.csv", exports.loan_export, {"fmt": "csv"}, name="loan-export-csv"),
    path("export.json", exports.loan_export, {"fmt": "json"}, name="loan-export-json"),
    path("new/", research.loan_new, name="loan-new"),
    path("<int:loan_id>/", research.loan_detail, name="loan-detail"),
    path("<int:loan_id>/do/<slug:action>/", research.loan_action, name="loan-action"),
    path("incidents/", inventory.incident_list, name="incidents"),
    path(
        "incidents/<int:incident_id>/resolve/",
        inventory.incident_resolve,
        name="incident-resolve",
    ),
    path("stock-checks/", inventory.stock_check_list, name="stock-checks"),
    path("stock-checks/<int:check_id>/", inventory.stock_check_detail, name="stock-check"),
    path(
        "stock-checks/<int:check_id>/lines/<int:line_id>/",
        inventory.stock_line_record,
        name="stock-line",
    ),
    path("stock-checks/<int:check_id>/close/", inventory.stock_check_close, name="stock-close"),
    path("exhibitions/", exhibitions.exhibition_list, name="exhibitions"),
    path("exhibitions/new/", exhibitions.exhibition_new, name="exhibition-new"),
    path("exhibitions/<int:exhibition_id>/", exhibitions.exhibition_detail, name="exhibition"),
    path(
        "exhibitions/<int:exhibition_id>/do/<slug:action>/",
        exhibitions.exhibition_action,
        name="exhibition-action",
    ),
    path("results/", public.results, name="results"),
    path("results/samples/<str:identifier>/", public.sample_results, name="sample-results"),
]
