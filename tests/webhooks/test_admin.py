"""The back office writes webhooks through the services the API calls."""

from reachkit.webhooks.models import WebhookEndpoint
from reachkit.webhooks.services import endpoint_create


def test_adding_a_webhook_in_the_admin_shows_its_secret_once(admin_client, alice):
    response = admin_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {
            "workspace": alice.workspace.pk,
            "url": "http://127.0.0.1:9/hook",
            "description": "CRM",
            "event_types": ["email_sent"],
            "is_active": "on",
        },
        follow=True,
    )
    assert response.status_code == 200
    endpoint = WebhookEndpoint.objects.get()
    assert endpoint.event_types == ["email_sent"]
    assert endpoint.secret in response.content.decode()
    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert endpoint.secret not in page.content.decode()


def test_the_admin_refuses_what_the_api_refuses_and_shows_why_an_endpoint_is_off(
    admin_client, alice, settings
):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    response = admin_client.post(
        "/admin/webhooks/webhookendpoint/add/",
        {"workspace": alice.workspace.pk, "url": "http://169.254.169.254/", "is_active": "on"},
    )
    assert response.status_code == 200
    assert "public addresses only" in response.content.decode()
    assert not WebhookEndpoint.objects.exists()

    settings.WEBHOOK_ALLOW_PRIVATE = True
    endpoint, _ = endpoint_create(workspace=alice.workspace, url="http://127.0.0.1:9/")
    WebhookEndpoint.objects.update(is_active=False, disabled_reason="Disabled automatically: …")
    page = admin_client.get(f"/admin/webhooks/webhookendpoint/{endpoint.pk}/change/")
    assert "Disabled automatically" in page.content.decode()
    assert (
        admin_client.post(
            f"/admin/webhooks/webhookendpoint/{endpoint.pk}/delete/", {"post": "yes"}
        ).status_code
        == 302
    )
    assert WebhookEndpoint.objects.get().deleted_at is not None
