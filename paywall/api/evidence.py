"""The location evidence the SDK sends with an unlock (and a tax preview): its serializer and
its value object. Shared by the HTTP API and the reader websocket."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from compliance.types import SubmittedEvidence

__all__ = ["EvidenceInSerializer", "evidence_of"]


class EvidenceInSerializer(serializers.Serializer):
    """Where the reader is, as the SDK knows it. All optional; never an IP (the server has it)."""

    country = serializers.RegexField(
        r"^[A-Za-z]{2}$",
        required=False,
        allow_null=True,
        help_text="The country the reader declared in the frame (ISO 3166-1 alpha-2).",
    )
    region = serializers.RegexField(
        r"^[A-Za-z]{2}-[A-Za-z0-9]{1,3}$",
        required=False,
        allow_null=True,
        help_text="The region the reader declared (ISO 3166-2), e.g. CA-ON or UA-43.",
    )
    timezone = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        help_text="Intl.DateTimeFormat().resolvedOptions().timeZone, e.g. Europe/Berlin.",
    )
    languages = serializers.ListField(
        child=serializers.CharField(max_length=35),
        max_length=5,
        required=False,
        help_text='navigator.languages (at most 5), e.g. ["de-AT", "de"].',
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        country = (attrs.get("country") or "").upper() or None
        region = (attrs.get("region") or "").upper() or None
        if region and country and region[:2] != country:
            raise serializers.ValidationError({"region": ["Not a region of the given country."]})
        attrs["country"], attrs["region"] = country, region
        return attrs


def evidence_of(data: dict[str, Any] | None) -> SubmittedEvidence | None:
    """The SubmittedEvidence of a validated `evidence` object (None when absent)."""
    if not data:
        return None
    return SubmittedEvidence(
        country=data.get("country"),
        region=data.get("region"),
        timezone=data.get("timezone") or None,
        languages=tuple(data.get("languages") or ()),
    )
