"""The publisher API: a publisher's server manages its articles, content and rates.

`Authorization: Bearer dgk_…`. Server to server: no Origin check, and never CORS-enabled.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from paywall import selectors
from paywall.api.base import (
    ApiView,
    DropsField,
    IsPublisher,
    api_key_of,
    error_responses,
    no_cors,
    validated,
)
from paywall.authentication import PublisherKeyAuthentication
from paywall.models import Article
from paywall.services.articles import article_upsert
from paywall.services.pricing import exchange_rate_set
from paywall.throttles import PublisherRateThrottle
from paywall.types import Price


class PublisherView(ApiView):
    authentication_classes = (PublisherKeyAuthentication,)
    permission_classes = (IsPublisher,)
    throttle_classes = (PublisherRateThrottle,)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        no_cors(request)
        super().initial(request, *args, **kwargs)


class ArticleUpsertInSerializer(serializers.Serializer):
    title = serializers.CharField(max_length=300)
    price_drops = DropsField(required=False, help_text="Price in drops, or give price_fiat.")
    price_fiat = serializers.DecimalField(
        max_digits=12,
        decimal_places=4,
        required=False,
        coerce_to_string=True,
        help_text="Price in fiat (converted at unlock time at the current rate, rounded up).",
    )
    price_currency = serializers.RegexField(
        r"^[A-Z]{3}$", required=False, help_text="ISO 4217 code of price_fiat."
    )
    body_html = serializers.CharField(
        required=False,
        trim_whitespace=False,
        allow_blank=True,
        help_text="The paid body. Sanitised on write: scripts, handlers and styles are removed.",
    )


class PublisherArticleOutSerializer(serializers.Serializer):
    article = serializers.CharField(source="slug")
    title = serializers.CharField()
    price_drops = DropsField(allow_null=True)
    price_fiat = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, coerce_to_string=True
    )
    price_currency = serializers.CharField(allow_blank=True)
    has_content = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_has_content(self, article: Article) -> bool:
        return hasattr(article, "content")


class PublisherArticleApi(PublisherView):
    @extend_schema(
        operation_id="publisher_article_upsert",
        summary="Create or replace an article (title, price, and optionally its paid body)",
        request=ArticleUpsertInSerializer,
        responses={
            200: PublisherArticleOutSerializer,
            201: PublisherArticleOutSerializer,
            **error_responses(400, 401, 403, 404, 413, 415),
        },
    )
    def put(self, request: Request, slug: str) -> Response:
        publisher = api_key_of(request).publisher
        data = validated(ArticleUpsertInSerializer, request.data)
        price = Price(
            drops=data.get("price_drops"),
            fiat=data.get("price_fiat"),
            currency=data.get("price_currency", ""),
        )
        result = article_upsert(
            publisher=publisher,
            slug=slug,
            title=data["title"],
            price=price,
            body_html=data.get("body_html"),
        )
        article = selectors.article_get(publisher=publisher, slug=result.article.slug)
        return Response(
            PublisherArticleOutSerializer(article).data,
            status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK,
        )


class PublisherArticleListOutSerializer(serializers.Serializer):
    articles = PublisherArticleOutSerializer(many=True)


class PublisherArticleListApi(PublisherView):
    @extend_schema(
        operation_id="publisher_article_list",
        summary="The publisher's articles",
        responses={200: PublisherArticleListOutSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        articles = selectors.article_list(publisher=api_key_of(request).publisher)
        return Response(PublisherArticleListOutSerializer({"articles": articles}).data)


class ExchangeRateInSerializer(serializers.Serializer):
    rate = serializers.DecimalField(
        max_digits=20, decimal_places=8, help_text='Fiat per 1 XRP, e.g. "0.52".'
    )
    source = serializers.CharField(  # type: ignore[assignment]
        max_length=200, help_text="Where the rate comes from."
    )
    as_of = serializers.DateTimeField(required=False, help_text="Defaults to now.")

    def validate_rate(self, value: Decimal) -> Decimal:
        if value <= 0:
            raise serializers.ValidationError("The rate must be positive.")
        return value


class ExchangeRateOutSerializer(serializers.Serializer):
    currency = serializers.CharField()
    rate = serializers.DecimalField(max_digits=20, decimal_places=8, coerce_to_string=True)
    source = serializers.CharField()  # type: ignore[assignment]
    as_of = serializers.DateTimeField()


class PublisherExchangeRateApi(PublisherView):
    @extend_schema(
        operation_id="publisher_exchange_rate_set",
        summary="Set the publisher's own rate (fiat per XRP) for its fiat-priced articles",
        request=ExchangeRateInSerializer,
        responses={200: ExchangeRateOutSerializer, **error_responses(400, 401, 403, 404, 415)},
    )
    def put(self, request: Request, currency: str) -> Response:
        data = validated(ExchangeRateInSerializer, request.data)
        rate = exchange_rate_set(
            currency=currency,
            rate=data["rate"],
            source=data["source"],
            as_of=data.get("as_of"),
            publisher=api_key_of(request).publisher,
        )
        return Response(ExchangeRateOutSerializer(rate).data)
