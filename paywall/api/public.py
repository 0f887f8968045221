"""Endpoints without a credential: the SDK's config, article teasers, the grant JWKS."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.keys.services import token_jwks
from paywall import selectors
from paywall.api.base import ApiView, DropsField, error_responses, require_origin, validated
from paywall.models import Article
from paywall.services.exceptions import ExchangeRateUnavailable
from paywall.services.pricing import price_quote
from paywall.services.publishers import publisher_sdk_config
from paywall.types import Quote

_CENTS = Decimal("0.01")


def decimal_text(value: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros ("0.05", "10")."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def xrp_text(drops: int) -> str:
    return decimal_text(Decimal(drops).scaleb(-6)) if drops else "0"


class PublisherQuerySerializer(serializers.Serializer):
    publisher = serializers.CharField(max_length=64, help_text="The publisher key, pub_…")


class NetworkSerializer(serializers.Serializer):
    kind = serializers.CharField(help_text="`sandbox` or `rippled`.")


class ConfigOutSerializer(serializers.Serializer):
    publisher = serializers.CharField()
    platform_address = serializers.CharField(help_text="Every channel's Destination.")
    destination_tag = serializers.IntegerField(help_text="The channel's DestinationTag.")
    min_settle_delay_seconds = serializers.IntegerField()
    min_channel_drops = DropsField()
    grant_ttl_seconds = serializers.IntegerField()
    network = NetworkSerializer()
    api_base = serializers.CharField()


class ConfigApi(ApiView):
    @extend_schema(
        operation_id="sdk_config",
        summary="What the snippet needs to open a channel for a publisher's site",
        parameters=[
            OpenApiParameter("publisher", str, OpenApiParameter.QUERY, required=True),
        ],
        responses={200: ConfigOutSerializer, **error_responses(400, 403, 404, 503)},
    )
    def get(self, request: Request) -> Response:
        key = request.query_params.get("publisher") or request.headers.get(
            "X-Dropgate-Publisher", ""
        )
        data = validated(PublisherQuerySerializer, {"publisher": key})
        publisher = selectors.publisher_get(key=data["publisher"])
        require_origin(request, publisher)
        config = publisher_sdk_config(publisher=publisher)
        out = ConfigOutSerializer(
            {
                "publisher": publisher.key,
                "platform_address": config.platform_address,
                "destination_tag": config.destination_tag,
                "min_settle_delay_seconds": config.min_settle_delay_seconds,
                "min_channel_drops": config.min_channel_drops,
                "grant_ttl_seconds": config.grant_ttl_seconds,
                "network": config.network,
                "api_base": request.build_absolute_uri(reverse("paywall-config")).removesuffix(
                    "config"
                ),
            }
        )
        return Response(out.data)


class DisplayPriceSerializer(serializers.Serializer):
    amount = serializers.CharField(help_text="Decimal text, e.g. 0.05")
    currency = serializers.CharField(help_text="ISO code, or XRP")
    approximate = serializers.BooleanField(help_text="True when converted at a rate.")
    rate = serializers.CharField(allow_null=True, help_text="Fiat per XRP, if converted.")
    rate_source = serializers.CharField(allow_null=True)
    rate_as_of = serializers.DateTimeField(allow_null=True)


class ArticleTeaserOutSerializer(serializers.Serializer):
    publisher = serializers.CharField()
    article = serializers.CharField(help_text="The slug.")
    title = serializers.CharField()
    price_drops = DropsField(allow_null=True, help_text="Null when no rate prices it now.")
    price_xrp = serializers.CharField(allow_null=True)
    display_price = DisplayPriceSerializer(allow_null=True)


def display_price(article: Article, quote: Quote | None) -> dict[str, Any] | None:
    """The price a reader sees: the fiat list price, else a fiat equivalent, else XRP."""
    if quote is None:
        return None
    if article.price_fiat is not None:
        return {
            "amount": decimal_text(article.price_fiat),
            "currency": article.price_currency,
            "approximate": False,
            "rate": decimal_text(quote.rate) if quote.rate is not None else None,
            "rate_source": quote.rate_source,
            "rate_as_of": quote.rate_as_of,
        }
    if quote.fiat_amount is not None and quote.currency and quote.rate is not None:
        return {
            "amount": decimal_text(quote.fiat_amount.quantize(_CENTS, rounding=ROUND_HALF_UP)),
            "currency": quote.currency,
            "approximate": True,
            "rate": decimal_text(quote.rate),
            "rate_source": quote.rate_source,
            "rate_as_of": quote.rate_as_of,
        }
    return {
        "amount": xrp_text(quote.drops),
        "currency": "XRP",
        "approximate": False,
        "rate": None,
        "rate_source": None,
        "rate_as_of": None,
    }


class ArticleTeaserApi(ApiView):
    @extend_schema(
        operation_id="article_teaser",
        summary="Public teaser information and the current price of an article",
        responses={200: ArticleTeaserOutSerializer, **error_responses(403, 404)},
    )
    def get(self, request: Request, pub: str, slug: str) -> Response:
        publisher = selectors.publisher_get(key=pub)
        require_origin(request, publisher)
        article = selectors.article_get(publisher=publisher, slug=slug)
        try:
            quote: Quote | None = price_quote(article=article)
        except ExchangeRateUnavailable:
            quote = None
        out = ArticleTeaserOutSerializer(
            {
                "publisher": publisher.key,
                "article": article.slug,
                "title": article.title,
                "price_drops": quote.drops if quote else None,
                "price_xrp": xrp_text(quote.drops) if quote else None,
                "display_price": display_price(article, quote),
            }
        )
        return Response(out.data)


class JwksApi(ApiView):
    """Public keys that sign access grants, for publishers' servers to verify them."""

    success_cache_control = "public, max-age=300"

    @extend_schema(
        operation_id="grant_jwks",
        summary="JSON Web Key Set of the grant-signing keys (EdDSA / Ed25519)",
        responses={
            200: inline_serializer(
                "Jwks",
                fields={"keys": serializers.ListField(child=serializers.DictField())},
            ),
            **error_responses(),
        },
    )
    def get(self, request: Request) -> Response:
        return Response(token_jwks())


__all__ = ["ArticleTeaserApi", "ConfigApi", "JwksApi"]
