from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "bestby.audit"
    label = "audit"
