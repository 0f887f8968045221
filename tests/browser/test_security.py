"""What the browser SDK and the paywall refuse, seen from a real browser and over HTTP.

- A page on an origin the publisher did not allow cannot unlock anything: the API refuses
  it, the browser refuses to frame the signer frame there (CSP frame-ancestors), and no
  reader, claim or unlock is ever created.
- A claim whose signature was tampered with is refused with 422 `claim_signature_invalid`,
  and the same claim signed correctly is then accepted (the refusal was the signature's).
- The paid body reaches neither the page's DOM nor any response the browser received before
  the reader paid, and the demo page works under its strict CSP without a violation.
"""

from __future__ import annotations

import pytest
import requests
from playwright.sync_api import expect
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import PaymentChannelCreate
from xrpl.transaction import submit_and_wait
from xrpl.wallet import Wallet

from channels_app.models import Channel, Claim
from paywall.models import Reader, Unlock
from paywall.services.channels import reader_channel_register
from paywall.services.readers import reader_create
from scripts.demo_content import ARTICLES
from tests.browser.human import human_move_and_click
from tests.browser.support import FRAME_SELECTOR, response_text, unexpected_console_errors
from tests.channels_app.factories import claim_key
from tests.channels_app.ledger_helpers import created_channel_id
from tests.fixtures.sandbox import fund_account
from tests.paywall.factories import registration_proof

pytestmark = [pytest.mark.browser, pytest.mark.integration]

FIRST = ARTICLES[0]
CHANNEL_DROPS = 2_000_000


def paid_snippets() -> list[str]:
    """A sentence from each article's paid body (none of them is in a teaser)."""
    return [a.body_html.split("</p>")[0].removeprefix("<p>")[:60] for a in ARTICLES]


def test_a_page_on_an_origin_the_publisher_did_not_allow_cannot_unlock(stack, browser) -> None:
    # given the publisher's own demo page served from an origin it never allowed
    foreign = stack.start_site()
    assert foreign not in stack.publisher.publisher.allowed_origins
    page = browser.page
    # (when each state change happened, in the page's clock)
    browser.context.add_init_script(
        """window.__dgTimes = [];
           document.addEventListener("paywall:statechange",
             (e) => window.__dgTimes.push([e.detail.state, performance.now()]));"""
    )
    page.goto(f"{foreign}/")
    expect(page.locator("article[data-paywall-article]")).to_have_count(len(ARTICLES))

    # then every article shows the refusal at once: the page's first request (the prices) is
    # refused with a 403 that carries no CORS header, and a fetch that fails without a
    # readable answer is that refusal
    for demo in ARTICLES:
        state = browser.wait_state(demo.slug, "unlocked", "blocked", "error", timeout=5)
        assert state == "error"
        expect(browser.article(demo.slug)).to_have_attribute(
            "data-paywall-reason", "origin_not_allowed"
        )
    # (within a second of paywall.js arriving, not after the frame's 20 s hello timeout)
    times = page.evaluate("() => window.__dgTimes")
    script_at = page.evaluate(
        """() => performance.getEntriesByType("resource")
                 .find((e) => e.name.includes("/static/js/paywall.js")).responseEnd"""
    )
    errors_at = [t for state, t in times if state == "error"]
    assert len(errors_at) == len(ARTICLES), times
    assert max(errors_at) - script_at < 1000, (script_at, times)
    # and no signer frame was made on that page
    assert page.locator(FRAME_SELECTOR).count() == 0

    # when the reader tries to unlock an article there anyway
    browser.clear_events()
    browser.article(FIRST.slug).locator('button[data-paywall-action="unlock"]').click()
    state = browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=5)
    page.wait_for_timeout(300)

    # then it fails, without ever showing a confirmation or the paid body
    assert state in ("error", "blocked")
    assert browser.article(FIRST.slug).get_attribute("data-paywall-reason")
    expect(page.locator("dialog.dg-host[open]")).to_have_count(0)
    assert browser.article(FIRST.slug).locator("[data-paywall-content]").inner_html() == ""
    assert all(snippet not in page.content() for snippet in paid_snippets())
    # and the signer frame never ran there: the browser refused to frame it (frame-ancestors)
    framed = page.locator(FRAME_SELECTOR).count() > 0
    refused = [e for e in browser.console_errors if "frame-ancestors" in e]
    assert refused or not framed, browser.console_errors
    for frame in page.frames[1:]:
        assert frame.locator("#dropgate-frame").count() == 0, frame.url
    # and the server never registered a reader, accepted a claim or granted an unlock
    assert not Reader.objects.exists()
    assert not Claim.objects.exists()
    assert not Unlock.objects.exists()
    # and the API itself refuses that origin
    config = requests.get(
        f"{stack.paywall_url}/api/v1/config",
        params={"publisher": stack.publisher.key},
        headers={"Origin": foreign},
        timeout=10,
    )
    assert config.status_code == 403
    assert config.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in {k.lower() for k in config.headers}
    frame_page = requests.get(f"{stack.paywall_url}/sdk/frame/{stack.publisher.key}", timeout=10)
    ancestors = next(
        d.strip()
        for d in frame_page.headers["Content-Security-Policy"].split(";")
        if d.strip().startswith("frame-ancestors")
    )
    assert ancestors.split()[1:] == [stack.site_url]


def open_channel(sandbox_url: str, *, destination: str, tag: int, public_key: str) -> str:
    wallet = Wallet.create()
    fund_account(sandbox_url, wallet.address, CHANNEL_DROPS + 20_000_000)
    response = submit_and_wait(
        PaymentChannelCreate(
            account=wallet.address,
            destination=destination,
            destination_tag=tag,
            amount=str(CHANNEL_DROPS),
            settle_delay=86_400,
            public_key=public_key,
        ),
        JsonRpcClient(sandbox_url),
        wallet,
    )
    assert response.result["meta"]["TransactionResult"] == "tesSUCCESS", response.result
    return created_channel_id(response.result)


def flip_byte(signature_hex: str, index: int) -> str:
    raw = bytearray(bytes.fromhex(signature_hex))
    raw[index] ^= 0x01
    return raw.hex().upper()


def test_a_claim_with_a_tampered_signature_is_refused(stack) -> None:
    # given a reader of the demo publisher with a channel open on the ledger and registered
    publisher = stack.publisher.publisher
    key = claim_key()
    challenge, proof = registration_proof(publisher, key)
    issued = reader_create(
        publisher=publisher,
        claim_public_key=key.public_key,
        challenge=challenge,
        proof_signature=proof,
    )
    channel_id = open_channel(
        stack.platform.sandbox_url,
        destination=stack.platform.address,
        tag=publisher.destination_tag,
        public_key=key.public_key,
    )
    reader_channel_register(reader=issued.reader, channel_id=channel_id)
    signature = key.sign(channel_id, FIRST.price_drops)
    session = requests.Session()
    session.headers.update({"Origin": stack.site_url, "Authorization": f"Reader {issued.token}"})

    def unlock(sig: str) -> requests.Response:
        return session.post(
            f"{stack.paywall_url}/api/v1/unlocks",
            json={
                "article": FIRST.slug,
                "claim": {
                    "channel_id": channel_id,
                    "amount_drops": str(FIRST.price_drops),
                    "signature": sig,
                },
            },
            timeout=10,
        )

    # when the claim arrives with one bit flipped in its signature (in R, and in S)
    for index in (5, 40):
        refused = unlock(flip_byte(signature, index))

        # then it is refused as an invalid signature, and nothing is accepted
        assert refused.status_code == 422, refused.text
        assert refused.json()["error"]["code"] == "claim_signature_invalid"
        assert "grant" not in refused.json()
    assert not Claim.objects.exists()
    assert not Unlock.objects.exists()
    assert Channel.objects.get(channel_id=channel_id).accepted_drops == 0

    # and the untouched claim is accepted: only the signature made the difference
    accepted = unlock(signature)
    assert accepted.status_code == 201, accepted.text
    assert int(accepted.json()["amount_drops"]) == FIRST.price_drops
    assert Claim.objects.count() == 1


def test_the_paid_body_reaches_the_browser_only_after_payment_under_a_strict_csp(
    stack, browser
) -> None:
    page = browser.page
    # given the demo page under the CSP the demo site sends (no inline script or style)
    document = page.goto(f"{stack.site_url}/")
    csp = document.headers["content-security-policy"]
    assert "'unsafe-inline'" not in csp and "'unsafe-eval'" not in csp
    assert f"script-src 'self' {stack.paywall_url}" in csp
    for demo in ARTICLES:
        expect(browser.article(demo.slug)).to_have_attribute("data-paywall-state", "locked")
    # the reader opens a wallet menu from the keyboard (a sign of intent: the frame is made,
    # and the wallet chunk loads, with its SRI hash, under this CSP); the frame said hello
    # (the wallet line changes), and every load has settled
    summary = browser.article(FIRST.slug).locator("details.dg-wallet > summary")
    summary.focus()
    page.keyboard.press("Enter")
    expect(page.locator(".dg-wallet-status").first).not_to_have_text("Not used on this site yet.")
    page.keyboard.press("Enter")  # and closes it again
    page.wait_for_load_state("networkidle")

    # then nothing the browser holds or received so far contains a paid body
    before = list(browser.responses)
    # page, bundle, the teasers (one request for all articles), the chunks, the frame page and
    # its script
    assert len(before) >= 5
    for frame in page.frames:
        html = frame.content()
        assert all(snippet not in html for snippet in paid_snippets()), frame.url
    for response in before:
        body = response_text(response)
        assert all(snippet not in body for snippet in paid_snippets()), response.url

    # when the reader pays for the first article
    human_move_and_click(
        page, browser.article(FIRST.slug).locator('button[data-paywall-action="unlock"]'), seed=7
    )
    browser.frame().locator('button[data-paywall-action="confirm"]').click()
    assert browser.wait_state(FIRST.slug, "unlocked", "blocked", "error", timeout=60) == "unlocked"

    # then its body arrives, from the paywall's content API, into that article only
    snippet = paid_snippets()[0]
    expect(browser.article(FIRST.slug).locator("[data-paywall-content]")).to_contain_text(snippet)
    carriers = [r.url for r in browser.responses[len(before) :] if snippet in response_text(r)]
    assert carriers and all(
        url.startswith(f"{stack.paywall_url}/api/v1/content/") for url in carriers
    ), carriers
    html = page.content()
    assert all(s not in html for s in paid_snippets()[1:])

    # and the page and the frame ran without a CSP violation, a console error or an exception
    assert browser.csp_violations == []
    assert browser.page_errors == []
    assert unexpected_console_errors(browser.console_errors) == []

    # (and the monitor does see a violation when there is one: an inline style attribute)
    page.evaluate("() => document.body.setAttribute('style', 'outline: 1px solid red')")
    page.wait_for_timeout(200)
    assert [v["directive"] for v in browser.csp_violations] == ["style-src-attr"]
