from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "moonvault.core"
    label = "core"
