"""Channels opened by the funding wallet carry a CancelAfter the reader can always reach.

After CancelAfter any PaymentChannelClaim on the channel deletes it and the remainder goes back
to its source: the longest a deposit can be locked, even with no watchtower and no service.
These tests move ledger time by months, so they run on a sandbox of their own (the session's
sandbox is shared with tests that compare ledger time with the wall clock).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from channels_app import clock
from channels_app import ledger as channels_ledger
from channels_app.models import Channel, ChannelStatus
from channels_app.services.platform import platform_bootstrap
from tests.channels_app.factories import make_channel
from tests.channels_app.ledger_helpers import ledger_channel
from tests.fixtures.sandbox import REPO_ROOT, advance_ledger_time, start_sandbox, stop_sandbox
from tests.paywall.factories import make_publisher, make_reader
from tests.paywall.helpers import error_code
from tests.paywall.test_wallet import (
    CHANNEL_DROPS,
    PAYWALL_ORIGIN,
    Wallet,
    account,
    dead_ledger_url,
    funding_key,
)

DAY = 86_400


@pytest.fixture(scope="module")
def own_sandbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    data_dir: Path = tmp_path_factory.mktemp("cancel_after_sandbox")
    process, url = start_sandbox(data_dir, extra=("--allow-time-travel",))
    try:
        yield url
    finally:
        stop_sandbox(process)


@pytest.fixture
def platform(settings, own_sandbox: str) -> str:
    settings.XRPL_URL = own_sandbox
    settings.DROPGATE_FAUCET_ENABLED = True
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12
    return str(platform_bootstrap()["address"])


@pytest.mark.integration
@pytest.mark.django_db
@pytest.mark.parametrize("registered", [True, False], ids=["registered", "never_registered"])
def test_after_cancel_after_the_source_gets_its_deposit_back(
    api, settings, own_sandbox: str, platform: str, registered: bool
) -> None:
    # Given a reader's channel opened by the funding wallet, with the configured CancelAfter
    settings.DROPGATE_CHANNEL_CANCEL_AFTER_DAYS = 30
    publisher = make_publisher()
    _, token, _ = make_reader(publisher)
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    opened = wallet.run(key, "channel_create", amount_drops=CHANNEL_DROPS)
    channel_id = opened["channel_id"]
    entry = ledger_channel(own_sandbox, channel_id)
    assert entry is not None
    opened_at = channels_ledger.validated_ledger().close_time
    assert opened_at < entry["CancelAfter"] <= opened_at + 30 * DAY
    if registered:
        response = api.post(
            "channels", {"channel_id": channel_id}, auth=f"Reader {token}", origin=PAYWALL_ORIGIN
        )
        assert response.status_code == 200, response.content
        assert response.json()["cancel_after"] is not None
    balance_before = int(account(own_sandbox, key.address)["Balance"])

    # When the service's watchtower never came (the service is gone) and CancelAfter passed
    advance_ledger_time(own_sandbox, entry["CancelAfter"] - opened_at + 60)

    # Then the source's close deletes the channel at once, and the whole deposit comes back
    prepared = wallet.prepare(key, "channel_close", channel_id=channel_id).json()
    closed = wallet.submit(prepared["prepared_id"], key.sign(prepared["signing_blob"]))
    assert closed.status_code == 200, closed.content
    assert closed.json()["result"] == "tesSUCCESS"
    assert closed.json()["channel_deleted"] is True
    assert ledger_channel(own_sandbox, channel_id) is None
    balance_after = int(account(own_sandbox, key.address)["Balance"])
    assert balance_after - balance_before == CHANNEL_DROPS - int(prepared["tx_json"]["Fee"])
    if registered:
        assert Channel.objects.get(channel_id=channel_id).status == ChannelStatus.CLOSED


@pytest.mark.django_db
def test_a_channel_near_its_cancel_after_reads_closing_and_takes_no_top_up(api, settings) -> None:
    # Given a reader's registered channel whose CancelAfter is a day away
    settings.XRPL_URL = dead_ledger_url()
    publisher = make_publisher()
    reader, token, claim = make_reader(publisher)
    key = funding_key()
    cancel_after = clock.to_ripple_time(clock.now()) + DAY
    channel = make_channel(
        key=claim, owner_ref=reader.public_id, source_address=key.address, cancel_after=cancel_after
    )
    auth = f"Reader {token}"
    assert api.get(f"channels/{channel.channel_id}", auth=auth).json()["status"] == "open"
    # When the clock reaches the close safety margin before it
    margin = settings.DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS
    with clock.override(timedelta(seconds=DAY - margin)):
        # Then the channel reads as closing (claims on it are refused from now on), so the
        # frame opens a new one rather than paying or topping up into it
        view = api.get(f"channels/{channel.channel_id}", auth=auth)
        assert view.json()["status"] == "closing"
        fund = Wallet(api, token).prepare(
            key, "channel_fund", channel_id=channel.channel_id, amount_drops=1_000_000
        )
        assert (fund.status_code, error_code(fund)) == (409, "channel_closing")


def _settings_load(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    code = "import django, os; os.environ['DJANGO_SETTINGS_MODULE'] = 'paywall.settings'; django.setup()"
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_the_channel_settings_are_checked_against_the_safety_margin_and_the_frame() -> None:
    assert _settings_load({"DROPGATE_CHANNEL_CANCEL_AFTER_DAYS": "365"}).returncode == 0
    for bad in (
        {"DROPGATE_CHANNEL_CANCEL_AFTER_DAYS": "0"},
        {"DROPGATE_CHANNEL_CANCEL_AFTER_DAYS": "366"},
        {
            "DROPGATE_CHANNEL_CANCEL_AFTER_DAYS": "2",
            "DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS": "90000",
        },
        {"DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS": str(30 * DAY + 1)},
    ):
        result = _settings_load(bad)
        assert result.returncode != 0, bad
        assert next(iter(bad)) in result.stderr
