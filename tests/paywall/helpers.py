"""HTTP helpers of the paywall suite."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from tests.paywall.factories import ORIGIN


class Api:
    """Calls /api/v1/ as the snippet would: JSON, from the publisher's origin by default."""

    def __init__(self, client: Client) -> None:
        self.client = client

    def _headers(
        self, origin: str | None, auth: str | None, headers: dict[str, str] | None
    ) -> dict[str, str]:
        out = dict(headers or {})
        if origin is not None:
            out["Origin"] = origin
        if auth is not None:
            out["Authorization"] = auth
        return out

    def get(
        self,
        path: str,
        *,
        origin: str | None = ORIGIN,
        auth: str | None = None,
        headers: dict[str, str] | None = None,
        **query: Any,
    ) -> Any:
        return self.client.get(
            f"/api/v1/{path}", query or None, headers=self._headers(origin, auth, headers)
        )

    def send(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        origin: str | None = ORIGIN,
        auth: str | None = None,
        headers: dict[str, str] | None = None,
        raw: str | None = None,
        content_type: str = "application/json",
    ) -> Any:
        data = raw if raw is not None else ("" if body is None else json.dumps(body))
        call = getattr(self.client, method.lower())
        return call(
            f"/api/v1/{path}",
            data=data,
            content_type=content_type,
            headers=self._headers(origin, auth, headers),
        )

    def post(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.send("POST", path, body, **kwargs)

    def put(self, path: str, body: Any = None, **kwargs: Any) -> Any:
        return self.send("PUT", path, body, **kwargs)


def error_code(response: Any) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert isinstance(body["error"]["message"], str) and body["error"]["message"]
    return str(body["error"]["code"])


def schema_operations(client: Client, *, value: str = "x") -> list[tuple[str, str, bool]]:
    """(METHOD, path, takes a body) of every operation in /api/schema/, path parameters filled
    with `value` (1 for integers)."""
    schema = client.get("/api/schema/?format=json").json()
    found = []
    for template, operations in schema["paths"].items():
        shared = operations.get("parameters", [])
        for method, operation in operations.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            path = template
            for parameter in operation.get("parameters", []) + shared:
                if parameter.get("in") == "path":
                    filled = "1" if parameter["schema"].get("type") == "integer" else value
                    path = path.replace("{" + parameter["name"] + "}", filled)
            found.append((method.upper(), path, "requestBody" in operation))
    return found
