from django.apps import AppConfig


class UniboxConfig(AppConfig):
    name = "unibox"
