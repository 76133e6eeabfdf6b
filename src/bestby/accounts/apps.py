from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "bestby.accounts"
    label = "accounts"
