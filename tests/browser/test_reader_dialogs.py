"""The reader's compliance and dispute dialogs in the signer frame (issues 11 and 12), in
Chromium, against the whole running product (paywall service, demo site on its own origin,
sandbox ledger), as tests/browser/test_end_to_end.py runs it.

The browser's time zone is Europe/Berlin (a piece of evidence for Germany, which the frame
reports); the page's IP is the loopback, which names no country. So:

- with nothing else, the reader is in Germany: the frame shows the price with 19 % German VAT
  and the receipt its tax line;
- with France declared in the frame, the evidence conflicts and the frame asks
  (`confirm_country`);
- with DROPGATE_CONSENT_REQUIRED, the frame asks for consent before the first paid unlock.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

import pytest
from playwright.sync_api import expect

from compliance.models import ConsentRecord, CountryConfirmation, DecisionRecord
from compliance.tax import split_inclusive
from disputes.models import Dispute
from paywall.models import Reader, Unlock
from scripts.demo_content import ARTICLES
from tests.browser.human import human_move_and_click
from tests.browser.support import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FIRST, SECOND = ARTICLES[0], ARTICLES[1]
DE_RATE = Decimal("19")

# Refusals the frame meets on purpose (Chromium logs every non-2xx answer as a console error).
EXPECTED_STATUS = re.compile(r"status of (402|404|409|428)\b")


@pytest.fixture
def context_options() -> dict[str, Any]:
    return {"timezone_id": "Europe/Berlin", "locale": "en-US"}


@pytest.fixture
def consent_required(live_platform: Any, settings: Any) -> None:
    """Set before the paywall service starts (the `stack` fixture copies the settings)."""
    settings.DROPGATE_CONSENT_REQUIRED = True


def click_unlock(browser: Any, slug: str) -> None:
    button = browser.article(slug).locator('button[data-paywall-action="unlock"]')
    human_move_and_click(browser.page, button, seed=sum(map(ord, slug)))


def open_reading_wallet(browser: Any, slug: str) -> None:
    """The page's wallet menu → "Spending cap…", which opens the frame's reading wallet.

    With a person's movements: the page's telemetry scores them, and scripted clicks there
    would get the reader's next unlock challenged."""
    article = browser.article(slug)
    seed = sum(map(ord, slug))
    human_move_and_click(
        browser.page, article.locator("details.dg-wallet > summary"), seed=seed + 1
    )
    human_move_and_click(
        browser.page, article.locator('button[data-paywall-action="set-cap"]'), seed=seed + 2
    )
    expect(browser.frame().locator('[role="dialog"] h1', has_text="Reading wallet")).to_be_visible()


def check_clean(browser: Any) -> None:
    assert browser.csp_violations == []
    assert browser.page_errors == []
    unexpected = [e for e in browser.console_errors if not EXPECTED_STATUS.search(e)]
    assert unexpected == []


def vat_label(price_drops: int) -> str:
    _net, tax = split_inclusive(price_drops, DE_RATE)
    return f"{Decimal(tax) / 1_000_000:f}".rstrip("0").rstrip(".")


def test_consent_before_the_first_immediate_access_then_price_with_tax_and_the_receipts_tax(
    consent_required, stack, browser
) -> None:
    page, frame = browser.page, browser.frame()
    publisher = stack.publisher.publisher
    dialog = page.locator("dialog.dg-host")
    page.goto(f"{stack.site_url}/")
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-state", "locked")

    # when the reader unlocks an article for the first time on this site
    click_unlock(browser, FIRST.slug)

    # then the frame asks for consent to immediate access first, with two unticked boxes
    consent = frame.locator('[data-frame-dialog="consent"]')
    expect(dialog).to_be_visible()
    expect(consent).to_be_visible()
    expect(consent.locator("h1")).to_be_focused()
    boxes = consent.locator('input[type="checkbox"]')
    expect(boxes).to_have_count(2)
    for i in range(2):
        expect(boxes.nth(i)).not_to_be_checked()
    agree = consent.locator('button[data-paywall-action="confirm"]')
    consent.get_by_label(
        re.compile("access to each article I pay for to start immediately")
    ).check()
    expect(agree).to_be_disabled()  # one box is not enough
    assert ConsentRecord.objects.count() == 0
    consent.get_by_label(re.compile("I lose my right of withdrawal")).check()
    expect(agree).to_be_enabled()
    agree.click()

    # then the consent is recorded for this reader and publisher, with the text's version
    record = wait_for(ConsentRecord.objects.first, 15, "the consent record")
    reader = Reader.objects.get(publisher=publisher)
    assert (record.reader_ref, record.publisher_ref) == (reader.public_id, publisher.key)
    assert record.text_version == "2026-12-01"

    # and the channel confirmation shows the price with German VAT (the browser's time zone)
    open_channel = frame.locator('[role="dialog"]', has_text="Open a payment channel")
    expect(open_channel).to_be_visible()
    price = open_channel.locator("dt", has_text="Price").locator("xpath=following-sibling::dd[1]")
    expect(price).to_have_text(
        f"{FIRST.price_drops / 1_000_000:g} XRP incl. 19 % VAT DE ({vat_label(FIRST.price_drops)} XRP)"
    )
    open_channel.locator('button[data-paywall-action="confirm"]').click()
    assert browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=60) == "unlocked"

    # then the charge was taxed as shown
    unlock = Unlock.objects.get(reader=reader)
    decision = DecisionRecord.objects.get(claim_id=unlock.claim_id)
    net, tax = split_inclusive(FIRST.price_drops, DE_RATE)
    assert (decision.country, decision.tax_drops, decision.net_drops) == ("DE", tax, net)

    # when the reader opens Receipts in the frame's reading wallet
    open_reading_wallet(browser, FIRST.slug)
    frame.locator('button[data-frame-action="receipts"]').click()
    receipts = frame.locator('[data-frame-dialog="receipts"]')
    expect(receipts).to_be_visible()

    # then the receipt shows the price, the tax and the claim reference
    item = receipts.locator(f'li[data-article="{FIRST.slug}"]')
    expect(item).to_contain_text(f"VAT DE 19 %: {vat_label(FIRST.price_drops)} XRP")
    expect(item).to_contain_text(unlock.claim_reference)
    receipts.locator('button[data-frame-action="close"]').click()
    expect(dialog).to_be_hidden()

    # and a second paid unlock asks for consent no more
    click_unlock(browser, SECOND.slug)
    assert browser.wait_state(SECOND.slug, "unlocked", "blocked", "error", timeout=60) == "unlocked"
    assert ConsentRecord.objects.count() == 1
    check_clean(browser)


def test_conflicting_signals_ask_the_reader_to_confirm_the_country(stack, browser) -> None:
    page, frame = browser.page, browser.frame()
    publisher = stack.publisher.publisher
    page.goto(f"{stack.site_url}/")
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-state", "locked")

    # given the reader declared France in the frame (the browser's time zone says Germany)
    open_reading_wallet(browser, FIRST.slug)
    frame.locator('button[data-frame-action="country"]').click()
    declare = frame.locator('[data-frame-dialog="country"]')
    expect(declare).to_be_visible()
    declare.get_by_label("Country", exact=True).select_option("FR")
    declare.locator('button[data-paywall-action="confirm"]').click()
    expect(declare).to_be_hidden()

    # when the reader unlocks an article
    click_unlock(browser, FIRST.slug)

    # then the frame asks where the reader is, with the conflicting countries first
    ask = frame.locator('[data-frame-dialog="country"]')
    expect(ask).to_be_visible()
    expect(ask.locator("legend")).to_have_text("Your country")
    candidates = ask.locator('input[type="radio"]')
    expect(candidates).to_have_count(3)
    assert [candidates.nth(i).get_attribute("data-country") for i in range(3)] == [
        "DE",
        "FR",
        "other",
    ]
    assert CountryConfirmation.objects.count() == 0
    assert Unlock.objects.count() == 0
    ask.locator('input[data-country="DE"]').check()
    ask.locator('button[data-paywall-action="confirm"]').click()

    # then the answer is recorded, and the price is taxed for Germany
    confirmation = wait_for(CountryConfirmation.objects.first, 15, "the country confirmation")
    reader = Reader.objects.get(publisher=publisher)
    assert (confirmation.reader_ref, confirmation.country) == (reader.public_id, "DE")
    open_channel = frame.locator('[role="dialog"]', has_text="Open a payment channel")
    expect(open_channel).to_contain_text("incl. 19 % VAT DE")
    open_channel.locator('button[data-paywall-action="confirm"]').click()
    assert browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=60) == "unlocked"
    unlock = Unlock.objects.get(reader=reader)
    assert DecisionRecord.objects.get(claim_id=unlock.claim_id).country == "DE"
    check_clean(browser)


def test_reader_reports_a_problem_from_the_frame_and_sees_its_status(stack, browser) -> None:
    page, frame = browser.page, browser.frame()
    publisher = stack.publisher.publisher
    dialog = page.locator("dialog.dg-host")
    page.goto(f"{stack.site_url}/")

    # given an unlocked article
    click_unlock(browser, FIRST.slug)
    frame.locator('button[data-paywall-action="confirm"]').click()
    assert browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=60) == "unlocked"
    expect(dialog).to_be_hidden()
    reader = Reader.objects.get(publisher=publisher)

    # when the reader opens Receipts in the frame and reports a problem with it
    open_reading_wallet(browser, FIRST.slug)
    frame.locator('button[data-frame-action="receipts"]').click()
    frame.locator(f'li[data-article="{FIRST.slug}"] button[data-frame-action="report"]').click()
    form = frame.locator('[data-frame-dialog="dispute"]')
    expect(form).to_be_visible()
    expect(form.locator("h1")).to_have_text("Report a problem")
    expect(form.locator('input[type="radio"]')).to_have_count(5)
    form.get_by_label("I paid but the article did not load").check()
    message = form.get_by_label("Tell us more (optional)")
    message.fill("The body never appeared.")
    expect(form).to_contain_text("24 of 2000 characters")
    form.locator('button[data-paywall-action="confirm"]').click()

    # then it is filed and decided at once: the body's delivery was recorded
    expect(form.locator("h1")).to_have_text("Problem reported")
    expect(form).to_contain_text("Decided in the publisher's favour")
    dispute = Dispute.objects.get(reader=reader)
    assert (dispute.reason, dispute.message) == ("not_delivered", "The body never appeared.")
    assert dispute.unlock.article.slug == FIRST.slug
    assert dispute.status == "won_by_publisher"
    form.locator('button[data-frame-action="close"]').click()
    expect(dialog).to_be_hidden()

    # when the reader opens Your reports
    open_reading_wallet(browser, FIRST.slug)
    frame.locator('button[data-frame-action="disputes"]').click()
    reports = frame.locator('[data-frame-dialog="disputes"]')

    # then the report is listed with its status and outcome
    row = reports.locator(f'li[data-dispute="{dispute.pk}"]')
    expect(row).to_have_attribute("data-status", "won_by_publisher")
    expect(row).to_contain_text("The publisher won")
    expect(row).to_contain_text(FIRST.slug)
    page.keyboard.press("Escape")  # Escape closes the frame's dialog
    expect(dialog).to_be_hidden()

    # when a script asks to report an article the reader never bought (Dropgate.dispute)
    page.evaluate(
        "(slug) => { window.__dgDispute = window.Dropgate.dispute(slug, {reason: 'accidental'})"
        ".then(r => ({ok: r}), e => ({code: e.code})); }",
        SECOND.slug,
    )
    form = frame.locator('[data-frame-dialog="dispute"]')
    expect(form).to_be_visible()
    expect(form.locator('input[value="accidental"]')).to_be_checked()
    assert Dispute.objects.count() == 1  # nothing is filed without the reader's click
    form.locator('button[data-paywall-action="confirm"]').click()

    # then the server's 404 is shown in the form, which stays open
    error = form.locator("[data-frame-error]")
    expect(error).to_have_attribute("data-code", "unlock_not_found")
    expect(error).to_contain_text("no purchase of this article")
    expect(error).to_have_attribute("role", "alert")
    form.locator('button[data-paywall-action="cancel"]').click()
    expect(dialog).to_be_hidden()
    assert page.evaluate("() => window.__dgDispute") == {"code": "unlock_not_found"}
    assert Dispute.objects.count() == 1
    check_clean(browser)
