"""The funding wallet endpoints (/api/v1/wallet/faucet, /prepare, /submit).

The sandbox-ledger tests sign in Python exactly as the signer frame does in the browser: the
funding key signs the raw bytes of the server's signing blob (Ed25519), or their SHA-512Half
(secp256k1), and the server never sees a private key.
"""

from __future__ import annotations

import socket
import time
from dataclasses import dataclass
from typing import Any

import pytest
from asgiref.sync import async_to_sync
from django.core.cache import cache
from xrpl.constants import CryptoAlgorithm
from xrpl.core import keypairs
from xrpl.core.binarycodec import encode_for_signing

from channels_app import ledger as channels_ledger
from channels_app.models import Channel, ChannelStatus
from channels_app.services.channels import channel_register
from channels_app.services.platform import platform_bootstrap
from paywall.asgi import application
from paywall.models import FaucetGrant
from tests.channels_app.factories import make_channel, random_channel_id
from tests.channels_app.ledger_helpers import ledger_channel
from tests.fixtures.sandbox import sandbox_rpc
from tests.paywall.factories import make_article, make_publisher, make_reader
from tests.paywall.helpers import error_code
from tests.paywall.test_consumers import WebsocketCommunicator

pytestmark = pytest.mark.django_db

PAYWALL_ORIGIN = "http://127.0.0.1:8000"  # the default DROPGATE_PUBLIC_URL: the frame's origin
FAUCET_DROPS = 50_000_000
CHANNEL_DROPS = 10_000_000
PRICE = 250_000


@dataclass(frozen=True)
class FundingKey:
    """The frame's funding wallet, in Python: a key pair that signs what the server prepared."""

    public_key: str
    private_key: str

    @property
    def address(self) -> str:
        return keypairs.derive_classic_address(self.public_key)

    def sign(self, signing_blob: str) -> str:
        return keypairs.sign(bytes.fromhex(signing_blob), self.private_key)


def funding_key(algorithm: CryptoAlgorithm = CryptoAlgorithm.ED25519) -> FundingKey:
    public, private = keypairs.derive_keypair(keypairs.generate_seed(algorithm=algorithm))
    return FundingKey(public_key=public, private_key=private)


def dead_ledger_url() -> str:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"


class Wallet:
    """Calls the wallet endpoints as the signer frame does: from the paywall's origin."""

    def __init__(self, api: Any, token: str) -> None:
        self.api, self.auth = api, f"Reader {token}"

    def post(self, path: str, body: dict[str, Any], **kwargs: Any) -> Any:
        kwargs.setdefault("origin", PAYWALL_ORIGIN)
        return self.api.post(f"wallet/{path}", body, auth=self.auth, **kwargs)

    def faucet(self, key: FundingKey) -> Any:
        return self.post("faucet", {"public_key": key.public_key})

    def prepare(self, key: FundingKey, kind: str, **fields: Any) -> Any:
        return self.post("prepare", {"public_key": key.public_key, "kind": kind, **fields})

    def submit(self, prepared_id: str, signature: str) -> Any:
        return self.post("submit", {"prepared_id": prepared_id, "signature": signature})

    def run(self, key: FundingKey, kind: str, **fields: Any) -> dict[str, Any]:
        """prepare → sign → submit; returns the submit body (asserting 200)."""
        prepared = self.prepare(key, kind, **fields)
        assert prepared.status_code == 201, prepared.content
        body = prepared.json()
        submitted = self.submit(body["prepared_id"], key.sign(body["signing_blob"]))
        assert submitted.status_code == 200, submitted.content
        return dict(submitted.json())


def account(url: str, address: str) -> dict[str, Any]:
    return sandbox_rpc(url, "account_info", account=address, ledger_index="validated")[
        "account_data"
    ]


@pytest.fixture
def platform(settings, sandbox_url: str) -> str:
    settings.XRPL_URL = sandbox_url
    settings.DROPGATE_FAUCET_ENABLED = True
    settings.DROPGATE_SETTLEMENT_THRESHOLD_DROPS = 10**12  # no settlement in these tests
    return str(platform_bootstrap()["address"])


@pytest.fixture
def site():
    publisher = make_publisher()
    reader, token, claim = make_reader(publisher)
    return publisher, reader, token, claim


async def ws_unlock(token: str, publisher_key: str, frames: list[dict[str, Any]]) -> list[Any]:
    """Authenticate on /ws/reader/ from the paywall's origin, send `frames`, return replies."""
    communicator = WebsocketCommunicator(
        application,
        "/ws/reader/",
        headers=[(b"origin", PAYWALL_ORIGIN.encode()), (b"host", b"127.0.0.1:8000")],
    )
    connected, _ = await communicator.connect()
    assert connected
    try:
        await communicator.send_json_to(
            {"type": "auth", "publisher": publisher_key, "token": token}
        )
        assert await communicator.receive_json_from(timeout=5) == {"type": "ready"}
        replies = []
        for frame in frames:
            await communicator.send_json_to(frame)
            replies.append(await communicator.receive_json_from(timeout=10))
        return replies
    finally:
        await communicator.disconnect()


# --- The whole path against the sandbox ------------------------------------------------------


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_faucet_open_register_unlock_over_the_socket_fund_and_close(
    api, sandbox_url: str, platform: str, site
) -> None:
    publisher, reader, token, claim = site
    article = make_article(publisher, price_drops=PRICE)
    key = funding_key()
    wallet = Wallet(api, token)

    # Faucet: the funding address exists with the faucet's drops.
    funded = wallet.faucet(key)
    assert funded.status_code == 201, funded.content
    assert funded.json()["address"] == key.address
    assert funded.json()["funded_drops"] == str(FAUCET_DROPS)
    assert account(sandbox_url, key.address)["Balance"] == str(FAUCET_DROPS)
    grant = FaucetGrant.objects.get(reader=reader)
    assert (grant.address, grant.tx_hash) == (key.address, funded.json()["tx_hash"])

    # Prepare a create: the server's rules, not the caller's.
    prepared = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS)
    assert prepared.status_code == 201, prepared.content
    body = prepared.json()
    tx = body["tx_json"]
    assert body["address"] == key.address
    assert tx["TransactionType"] == "PaymentChannelCreate"
    assert tx["Account"] == key.address
    assert tx["Destination"] == platform
    assert tx["DestinationTag"] == publisher.destination_tag
    assert tx["PublicKey"] == claim.public_key.upper()
    assert tx["SettleDelay"] == 86_400
    # CancelAfter: 90 days (the default) from the ledger's time, so the deposit can never be
    # locked longer, whatever becomes of the service
    ledger_now = channels_ledger.validated_ledger().close_time
    assert 0 <= ledger_now + 90 * 86_400 - tx["CancelAfter"] <= 5
    assert tx["Amount"] == str(CHANNEL_DROPS)
    assert tx["SigningPubKey"] == key.public_key.upper()
    assert {"Sequence", "Fee", "LastLedgerSequence"} <= set(tx)
    assert "TxnSignature" not in tx

    # Sign in "the frame" and submit: validated, with the new channel's id.
    submitted = wallet.submit(body["prepared_id"], key.sign(body["signing_blob"]))
    assert submitted.status_code == 200, submitted.content
    result = submitted.json()
    assert result["validated"] is True
    assert result["result"] == "tesSUCCESS"
    channel_id = result["channel_id"]
    assert channel_id and len(channel_id) == 64
    on_ledger = ledger_channel(sandbox_url, channel_id)
    assert on_ledger is not None and on_ledger["Account"] == key.address
    assert (
        result["tx_hash"]
        == sandbox_rpc(sandbox_url, "tx", transaction=result["tx_hash"])["hash"].upper()
    )

    # A prepared transaction is submitted once.
    again = wallet.submit(body["prepared_id"], key.sign(body["signing_blob"]))
    assert again.status_code == 404
    assert error_code(again) == "prepared_not_found"

    # Register, as the frame does next.
    registered = api.post(
        "channels", {"channel_id": channel_id}, auth=f"Reader {token}", origin=PAYWALL_ORIGIN
    )
    assert registered.status_code == 200, registered.content
    assert registered.json()["funded_drops"] == str(CHANNEL_DROPS)

    # Unlock with a claim over the reader websocket.
    replies = async_to_sync(ws_unlock)(
        token,
        publisher.key,
        [
            {
                "type": "unlock",
                "id": 1,
                "article": article.slug,
                "claim": {
                    "channel_id": channel_id,
                    "amount_drops": str(PRICE),
                    "signature": claim.sign(channel_id, PRICE),
                },
            }
        ],
    )
    assert replies[0]["type"] == "unlock.result", replies
    assert replies[0]["id"] == 1
    assert replies[0]["status"] == 201
    assert replies[0]["amount_drops"] == str(PRICE)
    assert Channel.objects.get(channel_id=channel_id).accepted_drops == PRICE

    # Top up the channel: the tracked row follows the ledger at once.
    funded_more = wallet.run(key, "channel_fund", channel_id=channel_id, amount_drops=2_000_000)
    assert (funded_more["result"], funded_more["channel_id"]) == ("tesSUCCESS", channel_id)
    assert ledger_channel(sandbox_url, channel_id)["Amount"] == str(CHANNEL_DROPS + 2_000_000)
    assert Channel.objects.get(channel_id=channel_id).amount_drops == CHANNEL_DROPS + 2_000_000

    # Close: the source's tfClose sets Expiration; the channel is now closing.
    closed = wallet.run(key, "channel_close", channel_id=channel_id)
    assert closed["result"] == "tesSUCCESS"
    entry = ledger_channel(sandbox_url, channel_id)
    assert entry is not None and "Expiration" in entry
    row = Channel.objects.get(channel_id=channel_id)
    assert row.status == ChannelStatus.CLOSING
    assert row.expiration == entry["Expiration"]


@pytest.mark.integration
def test_a_secp256k1_funding_key_works_too(api, sandbox_url: str, platform: str, site) -> None:
    _, _, token, _ = site
    key = funding_key(CryptoAlgorithm.SECP256K1)
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    result = wallet.run(key, "channel_create", amount_drops=CHANNEL_DROPS)
    assert result["result"] == "tesSUCCESS"
    assert ledger_channel(sandbox_url, result["channel_id"])["Account"] == key.address


@pytest.mark.integration
def test_a_tec_result_is_reported_not_hidden(api, sandbox_url: str, platform: str, site) -> None:
    # Given a funded wallet that asks for a channel larger than its balance
    _, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    # When it is signed and submitted
    result = wallet.run(key, "channel_create", amount_drops=FAUCET_DROPS * 2)
    # Then the ledger applied it as a failure (fee charged), and no channel exists
    assert result["validated"] is True
    assert result["result"] == "tecUNFUNDED"
    assert result["channel_id"] is None
    assert int(account(sandbox_url, key.address)["Balance"]) < FAUCET_DROPS


@pytest.mark.integration
def test_a_slow_validation_answers_202_pending(
    api, settings, monkeypatch, sandbox_url: str, platform: str, site
) -> None:
    # Given a funded wallet, and a ledger that has not validated anything new yet
    _, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    settings.DROPGATE_WALLET_SUBMIT_WAIT_SECONDS = 0.3
    monkeypatch.setattr(channels_ledger, "transaction_status", lambda tx_hash: None)
    # When a create is submitted
    body = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS).json()
    response = wallet.submit(body["prepared_id"], key.sign(body["signing_blob"]))
    # Then the answer is 202 with the preliminary result
    assert response.status_code == 202, response.content
    pending = response.json()
    assert pending["validated"] is False
    assert pending["result"] == "tesSUCCESS"  # the preliminary result
    assert pending["tx_hash"]
    # The id the channel will have, so the frame can register it once validated.
    deadline = time.monotonic() + 10
    while ledger_channel(sandbox_url, pending["channel_id"]) is None:
        assert time.monotonic() < deadline, "the pending create never validated"
        time.sleep(0.1)
    assert ledger_channel(sandbox_url, pending["channel_id"])["Account"] == key.address


@pytest.mark.integration
def test_the_status_of_a_submitted_transaction_can_be_asked(
    api, sandbox_url: str, platform: str, site
) -> None:
    # Given a create submitted and validated, and a hash the ledger never saw
    _, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    created = wallet.run(key, "channel_create", amount_drops=CHANNEL_DROPS)
    auth = f"Reader {token}"
    # When the frame asks where each stands
    seen = api.get(
        f"wallet/transactions/{created['tx_hash'].lower()}", auth=auth, origin=PAYWALL_ORIGIN
    )
    unseen = api.get(f"wallet/transactions/{'AB' * 32}", auth=auth, origin=PAYWALL_ORIGIN)
    # Then the ledger's facts come back: result, the channel made, the validated ledger
    assert seen.status_code == 200, seen.content
    body = seen.json()
    assert body["tx_hash"] == created["tx_hash"]
    assert (body["found"], body["validated"], body["result"]) == (True, True, "tesSUCCESS")
    assert body["channel_id"] == created["channel_id"]
    assert body["validated_ledger_index"] >= body["ledger_index"]
    assert unseen.status_code == 200, unseen.content
    assert unseen.json()["found"] is False
    assert unseen.json()["validated_ledger_index"] >= body["ledger_index"]
    bad = api.get("wallet/transactions/xyz", auth=auth, origin=PAYWALL_ORIGIN)
    assert (bad.status_code, error_code(bad)) == (400, "invalid_tx_hash")


# --- Submit: signatures and ownership of prepared transactions ------------------------------


@pytest.mark.integration
def test_a_bad_signature_is_400_and_nothing_is_submitted(
    api, sandbox_url: str, platform: str, site
) -> None:
    # Given a funded wallet and a prepared create
    _, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    body = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS).json()
    before = account(sandbox_url, key.address)
    blob = body["signing_blob"]
    good = key.sign(blob)
    other = funding_key()
    other_bytes = blob[:-2] + ("00" if blob[-2:].upper() != "00" else "01")
    bad_signatures = [
        other.sign(blob),  # another key
        key.sign(other_bytes),  # other bytes (always differ from the prepared blob)
        good[:-2] + ("00" if good[-2:] != "00" else "01"),  # tampered
        "zz" * 64,  # not hex
        "",  # empty
    ]
    # When each bad signature is submitted
    for signature in bad_signatures:
        response = wallet.submit(body["prepared_id"], signature)
        # Then it is refused and the ledger never saw a thing
        assert response.status_code == 400, (signature, response.content)
        assert error_code(response) in {"signature_invalid", "invalid_request"}
    sandbox_rpc(sandbox_url, "ledger_accept")
    after = account(sandbox_url, key.address)
    assert (after["Sequence"], after["Balance"]) == (before["Sequence"], before["Balance"])
    assert error_code(wallet.submit(body["prepared_id"], bad_signatures[0])) == "signature_invalid"
    # And the prepared transaction is still there for the right signature
    assert wallet.submit(body["prepared_id"], good).status_code == 200


@pytest.mark.integration
def test_another_readers_prepared_id_is_404(api, sandbox_url: str, platform: str, site) -> None:
    # Given a prepared transaction of one reader
    publisher, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    body = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS).json()
    before = account(sandbox_url, key.address)
    # When another reader (of the same site) submits it, even correctly signed
    _, other_token, _ = make_reader(publisher)
    response = Wallet(api, other_token).submit(body["prepared_id"], key.sign(body["signing_blob"]))
    # Then it does not exist for them, and nothing was submitted
    assert response.status_code == 404
    assert error_code(response) == "prepared_not_found"
    assert account(sandbox_url, key.address)["Sequence"] == before["Sequence"]
    # while its owner can still submit it
    assert wallet.submit(body["prepared_id"], key.sign(body["signing_blob"])).status_code == 200


def test_an_unknown_prepared_id_is_404(api, site) -> None:
    _, _, token, _ = site
    for prepared_id in ("prp_nope", "nope", "x" * 100):
        response = Wallet(api, token).submit(prepared_id, "00" * 64)
        assert response.status_code == 404
        assert error_code(response) == "prepared_not_found"


# --- Faucet ----------------------------------------------------------------------------------


def test_the_faucet_is_403_when_disabled(api, settings, site) -> None:
    settings.DROPGATE_FAUCET_ENABLED = False
    settings.XRPL_URL = dead_ledger_url()  # never reached
    _, _, token, _ = site
    response = Wallet(api, token).faucet(funding_key())
    assert response.status_code == 403
    assert error_code(response) == "faucet_disabled"
    assert FaucetGrant.objects.count() == 0


@pytest.mark.integration
def test_the_faucet_pays_once_per_reader_and_per_address(
    api, sandbox_url: str, platform: str, site
) -> None:
    # Given a reader the faucet has paid
    publisher, _, token, _ = site
    key = funding_key()
    assert Wallet(api, token).faucet(key).status_code == 201
    # When the same reader asks again for another key, or another reader for the same address
    again = Wallet(api, token).faucet(funding_key())
    _, other_token, _ = make_reader(publisher)
    same_address = Wallet(api, other_token).faucet(key)
    # Then both are refused and the address got one payment only
    for response in (again, same_address):
        assert response.status_code == 409
        assert error_code(response) == "faucet_already_used"
    assert FaucetGrant.objects.count() == 1
    assert account(sandbox_url, key.address)["Balance"] == str(FAUCET_DROPS)


def test_the_faucet_refuses_the_claim_key(api, settings, site) -> None:
    settings.DROPGATE_FAUCET_ENABLED = True
    _, _, token, claim = site
    response = Wallet(api, token).post("faucet", {"public_key": claim.public_key})
    assert response.status_code == 400
    assert error_code(response) == "funding_key_is_claim_key"
    assert FaucetGrant.objects.count() == 0


# --- Prepare: the server's rules --------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"kind": "channel_create"}, "invalid_request"),  # amount missing
        ({"kind": "channel_fund", "amount_drops": 5}, "invalid_request"),  # channel missing
        ({"kind": "channel_close"}, "invalid_request"),
        ({"kind": "channel_burn", "amount_drops": 5}, "invalid_request"),
        ({"kind": "channel_create", "amount_drops": "1.5"}, "invalid_request"),
        ({"kind": "channel_create", "amount_drops": -1}, "invalid_request"),
        ({"kind": "channel_create", "amount_drops": 999_999}, "amount_below_minimum"),
    ],
)
def test_bad_prepare_input_is_400(api, settings, site, body, code) -> None:
    settings.XRPL_URL = dead_ledger_url()  # input is checked before the ledger is asked
    _, _, token, _ = site
    response = Wallet(api, token).post("prepare", {"public_key": funding_key().public_key, **body})
    assert response.status_code == 400, response.content
    assert error_code(response) == code


@pytest.mark.parametrize("public_key", ["", "ED" + "00" * 31, "04" + "11" * 32, "ZZ" * 33])
def test_a_malformed_funding_key_is_400(api, site, public_key) -> None:
    _, _, token, _ = site
    response = Wallet(api, token).post(
        "prepare", {"public_key": public_key, "kind": "channel_create", "amount_drops": 10**7}
    )
    assert response.status_code == 400
    assert error_code(response) in {"invalid_public_key", "invalid_request"}


def test_the_claim_key_may_not_fund(api, site) -> None:
    _, _, token, claim = site
    response = Wallet(api, token).post(
        "prepare",
        {"public_key": claim.public_key.lower(), "kind": "channel_create", "amount_drops": 10**7},
    )
    assert response.status_code == 400
    assert error_code(response) == "funding_key_is_claim_key"


def test_fund_of_a_channel_that_is_not_the_readers_is_404(api, settings, site) -> None:
    # Given a channel of another reader (and one that is not registered at all)
    settings.XRPL_URL = dead_ledger_url()
    publisher, _, token, _ = site
    other, _, other_claim = make_reader(publisher)
    key = funding_key()
    theirs = make_channel(key=other_claim, owner_ref=other.public_id, source_address=key.address)
    before = Channel.objects.values().get(pk=theirs.pk)
    for channel_id in (theirs.channel_id, random_channel_id(), "not-hex"):
        # When this reader prepares a top-up of it
        response = Wallet(api, token).prepare(
            key, "channel_fund", channel_id=channel_id, amount_drops=1_000_000
        )
        # Then it does not exist for them (only one's own registered channel is funded)
        assert response.status_code == 404, response.content
        assert error_code(response) == "channel_not_found"
    assert Channel.objects.values().get(pk=theirs.pk) == before


def test_a_malformed_channel_id_to_close_is_404_without_the_ledger(api, settings, site) -> None:
    settings.XRPL_URL = dead_ledger_url()
    _, _, token, _ = site
    for channel_id in ("not-hex", "AB" * 31, "G" * 64):
        response = Wallet(api, token).prepare(funding_key(), "channel_close", channel_id=channel_id)
        assert (response.status_code, error_code(response)) == (404, "channel_not_found")


@pytest.mark.integration
def test_the_source_may_close_its_channel_whoever_registered_it(
    api, sandbox_url: str, platform: str, site
) -> None:
    # Given the reader's channel on the ledger, registered to another reader (as anyone could
    # before registration needed a proof of the claim key), and a second one never registered
    publisher, _, token, claim = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    taken = wallet.run(key, "channel_create", amount_drops=CHANNEL_DROPS)["channel_id"]
    never = wallet.run(key, "channel_create", amount_drops=CHANNEL_DROPS)["channel_id"]
    other, _, _ = make_reader(publisher)
    channel_register(
        channel_id=taken,
        public_key=claim.public_key,
        owner_ref=other.public_id,
        destination_tag=publisher.destination_tag,
    )
    fund = wallet.prepare(key, "channel_fund", channel_id=taken, amount_drops=1_000_000)
    assert (fund.status_code, error_code(fund)) == (404, "channel_not_found")
    # When another funding key asks to close them
    for channel_id in (taken, never):
        stranger = wallet.prepare(funding_key(), "channel_close", channel_id=channel_id)
        # Then nothing is prepared for it
        assert (stranger.status_code, error_code(stranger)) == (404, "channel_not_found")
    # But the source closes both: the ledger lets only the source do it, so its signature is
    # the authorisation
    for channel_id in (taken, never):
        closed = wallet.run(key, "channel_close", channel_id=channel_id)
        assert (closed["result"], closed["channel_id"]) == ("tesSUCCESS", channel_id)
        assert closed["channel_deleted"] is False  # Expiration set: it closes after SettleDelay
        assert "Expiration" in ledger_channel(sandbox_url, channel_id)
    # and the registered row follows the ledger: the watchtower settles and closes it
    assert Channel.objects.get(channel_id=taken).status == ChannelStatus.CLOSING
    assert not Channel.objects.filter(channel_id=never).exists()


@pytest.mark.integration
def test_a_signature_over_a_changed_transaction_is_refused(
    api, sandbox_url: str, platform: str, site
) -> None:
    # Given a prepared create
    _, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    body = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS).json()
    before = account(sandbox_url, key.address)
    changed = [
        {**body["tx_json"], "Amount": str(2 * CHANNEL_DROPS)},
        {**body["tx_json"], "Destination": key.address, "DestinationTag": 1},
        {k: v for k, v in body["tx_json"].items() if k != "CancelAfter"},
    ]
    for tx_json in changed:
        # When the reader sends a signature over another transaction (with that transaction)
        blob = encode_for_signing(tx_json)
        response = wallet.post(
            "submit",
            {
                "prepared_id": body["prepared_id"],
                "signature": key.sign(blob),
                "tx_json": tx_json,
                "signing_blob": blob,
            },
        )
        # Then it is refused: only the prepared blob is ever signed and submitted
        assert (response.status_code, error_code(response)) == (400, "signature_invalid")
    sandbox_rpc(sandbox_url, "ledger_accept")
    after = account(sandbox_url, key.address)
    assert (after["Sequence"], after["Balance"]) == (before["Sequence"], before["Balance"])
    assert wallet.submit(body["prepared_id"], key.sign(body["signing_blob"])).status_code == 200


@pytest.mark.parametrize("kind", ["channel_fund", "channel_close"])
def test_only_the_channels_source_key_may_fund_or_close_it(api, settings, site, kind) -> None:
    settings.XRPL_URL = dead_ledger_url()
    _, reader, token, claim = site
    source = funding_key()
    mine = make_channel(key=claim, owner_ref=reader.public_id, source_address=source.address)
    response = Wallet(api, token).prepare(
        funding_key(), kind, channel_id=mine.channel_id, amount_drops=1_000_000
    )
    assert response.status_code == 403
    assert error_code(response) == "not_channel_source"


def test_a_closing_channel_cannot_be_funded_and_a_closed_one_not_touched(
    api, settings, site
) -> None:
    settings.XRPL_URL = dead_ledger_url()
    _, reader, token, claim = site
    key = funding_key()
    closing = make_channel(
        key=claim,
        owner_ref=reader.public_id,
        source_address=key.address,
        status=ChannelStatus.CLOSING,
    )
    closed = make_channel(
        key=claim,
        owner_ref=reader.public_id,
        source_address=key.address,
        status=ChannelStatus.CLOSED,
    )
    wallet = Wallet(api, token)
    fund_closing = wallet.prepare(
        key, "channel_fund", channel_id=closing.channel_id, amount_drops=10**6
    )
    assert (fund_closing.status_code, error_code(fund_closing)) == (409, "channel_closing")
    for kind in ("channel_fund", "channel_close"):
        response = wallet.prepare(key, kind, channel_id=closed.channel_id, amount_drops=10**6)
        assert (response.status_code, error_code(response)) == (409, "channel_closed")


@pytest.mark.integration
def test_an_unfunded_address_is_422(api, sandbox_url: str, platform: str, site) -> None:
    _, _, token, _ = site
    response = Wallet(api, token).prepare(
        funding_key(), "channel_create", amount_drops=CHANNEL_DROPS
    )
    assert response.status_code == 422
    assert error_code(response) == "account_not_found"


# --- Ledger down -----------------------------------------------------------------------------


def test_ledger_down_is_503_and_changes_nothing(api, settings, site) -> None:
    # Given an unreachable ledger
    settings.XRPL_URL = dead_ledger_url()
    settings.DROPGATE_FAUCET_ENABLED = True
    _, _, token, _ = site
    wallet = Wallet(api, token)
    key = funding_key()
    # When the faucet and a prepare are asked for
    faucet = wallet.faucet(key)
    prepare = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS)
    # Then both are 503 ledger_unavailable, retryable, and the faucet grant was released
    for response in (faucet, prepare):
        assert response.status_code == 503, response.content
        assert error_code(response) == "ledger_unavailable"
        assert response["Retry-After"]
    assert FaucetGrant.objects.count() == 0


@pytest.mark.integration
def test_a_submit_while_the_ledger_is_down_can_be_retried(
    api, settings, sandbox_url: str, platform: str, site
) -> None:
    # Given a prepared, signed create
    _, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    body = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS).json()
    signature = key.sign(body["signing_blob"])
    # When the ledger is down at submit
    settings.XRPL_URL = dead_ledger_url()
    down = wallet.submit(body["prepared_id"], signature)
    assert down.status_code == 503
    assert error_code(down) == "ledger_unavailable"
    # Then the same prepared transaction goes through once it is back
    settings.XRPL_URL = sandbox_url
    assert account(sandbox_url, key.address)["Sequence"] == body["tx_json"]["Sequence"]
    assert wallet.submit(body["prepared_id"], signature).status_code == 200


@pytest.mark.integration
def test_a_retry_of_a_submit_that_went_in_reports_it(
    api, sandbox_url: str, platform: str, site
) -> None:
    # Given a create that reached the ledger although its prepared entry came back (the
    # ledger was unreachable for the answer, so the server restored it for a retry)
    _, _, token, _ = site
    key = funding_key()
    wallet = Wallet(api, token)
    assert wallet.faucet(key).status_code == 201
    body = wallet.prepare(key, "channel_create", amount_drops=CHANNEL_DROPS).json()
    cache_key = f"dropgate:wallet:prepared:{body['prepared_id']}"
    stored = cache.get(cache_key)
    signature = key.sign(body["signing_blob"])
    first = wallet.submit(body["prepared_id"], signature)
    assert first.status_code == 200
    cache.set(cache_key, stored, 300)
    # When the frame retries the same signed transaction
    retry = wallet.submit(body["prepared_id"], signature)
    # Then it is reported as the same validated transaction, not as a rejection
    assert retry.status_code == 200, retry.content
    assert retry.json()["tx_hash"] == first.json()["tx_hash"]
    assert retry.json()["channel_id"] == first.json()["channel_id"]
    assert account(sandbox_url, key.address)["Sequence"] == body["tx_json"]["Sequence"] + 1


# --- Doors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["faucet", "prepare", "submit", "transactions/" + "AB" * 32])
def test_the_wallet_needs_a_reader_from_an_allowed_origin(api, site, path) -> None:
    _, _, token, _ = site
    call = api.get if path.startswith("transactions/") else api.post
    anonymous = call(f"wallet/{path}", origin=PAYWALL_ORIGIN)
    assert anonymous.status_code == 401
    foreign = call(f"wallet/{path}", auth=f"Reader {token}", origin="http://127.0.0.1:9999")
    assert foreign.status_code == 403
    assert error_code(foreign) == "origin_not_allowed"


def test_the_wallet_is_throttled_per_reader(api, settings, site) -> None:
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {
            **settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
            "wallet": "2/min",
        },
    }
    _, _, token, _ = site
    wallet = Wallet(api, token)
    codes = [wallet.submit("prp_nope", "00").status_code for _ in range(3)]
    assert codes == [404, 404, 429]
