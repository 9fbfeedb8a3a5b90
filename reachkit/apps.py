from django.apps import AppConfig


class ReachkitConfig(AppConfig):
    name = "reachkit"
    verbose_name = "Reachkit"

    def ready(self) -> None:
        from reachkit import tasklog  # noqa: F401  (connects Celery's task signals)
        from reachkit.api import schema  # noqa: F401  (registers the OpenAPI extensions)
