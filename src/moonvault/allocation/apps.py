from django.apps import AppConfig


class AllocationConfig(AppConfig):
    name = "moonvault.allocation"
    label = "allocation"
