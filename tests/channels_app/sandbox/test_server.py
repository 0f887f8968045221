"""The sandbox process: HTTP and JSON-RPC robustness, options, persistence across restarts."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from xrpl.clients import JsonRpcClient
from xrpl.models.transactions import Payment
from xrpl.transaction import autofill_and_sign, submit
from xrpl.wallet import Wallet

from tests.fixtures.sandbox import (
    GENESIS_SEED,
    REPO_ROOT,
    fund_account,
    sandbox_rpc,
    start_sandbox,
    stop_sandbox,
)

pytestmark = pytest.mark.integration

METHODS = [
    "server_info",
    "server_state",
    "fee",
    "account_info",
    "account_channels",
    "ledger_entry",
    "submit",
    "submit_multisigned",
    "tx",
    "ledger",
    "ledger_current",
    "ledger_closed",
]


def post_raw(url: str, body: bytes) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_unknown_method(sandbox_url):
    result = sandbox_rpc(sandbox_url, "no_such_method")
    assert result["error"] == "unknownCmd" and result["error_code"] == 32
    assert result["status"] == "error" and result["request"]["command"] == "no_such_method"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"{not json",
        b"[]",
        b"null",
        b"42",
        b'"text"',
        b'{"method": 5}',
        b'{"method": null, "params": [{}]}',
        b'{"method": "account_info", "params": "x"}',
        b'{"method": "account_info", "params": [1]}',
        b'{"method": "account_info", "params": [{}, {}]}',
        b'{"method": "account_info", "params": [{"account": 12}]}',
        b'{"method": "account_info", "params": [{"account": "rBad"}]}',
        b'{"method": "account_info", "params": [{"account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "ledger_index": "nope"}]}',
        b'{"method": "account_info", "params": [{"account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "ledger_index": 99999999}]}',
        b'{"method": "submit", "params": [{"tx_blob": "zz"}]}',
        b'{"method": "submit", "params": [{"tx_blob": "00"}]}',
        b'{"method": "submit", "params": [{"tx_blob": "1200"}]}',
        b'{"method": "submit", "params": [{"tx_blob": 7}]}',
        b'{"method": "submit", "params": [{}]}',
        b'{"method": "submit_multisigned", "params": [{"tx_json": {"Account": 1}}]}',
        b'{"method": "submit_multisigned", "params": [{"tx_json": {"Account": "x", "TransactionType": "Payment", "Fee": "10", "Sequence": 1, "Signers": []}}]}',
        b'{"method": "tx", "params": [{"transaction": 5}]}',
        b'{"method": "ledger", "params": [{"ledger_index": [1]}]}',
        b'{"method": "ledger", "params": [{"ledger_index": 1e400}]}',
        b'{"method": "ledger_entry", "params": [{"index": "ZZ"}]}',
        b'{"method": "ledger_entry", "params": [{}]}',
        b'{"method": "account_channels", "params": [{"account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "limit": -1}]}',
        b'{"method": "account_channels", "params": [{"account": "rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh", "marker": {"a": 1}}]}',
        b"\xff\xfe\x00",
    ],
)
def test_malformed_requests_get_rippled_errors(sandbox_url, body):
    status, payload = post_raw(sandbox_url, body)
    assert status in (200, 400)
    assert payload["result"]["status"] == "error"
    assert isinstance(payload["result"]["error"], str)
    assert sandbox_rpc(sandbox_url, "server_info")["status"] == "success"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=70),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
param_names = st.sampled_from(
    [
        "account",
        "ledger_index",
        "tx_blob",
        "tx_json",
        "transaction",
        "limit",
        "marker",
        "payment_channel",
        "index",
        "account_root",
        "destination_account",
        "binary",
        "expand",
        "transactions",
        "api_version",
        "signer_lists",
        "seconds",
        "ledger_hash",
    ]
)


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=st.sampled_from(METHODS), params=st.dictionaries(param_names, json_values, max_size=4)
)
def test_fuzzed_params_never_crash(sandbox_url, method, params):
    body = json.dumps({"method": method, "params": [params]}).encode()
    status, payload = post_raw(sandbox_url, body)
    assert status == 200
    assert payload["result"]["status"] in ("success", "error")
    if payload["result"]["status"] == "error":
        assert payload["result"]["error"] != "internal", payload


def test_ledger_accept_and_current(sandbox_url):
    current = sandbox_rpc(sandbox_url, "ledger_current")["ledger_current_index"]
    accepted = sandbox_rpc(sandbox_url, "ledger_accept")
    assert accepted["ledger_current_index"] >= current + 1
    closed = sandbox_rpc(sandbox_url, "ledger", ledger_index="validated")
    assert closed["validated"] is True and closed["ledger"]["closed"] is True
    by_number = sandbox_rpc(sandbox_url, "ledger", ledger_index=closed["ledger_index"])
    assert by_number["ledger_hash"] == closed["ledger_hash"]
    current = sandbox_rpc(sandbox_url, "ledger", ledger_index="current")
    assert current["ledger"]["closed"] is False and "ledger_current_index" in current


def test_close_time_is_ripple_epoch_and_monotonic(sandbox_url):
    first = sandbox_rpc(sandbox_url, "ledger", ledger_index="validated")["ledger"]
    sandbox_rpc(sandbox_url, "ledger_accept")
    second = sandbox_rpc(sandbox_url, "ledger", ledger_index="validated")["ledger"]
    assert second["close_time"] >= first["close_time"] + 1
    assert second["parent_close_time"] >= first["close_time"]
    assert 700_000_000 < second["close_time"] < 2_000_000_000


def test_server_info_looks_standalone(sandbox_url):
    info = sandbox_rpc(sandbox_url, "server_info")["info"]
    # A test network's id (XRPL_SANDBOX_NETWORK_ID, 1): the public x402 XRPL clients check it,
    # and at or below 1024 xrpl-py adds no NetworkID to what it signs.
    assert info["network_id"] == 1
    assert info["validated_ledger"]["reserve_base_xrp"] == 1
    assert info["validated_ledger"]["reserve_inc_xrp"] == 0.2
    state = sandbox_rpc(sandbox_url, "server_state")["state"]
    assert state["validated_ledger"]["reserve_inc"] == 200_000
    assert state["validated_ledger"]["base_fee"] == 10


def test_genesis_holds_all_xrp_on_a_fresh_ledger(tmp_path):
    process, url = start_sandbox(tmp_path / "fresh")
    try:
        root = sandbox_rpc(url, "account_info", account="rHb9CJAWyB4rj91VRWn96DkukG4bwdtyTh")
        assert root["account_data"]["Balance"] == str(100_000_000_000 * 1_000_000)
        assert root["account_data"]["Sequence"] == 1
        refused = sandbox_rpc(url, "sandbox_advance_time", seconds=10)
        assert refused["status"] == "error" and refused["error"] == "notEnabled"
    finally:
        stop_sandbox(process)


def test_time_travel_validation(sandbox_url):
    bad = sandbox_rpc(sandbox_url, "sandbox_advance_time", seconds=-5)
    assert bad["error"] == "invalidParams"
    before = sandbox_rpc(sandbox_url, "ledger", ledger_index="validated")["ledger"]["close_time"]
    moved = sandbox_rpc(sandbox_url, "sandbox_advance_time", seconds=3600)
    assert moved["close_time"] >= before + 3600


def test_state_survives_restart_and_reset_wipes_it(tmp_path):
    data_dir = tmp_path / "persist"
    wallet = Wallet.create()
    process, url = start_sandbox(data_dir)
    try:
        funded = fund_account(url, wallet.address, 25_000_000)
        tx_hash = funded["hash"]
        genesis = Wallet.from_seed(GENESIS_SEED)
        client = JsonRpcClient(url)
        validated = sandbox_rpc(url, "ledger", ledger_index="validated")["ledger_index"]
        # A transaction still in the open ledger when the process stops: the submit is
        # followed at once by SIGTERM, before the next close (interval 0.2 s) most times.
        pending = autofill_and_sign(
            Payment(account=genesis.address, destination=wallet.address, amount="1000"),
            client,
            genesis,
        )
        assert submit(pending, client).result["engine_result"] == "tesSUCCESS"
    finally:
        stop_sandbox(process)

    process, url = start_sandbox(data_dir)
    try:
        sandbox_rpc(url, "ledger_accept")
        root = sandbox_rpc(url, "account_info", account=wallet.address, ledger_index="validated")
        assert root["account_data"]["Balance"] == "25001000"
        assert sandbox_rpc(url, "tx", transaction=tx_hash)["validated"] is True
        assert sandbox_rpc(url, "tx", transaction=pending.get_hash())["validated"] is True
        assert sandbox_rpc(url, "ledger", ledger_index="validated")["ledger_index"] > validated
    finally:
        stop_sandbox(process)

    process, url = start_sandbox(data_dir, extra=("--reset",))
    try:
        assert sandbox_rpc(url, "account_info", account=wallet.address)["error"] == "actNotFound"
    finally:
        stop_sandbox(process)


def test_refuses_non_loopback_host_without_allow_remote(tmp_path):
    completed = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "xrpl_sandbox",
            "--host",
            "0.0.0.0",
            "--port",
            "0",
            "--data-dir",
            str(tmp_path / "remote"),
        ],
        cwd=REPO_ROOT,
        check=False,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode != 0
    assert "--allow-remote" in completed.stderr


def test_admin_methods_need_a_loopback_client(tmp_path):
    from channels_app.sandbox.rpc import Sandbox

    sandbox = Sandbox(tmp_path / "admin", allow_time_travel=True)
    try:
        assert sandbox.handle("ledger_accept", {}, admin=False)["error"] == "noPermission"
        assert (
            sandbox.handle("sandbox_advance_time", {"seconds": 1}, admin=False)["error"]
            == "noPermission"
        )
        assert sandbox.handle("ledger_accept", {}, admin=True)["status"] == "success"
    finally:
        sandbox.shutdown()
