from django.apps import AppConfig


class CadencesConfig(AppConfig):
    name = "bestby.cadences"
    label = "cadences"
    default_auto_field = "django.db.models.BigAutoField"
