from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "moonvault.accounts"
    label = "accounts"
