"""Settlement and the watchtower driven by a real Celery worker and beat, on the sandbox."""

from __future__ import annotations

import pytest

from channels_app.models import Channel, ChannelStatus, Settlement, SettlementStatus
from channels_app.services.channels import channel_register
from channels_app.services.claims import claim_accept
from channels_app.services.platform import journal_reconcile, platform_bootstrap
from tests.channels_app.ledger_helpers import (
    ledger_channel,
    open_reader_channel,
    reader_requests_close,
)
from tests.fixtures.worker import wait_until

pytestmark = pytest.mark.integration

PRICE = 400_000


@pytest.fixture
def live_platform(settings, sandbox_url: str, transactional_db) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_WATCHTOWER_SCAN_SECONDS = 1
    settings.DROPGATE_SETTLEMENT_SWEEP_SECONDS = 2
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 10
    return str(platform_bootstrap()["address"])


def _accept(channel_id: str, key, n: int) -> None:
    claim_accept(
        channel_id=channel_id,
        amount_drops=n * PRICE,
        signature=key.sign(channel_id, n * PRICE),
        min_increment_drops=PRICE,
        payee_ref="pub_worker",
        fee_bps=1000,
        reference=f"u{n}",
    )


def test_threshold_queues_a_settlement_that_the_worker_lands(
    settings, sandbox_url, live_platform, celery_worker_process
) -> None:
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 2 * PRICE
    reader = open_reader_channel(sandbox_url, destination=live_platform)
    channel_register(
        channel_id=reader.channel_id,
        public_key=reader.key.public_key,
        owner_ref="r",
        destination_tag=None,
    )
    _accept(reader.channel_id, reader.key, 1)
    assert not Settlement.objects.exists()
    _accept(reader.channel_id, reader.key, 2)  # crosses the threshold: queued on commit
    wait_until(
        lambda: Settlement.objects.filter(status=SettlementStatus.VALIDATED).exists(), timeout=60
    )
    node = ledger_channel(sandbox_url, reader.channel_id)
    assert node is not None and int(node["Balance"]) == 2 * PRICE
    assert journal_reconcile().ok


def test_beat_and_worker_watchtower_beat_a_reader_close(
    settings, sandbox_url, live_platform, celery_worker_process, celery_beat_process
) -> None:
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    reader = open_reader_channel(sandbox_url, destination=live_platform, settle_delay=60)
    channel_register(
        channel_id=reader.channel_id,
        public_key=reader.key.public_key,
        owner_ref="r",
        destination_tag=None,
    )
    _accept(reader.channel_id, reader.key, 1)
    closed = reader_requests_close(sandbox_url, reader)
    # read from the close's metadata: the watchtower may have removed the channel already
    expiration = next(
        int(node["ModifiedNode"]["FinalFields"]["Expiration"])
        for node in closed["meta"]["AffectedNodes"]
        if node.get("ModifiedNode", {}).get("LedgerEntryType") == "PayChannel"
    )
    channel = Channel.objects.get(channel_id=reader.channel_id)
    # nobody calls the watchtower: beat schedules the scan, the worker settles and closes
    wait_until(
        lambda: Channel.objects.get(pk=channel.pk).status == ChannelStatus.CLOSED, timeout=60
    )
    settlement = Settlement.objects.get(channel=channel, status=SettlementStatus.VALIDATED)
    assert settlement.close and settlement.balance_drops == PRICE
    assert ledger_channel(sandbox_url, reader.channel_id) is None
    from channels_app import ledger

    landed = ledger.ledger_request("ledger", ledger_index=settlement.ledger_index)["ledger"]
    assert int(landed["close_time"]) < expiration  # strictly before Expiration
    assert journal_reconcile().ok
