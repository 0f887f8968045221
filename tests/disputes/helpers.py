"""Helpers of the disputes suite. Everything goes through the services a real caller uses:
unlocks through `unlock_article` with signed claims, deliveries through the content API,
fraud decisions by `risk_decide` over a telemetry session whose score is set as a test needs."""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.cache import cache
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import PaymentChannelCreate
from xrpl.transaction import autofill_and_sign, submit
from xrpl.wallet import Wallet

from channels_app.keys.services import platform_address
from channels_app.selectors import channel_snapshot
from channels_app.services.platform import platform_bootstrap
from fraud.features.fingerprint import fingerprint_hash
from fraud.models import ArticleView, TelemetrySession
from fraud.selectors import score_cache_key
from paywall.models import Article, Publisher, Reader, Unlock
from paywall.services.channels import reader_channel_register
from paywall.services.unlocks import unlock_article
from paywall.types import SubmittedClaim, UnlockResult
from tests.channels_app.factories import ClaimKey, make_channel
from tests.channels_app.ledger_helpers import created_channel_id
from tests.fixtures.sandbox import fund_account, sandbox_rpc
from tests.paywall.factories import make_api_key, make_article, make_publisher, make_reader

PRICE = 200_000

SCORES = {"allow": 0.1, "hold": 0.6, "challenge": 0.8, "refuse": 0.95}


@dataclass
class Seat:
    reader: Reader
    token: str
    key: ClaimKey
    channel_id: str
    wallet: Wallet | None = None

    @property
    def auth(self) -> str:
        return f"Reader {self.token}"


@dataclass
class World:
    publisher: Publisher
    api_key: str
    articles: list[Article]
    sandbox_url: str = ""
    platform: str = ""
    seats: list[Seat] = field(default_factory=list)

    @classmethod
    def create(cls, *, sandbox_url: str = "") -> World:
        platform = ""
        if sandbox_url:
            platform = platform_address()
            fund_account(sandbox_url, platform, 1_000_000_000)
            platform_bootstrap()
        publisher = make_publisher()
        articles = [
            make_article(publisher, slug="first-story", price_drops=PRICE),
            make_article(publisher, slug="second-story", price_drops=PRICE),
        ]
        return cls(
            publisher=publisher,
            api_key=make_api_key(publisher),
            articles=articles,
            sandbox_url=sandbox_url,
            platform=platform,
        )

    @property
    def publisher_auth(self) -> str:
        return f"Bearer {self.api_key}"

    def seat(self, *, funded_drops: int = 5_000_000) -> Seat:
        """A reader of the publisher with a channel: on the sandbox in a ledger world, else a
        tracked row only."""
        reader, token, key = make_reader(self.publisher)
        if not self.sandbox_url:
            channel = make_channel(key=key, owner_ref=reader.public_id, amount_drops=funded_drops)
            seat = Seat(reader=reader, token=token, key=key, channel_id=channel.channel_id)
        else:
            wallet = Wallet.create()
            fund_account(self.sandbox_url, wallet.address, funded_drops + 20_000_000)
            client = JsonRpcClient(self.sandbox_url)
            signed = autofill_and_sign(
                PaymentChannelCreate(
                    account=wallet.address,
                    destination=self.platform,
                    destination_tag=self.publisher.destination_tag,
                    amount=str(funded_drops),
                    settle_delay=3600,
                    public_key=key.public_key,
                ),
                client,
                wallet,
            )
            assert submit(signed, client).result["engine_result"] == "tesSUCCESS"
            result = wait_validated(self.sandbox_url, signed.get_hash())
            channel_id = created_channel_id(result)
            reader_channel_register(reader=reader, channel_id=channel_id)
            seat = Seat(reader=reader, token=token, key=key, channel_id=channel_id, wallet=wallet)
        self.seats.append(seat)
        return seat


def wait_validated(url: str, tx_hash: str, timeout: float = 30.0) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = sandbox_rpc(url, "tx", transaction=tx_hash)
        if result.get("validated"):
            assert result["meta"]["TransactionResult"] == "tesSUCCESS", result
            return result
        time.sleep(0.05)
    raise AssertionError("not validated in time")


def telemetry_session(
    publisher: Publisher, *, decision: str = "allow", fingerprint: str = "device-1"
) -> TelemetrySession:
    """The page's telemetry session, scored into the band of `decision`."""
    session = TelemetrySession.objects.create(
        public_id=f"tls_{secrets.token_urlsafe(16)}",
        publisher_ref=publisher.key,
        fingerprint_hash=fingerprint_hash({"canvas": fingerprint}) if fingerprint else "",
        score=SCORES[decision],
        category="human",
        events_count=100,
    )
    cache.delete(score_cache_key(session.public_id))
    return session


def pay(
    seat: Seat,
    article: Article,
    *,
    decision: str | None = "allow",
    fingerprint: str = "device-1",
) -> tuple[UnlockResult, TelemetrySession | None]:
    """Unlock `article` for the seat's reader with a signed claim for its price.
    `decision` None pays as an agent (no telemetry session)."""
    session = (
        telemetry_session(article.publisher, decision=decision, fingerprint=fingerprint)
        if decision is not None
        else None
    )
    snapshot = channel_snapshot(seat.channel_id)
    assert snapshot is not None
    amount = snapshot.accepted_drops + int(article.price_drops or 0)
    result = unlock_article(
        reader=seat.reader,
        article=article,
        claim=SubmittedClaim(
            channel_id=seat.channel_id,
            amount_drops=amount,
            signature=seat.key.sign(seat.channel_id, amount),
        ),
        telemetry_session=session.public_id if session is not None else None,
        user_agent="tests",
        client_ip="127.0.0.1",
    )
    return result, session


def unlock_of(seat: Seat, article: Article) -> Unlock:
    return Unlock.objects.get(reader=seat.reader, article=article)


def fetch(api: Any, article: Article, grant: str) -> Any:
    """GET the paid body through the content API, as the signer frame does."""
    return api.get(f"content/{article.publisher.key}/{article.slug}", auth=f"Bearer {grant}")


def dwell(session: TelemetrySession, article: Article, seconds: int) -> None:
    """The article has been visible `seconds` more in the session (fraud's record)."""
    view = ArticleView.objects.filter(session=session, article_ref=article.slug).first()
    ArticleView.objects.update_or_create(
        session=session,
        article_ref=article.slug,
        defaults={
            "publisher_ref": article.publisher.key,
            "visible_ms": (view.visible_ms if view else 0) + seconds * 1000,
            "words": 600,
        },
    )


def window_days() -> int:
    return int(settings.DROPGATE_DISPUTE_WINDOW_DAYS)
