"""Publishers' choices about agents: per article (may agents buy, at what price) and per
verified crawler operator (allow at a price, or refuse)."""

from __future__ import annotations

from django.db import transaction

from agents.models import ArticleAgentPolicy, CrawlerOperator, OperatorPolicy
from channels_app.exceptions import NotFound
from paywall import selectors
from paywall.models import Publisher


@transaction.atomic
def article_agent_policy_set(
    *, publisher: Publisher, slug: str, access: str, price_drops: int | None
) -> ArticleAgentPolicy:
    """Set the agent policy of the publisher's own article `slug` (ArticleNotFound)."""
    article = selectors.article_get(publisher=publisher, slug=slug)
    policy, _ = ArticleAgentPolicy.objects.update_or_create(
        article=article, defaults={"access": access, "price_drops": price_drops}
    )
    return policy


@transaction.atomic
def operator_policy_set(
    *, publisher: Publisher, operator_name: str, access: str, price_drops: int | None
) -> OperatorPolicy:
    """Set the publisher's decision about a known operator (404 operator_not_found)."""
    operator = CrawlerOperator.objects.filter(name=operator_name).first()
    if operator is None:
        raise NotFound("No such crawler operator.", code="operator_not_found")
    policy, _ = OperatorPolicy.objects.update_or_create(
        publisher=publisher,
        operator=operator,
        defaults={"access": access, "price_drops": price_drops},
    )
    return policy
