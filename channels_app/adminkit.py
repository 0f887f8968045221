"""What every admin of the project shares: whose rows a user sees, and the second factor
behind the actions that move money or keys.

**Rows.** Superusers and platform staff see every row. A publisher's staff (the users a
`Publisher` lists) see only their own publishers' rows, and platform rows (the ledger, keys,
the journal, fraud review) not at all. Every registered ModelAdmin says which kind its rows
are with `RowScopeMixin.publisher_key_lookup`. channels_app cannot know who manages which
publisher (it imports no other app), so `settings.DROPGATE_ADMIN_PUBLISHER_SCOPE` names the
function that answers: `fn(user) -> None` (every publisher) or the set of publisher keys the
user may see. Without it only superusers see anything: the scope fails closed.

**Second factor.** The admin site itself requires a verified OTP session. The doors that move
money or keys check it again themselves (`may`), so they stay shut if a request ever reaches
them some other way (another site, a test client, a future view).
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.module_loading import import_string

_SCOPE_ATTR = "_dropgate_publisher_scope"


def otp_verified(request: HttpRequest) -> bool:
    """Whether this request's user passed their second factor in this session."""
    is_verified = getattr(request.user, "is_verified", None)
    return bool(callable(is_verified) and is_verified())


def may(request: HttpRequest, perm: str) -> bool:
    """A money or key door: the user holds `perm` and verified a second factor."""
    return otp_verified(request) and bool(request.user.has_perm(perm))


def may_for_platform(request: HttpRequest, perm: str) -> bool:
    """A platform door (holds, payouts, settlement): `may`, and the user is platform staff,
    not a publisher's, whatever permissions they were given."""
    return may(request, perm) and publisher_scope(request) is None


def publisher_scope(request: HttpRequest) -> frozenset[str] | None:
    """None: every publisher's rows and the platform's; else the publisher keys whose rows
    the user may see (possibly none). Asked once per request."""
    if hasattr(request, _SCOPE_ATTR):
        cached: frozenset[str] | None = getattr(request, _SCOPE_ATTR)
        return cached
    user = request.user
    scope: frozenset[str] | None
    if not getattr(user, "is_active", False):
        scope = frozenset()
    elif user.is_superuser:
        scope = None
    else:
        path = getattr(settings, "DROPGATE_ADMIN_PUBLISHER_SCOPE", "")
        scope = import_string(path)(user) if path else frozenset()
    setattr(request, _SCOPE_ATTR, scope)
    return scope


def scope_rows(
    request: HttpRequest, queryset: QuerySet[Any], publisher_key_lookup: str | None
) -> QuerySet[Any]:
    """The rows of `queryset` the user may see (see the module's docstring)."""
    scope = publisher_scope(request)
    if scope is None:
        return queryset
    if publisher_key_lookup is None or not scope:
        return queryset.none()
    return queryset.filter(**{f"{publisher_key_lookup}__in": sorted(scope)}).distinct()


class RowScopeMixin:
    """A ModelAdmin whose changelist, pages and actions see only the user's rows.

    `publisher_key_lookup` is the lookup from a row to its publisher's key (e.g.
    "publisher_ref", "payout__publisher_ref", "publisher__key"); None marks platform rows.
    """

    publisher_key_lookup: str | None = None

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        queryset = super().get_queryset(request)  # type: ignore[misc]
        return scope_rows(request, queryset, self.publisher_key_lookup)
