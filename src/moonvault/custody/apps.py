from django.apps import AppConfig


class CustodyConfig(AppConfig):
    name = "moonvault.custody"
    label = "custody"
