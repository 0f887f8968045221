"""A worker killed in the middle of a settlement never causes a second submission.

A real Celery worker runs the settlement task and exits like `kill -9` at a crash point
(env-guarded hook) between submit and the database update, or before the submit. A new
worker resumes from the stored, signed transaction; the ledger shows exactly one
PaymentChannelClaim and the journal reconciles.
"""

from __future__ import annotations

import pytest

from channels_app import ledger
from channels_app.crashpoints import CRASH_EXIT_CODE
from channels_app.models import Channel, Settlement, SettlementStatus
from channels_app.services.channels import channel_register
from channels_app.services.claims import claim_accept
from channels_app.services.platform import journal_reconcile, platform_bootstrap
from channels_app.tasks import settle_channel, settle_due_channels
from tests.channels_app.ledger_helpers import ledger_channel, open_reader_channel
from tests.fixtures.worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PRICE = 300_000


def platform_sequence(address: str) -> int:
    return int(
        ledger.ledger_request("account_info", account=address, ledger_index="validated")[
            "account_data"
        ]["Sequence"]
    )


@pytest.mark.parametrize("crash_point", ["settlement_after_submit", "settlement_before_submit"])
def test_worker_killed_mid_settlement_never_double_submits(
    crash_point: str, settings, sandbox_url: str, start_celery_worker
) -> None:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    platform = str(platform_bootstrap()["address"])
    reader = open_reader_channel(sandbox_url, destination=platform)
    channel_register(
        channel_id=reader.channel_id,
        public_key=reader.key.public_key,
        owner_ref="r",
        destination_tag=None,
    )
    for n in (1, 2):
        claim_accept(
            channel_id=reader.channel_id,
            amount_drops=n * PRICE,
            signature=reader.key.sign(reader.channel_id, n * PRICE),
            min_increment_drops=PRICE,
            payee_ref="pub_crash",
            fee_bps=500,
            reference=f"u{n}",
        )
    channel = Channel.objects.get(channel_id=reader.channel_id)
    sequence_before = platform_sequence(platform)

    # given a worker that dies at the crash point
    worker = start_celery_worker(env={"DROPGATE_CRASH_POINT": crash_point})
    settle_channel.delay(channel.pk, "crash-test")
    assert worker.wait_exit(timeout=60) == CRASH_EXIT_CODE
    settlement = Settlement.objects.get(channel=channel)
    assert settlement.status == SettlementStatus.PREPARED  # the update after submit never ran

    # when a healthy worker runs the scheduled sweep and the task again
    worker.restart(env={"DROPGATE_CRASH_POINT": ""})
    settle_due_channels.delay()
    settle_channel.delay(channel.pk, "crash-test-retry")

    # then the one stored transaction is validated, and nothing else was submitted
    wait_until(
        lambda: Settlement.objects.get(pk=settlement.pk).status == SettlementStatus.VALIDATED,
        timeout=60,
    )
    wait_until(
        lambda: worker.log_text().count("channels_app.tasks.settle_channel") >= 2, timeout=30
    )
    assert Settlement.objects.filter(channel=channel).count() == 1
    assert platform_sequence(platform) == sequence_before + 1
    node = ledger_channel(sandbox_url, reader.channel_id)
    assert node is not None and int(node["Balance"]) == 2 * PRICE
    report = journal_reconcile()
    assert report.ok, report.differences
