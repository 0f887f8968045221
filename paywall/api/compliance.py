"""Compliance doors of the HTTP API: the reader's consent, country confirmation, tax preview
and receipts (called by the signer frame), and the publisher's compliance policy and KYC.

Each view parses, calls one compliance service or selector, and renders; refusals are
compliance's DropgateErrors with stable codes (docs/sdk-protocol.md, "Compliance").
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.exceptions import NotFound
from compliance import selectors as compliance_selectors
from compliance.models import PublisherKyc, PublisherPolicy
from compliance.services.kyc import kyc_address_prove, kyc_business_submit, kyc_proof_message
from compliance.services.publishers import publisher_policy_set
from compliance.services.readers import (
    consent_give,
    consent_required,
    consent_status,
    country_confirm,
    tax_preview,
)
from paywall import selectors
from paywall.api.base import DropsField, api_key_of, error_responses, reader_of, validated
from paywall.api.evidence import EvidenceInSerializer, evidence_of
from paywall.api.publisher import PublisherView
from paywall.api.readers import ReaderView
from paywall.services.pricing import price_quote
from paywall.throttles import IPRateThrottle

# --- Reader: consent ---------------------------------------------------------------------------


class ConsentInSerializer(serializers.Serializer):
    text_version = serializers.CharField(
        max_length=32, help_text="The version of the consent text the frame showed (from GET)."
    )
    immediate_access = serializers.BooleanField(
        help_text="The reader asked for access to start at once. Must be true."
    )
    withdrawal_right_lost = serializers.BooleanField(
        help_text="The reader acknowledged losing the right of withdrawal. Must be true."
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not (attrs["immediate_access"] and attrs["withdrawal_right_lost"]):
            raise serializers.ValidationError(
                "Both the request and the acknowledgement are needed."
            )
        return attrs


class ConsentOutSerializer(serializers.Serializer):
    text_version = serializers.CharField(help_text="The consent text version in force.")
    given = serializers.BooleanField()
    given_at = serializers.DateTimeField(allow_null=True)
    rule = serializers.CharField()
    # DRF's metaclass pops declared fields off the class, so this does not shadow Field.required.
    required = serializers.BooleanField(  # type: ignore[assignment]
        help_text="Unlocks are refused (428 consent_required) until it is given: the frame asks "
        "before the first paid unlock."
    )


class ConsentApi(ReaderView):
    """EU CRD Art. 16(m): express consent to immediate access, per reader and publisher."""

    @extend_schema(
        operation_id="reader_consent_get",
        summary="The consent text version in force and whether this reader gave it",
        responses={200: ConsentOutSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        reader = reader_of(request)
        version, given = consent_status(
            reader_ref=reader.public_id, publisher_ref=reader.publisher.key
        )
        out = {
            "text_version": version,
            "given": given,
            "given_at": None,
            "rule": _CONSENT,
            "required": consent_required(text_version=version),
        }
        return Response(ConsentOutSerializer(out).data)

    @extend_schema(
        operation_id="reader_consent_give",
        summary="Record the reader's consent to immediate access (and loss of withdrawal right)",
        request=ConsentInSerializer,
        responses={201: ConsentOutSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        reader = reader_of(request)
        data = validated(ConsentInSerializer, request.data)
        record = consent_give(
            reader_ref=reader.public_id,
            publisher_ref=reader.publisher.key,
            text_version=data["text_version"],
        )
        out = {
            "text_version": record.text_version,
            "given": True,
            "given_at": record.at,
            "rule": record.rule_id,
            "required": consent_required(text_version=record.text_version),
        }
        return Response(ConsentOutSerializer(out).data, status=status.HTTP_201_CREATED)


_CONSENT = "consumer.eu.crd_immediate_access"


# --- Reader: country confirmation and tax preview ---------------------------------------------


class CountryConfirmInSerializer(serializers.Serializer):
    country = serializers.RegexField(r"^[A-Za-z]{2}$", help_text="ISO 3166-1 alpha-2.")
    region = serializers.RegexField(
        r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$",
        required=False,
        allow_null=True,
        help_text="ISO 3166-2, where the rate depends on it (e.g. CA-ON).",
    )


class CountryConfirmOutSerializer(serializers.Serializer):
    country = serializers.CharField()
    region = serializers.CharField(allow_blank=True)
    confirmed_at = serializers.DateTimeField()


class CountryConfirmApi(ReaderView):
    @extend_schema(
        operation_id="reader_country_confirm",
        summary="The reader's answer to country_confirmation_required (recorded)",
        request=CountryConfirmInSerializer,
        responses={201: CountryConfirmOutSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        reader = reader_of(request)
        data = validated(CountryConfirmInSerializer, request.data)
        record = country_confirm(
            reader_ref=reader.public_id,
            publisher_ref=reader.publisher.key,
            country=data["country"],
            region=data.get("region"),
        )
        out = {"country": record.country, "region": record.region, "confirmed_at": record.at}
        return Response(CountryConfirmOutSerializer(out).data, status=status.HTTP_201_CREATED)


class TaxPreviewInSerializer(serializers.Serializer):
    article = serializers.SlugField(max_length=200)
    evidence = EvidenceInSerializer(required=False, allow_null=True)


class VatOutSerializer(serializers.Serializer):
    country = serializers.CharField()
    category = serializers.CharField()
    rate_percent = serializers.DecimalField(max_digits=7, decimal_places=3, coerce_to_string=True)
    net_drops = DropsField(low=0)
    tax_drops = DropsField(low=0)
    scheme = serializers.CharField()


class TaxPreviewOutSerializer(serializers.Serializer):
    article = serializers.CharField()
    price_drops = DropsField(help_text="The price, tax included.")
    decision = serializers.CharField(help_text="allow, block or confirm_country.")
    country = serializers.CharField(allow_null=True)
    candidates = serializers.ListField(child=serializers.CharField())
    vat = VatOutSerializer(allow_null=True, help_text="null where no tax is collected.")
    rules = serializers.ListField(child=serializers.CharField())


class TaxPreviewApi(ReaderView):
    @extend_schema(
        operation_id="reader_tax_preview",
        summary="What an unlock would be decided and taxed now (price with tax); charges nothing",
        request=TaxPreviewInSerializer,
        responses={200: TaxPreviewOutSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def post(self, request: Request) -> Response:
        reader = reader_of(request)
        data = validated(TaxPreviewInSerializer, request.data)
        article = selectors.article_get(publisher=reader.publisher, slug=data["article"])
        quote = price_quote(article=article)
        decision = tax_preview(
            reader_ref=reader.public_id,
            publisher_ref=reader.publisher.key,
            article_ref=article.slug,
            amount_drops=int(quote.drops),
            evidence=evidence_of(data.get("evidence")),
            client_ip=IPRateThrottle().get_ident(request),
        )
        vat = decision.vat
        out = {
            "article": article.slug,
            "price_drops": int(quote.drops),
            "decision": decision.decision,
            "country": decision.country,
            "candidates": list(decision.candidates),
            "vat": None
            if vat is None
            else {
                "country": vat.country,
                "category": vat.category,
                "rate_percent": vat.rate_percent,
                "net_drops": vat.net_drops,
                "tax_drops": vat.tax_drops,
                "scheme": vat.scheme,
            },
            "rules": list(decision.rules),
        }
        return Response(TaxPreviewOutSerializer(out).data)


# --- Reader: receipts --------------------------------------------------------------------------


class ReceiptOutSerializer(serializers.Serializer):
    receipt_id = serializers.IntegerField(source="pk")
    publisher = serializers.CharField(source="publisher_ref")
    article = serializers.CharField(source="article_ref")
    time = serializers.DateTimeField(source="at")
    price_drops = DropsField(low=0, source="gross_drops", help_text="Paid, tax included.")
    net_drops = DropsField(low=0)
    tax_drops = DropsField(low=0)
    tax_rate_percent = serializers.DecimalField(
        source="rate_percent",
        max_digits=7,
        decimal_places=3,
        allow_null=True,
        coerce_to_string=True,
    )
    tax_country = serializers.CharField(source="country", allow_blank=True)
    tax_scheme = serializers.CharField(source="scheme", allow_blank=True)
    claim_reference = serializers.CharField()
    claim_id = serializers.IntegerField()


class ReceiptListOutSerializer(serializers.Serializer):
    receipts = ReceiptOutSerializer(many=True)


class ReceiptListApi(ReaderView):
    @extend_schema(
        operation_id="reader_receipts",
        summary="The reader's receipts, newest first (price, tax, publisher, time, claim)",
        parameters=[
            OpenApiParameter(
                "before",
                str,
                OpenApiParameter.QUERY,
                required=False,
                pattern=r"^[0-9]{1,18}$",
                description="Receipts older than this receipt id (the next page).",
            )
        ],
        responses={200: ReceiptListOutSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        reader = reader_of(request)
        before = request.query_params.get("before", "")
        if before and not (before.isascii() and before.isdigit() and len(before) <= 18):
            raise ValidationError({"before": ["A receipt id: up to 18 decimal digits."]})
        rows = compliance_selectors.receipts_of_reader(
            reader.public_id, before_id=int(before) if before else None
        )
        return Response(ReceiptListOutSerializer({"receipts": rows}).data)


class ReceiptDetailApi(ReaderView):
    @extend_schema(
        operation_id="reader_receipt",
        summary="One receipt, by claim reference or claim id",
        responses={200: ReceiptOutSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, claim: str) -> Response:
        reader = reader_of(request)
        row = compliance_selectors.receipt_of_reader(reader.public_id, claim)
        if row is None:
            raise NotFound("No such receipt.", code="receipt_not_found")
        return Response(ReceiptOutSerializer(row).data)


# --- Publisher: policy and KYC -----------------------------------------------------------------


class PolicySerializer(serializers.Serializer):
    blocked_countries = serializers.ListField(
        child=serializers.RegexField(r"^[A-Za-z]{2}$"),
        max_length=250,
        required=False,
        help_text="Countries this publisher does not sell to (ISO 3166-1), besides the rulebook's.",
    )
    tax_category = serializers.ChoiceField(
        choices=["standard", "e_publication"],
        required=False,
        help_text="The VAT category of the publisher's articles.",
    )
    article_tax_categories = serializers.DictField(
        child=serializers.ChoiceField(choices=["standard", "e_publication"]),
        required=False,
        help_text="Exceptions by article slug.",
    )


def _policy_out(row: PublisherPolicy | None) -> dict[str, Any]:
    if row is None:
        return {"blocked_countries": [], "tax_category": "standard", "article_tax_categories": {}}
    return {
        "blocked_countries": list(row.blocked_countries),
        "tax_category": row.tax_category,
        "article_tax_categories": dict(row.article_tax_categories),
    }


class PublisherCompliancePolicyApi(PublisherView):
    @extend_schema(
        operation_id="publisher_compliance_policy_get",
        summary="The publisher's blocked countries and tax categories",
        responses={200: PolicySerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        key = api_key_of(request).publisher.key
        return Response(_policy_out(PublisherPolicy.objects.filter(publisher_ref=key).first()))

    @extend_schema(
        operation_id="publisher_compliance_policy_set",
        summary="Set the publisher's blocked countries and tax categories (parts given replace)",
        request=PolicySerializer,
        responses={200: PolicySerializer, **error_responses(400, 401, 403, 415)},
    )
    def put(self, request: Request) -> Response:
        publisher = api_key_of(request).publisher
        data = validated(PolicySerializer, request.data)
        row = publisher_policy_set(
            publisher_ref=publisher.key,
            actor=f"api:{api_key_of(request).prefix}",
            blocked_countries=data.get("blocked_countries"),
            tax_category=data.get("tax_category"),
            article_tax_categories=data.get("article_tax_categories"),
        )
        return Response(_policy_out(row))


class KycOutSerializer(serializers.Serializer):
    tier = serializers.IntegerField()
    legal_name = serializers.CharField(allow_blank=True)
    country = serializers.CharField(allow_blank=True)
    vat_id = serializers.CharField(allow_blank=True)
    payout_address = serializers.CharField(allow_blank=True)
    address_kind = serializers.CharField()
    address_proven_at = serializers.DateTimeField(allow_null=True)
    proof_message_hex = serializers.CharField(
        help_text="For the publisher's current payout address: the bytes its key must sign."
    )


def _kyc_out(
    row: PublisherKyc | None, *, publisher_ref: str, payout_address: str
) -> dict[str, Any]:
    message = (
        kyc_proof_message(publisher_ref=publisher_ref, address=payout_address).hex().upper()
        if payout_address
        else ""
    )
    return {
        "tier": row.tier if row else 0,
        "legal_name": row.legal_name if row else "",
        "country": row.country if row else "",
        "vat_id": row.vat_id if row else "",
        "payout_address": row.payout_address if row else "",
        "address_kind": row.address_kind if row else PublisherKyc.AddressKind.SELF_HOSTED,
        "address_proven_at": row.address_proven_at if row else None,
        "proof_message_hex": message,
    }


class KycBusinessInSerializer(serializers.Serializer):
    legal_name = serializers.CharField(max_length=200)
    address = serializers.CharField(max_length=2000)
    country = serializers.RegexField(r"^[A-Za-z]{2}$")
    vat_id = serializers.CharField(max_length=40, help_text="Validated offline (python-stdnum).")


class KycAddressInSerializer(serializers.Serializer):
    address = serializers.CharField(max_length=40, help_text="The payout address (r…).")
    public_key = serializers.CharField(max_length=66, help_text="Its key (66 hex digits).")
    signature = serializers.CharField(
        max_length=300,
        help_text="Hex signature over proof_message_hex's bytes, as a claim is signed.",
    )
    address_kind = serializers.ChoiceField(
        choices=["self_hosted", "custodial"], default="self_hosted"
    )
    custodian_name = serializers.CharField(max_length=200, required=False, allow_blank=True)


class PublisherKycApi(PublisherView):
    @extend_schema(
        operation_id="publisher_kyc_get",
        summary="The publisher's KYC tier and the message its payout address must sign",
        responses={200: KycOutSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        publisher = api_key_of(request).publisher
        row = PublisherKyc.objects.filter(publisher_ref=publisher.key).first()
        return Response(
            _kyc_out(row, publisher_ref=publisher.key, payout_address=publisher.payout_address)
        )


class PublisherKycBusinessApi(PublisherView):
    @extend_schema(
        operation_id="publisher_kyc_business",
        summary="Submit business details (tier 1; the VAT id is validated offline)",
        request=KycBusinessInSerializer,
        responses={200: KycOutSerializer, **error_responses(400, 401, 403, 415, 422)},
    )
    def post(self, request: Request) -> Response:
        publisher = api_key_of(request).publisher
        data = validated(KycBusinessInSerializer, request.data)
        row = kyc_business_submit(
            publisher_ref=publisher.key,
            legal_name=data["legal_name"],
            address=data["address"],
            country=data["country"],
            vat_id=data["vat_id"],
            actor=f"api:{api_key_of(request).prefix}",
        )
        return Response(
            _kyc_out(row, publisher_ref=publisher.key, payout_address=publisher.payout_address)
        )


class PublisherKycAddressApi(PublisherView):
    @extend_schema(
        operation_id="publisher_kyc_address_proof",
        summary="Prove control of the payout address with a signature by its key (tier 2)",
        request=KycAddressInSerializer,
        responses={200: KycOutSerializer, **error_responses(400, 401, 403, 415, 422)},
    )
    def post(self, request: Request) -> Response:
        publisher = api_key_of(request).publisher
        data = validated(KycAddressInSerializer, request.data)
        row = kyc_address_prove(
            publisher_ref=publisher.key,
            address=data["address"],
            public_key=data["public_key"],
            signature=data["signature"],
            address_kind=data["address_kind"],
            custodian_name=data.get("custodian_name", ""),
            actor=f"api:{api_key_of(request).prefix}",
        )
        return Response(
            _kyc_out(row, publisher_ref=publisher.key, payout_address=publisher.payout_address)
        )


__all__ = [
    "ConsentApi",
    "CountryConfirmApi",
    "PublisherCompliancePolicyApi",
    "PublisherKycAddressApi",
    "PublisherKycApi",
    "PublisherKycBusinessApi",
    "ReceiptDetailApi",
    "ReceiptListApi",
    "TaxPreviewApi",
]
