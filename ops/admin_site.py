"""The project's admin site: paywall.admin_site's (a password and a TOTP code for every staff
user), opening on the operations console instead of a bare list of models."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.template.response import TemplateResponse

from ops.console import console_for
from paywall.admin_site import DropgateAdminSite


class ConsoleAdminSite(DropgateAdminSite):
    index_template = "ops/index.html"

    def index(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        """The admin's index (behind the site's sign-in and second factor, like every page of
        it): the console the user may see, then the apps and models."""
        context = {"console": console_for(self, request), **(extra_context or {})}
        response: TemplateResponse = super().index(request, extra_context=context)
        return response
