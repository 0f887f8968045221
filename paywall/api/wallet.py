"""The funding wallet's endpoints (reader auth): the demo faucet, prepare, submit.

Called by the signer frame from the paywall's own origin (or a publisher origin). The server
prepares transactions and checks signatures; it never holds the reader's keys. Business rules
live in paywall.services.wallet.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.settings import api_settings

from paywall.api.base import (
    ApiView,
    DropsField,
    IsReader,
    error_responses,
    reader_of,
    require_origin,
    validated,
)
from paywall.authentication import ReaderAuthentication
from paywall.services.wallet import (
    TRANSACTION_KINDS,
    wallet_faucet_fund,
    wallet_transaction_prepare,
    wallet_transaction_status,
    wallet_transaction_submit,
)
from paywall.throttles import IPRateThrottle, ReaderRateThrottle

DEFAULT_WALLET_RATE = "30/min"


class WalletRateThrottle(ReaderRateThrottle):
    """A tighter per-reader budget: every wallet call costs ledger requests, and a submit holds
    a worker for up to DROPGATE_WALLET_SUBMIT_WAIT_SECONDS. Scope `wallet` in
    REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] overrides the default."""

    scope = "wallet"

    def get_rate(self) -> str | None:
        return str(api_settings.DEFAULT_THROTTLE_RATES.get("wallet") or DEFAULT_WALLET_RATE)


class WalletView(ApiView):
    """A reader's own wallet request: `Authorization: Reader rdt_…`, from one of its site's
    origins or the paywall's own (the signer frame), on a tighter rate than other reader calls."""

    authentication_classes = (ReaderAuthentication,)
    permission_classes = (IsReader,)
    throttle_classes = (WalletRateThrottle, ReaderRateThrottle, IPRateThrottle)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        require_origin(request, reader_of(request).publisher)


_PUBLIC_KEY_HELP = (
    "The funding key (not the claim key): 66 hex digits, ED + 32 bytes (Ed25519) or 02/03 + "
    "32 bytes (secp256k1). The account address is derived from it."
)


# --- Faucet ----------------------------------------------------------------------------------


class FaucetInSerializer(serializers.Serializer):
    public_key = serializers.CharField(
        max_length=66, trim_whitespace=False, help_text=_PUBLIC_KEY_HELP
    )


class FaucetOutSerializer(serializers.Serializer):
    address = serializers.CharField(help_text="The funded classic address.")
    funded_drops = DropsField(help_text="What the faucet paid.")
    tx_hash = serializers.CharField()


class WalletFaucetApi(WalletView):
    @extend_schema(
        operation_id="wallet_faucet",
        summary="Demo faucet: fund the reader's funding address once (sandbox only)",
        request=FaucetInSerializer,
        responses={201: FaucetOutSerializer, **error_responses(400, 401, 403, 409, 503)},
        description=(
            "Only when DROPGATE_FAUCET_ENABLED (else 403 `faucet_disabled`); at most once per "
            "reader and per address (409 `faucet_already_used`)."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(FaucetInSerializer, request.data)
        payment = wallet_faucet_fund(reader=reader_of(request), public_key=data["public_key"])
        out = FaucetOutSerializer(
            {
                "address": payment.address,
                "funded_drops": payment.funded_drops,
                "tx_hash": payment.tx_hash,
            }
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


# --- Prepare ---------------------------------------------------------------------------------


class PrepareInSerializer(serializers.Serializer):
    public_key = serializers.CharField(
        max_length=66, trim_whitespace=False, help_text=_PUBLIC_KEY_HELP
    )
    kind = serializers.ChoiceField(choices=TRANSACTION_KINDS)
    amount_drops = DropsField(
        required=False,
        high=10**17,
        help_text="channel_create: the channel's amount; channel_fund: what to add.",
    )
    channel_id = serializers.CharField(
        required=False, max_length=64, help_text="channel_fund, channel_close: 64 hex digits."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        kind = attrs["kind"]
        errors: dict[str, list[str]] = {}
        if kind in ("channel_create", "channel_fund") and "amount_drops" not in attrs:
            errors["amount_drops"] = [f"Required for {kind}."]
        if kind in ("channel_fund", "channel_close") and not attrs.get("channel_id"):
            errors["channel_id"] = [f"Required for {kind}."]
        if errors:
            raise serializers.ValidationError(errors)
        return attrs


class PrepareOutSerializer(serializers.Serializer):
    prepared_id = serializers.CharField(help_text="Pass to /wallet/submit within expires_in.")
    kind = serializers.CharField()
    tx_json = serializers.JSONField(
        help_text="The autofilled transaction (Sequence, Fee, LastLedgerSequence, SigningPubKey)."
    )
    signing_blob = serializers.CharField(
        help_text="Hex to sign: Ed25519 signs these raw bytes; secp256k1 their SHA-512Half."
    )
    address = serializers.CharField(help_text="The funding account, derived from public_key.")
    channel_id = serializers.CharField(allow_null=True)
    expires_in = serializers.IntegerField(help_text="Seconds the prepared transaction is kept.")


class WalletPrepareApi(WalletView):
    @extend_schema(
        operation_id="wallet_prepare",
        summary="Build a channel create, fund or close transaction for the funding key to sign",
        request=PrepareInSerializer,
        responses={201: PrepareOutSerializer, **error_responses(400, 401, 403, 404, 409, 422, 503)},
        description=(
            "The server builds the transaction from its own rules (create: the platform address, "
            "the publisher's destination tag, the reader's claim key and "
            "DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS; fund and close: only the reader's own "
            "registered channel, sent from its source account), autofills Sequence, Fee and "
            "LastLedgerSequence, and keeps it for `expires_in` seconds."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(PrepareInSerializer, request.data)
        prepared = wallet_transaction_prepare(
            reader=reader_of(request),
            public_key=data["public_key"],
            kind=data["kind"],
            amount_drops=data.get("amount_drops"),
            channel_id=data.get("channel_id"),
        )
        out = PrepareOutSerializer(
            {
                "prepared_id": prepared.prepared_id,
                "kind": prepared.kind,
                "tx_json": prepared.tx_json,
                "signing_blob": prepared.signing_blob,
                "address": prepared.address,
                "channel_id": prepared.channel_id,
                "expires_in": prepared.expires_in,
            }
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


# --- Submit ----------------------------------------------------------------------------------


class SubmitInSerializer(serializers.Serializer):
    prepared_id = serializers.CharField(max_length=100, trim_whitespace=False)
    signature = serializers.CharField(
        max_length=200,
        trim_whitespace=False,
        help_text="Hex: 64 bytes (Ed25519) or strict DER (secp256k1) over the signing blob.",
    )


class SubmitOutSerializer(serializers.Serializer):
    tx_hash = serializers.CharField()
    result = serializers.CharField(
        help_text="TransactionResult once validated (tesSUCCESS, or a tec code that charged "
        "the fee); else the preliminary engine result."
    )
    validated = serializers.BooleanField()
    kind = serializers.CharField()
    channel_id = serializers.CharField(
        allow_null=True,
        help_text="channel_create: the new channel (register it with POST /channels); while "
        "pending (202) the id it will have, null after a failure (tec). channel_fund, "
        "channel_close: the channel touched.",
    )
    channel_deleted = serializers.BooleanField(
        help_text="A validated close that removed the channel from the ledger (after its "
        "Expiration or CancelAfter): the remainder is back with the source."
    )


class WalletSubmitApi(WalletView):
    @extend_schema(
        operation_id="wallet_submit",
        summary="Submit a prepared transaction with the reader's signature and wait for it",
        request=SubmitInSerializer,
        responses={
            200: SubmitOutSerializer,
            202: SubmitOutSerializer,
            **error_responses(400, 401, 403, 404, 422, 503),
        },
        description=(
            "200 once validated; 202 if it was submitted but not validated within "
            "DROPGATE_WALLET_SUBMIT_WAIT_SECONDS. 400 `signature_invalid` submits nothing."
        ),
    )
    def post(self, request: Request) -> Response:
        data = validated(SubmitInSerializer, request.data)
        submitted = wallet_transaction_submit(
            reader=reader_of(request),
            prepared_id=data["prepared_id"],
            signature=data["signature"],
        )
        out = SubmitOutSerializer(
            {
                "tx_hash": submitted.tx_hash,
                "result": submitted.result,
                "validated": submitted.validated,
                "kind": submitted.kind,
                "channel_id": submitted.channel_id,
                "channel_deleted": submitted.channel_deleted,
            }
        )
        return Response(
            out.data, status=status.HTTP_200_OK if submitted.validated else status.HTTP_202_ACCEPTED
        )


# --- Status ----------------------------------------------------------------------------------


class TransactionStatusOutSerializer(serializers.Serializer):
    tx_hash = serializers.CharField()
    found = serializers.BooleanField(help_text="Whether the ledger has seen the transaction.")
    validated = serializers.BooleanField()
    result = serializers.CharField(
        allow_null=True, help_text="The final TransactionResult once validated, else null."
    )
    ledger_index = serializers.IntegerField(allow_null=True)
    validated_ledger_index = serializers.IntegerField(
        help_text="The latest validated ledger: past the transaction's LastLedgerSequence, a "
        "transaction not found can never be applied."
    )
    channel_id = serializers.CharField(
        allow_null=True, help_text="The PayChannel a validated PaymentChannelCreate made."
    )


class WalletTransactionStatusApi(WalletView):
    @extend_schema(
        operation_id="wallet_transaction_status",
        summary="Where a submitted transaction stands (to resume a pending channel)",
        responses={
            200: TransactionStatusOutSerializer,
            **error_responses(400, 401, 403, 404, 503),
        },
    )
    def get(self, request: Request, tx_hash: str) -> Response:
        state = wallet_transaction_status(tx_hash=tx_hash)
        out = TransactionStatusOutSerializer(
            {
                "tx_hash": state.tx_hash,
                "found": state.found,
                "validated": state.validated,
                "result": state.result,
                "ledger_index": state.ledger_index,
                "validated_ledger_index": state.validated_ledger_index,
                "channel_id": state.channel_id,
            }
        )
        return Response(out.data)
