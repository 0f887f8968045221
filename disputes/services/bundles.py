"""Tier 3: the signed evidence bundle handed to an outside arbitrator.

The bundle is canonical JSON (sorted keys, no spaces, UTF-8) of the dispute, its evidence as
read from the linked records (disputes.evidence.evidence_summary), its audit trail and
appeals. What is signed is `BUNDLE_CONTEXT` followed by those bytes, with the platform's
dispute-evidence key through the key-management service (Ed25519; `channels_app.keys`), so
the signature can never be mistaken for a claim or a transaction. Anyone holding the bundle,
the signature and the public key can check it: `bundle_verify`, or
`manage.py disputes_bundle_verify FILE`.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from channels_app import clock
from channels_app.keys.services import evidence_sign
from channels_app.signatures import is_valid_signature
from disputes.evidence import evidence_summary
from disputes.models import Dispute, DisputeEvent, EvidenceBundle
from disputes.services.core import event

__all__ = ["BUNDLE_CONTEXT", "bundle_document", "bundle_export", "bundle_verify", "canonical_json"]

BUNDLE_CONTEXT = b"dropgate-dispute-evidence-v1\x00"


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def _content(dispute: Dispute) -> dict[str, Any]:
    return {
        "dispute": {
            "id": dispute.pk,
            "reason": dispute.reason,
            "class": dispute.dispute_class,
            "message": dispute.message,
            "amount_drops": dispute.amount_drops,
            "status": dispute.status,
            "tier": dispute.tier,
            "filed_at": dispute.filed_at.isoformat(),
            "publisher": dispute.publisher.key,
            "reader": dispute.reader.public_id,
            "publisher_statement": dispute.publisher_statement,
            "reasons": list(dispute.reasons),
        },
        "evidence": evidence_summary(dispute),
        "events": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor_label,
                "action": e.action,
                "from": e.from_status,
                "to": e.to_status,
                "reason": e.reason,
                "details": e.details,
            }
            for e in dispute.events.order_by("at", "pk")
        ],
        "appeals": [
            {
                "side": a.side,
                "filed_at": a.filed_at.isoformat(),
                "message": a.message,
                "appealed_status": a.appealed_status,
                "appealed_decided_by": a.appealed_decided_by,
            }
            for a in dispute.appeals.order_by("filed_at", "pk")
        ],
        "exported_at": clock.now().isoformat(),
    }


def bundle_export(dispute: Dispute, *, by: Any) -> EvidenceBundle:
    """Build, sign and store the dispute's evidence bundle. Precondition: the dispute row is
    locked (inside its transaction)."""
    body = canonical_json(_content(dispute))
    signed = evidence_sign(message=BUNDLE_CONTEXT + body.encode("utf-8"))
    bundle = EvidenceBundle.objects.create(
        dispute=dispute,
        created_at=clock.now(),
        body=body,
        sha256=hashlib.sha256(body.encode("utf-8")).hexdigest(),
        key_id=signed.key_id,
        algorithm=signed.algorithm,
        public_key=signed.public_key,
        signature=signed.signature,
    )
    event(
        dispute, DisputeEvent.Action.BUNDLE_EXPORTED, by=by, reason=bundle.sha256, bundle=bundle.pk
    )
    return bundle


def bundle_document(bundle: EvidenceBundle) -> dict[str, Any]:
    """The file an arbitrator receives: the bundle and how to check its signature."""
    return {
        "bundle": json.loads(bundle.body),
        "signature": {
            "context": BUNDLE_CONTEXT.decode("ascii").rstrip("\x00"),
            "algorithm": bundle.algorithm,
            "key_id": bundle.key_id,
            "public_key": bundle.public_key,
            "signature": bundle.signature,
            "sha256": bundle.sha256,
            "signed": "context + NUL + canonical JSON of `bundle` (sorted keys, no spaces, UTF-8)",
        },
    }


def bundle_verify(*, body: str, signature_hex: str, public_key_hex: str) -> bool:
    """Whether `signature_hex` by `public_key_hex` signs the bundle whose canonical JSON is
    `body`. Never raises."""
    try:
        signature = bytes.fromhex(signature_hex)
        key = bytes.fromhex(public_key_hex)
    except (TypeError, ValueError):
        return False
    return is_valid_signature(
        message=BUNDLE_CONTEXT + body.encode("utf-8"), signature=signature, public_key=key
    )
