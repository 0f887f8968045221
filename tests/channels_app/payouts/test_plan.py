"""The payout plan and the payable rule, without a ledger: claims accepted through the real
claim path on a tracked channel, redeemed by moving the channel's ledger balance."""

from __future__ import annotations

from datetime import timedelta

import pytest

from channels_app import clock
from channels_app.models import Channel, ChannelStatus
from channels_app.payouts.selectors import publisher_balances
from channels_app.payouts.services.holds import hold_place
from channels_app.payouts.services.payouts import payout_plan
from channels_app.services.claims import claim_accept
from tests.channels_app.factories import claim_key, make_channel
from tests.channels_app.payouts.conftest import net, new_address

pytestmark = pytest.mark.django_db

HOT = "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh"


@pytest.fixture(autouse=True)
def rules(settings) -> None:
    settings.DROPGATE_PAYOUT_HOLDBACK_SECONDS = 7 * 86_400
    settings.DROPGATE_PAYOUT_MULTISIGN_THRESHOLD_DROPS = 5_000_000
    settings.DROPGATE_PAYOUT_MIN_DROPS = 1_000_000
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12


def earn(payments: list[tuple[str, int]], *, redeem: bool = True) -> Channel:
    key = claim_key()
    channel = make_channel(key=key, amount_drops=100_000_000)
    total = 0
    for n, (ref, drops) in enumerate(payments):
        total += drops
        claim_accept(
            channel_id=channel.channel_id,
            amount_drops=total,
            signature=key.sign(channel.channel_id, total),
            min_increment_drops=drops,
            payee_ref=ref,
            fee_bps=1000,
            reference=f"u{n}",
        )
    if redeem:
        Channel.objects.filter(pk=channel.pk).update(ledger_balance_drops=total)
    channel.refresh_from_db()
    return channel


def plan(destinations: dict[str, str], *, hot: int = 10**12, vault: int | None = None):
    return payout_plan(
        destinations=destinations,
        hot_budget_drops=hot,
        vault_budget_drops=vault,
        fee_drops=10,
        vault_fee_drops=30,
        excluded_destinations=frozenset({HOT}),
    )


def test_each_publisher_gets_the_lane_or_the_reason_it_waits() -> None:
    earn([("a", 500_000), ("b", 2_000_000), ("c", 20_000_000), ("d", 3_000_000), ("e", 2_000_000)])
    destinations = {
        "a": new_address(),
        "b": new_address(),
        "c": new_address(),
        "d": "nope",
        "e": HOT,
    }
    with clock.override(timedelta(days=8)):
        result = plan(destinations)
        with_vault = plan(destinations, vault=100_000_000, hot=net(2_000_000))

    assert [(p.publisher_ref, p.lane, p.amount_drops) for p in result.payouts] == [
        ("b", "hot", net(2_000_000))
    ]
    assert {d["publisher_ref"]: d["reason"] for d in result.deferred} == {
        "a": "below_minimum",
        "c": "vault_not_ready",
        "d": "invalid_destination",
        "e": "destination_is_platform",
    }
    # with a vault, the large one goes there; the hot float covers b but not b's fee too
    assert [(p.publisher_ref, p.lane) for p in with_vault.payouts] == [("c", "vault")]
    assert {d["publisher_ref"]: d["reason"] for d in with_vault.deferred}["b"] == (
        "hot_float_insufficient"
    )


def test_the_payable_rule() -> None:
    earn([("p", 4_000_000)])  # redeemed
    earn([("p", 3_000_000)], redeem=False)  # accepted, not redeemed
    lost = earn([("p", 2_000_000)], redeem=False)
    Channel.objects.filter(pk=lost.pk).update(status=ChannelStatus.CLOSED)  # closed unredeemed

    inside = publisher_balances(["p"])["p"]
    assert (inside.pending_drops, inside.available_drops) == (net(7_000_000), 0)
    assert inside.lost_drops == net(2_000_000)
    with clock.override(timedelta(days=8)):
        after = publisher_balances(["p"])["p"]
        assert after.owed_drops == net(9_000_000)
        assert (after.pending_drops, after.lost_drops) == (net(3_000_000), net(2_000_000))
        assert after.available_drops == net(4_000_000)
        hold_place(publisher_ref="p", reason="review", amount_drops=1_000_000)
        held = publisher_balances(["p"])["p"]
        assert (held.held_drops, held.available_drops) == (1_000_000, net(4_000_000) - 1_000_000)
        hold_place(publisher_ref="p", reason="everything")
        all_held = publisher_balances(["p"])["p"]
        assert (all_held.held_drops, all_held.available_drops) == (net(4_000_000), 0)
