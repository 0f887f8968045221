"""Unlocking an article: accept the reader's claim and record the unlock together, then grant.

Money moves only in `unlock_article`, inside one transaction that holds both the accepted
claim (channels_app) and the Unlock row. The unique (reader, article) constraint decides
races: the loser's claim is rolled back and it gets the winner's unlock, charged 0.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction

from channels_app.crashpoints import crash_point
from channels_app.exceptions import ClaimRejected
from channels_app.selectors import channel_snapshot
from channels_app.services.claims import claim_accept
from channels_app.signatures import MalformedInput, parse_channel_id
from channels_app.types import TaxShare
from compliance.services.unlocks import compliance_unlock_check, compliance_unlock_record
from compliance.types import SubmittedEvidence, UnlockCompliance
from fraud.services.cases import case_open
from fraud.services.decisions import risk_decide
from fraud.types import RiskDecision
from paywall import selectors
from paywall.models import Article, Reader, Unlock
from paywall.services.exceptions import (
    ChannelNotOwned,
    ChannelRetired,
    IdempotencyKeyReused,
    InvalidInput,
    PaymentRequired,
    PublisherMismatch,
    RiskChallenge,
    RiskRefused,
    VelocityLimited,
)
from paywall.services.grants import grant_issue
from paywall.services.pricing import price_quote
from paywall.types import Drops, Quote, SubmittedClaim, UnlockResult

__all__ = ["unlock_article", "unlocks_restore"]

logger = logging.getLogger(__name__)

MAX_IDEMPOTENCY_KEY_CHARS = 100
MAX_RESTORE_ARTICLES = 100


def _granted(*, reader: Reader, article: Article, amount: int, created: bool) -> UnlockResult:
    return UnlockResult(
        article=article,
        amount_drops=Drops(amount),
        grant=grant_issue(reader=reader, article=article),
        created=created,
    )


def _payment_details(article: Article, quote: Quote) -> dict[str, Any]:
    return {
        "article": article.slug,
        "price_drops": str(quote.drops),
        "destination_tag": article.publisher.destination_tag,
        "fiat_amount": None if quote.fiat_amount is None else str(quote.fiat_amount),
        "currency": quote.currency,
    }


def _owned_channel_id(*, reader: Reader, channel_id: str) -> tuple[str, str, str]:
    """The canonical id, public key and funding (source) address of the reader's own channel
    opened for its current claim key; ClaimRejected, ChannelNotOwned or ChannelRetired (an
    older key's channel)."""
    try:
        canonical = parse_channel_id(channel_id).hex().upper()
    except MalformedInput as exc:
        error = ClaimRejected(f"The claim is malformed: {exc.reason}.", code="claim_malformed")
        error.http_status = 400
        raise error from exc
    snapshot = channel_snapshot(canonical)
    if snapshot is None:
        error = ClaimRejected("The channel is not registered.", code="channel_unknown")
        error.http_status = 404
        raise error
    if snapshot.owner_ref != reader.public_id:
        raise ChannelNotOwned()
    if snapshot.public_key.upper() != reader.claim_public_key.upper():
        raise ChannelRetired()
    return canonical, snapshot.public_key.upper(), snapshot.source_address


def _lock_reader_key(*, reader: Reader, channel_key: str) -> None:
    """Take the reader's row lock and check the channel is still under its claim key.

    Precondition: inside the transaction that charges the claim. reader_claim_key_rotate takes
    the same lock, so a claim commits either before a rotation (and its settlement redeems
    it) or is refused after it; it never slips in behind the close.
    """
    current = (
        Reader.objects.select_for_update()
        .values_list("claim_public_key", flat=True)
        .get(pk=reader.pk)
    )
    if current.upper() != channel_key:
        raise ChannelRetired()


def _risk_check(
    *,
    reader: Reader,
    article: Article,
    channel_id: str,
    amount_drops: int,
    telemetry_session: str | None,
    user_agent: str,
    client_ip: str,
) -> RiskDecision:
    """fraud's decision on a charge about to be made: raises RiskRefused, RiskChallenge or
    VelocityLimited; returns an allow or a hold."""
    decision = risk_decide(
        publisher_ref=article.publisher.key,
        reader_ref=reader.public_id,
        article_ref=article.slug,
        channel_id=channel_id,
        amount_drops=amount_drops,
        telemetry_session=telemetry_session,
        user_agent=user_agent,
        client_ip=client_ip,
    )
    if decision.velocity_limit is not None:
        raise VelocityLimited(
            retry_after=decision.retry_after_seconds, limit=decision.velocity_limit
        )
    if decision.action == "refuse":
        raise RiskRefused()
    if decision.action == "challenge":
        raise RiskChallenge(challenge=dict(decision.challenge or {}))
    return decision


def _tax_share(check: UnlockCompliance) -> TaxShare | None:
    vat = check.decision.vat
    return TaxShare(subaccount=vat.country, drops=vat.tax_drops) if vat and vat.tax_drops else None


def _hold_revenue(
    *, reader: Reader, article: Article, unlock: Unlock, decision: RiskDecision, held_drops: int
) -> None:
    """A risky unlock was charged: hold the publisher's share of it (after the platform fee)
    in a `risky_unlock` case for review."""
    case_open(
        kind="risky_unlock",
        publisher_ref=article.publisher.key,
        subject=reader.public_id,
        evidence={
            "article": article.slug,
            "channel_id": unlock.channel_id,
            "amount_drops": unlock.amount_drops,
            "score": decision.score,
            "reasons": list(decision.reasons),
            "category": decision.category,
            "decision": decision.record_id,
        },
        score=decision.score,
        hold_drops=held_drops,
        reader_refs=[reader.public_id],
    )


def unlock_article(
    *,
    reader: Reader,
    article: Article,
    claim: SubmittedClaim | None,
    idempotency_key: str = "",
    telemetry_session: str | None = None,
    user_agent: str = "",
    client_ip: str = "",
    evidence: SubmittedEvidence | None = None,
) -> UnlockResult:
    """Give `reader` a grant for `article`, charging the claim if it has not paid before.

    - Paid before: a new grant, amount 0; any claim sent along is not used.
    - Not paid, no claim: PaymentRequired (402) with the price.
    - Otherwise the claim must be on the reader's own channel (ChannelNotOwned) and add at
      least the quoted drops; channels_app's ClaimRejected codes pass through unchanged.

    The claim and the Unlock commit together before this returns, so a 2xx is only ever sent
    for a durable payment. The grant is signed after the commit: if signing fails, the reader
    has paid and re-entering returns a grant at 0. Not decorated with @transaction.atomic for
    that reason; the money part is its own atomic block.

    With `idempotency_key`, a repeat of the same request returns the first result's amount
    (with a new grant); reusing the key for another article raises IdempotencyKeyReused.

    Just before a claim is charged, fraud decides on it (`telemetry_session` names the page's
    telemetry session; none means an agent): RiskRefused (403), RiskChallenge (403, with the
    challenge) or VelocityLimited (429) charge nothing; a hold charges, then holds the
    revenue in a `risky_unlock` case once the payment has committed.

    Before fraud, compliance decides (compliance.services.unlocks; `evidence` is what the SDK
    reports of the reader's location): JurisdictionBlocked (451), CountryConfirmationRequired
    (409), ConsentRequired (428) or ReaderLimitReached (403) charge nothing. An allowed charge
    journals the VAT/GST included in the price and records the decision with the claim.
    """
    if article.publisher_id != reader.publisher_id:
        raise PublisherMismatch()
    if len(idempotency_key) > MAX_IDEMPOTENCY_KEY_CHARS:
        raise InvalidInput(
            f"Idempotency-Key may be at most {MAX_IDEMPOTENCY_KEY_CHARS} characters."
        )
    prior = selectors.unlock_find_by_idempotency_key(reader=reader, key=idempotency_key)
    if prior is not None:
        if prior.article_id != article.pk:
            raise IdempotencyKeyReused()
        return _granted(reader=reader, article=article, amount=prior.amount_drops, created=False)

    existing = selectors.unlock_find(reader=reader, article=article)
    if existing is not None:
        return _granted(reader=reader, article=article, amount=0, created=False)

    quote = price_quote(article=article)
    if claim is None:
        raise PaymentRequired(details=_payment_details(article, quote))
    channel_id, channel_key, funding = _owned_channel_id(reader=reader, channel_id=claim.channel_id)
    compliance = compliance_unlock_check(
        reader_ref=reader.public_id,
        publisher_ref=article.publisher.key,
        article_ref=article.slug,
        funding_address=funding,
        amount_drops=int(quote.drops),
        evidence=evidence,
        client_ip=client_ip,
        agent=telemetry_session is None,
    )
    decision = _risk_check(
        reader=reader,
        article=article,
        channel_id=channel_id,
        amount_drops=int(quote.drops),
        telemetry_session=telemetry_session,
        user_agent=user_agent,
        client_ip=client_ip,
    )
    publisher = article.publisher
    # Short enough for channels_app's 128-character reference; names payee, article, payer.
    reference = f"unlock:{publisher.key}:{article.pk}:{reader.public_id}"
    try:
        with transaction.atomic():
            _lock_reader_key(reader=reader, channel_key=channel_key)
            accepted = claim_accept(
                channel_id=channel_id,
                amount_drops=claim.amount_drops,
                signature=claim.signature,
                min_increment_drops=quote.drops,
                max_increment_drops=quote.drops,
                payee_ref=publisher.key,
                fee_bps=publisher.fee_bps,
                reference=reference,
                tax=_tax_share(compliance),
            )
            compliance_unlock_record(
                check=compliance,
                claim_id=accepted.claim_id,
                claim_reference=reference,
                charged_drops=accepted.increment_drops,
            )
            unlock = Unlock.objects.create(
                reader=reader,
                article=article,
                amount_drops=accepted.increment_drops,
                fiat_amount=quote.fiat_amount,
                fiat_currency=quote.currency or "",
                rate=quote.rate,
                rate_source=quote.rate_source or "",
                rate_as_of=quote.rate_as_of,
                channel_id=accepted.channel_id,
                claim_id=accepted.claim_id,
                claim_reference=reference[:128],
                risk_decision_id=decision.record_id,
                idempotency_key=idempotency_key,
            )
    except (IntegrityError, ClaimRejected) as exc:
        # A concurrent unlock of the same article committed first: either our Unlock row hit
        # the unique constraint (our claim rolled back with the savepoint) or the winner's
        # claim moved the channel under ours. Nothing was charged; hand out the winner's.
        if selectors.unlock_find(reader=reader, article=article) is not None:
            logger.info("concurrent unlock of article %s by %s lost", article.pk, reader.pk)
            return _granted(reader=reader, article=article, amount=0, created=False)
        if isinstance(exc, IntegrityError) and selectors.unlock_find_by_idempotency_key(
            reader=reader, key=idempotency_key
        ):
            raise IdempotencyKeyReused() from exc
        raise
    if decision.action == "hold":
        # After the commit (at once outside an outer transaction); a failure to open the
        # case is logged, never turned into an error for a payment that went through.
        transaction.on_commit(
            partial(
                _hold_revenue,
                reader=reader,
                article=article,
                unlock=unlock,
                decision=decision,
                held_drops=accepted.increment_drops - accepted.tax_drops - accepted.fee_drops,
            ),
            robust=True,
        )
    # Kill tests: the payment is durable but the reader has had no answer; a retry must
    # re-enter at 0 rather than charge again.
    crash_point("unlock_after_commit")
    return _granted(reader=reader, article=article, amount=unlock.amount_drops, created=True)


def unlocks_restore(*, reader: Reader, slugs: Sequence[str]) -> list[UnlockResult]:
    """Fresh grants for the articles among `slugs` that `reader` has already paid for.

    A returning reader's page asks for all its articles at once. Nothing is charged and no
    claim is involved: each result is a re-entry (amount 0, `created` False). Articles the
    reader has not paid for, and slugs that name no article, are simply left out; so are
    other readers' unlocks, even of the same article. At most MAX_RESTORE_ARTICLES slugs
    (InvalidInput otherwise).
    """
    if len(slugs) > MAX_RESTORE_ARTICLES:
        raise InvalidInput(f"At most {MAX_RESTORE_ARTICLES} articles can be restored at once.")
    return [
        _granted(reader=reader, article=article, amount=0, created=False)
        for article in selectors.unlocked_articles(reader=reader, slugs=slugs)
    ]
