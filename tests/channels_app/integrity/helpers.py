"""Helpers of the state-integrity suite: raw SQL that goes around the application, like an
operator's UPDATE or a bad restore would, and row snapshots to compare before and after."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db import connection

from channels_app.models import Channel, Claim
from channels_app.services.channels import channel_register
from channels_app.services.claims import claim_accept
from tests.channels_app.ledger_helpers import ReaderChannel, open_reader_channel

CHANNEL_TABLE = Channel._meta.db_table
CLAIM_TABLE = Claim._meta.db_table

# Columns that record when the row was written, not what it says.
_TIMES = {"registered_at", "synced_at", "synced_ledger_index"}


def raw_sql(statement: str, params: list[Any] | None = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.rowcount


def tamper_channel(channel: Channel, **values: object) -> None:
    """UPDATE the row's columns directly, leaving its integrity tag as it was."""
    assignments = ", ".join(f"{column} = %s" for column in values)
    raw_sql(
        f"UPDATE {CHANNEL_TABLE} SET {assignments} WHERE id = %s",
        [*values.values(), channel.pk],
    )


def replace_claim(claim: Claim, **values: object) -> None:
    """Claims are append-only (a trigger refuses UPDATE): delete the row and insert a changed
    copy with the same id and the old tag, as someone editing the database would."""
    row = {
        "id": claim.pk,
        "channel_id": claim.channel_id,
        "amount_drops": claim.amount_drops,
        "increment_drops": claim.increment_drops,
        "signature": claim.signature,
        "payee_ref": claim.payee_ref,
        "reference": claim.reference,
        "accepted_at": claim.accepted_at,
        "mac": claim.mac,
    }
    row.update(values)
    raw_sql(f"DELETE FROM {CLAIM_TABLE} WHERE id = %s", [claim.pk])
    insert_claim_row(**row)


def insert_claim_row(**row: object) -> None:
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    values = [
        connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
        for v in row.values()
    ]
    raw_sql(f"INSERT INTO {CLAIM_TABLE} ({columns}) VALUES ({marks})", values)


def channel_rows() -> dict[int, dict[str, Any]]:
    """Every channel row by pk, without the columns that only say when it was written."""
    return {
        row["id"]: {k: v for k, v in row.items() if k not in _TIMES}
        for row in Channel._base_manager.order_by("pk").values()
    }


def claim_rows() -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in Claim.objects.order_by("pk").values()}


def register(
    url: str, platform: str, *, owner_ref: str = "rdr_integrity", **kwargs: Any
) -> tuple[ReaderChannel, Channel]:
    reader = open_reader_channel(url, destination=platform, **kwargs)
    channel_register(
        channel_id=reader.channel_id,
        public_key=reader.key.public_key,
        owner_ref=owner_ref,
        destination_tag=None,
    )
    return reader, Channel.objects.get(channel_id=reader.channel_id)


def pay(reader: ReaderChannel, amount: int, *, price: int) -> int:
    claim_accept(
        channel_id=reader.channel_id,
        amount_drops=amount,
        signature=reader.key.sign(reader.channel_id, amount),
        min_increment_drops=price,
        payee_ref="pub_integrity",
        fee_bps=1000,
        reference=f"unlock:{amount}",
    )
    return amount
