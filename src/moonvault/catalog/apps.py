from django.apps import AppConfig


class CatalogConfig(AppConfig):
    name = "moonvault.catalog"
    label = "catalog"
