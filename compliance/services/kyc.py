"""Publisher KYC: the tiers that gate payouts (compliance.selectors.payout_gate).

- **Tier 0**: nothing known; no payouts.
- **Tier 1**: business details — legal name, address, country and a VAT (or business tax)
  identifier validated offline with python-stdnum (format and check digits; VIES, which needs
  the network, is not consulted). An admin may verify a business whose country stdnum has no
  validator for (`kyc_tier_set`, with a reason).
- **Tier 2**: proof that the publisher controls its payout address: the address's own key
  signs `DGKYC\\0` ‖ ASCII publisher key ‖ `\\0` ‖ ASCII address (secp256k1 over SHA-512Half,
  DER; or Ed25519 over the bytes, exactly as a claim is signed), checked with the project's
  strict verifier (rippled's rules) and against the address the key derives. Required before
  any payout to a self-hosted address above the TFR threshold (EUR 1,000).
Every change is a KycEvent with its actor and reason.
"""

from __future__ import annotations

from django.db import transaction
from stdnum import get_cc_module
from stdnum.exceptions import ValidationError as StdnumValidationError
from xrpl.core.addresscodec import is_valid_classic_address
from xrpl.core.keypairs import derive_classic_address

from channels_app import clock
from channels_app.signatures import (
    InvalidSignature,
    MalformedInput,
    parse_hex,
    parse_public_key,
    verify_signature,
)
from compliance.exceptions import KycRefused
from compliance.geo import is_country
from compliance.models import KycEvent, KycTier, PublisherKyc

__all__ = [
    "KYC_PROOF_PREFIX",
    "kyc_address_prove",
    "kyc_business_submit",
    "kyc_proof_message",
    "kyc_tier_set",
    "vat_id_validate",
]

KYC_PROOF_PREFIX = b"DGKYC\x00"
_EU_VAT_PREFIX = {"GR": "EL"}


def kyc_proof_message(*, publisher_ref: str, address: str) -> bytes:
    return KYC_PROOF_PREFIX + publisher_ref.encode("ascii") + b"\x00" + address.encode("ascii")


def vat_id_validate(*, country: str, vat_id: str) -> str:
    """The compact, validated VAT (or business tax) id for `country`, via python-stdnum:
    its `vat` module for the country (EU ids may carry their country prefix). Raises
    KycRefused `vat_id_invalid`, or `vat_id_unsupported` when stdnum has no validator."""
    module = get_cc_module(country.lower(), "vat")
    if module is None:
        raise KycRefused(
            f"No offline validator for {country} tax ids; an admin can verify the business.",
            code="vat_id_unsupported",
        )
    raw = vat_id.strip()
    prefix = _EU_VAT_PREFIX.get(country, country)
    candidates = [raw]
    if raw.upper().startswith(prefix):
        candidates.append(raw[len(prefix) :])
    for candidate in candidates:
        try:
            return str(module.validate(candidate))
        except StdnumValidationError:
            continue
    raise KycRefused(f"{vat_id!r} is not a valid {country} VAT id.", code="vat_id_invalid")


def _kyc_row(publisher_ref: str) -> PublisherKyc:
    row, _ = PublisherKyc.objects.select_for_update().get_or_create(
        publisher_ref=publisher_ref, defaults={"updated_at": clock.now()}
    )
    return row


def _event(
    publisher_ref: str, action: str, actor: str, reason: str = "", **details: object
) -> None:
    KycEvent.objects.create(
        publisher_ref=publisher_ref,
        action=action,
        actor=actor[:150],
        reason=reason[:500],
        details=details,
        at=clock.now(),
    )


@transaction.atomic
def kyc_business_submit(
    *, publisher_ref: str, legal_name: str, address: str, country: str, vat_id: str, actor: str
) -> PublisherKyc:
    """Record the business details and validate the VAT id; the publisher reaches tier 1
    (a tier 2 publisher stays at tier 2)."""
    country = country.strip().upper()
    if not legal_name.strip() or not address.strip():
        raise KycRefused("The legal name and the address are required.", code="kyc_incomplete")
    if not is_country(country):
        raise KycRefused(f"{country!r} is not an ISO 3166-1 country code.", code="kyc_incomplete")
    compact = vat_id_validate(country=country, vat_id=vat_id)
    row = _kyc_row(publisher_ref)
    row.legal_name = legal_name.strip()[:200]
    row.address = address.strip()[:2000]
    row.country = country
    row.vat_id = compact
    row.business_verified_at = clock.now()
    row.tier = max(row.tier, KycTier.BUSINESS)
    row.updated_at = clock.now()
    row.save()
    _event(publisher_ref, "business_verified", actor, country=country, vat_id=compact)
    return row


@transaction.atomic
def kyc_address_prove(
    *,
    publisher_ref: str,
    address: str,
    public_key: str,
    signature: str,
    actor: str,
    address_kind: str = PublisherKyc.AddressKind.SELF_HOSTED,
    custodian_name: str = "",
) -> PublisherKyc:
    """Check the proof that `address`'s key signed this publisher's KYC message, and record
    the address as the publisher's proven payout address (tier 2, needs tier 1 first).

    Raises KycRefused: `kyc_tier_insufficient`, `address_invalid`, `proof_key_mismatch`
    (the key does not derive to the address), `proof_invalid`. Nothing changes on refusal.
    """
    if address_kind not in PublisherKyc.AddressKind.values:
        raise KycRefused("address_kind is self_hosted or custodial.", code="kyc_incomplete")
    if not is_valid_classic_address(address):
        raise KycRefused("Not a classic XRPL address.", code="address_invalid")
    try:
        key = parse_public_key(public_key)
        sig = parse_hex(signature, field="signature")
    except MalformedInput as exc:
        raise KycRefused(f"The proof is malformed: {exc.reason}.", code="proof_invalid") from exc
    if derive_classic_address(key.hex().upper()) != address:
        raise KycRefused("The key does not control this address.", code="proof_key_mismatch")
    try:
        verify_signature(
            message=kyc_proof_message(publisher_ref=publisher_ref, address=address),
            signature=sig,
            public_key=key,
        )
    except InvalidSignature as exc:
        raise KycRefused(
            f"The proof signature is not valid ({exc.reason}).", code="proof_invalid"
        ) from exc
    row = _kyc_row(publisher_ref)
    if row.tier < KycTier.BUSINESS:
        raise KycRefused("Business details (tier 1) come first.", code="kyc_tier_insufficient")
    row.payout_address = address
    row.address_kind = address_kind
    row.custodian_name = custodian_name.strip()[:200]
    row.proof_public_key = key.hex().upper()
    row.proof_message = (
        kyc_proof_message(publisher_ref=publisher_ref, address=address).hex().upper()
    )
    row.proof_signature = sig.hex().upper()
    row.address_proven_at = clock.now()
    row.tier = KycTier.ADDRESS
    row.updated_at = clock.now()
    row.save()
    _event(publisher_ref, "address_proven", actor, address=address, address_kind=address_kind)
    return row


@transaction.atomic
def kyc_tier_set(*, publisher_ref: str, tier: int, actor: str, reason: str) -> PublisherKyc:
    """An admin's decision on a publisher's tier (e.g. verifying a business by documents, or
    withdrawing a tier). A reason is required; tier 2 still needs a proven address."""
    if tier not in KycTier.values:
        raise KycRefused("tier is 0, 1 or 2.", code="kyc_incomplete")
    if not reason.strip():
        raise KycRefused("Give a reason.", code="kyc_reason_required")
    row = _kyc_row(publisher_ref)
    if tier == KycTier.ADDRESS and row.address_proven_at is None:
        raise KycRefused("Tier 2 needs a proven payout address.", code="kyc_tier_insufficient")
    previous = row.tier
    row.tier = tier
    if tier < KycTier.ADDRESS:
        row.address_proven_at = None if tier == KycTier.NONE else row.address_proven_at
    row.updated_at = clock.now()
    row.save()
    _event(publisher_ref, "tier_set", actor, reason, previous=previous, tier=tier)
    return row
