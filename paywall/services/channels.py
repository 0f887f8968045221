"""A reader's payment channels, as seen from the paywall: register only one's own."""

from __future__ import annotations

from channels_app.services.channels import channel_register
from channels_app.signatures import MalformedInput, parse_channel_id
from channels_app.types import ChannelSnapshot
from paywall.models import Reader
from paywall.services.exceptions import InvalidInput

__all__ = ["reader_channel_register"]


def reader_channel_register(*, reader: Reader, channel_id: str) -> ChannelSnapshot:
    """Track the reader's channel: it must pay the platform, carry this publisher's destination
    tag and the reader's claim key (checked by channels_app against the validated ledger).

    Raises InvalidInput (`invalid_channel_id`), ChannelRejected, Conflict (`channel_taken`),
    LedgerUnavailable.
    """
    try:
        parse_channel_id(channel_id)
    except MalformedInput as exc:
        raise InvalidInput("channel_id must be 64 hex digits.", code="invalid_channel_id") from exc
    return channel_register(
        channel_id=channel_id.upper(),
        public_key=reader.claim_public_key,
        owner_ref=reader.public_id,
        destination_tag=reader.publisher.destination_tag,
    )
