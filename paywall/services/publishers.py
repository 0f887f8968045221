"""Publishers: creation (with a unique settlement destination tag), origins, API keys, SDK config."""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from channels_app import clock
from channels_app.exceptions import Conflict
from channels_app.keys.services import platform_address
from channels_app.ledger import ledger_network_info
from paywall.models import UINT32_MAX, Publisher, PublisherApiKey
from paywall.services.credentials import (
    credential_matches,
    hash_secret,
    new_secret,
    parse_credential,
)
from paywall.services.exceptions import (
    ApiKeyInvalid,
    InvalidInput,
    OriginNotAllowed,
    PublisherInactive,
)
from paywall.types import Drops, IssuedApiKey, SdkConfig

__all__ = [
    "api_key_authenticate",
    "api_key_create",
    "api_key_revoke",
    "channel_settle_delay_seconds",
    "origin_normalise",
    "paywall_public_origin",
    "publisher_check_origin",
    "publisher_create",
    "publisher_origin_allowed",
    "publisher_sdk_config",
    "publisher_update",
    "request_origin",
]

API_KEY_KIND = "dgk"
_TAG_ATTEMPTS = 16
_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_normalise(value: str) -> str:
    """`scheme://host[:port]` as a browser sends it in `Origin` (lower case, no default port).

    Raises InvalidInput for anything that is not a bare http(s) origin.
    """
    text = value.strip() if isinstance(value, str) else ""
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise InvalidInput(f"{value!r} is not an origin.") from exc
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if (
        scheme not in _DEFAULT_PORTS
        or not host
        or not host.isascii()
        or parts.path not in ("", "/")
        or parts.query
        or parts.fragment
        or parts.username is not None
        or parts.password is not None
    ):
        raise InvalidInput(f"{value!r} is not an origin (scheme://host[:port]).")
    netloc = f"[{host}]" if ":" in host else host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    return f"{scheme}://{netloc}"


def _normalised_origins(origins: Iterable[str]) -> list[str]:
    if isinstance(origins, str):
        raise InvalidInput("allowed_origins must be a list of origins.")
    seen: dict[str, None] = {}
    for origin in origins:
        seen[origin_normalise(origin)] = None
    return list(seen)


def _validation_message(error: ValidationError) -> str:
    if hasattr(error, "message_dict"):
        return "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in error.message_dict.items())
    return " ".join(error.messages)


def _clean(publisher: Publisher) -> None:
    try:
        publisher.full_clean(exclude=["users"], validate_unique=False)
    except ValidationError as exc:
        raise InvalidInput(_validation_message(exc)) from exc


@transaction.atomic
def publisher_create(
    *,
    name: str,
    allowed_origins: Iterable[str] = (),
    payout_address: str = "",
    display_currency: str = "USD",
    fee_bps: int | None = None,
    key: str | None = None,
) -> Publisher:
    """Create an active publisher with a fresh random, unique uint32 destination tag.

    `key` defaults to a random `pub_…`; an explicit key that is taken raises Conflict
    (`publisher_key_taken`). The fee defaults to settings.DROPGATE_PLATFORM_FEE_BPS.
    """
    publisher = Publisher(
        key=key or f"pub_{secrets.token_hex(12)}",
        name=name,
        allowed_origins=_normalised_origins(allowed_origins),
        payout_address=payout_address,
        display_currency=display_currency,
        fee_bps=settings.DROPGATE_PLATFORM_FEE_BPS if fee_bps is None else fee_bps,
        destination_tag=1,
    )
    _clean(publisher)
    for _ in range(_TAG_ATTEMPTS):
        # Random rather than sequential, so tags do not reveal how many publishers there are.
        publisher.destination_tag = secrets.randbelow(UINT32_MAX) + 1
        try:
            with transaction.atomic():
                publisher.save()
        except IntegrityError as exc:
            if Publisher.objects.filter(key=publisher.key).exists():
                raise Conflict("That publisher key is taken.", code="publisher_key_taken") from exc
            publisher.pk = None
            continue
        return publisher
    raise Conflict("Could not assign a destination tag; try again.", code="destination_tag_busy")


@transaction.atomic
def publisher_update(
    *,
    publisher: Publisher,
    name: str | None = None,
    allowed_origins: Iterable[str] | None = None,
    payout_address: str | None = None,
    display_currency: str | None = None,
    fee_bps: int | None = None,
    is_active: bool | None = None,
) -> Publisher:
    """Change a publisher's editable fields. The key and destination tag never change."""
    if name is not None:
        publisher.name = name
    if allowed_origins is not None:
        publisher.allowed_origins = _normalised_origins(allowed_origins)
    if payout_address is not None:
        publisher.payout_address = payout_address
    if display_currency is not None:
        publisher.display_currency = display_currency
    if fee_bps is not None:
        publisher.fee_bps = fee_bps
    if is_active is not None:
        publisher.is_active = is_active
    _clean(publisher)
    publisher.save(
        update_fields=[
            "name",
            "allowed_origins",
            "payout_address",
            "display_currency",
            "fee_bps",
            "is_active",
        ]
    )
    return publisher


def paywall_public_origin() -> str:
    """The paywall's own origin, from settings.DROPGATE_PUBLIC_URL (its path is ignored).

    The signer frame is served from it, so the frame's own API and websocket calls carry it.
    """
    parts = urlsplit(settings.DROPGATE_PUBLIC_URL.strip())
    return origin_normalise(f"{parts.scheme}://{parts.netloc}")


def request_origin(*, origin: str | None, fetch_site: str | None = None) -> str | None:
    """The origin a browser request came from: its `Origin`, else the paywall's own origin for
    a same-origin request.

    Browsers send no `Origin` on same-origin GET and HEAD requests (Fetch standard), but
    always `Sec-Fetch-Site`, which scripts cannot set; `same-origin` there means the caller
    is a page of the paywall's origin, i.e. the signer frame.
    """
    if origin:
        return origin
    if fetch_site == "same-origin":
        return paywall_public_origin()
    return None


def publisher_check_origin(
    *, publisher: Publisher, origin: str | None, fetch_site: str | None = None
) -> None:
    """Raise OriginNotAllowed unless `origin` is one of the publisher's origins or the
    paywall's own public origin (the signer frame's; docs/sdk-protocol.md, "Origins").

    Reader-facing calls come from the snippet in the publisher's pages or from the signer
    frame, so the browser always sends `Origin` (or, same-origin, `Sec-Fetch-Site`: pass it
    as `fetch_site`); a request with neither is refused (non-browser clients send `Origin`
    explicitly). The frame can only run inside the publisher's origins (its CSP
    frame-ancestors), so accepting the paywall's origin does not widen who can spend.
    """
    if not publisher.is_active:
        raise PublisherInactive()
    origin = request_origin(origin=origin, fetch_site=fetch_site)
    if not origin:
        raise OriginNotAllowed()
    if origin in publisher.allowed_origins or origin == paywall_public_origin():
        return
    raise OriginNotAllowed()


def publisher_origin_allowed(publisher_ref: str, origin: str) -> bool:
    """Whether a page of `origin` may stream telemetry for publisher `publisher_ref`.

    fraud's telemetry socket calls it through DROPGATE_TELEMETRY_ORIGIN_CHECKER (fraud never
    imports paywall). False for an unknown or inactive publisher, as for a foreign origin.
    """
    publisher = Publisher.objects.filter(key=publisher_ref).first()
    if publisher is None:
        return False
    try:
        publisher_check_origin(publisher=publisher, origin=origin)
    except (OriginNotAllowed, PublisherInactive):
        return False
    return True


@transaction.atomic
def api_key_create(*, publisher: Publisher, label: str = "") -> IssuedApiKey:
    """A new API key. The returned token is the only copy of the secret: show it once."""
    secret = new_secret()
    api_key = PublisherApiKey.objects.create(
        publisher=publisher,
        prefix=secrets.token_hex(6),
        secret_hash=hash_secret(secret),
        label=label,
    )
    return IssuedApiKey(api_key=api_key, token=f"{API_KEY_KIND}_{api_key.prefix}_{secret}")


@transaction.atomic
def api_key_revoke(*, api_key: PublisherApiKey) -> PublisherApiKey:
    """Revoke the key now; revoking a revoked key keeps its first revocation time."""
    PublisherApiKey.objects.filter(pk=api_key.pk, revoked_at__isnull=True).update(
        revoked_at=clock.now()
    )
    api_key.refresh_from_db(fields=["revoked_at"])
    return api_key


def api_key_authenticate(*, token: str) -> PublisherApiKey:
    """The active key that `token` names, with its publisher; raises ApiKeyInvalid.

    Unknown, malformed and revoked keys are indistinguishable to the caller. An inactive
    publisher's key raises PublisherInactive.
    """
    parsed = parse_credential(token, kind=API_KEY_KIND)
    if parsed is None:
        raise ApiKeyInvalid()
    api_key = (
        PublisherApiKey.objects.select_related("publisher").filter(prefix=parsed.lookup).first()
    )
    stored_hash = api_key.secret_hash if api_key is not None else hash_secret("")
    matches = credential_matches(parsed.secret, stored_hash)
    if api_key is None or not matches or api_key.revoked_at is not None:
        raise ApiKeyInvalid()
    if not api_key.publisher.is_active:
        raise PublisherInactive()
    return api_key


def _public_network_info() -> dict[str, object]:
    """Which ledger this is, never its URL: XRPL_URL may carry credentials or internal hosts."""
    info = ledger_network_info()
    return {"kind": str(info.get("kind", info.get("network", "")))}


def publisher_sdk_config(*, publisher: Publisher) -> SdkConfig:
    """What the snippet needs to open a channel for this publisher's site.

    May create the platform's settlement key on first use (through the key service).
    """
    return SdkConfig(
        publisher=publisher,
        platform_address=platform_address(),
        destination_tag=publisher.destination_tag,
        min_settle_delay_seconds=settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS,
        min_channel_drops=Drops(settings.DROPGATE_MIN_CHANNEL_DROPS),
        grant_ttl_seconds=settings.DROPGATE_GRANT_TTL_SECONDS,
        network=_public_network_info(),
        channel_settle_delay_seconds=channel_settle_delay_seconds(),
        channel_cancel_after_days=settings.DROPGATE_CHANNEL_CANCEL_AFTER_DAYS,
    )


def channel_settle_delay_seconds() -> int:
    """The SettleDelay of the channels the funding wallet opens (never under the minimum that
    registration accepts)."""
    return max(
        settings.DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS, settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS
    )
