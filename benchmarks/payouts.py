"""Payout batch benchmark: plan, sign and pay 1,000 publishers on a real sandbox ledger.

    .venv/bin/python benchmarks/payouts.py                  # 1,000 publishers, about 1 minute
    .venv/bin/python benchmarks/payouts.py --publishers 200 # smaller
    .venv/bin/python benchmarks/payouts.py --no-submit      # plan and sign only

prints ONE JSON object on stdout; progress goes to stderr. See benchmarks/README.md.

What it does, in this process (Django configured for a fresh temporary data dir):

1. `migrate`, and `manage.py xrpl_sandbox --close-interval 0.5` on a free port.
2. Setup (not timed in the results): the platform account, reader channels, one accepted
   claim per publisher through `claim_accept` (the fee split off as in production), and the
   channels redeemed with `settlement_run`, so every publisher holds redeemed revenue. The
   holdback is 0 s so all of it is payable.
3. `plan`: `payout_plan` for all publishers (the journal, claims and holds aggregated).
4. `sign`: signing one Payment per publisher with the settlement key (`settlement_sign`), with
   consecutive Sequences, as the hot lane does.
5. `batch` (unless --no-submit): `payout_batch_run` end to end, from planning to every
   payout validated on the sandbox (chunks of DROPGATE_PAYOUT_CHUNK_SIZE signed, stored,
   submitted in order, resolved by hash, journaled), then `payouts_reconcile`.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("benchmarks.payouts")

CLOSE_INTERVAL = "0.5"
REVENUE_DROPS = 2_000_000  # per publisher; 1.8 XRP after a 10 % fee, above the 1 XRP reserve
CLAIMS_PER_CHANNEL = 250


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def rpc(url: str, method: str, **params: Any) -> dict[str, Any]:
    body = json.dumps({"method": method, "params": [params]}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return dict(json.loads(response.read())["result"])


def start_sandbox(data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    log_file = (data_dir / "sandbox.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "manage.py",
            "xrpl_sandbox",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir / "sandbox"),
            "--close-interval",
            CLOSE_INTERVAL,
        ],
        cwd=ROOT,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if rpc(url, "server_info").get("status") == "success":
                return process, url
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("the sandbox did not start")


def configure(data_dir: Path, url: str) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "paywall.settings",
            "DROPGATE_DATA_DIR": str(data_dir),
            "XRPL_URL": url,
            "XRPL_LEDGER_KIND": "sandbox",
            "DROPGATE_PAYOUT_HOLDBACK_SECONDS": "0",
            "DROPGATE_HOT_FLOAT_CAP_DROPS": str(10**15),
            "DROPGATE_SETTLEMENT_THRESHOLD_DROPS": str(10**15),
            "DROPGATE_MIN_SETTLE_DELAY_SECONDS": "60",
            "DROPGATE_LOG_LEVEL": "WARNING",
            # The payouts engine alone: the benchmark's publishers have no KYC, which the
            # compliance gate (DROPGATE_PAYOUT_GATE) would rightly defer, all of them.
            "DROPGATE_PAYOUT_GATE": "",
        }
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def setup_revenue(url: str, publishers: list[str]) -> str:
    """Every publisher earns REVENUE_DROPS through accepted, redeemed claims."""
    from xrpl.clients import JsonRpcClient
    from xrpl.core import keypairs
    from xrpl.core.binarycodec import encode_for_signing_claim
    from xrpl.models.transactions import PaymentChannelCreate
    from xrpl.transaction import submit_and_wait
    from xrpl.wallet import Wallet

    from channels_app.models import Channel
    from channels_app.services.channels import channel_register
    from channels_app.services.claims import claim_accept
    from channels_app.services.platform import faucet_fund, platform_bootstrap
    from channels_app.services.settlement import settlement_run

    hot = str(platform_bootstrap(faucet_drops=20_000_000)["address"])
    client = JsonRpcClient(url)
    for start in range(0, len(publishers), CLAIMS_PER_CHANNEL):
        group = publishers[start : start + CLAIMS_PER_CHANNEL]
        amount = len(group) * REVENUE_DROPS
        funder = Wallet.create()
        faucet_fund(address=funder.address, drops=amount + 50_000_000)
        public, private = keypairs.derive_keypair(keypairs.generate_seed())
        created = submit_and_wait(
            PaymentChannelCreate(
                account=funder.address,
                destination=hot,
                amount=str(amount),
                settle_delay=86_400,
                public_key=public,
            ),
            client,
            funder,
        ).result
        channel_id = next(
            node["CreatedNode"]["LedgerIndex"]
            for node in created["meta"]["AffectedNodes"]
            if node.get("CreatedNode", {}).get("LedgerEntryType") == "PayChannel"
        )
        channel_register(
            channel_id=channel_id, public_key=public, owner_ref="rdr_bench", destination_tag=None
        )
        for n, ref in enumerate(group, start=1):
            cumulative = n * REVENUE_DROPS
            message = bytes.fromhex(
                encode_for_signing_claim({"channel": channel_id, "amount": str(cumulative)})
            )
            claim_accept(
                channel_id=channel_id,
                amount_drops=cumulative,
                signature=keypairs.sign(message, private),
                min_increment_drops=REVENUE_DROPS,
                payee_ref=ref,
                fee_bps=1000,
                reference=f"bench:{ref}",
            )
        channel = Channel.objects.get(channel_id=channel_id.upper())
        outcome = settlement_run(channel_pk=channel.pk, reason="bench", wait_seconds=30)
        if outcome.state != "validated":
            raise RuntimeError(f"redeeming {channel_id} failed: {outcome}")
        log.info("revenue for %d/%d publishers", start + len(group), len(publishers))
    return hot


def measure(args: argparse.Namespace) -> dict[str, Any]:
    data_dir = Path(tempfile.mkdtemp(prefix="dropgate-bench-payouts-"))
    sandbox, url = start_sandbox(data_dir)
    try:
        configure(data_dir, url)
        from xrpl.wallet import Wallet

        from channels_app.keys.services import settlement_sign
        from channels_app.payouts.models import Payout, TxState
        from channels_app.payouts.services import payouts as payout_services
        from channels_app.payouts.services.reconcile import payouts_reconcile
        from channels_app.payouts.services.transfers import account_state, network_fees
        from channels_app.payouts.services.vault import hot_spendable_drops

        publishers = [f"pub_bench{i:05d}" for i in range(args.publishers)]
        started = time.perf_counter()
        hot = setup_revenue(url, publishers)
        setup_seconds = time.perf_counter() - started
        destinations = {ref: Wallet.create().classic_address for ref in publishers}

        fees = network_fees()
        budget = hot_spendable_drops(account_state(hot), fees)
        started = time.perf_counter()
        plan = payout_services.payout_plan(
            destinations=destinations,
            hot_budget_drops=budget,
            vault_budget_drops=None,
            fee_drops=fees.fee_drops,
            vault_fee_drops=fees.fee_drops * 3,
        )
        plan_seconds = time.perf_counter() - started
        log.info("planned %d payouts in %.2fs", len(plan.payouts), plan_seconds)

        unsaved = [
            Payout(destination=p.destination, amount_drops=p.amount_drops) for p in plan.payouts
        ]
        started = time.perf_counter()
        signed = payout_services._hot_sign_chunk(unsaved)
        sign_seconds = time.perf_counter() - started
        assert len(signed) == len(plan.payouts) and settlement_sign is not None
        log.info("signed %d payouts in %.2fs", len(signed), sign_seconds)

        result: dict[str, Any] = {
            "benchmark": "payouts",
            "publishers": args.publishers,
            "python": platform.python_version(),
            "database": "sqlite",
            "sandbox_close_interval_s": float(CLOSE_INTERVAL),
            "setup_seconds": round(setup_seconds, 2),
            "plan": {
                "seconds": round(plan_seconds, 3),
                "payouts": len(plan.payouts),
                "deferred": len(plan.deferred),
                "total_drops": str(plan.total_drops),
            },
            "sign": {
                "seconds": round(sign_seconds, 3),
                "transactions": len(signed),
                "per_second": round(len(signed) / sign_seconds, 1) if sign_seconds else None,
            },
        }
        if not args.no_submit:
            started = time.perf_counter()
            outcome = payout_services.payout_batch_run(
                destinations=destinations, key="bench", wait_seconds=args.timeout
            )
            batch_seconds = time.perf_counter() - started
            validated = Payout.objects.filter(status=TxState.VALIDATED).count()
            log.info("batch: %d validated in %.2fs", validated, batch_seconds)
            started = time.perf_counter()
            report = payouts_reconcile(check_ledger_transactions=True)
            reconcile_seconds = time.perf_counter() - started
            result["batch"] = {
                "seconds_plan_to_all_validated": round(batch_seconds, 2),
                "planned": outcome.planned,
                "validated": validated,
                "failed": Payout.objects.filter(status=TxState.FAILED).count(),
                "payouts_per_second": round(validated / batch_seconds, 1)
                if batch_seconds
                else None,
                "chunk_size": int(os.environ.get("DROPGATE_PAYOUT_CHUNK_SIZE", "100")),
                "reconciled": report.ok,
                "reconcile_differences": report.differences[:5],
                "reconcile_seconds": round(reconcile_seconds, 2),
            }
        return result
    finally:
        sandbox.terminate()
        try:
            sandbox.wait(timeout=10)
        except subprocess.TimeoutExpired:
            sandbox.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--publishers", type=int, default=1000)
    parser.add_argument("--no-submit", action="store_true", help="plan and sign only")
    parser.add_argument(
        "--timeout", type=float, default=120.0, help="longest wait for the batch to validate (s)"
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(message)s")
    print(json.dumps(measure(args)), flush=True)


if __name__ == "__main__":
    main()
