"""Bot scoring in the browser: the page's telemetry decides who may pay for an article.

Both kinds of visitor use the same Chromium, without navigator.webdriver and with an ordinary
user agent (conftest.py), so what tells them apart is behaviour:
- a Playwright bot that clicks through the demo (a bare `.click()`, and a scripted
  `mouse.move(..., steps=n)` path) is scored as a bot and cannot unlock;
- a reader whose hand is a real human trace from the SapiMouse dataset, replayed at its own
  timing (tests/browser/human.py), unlocks.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from fraud.models import RiskDecisionRecord
from paywall.models import Unlock
from scripts.demo_content import ARTICLES
from tests.browser.human import human_move_and_click
from tests.browser.support import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.django_db(transaction=True)]

FIRST = ARTICLES[0]
UNLOCK = 'button[data-paywall-action="unlock"]'
CONFIRM = 'button[data-paywall-action="confirm"]'
CHALLENGE = 'button[data-paywall-action="challenge"]'


def _bot_finishes(browser, slug: str) -> str:
    """Click every confirmation or challenge the SDK shows, the way a script does, until the
    article settles; return its final state."""
    article = browser.article(slug)
    frame_confirm = browser.frame().locator(CONFIRM)

    def settled() -> str | None:
        state = article.get_attribute("data-paywall-state")
        if state in ("unlocked", "blocked", "error"):
            return state
        for button in (article.locator(CHALLENGE), frame_confirm):
            try:
                if button.count() and button.first.is_visible():
                    button.first.click(timeout=2_000)
            except Exception:  # the button went away between the check and the click
                pass
        return None

    return str(wait_for(settled, 90, f"{slug} to leave pending"))


@pytest.mark.parametrize("moves", ["none", "stepped"])
def test_a_playwright_bot_clicking_through_the_demo_cannot_unlock(stack, browser, moves) -> None:
    page = browser.page
    page.goto(f"{stack.site_url}/")
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-state", "locked")

    # when a script clicks the unlock button: straight away, or after moving along straight
    # lines in even steps
    if moves == "stepped":
        for x, y in ((100, 100), (600, 300), (200, 500)):
            page.mouse.move(x, y, steps=25)
    browser.article(FIRST.slug).locator(UNLOCK).click()

    # then it is refused with the risk reason, and nothing was charged
    state = _bot_finishes(browser, FIRST.slug)
    decisions = list(RiskDecisionRecord.objects.order_by("pk"))
    seen = [(d.action, d.score, d.reasons, d.category) for d in decisions]
    assert state == "blocked", seen
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-reason", "risk")
    assert not Unlock.objects.exists()
    assert decisions, "the unlock never reached the risk decision"
    assert all(d.action in ("refuse", "challenge") for d in decisions), seen
    # given away by how it moved and clicked, not by the browser it ran in
    behaviour = {
        "mouse_model",
        "uniform_timing",
        "inhuman_speed",
        "click_teleport",
        "click_without_movement",
    }
    assert behaviour & set(decisions[0].reasons), seen
    assert decisions[0].category == "bot", seen


def test_a_reader_moving_like_a_human_unlocks(stack, browser) -> None:
    page = browser.page
    page.goto(f"{stack.site_url}/")
    expect(browser.article(FIRST.slug)).to_have_attribute("data-paywall-state", "locked")

    # when the reader's hand (a real human trace) moves to the button and clicks it
    human_move_and_click(page, browser.article(FIRST.slug).locator(UNLOCK), seed=11, seconds=6)
    browser.frame().locator(CONFIRM).click()  # inside the signer frame, which has no telemetry

    # then the article is unlocked and the decision was to allow a human
    assert browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=90) == "unlocked"
    decision = RiskDecisionRecord.objects.latest("pk")
    assert decision.action == "allow", (decision.score, decision.reasons)
    assert decision.category == "human"
    assert Unlock.objects.count() == 1
