"""Rebuilding channel state from the ledger and the stored signed claims, after a restore.

Two sources are trusted, and neither is the Channel table:

- the validated ledger, for what a channel holds, has paid out and when it closes
  (`ledger_entry`; for a channel already gone, the metadata of our own settlements);
- the readers' signed claims, each re-verified with `channels_app.signatures` against the
  channel's key *as the ledger states it*, for what the platform may redeem.

Which channels exist is known from the rows that refer to them: Channel rows, claims (their
journal entry `claim:<pk>` names the channel), settlements (the signed transaction names it)
and the journal's `claims_receivable` sub-accounts. A missing Channel row is recreated with the
primary key its claims and settlements still point to.

A rebuilt channel gets: the ledger's identity, amount, Balance, Expiration and CancelAfter;
accepted = the highest verified claim (never below what the ledger already paid); status from
the ledger; a fresh integrity tag. Claims whose signature verifies but whose tag does not
(a changed key) are re-sealed with their original time; claims whose signature does not
verify cannot be redeemed and are removed, and the report keeps their full content. Each
channel is rebuilt in its own transaction under its row lock. Nothing is journaled here: the
next settlement run books whatever the ledger paid that the journal has not seen.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from django.core.management.color import no_style
from django.db import connection, transaction
from xrpl.core.binarycodec import decode

from channels_app import clock, ledger
from channels_app.models import (
    Channel,
    ChannelStatus,
    Claim,
    JournalLine,
    Settlement,
    SettlementStatus,
)
from channels_app.services.integrity import channel_is_intact, integrity_alerts_resolve
from channels_app.signatures import InvalidSignature, claim_message, verify_signature
from channels_app.types import LedgerChannel

logger = logging.getLogger(__name__)

_CHANNEL_ID = re.compile(r"^[0-9A-F]{64}$")

# Fields a rebuild may change, in report order.
_REBUILT_FIELDS = (
    "owner_ref",
    "source_address",
    "destination_address",
    "destination_tag",
    "public_key",
    "amount_drops",
    "ledger_balance_drops",
    "accepted_drops",
    "settle_delay",
    "expiration",
    "cancel_after",
    "status",
    "mac",
)


@dataclass(frozen=True)
class ClaimRemoved:
    pk: int
    amount_drops: int
    increment_drops: int
    signature: str
    payee_ref: str
    reference: str
    accepted_at: str
    reason: str


@dataclass(frozen=True)
class ChannelRecovery:
    channel_id: str
    channel_pk: int | None
    # "unchanged", "rebuilt", "recreated", or "unrecoverable" (see `note`)
    action: str
    changes: dict[str, list[Any]] = field(default_factory=dict)
    claims_verified: int = 0
    highest_verified_drops: int = 0
    claims_resealed: tuple[int, ...] = ()
    claims_removed: tuple[ClaimRemoved, ...] = ()
    # Recreated without an owner (pass one with --owner), or kept from a row that failed its
    # check (the owner is not on the ledger: confirm it, or pass the right one with --owner).
    owner_unknown: bool = False
    owner_unverified: bool = False
    on_ledger: bool = True
    note: str = ""


@dataclass(frozen=True)
class RecoveryReport:
    dry_run: bool
    channels: tuple[ChannelRecovery, ...]
    # Channel pks that claims or settlements point to but no channel id could be found for.
    orphan_channel_pks: tuple[int, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.orphan_channel_pks and all(
            c.action != "unrecoverable" for c in self.channels
        )

    def as_dict(self) -> dict[str, Any]:
        counts: dict[str, int] = defaultdict(int)
        for channel in self.channels:
            counts[channel.action] += 1
        return {
            "dry_run": self.dry_run,
            "ok": self.ok,
            "summary": {
                "channels": len(self.channels),
                **dict(sorted(counts.items())),
                "claims_resealed": sum(len(c.claims_resealed) for c in self.channels),
                "claims_removed": sum(len(c.claims_removed) for c in self.channels),
            },
            "channels": [asdict(c) for c in self.channels],
            "orphan_channel_pks": list(self.orphan_channel_pks),
        }


@dataclass(frozen=True)
class _Facts:
    """What the ledger says about a channel: its live entry, or its last state we saw."""

    source_address: str
    destination_address: str
    destination_tag: int | None
    public_key: str
    amount_drops: int
    balance_drops: int
    settle_delay: int
    expiration: int | None
    cancel_after: int | None
    ledger_index: int | None
    live: bool


def _facts_of(entry: LedgerChannel) -> _Facts:
    return _Facts(
        source_address=entry.source_address,
        destination_address=entry.destination_address,
        destination_tag=entry.destination_tag,
        public_key=entry.public_key,
        amount_drops=entry.amount_drops,
        balance_drops=entry.balance_drops,
        settle_delay=entry.settle_delay,
        expiration=entry.expiration,
        cancel_after=entry.cancel_after,
        ledger_index=entry.ledger_index,
        live=True,
    )


def _optional_int(fields: dict[str, Any], name: str) -> int | None:
    return int(fields[name]) if name in fields else None


def _closed_facts(channel_id: str, channel_pk: int | None) -> _Facts | None:
    """A channel gone from the ledger, as the metadata of our last validated settlement left it."""
    if channel_pk is None:
        return None
    settlements = Settlement.objects.filter(
        channel_id=channel_pk, status=SettlementStatus.VALIDATED
    ).order_by("-ledger_index", "-pk")
    for settlement in settlements:
        try:
            result = ledger.ledger_request("tx", transaction=settlement.tx_hash)
        except ledger.LedgerRequestError:
            continue
        meta = result.get("meta") or result.get("metaData") or {}
        for affected in meta.get("AffectedNodes", []) if isinstance(meta, dict) else []:
            for node in affected.values():
                if node.get("LedgerEntryType") != "PayChannel":
                    continue
                if str(node.get("LedgerIndex", "")).upper() != channel_id:
                    continue
                final = node.get("FinalFields") or {}
                if "Account" not in final:
                    continue
                return _Facts(
                    source_address=final["Account"],
                    destination_address=final["Destination"],
                    destination_tag=_optional_int(final, "DestinationTag"),
                    public_key=str(final.get("PublicKey", "")).upper(),
                    amount_drops=int(final["Amount"]),
                    balance_drops=int(final.get("Balance", "0")),
                    settle_delay=int(final["SettleDelay"]),
                    expiration=_optional_int(final, "Expiration"),
                    cancel_after=_optional_int(final, "CancelAfter"),
                    ledger_index=_optional_int(result, "ledger_index"),
                    live=False,
                )
    return None


def _known_channels(only: str | None = None) -> tuple[dict[str, set[int]], set[int]]:
    """Every channel id the database still refers to (or just `only`), with the Channel pks
    referring to it. Returns (channel id -> pks, orphan pks). Reads ids, never money fields.
    """
    known: dict[str, set[int]] = defaultdict(set)
    rows = Channel.objects.all() if only is None else Channel.objects.filter(channel_id=only)
    for pk, channel_id in rows.values_list("pk", "channel_id").iterator():
        known[channel_id.upper()].add(pk)
    lines = JournalLine.objects.filter(account="claims_receivable")
    if only is not None:
        lines = lines.filter(subaccount=only)
    claim_channel: dict[int, str] = {}
    for reference, subaccount in (
        lines.filter(entry__kind="claim_accepted")
        .values_list("entry__reference", "subaccount")
        .iterator()
    ):
        if reference.startswith("claim:") and reference[6:].isdigit():
            claim_channel[int(reference[6:])] = subaccount.upper()
    for subaccount in lines.values_list("subaccount", flat=True).distinct().iterator():
        if _CHANNEL_ID.match(subaccount.upper()):
            known.setdefault(subaccount.upper(), set())
    claims = Claim.objects.all() if only is None else Claim.objects.filter(pk__in=claim_channel)
    referenced: set[int] = set()
    for claim_pk, channel_pk in claims.values_list("pk", "channel_id").iterator():
        referenced.add(channel_pk)
        named = claim_channel.get(claim_pk)
        if named is not None and _CHANNEL_ID.match(named):
            known[named].add(channel_pk)
    for channel_pk, blob in Settlement.objects.values_list("channel_id", "tx_blob").iterator():
        referenced.add(channel_pk)
        try:
            channel_id = str(decode(blob).get("Channel", "")).upper()
        except Exception:  # any decoding error: a corrupt blob names no channel
            logger.warning(
                "recovery: the settlement blob of channel pk %s is unreadable", channel_pk
            )
            continue
        if _CHANNEL_ID.match(channel_id) and (only is None or channel_id == only):
            known[channel_id].add(channel_pk)
    found = {pk for pks in known.values() for pk in pks}
    return dict(known), (referenced - found) if only is None else set()


def _claim_is_signed(claim: Claim, *, channel_id: str, public_key: str) -> bool:
    try:
        verify_signature(
            message=claim_message(bytes.fromhex(channel_id), claim.amount_drops),
            signature=bytes.fromhex(claim.signature),
            public_key=bytes.fromhex(public_key),
        )
    except (InvalidSignature, ValueError):
        return False
    return True


def _removed(claim: Claim, reason: str) -> ClaimRemoved:
    return ClaimRemoved(
        pk=claim.pk,
        amount_drops=claim.amount_drops,
        increment_drops=claim.increment_drops,
        signature=claim.signature,
        payee_ref=claim.payee_ref,
        reference=claim.reference,
        accepted_at=claim.accepted_at.isoformat() if claim.accepted_at else "",
        reason=reason,
    )


def _unrecoverable(channel_id: str, pk: int | None, note: str) -> ChannelRecovery:
    logger.error("recovery: channel %s cannot be rebuilt: %s", channel_id, note)
    return ChannelRecovery(channel_id=channel_id, channel_pk=pk, action="unrecoverable", note=note)


def _reset_sequences(*models: type[Any]) -> None:
    statements = connection.ops.sequence_reset_sql(no_style(), list(models))
    if statements:
        with connection.cursor() as cursor:
            for statement in statements:
                cursor.execute(statement)


def _rebuild(
    channel_id: str,
    pks: set[int],
    *,
    dry_run: bool,
    owner_refs: dict[str, str],
) -> ChannelRecovery:
    """Rebuild one channel. Precondition: no open transaction (it reads the ledger first)."""
    if len(pks) > 1:
        return _unrecoverable(
            channel_id, None, f"rows of several channel pks {sorted(pks)} name this channel"
        )
    entry = ledger.channel_entry(channel_id)
    pk = next(iter(pks), None)
    facts = _facts_of(entry) if entry is not None else _closed_facts(channel_id, pk)
    with transaction.atomic():
        row = Channel.objects.select_for_update().filter(channel_id=channel_id).first()
        if row is not None and pk is not None and row.pk != pk:
            return _unrecoverable(
                channel_id, row.pk, f"its claims or settlements point to channel pk {pk}"
            )
        if row is None and pk is not None and Channel.objects.filter(pk=pk).exists():
            return _unrecoverable(
                channel_id, pk, f"its channel pk {pk} now belongs to another channel's row"
            )
        pk = row.pk if row is not None else pk
        if facts is None:
            if row is None:
                return _unrecoverable(
                    channel_id,
                    pk,
                    "not on the ledger, and no settlement of ours records its last state",
                )
            # Gone from the ledger with no record of its end: keep the stored identity and
            # amounts, but the claims are still re-verified below against the stored key.
            facts = _Facts(
                source_address=row.source_address,
                destination_address=row.destination_address,
                destination_tag=row.destination_tag,
                public_key=row.public_key,
                amount_drops=row.amount_drops,
                balance_drops=row.ledger_balance_drops,
                settle_delay=row.settle_delay,
                expiration=row.expiration,
                cancel_after=row.cancel_after,
                ledger_index=row.synced_ledger_index,
                live=False,
            )
        claims = list(Claim.objects.filter(channel_id=pk).order_by("amount_drops")) if pk else []
        verified: list[Claim] = []
        removed: list[ClaimRemoved] = []
        for claim in claims:
            if not _claim_is_signed(claim, channel_id=channel_id, public_key=facts.public_key):
                removed.append(_removed(claim, "signature does not verify with the channel's key"))
            elif claim.amount_drops > facts.amount_drops:
                removed.append(_removed(claim, "more than the channel ever held"))
            else:
                verified.append(claim)
        highest = verified[-1].amount_drops if verified else 0
        resealed = [c for c in verified if c.mac != c.expected_mac(channel_id)]
        if channel_id in owner_refs:
            owner_ref = owner_refs[channel_id]
        else:
            owner_ref = row.owner_ref if row is not None else ""
        owner_unknown = row is None and channel_id not in owner_refs
        owner_unverified = (
            row is not None and channel_id not in owner_refs and not channel_is_intact(row)
        )
        if facts.live:
            status = ChannelStatus.CLOSING if facts.expiration is not None else ChannelStatus.OPEN
        else:
            status = ChannelStatus.CLOSED
        rebuilt = Channel(
            pk=pk,
            channel_id=channel_id,
            owner_ref=owner_ref,
            source_address=facts.source_address,
            destination_address=facts.destination_address,
            destination_tag=facts.destination_tag,
            public_key=facts.public_key,
            amount_drops=facts.amount_drops,
            ledger_balance_drops=facts.balance_drops,
            accepted_drops=max(highest, facts.balance_drops),
            settle_delay=facts.settle_delay,
            expiration=facts.expiration,
            cancel_after=facts.cancel_after,
            status=status,
            synced_at=clock.now(),
            synced_ledger_index=facts.ledger_index,
        )
        rebuilt.mac = rebuilt.expected_mac()
        changes = {
            name: [getattr(row, name) if row is not None else None, getattr(rebuilt, name)]
            for name in _REBUILT_FIELDS
            if row is None or getattr(row, name) != getattr(rebuilt, name)
        }
        if row is None:
            action = "recreated"
        elif changes or resealed or removed:
            action = "rebuilt"
        else:
            action = "unchanged"
        if not dry_run and action != "unchanged":
            _write(row, rebuilt, resealed=resealed, removed=removed, channel_id=channel_id)
    return ChannelRecovery(
        channel_id=channel_id,
        channel_pk=pk,
        action=action,
        changes=changes,
        claims_verified=len(verified),
        highest_verified_drops=highest,
        claims_resealed=tuple(c.pk for c in resealed),
        claims_removed=tuple(removed),
        owner_unknown=owner_unknown,
        owner_unverified=owner_unverified,
        on_ledger=facts.live,
    )


def _write(
    row: Channel | None,
    rebuilt: Channel,
    *,
    resealed: list[Claim],
    removed: list[ClaimRemoved],
    channel_id: str,
) -> None:
    """Write a rebuilt channel and its claims. Precondition: inside the rebuild's transaction."""
    if row is None:
        rebuilt.save(force_insert=True)  # seals it; keeps the pk its claims point to
        _reset_sequences(Channel)
    else:
        # Deliberately not through save(): the stored row may fail its check, and this is the
        # one writer allowed to re-seal it, with state rebuilt from the ledger and the claims.
        Channel._base_manager.filter(pk=row.pk).update(
            **{name: getattr(rebuilt, name) for name in _REBUILT_FIELDS},
            synced_at=rebuilt.synced_at,
            synced_ledger_index=rebuilt.synced_ledger_index,
        )
    if removed:
        Claim.objects.filter(pk__in=[claim.pk for claim in removed]).delete()
        for gone in removed:
            logger.warning(
                "recovery: removed claim %s of %s drops on %s (%s)",
                gone.pk,
                gone.amount_drops,
                channel_id,
                gone.reason,
            )
    for claim in resealed:
        # Claims are append-only (the database refuses an UPDATE): re-insert the same row,
        # same pk and acceptance time, under a fresh tag.
        Claim.objects.filter(pk=claim.pk).delete()
        claim.channel = rebuilt
        claim.mac = claim.expected_mac(channel_id)
        claim.save_base(raw=True, force_insert=True)
    if resealed:
        _reset_sequences(Claim)
    integrity_alerts_resolve(channel=rebuilt)
    logger.warning("recovery: channel %s rebuilt from the ledger and its claims", channel_id)


def channels_recover(
    *,
    channel_id: str | None = None,
    dry_run: bool = False,
    owner_refs: dict[str, str] | None = None,
) -> RecoveryReport:
    """Rebuild every known channel (or just `channel_id`) from the ledger and its signed claims.

    `owner_refs` names channel owners (the owner is not on the ledger). A channel whose row is
    gone is recreated with its entry there, or else with no owner: safe, but no reader can use
    it until an operator names one. A row that failed its check keeps its stored owner unless
    named here, and the report marks it unverified. With `dry_run` nothing is written.
    Idempotent; safe while the product runs (each channel is rebuilt under its row lock, and a
    claim racing the rebuild loses its compare-and-set). Precondition: no open transaction.
    Raises LedgerUnavailable.
    """
    only = channel_id.upper() if channel_id is not None else None
    known, orphans = _known_channels(only)
    if only is not None and only not in known:
        return RecoveryReport(
            dry_run=dry_run,
            channels=(_unrecoverable(only, None, "nothing in the database refers to it"),),
        )
    results = [
        _rebuild(cid, pks, dry_run=dry_run, owner_refs=dict(owner_refs or {}))
        for cid, pks in sorted(known.items())
    ]
    return RecoveryReport(
        dry_run=dry_run, channels=tuple(results), orphan_channel_pks=tuple(sorted(orphans))
    )
