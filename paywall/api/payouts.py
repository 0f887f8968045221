"""The publisher's balance and payouts: `GET /api/v1/publisher/balance`, `/publisher/payouts`.

`Authorization: Bearer dgk_…`, like the rest of the publisher API. The numbers come from
channels_app.payouts (the journal, the holdback rule, holds and payouts); drops are strings.
"""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app.payouts.models import Payout
from channels_app.payouts.selectors import publisher_balance, publisher_payouts
from paywall.api.base import DropsField, api_key_of, error_responses, validated
from paywall.api.publisher import PublisherView


class BalanceOutSerializer(serializers.Serializer):
    available_drops = DropsField(low=0, help_text="Paid by the next payout batch.")
    held_drops = DropsField(low=0, help_text="Matured revenue held back by an administrator.")
    pending_drops = DropsField(
        low=0, help_text="Revenue still in the holdback window or not yet redeemed on the ledger."
    )
    paid_drops = DropsField(low=0, help_text="Paid out so far (validated payouts).")
    in_flight_drops = DropsField(low=0, help_text="Payouts and refunds on their way.")
    holdback_cutoff = serializers.DateTimeField(
        help_text="Revenue accepted after this moment is still in the holdback window."
    )


class PublisherBalanceApi(PublisherView):
    @extend_schema(
        operation_id="publisher_balance",
        summary="The publisher's available, held, pending and paid amounts",
        responses={200: BalanceOutSerializer, **error_responses(401, 403)},
    )
    def get(self, request: Request) -> Response:
        balance = publisher_balance(api_key_of(request).publisher.key)
        return Response(
            BalanceOutSerializer(
                {
                    "available_drops": balance.available_drops,
                    "held_drops": balance.held_drops,
                    "pending_drops": max(0, balance.pending_drops),
                    "paid_drops": balance.paid_drops,
                    "in_flight_drops": balance.in_flight_drops,
                    "holdback_cutoff": balance.cutoff,
                }
            ).data
        )


class PayoutOutSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="pk")
    batch = serializers.CharField(source="batch.key")
    amount_drops = DropsField()
    destination = serializers.CharField()
    status = serializers.ChoiceField(
        choices=[
            "queued",
            "awaiting_approval",
            "prepared",
            "submitted",
            "validated",
            "failed",
            "cancelled",
        ]
    )
    tx_hash = serializers.CharField(allow_null=True)
    created_at = serializers.DateTimeField()
    finished_at = serializers.DateTimeField(allow_null=True)


class PayoutListInSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    before = serializers.IntegerField(min_value=1, required=False)


class PayoutListOutSerializer(serializers.Serializer):
    payouts = PayoutOutSerializer(many=True)
    next_before = serializers.IntegerField(
        allow_null=True, help_text="Pass as `before` for the next (older) page; null at the end."
    )


class PublisherPayoutListApi(PublisherView):
    @extend_schema(
        operation_id="publisher_payout_list",
        summary="The publisher's payouts, newest first",
        parameters=[
            OpenApiParameter("limit", int, description="At most this many (1-200, default 50)."),
            OpenApiParameter("before", int, description="Only payouts older than this id."),
        ],
        responses={200: PayoutListOutSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = validated(PayoutListInSerializer, request.query_params)
        limit = query["limit"]
        payouts: list[Payout] = publisher_payouts(
            api_key_of(request).publisher.key, limit=limit + 1, before_id=query.get("before")
        )
        page = payouts[:limit]
        next_before = page[-1].pk if len(payouts) > limit else None
        return Response(PayoutListOutSerializer({"payouts": page, "next_before": next_before}).data)
