from django.apps import AppConfig


class LoansConfig(AppConfig):
    name = "moonvault.loans"
    label = "loans"
