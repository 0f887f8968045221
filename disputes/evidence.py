"""Evidence: link a dispute to the records it rests on (at filing), and read what they say
into the frozen `Evidence` the resolvers judge (at every resolution).

The records are the product's own, written when the unlock happened: the `Unlock` (its claim
id, channel and fraud decision), the accepted `Claim` and its `Channel` (amount, signature,
key), fraud's `RiskDecisionRecord` and its telemetry session's dwell on the article, paywall's
`ContentDelivery` rows, channels_app's settlements, and the reader's key history and
key-compromise reports. Nothing is copied into the dispute.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import Count, Q

from channels_app import clock
from channels_app.models import Channel, Claim, Settlement, SettlementStatus
from channels_app.services.integrity import StateIntegrityError, claim_verify
from channels_app.signatures import MalformedInput, claim_message, is_valid_signature
from disputes.models import Dispute, DisputeEvidence, KeyCompromiseReport
from disputes.types import DeliveryFact, Evidence, Policy
from fraud.models.telemetry import ArticleView, RiskDecisionRecord
from paywall.models import ContentDelivery, Reader, ReaderKeyRotation, Unlock

__all__ = [
    "evidence_collect",
    "evidence_link",
    "evidence_summary",
    "policy_current",
    "reader_key_at",
    "unlock_risk_decision",
]


def policy_current() -> Policy:
    return Policy(
        bounce_seconds=int(settings.DROPGATE_DISPUTE_BOUNCE_SECONDS),
        repeat_filer=int(settings.DROPGATE_DISPUTE_REPEAT_FILER),
        auto_limit_drops=int(settings.DROPGATE_DISPUTE_AUTO_LIMIT_DROPS),
    )


def unlock_risk_decision(unlock: Unlock) -> RiskDecisionRecord | None:
    """The fraud decision the unlock was charged under. Unlocks made before the link was
    recorded fall back to the reader's last allow/hold decision on the article before it."""
    if unlock.risk_decision_id is not None:
        return RiskDecisionRecord.objects.filter(pk=unlock.risk_decision_id).first()
    return (
        RiskDecisionRecord.objects.filter(
            publisher_ref=unlock.article.publisher.key,
            reader_ref=unlock.reader.public_id,
            article_ref=unlock.article.slug,
            action__in=("allow", "hold"),
            created_at__lte=unlock.created_at,
        )
        .order_by("-created_at", "-pk")
        .first()
    )


def reader_key_at(reader: Reader, moment: datetime) -> str:
    """The reader's registered claim key at `moment` (from its rotation history)."""
    rotations = list(ReaderKeyRotation.objects.filter(reader=reader).order_by("at", "pk"))
    key = reader.claim_public_key
    for rotation in reversed(rotations):
        if rotation.at > moment:
            key = rotation.old_public_key
        else:
            break
    return key.upper()


def _compromise_report(unlock: Unlock, channel: Channel | None) -> KeyCompromiseReport | None:
    """The reader's first report, before the unlock, of the key that signed its claim."""
    reports = KeyCompromiseReport.objects.filter(
        reader_id=unlock.reader_id, reported_at__lt=unlock.created_at
    )
    if channel is not None:
        reports = reports.filter(public_key__iexact=channel.public_key)
    return reports.order_by("reported_at", "pk").first()


def evidence_link(dispute: Dispute) -> DisputeEvidence:
    """Name the records `dispute` rests on. Precondition: inside the filing transaction."""
    unlock = dispute.unlock
    claim = Claim.objects.filter(pk=unlock.claim_id).select_related("channel").first()
    channel = claim.channel if claim is not None else None
    if channel is None:
        channel = Channel.objects.filter(channel_id=unlock.channel_id).first()
    decision = unlock_risk_decision(unlock)
    return DisputeEvidence.objects.create(
        dispute=dispute,
        claim=claim,
        channel=channel,
        risk_decision=decision,
        telemetry_session_id=decision.session_id if decision is not None else None,
        key_compromise_report=_compromise_report(unlock, channel),
        collected_at=clock.now(),
    )


def _claim_authentic(claim: Claim | None, channel: Channel | None, registered: str) -> bool:
    """The claim row is intact, its signature verifies under the channel's key, and that key
    is `registered` (the reader's at the unlock)."""
    if claim is None or channel is None:
        return False
    try:
        claim_verify(claim, channel=channel)
        message = claim_message(bytes.fromhex(channel.channel_id), claim.amount_drops)
        signature = bytes.fromhex(claim.signature)
        key = bytes.fromhex(channel.public_key)
    except (StateIntegrityError, MalformedInput, ValueError):
        return False
    return channel.public_key.upper() == registered and is_valid_signature(
        message=message, signature=signature, public_key=key
    )


def _dwell_ms(decision: RiskDecisionRecord | None) -> int | None:
    """The article's visible time in the decision's telemetry session (None: no session)."""
    if decision is None or decision.session_id is None:
        return None
    visible = (
        ArticleView.objects.filter(session_id=decision.session_id, article_ref=decision.article_ref)
        .values_list("visible_ms", flat=True)
        .first()
    )
    return int(visible or 0)


def evidence_collect(
    dispute: Dispute, *, links: DisputeEvidence | None = None, unlock: Unlock | None = None
) -> Evidence:
    """What `dispute`'s linked records say now (`links` and `unlock`, if the caller has them
    loaded, save reading them again)."""
    if unlock is None:
        unlock = Unlock.objects.select_related("reader", "article__publisher").get(
            pk=dispute.unlock_id
        )
    links = links or DisputeEvidence.objects.filter(dispute=dispute).first()
    claim = links.claim if links is not None else None
    channel = links.channel if links is not None else None
    decision = links.risk_decision if links is not None else unlock_risk_decision(unlock)
    deliveries = tuple(
        DeliveryFact(
            at=row.at,
            status=row.status,
            bytes=row.bytes,
            sha256=row.sha256,
            dwell_ms_at=row.dwell_ms_at,
        )
        for row in ContentDelivery.objects.filter(unlock=unlock).order_by("at", "pk")
    )
    charged_at = claim.accepted_at if claim is not None else unlock.created_at
    earlier = Claim.objects.filter(
        payee_ref=unlock.article.publisher.key,
        reference=unlock.claim_reference,
        accepted_at__lte=charged_at,
    ).exclude(pk=unlock.claim_id)
    fingerprint = decision.fingerprint_hash if decision is not None else ""
    seen_before = False
    if fingerprint:
        earlier_decisions = Unlock.objects.filter(
            reader_id=unlock.reader_id, pk__lt=unlock.pk, risk_decision_id__isnull=False
        ).values("risk_decision_id")
        seen_before = RiskDecisionRecord.objects.filter(
            pk__in=earlier_decisions, fingerprint_hash=fingerprint
        ).exists()
    window = timedelta(days=int(settings.DROPGATE_DISPUTE_REPEAT_WINDOW_DAYS))
    counts = Dispute.objects.filter(reader_id=dispute.reader_id).aggregate(
        recent=Count("pk", filter=Q(filed_at__gt=dispute.filed_at - window, pk__lte=dispute.pk)),
        before=Count("pk", filter=Q(pk__lt=dispute.pk)),
    )
    # A claim key is used once per reader, so a channel under the reader's current key was
    # under its registered key at the unlock too; only an older key needs the history.
    current = unlock.reader.claim_public_key.upper()
    registered = (
        current
        if channel is not None and channel.public_key.upper() == current
        else reader_key_at(unlock.reader, unlock.created_at)
    )
    return Evidence(
        reason=dispute.reason,
        dispute_class=dispute.dispute_class,
        amount_drops=dispute.amount_drops,
        unlocked_at=charged_at,
        filed_at=dispute.filed_at,
        deliveries=deliveries,
        dwell_ms=_dwell_ms(decision),
        earlier_charges_at=tuple(
            earlier.order_by("accepted_at").values_list("accepted_at", flat=True)
        ),
        grant_ttl_seconds=int(settings.DROPGATE_GRANT_TTL_SECONDS),
        claim_signed_by_registered_key=_claim_authentic(claim, channel, registered),
        fraud_decision=decision.action if decision is not None else None,
        fingerprint_seen_before=seen_before,
        key_compromise_reported_before=(
            links.key_compromise_report_id is not None
            if links is not None
            else _compromise_report(unlock, channel) is not None
        ),
        reader_disputes_recent=int(counts["recent"]),
        reader_disputes_before=int(counts["before"]),
    )


def _settlement_state(channel: Channel | None, claim: Claim | None) -> dict[str, Any]:
    if channel is None or claim is None:
        return {"state": "unknown"}
    redeemed = channel.ledger_balance_drops >= claim.amount_drops
    if redeemed:
        state = "redeemed"
    elif channel.status == "closed":
        state = "written_off"
    else:
        state = "unredeemed"
    settlements = [
        {
            "tx_hash": s.tx_hash,
            "balance_drops": s.balance_drops,
            "status": s.status,
            "close": s.close,
            "at": s.updated_at.isoformat(),
        }
        for s in Settlement.objects.filter(channel=channel).order_by("pk")
        if s.status == SettlementStatus.VALIDATED or s.balance_drops >= claim.amount_drops
    ]
    return {
        "state": state,
        "channel_status": channel.status,
        "ledger_balance_drops": channel.ledger_balance_drops,
        "settlements": settlements,
    }


def evidence_summary(dispute: Dispute) -> dict[str, Any]:
    """Everything a reviewer (or an outside arbitrator) needs on one page, read from the
    linked records: the charge, the claim, deliveries, the fraud decision and dwell,
    settlement, key reports, and what the resolvers make of it now."""
    from disputes.resolvers.consensus import resolve

    links = DisputeEvidence.objects.filter(dispute=dispute).first()
    evidence = evidence_collect(dispute, links=links)
    unlock = dispute.unlock
    claim = links.claim if links is not None else None
    channel = links.channel if links is not None else None
    decision = links.risk_decision if links is not None else None
    view = None
    if decision is not None and decision.session_id is not None:
        view = ArticleView.objects.filter(
            session_id=decision.session_id, article_ref=decision.article_ref
        ).first()
    consensus = resolve(evidence, policy_current())
    return {
        "unlock": {
            "id": unlock.pk,
            "article": unlock.article.slug,
            "reader": unlock.reader.public_id,
            "amount_drops": unlock.amount_drops,
            "at": unlock.created_at.isoformat(),
            "fiat": (
                {
                    "amount": str(unlock.fiat_amount),
                    "currency": unlock.fiat_currency,
                    "rate": str(unlock.rate),
                    "rate_source": unlock.rate_source,
                }
                if unlock.fiat_amount is not None
                else None
            ),
        },
        "claim": (
            {
                "id": claim.pk,
                "channel_id": channel.channel_id if channel else unlock.channel_id,
                "cumulative_drops": claim.amount_drops,
                "increment_drops": claim.increment_drops,
                "signature": claim.signature,
                "channel_public_key": channel.public_key if channel else "",
                "registered_key_at_unlock": reader_key_at(unlock.reader, unlock.created_at),
                "signed_by_registered_key": evidence.claim_signed_by_registered_key,
                "accepted_at": claim.accepted_at.isoformat(),
            }
            if claim is not None
            else None
        ),
        "deliveries": [
            {
                "at": d.at.isoformat(),
                "status": d.status,
                "bytes": d.bytes,
                "sha256": d.sha256,
                "dwell_ms_at": d.dwell_ms_at,
            }
            for d in evidence.deliveries
        ],
        "delivered": evidence.delivered,
        "fraud_decision": (
            {
                "id": decision.pk,
                "action": decision.action,
                "score": decision.score,
                "reasons": decision.reasons,
                "category": decision.category,
                "fingerprint_hash": decision.fingerprint_hash,
                "fingerprint_seen_before": evidence.fingerprint_seen_before,
                "at": decision.created_at.isoformat(),
            }
            if decision is not None
            else None
        ),
        "dwell": {
            "visible_ms": view.visible_ms if view is not None else evidence.dwell_ms,
            "after_delivery_ms": evidence.dwell_after_delivery_ms,
            "words": view.words if view is not None else None,
        },
        "settlement": _settlement_state(channel, claim),
        "earlier_charges_at": [at.isoformat() for at in evidence.earlier_charges_at],
        "key_compromise_reported_before": evidence.key_compromise_reported_before,
        "reader_disputes_recent": evidence.reader_disputes_recent,
        "reader_disputes_before": evidence.reader_disputes_before,
        "resolvers_now": {
            "votes": [
                {"resolver": v.resolver, "vote": v.side, "reasons": list(v.reasons)}
                for v in consensus.votes
            ],
            "winner": consensus.winner,
            "reasons": list(consensus.reasons),
        },
    }
