from django.apps import AppConfig


class ReachkitConfig(AppConfig):
    name = "reachkit"
    verbose_name = "Reachkit"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from reachkit.periodic import register_after_migrate

        post_migrate.connect(register_after_migrate, dispatch_uid="reachkit-periodic-tasks")
        from reachkit import tasklog  # noqa: F401  (connects Celery's task signals)
        from reachkit.admin_scoping import restrict_unscoped_admins
        from reachkit.api import schema  # noqa: F401  (registers the OpenAPI extensions)

        # django.contrib.admin comes first in INSTALLED_APPS: its ready() has imported every
        # app's admin module by now, so this sees every registered admin.
        restrict_unscoped_admins()
