"""The machine door's own rate per client address (scope `agent`, DROPGATE_THROTTLE_AGENT)."""

from __future__ import annotations

from typing import Any

from rest_framework.request import Request

from paywall.throttles import IPRateThrottle


class AgentRateThrottle(IPRateThrottle):
    scope = "agent"

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        return self.cache_key_for(self.get_ident(request))
