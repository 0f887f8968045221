"""The disputes HTTP API (thin doors over disputes.services and disputes.selectors).

Readers (`Authorization: Reader rdt_…`, from one of their site's origins, like the rest of the
reader API): file and list their disputes, appeal a decision, report a compromised claim key.
Publishers (`Authorization: Bearer dgk_…`, server to server): list their disputes, answer
one (accept = refund now, or contest with a statement), appeal a decision.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, ClassVar

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_field
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from disputes import selectors
from disputes.models import (
    MAX_MESSAGE_CHARS,
    MAX_STATEMENT_CHARS,
    Dispute,
    DisputeReason,
    DisputeStatus,
)
from disputes.services.appeals import dispute_appeal
from disputes.services.compromise import MAX_NOTE_CHARS, key_compromise_report
from disputes.services.filing import dispute_file
from disputes.services.responses import dispute_respond
from paywall.api.base import DropsField, api_key_of, error_responses, reader_of, validated
from paywall.api.publisher import PublisherView
from paywall.api.readers import ReaderView

# --- Output ----------------------------------------------------------------------------------


class RefundOutSerializer(serializers.Serializer):
    amount_drops = DropsField()
    mode = serializers.ChoiceField(choices=["credit", "ledger"])
    status = serializers.CharField(help_text="credited, or the ledger payment's state.")
    tx_hash = serializers.CharField(allow_null=True)


class DisputeOutSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    unlock = serializers.IntegerField(help_text="The unlock's id.")
    article = serializers.CharField(help_text="The unlocked article's slug.")
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    dispute_class = serializers.CharField(help_text="technical, content or fraud.")
    status = serializers.ChoiceField(choices=DisputeStatus.choices)
    outcome = serializers.ChoiceField(
        choices=["reader", "publisher"], allow_null=True, help_text="Who won; null while open."
    )
    tier = serializers.IntegerField(help_text="1 automatic, 2 admin review, 3 outside arbitrator.")
    amount_drops = DropsField(help_text="What the unlock charged.")
    due_by = serializers.DateTimeField(allow_null=True, help_text="Deadline of the current stage.")
    filed_at = serializers.DateTimeField()
    decided_at = serializers.DateTimeField(allow_null=True)
    decided_by = serializers.CharField(
        allow_null=True, help_text="auto, sla, publisher or reviewer:<name>."
    )
    reasons = serializers.ListField(child=serializers.CharField())
    refund = RefundOutSerializer(allow_null=True)
    appeals = serializers.IntegerField(help_text="Appeals filed so far (one per side at most).")
    appeal_until = serializers.DateTimeField(
        allow_null=True, help_text="The loser may appeal until then."
    )


class PublisherDisputeOutSerializer(DisputeOutSerializer):
    reader = serializers.CharField(help_text="The reader's pseudonymous id.")
    message = serializers.CharField(allow_blank=True)
    publisher_statement = serializers.CharField(allow_blank=True)


def dispute_out(dispute: Dispute, *, for_publisher: bool = False) -> dict[str, Any]:
    refund = dispute.refund
    appeal_until = (
        dispute.decided_at + timedelta(days=int(settings.DROPGATE_DISPUTE_APPEAL_DAYS))
        if dispute.decided_at is not None
        else None
    )
    data: dict[str, Any] = {
        "id": dispute.pk,
        "unlock": dispute.unlock_id,
        "article": dispute.unlock.article.slug,
        "reason": dispute.reason,
        "dispute_class": dispute.dispute_class,
        "status": dispute.status,
        "outcome": dispute.winner,
        "tier": dispute.tier,
        "amount_drops": dispute.amount_drops,
        "due_by": dispute.due_by,
        "filed_at": dispute.filed_at,
        "decided_at": dispute.decided_at,
        "decided_by": dispute.decided_by or None,
        "reasons": list(dispute.reasons),
        "refund": (
            {
                "amount_drops": refund.amount_drops,
                "mode": refund.mode,
                "status": refund.status,
                "tx_hash": refund.tx_hash or None,
            }
            if refund is not None
            else None
        ),
        "appeals": getattr(dispute, "appeal_count", None) or dispute.appeals.count(),
        "appeal_until": appeal_until,
    }
    if for_publisher:
        data.update(
            reader=dispute.reader.public_id,
            message=dispute.message,
            publisher_statement=dispute.publisher_statement,
        )
        return dict(PublisherDisputeOutSerializer(data).data)
    return dict(DisputeOutSerializer(data).data)


class DisputeListOutSerializer(serializers.Serializer):
    disputes = DisputeOutSerializer(many=True)
    next_before = serializers.IntegerField(
        allow_null=True, help_text="Pass as `before` for the next (older) page; null at the end."
    )


class PublisherDisputeListOutSerializer(serializers.Serializer):
    disputes = PublisherDisputeOutSerializer(many=True)
    next_before = serializers.IntegerField(allow_null=True)


class ListInSerializer(serializers.Serializer):
    limit = serializers.IntegerField(min_value=1, max_value=200, default=50)
    before = serializers.IntegerField(min_value=1, required=False)


class PublisherListInSerializer(ListInSerializer):
    status = serializers.ChoiceField(choices=DisputeStatus.choices, required=False)


# --- Input -----------------------------------------------------------------------------------


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "minimum": 1, "description": "The unlock's id."},
            {"type": "string", "description": "The unlocked article's slug."},
        ]
    }
)
class UnlockRefField(serializers.Field):
    """An unlock, by id (a JSON integer) or by its article's slug (a JSON string)."""

    default_error_messages: ClassVar = {
        "invalid": "unlock must be the unlock's id (an integer) or the article's slug (a string)."
    }

    def to_internal_value(self, data: Any) -> int | str:
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int) and data >= 1:
            return data
        if isinstance(data, str) and 0 < len(data) <= 200 and data.strip() == data:
            return data
        self.fail("invalid")

    def to_representation(self, value: int | str) -> int | str:
        return value


class DisputeFileInSerializer(serializers.Serializer):
    unlock = UnlockRefField()
    reason = serializers.ChoiceField(choices=DisputeReason.choices)
    message = serializers.CharField(
        max_length=MAX_MESSAGE_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )


class AppealInSerializer(serializers.Serializer):
    message = serializers.CharField(
        max_length=MAX_MESSAGE_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )


class ResponseInSerializer(serializers.Serializer):
    accept = serializers.BooleanField(
        help_text="true: refund the reader now; false: contest (with a statement)."
    )
    statement = serializers.CharField(
        max_length=MAX_STATEMENT_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )


class KeyCompromiseInSerializer(serializers.Serializer):
    note = serializers.CharField(
        max_length=MAX_NOTE_CHARS, required=False, allow_blank=True, trim_whitespace=False
    )


class KeyCompromiseOutSerializer(serializers.Serializer):
    public_key = serializers.CharField(help_text="The claim key reported as compromised.")
    reported_at = serializers.DateTimeField()


def _page(items: list[Dispute], limit: int) -> tuple[list[Dispute], int | None]:
    page = items[:limit]
    return page, (page[-1].pk if len(items) > limit else None)


# --- Reader ----------------------------------------------------------------------------------


class ReaderDisputesApi(ReaderView):
    @extend_schema(
        operation_id="reader_dispute_list",
        summary="The reader's disputes: status, outcome and refund, newest first",
        parameters=[
            OpenApiParameter("limit", int, description="At most this many (1-200, default 50)."),
            OpenApiParameter("before", int, description="Only disputes older than this id."),
        ],
        responses={200: DisputeListOutSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = validated(ListInSerializer, request.query_params)
        items = selectors.reader_disputes(
            reader=reader_of(request), limit=query["limit"] + 1, before_id=query.get("before")
        )
        page, next_before = _page(items, query["limit"])
        return Response({"disputes": [dispute_out(d) for d in page], "next_before": next_before})

    @extend_schema(
        operation_id="reader_dispute_file",
        summary="Dispute the charge of one of the reader's unlocks",
        description=(
            "Decided at once when the rules agree (tier 1); otherwise it goes to the publisher "
            "(content disputes) or to review. 404 `unlock_not_found` (not the reader's unlock), "
            "409 `dispute_exists`, 422 `dispute_window_closed`."
        ),
        request=DisputeFileInSerializer,
        responses={201: DisputeOutSerializer, **error_responses(400, 401, 403, 404, 409, 415, 422)},
    )
    def post(self, request: Request) -> Response:
        data = validated(DisputeFileInSerializer, request.data)
        dispute = dispute_file(
            reader=reader_of(request),
            unlock=data["unlock"],
            reason=data["reason"],
            message=data.get("message", ""),
        )
        return Response(dispute_out(dispute), status=status.HTTP_201_CREATED)


class ReaderDisputeDetailApi(ReaderView):
    @extend_schema(
        operation_id="reader_dispute_detail",
        summary="One of the reader's disputes",
        responses={200: DisputeOutSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, dispute_id: int) -> Response:
        return Response(
            dispute_out(
                selectors.reader_dispute_get(reader=reader_of(request), dispute_id=dispute_id)
            )
        )


class ReaderDisputeAppealApi(ReaderView):
    @extend_schema(
        operation_id="reader_dispute_appeal",
        summary="Appeal the decision of one of the reader's disputes (once)",
        request=AppealInSerializer,
        responses={200: DisputeOutSerializer, **error_responses(400, 401, 403, 404, 409, 422)},
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        data = validated(AppealInSerializer, request.data)
        reader = reader_of(request)
        dispute = dispute_appeal(
            dispute_id=dispute_id, side="reader", message=data.get("message", ""), reader=reader
        )
        return Response(
            dispute_out(selectors.reader_dispute_get(reader=reader, dispute_id=dispute.pk))
        )


class ReaderKeyCompromiseApi(ReaderView):
    @extend_schema(
        operation_id="reader_key_compromise_report",
        summary="Report the reader's claim key as compromised (then replace it)",
        description=(
            "Unauthorized charges under this key after the report are decided for the reader "
            "if disputed. Replace the key with POST /api/v1/readers/me/claim-key."
        ),
        request=KeyCompromiseInSerializer,
        responses={201: KeyCompromiseOutSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        data = validated(KeyCompromiseInSerializer, request.data)
        report = key_compromise_report(reader=reader_of(request), note=data.get("note", ""))
        out = KeyCompromiseOutSerializer(
            {"public_key": report.public_key, "reported_at": report.reported_at}
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


# --- Publisher -------------------------------------------------------------------------------


class PublisherDisputeListApi(PublisherView):
    @extend_schema(
        operation_id="publisher_dispute_list",
        summary="Disputes of the publisher's unlocks, newest first",
        parameters=[
            OpenApiParameter("status", str, description="Only this status (e.g. needs_response)."),
            OpenApiParameter("limit", int, description="At most this many (1-200, default 50)."),
            OpenApiParameter("before", int, description="Only disputes older than this id."),
        ],
        responses={200: PublisherDisputeListOutSerializer, **error_responses(400, 401, 403)},
    )
    def get(self, request: Request) -> Response:
        query = validated(PublisherListInSerializer, request.query_params)
        items = selectors.publisher_disputes(
            publisher=api_key_of(request).publisher,
            status=query.get("status"),
            limit=query["limit"] + 1,
            before_id=query.get("before"),
        )
        page, next_before = _page(items, query["limit"])
        return Response(
            {
                "disputes": [dispute_out(d, for_publisher=True) for d in page],
                "next_before": next_before,
            }
        )


class PublisherDisputeResponseApi(PublisherView):
    @extend_schema(
        operation_id="publisher_dispute_respond",
        summary="Answer a dispute: accept (refund the reader now) or contest with a statement",
        request=ResponseInSerializer,
        responses={200: PublisherDisputeOutSerializer, **error_responses(400, 401, 403, 404, 409)},
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        data = validated(ResponseInSerializer, request.data)
        publisher = api_key_of(request).publisher
        dispute = dispute_respond(
            publisher=publisher,
            dispute_id=dispute_id,
            accept=data["accept"],
            statement=data.get("statement", ""),
        )
        found = selectors.publisher_dispute_get(publisher=publisher, dispute_id=dispute.pk)
        return Response(dispute_out(found, for_publisher=True))


class PublisherDisputeAppealApi(PublisherView):
    @extend_schema(
        operation_id="publisher_dispute_appeal",
        summary="Appeal the decision of a dispute (once)",
        request=AppealInSerializer,
        responses={
            200: PublisherDisputeOutSerializer,
            **error_responses(400, 401, 403, 404, 409, 422),
        },
    )
    def post(self, request: Request, dispute_id: int) -> Response:
        data = validated(AppealInSerializer, request.data)
        publisher = api_key_of(request).publisher
        dispute = dispute_appeal(
            dispute_id=dispute_id,
            side="publisher",
            message=data.get("message", ""),
            publisher=publisher,
        )
        found = selectors.publisher_dispute_get(publisher=publisher, dispute_id=dispute.pk)
        return Response(dispute_out(found, for_publisher=True))
