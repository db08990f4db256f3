from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "moonvault.web"
    label = "web"
