"""The payout vault: 2-of-3 multisign by the payout signers, master key disabled."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from xrpl.clients import JsonRpcClient
from xrpl.core.binarycodec import encode
from xrpl.models.transactions import Payment
from xrpl.transaction import autofill, multisign
from xrpl.wallet import Wallet

from channels_app.keys import services as keys
from channels_app.models import KeyRecord, KeySignature
from tests.channels_app.keys.helpers import account_root, drain_attempt, steal, submit_validated
from tests.fixtures.sandbox import GENESIS_ADDRESS, fund_account

pytestmark = pytest.mark.integration


def test_vault_pays_only_with_two_of_three_signers(sandbox_url: str, platform: str) -> None:
    vault = keys.payout_vault_address()
    fund_account(sandbox_url, vault, 50_000_000)
    stolen_master = steal(KeyRecord.objects.get(purpose="payout_vault"))

    outcome = keys.payout_vault_harden(actor="test")

    assert outcome.quorum == 2 and set(outcome.signers) == set(keys.payout_signer_addresses())
    assert drain_attempt(sandbox_url, stolen_master, vault) == "tefMASTER_DISABLED"
    assert keys.payout_vault_harden(actor="test").transactions == ()  # idempotent

    client = JsonRpcClient(sandbox_url)
    payment = autofill(
        Payment(account=vault, destination=GENESIS_ADDRESS, amount="2000000"),
        client,
        signers_count=2,
    )
    first = keys.payout_signer_sign(signer_index=0, transaction=payment)
    third = keys.payout_signer_sign(signer_index=2, transaction=payment)
    assert first.signers and first.signers[0].account == keys.payout_signer_addresses()[0]

    # One signer is not enough,
    assert (
        submit_validated(sandbox_url, encode(multisign(payment, [first]).to_xrpl()))
        == "tefBAD_QUORUM"
    )
    # a signer outside the list is refused (a forged multisign),
    outsider = Wallet.create()
    from xrpl.transaction import sign

    forged = multisign(payment, [first, sign(payment, outsider, multisign=True)])
    assert submit_validated(sandbox_url, encode(forged.to_xrpl())) == "tefBAD_SIGNATURE"
    # and two of the three pay.
    assert (
        submit_validated(sandbox_url, encode(multisign(payment, [first, third]).to_xrpl()))
        == "tesSUCCESS"
    )
    assert KeySignature.objects.filter(multisign=True, account=vault).count() == 2
    out = io.StringIO()
    call_command("keys_status", stdout=out)
    status = json.loads(out.getvalue())
    assert status["payouts_paused"] is False
    assert {k["purpose"] for k in status["keys"]} >= {"payout_signer", "payout_vault", "settlement"}
    assert "sealed" not in out.getvalue()
    assert account_root(sandbox_url, vault)["account_data"]["Flags"] & 0x00100000
