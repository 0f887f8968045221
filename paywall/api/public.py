"""Endpoints without a credential: the SDK's config, article teasers, the grant JWKS."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, ClassVar

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.keys.services import token_jwks
from paywall import selectors
from paywall.api.base import ApiView, DropsField, error_responses, require_origin, validated
from paywall.models import Article, Publisher
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
    channel_settle_delay_seconds = serializers.IntegerField(
        help_text="SettleDelay of the channels the funding wallet opens."
    )
    channel_cancel_after_days = serializers.IntegerField(
        help_text="Those channels' CancelAfter, in days from the ledger's time when prepared."
    )


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
                "channel_settle_delay_seconds": config.channel_settle_delay_seconds,
                "channel_cancel_after_days": config.channel_cancel_after_days,
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


def teaser_out(publisher: Publisher, article: Article) -> dict[str, Any]:
    """The public teaser of one article: title and price now (null when no rate prices it)."""
    try:
        quote: Quote | None = price_quote(article=article)
    except ExchangeRateUnavailable:
        quote = None
    return dict(
        ArticleTeaserOutSerializer(
            {
                "publisher": publisher.key,
                "article": article.slug,
                "title": article.title,
                "price_drops": quote.drops if quote else None,
                "price_xrp": xrp_text(quote.drops) if quote else None,
                "display_price": display_price(article, quote),
            }
        ).data
    )


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
        return Response(teaser_out(publisher, article))


MAX_TEASER_SLUGS = 100
_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]{1,200}$")


class SlugListField(serializers.CharField):
    """Comma-separated article slugs ("a,b,c"): 1 to MAX_TEASER_SLUGS, each a valid slug.

    Duplicates are kept once, in their first position.
    """

    default_error_messages: ClassVar = {
        "slug": "Each entry must be an article slug (letters, digits, '-' and '_').",
        "count": f"Give from 1 to {MAX_TEASER_SLUGS} slugs.",
    }

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(max_length=MAX_TEASER_SLUGS * 201, trim_whitespace=False, **kwargs)

    def to_internal_value(self, data: Any) -> list[str]:  # type: ignore[override]
        text = super().to_internal_value(data)
        slugs = text.split(",")
        if not 1 <= len(slugs) <= MAX_TEASER_SLUGS:
            self.fail("count")
        if not all(_SLUG_RE.match(slug) for slug in slugs):
            self.fail("slug")
        return list(dict.fromkeys(slugs))


class ArticleTeaserListQuerySerializer(serializers.Serializer):
    slugs = SlugListField(help_text=f"Comma-separated slugs, at most {MAX_TEASER_SLUGS}.")


class ArticleTeaserListOutSerializer(serializers.Serializer):
    publisher = serializers.CharField()
    articles = ArticleTeaserOutSerializer(
        many=True,
        help_text="The known articles among `slugs`, in their order; unknown ones left out.",
    )


class ArticleTeaserListApi(ApiView):
    """All the teasers a page needs in one request (the page script's only call at load)."""

    @extend_schema(
        operation_id="article_teaser_list",
        summary="Teasers and current prices of several articles at once",
        parameters=[
            OpenApiParameter(
                "slugs",
                str,
                OpenApiParameter.QUERY,
                required=True,
                description=f"Comma-separated slugs, 1 to {MAX_TEASER_SLUGS}.",
            )
        ],
        responses={200: ArticleTeaserListOutSerializer, **error_responses(400, 403, 404)},
    )
    def get(self, request: Request, pub: str) -> Response:
        publisher = selectors.publisher_get(key=pub)
        # Before the query is read, so a bad query is still answered with CORS headers.
        require_origin(request, publisher)
        slugs = request.query_params.getlist("slugs")
        data = validated(
            ArticleTeaserListQuerySerializer, {"slugs": slugs[0]} if len(slugs) == 1 else {}
        )
        articles = selectors.article_list_by_slugs(publisher=publisher, slugs=data["slugs"])
        return Response(
            {
                "publisher": publisher.key,
                "articles": [teaser_out(publisher, article) for article in articles],
            }
        )


_JWKS_SCHEMA: dict[str, Any] = {
    "summary": "JSON Web Key Set of the grant-signing keys (EdDSA / Ed25519)",
    "responses": {
        200: inline_serializer(
            "Jwks", fields={"keys": serializers.ListField(child=serializers.DictField())}
        ),
        **error_responses(),
    },
}


class JwksApi(ApiView):
    """Public keys that sign access grants, for publishers' servers to verify them."""

    @property
    def success_cache_control(self) -> str:  # type: ignore[override]
        # Pre-published token keys are in the JWKS for several of these max-ages before they
        # sign (DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS), so a cached copy never misses a kid.
        return f"public, max-age={settings.DROPGATE_JWKS_MAX_AGE_SECONDS}"

    @extend_schema(operation_id="grant_jwks", **_JWKS_SCHEMA)
    def get(self, request: Request) -> Response:
        return Response(token_jwks())


class WellKnownJwksApi(JwksApi):
    """The same key set at /.well-known/jwks.json, under an operation id of its own (one id
    for two paths is a schema error that `check --deploy` reports)."""

    @extend_schema(operation_id="grant_jwks_well_known", **_JWKS_SCHEMA)
    def get(self, request: Request) -> Response:
        return super().get(request)


__all__ = ["ArticleTeaserApi", "ArticleTeaserListApi", "ConfigApi", "JwksApi", "WellKnownJwksApi"]
