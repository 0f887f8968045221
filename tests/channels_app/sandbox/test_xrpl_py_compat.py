"""xrpl-py, unmodified, against the sandbox over HTTP: autofill, submit_and_wait, the
ledger helpers and multisigned submission must work as against rippled standalone."""

from __future__ import annotations

import pytest
from xrpl import CryptoAlgorithm
from xrpl.account import (
    does_account_exist,
    get_account_root,
    get_balance,
    get_next_valid_seq_number,
)
from xrpl.clients import JsonRpcClient
from xrpl.ledger import (
    get_fee,
    get_latest_open_ledger_sequence,
    get_latest_validated_ledger_sequence,
)
from xrpl.models.requests import AccountChannels, LedgerEntry, SubmitMultisigned, Tx
from xrpl.models.transactions import (
    AccountSet,
    AccountSetAsfFlag,
    Payment,
    PaymentChannelClaim,
    PaymentChannelClaimFlag,
    PaymentChannelCreate,
    PaymentChannelFund,
    SetRegularKey,
    SignerEntry,
    SignerListSet,
)
from xrpl.transaction import (
    XRPLReliableSubmissionException,
    autofill,
    autofill_and_sign,
    multisign,
    sign,
    submit,
    submit_and_wait,
)
from xrpl.wallet import Wallet

from tests.fixtures.sandbox import advance_ledger_time, fund_account, sandbox_rpc

from .conftest import sign_claim

pytestmark = pytest.mark.integration

XRP = 1_000_000


def funded(url: str, drops: int = 50 * XRP, **kw) -> Wallet:
    wallet = Wallet.create(**kw)
    fund_account(url, wallet.address, drops)
    return wallet


def created_channel_id(response) -> str:
    nodes = response.result["meta"]["AffectedNodes"]
    return next(
        n["CreatedNode"]["LedgerIndex"]
        for n in nodes
        if "CreatedNode" in n and n["CreatedNode"]["LedgerEntryType"] == "PayChannel"
    )


def test_ledger_helpers(sandbox_url, sandbox_client, genesis_wallet):
    validated = get_latest_validated_ledger_sequence(sandbox_client)
    current = get_latest_open_ledger_sequence(sandbox_client)
    assert current >= validated + 1  # a ledger may close between the two calls
    assert get_fee(sandbox_client) == "10"
    assert does_account_exist(genesis_wallet.address, sandbox_client)
    assert (
        get_account_root(genesis_wallet.address, sandbox_client)["Account"]
        == genesis_wallet.address
    )
    assert get_next_valid_seq_number(genesis_wallet.address, sandbox_client) >= 1
    assert not does_account_exist(Wallet.create().address, sandbox_client)


def test_payment_and_balances(sandbox_url, sandbox_client):
    alice = funded(sandbox_url, 20 * XRP)
    assert get_balance(alice.address, sandbox_client) == 20 * XRP
    bob = Wallet.create()
    response = submit_and_wait(
        Payment(account=alice.address, destination=bob.address, amount=str(5 * XRP)),
        sandbox_client,
        alice,
    )
    assert response.result["validated"] is True
    assert response.result["meta"]["delivered_amount"] == str(5 * XRP)
    assert get_balance(bob.address, sandbox_client) == 5 * XRP
    assert get_balance(alice.address, sandbox_client) == 15 * XRP - 10


def test_tec_surfaces_as_reliable_submission_failure(sandbox_url, sandbox_client):
    alice = funded(sandbox_url, 2 * XRP)
    before = get_account_root(alice.address, sandbox_client, "validated")
    with pytest.raises(XRPLReliableSubmissionException, match="tecUNFUNDED_PAYMENT"):
        submit_and_wait(
            Payment(
                account=alice.address,
                destination=Wallet.create().address,
                amount=str(int(1.5 * XRP)),
            ),
            sandbox_client,
            alice,
        )
    after = get_account_root(alice.address, sandbox_client, "validated")
    assert int(after["Balance"]) == int(before["Balance"]) - 10
    assert after["Sequence"] == before["Sequence"] + 1


def test_channel_lifecycle(sandbox_url, sandbox_client):
    reader = funded(sandbox_url, 50 * XRP)
    platform = funded(sandbox_url, 20 * XRP)
    claim_key = Wallet.create(algorithm=CryptoAlgorithm.ED25519)
    created = submit_and_wait(
        PaymentChannelCreate(
            account=reader.address,
            destination=platform.address,
            amount=str(10 * XRP),
            settle_delay=3600,
            public_key=claim_key.public_key,
        ),
        sandbox_client,
        reader,
    )
    channel_id = created_channel_id(created)
    listed = sandbox_client.request(
        AccountChannels(account=reader.address, ledger_index="validated")
    )
    assert [c["channel_id"] for c in listed.result["channels"]] == [channel_id]

    submit_and_wait(
        PaymentChannelFund(account=reader.address, channel=channel_id, amount=str(XRP)),
        sandbox_client,
        reader,
    )
    entry = sandbox_client.request(
        LedgerEntry(payment_channel=channel_id, ledger_index="validated")
    )
    assert entry.result["node"]["Amount"] == str(11 * XRP)

    signature = sign_claim(claim_key, channel_id, 2 * XRP)
    submit_and_wait(
        PaymentChannelClaim(
            account=platform.address,
            channel=channel_id,
            balance=str(2 * XRP),
            amount=str(2 * XRP),
            signature=signature,
            public_key=claim_key.public_key,
        ),
        sandbox_client,
        platform,
    )
    assert get_balance(platform.address, sandbox_client) == 22 * XRP - 10
    submit_and_wait(
        PaymentChannelClaim(
            account=reader.address, channel=channel_id, flags=PaymentChannelClaimFlag.TF_CLOSE
        ),
        sandbox_client,
        reader,
    )
    node = sandbox_client.request(LedgerEntry(payment_channel=channel_id)).result["node"]
    assert "Expiration" in node


def test_watchtower_time_travel_expires_channel(sandbox_url, sandbox_client):
    reader = funded(sandbox_url, 50 * XRP)
    platform = funded(sandbox_url, 20 * XRP)
    claim_key = Wallet.create()
    created = submit_and_wait(
        PaymentChannelCreate(
            account=reader.address,
            destination=platform.address,
            amount=str(5 * XRP),
            settle_delay=600,
            public_key=claim_key.public_key,
        ),
        sandbox_client,
        reader,
    )
    channel_id = created_channel_id(created)
    submit_and_wait(
        PaymentChannelClaim(
            account=reader.address, channel=channel_id, flags=PaymentChannelClaimFlag.TF_CLOSE
        ),
        sandbox_client,
        reader,
    )
    expiration = sandbox_client.request(LedgerEntry(payment_channel=channel_id)).result["node"][
        "Expiration"
    ]
    moved = advance_ledger_time(sandbox_url, 601)
    assert moved["close_time"] >= expiration
    signature = sign_claim(claim_key, channel_id, XRP)
    before = get_balance(platform.address, sandbox_client)
    submit_and_wait(
        PaymentChannelClaim(
            account=platform.address,
            channel=channel_id,
            balance=str(XRP),
            signature=signature,
            public_key=claim_key.public_key,
        ),
        sandbox_client,
        platform,
    )
    # Too late: the channel is gone and the claim was not paid.
    missing = sandbox_client.request(LedgerEntry(payment_channel=channel_id))
    assert missing.result["error"] == "entryNotFound"
    assert get_balance(platform.address, sandbox_client) == before - 10


def test_regular_key_and_disabled_master(sandbox_url, sandbox_client):
    hot = funded(sandbox_url, 20 * XRP)
    regular = Wallet.create(algorithm=CryptoAlgorithm.ED25519)
    submit_and_wait(
        SetRegularKey(account=hot.address, regular_key=regular.address), sandbox_client, hot
    )
    submit_and_wait(
        AccountSet(account=hot.address, set_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER),
        sandbox_client,
        hot,
    )
    payment = Payment(account=hot.address, destination=Wallet.create().address, amount=str(XRP))
    refused = submit(autofill_and_sign(payment, sandbox_client, hot), sandbox_client)
    assert refused.result["engine_result"] == "tefMASTER_DISABLED"
    response = submit_and_wait(payment, sandbox_client, regular)
    assert response.result["meta"]["TransactionResult"] == "tesSUCCESS"


def test_multisigned_vault(sandbox_url, sandbox_client):
    vault = funded(sandbox_url, 30 * XRP)
    signers = sorted((Wallet.create() for _ in range(3)), key=lambda w: w.address)
    submit_and_wait(
        SignerListSet(
            account=vault.address,
            signer_quorum=2,
            signer_entries=[SignerEntry(account=s.address, signer_weight=1) for s in signers],
        ),
        sandbox_client,
        vault,
    )
    submit_and_wait(
        AccountSet(account=vault.address, set_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER),
        sandbox_client,
        vault,
    )
    payout = Payment(
        account=vault.address, destination=Wallet.create().address, amount=str(2 * XRP)
    )
    prepared = autofill(payout, sandbox_client, signers_count=2)
    assert prepared.fee == "30"
    combined = multisign(prepared, [sign(prepared, s, multisign=True) for s in signers[:2]])
    response = submit_and_wait(combined, sandbox_client)
    assert response.result["meta"]["TransactionResult"] == "tesSUCCESS"

    # The submit_multisigned method, as rippled's API offers it.
    prepared = autofill(payout, sandbox_client, signers_count=2)
    combined = multisign(prepared, [sign(prepared, s, multisign=True) for s in signers[1:]])
    result = sandbox_client.request(SubmitMultisigned(tx_json=combined)).result
    assert result["engine_result"] == "tesSUCCESS"
    sandbox_rpc(sandbox_url, "ledger_accept")
    tx = sandbox_client.request(Tx(transaction=result["tx_json"]["hash"])).result
    assert tx["validated"] is True and tx["meta"]["TransactionResult"] == "tesSUCCESS"


def test_tx_not_found(sandbox_client):
    result = sandbox_client.request(Tx(transaction="AB" * 32))
    assert not result.is_successful() and result.result["error"] == "txnNotFound"


def test_jsonrpc_client_against_fixture_url(sandbox_url):
    assert JsonRpcClient(sandbox_url).url == sandbox_url
