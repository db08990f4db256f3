from django.apps import AppConfig


class ReviewConfig(AppConfig):
    name = "moonvault.review"
    label = "review"
