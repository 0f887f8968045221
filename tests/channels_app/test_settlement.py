"""Settlement and the watchtower against the real sandbox ledger (no mocks)."""

from __future__ import annotations

import threading

import pytest
from django.db import connection

from channels_app import ledger
from channels_app.exceptions import ChannelRejected, LedgerUnavailable
from channels_app.models import (
    Channel,
    ChannelStatus,
    Settlement,
    SettlementStatus,
    WatchtowerAlert,
)
from channels_app.selectors import journal_balance
from channels_app.services.channels import channel_register
from channels_app.services.claims import claim_accept
from channels_app.services.platform import journal_reconcile, platform_bootstrap
from channels_app.services.settlement import settlement_run
from channels_app.services.watchtower import watchtower_check, watchtower_scan, watchtower_status
from tests.channels_app.ledger_helpers import (
    ReaderChannel,
    ledger_channel,
    open_reader_channel,
    reader_requests_close,
)
from tests.fixtures.sandbox import advance_ledger_time

PRICE = 250_000

pytestmark = pytest.mark.integration


@pytest.fixture
def platform(settings, sandbox_url: str, db) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_MIN_SETTLE_DELAY_SECONDS = 60
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12  # settle only when a test asks
    settings.DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = 20
    return str(platform_bootstrap()["address"])


def register(sandbox_url: str, platform: str, **kwargs: object) -> tuple[ReaderChannel, Channel]:
    reader = open_reader_channel(sandbox_url, destination=platform, **kwargs)  # type: ignore[arg-type]
    channel_register(
        channel_id=reader.channel_id,
        public_key=reader.key.public_key,
        owner_ref="rdr_it",
        destination_tag=None,
    )
    return reader, Channel.objects.get(channel_id=reader.channel_id)


def pay(reader: ReaderChannel, n: int) -> int:
    amount = n * PRICE
    claim_accept(
        channel_id=reader.channel_id,
        amount_drops=amount,
        signature=reader.key.sign(reader.channel_id, amount),
        min_increment_drops=PRICE,
        payee_ref="pub_it",
        fee_bps=1000,
        reference=f"unlock:{n}",
    )
    return amount


def test_register_reads_the_channel_from_the_ledger(sandbox_url: str, platform: str) -> None:
    reader, channel = register(sandbox_url, platform, settle_delay=120)
    assert channel.amount_drops == 10_000_000
    assert channel.public_key == reader.key.public_key.upper()
    assert channel.settle_delay == 120
    assert channel.status == ChannelStatus.OPEN


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"settle_delay": 30}, "channel_settle_delay_too_short"),
        ({"amount_drops": 500_000}, "channel_underfunded"),
    ],
)
def test_register_refuses_channels_below_policy(sandbox_url, platform, kwargs, code) -> None:
    reader = open_reader_channel(sandbox_url, destination=platform, **kwargs)
    with pytest.raises(ChannelRejected) as caught:
        channel_register(
            channel_id=reader.channel_id,
            public_key=reader.key.public_key,
            owner_ref="r",
            destination_tag=None,
        )
    assert caught.value.code == code
    assert Channel.objects.count() == 0


def test_register_refuses_a_key_that_is_not_the_readers(sandbox_url, platform) -> None:
    reader = open_reader_channel(sandbox_url, destination=platform)
    from tests.channels_app.factories import claim_key

    with pytest.raises(ChannelRejected) as caught:
        channel_register(
            channel_id=reader.channel_id,
            public_key=claim_key().public_key,
            owner_ref="r",
            destination_tag=None,
        )
    assert caught.value.code == "channel_wrong_key"


def test_register_refuses_a_channel_to_someone_else(sandbox_url, platform) -> None:
    from xrpl.wallet import Wallet

    from tests.fixtures.sandbox import fund_account

    other = Wallet.create()
    fund_account(sandbox_url, other.address, 20_000_000)
    reader = open_reader_channel(sandbox_url, destination=other.address)
    with pytest.raises(ChannelRejected) as caught:
        channel_register(
            channel_id=reader.channel_id,
            public_key=reader.key.public_key,
            owner_ref="r",
            destination_tag=None,
        )
    assert caught.value.code == "channel_wrong_destination"


def test_register_refuses_an_unknown_channel(sandbox_url, platform) -> None:
    with pytest.raises(ChannelRejected) as caught:
        channel_register(
            channel_id="AB" * 32, public_key="ED" + "00" * 32, owner_ref="r", destination_tag=None
        )
    assert caught.value.code == "channel_not_found"


def test_register_refuses_a_closing_channel(sandbox_url, platform) -> None:
    reader = open_reader_channel(sandbox_url, destination=platform, settle_delay=120)
    reader_requests_close(sandbox_url, reader)
    with pytest.raises(ChannelRejected) as caught:
        channel_register(
            channel_id=reader.channel_id,
            public_key=reader.key.public_key,
            owner_ref="r",
            destination_tag=None,
        )
    assert caught.value.code == "channel_closing"


def test_settlement_redeems_the_highest_claim_and_reconciles(sandbox_url, platform) -> None:
    # given three accepted claims
    reader, channel = register(sandbox_url, platform)
    for n in (1, 2, 3):
        highest = pay(reader, n)
    balance_before = ledger.account_balance(platform)
    # when the settlement runs
    outcome = settlement_run(channel_pk=channel.pk, reason="test")
    # then only the highest claim was redeemed, once, and books and ledger agree
    assert outcome.state == "validated", outcome
    node = ledger_channel(sandbox_url, reader.channel_id)
    assert node is not None and int(node["Balance"]) == highest
    settlement = Settlement.objects.get()
    assert settlement.status == SettlementStatus.VALIDATED
    assert ledger.account_balance(platform) == balance_before + highest - settlement.fee_drops
    assert journal_balance("claims_receivable", reader.channel_id) == 0
    report = journal_reconcile()
    assert report.ok, report.differences
    # and a re-run has nothing to do and submits nothing
    assert settlement_run(channel_pk=channel.pk, reason="test").state == "nothing_to_do"
    assert Settlement.objects.count() == 1


def test_concurrent_settlement_runs_submit_once(sandbox_url, platform, transactional_db) -> None:
    reader, channel = register(sandbox_url, platform)
    pay(reader, 1)
    outcomes: list[str] = []

    def run() -> None:
        try:
            outcomes.append(settlement_run(channel_pk=channel.pk, reason="race").state)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert Settlement.objects.count() == 1
    assert "validated" in outcomes
    assert journal_reconcile().ok


def test_a_claim_accepted_while_settlement_reads_is_not_an_integrity_violation(
    sandbox_url, platform, monkeypatch
) -> None:
    # Found by benchmarks/faults.py: under load a claim committed between settlement's read
    # of the channel and its read of the highest claim, which then looked forged (CRITICAL
    # alert, settlement refused).
    import channels_app.services.settlement as settlement_module

    reader, channel = register(sandbox_url, platform)
    pay(reader, 1)
    real_sync = settlement_module.channel_sync

    def sync_then_a_claim_arrives(*, channel_pk: int) -> Channel:
        synced = real_sync(channel_pk=channel_pk)
        pay(reader, 2)  # another request's unlock commits now
        return synced

    monkeypatch.setattr(settlement_module, "channel_sync", sync_then_a_claim_arrives)
    outcome = settlement_run(channel_pk=channel.pk, reason="race")
    assert outcome.state == "validated", outcome
    assert outcome.balance_drops == 2 * PRICE
    assert not WatchtowerAlert.objects.exists()
    assert journal_reconcile().ok


def test_a_claim_accepted_while_the_watchtower_reads_is_not_an_integrity_violation(
    sandbox_url, platform, monkeypatch
) -> None:
    import channels_app.services.watchtower as watchtower_module

    reader, channel = register(sandbox_url, platform)
    pay(reader, 1)
    real_sync = watchtower_module.channel_sync

    def sync_then_a_claim_arrives(*, channel_pk: int) -> Channel:
        synced = real_sync(channel_pk=channel_pk)
        pay(reader, 2)
        return synced

    monkeypatch.setattr(watchtower_module, "channel_sync", sync_then_a_claim_arrives)
    decision = watchtower_check(channel_pk=channel.pk)
    assert decision.action == "none", decision
    assert not WatchtowerAlert.objects.exists()


def test_watchtower_settles_before_a_reader_requested_close(sandbox_url, platform) -> None:
    # given a channel with accepted claims whose source asks to close it
    reader, channel = register(sandbox_url, platform, settle_delay=60)
    claimed = pay(reader, 2)
    reader_balance_before = ledger.account_balance(reader.wallet.address)
    reader_requests_close(sandbox_url, reader)
    node = ledger_channel(sandbox_url, reader.channel_id)
    assert node is not None and "Expiration" in node
    # when the watchtower looks
    decision = watchtower_check(channel_pk=channel.pk)
    assert decision.action == "settle_and_close"
    outcome = settlement_run(channel_pk=channel.pk, reason=decision.reason, close=True)
    # then the claim landed before Expiration and the channel is gone
    assert outcome.state == "validated"
    assert ledger_channel(sandbox_url, reader.channel_id) is None
    settlement = Settlement.objects.get()
    assert settlement.ledger_index is not None
    channel.refresh_from_db()
    assert channel.status == ChannelStatus.CLOSED
    assert channel.ledger_balance_drops == claimed
    # the reader got the rest back at once (less their close transaction's fee)
    refund = 10_000_000 - claimed
    assert ledger.account_balance(reader.wallet.address) >= reader_balance_before + refund - 100
    advance_ledger_time(sandbox_url, 120)
    assert journal_reconcile().ok
    assert not WatchtowerAlert.objects.exists()


def test_watchtower_raises_an_alert_when_the_deadline_was_missed(sandbox_url, platform) -> None:
    # given a close request that the watchtower only sees after Expiration
    reader, channel = register(sandbox_url, platform, settle_delay=60)
    pay(reader, 1)
    reader_requests_close(sandbox_url, reader)
    advance_ledger_time(sandbox_url, 120)
    # when it looks
    watchtower_check(channel_pk=channel.pk)
    # then a critical alert is open for an admin
    alert = WatchtowerAlert.objects.get(channel=channel)
    assert alert.level == "critical" and alert.code == "deadline_passed"
    # and a late settlement only removes the channel: the claim is not paid and is written off
    outcome = settlement_run(channel_pk=channel.pk, reason="late", close=True)
    assert outcome.state in {"validated", "closed"}
    channel.refresh_from_db()
    assert channel.ledger_balance_drops == 0
    watchtower_check(channel_pk=channel.pk)
    assert WatchtowerAlert.objects.filter(code="claim_lost").exists()
    assert journal_balance("claims_receivable", reader.channel_id) == 0
    assert journal_balance("claims_written_off", reader.channel_id) == PRICE
    assert journal_reconcile().ok


def test_watchtower_scan_and_status(sandbox_url, platform) -> None:
    reader, _channel = register(sandbox_url, platform, settle_delay=60)
    pay(reader, 1)
    reader_requests_close(sandbox_url, reader)
    decisions = watchtower_scan()
    assert [d.action for d in decisions] == ["settle_and_close"]
    status = watchtower_status()
    assert status["channels_watched"] == 1
    assert status["unredeemed_drops"] == PRICE
    assert status["nearest_margin_seconds"] is not None


def test_ledger_down_is_a_clean_unavailable_error(settings, db) -> None:
    settings.XRPL_URL = "http://127.0.0.1:9/"
    with pytest.raises(LedgerUnavailable):
        ledger.validated_ledger()
    with pytest.raises(LedgerUnavailable):
        channel_register(
            channel_id="AB" * 32, public_key="ED" + "00" * 32, owner_ref="r", destination_tag=None
        )


def test_reconciliation_fails_loudly_on_a_difference_and_settlement_catches_up(
    sandbox_url, platform
) -> None:
    from xrpl.clients import JsonRpcClient
    from xrpl.models.transactions import PaymentChannelClaim
    from xrpl.transaction import submit_and_wait

    # given an accepted claim that the *source* redeems on the ledger behind our back
    reader, channel = register(sandbox_url, platform)
    amount = pay(reader, 1)
    submit_and_wait(
        PaymentChannelClaim(
            account=reader.wallet.address,
            channel=reader.channel_id,
            balance=str(amount),
            amount=str(amount),
        ),
        JsonRpcClient(sandbox_url),
        reader.wallet,
    )
    # then the journal and the ledger disagree, and the command says so with exit 1
    report = journal_reconcile()
    assert not report.ok
    assert any("journal redeemed 0 != ledger Balance" in d for d in report.differences)
    # and a settlement run books what the ledger shows, after which they agree again
    settlement_run(channel_pk=channel.pk, reason="catch-up")
    channel.refresh_from_db()
    assert channel.ledger_balance_drops == amount
    assert journal_balance("claims_receivable", reader.channel_id) == 0
    # the source paid the fee for its own claim, so only the channel checks remain
    assert journal_reconcile().ok


@pytest.mark.django_db(transaction=True)
def test_reconcile_command_exit_codes(sandbox_url, settings) -> None:
    import subprocess
    import sys

    from django.conf import settings as django_settings

    from tests.fixtures.worker import child_environment

    settings.XRPL_URL = sandbox_url
    platform_bootstrap()
    env = child_environment()
    ok = subprocess.run(
        [sys.executable, "manage.py", "reconcile_journal"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "no differences" in ok.stdout
    # an unexplained payment into the settlement account is a difference
    from channels_app.keys.services import platform_address
    from tests.fixtures.sandbox import fund_account

    fund_account(sandbox_url, platform_address(), 1_000_000)
    bad = subprocess.run(
        [sys.executable, "manage.py", "reconcile_journal"],
        env=env,
        check=False,
        capture_output=True,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert "settlement account" in bad.stdout and "FAILED" in bad.stdout
