"""A reader on the demo publisher's site, in Chromium, against the whole running product.

The demo page is served from its own origin (scripts/demo_site.py, under its strict CSP); the
paywall service, the sandbox ledger, a Celery worker and beat run as real processes on the
test database. The reader pays with claims signed in the signer frame, finds both articles
unlocked again after a reload without a click and at no charge, is stopped by the spending
cap it set in the frame, and closes its channel; the watchtower then redeems the last claim
and closes the channel on the ledger, and the books match the ledger to the drop.
"""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db.models import Q, Sum
from playwright.sync_api import expect

from channels_app import ledger
from channels_app.models import Channel, ChannelStatus, Claim, Settlement, SettlementStatus
from channels_app.services.platform import journal_reconcile
from paywall.models import Reader, Unlock
from scripts.demo_content import ARTICLES
from tests.browser.human import human_move_and_click
from tests.browser.support import off_loop, unexpected_console_errors, wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FIRST, SECOND, THIRD = ARTICLES[0], ARTICLES[1], ARTICLES[2]


def body_snippet(article) -> str:
    """A sentence of the paid body that the teaser does not contain."""
    return article.body_html.split("</p>")[0].removeprefix("<p>")[:60]


def click_unlock(browser, slug: str) -> None:
    """A reader's click: real human movement onto the button (a bare .click() is a bot's)."""
    button = browser.article(slug).locator('button[data-paywall-action="unlock"]')
    human_move_and_click(browser.page, button, seed=sum(map(ord, slug)))


def open_wallet_action(browser, slug: str, action: str) -> None:
    """The page's wallet menu of one article, then one of its entries."""
    article = browser.article(slug)
    article.locator("details.dg-wallet > summary").click()
    article.locator(f'button[data-paywall-action="{action}"]').click()


def events_for(browser, slug: str, state: str) -> list[dict]:
    return [e for e in browser.events() if e["article"] == slug and e["state"] == state]


def test_reader_pays_rereads_hits_the_cap_and_closes_and_the_watchtower_settles(
    stack, watchtower, browser
) -> None:
    page = browser.page
    publisher = stack.publisher.publisher
    frame = browser.frame()
    dialog = page.locator("dialog.dg-host")

    # given the demo page, loaded from its own origin
    assert stack.site_url != stack.paywall_url
    page.goto(f"{stack.site_url}/")
    articles = page.locator("article[data-paywall-article]")
    expect(articles).to_have_count(len(ARTICLES))

    # then every article is locked, with an accessible unlock button and no paid body
    for demo in ARTICLES:
        article = browser.article(demo.slug)
        expect(article).to_have_attribute("data-paywall-state", "locked")
        button = article.locator('button[data-paywall-action="unlock"]')
        expect(button).to_have_count(1)
        expect(button).to_be_visible()
        expect(button).to_be_enabled()
        price_xrp = f"{demo.price_drops / 1_000_000:g}"
        expect(button).to_have_accessible_name(
            re.compile(rf"^Unlock for {re.escape(price_xrp)} XRP.*: {re.escape(demo.title)}$")
        )
        assert article.locator("[data-paywall-content]").inner_html() == ""
        assert body_snippet(demo) not in page.content()
    assert [e["state"] for e in browser.events()] == ["locked"] * len(ARTICLES)

    # when the reader unlocks the first article and confirms the channel inside the frame
    click_unlock(browser, FIRST.slug)
    confirm = frame.locator('button[data-paywall-action="confirm"]')
    expect(dialog).to_be_visible()
    expect(frame.locator('button[data-paywall-action="cancel"]')).to_be_visible()
    confirm.click()
    browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=60)

    # then it is unlocked, its paid body is in the page, and the event says what it cost
    first = browser.article(FIRST.slug)
    expect(first).to_have_attribute("data-paywall-state", "unlocked")
    expect(first.locator("[data-paywall-content]")).to_contain_text(body_snippet(FIRST))
    assert [e["state"] for e in browser.events() if e["article"] == FIRST.slug] == [
        "locked",
        "pending",
        "unlocked",
    ]
    (unlocked,) = events_for(browser, FIRST.slug, "unlocked")
    assert unlocked["amountDrops"] == FIRST.price_drops
    assert isinstance(unlocked["amountDrops"], int)
    assert unlocked["target"] == FIRST.slug  # dispatched on the article, seen on document
    reader = Reader.objects.get(publisher=publisher)
    channel = Channel.objects.get(owner_ref=reader.public_id)
    assert channel.accepted_drops == FIRST.price_drops

    # when the reader unlocks the second article: the open channel pays, no confirmation
    click_unlock(browser, SECOND.slug)
    assert browser.wait_state(SECOND.slug, "unlocked", "blocked", "error") == "unlocked"
    expect(browser.article(SECOND.slug).locator("[data-paywall-content]")).to_contain_text(
        body_snippet(SECOND)
    )
    (unlocked,) = events_for(browser, SECOND.slug, "unlocked")
    assert unlocked["amountDrops"] == SECOND.price_drops
    paid = FIRST.price_drops + SECOND.price_drops
    channel.refresh_from_db()
    assert channel.accepted_drops == paid
    assert Unlock.objects.filter(reader=reader).count() == 2
    claims = Claim.objects.filter(channel=channel).count()
    assert claims == 2

    # when the page is reloaded, and the reader clicks nothing
    page.reload()
    expect(articles).to_have_count(len(ARTICLES))
    for demo in (FIRST, SECOND):
        # then the articles paid before unlock by themselves (the frame restores them)
        assert browser.wait_state(demo.slug, "unlocked", "blocked", "error") == "unlocked"
        expect(browser.article(demo.slug).locator("[data-paywall-content]")).to_contain_text(
            body_snippet(demo)
        )
        # straight from locked, never pending: nothing was clicked or paid
        assert [e["state"] for e in browser.events() if e["article"] == demo.slug] == [
            "locked",
            "unlocked",
        ]
        (unlocked,) = events_for(browser, demo.slug, "unlocked")
        assert unlocked["amountDrops"] == 0
        assert isinstance(unlocked["amountDrops"], int)
        expect(
            browser.article(demo.slug).locator('button[data-paywall-action="unlock"]')
        ).to_be_hidden()
    # and the others stay locked, with their body still out of the page
    for demo in ARTICLES[2:]:
        expect(browser.article(demo.slug)).to_have_attribute("data-paywall-state", "locked")
        assert browser.article(demo.slug).locator("[data-paywall-content]").inner_html() == ""
        assert body_snippet(demo) not in page.content()
    # and nothing was charged again: no dialog, no new claim or unlock on the server
    expect(dialog).to_be_hidden()
    channel.refresh_from_db()
    assert channel.accepted_drops == paid
    assert Unlock.objects.filter(reader=reader).count() == 2
    assert Claim.objects.filter(channel=channel).count() == claims
    assert Reader.objects.filter(publisher=publisher).count() == 1

    # when the reader sets, in the frame's own form, a cap below what the third would take
    open_wallet_action(browser, THIRD.slug, "set-cap")
    cap_input = frame.locator('input[name="cap"]')
    expect(cap_input).to_be_visible()
    cap_drops = paid + THIRD.price_drops - 1
    cap_input.fill(str(Decimal(cap_drops).scaleb(-6)))
    frame.locator('button[data-frame-action="save-cap"]').click()
    expect(dialog).to_be_hidden()
    click_unlock(browser, THIRD.slug)

    # then the third article is blocked by the cap, and nothing was signed or accepted
    assert browser.wait_state(THIRD.slug, "unlocked", "blocked", "error") == "blocked"
    third = browser.article(THIRD.slug)
    expect(third).to_have_attribute("data-paywall-reason", "cap")
    assert third.locator("[data-paywall-content]").inner_html() == ""
    (blocked,) = events_for(browser, THIRD.slug, "blocked")
    assert blocked["amountDrops"] == 0 and blocked["reason"] == "cap"
    channel.refresh_from_db()
    assert channel.accepted_drops == paid
    assert Claim.objects.filter(channel=channel).count() == claims
    assert not Unlock.objects.filter(reader=reader, article__slug=THIRD.slug).exists()

    # when the reader closes the channel from the frame
    assert off_loop(ledger.channel_entry, channel.channel_id) is not None
    open_wallet_action(browser, FIRST.slug, "close-channel")
    frame.locator('button[data-paywall-action="confirm"]').click()
    expect(dialog).to_be_hidden(timeout=60_000)

    # then the watchtower (beat schedules the scan, the worker settles) redeems and closes it
    wait_for(
        lambda: Channel.objects.get(pk=channel.pk).status == ChannelStatus.CLOSED,
        timeout=60,
        message="the watchtower to settle and close the channel",
    )
    assert off_loop(ledger.channel_entry, channel.channel_id) is None
    settlements = Settlement.objects.filter(channel=channel)
    assert not settlements.filter(
        status__in=[SettlementStatus.PREPARED, SettlementStatus.SUBMITTED]
    ).exists()
    final = settlements.get(status=SettlementStatus.VALIDATED, close=True)
    assert final.balance_drops == paid
    channel.refresh_from_db()
    assert channel.ledger_balance_drops == paid

    # and the platform's account grew by exactly what was accepted, less the network fees
    # (a validated claim, or a tec failure, burns its fee; tem/tef/tel never applied)
    burned = settlements.filter(
        Q(engine_result="tesSUCCESS") | Q(engine_result__startswith="tec"),
        status__in=[SettlementStatus.VALIDATED, SettlementStatus.FAILED],
    ).aggregate(total=Sum("fee_drops"))["total"]
    assert burned > 0
    balance = off_loop(ledger.account_balance, stack.platform.address)
    assert balance - stack.platform.opening_balance_drops == paid - burned
    report = off_loop(journal_reconcile)
    assert report.ok, report.differences

    # and the page ran under the demo site's strict CSP without a violation or an error
    assert browser.csp_violations == []
    assert browser.page_errors == []
    assert unexpected_console_errors(browser.console_errors) == []
