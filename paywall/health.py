"""Liveness and readiness for load balancers and operators, and the service's home page.

`/healthz` answers 200 while the process runs. `/readyz` checks the database, the cache and
the ledger; it answers 503 with a code when a dependency is down, so a load balancer stops
sending traffic. That bare answer is public. The details (each check, the ledger index, the
watchtower's metrics: channel ids and integrity violations among them) are only for
`Authorization: Bearer <DROPGATE_READYZ_TOKEN>`, compared in constant time. Every call costs a
ledger round trip, so `/readyz` is throttled per client address (DROPGATE_THROTTLE_READYZ).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET

from channels_app import ledger
from channels_app.exceptions import LedgerUnavailable
from channels_app.services.watchtower import watchtower_status
from paywall.errors import error_body
from paywall.throttles import ReadyzRateThrottle


@require_GET
def healthz(request: HttpRequest) -> HttpResponse:
    return JsonResponse({"status": "ok"})


def _check_database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _check_cache() -> None:
    cache.set("dropgate:readyz", "1", 5)
    if cache.get("dropgate:readyz") != "1":
        raise RuntimeError("cache did not return what was stored")


def _details_allowed(request: HttpRequest) -> bool:
    """Whether the request carries DROPGATE_READYZ_TOKEN (none configured: never)."""
    token = str(settings.DROPGATE_READYZ_TOKEN or "")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and constant_time_compare(given, token)


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
    throttle = ReadyzRateThrottle()
    if not throttle.allow_request(request, None):  # type: ignore[arg-type]
        wait = max(1, int((throttle.wait() or 1) + 0.999))
        limited = JsonResponse(
            error_body("rate_limited", "Too many requests; retry later."), status=429
        )
        limited["Retry-After"] = str(wait)
        limited["Cache-Control"] = "no-store"
        return limited
    checks: dict[str, Any] = {}
    failed = None
    for name, check in (("database", _check_database), ("cache", _check_cache)):
        try:
            check()
            checks[name] = "ok"
        except Exception:
            checks[name] = "down"
            failed = failed or f"{name}_unavailable"
    try:
        checks["ledger"] = {
            "status": "ok",
            "validated_ledger": ledger.validated_ledger().ledger_index,
        }
    except LedgerUnavailable:
        checks["ledger"] = {"status": "down"}
        failed = failed or "ledger_unavailable"
    details = _details_allowed(request)
    if details and checks["database"] == "ok":
        checks["watchtower"] = watchtower_status()
    if failed:
        body: dict[str, Any] = error_body(failed, "A dependency is unavailable.")
        status = 503
    else:
        body, status = {"status": "ok"}, 200
    if details:
        body["checks"] = checks
    response = JsonResponse(body, status=status)
    response["Cache-Control"] = "no-store"
    return response


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "paywall/home.html")
