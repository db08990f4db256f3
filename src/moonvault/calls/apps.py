from django.apps import AppConfig


class CallsConfig(AppConfig):
    name = "moonvault.calls"
    label = "calls"
