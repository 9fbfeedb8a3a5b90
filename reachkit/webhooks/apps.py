from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "reachkit.webhooks"
    label = "webhooks"
    verbose_name = "Webhooks"
