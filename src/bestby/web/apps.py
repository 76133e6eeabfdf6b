from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "bestby.web"
    label = "web"
