"""State integrity: sealed channel snapshots and claims, checked before money moves.

Every Channel row and every accepted Claim carries an integrity tag (an HMAC, see
`channels_app.models.integrity_tag`) over the fields that decide money. The key is derived
from DROPGATE_KEK and never stored in the database, so a row changed behind the
application's back (an operator's UPDATE, a bad restore, a disk, an attacker holding only the
database) no longer matches its tag.

- Writes seal: `Channel.save()`, `Channel.objects...update()` and `Claim.save()` compute the
  tag; claim acceptance writes it inside its compare-and-set.
- Reads verify: claim acceptance, settlement, the watchtower and channel snapshots call the
  checks below on the rows they decide with. A mismatch raises `StateIntegrityError`
  (`state_integrity_violation`, HTTP 503): nothing is done with that channel until an
  operator runs `manage.py recover_channels`, which rebuilds it from the ledger and the
  signed claims.
- Each violation is logged and raised as a critical `integrity_violation` alert once no
  transaction is open (an alert written inside a transaction that the error then rolls back
  would vanish); the watchtower's scan re-checks every watched channel, so a violation found
  inside a caller's transaction is still alerted on the next scan.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from django.db import IntegrityError, transaction
from django.utils.crypto import constant_time_compare

from channels_app import clock
from channels_app.exceptions import DropgateError
from channels_app.models import Channel, Claim, WatchtowerAlert

logger = logging.getLogger(__name__)

ALERT_CODE = "integrity_violation"

P = ParamSpec("P")
R = TypeVar("R")


class StateIntegrityError(DropgateError):
    """A stored channel or claim failed its integrity check; the channel must not be used."""

    code = "state_integrity_violation"
    http_status = 503
    default_message = (
        "This channel's stored state failed its integrity check. It is suspended until an "
        "operator recovers it."
    )
    retry_after = 60

    def __init__(self, *, channel_pk: int | None, channel_id: str, subject: str) -> None:
        super().__init__()
        self.channel_pk = channel_pk
        self.channel_id = channel_id
        self.subject = subject  # what failed, e.g. "channel" or "claim 12"; never a secret
        self.recorded = False


def _violation(*, channel_pk: int | None, channel_id: str, subject: str) -> StateIntegrityError:
    error = StateIntegrityError(channel_pk=channel_pk, channel_id=channel_id, subject=subject)
    logger.critical(
        "state integrity violation: %s of channel %s (pk %s) does not match its integrity tag",
        subject,
        channel_id,
        channel_pk,
    )
    integrity_alert_record(error)
    return error


def channel_is_intact(channel: Channel) -> bool:
    return constant_time_compare(channel.mac or "", channel.expected_mac())


def channel_verify(channel: Channel) -> Channel:
    """Return `channel` if its sealed fields match its tag; else raise StateIntegrityError."""
    if not channel_is_intact(channel):
        raise _violation(channel_pk=channel.pk, channel_id=channel.channel_id, subject="channel")
    return channel


def claim_verify(claim: Claim, *, channel: Channel) -> Claim:
    """Return `claim` if it is sealed as a claim of `channel` (already verified); else raise."""
    intact = claim.channel_id == channel.pk and constant_time_compare(
        claim.mac or "", claim.expected_mac(channel.channel_id)
    )
    if not intact:
        raise _violation(
            channel_pk=channel.pk, channel_id=channel.channel_id, subject=f"claim {claim.pk}"
        )
    return claim


def claims_consistent_verify(channel: Channel, highest: Claim | None) -> None:
    """The accepted high-water mark must be the highest stored claim.

    Both are written in one transaction, so they differ only if a claim row was deleted or
    forged, or the channel row restored apart from its claims. The one exception is value
    the ledger has already paid (after a recovery, accepted may equal the ledger Balance).
    """
    top = highest.amount_drops if highest is not None else 0
    if top > channel.accepted_drops or channel.accepted_drops > max(
        top, channel.ledger_balance_drops
    ):
        raise _violation(
            channel_pk=channel.pk, channel_id=channel.channel_id, subject="claims of channel"
        )


def _in_transaction() -> bool:
    """Whether an atomic block is open whose rollback would take a new alert with it.

    The blocks a Django TestCase wraps around each test are not counted (Django's own check
    of `durable` blocks skips them the same way), so tests see what production does.
    """
    blocks = transaction.get_connection().atomic_blocks
    return any(not getattr(block, "_from_testcase", False) for block in blocks)


def integrity_alert_record(error: StateIntegrityError) -> None:
    """Raise the critical alert for `error`, once, if no transaction is open (else later)."""
    if error.recorded or error.channel_pk is None or _in_transaction():
        return
    channel = Channel.objects.filter(pk=error.channel_pk).first()
    if channel is None:
        return
    try:
        with transaction.atomic():
            WatchtowerAlert.objects.create(
                channel=channel,
                level=WatchtowerAlert.Level.CRITICAL,
                code=ALERT_CODE,
                message=(
                    f"The stored {error.subject} does not match its integrity tag; the channel "
                    "is suspended. Run `manage.py recover_channels --channel "
                    f"{error.channel_id}` after finding the cause."
                ),
            )
    except IntegrityError:
        pass  # an alert is already open for this channel
    error.recorded = True


def integrity_guarded(func: Callable[P, R]) -> Callable[P, R]:
    """For service entry points: alert on a violation once the transaction has unwound."""

    @functools.wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except StateIntegrityError as error:
            integrity_alert_record(error)
            raise

    return wrapper


def integrity_alerts_resolve(*, channel: Channel) -> int:
    """Close the open integrity alerts of a channel that was just rebuilt and re-sealed."""
    return WatchtowerAlert.objects.filter(
        channel=channel, code=ALERT_CODE, resolved_at__isnull=True
    ).update(resolved_at=clock.now())
