"""The doors: approving in the Django admin, holds in the admin, the publisher balance API,
and the paywall task that hands publishers' payout addresses to the batch."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission, User
from django.core.cache import cache
from django.test import Client

from channels_app.payouts.models import Payout, PayoutApproval, PayoutHold, TxState
from channels_app.payouts.services.payouts import payout_batch_run
from paywall.services.publishers import publisher_create
from paywall.tasks import run_payout_batch
from tests.admin_support import admin_client
from tests.channels_app.payouts.conftest import Earner, net, new_address
from tests.paywall.factories import make_api_key

pytestmark = pytest.mark.integration

ADMIN = "/admin/payouts"


def logged_in(user: User) -> Client:
    return admin_client(user)


def approver(name: str, *, can_approve: bool = True) -> User:
    """Platform staff who may view payouts, and approve them when `can_approve`."""
    user = User.objects.create_user(name, password="x", is_staff=True)
    codenames = ["view_payout"] + (["approve_payout"] if can_approve else [])
    user.user_permissions.set(
        Permission.objects.filter(content_type__app_label="payouts", codename__in=codenames)
        | Permission.objects.filter(
            content_type__app_label="paywall", codename="view_all_publishers"
        )
    )
    return user


def act(client: Client, action: str, *pks: int, path: str = "payout") -> None:
    response = client.post(
        f"{ADMIN}/{path}/", {"action": action, "_selected_action": [str(pk) for pk in pks]}
    )
    assert response.status_code in (200, 302), response.status_code


def test_two_signers_approve_a_vault_payout_in_the_admin(
    vault: str, earner: Earner, after_holdback: None
) -> None:
    earner.pay("pub_adm", 10_000_000)
    earner.redeem()
    payout_batch_run(destinations={"pub_adm": new_address()}, key="admin")
    payout = Payout.objects.get(publisher_ref="pub_adm")
    assert payout.status == TxState.AWAITING_APPROVAL

    # every payouts page renders for a site admin
    root = User.objects.create_superuser("root", "root@example.invalid", "x")
    admin_client = logged_in(root)
    for page in (
        "payout",
        "payoutbatch",
        "payoutapproval",
        "payouthold",
        "refund",
        "readercredit",
        "readercreditentry",
        "sweep",
        "vaultaccount",
    ):
        assert admin_client.get(f"{ADMIN}/{page}/").status_code == 200, page
    assert admin_client.get(f"{ADMIN}/payout/{payout.pk}/change/").status_code == 200

    # a staff user without the approve permission cannot approve
    act(logged_in(approver("viewer", can_approve=False)), "approve_as_signer_1", payout.pk)
    assert not PayoutApproval.objects.exists()

    # two people with it, as signers 1 and 3
    act(logged_in(approver("alice")), "approve_as_signer_1", payout.pk)
    payout.refresh_from_db()
    assert payout.status == TxState.AWAITING_APPROVAL and payout.approvals.count() == 1
    act(logged_in(approver("bob")), "approve_as_signer_3", payout.pk)
    payout.refresh_from_db()
    assert payout.status == TxState.VALIDATED, payout.engine_result
    assert sorted(payout.approvals.values_list("approved_by__username", flat=True)) == [
        "alice",
        "bob",
    ]
    # the money row stays read-only
    assert admin_client.post(f"{ADMIN}/payout/{payout.pk}/change/", {}).status_code == 403


def test_holds_are_placed_and_released_in_the_admin(db) -> None:
    root = User.objects.create_superuser("root", "root@example.invalid", "x")
    client = logged_in(root)
    response = client.post(
        f"{ADMIN}/payouthold/add/",
        {"publisher_ref": "pub_x", "amount_drops": "", "reason": "chargeback pattern"},
    )
    assert response.status_code == 302, response.content.decode()[:1500]
    hold = PayoutHold.objects.get()
    assert (hold.publisher_ref, hold.amount_drops, hold.created_by) == ("pub_x", None, root)
    act(client, "release", hold.pk, path="payouthold")
    hold.refresh_from_db()
    assert hold.released_at is not None and hold.released_by == root
    assert client.get(f"{ADMIN}/payouthold/?state=active").status_code == 200


def test_the_publisher_sees_balance_and_payouts(platform: str, earner: Earner, settings) -> None:
    cache.clear()
    publisher = publisher_create(name="Paid Daily", payout_address=new_address())
    token = make_api_key(publisher)
    auth = {"Authorization": f"Bearer {token}"}
    client = Client()
    earner.pay(publisher.key, 3_000_000)
    earner.redeem()

    body = client.get("/api/v1/publisher/balance", headers=auth).json()
    assert {
        k: body[k] for k in ("available_drops", "held_drops", "pending_drops", "paid_drops")
    } == {
        "available_drops": "0",
        "held_drops": "0",
        "pending_drops": str(net(3_000_000)),
        "paid_drops": "0",
    }
    assert client.get("/api/v1/publisher/balance").status_code == 401
    assert client.get("/api/v1/publisher/payouts", headers=auth).json() == {
        "payouts": [],
        "next_before": None,
    }

    # after the holdback, the paywall task pays to the publisher's payout address
    from datetime import timedelta

    from channels_app import clock

    with clock.override(timedelta(days=8)):
        result = run_payout_batch(key="api")
        assert result["validated"] == 1, result
        body = client.get("/api/v1/publisher/balance", headers=auth).json()
    assert body["paid_drops"] == str(net(3_000_000))
    assert body["available_drops"] == body["pending_drops"] == "0"
    listing = client.get("/api/v1/publisher/payouts?limit=10", headers=auth).json()
    (payout,) = listing["payouts"]
    assert payout["status"] == "validated"
    assert payout["amount_drops"] == str(net(3_000_000))
    assert payout["destination"] == publisher.payout_address
    assert payout["batch"] == "api"
    bad = client.get("/api/v1/publisher/payouts?limit=0", headers=auth)
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_request"
