"""A publisher's compliance policy: its own blocked countries and its articles' tax category."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from django.db import transaction

from channels_app import clock
from compliance.exceptions import ComplianceError, InvalidCountry
from compliance.geo import is_country
from compliance.models import PublisherPolicy, TaxCategory

__all__ = ["publisher_policy_set"]

MAX_ARTICLE_CATEGORIES = 10_000


@transaction.atomic
def publisher_policy_set(
    *,
    publisher_ref: str,
    actor: str,
    blocked_countries: Sequence[str] | None = None,
    tax_category: str | None = None,
    article_tax_categories: Mapping[str, str] | None = None,
) -> PublisherPolicy:
    """Replace the given parts of the publisher's policy (None leaves a part as it is)."""
    policy, _ = PublisherPolicy.objects.select_for_update().get_or_create(
        publisher_ref=publisher_ref, defaults={"updated_at": clock.now()}
    )
    if blocked_countries is not None:
        codes = sorted({code.strip().upper() for code in blocked_countries})
        bad = [code for code in codes if not is_country(code)]
        if bad:
            raise InvalidCountry(f"Not ISO 3166-1 alpha-2 codes: {', '.join(bad)}.")
        policy.blocked_countries = codes
    categories = set(TaxCategory.values)
    if tax_category is not None:
        if tax_category not in categories:
            raise ComplianceError(f"tax_category must be one of {sorted(categories)}.")
        policy.tax_category = tax_category
    if article_tax_categories is not None:
        if len(article_tax_categories) > MAX_ARTICLE_CATEGORIES:
            raise ComplianceError(f"At most {MAX_ARTICLE_CATEGORIES} article categories.")
        bad = [slug for slug, cat in article_tax_categories.items() if cat not in categories]
        if bad:
            raise ComplianceError(f"Unknown tax category for: {', '.join(sorted(bad)[:10])}.")
        policy.article_tax_categories = dict(article_tax_categories)
    policy.updated_at = clock.now()
    policy.updated_by = actor[:150]
    policy.save()
    return policy
