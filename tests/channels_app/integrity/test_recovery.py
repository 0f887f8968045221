"""`manage.py recover_channels`: channel state rebuilt from the ledger and the signed claims.

Each test damages the database behind the application's back (raw SQL, as a bad restore or an
operator would), runs the command, and shows the rebuilt state equals the state before.
"""

from __future__ import annotations

import json
from datetime import datetime
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.db import connection

from channels_app.models import Channel, ChannelStatus, Claim, Settlement, WatchtowerAlert
from channels_app.selectors import highest_claim
from channels_app.services.integrity import StateIntegrityError, channel_verify
from channels_app.services.platform import journal_reconcile
from channels_app.services.settlement import settlement_run
from channels_app.services.watchtower import watchtower_scan
from tests.channels_app.factories import claim_key
from tests.channels_app.integrity.helpers import (
    CHANNEL_TABLE,
    channel_rows,
    claim_rows,
    insert_claim_row,
    pay,
    raw_sql,
    register,
    tamper_channel,
)
from tests.channels_app.ledger_helpers import ledger_channel, reader_requests_close
from tests.fixtures.sandbox import advance_ledger_time

pytestmark = pytest.mark.integration

PRICE = 200_000


def recover(*args: str) -> dict[str, Any]:
    out = StringIO()
    call_command("recover_channels", *args, stdout=out)
    return json.loads(out.getvalue())


def by_channel(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["channel_id"]: c for c in report["channels"]}


def assert_usable(channel_id: str) -> None:
    channel = channel_verify(Channel.objects.get(channel_id=channel_id))
    highest_claim(channel)


def test_deleted_channel_rows_are_rebuilt_equal_to_what_they_were(sandbox_url, platform) -> None:
    # given three channels: one partly redeemed, one redeemed and closed, one the reader closes
    settled, settled_row = register(sandbox_url, platform, owner_ref="rdr_a")
    pay(settled, PRICE, price=PRICE)
    pay(settled, 2 * PRICE, price=PRICE)
    assert settlement_run(channel_pk=settled_row.pk, reason="test").state == "validated"
    pay(settled, 3 * PRICE, price=PRICE)
    closed, closed_row = register(sandbox_url, platform, owner_ref="rdr_b")
    pay(closed, PRICE, price=PRICE)
    assert settlement_run(channel_pk=closed_row.pk, reason="t", close=True).state == "validated"
    closing, _closing_row = register(sandbox_url, platform, owner_ref="rdr_c", settle_delay=3600)
    pay(closing, PRICE, price=PRICE)
    reader_requests_close(sandbox_url, closing)
    watchtower_scan()  # syncs the Expiration in (no settlement: the decision is the task's)
    before, claims_before = channel_rows(), claim_rows()
    assert {r["status"] for r in before.values()} == {"open", "closed", "closing"}

    # when every channel row is deleted behind the application's back (claims, settlements
    # and alerts still point at them: the foreign keys are checked at commit)
    raw_sql(f"DELETE FROM {CHANNEL_TABLE}")
    assert Channel.objects.count() == 0
    report = recover(
        "--owner",
        f"{settled.channel_id}=rdr_a",
        "--owner",
        f"{closed.channel_id}=rdr_b",
        "--owner",
        f"{closing.channel_id}=rdr_c",
    )

    # then each row is back with its old pk and exactly its old state, integrity tag included
    assert report["ok"] and report["summary"]["recreated"] == 3
    assert channel_rows() == before
    assert claim_rows() == claims_before
    found = by_channel(report)
    assert found[settled.channel_id]["highest_verified_drops"] == 3 * PRICE
    assert found[settled.channel_id]["changes"]["ledger_balance_drops"] == [None, 2 * PRICE]
    assert found[closed.channel_id]["on_ledger"] is False
    for channel_id in found:
        assert_usable(channel_id)
    # and the product carries on: the next claim is accepted and the highest one redeemed
    pay(settled, 4 * PRICE, price=PRICE)
    assert settlement_run(channel_pk=settled_row.pk, reason="after").state == "validated"
    node = ledger_channel(sandbox_url, settled.channel_id)
    assert node is not None and int(node["Balance"]) == 4 * PRICE
    assert journal_reconcile().ok


def test_without_owners_a_recreated_channel_is_safe_but_ownerless(sandbox_url, platform) -> None:
    reader, row = register(sandbox_url, platform)
    pay(reader, PRICE, price=PRICE)
    before = channel_rows()[row.pk]
    raw_sql(f"DELETE FROM {CHANNEL_TABLE}")
    report = recover()
    entry = by_channel(report)[reader.channel_id]
    assert entry["action"] == "recreated" and entry["owner_unknown"] is True
    after = channel_rows()[row.pk]
    assert after["owner_ref"] == ""
    assert {k: v for k, v in after.items() if k not in {"owner_ref", "mac"}} == {
        k: v for k, v in before.items() if k not in {"owner_ref", "mac"}
    }
    assert_usable(reader.channel_id)


def test_wiped_money_state_is_rebuilt_reported_and_the_alert_resolved(
    sandbox_url, platform
) -> None:
    # given a partly redeemed channel that the reader asked to close
    reader, row = register(sandbox_url, platform, settle_delay=3600)
    pay(reader, PRICE, price=PRICE)
    pay(reader, 2 * PRICE, price=PRICE)
    assert settlement_run(channel_pk=row.pk, reason="test").state == "validated"
    pay(reader, 3 * PRICE, price=PRICE)
    reader_requests_close(sandbox_url, reader)
    watchtower_scan()
    before = channel_rows()
    # when its money state is wiped in the database, and the watchtower trips over it
    tamper_channel(
        row, accepted_drops=0, ledger_balance_drops=0, expiration=None, status="open", mac=""
    )
    assert [d.action for d in watchtower_scan()] == ["refused"]
    alert = WatchtowerAlert.objects.get(code="integrity_violation")
    # then a dry run reports the repair and writes nothing
    dry = by_channel(recover("--dry-run", "--channel", reader.channel_id.lower()))
    assert dry[reader.channel_id]["action"] == "rebuilt"
    assert dry[reader.channel_id]["changes"]["accepted_drops"] == [0, 3 * PRICE]
    assert channel_rows()[row.pk]["accepted_drops"] == 0
    # and the real run restores the row exactly and closes the alert
    report = by_channel(recover("--channel", reader.channel_id))[reader.channel_id]
    assert report["changes"]["ledger_balance_drops"] == [0, 2 * PRICE]
    assert report["owner_unverified"] is True  # kept from a row that failed its check
    assert report["changes"]["status"] == ["open", "closing"]
    assert channel_rows() == before
    alert.refresh_from_db()
    assert alert.resolved_at is not None
    # and a second run finds nothing to do
    assert by_channel(recover())[reader.channel_id]["action"] == "unchanged"


def test_a_restored_old_backup_catches_up_with_the_ledger(sandbox_url, platform) -> None:
    # given a backup of the channel row taken before a settlement
    reader, row = register(sandbox_url, platform)
    pay(reader, PRICE, price=PRICE)
    backup = channel_rows()[row.pk]
    assert settlement_run(channel_pk=row.pk, reason="test").state == "validated"
    current = channel_rows()[row.pk]
    # when that backup is restored (its tag is genuine: it was true at the time)
    tamper_channel(row, ledger_balance_drops=backup["ledger_balance_drops"], mac=backup["mac"])
    channel_verify(Channel.objects.get(pk=row.pk))
    # then recovery brings the ledger's side up to date
    entry = by_channel(recover())[reader.channel_id]
    assert entry["changes"]["ledger_balance_drops"] == [0, PRICE]
    assert channel_rows()[row.pk] == current


def test_a_changed_key_is_survived_by_reverifying_and_resealing_the_claims(
    sandbox_url, platform, settings
) -> None:
    reader, row = register(sandbox_url, platform)
    for n in (1, 2):
        pay(reader, n * PRICE, price=PRICE)
    claims_before = claim_rows()
    # the key-encryption key changes: every tag is now wrong
    settings.DROPGATE_KEK = "a-new-key-encryption-key"
    with pytest.raises(StateIntegrityError):
        channel_verify(Channel.objects.get(pk=row.pk))
    entry = by_channel(recover())[reader.channel_id]
    # each claim's signature was checked against the ledger's key, then re-sealed in place
    assert sorted(entry["claims_resealed"]) == sorted(claims_before)
    assert entry["claims_verified"] == 2
    after = claim_rows()
    assert {pk: {**r, "mac": ""} for pk, r in after.items()} == {
        pk: {**r, "mac": ""} for pk, r in claims_before.items()
    }
    assert_usable(reader.channel_id)
    pay(reader, 3 * PRICE, price=PRICE)  # ids are still handed out fresh after the re-inserts
    assert Claim.objects.get(amount_drops=3 * PRICE).pk > max(after)


def test_a_forged_claim_is_refused_then_removed_and_the_real_one_redeemed(
    sandbox_url, platform
) -> None:
    # given a channel with a real claim, and a forger with database access who adds a higher
    # claim row (signed by another key) and raises the channel's mark to match
    reader, row = register(sandbox_url, platform)
    pay(reader, PRICE, price=PRICE)
    real = Claim.objects.get()
    insert_claim_row(
        channel_id=row.pk,
        amount_drops=9 * PRICE,
        increment_drops=8 * PRICE,
        signature=claim_key().sign(reader.channel_id, 9 * PRICE),
        payee_ref="pub_forger",
        reference="forged",
        accepted_at=real.accepted_at,
        mac="0" * 64,
    )
    tamper_channel(row, accepted_drops=9 * PRICE)
    # then settlement refuses the channel before signing anything
    with pytest.raises(StateIntegrityError):
        settlement_run(channel_pk=row.pk, reason="test")
    assert not Settlement.objects.exists()
    # and recovery removes the forged row (reporting all of it) and restores the real mark
    entry = by_channel(recover())[reader.channel_id]
    assert [c["reference"] for c in entry["claims_removed"]] == ["forged"]
    assert entry["changes"]["accepted_drops"] == [9 * PRICE, PRICE]
    assert list(Claim.objects.values_list("pk", flat=True)) == [real.pk]
    # so the real claim is redeemed, and the books agree with the ledger
    assert settlement_run(channel_pk=row.pk, reason="test").state == "validated"
    node = ledger_channel(sandbox_url, reader.channel_id)
    assert node is not None and int(node["Balance"]) == PRICE
    assert journal_reconcile().ok


def test_a_channel_gone_from_the_ledger_without_our_record_is_reported(
    sandbox_url, platform
) -> None:
    from xrpl.clients import JsonRpcClient
    from xrpl.models.transactions import PaymentChannelClaim
    from xrpl.transaction import submit_and_wait

    # given a paid channel that expired and that its source removed, never settled by us
    reader, row = register(sandbox_url, platform, settle_delay=60)
    pay(reader, PRICE, price=PRICE)
    fields = {f.attname: getattr(row, f.attname) for f in Channel._meta.concrete_fields}
    reader_requests_close(sandbox_url, reader)
    advance_ledger_time(sandbox_url, 120)
    submit_and_wait(
        PaymentChannelClaim(account=reader.wallet.address, channel=reader.channel_id),
        JsonRpcClient(sandbox_url),
        reader.wallet,
    )
    assert ledger_channel(sandbox_url, reader.channel_id) is None
    # when its row is deleted, nothing on the ledger or in our settlements describes it
    raw_sql(f"DELETE FROM {CHANNEL_TABLE}")
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("recover_channels", stdout=out)
    assert exited.value.code == 1
    entry = by_channel(json.loads(out.getvalue()))[reader.channel_id]
    assert entry["action"] == "unrecoverable" and "not on the ledger" in entry["note"]
    # while a stored row of such a channel is kept, and marked closed
    raw_sql(
        f"INSERT INTO {CHANNEL_TABLE} ({', '.join(fields)}) "
        f"VALUES ({', '.join(['%s'] * len(fields))})",
        [
            connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime) else v
            for v in fields.values()
        ],
    )
    entry = by_channel(recover())[reader.channel_id]
    assert entry["on_ledger"] is False and entry["changes"]["status"] == ["open", "closed"]
    assert channel_verify(Channel.objects.get(pk=row.pk)).status == ChannelStatus.CLOSED


@pytest.mark.django_db
def test_a_channel_nothing_refers_to_is_not_created_from_thin_air() -> None:
    out = StringIO()
    with pytest.raises(SystemExit) as exited:
        call_command("recover_channels", "--channel", "AB" * 32, stdout=out)
    assert exited.value.code == 1
    report = json.loads(out.getvalue())
    assert report["channels"][0]["action"] == "unrecoverable"
    assert not Channel.objects.exists()
