from django.apps import AppConfig


class PipelineConfig(AppConfig):
    name = "bestby.pipeline"
    label = "pipeline"
