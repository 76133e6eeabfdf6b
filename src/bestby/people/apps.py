from django.apps import AppConfig


class PeopleConfig(AppConfig):
    name = "bestby.people"
    label = "people"
    verbose_name = "People"
