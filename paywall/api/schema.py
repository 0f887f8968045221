"""OpenAPI descriptions of the API's credentials (drf-spectacular extensions)."""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ReaderTokenScheme(OpenApiAuthenticationExtension):
    target_class = "paywall.authentication.ReaderAuthentication"
    name = "readerToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Reader rdt_<id>_<secret>`, from POST /api/v1/readers.",
        }


class PublisherKeyScheme(OpenApiAuthenticationExtension):
    target_class = "paywall.authentication.PublisherKeyAuthentication"
    name = "publisherApiKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "dgk_<prefix>_<secret>",
            "description": "A publisher API key (created in the admin or by create_publisher).",
        }


class GrantScheme(OpenApiAuthenticationExtension):
    target_class = "paywall.authentication.GrantAuthentication"
    name = "accessGrant"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "An access grant (EdDSA JWT) from POST /api/v1/unlocks.",
        }
