from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "bestby.api"
    label = "api"
    verbose_name = "REST API"
