from django.apps import AppConfig


class ReachkitConfig(AppConfig):
    name = "reachkit"
    verbose_name = "Reachkit"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from reachkit.periodic import register_after_migrate

        post_migrate.connect(register_after_migrate, dispatch_uid="reachkit-periodic-tasks")
        from reachkit import tasklog  # noqa: F401  (connects Celery's task signals)
        from reachkit.api import schema  # noqa: F401  (registers the OpenAPI extensions)
