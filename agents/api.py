"""Doors of the agents app: the machine URL of each article (x402 version 2), and the
publisher's agent policy per article and per crawler operator. Parse, call one service, map."""

from __future__ import annotations

import base64
import json
from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from agents.services import policies
from agents.services.botauth import buyer_identify
from agents.services.purchase import X402Required, agent_purchase
from agents.throttles import AgentRateThrottle
from channels_app.client_address import client_address_of_meta
from paywall.api.base import ApiView, api_key_of, error_responses, no_cors
from paywall.api.publisher import PublisherView
from paywall.errors import error_body

PAYMENT_REQUIRED_HEADER = "PAYMENT-REQUIRED"
PAYMENT_SIGNATURE_HEADER = "PAYMENT-SIGNATURE"
PAYMENT_RESPONSE_HEADER = "PAYMENT-RESPONSE"


def _b64_json(value: dict[str, Any]) -> str:
    return base64.b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


class ArticleMachineApi(ApiView):
    """GET an article as an agent. Unpaid: 402 with PAYMENT-REQUIRED (and the same object in
    the body, beside the error). Paid in PAYMENT-SIGNATURE: 200 with PAYMENT-RESPONSE."""

    throttle_classes = (AgentRateThrottle,)

    @extend_schema(
        operation_id="agents_article_get",
        responses={200: dict, 402: dict, **error_responses(400, 401, 404, 409, 422)},
    )
    def get(self, request: Request, pub: str, slug: str) -> Response:
        no_cors(request)
        buyer = buyer_identify(
            method=request.method or "GET",
            url=request.build_absolute_uri(),
            headers=dict(request.headers),
            client_ip=client_address_of_meta(request.META),
        )
        resource_url = request.build_absolute_uri(request.path)
        try:
            sale = agent_purchase(
                publisher_key=pub,
                slug=slug,
                buyer=buyer,
                payment_header=request.headers.get(PAYMENT_SIGNATURE_HEADER),
                resource_url=resource_url,
            )
        except X402Required as required:
            body = dict(required.offer.payment_required)
            body["error"] = error_body(required.code, required.message)["error"]
            header = dict(required.offer.payment_required)
            header["error"] = required.code
            return Response(body, status=402, headers={PAYMENT_REQUIRED_HEADER: _b64_json(header)})
        response = Response(
            {
                "article": slug,
                "title": sale.title,
                "body_html": sale.content_html,
                "scheme": sale.scheme,
                "amount_drops": str(sale.amount_drops),
            }
        )
        response[PAYMENT_RESPONSE_HEADER] = _b64_json(sale.payment_response)
        return response


class ArticleAgentPolicyIn(serializers.Serializer):
    access = serializers.ChoiceField(choices=["allow", "refuse"])
    price_drops = serializers.IntegerField(min_value=1, max_value=10**17, allow_null=True)


class ArticleAgentPolicyOut(serializers.Serializer):
    article = serializers.CharField()
    access = serializers.CharField()
    price_drops = serializers.CharField(allow_null=True)
    machine_url = serializers.CharField()


class PublisherArticleAgentPolicyApi(PublisherView):
    """PUT whether agents may buy an article and at what price (null: the article's price)."""

    @extend_schema(
        request=ArticleAgentPolicyIn,
        responses={200: ArticleAgentPolicyOut, **error_responses(400, 401, 404)},
    )
    def put(self, request: Request, slug: str) -> Response:
        data = ArticleAgentPolicyIn(data=request.data)
        data.is_valid(raise_exception=True)
        policy = policies.article_agent_policy_set(
            publisher=api_key_of(request).publisher,
            slug=slug,
            access=data.validated_data["access"],
            price_drops=data.validated_data["price_drops"],
        )
        return Response(
            ArticleAgentPolicyOut(
                {
                    "article": slug,
                    "access": policy.access,
                    "price_drops": None if policy.price_drops is None else str(policy.price_drops),
                    "machine_url": request.build_absolute_uri(
                        f"/api/v1/agents/{api_key_of(request).publisher.key}/articles/{slug}"
                    ),
                }
            ).data
        )


class OperatorPolicyIn(serializers.Serializer):
    access = serializers.ChoiceField(choices=["allow", "refuse"])
    price_drops = serializers.IntegerField(min_value=1, max_value=10**17, allow_null=True)


class PublisherOperatorPolicyApi(PublisherView):
    """PUT the publisher's decision about a verified crawler operator: allow (at a price) or refuse."""

    @extend_schema(
        request=OperatorPolicyIn, responses={200: dict, **error_responses(400, 401, 404)}
    )
    def put(self, request: Request, operator: str) -> Response:
        data = OperatorPolicyIn(data=request.data)
        data.is_valid(raise_exception=True)
        policy = policies.operator_policy_set(
            publisher=api_key_of(request).publisher,
            operator_name=operator,
            access=data.validated_data["access"],
            price_drops=data.validated_data["price_drops"],
        )
        return Response(
            {
                "operator": operator,
                "access": policy.access,
                "price_drops": None if policy.price_drops is None else str(policy.price_drops),
            }
        )


class PublisherAgentRevenueApi(PublisherView):
    """GET the publisher's agent revenue, apart from readers': by scheme and by operator."""

    @extend_schema(responses={200: dict, **error_responses(401)})
    def get(self, request: Request) -> Response:
        from agents.selectors import agent_revenue

        return Response(agent_revenue(publisher=api_key_of(request).publisher))
