"""Common transaction rules: sequences, fees, signing keys, multisign, account settings,
payments, and what each result class does to the ledger (in-process sandbox)."""

from __future__ import annotations

import pytest
from xrpl.core.binarycodec import encode
from xrpl.models.transactions import (
    AccountSet,
    AccountSetAsfFlag,
    CheckCreate,
    Payment,
    SetRegularKey,
    SignerEntry,
    SignerListSet,
)
from xrpl.transaction import multisign, sign
from xrpl.wallet import Wallet

from .conftest import LocalLedger

XRP = 1_000_000


def pay(ledger: LocalLedger, wallet: Wallet, destination: str, drops: int, **kw) -> str:
    return ledger.result(
        Payment(account=wallet.address, destination=destination, amount=str(drops), **kw), wallet
    )


# -- result classes --------------------------------------------------------------------------


def test_tes_is_applied_to_open_ledger_and_validated_on_close(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    bob = Wallet.create()
    response = local_ledger.submit(
        Payment(account=alice.address, destination=bob.address, amount=str(2 * XRP)), alice
    )
    assert response["engine_result"] == "tesSUCCESS" and response["applied"] is True
    assert response["engine_result_code"] == 0
    tx_hash = response["tx_json"]["hash"]
    pending = local_ledger.rpc("tx", transaction=tx_hash)
    assert pending["validated"] is False and "meta" not in pending
    # Current ledger already shows it; validated does not yet.
    assert local_ledger.account(bob.address)["Balance"] == str(2 * XRP)
    assert local_ledger.account(bob.address, "validated") is None
    local_ledger.accept()
    done = local_ledger.rpc("tx", transaction=tx_hash)
    assert done["validated"] is True
    assert done["meta"]["TransactionResult"] == "tesSUCCESS"
    assert done["meta"]["delivered_amount"] == str(2 * XRP)
    assert isinstance(done["meta"]["TransactionIndex"], int)
    created = [n for n in done["meta"]["AffectedNodes"] if "CreatedNode" in n]
    assert created[0]["CreatedNode"]["LedgerEntryType"] == "AccountRoot"
    assert local_ledger.account(bob.address, "validated")["Balance"] == str(2 * XRP)
    v2 = local_ledger.rpc("tx", transaction=tx_hash, api_version=2)
    assert v2["tx_json"]["TransactionType"] == "Payment" and "close_time_iso" in v2


def test_transaction_hash_matches_xrpl_py(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    signed = sign(
        local_ledger.prepare(
            Payment(account=alice.address, destination=local_ledger.genesis.address, amount="5")
        ),
        alice,
    )
    response = local_ledger.submit_signed(signed)
    assert response["tx_json"]["hash"] == signed.get_hash()


def test_tec_takes_fee_and_sequence_only(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    before_balance = local_ledger.balance(alice.address)
    before_seq = local_ledger.sequence(alice.address)
    # 10 XRP balance cannot send 9.5 XRP and keep the 1 XRP reserve.
    assert (
        pay(local_ledger, alice, local_ledger.genesis.address, 9_500_000) == "tecUNFUNDED_PAYMENT"
    )
    assert local_ledger.balance(alice.address) == before_balance - 10
    assert local_ledger.sequence(alice.address) == before_seq + 1
    local_ledger.accept()
    # The tec is in the ledger with its metadata.
    ledger = local_ledger.rpc("ledger", ledger_index="validated", transactions=True, expand=True)
    results = [t["metaData"]["TransactionResult"] for t in ledger["ledger"]["transactions"]]
    assert results[-1] == "tecUNFUNDED_PAYMENT"


def test_sequence_rules(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    seq = local_ledger.sequence(alice.address)
    before = local_ledger.snapshot()
    tx = Payment(account=alice.address, destination=local_ledger.genesis.address, amount="1")
    assert local_ledger.result(tx, alice, sequence=seq + 1) == "terPRE_SEQ"
    assert local_ledger.result(tx, alice, sequence=seq - 1) == "tefPAST_SEQ"
    assert local_ledger.snapshot() == before
    assert local_ledger.result(tx, alice, sequence=seq) == "tesSUCCESS"
    # The same signed transaction again: its sequence is used now.
    assert local_ledger.result(tx, alice, sequence=seq) == "tefPAST_SEQ"


def test_unknown_source_account_is_ter_no_account(local_ledger):
    ghost = Wallet.create()
    response = local_ledger.submit(
        Payment(account=ghost.address, destination=local_ledger.genesis.address, amount="1"),
        ghost,
        sequence=1,
    )
    assert response["engine_result"] == "terNO_ACCOUNT"


def test_last_ledger_sequence_passed_is_tef_max_ledger(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    before = local_ledger.snapshot()
    tx = Payment(account=alice.address, destination=local_ledger.genesis.address, amount="1")
    open_seq = local_ledger.sandbox.state.open_seq
    assert local_ledger.result(tx, alice, last_ledger_sequence=open_seq - 1) == "tefMAX_LEDGER"
    assert local_ledger.snapshot() == before
    assert local_ledger.result(tx, alice, last_ledger_sequence=open_seq) == "tesSUCCESS"


def test_fee_rules(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    before = local_ledger.snapshot()
    tx = Payment(account=alice.address, destination=local_ledger.genesis.address, amount="1")
    assert local_ledger.result(tx, alice, fee="9") == "telINSUF_FEE_P"
    assert local_ledger.result(tx, alice, fee=str(10 * XRP + 1)) == "terINSUF_FEE_B"
    assert local_ledger.snapshot() == before


def test_network_id_is_refused_on_a_standalone_network(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    tx = Payment(account=alice.address, destination=local_ledger.genesis.address, amount="1")
    assert local_ledger.result(tx, alice, network_id=1) == "telNETWORK_ID_MAKES_TX_NON_CANONICAL"


def test_network_id_above_1024_is_required_and_must_match(tmp_path):
    from channels_app.sandbox.rpc import Sandbox
    from channels_app.sandbox.timekeeping import LedgerClock

    from .conftest import FakeWall

    wall = FakeWall()
    sandbox = Sandbox(tmp_path / "net", clock=LedgerClock(wall=wall), network_id=21_337)
    try:
        ledger = LocalLedger(sandbox=sandbox, wall=wall)
        genesis = ledger.genesis
        tx = Payment(
            account=genesis.address, destination=Wallet.create().address, amount="20000000"
        )
        assert ledger.result(tx, genesis) == "telREQUIRES_NETWORK_ID"
        assert ledger.result(tx, genesis, network_id=21_338) == "telWRONG_NETWORK"
        assert ledger.result(tx, genesis, network_id=21_337) == "tesSUCCESS"
        assert sandbox.handle("server_info", {})["info"]["network_id"] == 21_337
    finally:
        sandbox.shutdown()


def test_unsupported_transaction_type_is_a_clear_result(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    before = local_ledger.snapshot()
    response = local_ledger.submit(
        CheckCreate(account=alice.address, destination=local_ledger.genesis.address, send_max="1"),
        alice,
    )
    assert response["engine_result"] == "temDISABLED"
    assert "CheckCreate" in response["engine_result_message"]
    assert local_ledger.snapshot() == before


def test_bad_signature_is_an_invalid_transaction_error(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    signed = sign(
        local_ledger.prepare(
            Payment(account=alice.address, destination=local_ledger.genesis.address, amount="1")
        ),
        alice,
    )
    blob = encode({**signed.to_xrpl(), "Amount": "2"})  # tampered after signing
    before = local_ledger.snapshot()
    response = local_ledger.rpc("submit", tx_blob=blob)
    assert response["status"] == "error" and response["error"] == "invalidTransaction"
    assert "fails local checks" in response["error_exception"]
    assert local_ledger.snapshot() == before


# -- payments ------------------------------------------------------------------------------------


def test_payment_creating_account_needs_base_reserve(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    newcomer = Wallet.create()
    before = local_ledger.snapshot()
    assert pay(local_ledger, alice, newcomer.address, XRP - 1) == "tecNO_DST_INSUF_XRP"
    assert local_ledger.account(newcomer.address) is None
    assert (
        local_ledger.balance(alice.address)
        == int(next(v for v in before.values() if v.get("Account") == alice.address)["Balance"])
        - 10
    )
    assert pay(local_ledger, alice, newcomer.address, XRP) == "tesSUCCESS"
    assert local_ledger.account(newcomer.address)["Sequence"] == local_ledger.sandbox.state.open_seq


def test_payment_to_self_is_redundant(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    from .test_paychan_rules import _submit_raw

    response = _submit_raw(
        local_ledger,
        alice,
        "Payment",
        {"account": alice.address, "destination": alice.address, "amount": "1"},
    )
    assert response["engine_result"] == "temREDUNDANT"


def test_payment_require_dest_tag(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    bob = local_ledger.new_wallet(10 * XRP)
    tx = AccountSet(account=bob.address, set_flag=AccountSetAsfFlag.ASF_REQUIRE_DEST)
    assert local_ledger.result(tx, bob) == "tesSUCCESS"
    assert local_ledger.rpc("account_info", account=bob.address)["account_flags"][
        "requireDestinationTag"
    ]
    assert pay(local_ledger, alice, bob.address, 5) == "tecDST_TAG_NEEDED"
    assert pay(local_ledger, alice, bob.address, 5, destination_tag=1) == "tesSUCCESS"
    tx = AccountSet(account=bob.address, clear_flag=AccountSetAsfFlag.ASF_REQUIRE_DEST)
    assert local_ledger.result(tx, bob) == "tesSUCCESS"
    assert pay(local_ledger, alice, bob.address, 5) == "tesSUCCESS"


# -- keys -----------------------------------------------------------------------------------------


def test_regular_key_and_disable_master(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    regular = Wallet.create()
    stranger = Wallet.create()
    tx = Payment(account=alice.address, destination=local_ledger.genesis.address, amount="1")

    # Disabling the master key without another key: tecNO_ALTERNATIVE_KEY.
    disable = AccountSet(account=alice.address, set_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER)
    assert local_ledger.result(disable, alice) == "tecNO_ALTERNATIVE_KEY"

    # A key that is neither master nor regular: tefBAD_AUTH.
    before = local_ledger.snapshot()
    signed = sign(local_ledger.prepare(tx), stranger)
    assert local_ledger.submit_signed(signed)["engine_result"] == "tefBAD_AUTH"
    assert local_ledger.snapshot() == before

    assert (
        local_ledger.result(
            SetRegularKey(account=alice.address, regular_key=regular.address), alice
        )
        == "tesSUCCESS"
    )
    assert local_ledger.account(alice.address)["RegularKey"] == regular.address
    # The regular key cannot disable the master key (tecNEED_MASTER_KEY) ...
    assert local_ledger.result(disable, regular) == "tecNEED_MASTER_KEY"
    # ... the master key can.
    assert local_ledger.result(disable, alice) == "tesSUCCESS"
    assert local_ledger.rpc("account_info", account=alice.address)["account_flags"][
        "disableMasterKey"
    ]

    before = local_ledger.snapshot()
    assert local_ledger.result(tx, alice) == "tefMASTER_DISABLED"
    assert local_ledger.snapshot() == before
    assert local_ledger.result(tx, regular) == "tesSUCCESS"

    # Removing the only remaining key is refused.
    assert (
        local_ledger.result(SetRegularKey(account=alice.address), regular)
        == "tecNO_ALTERNATIVE_KEY"
    )
    # Re-enable the master key with the regular key, then remove the regular key.
    enable = AccountSet(account=alice.address, clear_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER)
    assert local_ledger.result(enable, regular) == "tesSUCCESS"
    assert local_ledger.result(SetRegularKey(account=alice.address), alice) == "tesSUCCESS"
    assert "RegularKey" not in local_ledger.account(alice.address)


def test_regular_key_equal_to_account_is_tem_bad_regkey(local_ledger):
    alice = local_ledger.new_wallet(10 * XRP)
    from .test_paychan_rules import _submit_raw

    response = _submit_raw(
        local_ledger,
        alice,
        "SetRegularKey",
        {"account": alice.address, "regular_key": alice.address},
    )
    assert response["engine_result"] == "temBAD_REGKEY"


# -- multisign ------------------------------------------------------------------------------------


@pytest.fixture
def vault(local_ledger):
    """An account with a 2-of-3 signer list."""
    owner = local_ledger.new_wallet(20 * XRP)
    signers = [Wallet.create() for _ in range(3)]
    tx = SignerListSet(
        account=owner.address,
        signer_quorum=2,
        signer_entries=[SignerEntry(account=s.address, signer_weight=1) for s in signers],
    )
    assert local_ledger.result(tx, owner) == "tesSUCCESS"
    return owner, signers


def multisigned(local_ledger, tx, wallets, **overrides):
    prepared = local_ledger.prepare(tx, signers=len(wallets), signing_pub_key="", **overrides)
    return multisign(prepared, [sign(prepared, w, multisign=True) for w in wallets])


def test_signer_list_owner_count_and_delete(local_ledger, vault):
    owner, _ = vault
    assert local_ledger.account(owner.address)["OwnerCount"] == 1
    info = local_ledger.rpc("account_info", account=owner.address, signer_lists=True, api_version=2)
    assert info["signer_lists"][0]["SignerQuorum"] == 2
    assert (
        local_ledger.result(SignerListSet(account=owner.address, signer_quorum=0), owner)
        == "tesSUCCESS"
    )
    assert local_ledger.account(owner.address)["OwnerCount"] == 0


def test_signer_list_malformed(local_ledger):
    owner = local_ledger.new_wallet(20 * XRP)
    a, b = Wallet.create(), Wallet.create()
    from .test_paychan_rules import _submit_raw

    def submit(quorum, entries):
        fields = {"account": owner.address, "signer_quorum": quorum}
        if entries is not None:
            fields["signer_entries"] = [
                {"SignerEntry": {"Account": acct, "SignerWeight": weight}}
                for acct, weight in entries
            ]
        return _submit_raw(local_ledger, owner, "SignerListSet", fields)["engine_result"]

    assert submit(3, [(a.address, 1), (b.address, 1)]) == "temBAD_QUORUM"
    assert submit(1, [(a.address, 1), (a.address, 1)]) == "temBAD_SIGNER"
    assert submit(1, [(owner.address, 1)]) == "temBAD_SIGNER"
    assert submit(1, [(a.address, 0)]) == "temBAD_WEIGHT"
    assert submit(0, [(a.address, 1)]) == "temMALFORMED"


def test_signer_list_needs_reserve(local_ledger):
    owner = local_ledger.new_wallet(XRP + 100_000)
    tx = SignerListSet(
        account=owner.address,
        signer_quorum=1,
        signer_entries=[SignerEntry(account=Wallet.create().address, signer_weight=1)],
    )
    assert local_ledger.result(tx, owner) == "tecINSUFFICIENT_RESERVE"


def test_multisigned_payment(local_ledger, vault):
    owner, signers = vault
    tx = Payment(account=owner.address, destination=local_ledger.genesis.address, amount="100")
    before = local_ledger.balance(owner.address)
    signed = multisigned(local_ledger, tx, signers[:2])
    response = local_ledger.submit_signed(signed)
    assert response["engine_result"] == "tesSUCCESS", response
    assert local_ledger.balance(owner.address) == before - 100 - 30
    # submit_multisigned with tx_json works the same way.
    signed = multisigned(local_ledger, tx, [signers[0], signers[2]])
    response = local_ledger.rpc("submit_multisigned", tx_json=signed.to_xrpl())
    assert response["engine_result"] == "tesSUCCESS", response


def test_multisign_failures(local_ledger, vault):
    owner, signers = vault
    tx = Payment(account=owner.address, destination=local_ledger.genesis.address, amount="100")
    before = local_ledger.snapshot()
    # One signer of a 2-quorum list.
    assert (
        local_ledger.submit_signed(multisigned(local_ledger, tx, signers[:1]))["engine_result"]
        == "tefBAD_QUORUM"
    )
    # A signer who is not in the list.
    outsider = Wallet.create()
    assert (
        local_ledger.submit_signed(multisigned(local_ledger, tx, [signers[0], outsider]))[
            "engine_result"
        ]
        == "tefBAD_SIGNATURE"
    )
    # Fee below base * (1 + signers).
    assert (
        local_ledger.submit_signed(multisigned(local_ledger, tx, signers[:2], fee="20"))[
            "engine_result"
        ]
        == "telINSUF_FEE_P"
    )
    assert local_ledger.snapshot() == before
    # An account without a signer list.
    lone = local_ledger.new_wallet(10 * XRP)
    tx = Payment(account=lone.address, destination=local_ledger.genesis.address, amount="1")
    assert (
        local_ledger.submit_signed(multisigned(local_ledger, tx, signers[:2]))["engine_result"]
        == "tefNOT_MULTI_SIGNING"
    )


def test_multisign_unsorted_signers_fail_local_checks(local_ledger, vault):
    owner, signers = vault
    tx = Payment(account=owner.address, destination=local_ledger.genesis.address, amount="100")
    signed = multisigned(local_ledger, tx, signers[:2]).to_xrpl()
    signed["Signers"] = list(reversed(signed["Signers"]))
    response = local_ledger.rpc("submit", tx_blob=encode(signed))
    assert response["error"] == "invalidTransaction"


def test_disable_master_with_signer_list_then_multisign(local_ledger, vault):
    owner, signers = vault
    disable = AccountSet(account=owner.address, set_flag=AccountSetAsfFlag.ASF_DISABLE_MASTER)
    assert local_ledger.result(disable, owner) == "tesSUCCESS"
    tx = Payment(account=owner.address, destination=local_ledger.genesis.address, amount="100")
    assert local_ledger.result(tx, owner) == "tefMASTER_DISABLED"
    # Deleting the list would leave no key.
    delete = SignerListSet(account=owner.address, signer_quorum=0)
    assert (
        local_ledger.submit_signed(multisigned(local_ledger, delete, signers[:2]))["engine_result"]
        == "tecNO_ALTERNATIVE_KEY"
    )
    assert (
        local_ledger.submit_signed(multisigned(local_ledger, tx, signers[1:]))["engine_result"]
        == "tesSUCCESS"
    )
