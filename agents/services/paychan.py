"""The `paychan` scheme, Dropgate's own: an agent opens a payment channel to the platform
once and pays each request with a cumulative claim, so repeat agents pay no ledger fee per
article. Claims go through channels_app's claim acceptance exactly as readers' do: the same
rules, journal and settlement.

Payload: `{"channel": hex64, "amount": cumulative drops, "signature": hex, "publicKey": hex66}`
(`publicKey` is needed only on the channel's first use, when Dropgate registers it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import transaction

from agents.exceptions import PaymentMalformed, PaymentRefused
from agents.models import AgentPayment
from channels_app.exceptions import ClaimRejected
from channels_app.selectors import channel_snapshot
from channels_app.services.channels import channel_register
from channels_app.services.claims import claim_accept
from channels_app.signatures import (
    InvalidSignature,
    MalformedInput,
    claim_message,
    parse_channel_id,
    parse_drops,
    parse_hex,
    verify_signature,
)
from paywall.models import Article

AGENT_OWNER_PREFIX = "agent:"


@dataclass(frozen=True)
class PaychanClaim:
    channel_id: str
    amount_drops: int
    signature: str
    public_key: str


def paychan_parse(payload: dict[str, Any]) -> PaychanClaim:
    """The claim in a `paychan` payload; PaymentMalformed (400) if it does not parse."""
    try:
        channel = parse_channel_id(str(payload.get("channel", ""))).hex().upper()
        amount = parse_drops(str(payload.get("amount", "")))
        signature = parse_hex(str(payload.get("signature", "")), field="signature").hex().upper()
    except MalformedInput as exc:
        raise PaymentMalformed(f"The paychan claim is malformed: {exc.reason}.") from exc
    public_key = str(payload.get("publicKey", "")).upper()
    return PaychanClaim(
        channel_id=channel, amount_drops=amount, signature=signature, public_key=public_key
    )


def paychan_channel_owner(claim: PaychanClaim) -> str:
    """The owner reference of the claim's channel, registering it on its first use.

    A channel is registered only after the claim's signature verifies under `publicKey`, and
    channel_register checks that key is the channel's on the ledger: only the holder of the
    claim key can make a channel an agent's. Readers' channels are never agents' channels
    (`channel_not_agent`). Raises PaymentRefused, ChannelRejected, LedgerUnavailable.
    """
    snapshot = channel_snapshot(claim.channel_id)
    if snapshot is not None:
        if not snapshot.owner_ref.startswith(AGENT_OWNER_PREFIX):
            raise PaymentRefused("This channel belongs to a reader.", code="channel_not_agent")
        return snapshot.owner_ref
    try:
        verify_signature(
            message=claim_message(bytes.fromhex(claim.channel_id), claim.amount_drops),
            signature=bytes.fromhex(claim.signature),
            public_key=bytes.fromhex(claim.public_key),
        )
    except (InvalidSignature, ValueError) as exc:
        raise PaymentRefused(
            "A new channel's first claim must verify under payload.publicKey.",
            code="claim_signature_invalid",
        ) from exc
    from channels_app import ledger

    entry = ledger.channel_entry(claim.channel_id)
    owner = AGENT_OWNER_PREFIX + (entry.source_address if entry is not None else "")
    registered = channel_register(
        channel_id=claim.channel_id,
        public_key=claim.public_key,
        owner_ref=owner,
        destination_tag=None,
    )
    return registered.owner_ref


def paychan_pay(
    *,
    claim: PaychanClaim,
    article: Article,
    owner_ref: str,
    price_drops: int,
    operator_id: int | None,
    risk_decision_id: int | None,
) -> AgentPayment:
    """Accept the claim for exactly `price_drops` and record the sale, together.

    channels_app's ClaimRejected codes pass through (claim_underpaid, claim_replayed,
    claim_stale, claim_exceeds_channel, channel_closing, claim_signature_invalid …).
    """
    publisher = article.publisher
    reference = f"agent:{publisher.key}:{article.pk}:{owner_ref[len(AGENT_OWNER_PREFIX) :]}"
    with transaction.atomic():
        accepted = claim_accept(
            channel_id=claim.channel_id,
            amount_drops=claim.amount_drops,
            signature=claim.signature,
            min_increment_drops=price_drops,
            max_increment_drops=price_drops,
            payee_ref=publisher.key,
            fee_bps=publisher.fee_bps,
            reference=reference,
        )
        return AgentPayment.objects.create(
            scheme=AgentPayment.Scheme.PAYCHAN,
            status=AgentPayment.Status.PAID,
            publisher_id=publisher.pk,
            article=article,
            payer=owner_ref[len(AGENT_OWNER_PREFIX) :],
            operator_id=operator_id,
            amount_drops=accepted.increment_drops,
            fee_drops=accepted.fee_drops,
            channel_id=accepted.channel_id,
            claim_id=accepted.claim_id,
            risk_decision_id=risk_decision_id,
        )


__all__ = ["ClaimRejected", "paychan_channel_owner", "paychan_parse", "paychan_pay"]
