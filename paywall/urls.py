"""Top-level URLs: the admin, the HTTP API under /api/v1/, the OpenAPI schema, and the SDK's
signer frame."""

from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from paywall import frame, health
from paywall.api_urls import root_urlpatterns

urlpatterns = [
    path("", health.home, name="home"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/v1/", include("paywall.api_urls")),
    path("api/v1/", include("disputes.urls")),
    path("api/v1/", include("agents.urls")),
    path("sdk/frame/<str:pub>", frame.signer_frame, name="sdk-frame"),
    path("", include(root_urlpatterns)),
]

handler400 = "paywall.errors.bad_request"
handler404 = "paywall.errors.not_found"
handler500 = "paywall.errors.server_error"
