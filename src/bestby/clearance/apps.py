from django.apps import AppConfig


class ClearanceConfig(AppConfig):
    name = "bestby.clearance"
    label = "clearance"
    verbose_name = "Clearance"
