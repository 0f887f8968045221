"""A worker killed between submitting a payout and recording it never pays twice.

A real Celery worker runs the paywall's payout batch task and exits like `kill -9` at the
crash point right after the first payout's submit, before the database update. A healthy
worker then re-runs the same batch: the stored, signed transactions are resolved by hash, each
publisher is paid exactly once, and the books reconcile.
"""

from __future__ import annotations

import pytest

from channels_app.crashpoints import CRASH_EXIT_CODE
from channels_app.payouts.models import Payout, TxState
from channels_app.payouts.services.reconcile import payouts_reconcile
from channels_app.payouts.services.transfers import account_state
from channels_app.services.platform import journal_reconcile, platform_bootstrap
from paywall.services.publishers import publisher_create
from paywall.tasks import run_payout_batch
from tests.channels_app.payouts.conftest import net, new_address, open_earner
from tests.fixtures.worker import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_worker_killed_after_submit_never_pays_twice(
    settings, sandbox_url: str, start_celery_worker
) -> None:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    settings.DROPGATE_PAYOUT_HOLDBACK_SECONDS = 0  # the worker has its own clock
    settings.DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS = 10**12
    settings.DROPGATE_HOT_FLOAT_CAP_DROPS = 10**15
    settings.DROPGATE_PAYOUTS_PAUSED = False
    platform = str(platform_bootstrap()["address"])
    earner = open_earner(sandbox_url, platform)
    publishers = [publisher_create(name=f"P{i}", payout_address=new_address()) for i in range(3)]
    for publisher in publishers:
        earner.pay(publisher.key, 2_000_000)
    earner.redeem()
    hot = account_state(platform)
    assert hot is not None

    # given a worker that dies right after the first payout reaches the ledger
    worker = start_celery_worker(env={"DROPGATE_CRASH_POINT": "payout_after_submit"})
    run_payout_batch.delay("crash")
    assert worker.wait_exit(timeout=60) == CRASH_EXIT_CODE
    assert Payout.objects.count() == 3
    assert set(Payout.objects.values_list("status", flat=True)) == {TxState.PREPARED}

    # when a healthy worker runs the same batch again
    worker.restart(env={"DROPGATE_CRASH_POINT": ""})
    run_payout_batch.delay("crash")

    # then every publisher is paid once, with the three transactions first signed
    wait_until(
        lambda: set(Payout.objects.values_list("status", flat=True)) == {TxState.VALIDATED},
        timeout=60,
    )
    assert Payout.objects.count() == 3
    for publisher in publishers:
        paid = account_state(publisher.payout_address)
        assert paid is not None and paid.balance_drops == net(2_000_000)
    after = account_state(platform)
    assert after is not None and after.sequence == hot.sequence + 3
    assert journal_reconcile().ok
    report = payouts_reconcile()
    assert report.ok, report.differences
