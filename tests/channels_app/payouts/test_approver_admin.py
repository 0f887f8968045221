"""The admin doors of offline custody: registering an approver's public key, and the vault's
signing page (download a request, upload a signature). Each needs its permission, a verified
second factor and platform staff; view-only staff get 403 and change nothing."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from xrpl.core.keypairs import sign as keypairs_sign
from xrpl.wallet import Wallet

from channels_app.payouts.models import VaultApprover
from channels_app.payouts.services.approvers import approver_proof_message
from tests.admin_support import admin_client, staff_user
from tests.test_admin_security import view_only_staff

pytestmark = pytest.mark.django_db

PLATFORM = "paywall.view_all_publishers"
SIGNING = "admin:payouts_vaultaccount_signing"
DOWNLOAD = "admin:payouts_vaultaccount_signing_download"


def registration(wallet: Wallet, *, name: str = "Alice") -> dict[str, str]:
    message = approver_proof_message(account=wallet.classic_address, public_key=wallet.public_key)
    return {
        "name": name,
        "public_key": wallet.public_key,
        "proof": keypairs_sign(message, wallet.private_key),
    }


def test_view_only_staff_cannot_reach_the_signing_page_or_register_an_approver() -> None:
    client = admin_client(view_only_staff())
    assert client.get(reverse(SIGNING)).status_code == 403
    upload = SimpleUploadedFile("sig.json", b"{}", content_type="application/json")
    assert client.post(reverse(SIGNING), {"signature": upload}).status_code == 403
    assert client.get(reverse(DOWNLOAD, args=["payout-1-1-1"])).status_code == 403
    add = reverse("admin:payouts_vaultapprover_add")
    assert client.get(add).status_code == 403
    assert client.post(add, registration(Wallet.create())).status_code == 403
    assert not VaultApprover.objects.exists()


def test_the_doors_need_a_verified_second_factor_and_platform_staff() -> None:
    # without the second factor, and as a publisher's staff (no platform scope): shut
    unverified = staff_user(
        "u1", perms=["payouts.approve_payout", "payouts.add_vaultapprover", PLATFORM]
    )
    publisher_staff = staff_user(
        "u2", perms=["payouts.approve_payout", "payouts.add_vaultapprover"]
    )
    for client in (admin_client(unverified, verified=False), admin_client(publisher_staff)):
        assert client.get(reverse(SIGNING)).status_code in (302, 403)
        response = client.post(
            reverse("admin:payouts_vaultapprover_add"), registration(Wallet.create())
        )
        assert response.status_code in (302, 403)
        assert not VaultApprover.objects.exists()


def test_an_approver_registers_with_a_proof_and_a_signer_sees_the_signing_page() -> None:
    client = admin_client(
        staff_user(
            "ops",
            perms=[
                "payouts.approve_payout",
                "payouts.add_vaultapprover",
                "payouts.view_vaultapprover",
                PLATFORM,
            ],
        )
    )
    # a proof by another key is refused by the form, nothing stored
    wallet, other = Wallet.create(), Wallet.create()
    forged = {**registration(wallet), "proof": registration(other)["proof"]}
    response = client.post(reverse("admin:payouts_vaultapprover_add"), forged)
    assert response.status_code == 200 and b"approver_proof_invalid" in response.content
    assert not VaultApprover.objects.exists()
    # the key's own proof registers it: public key and address, no secret
    response = client.post(reverse("admin:payouts_vaultapprover_add"), registration(wallet))
    assert response.status_code == 302, response.content[:500]
    approver = VaultApprover.objects.get()
    assert (approver.account, approver.status) == (wallet.classic_address, "registered")

    # the signing page: no vault yet, so nothing to sign; an unknown request is a JSON 404
    page = client.get(reverse(SIGNING))
    assert page.status_code == 200 and b"No vault transaction is waiting" in page.content
    missing = client.get(reverse(DOWNLOAD, args=["payout-999-1-1"]))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "vault_request_not_found"
    # a file that is not a signature document is refused with its code
    upload = SimpleUploadedFile("sig.json", b"not json", content_type="application/json")
    followed = client.post(reverse(SIGNING), {"signature": upload}, follow=True)
    assert b"signature_document_malformed" in followed.content
