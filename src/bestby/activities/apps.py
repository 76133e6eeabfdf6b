from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "bestby.activities"
    label = "activities"
