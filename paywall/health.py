"""Liveness and readiness for load balancers and operators, and the service's home page.

`/healthz` answers 200 while the process runs. `/readyz` checks the database, the cache and
the ledger and reports the watchtower's metrics; it answers 503 with a code when a
dependency is down, so a load balancer stops sending traffic.
"""

from __future__ import annotations

from typing import Any

from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from channels_app import ledger
from channels_app.exceptions import LedgerUnavailable
from channels_app.services.watchtower import watchtower_status


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


@require_GET
def readyz(request: HttpRequest) -> HttpResponse:
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
    if checks["database"] == "ok":
        checks["watchtower"] = watchtower_status()
    if failed:
        return JsonResponse(
            {
                "error": {"code": failed, "message": "A dependency is unavailable."},
                "checks": checks,
            },
            status=503,
        )
    return JsonResponse({"status": "ok", "checks": checks})


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "paywall/home.html")
