"""The admin in a real browser: a staff user signs in with a password and a TOTP code, and
the admin's pages work under the service's Content-Security-Policy without a single
violation (its scripts and styles are all files from the service's own origin)."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import expect

from fraud.services.cases import case_open
from paywall.models import Publisher
from tests.admin_support import current_code, totp_device
from tests.browser.support import unexpected_console_errors

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_staff_sign_in_with_a_totp_code_and_the_admin_runs_under_its_csp(stack, browser) -> None:
    page = browser.page
    root = User.objects.create_superuser("root", "root@example.invalid", "pw-for-tests")
    device = totp_device(root)
    case = case_open(
        kind="account_farming",
        publisher_ref=stack.publisher.key,
        subject="cluster:1",
        evidence={"source": "test", "shared": {"funding": ["rFunding"]}},
        hold_drops=1_000,
    )
    publisher = Publisher.objects.get(key=stack.publisher.key)

    # Given the sign-in page, which asks for the code as well
    login = page.goto(f"{stack.paywall_url}/admin/login/")
    assert "default-src 'none'" in login.headers["content-security-policy"]
    expect(page.locator("#id_otp_token")).to_be_visible()

    # When the staff user gives a password and no code, they stay outside
    page.fill("#id_username", "root")
    page.fill("#id_password", "pw-for-tests")
    page.click("input[type=submit]")
    expect(page.locator(".errornote")).to_be_visible()
    assert page.url.startswith(f"{stack.paywall_url}/admin/login/")

    # and with the code their authenticator shows, they are in
    page.fill("#id_password", "pw-for-tests")
    page.fill("#id_otp_token", current_code(device))
    page.click("input[type=submit]")
    page.wait_for_url(f"{stack.paywall_url}/admin/")

    # Then every page of the tour renders, its scripts run, and the policy blocks nothing
    for path in (
        "/admin/",
        "/admin/payouts/payouthold/",
        "/admin/payouts/payouthold/add/",
        f"/admin/fraud/fraudcase/{case.pk}/change/",
        f"/admin/paywall/publisher/{publisher.pk}/change/",
        "/admin/django_celery_beat/periodictask/add/",
        "/admin/auth/user/",
    ):
        response = page.goto(f"{stack.paywall_url}{path}")
        assert response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")
    # (the admin's JavaScript did run: the publisher form's user picker is built by SelectFilter2)
    page.goto(f"{stack.paywall_url}/admin/paywall/publisher/{publisher.pk}/change/")
    expect(page.locator("#id_users_from")).to_be_attached()
    # the changelist's "select all" checkbox works (actions.js)
    page.goto(f"{stack.paywall_url}/admin/payouts/payouthold/")
    page.check("#action-toggle")
    expect(page.locator("input.action-select").first).to_be_checked()

    assert browser.csp_violations == []
    assert browser.page_errors == []
    # (the browser's own request for /favicon.ico, which the service does not serve, aside)
    errors = [e for e in browser.console_errors if "/favicon.ico" not in e]
    assert unexpected_console_errors(errors) == []
