"""A reader's payment channels, as seen from the paywall: register only one's own."""

from __future__ import annotations

from channels_app.exceptions import Conflict
from channels_app.services.channels import channel_register
from channels_app.signatures import MalformedInput, parse_channel_id
from channels_app.types import ChannelSnapshot
from paywall.models import Reader
from paywall.services.exceptions import InvalidInput

__all__ = ["reader_channel_register"]


def reader_channel_register(*, reader: Reader, channel_id: str) -> ChannelSnapshot:
    """Track the reader's channel: it must pay the platform, carry this publisher's destination
    tag and the reader's claim key (checked by channels_app against the validated ledger).

    A reader registered before claim keys had to be proven (`claim_key_proven` False) may only
    register while no other reader of its site holds the same key: otherwise who owns the
    key's channels is ambiguous, and anyone could have registered a reader with a key read
    off the ledger. Such a reader gets 409 `claim_key_shared` and must rotate its key (a
    rotation proves the new one); the channel's source can always close it.

    Raises InvalidInput (`invalid_channel_id`), ChannelRejected, Conflict (`channel_taken`,
    `claim_key_shared`), LedgerUnavailable.
    """
    try:
        parse_channel_id(channel_id)
    except MalformedInput as exc:
        raise InvalidInput("channel_id must be 64 hex digits.", code="invalid_channel_id") from exc
    if (
        not reader.claim_key_proven
        and Reader.objects.filter(
            publisher_id=reader.publisher_id, claim_public_key=reader.claim_public_key.upper()
        )
        .exclude(pk=reader.pk)
        .exists()
    ):
        raise Conflict(
            "Another reader of this site holds this claim key: replace the claim key.",
            code="claim_key_shared",
        )
    return channel_register(
        channel_id=channel_id.upper(),
        public_key=reader.claim_public_key,
        owner_ref=reader.public_id,
        destination_tag=reader.publisher.destination_tag,
    )
