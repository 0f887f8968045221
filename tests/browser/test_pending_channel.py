"""A channel whose opening answer was lost is found again, in Chromium, against the product.

The reader confirms a channel in the signer frame; the create reaches the ledger but the answer
of POST /api/v1/wallet/submit never reaches the frame (the browser drops it). Before this fix the
frame forgot the channel id and the deposit was stranded. Now the frame kept the pending channel
in IndexedDB from the moment it signed the create: after a reload it registers the channel by
itself, and the next unlock pays from it — no second deposit, no second confirmation.
"""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from channels_app import ledger
from channels_app.models import Channel
from paywall.models import Reader, Unlock
from scripts.demo_content import ARTICLES
from tests.browser.human import human_move_and_click
from tests.browser.support import off_loop, unexpected_console_errors, wait_for
from tests.fixtures.sandbox import sandbox_rpc

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FIRST = ARTICLES[0]
SUBMIT = "**/api/v1/wallet/submit"


def click_unlock(browser: Any, slug: str, seed: int) -> None:
    button = browser.article(slug).locator('button[data-paywall-action="unlock"]')
    human_move_and_click(browser.page, button, seed=seed)


def test_a_channel_whose_answer_was_lost_is_resumed_after_a_reload(stack, browser) -> None:
    page = browser.page
    frame = browser.frame()
    dialog = page.locator("dialog.dg-host")
    publisher = stack.publisher.publisher
    submits: list[dict[str, Any]] = []

    def lose_the_answer(route: Any) -> None:
        # The request reaches the paywall (the create is submitted to the ledger); its answer
        # never reaches the frame.
        response = route.fetch(timeout=60_000)
        submits.append({"status": response.status, "body": response.json()})
        route.abort("connectionreset")

    # given the demo page, and a network that will drop the answer to the create's submit
    browser.context.route(SUBMIT, lose_the_answer)
    page.goto(f"{stack.site_url}/")
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-state", "locked")

    # when the reader unlocks the first article and confirms the channel in the frame
    click_unlock(browser, FIRST.slug, seed=11)
    confirm = frame.locator('button[data-paywall-action="confirm"]')
    expect(dialog).to_be_visible()
    confirm.click()

    # then the unlock fails (the frame never heard back), though the channel is on the ledger
    assert browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=90) == "error"
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-reason", "network_error")
    assert len(submits) == 1 and submits[0]["status"] in (200, 202), submits
    channel_id = submits[0]["body"]["channel_id"]
    reader = Reader.objects.get(publisher=publisher)
    assert not Channel.objects.filter(owner_ref=reader.public_id).exists()
    wait_for(
        lambda: off_loop(ledger.channel_entry, channel_id) is not None,
        timeout=30,
        message="the create to validate",
    )
    source = off_loop(ledger.channel_entry, channel_id).source_address

    # when the network is back and the reader comes back to the page, clicking nothing
    browser.context.unroute(SUBMIT)
    page.reload()
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-state", "locked")

    # then the frame registers the pending channel by itself
    wait_for(
        lambda: Channel.objects.filter(channel_id=channel_id, owner_ref=reader.public_id).exists(),
        timeout=60,
        message="the frame to register its pending channel",
    )

    # and the next unlock pays from it: no confirmation, no second channel
    browser.clear_events()
    click_unlock(browser, FIRST.slug, seed=12)
    assert browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=60) == "unlocked"
    unlocked = [e for e in browser.events() if e["state"] == "unlocked"]
    assert [e["amountDrops"] for e in unlocked] == [FIRST.price_drops]
    expect(dialog).to_be_hidden()
    channel = Channel.objects.get(owner_ref=reader.public_id)
    assert channel.channel_id == channel_id
    assert channel.accepted_drops == FIRST.price_drops
    assert Unlock.objects.filter(reader=reader).count() == 1
    channels_of_source = off_loop(
        sandbox_rpc, stack.platform.sandbox_url, "account_channels", account=source
    )["channels"]
    assert [c["channel_id"] for c in channels_of_source] == [channel_id]
    # the channel carries the CancelAfter the frame checked before signing
    assert off_loop(ledger.channel_entry, channel_id).cancel_after is not None

    assert browser.csp_violations == []
    assert browser.page_errors == []
    assert [
        e for e in unexpected_console_errors(browser.console_errors) if "wallet/submit" not in e
    ] == []
