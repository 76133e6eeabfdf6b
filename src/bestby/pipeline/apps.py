from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "bestby.pipeline"
    label = "pipeline"

    def ready(self) -> None:
        from bestby.pipeline import revision

        revision.connect()
