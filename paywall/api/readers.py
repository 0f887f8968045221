"""Reader-facing endpoints: called by the snippet from the publisher's pages (Origin checked)."""

from __future__ import annotations

from typing import Any, NoReturn

from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from channels_app import clock
from channels_app.types import ChannelSnapshot
from paywall import selectors
from paywall.api.base import (
    ApiView,
    BearerGrantPresent,
    ClaimAmountField,
    DropsField,
    IsReader,
    error_responses,
    reader_of,
    require_origin,
    validated,
)
from paywall.api.evidence import EvidenceInSerializer, evidence_of
from paywall.authentication import BearerGrant, GrantAuthentication, ReaderAuthentication
from paywall.models import Publisher
from paywall.services.channels import reader_channel_register
from paywall.services.content import content_for_grant
from paywall.services.exceptions import PublisherMismatch
from paywall.services.readers import (
    REGISTRATION_CHALLENGE_TTL_SECONDS,
    reader_claim_key_rotate,
    reader_create,
    reader_registration_challenge,
)
from paywall.services.unlocks import MAX_RESTORE_ARTICLES, unlock_article, unlocks_restore
from paywall.throttles import IPRateThrottle, ReaderRateThrottle
from paywall.types import SubmittedClaim

PUBLISHER_HEADER = "X-Dropgate-Publisher"


class ReaderView(ApiView):
    """A reader's own request: `Authorization: Reader rdt_…`, from one of its site's origins."""

    authentication_classes = (ReaderAuthentication,)
    permission_classes = (IsReader,)
    throttle_classes = (ReaderRateThrottle, IPRateThrottle)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        require_origin(request, reader_of(request).publisher)


# --- Readers ---------------------------------------------------------------------------------


def _publisher_of_request(request: Request, body_key: str = "") -> Publisher:
    """The publisher named by the X-Dropgate-Publisher header or `body_key`, origin-checked."""
    header_key = request.headers.get(PUBLISHER_HEADER, "")
    if header_key and body_key and body_key != header_key:
        raise PublisherMismatch("The body and the header name different publishers.")
    key = header_key or body_key
    if not key:
        raise exceptions.ValidationError(
            {"publisher": [f"Give the publisher in {PUBLISHER_HEADER} or the body."]}
        )
    publisher = selectors.publisher_get(key=key)
    require_origin(request, publisher)
    return publisher


class RegistrationChallengeOutSerializer(serializers.Serializer):
    publisher = serializers.CharField()
    challenge = serializers.CharField(
        help_text="rch_…: sign the registration message over it; it works once."
    )
    expires_at = serializers.DateTimeField()
    expires_in = serializers.IntegerField(help_text="Seconds the challenge can still be used.")


class RegistrationChallengeApi(ApiView):
    """A fresh challenge for registering one reader (stateless to issue; single use)."""

    @extend_schema(
        operation_id="reader_registration_challenge",
        summary="A single-use challenge the claim key signs to register a reader",
        parameters=[
            OpenApiParameter(PUBLISHER_HEADER, str, OpenApiParameter.HEADER),
            OpenApiParameter("publisher", str, OpenApiParameter.QUERY),
        ],
        responses={200: RegistrationChallengeOutSerializer, **error_responses(400, 403, 404)},
        description=(
            f"Valid for {REGISTRATION_CHALLENGE_TTL_SECONDS} seconds, for this publisher only, "
            "for one reader. Never cached."
        ),
    )
    def get(self, request: Request) -> Response:
        query_key = request.query_params.get("publisher", "")
        if len(query_key) > 64:
            raise exceptions.ValidationError({"publisher": ["Too long."]})
        publisher = _publisher_of_request(request, query_key)
        issued = reader_registration_challenge(publisher=publisher)
        remaining = int((issued.expires_at - clock.now()).total_seconds())
        out = RegistrationChallengeOutSerializer(
            {
                "publisher": issued.publisher_key,
                "challenge": issued.challenge,
                "expires_at": issued.expires_at,
                "expires_in": max(0, min(remaining, REGISTRATION_CHALLENGE_TTL_SECONDS)),
            }
        )
        return Response(out.data)


class ReaderCreateInSerializer(serializers.Serializer):
    publisher = serializers.CharField(
        max_length=64, required=False, help_text=f"pub_…, if not in the {PUBLISHER_HEADER} header."
    )
    claim_public_key = serializers.CharField(
        max_length=200,
        trim_whitespace=False,
        help_text="The claim key: 66 hex digits starting ED (Ed25519), 02 or 03 (secp256k1).",
    )
    challenge = serializers.CharField(
        max_length=128,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text="From GET /api/v1/readers/challenge (required; a missing one is "
        "400 `claim_key_proof_required`).",
    )
    proof = serializers.CharField(
        max_length=1024,
        required=False,
        allow_blank=True,
        trim_whitespace=False,
        help_text=(
            "Hex signature by the claim key over `DGREG\\0` ‖ ASCII publisher key ‖ `\\0` ‖ "
            "ASCII challenge ‖ `\\0` ‖ the key's 33 bytes (signed as a claim is: Ed25519 over "
            "the bytes, secp256k1 DER over their SHA-512Half)."
        ),
    )


class ReaderCreateOutSerializer(serializers.Serializer):
    reader_id = serializers.CharField(help_text="Pseudonymous id, rdr_…")
    reader_token = serializers.CharField(help_text="Bearer secret, rdt_…; shown only once.")
    publisher = serializers.CharField()


class ReaderCreateApi(ApiView):
    @extend_schema(
        operation_id="reader_create",
        summary="Register a pseudonymous reader of a publisher's site with its claim key",
        parameters=[OpenApiParameter(PUBLISHER_HEADER, str, OpenApiParameter.HEADER)],
        request=ReaderCreateInSerializer,
        responses={
            201: ReaderCreateOutSerializer,
            **error_responses(400, 403, 404, 409, 415, 422, 503),
        },
        description=(
            "The claim key proves itself: `proof` signs the registration message over a "
            "`challenge` from GET /api/v1/readers/challenge. Errors: 400 "
            "`claim_key_proof_required`, 422 `claim_key_proof_invalid`, "
            "`registration_challenge_invalid` or `registration_challenge_expired`, 409 "
            "`registration_challenge_used`, 503 `registration_unavailable`."
        ),
    )
    def post(self, request: Request) -> Response:
        header_key = request.headers.get(PUBLISHER_HEADER, "")
        if header_key:
            # Known before the body is read, so even a bad body is answered with CORS headers.
            _publisher_of_request(request)
        data = validated(ReaderCreateInSerializer, request.data)
        publisher = _publisher_of_request(request, data.get("publisher", ""))
        issued = reader_create(
            publisher=publisher,
            claim_public_key=data["claim_public_key"],
            challenge=data.get("challenge", ""),
            proof_signature=data.get("proof", ""),
        )
        out = ReaderCreateOutSerializer(
            {
                "reader_id": issued.reader.public_id,
                "reader_token": issued.token,
                "publisher": publisher.key,
            }
        )
        return Response(out.data, status=status.HTTP_201_CREATED)


class ClaimKeyRotateInSerializer(serializers.Serializer):
    public_key = serializers.CharField(
        max_length=200,
        trim_whitespace=False,
        help_text="The new claim key: 66 hex digits starting ED (Ed25519), 02 or 03 (secp256k1).",
    )
    proof = serializers.CharField(
        max_length=1024,
        trim_whitespace=False,
        help_text=(
            "Hex signature by the new key over `DGROT\\0` ‖ ASCII reader id ‖ `\\0` ‖ the new "
            "key's 33 bytes (signed as a claim is: secp256k1 over SHA-512Half, DER)."
        ),
    )


class ClaimKeyRotateOutSerializer(serializers.Serializer):
    reader_id = serializers.CharField()
    claim_public_key = serializers.CharField(help_text="The reader's claim key from now on.")
    previous_public_key = serializers.CharField(help_text="The key rotated out.")
    rotated_at = serializers.DateTimeField()
    closing_channels = serializers.ListField(
        child=serializers.CharField(),
        help_text="The old key's channels being settled and closed; claims on them are refused.",
    )


class ClaimKeyRotateApi(ReaderView):
    """Rotate the reader's claim key: the old key's channels are settled and closed."""

    @extend_schema(
        operation_id="reader_claim_key_rotate",
        summary="Replace the reader's claim key (proven by the new key); retire its channels",
        request=ClaimKeyRotateInSerializer,
        responses={
            200: ClaimKeyRotateOutSerializer,
            201: ClaimKeyRotateOutSerializer,
            **error_responses(400, 401, 403, 409, 415, 422),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ClaimKeyRotateInSerializer, request.data)
        result = reader_claim_key_rotate(
            reader=reader_of(request),
            new_public_key=data["public_key"],
            proof_signature=data["proof"],
        )
        rotation = result.rotation
        out = ClaimKeyRotateOutSerializer(
            {
                "reader_id": reader_of(request).public_id,
                "claim_public_key": rotation.new_public_key,
                "previous_public_key": rotation.old_public_key,
                "rotated_at": rotation.at,
                "closing_channels": rotation.old_channel_ids,
            }
        )
        return Response(
            out.data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


# --- Channels --------------------------------------------------------------------------------


class ChannelRegisterInSerializer(serializers.Serializer):
    channel_id = serializers.CharField(max_length=200, help_text="64 hex digits.")


class ChannelOutSerializer(serializers.Serializer):
    channel_id = serializers.CharField()
    status = serializers.CharField(help_text="open, closing or closed.")
    funded_drops = DropsField(low=0, help_text="What the channel holds in total.")
    accepted_drops = DropsField(low=0, help_text="Spent: the highest accepted claim.")
    remaining_drops = DropsField(low=0, help_text="Funded minus spent.")
    redeemed_drops = DropsField(low=0, help_text="Already paid out on the ledger.")
    settle_delay = serializers.IntegerField()
    expiration = serializers.DateTimeField(allow_null=True)
    cancel_after = serializers.DateTimeField(allow_null=True)
    source_address = serializers.CharField()


def channel_out(snapshot: ChannelSnapshot) -> dict[str, Any]:
    return dict(
        ChannelOutSerializer(
            {
                "channel_id": snapshot.channel_id,
                "status": snapshot.status,
                "funded_drops": snapshot.amount_drops,
                "accepted_drops": snapshot.accepted_drops,
                "remaining_drops": snapshot.remaining_drops,
                "redeemed_drops": snapshot.ledger_balance_drops,
                "settle_delay": snapshot.settle_delay,
                "expiration": snapshot.expiration,
                "cancel_after": snapshot.cancel_after,
                "source_address": snapshot.source_address,
            }
        ).data
    )


class ChannelRegisterApi(ReaderView):
    @extend_schema(
        operation_id="channel_register",
        summary="Register the reader's payment channel (read from the validated ledger)",
        request=ChannelRegisterInSerializer,
        responses={
            200: ChannelOutSerializer,
            **error_responses(400, 401, 403, 409, 422, 503),
        },
    )
    def post(self, request: Request) -> Response:
        data = validated(ChannelRegisterInSerializer, request.data)
        snapshot = reader_channel_register(reader=reader_of(request), channel_id=data["channel_id"])
        return Response(channel_out(snapshot))


class ChannelDetailApi(ReaderView):
    @extend_schema(
        operation_id="channel_detail",
        summary="One of the reader's own channels: funded, spent, remaining, status",
        responses={200: ChannelOutSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, channel_id: str) -> Response:
        snapshot = selectors.reader_channel_get(reader=reader_of(request), channel_id=channel_id)
        return Response(channel_out(snapshot))


# --- Unlocks ---------------------------------------------------------------------------------


class ClaimInSerializer(serializers.Serializer):
    channel_id = serializers.CharField(max_length=200, trim_whitespace=False)
    amount_drops = ClaimAmountField(
        help_text="Cumulative amount of the channel in drops (integer or decimal string)."
    )
    signature = serializers.CharField(max_length=1024, trim_whitespace=False)


class UnlockInSerializer(serializers.Serializer):
    publisher = serializers.CharField(max_length=64, required=False)
    article = serializers.SlugField(max_length=200, help_text="The article's slug.")
    claim = ClaimInSerializer(required=False, allow_null=True)
    telemetry_session = serializers.RegexField(
        r"^(tls_[A-Za-z0-9_-]{22,36})?$",
        required=False,
        allow_null=True,
        allow_blank=True,
        help_text=(
            "The page's telemetry session (tls_…). The SDK always sends it, empty when the page "
            "has no telemetry socket; leaving it out (or null) means an agent paying over HTTP."
        ),
    )
    evidence = EvidenceInSerializer(
        required=False,
        allow_null=True,
        help_text="Where the reader is, as the SDK knows it (compliance: location and tax).",
    )


class UnlockOutSerializer(serializers.Serializer):
    article = serializers.CharField()
    grant = serializers.CharField(help_text="Access grant (EdDSA JWT) for the content URL.")
    grant_expires_at = serializers.DateTimeField()
    amount_drops = DropsField(low=0, help_text="Charged by this call; 0 on a re-entry.")
    content_url = serializers.CharField()


class UnlockCreateApi(ReaderView):
    @extend_schema(
        operation_id="unlock_create",
        summary="Pay for an article with a signed claim (or re-enter a paid one) and get a grant",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                description="Repeat a request safely: the first result's amount is returned.",
            )
        ],
        request=UnlockInSerializer,
        responses={
            200: UnlockOutSerializer,
            201: UnlockOutSerializer,
            **error_responses(400, 401, 402, 403, 404, 409, 422, 503),
        },
    )
    def post(self, request: Request) -> Response:
        reader = reader_of(request)
        data = validated(UnlockInSerializer, request.data)
        if data.get("publisher") and data["publisher"] != reader.publisher.key:
            raise PublisherMismatch()
        article = selectors.article_get(publisher=reader.publisher, slug=data["article"])
        claim_data = data.get("claim")
        claim = SubmittedClaim(**claim_data) if claim_data else None
        result = unlock_article(
            reader=reader,
            article=article,
            claim=claim,
            idempotency_key=request.headers.get("Idempotency-Key", "").strip(),
            telemetry_session=data.get("telemetry_session"),
            user_agent=request.headers.get("User-Agent", "")[:512],
            client_ip=IPRateThrottle().get_ident(request),
            evidence=evidence_of(data.get("evidence")),
        )
        content_path = reverse(
            "paywall-content", kwargs={"pub": reader.publisher.key, "slug": article.slug}
        )
        out = UnlockOutSerializer(
            {
                "article": article.slug,
                "grant": result.grant.token,
                "grant_expires_at": result.grant.expires_at,
                "amount_drops": result.amount_drops,
                "content_url": request.build_absolute_uri(content_path),
            }
        )
        return Response(
            out.data, status=status.HTTP_201_CREATED if result.created else status.HTTP_200_OK
        )


class StrictSlugField(serializers.SlugField):
    """A slug given as a JSON string (DRF would otherwise take the number 1 as "1")."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            self.fail("invalid")
        return str(super().to_internal_value(data))


class UnlockRestoreInSerializer(serializers.Serializer):
    articles = serializers.ListField(
        child=StrictSlugField(max_length=200),
        max_length=MAX_RESTORE_ARTICLES,
        allow_empty=True,
        help_text=f"Slugs of the page's articles, at most {MAX_RESTORE_ARTICLES}.",
    )


class RestoredUnlockOutSerializer(serializers.Serializer):
    article = serializers.CharField()
    grant = serializers.CharField(help_text="Access grant (EdDSA JWT) for the content URL.")
    grant_expires_at = serializers.DateTimeField()
    content_url = serializers.CharField()


class UnlockRestoreOutSerializer(serializers.Serializer):
    unlocked = RestoredUnlockOutSerializer(
        many=True, help_text="The articles among those asked for that this reader has paid for."
    )


class UnlockRestoreApi(ReaderView):
    """A returning reader's page: grants for every article on it that the reader paid before.

    Charges nothing and takes no claim; articles not paid for (or unknown) are left out.
    """

    @extend_schema(
        operation_id="unlock_restore",
        summary="Grants for the articles this reader has already paid for (no charge)",
        request=UnlockRestoreInSerializer,
        responses={200: UnlockRestoreOutSerializer, **error_responses(400, 401, 403, 415)},
    )
    def post(self, request: Request) -> Response:
        reader = reader_of(request)
        data = validated(UnlockRestoreInSerializer, request.data)
        results = unlocks_restore(reader=reader, slugs=data["articles"])
        unlocked = [
            {
                "article": result.article.slug,
                "grant": result.grant.token,
                "grant_expires_at": result.grant.expires_at,
                "content_url": request.build_absolute_uri(
                    reverse(
                        "paywall-content",
                        kwargs={"pub": reader.publisher.key, "slug": result.article.slug},
                    )
                ),
            }
            for result in results
        ]
        return Response(UnlockRestoreOutSerializer({"unlocked": unlocked}).data)


# --- Content ---------------------------------------------------------------------------------


class ContentOutSerializer(serializers.Serializer):
    article = serializers.CharField()
    title = serializers.CharField()
    html = serializers.CharField(help_text="Sanitised HTML, safe to insert into the page.")


class ContentApi(ApiView):
    """The paid body, for `Authorization: Bearer <grant>`. Never cached by anyone."""

    authentication_classes = (GrantAuthentication,)
    permission_classes = (BearerGrantPresent,)

    @extend_schema(
        operation_id="content_get",
        summary="The paid article body, for a valid access grant",
        responses={200: ContentOutSerializer, **error_responses(401, 403, 404)},
    )
    def get(self, request: Request, pub: str, slug: str) -> Response:
        publisher = selectors.publisher_get(key=pub)
        require_origin(request, publisher)
        grant = request.auth
        assert isinstance(grant, BearerGrant)  # guaranteed by BearerGrantPresent
        content = content_for_grant(publisher_key=pub, article_slug=slug, grant_token=grant.token)
        out = ContentOutSerializer(
            {"article": content.article_slug, "title": content.title, "html": content.html}
        )
        return Response(out.data)

    def permission_denied(
        self, request: Request, message: str | None = None, code: str | None = None
    ) -> NoReturn:
        raise exceptions.NotAuthenticated(
            "An access grant is required: Authorization: Bearer <grant>.", code="grant_required"
        )
