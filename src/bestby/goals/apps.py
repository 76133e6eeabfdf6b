from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "bestby.goals"
    label = "goals"
