"""Thin Celery entry points for ESP detection."""

from celery import shared_task

from leads import services


@shared_task(name="leads.detect_providers", soft_time_limit=150, time_limit=180)
def lead_detect_providers_task(domains: list[str]) -> None:
    services.lead_detect_providers(domains=domains)


@shared_task(name="leads.detect_providers_due", soft_time_limit=60, time_limit=90)
def lead_detect_providers_due_task() -> None:
    services.lead_detect_providers_due()
