from django.apps import AppConfig


class CommerceConfig(AppConfig):
    name = "bestby.commerce"
    label = "commerce"
