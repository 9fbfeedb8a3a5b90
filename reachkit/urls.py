from django.contrib import admin
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import URLPattern, URLResolver, include, path, re_path
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.renderers import (
    OpenApiJsonRenderer,
    OpenApiJsonRenderer2,
    OpenApiYamlRenderer,
    OpenApiYamlRenderer2,
)
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from campaigns.pages import unsubscribe_page
from reachkit.api.exceptions import error_body
from reachkit.health import healthz
from reachkit.login import LimitedAdminLoginForm
from reachkit.pages import landing_page

# Outside DRF (an unmatched URL, a non-UUID id), API paths still answer with the envelope.


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


# CSRF-exempt like every DRF view: the API authenticates by key, never by cookie, so an unsafe
# method from a browser that holds a session (an admin) gets this 404, not Django's CSRF page.
@csrf_exempt
def api_not_found(request: HttpRequest, *args: object, **kwargs: object) -> JsonResponse:
    return JsonResponse(dict(error_body("Not found.", "not_found")), status=404)


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(dict(error_body("Bad request.", "bad_request")), status=400)
    return defaults.bad_request(request, exception)


def handler404(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    if _is_api(request):
        return JsonResponse(
            dict(error_body("Internal server error.", "internal_error")), status=500
        )
    return defaults.server_error(request)


api_v1: list[URLPattern | URLResolver] = [
    path("", include("blocklist.urls")),
    path("", include("inboxes.urls")),
    path("", include("campaigns.api.urls")),
    path("", include("leads.urls")),
    path("", include("unibox.urls")),
    path("", include("reachkit.webhooks.urls")),
    # JSON by default (application/vnd.oai.openapi+json); `Accept: application/json` gets the
    # same JSON under that type, and `application/yaml` or `application/vnd.oai.openapi` YAML.
    path(
        "schema/",
        SpectacularAPIView.as_view(
            renderer_classes=[
                OpenApiJsonRenderer,
                OpenApiJsonRenderer2,
                OpenApiYamlRenderer,
                OpenApiYamlRenderer2,
            ]
        ),
        name="schema",
    ),
    # The split view serves its init script from a URL instead of inline: the page's CSP
    # allows scripts from this site only.
    path(
        "docs/",
        SpectacularSwaggerSplitView.as_view(
            url_name="schema", template_name="reachkit/swagger_ui.html"
        ),
        name="docs",
    ),
    # Last: any other /api/v1/ path is a 404 in the envelope, in debug mode too.
    re_path(r"^", api_not_found),
]

urlpatterns = [
    path("", landing_page, name="landing"),
    path("api/v1/", include(api_v1)),
    # Any other /api/ path (`/api/campaigns`, without the version) is a 404 in the envelope
    # too, also under `make run`, where DEBUG would answer Django's page listing the URLs.
    re_path(r"^api/", api_not_found),
    path("admin/", admin.site.urls),
    path("healthz", healthz, name="healthz"),
    path("u/<str:token>", unsubscribe_page, name="unsubscribe"),
]

admin.site.site_header = "Reachkit back office"
admin.site.site_title = "Reachkit"
admin.site.login_form = LimitedAdminLoginForm
