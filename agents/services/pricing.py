"""What an agent pays for an article, and whether it may buy at all."""

from __future__ import annotations

from agents.exceptions import AgentsRefused, OperatorRefused
from agents.models import AgentAccess, ArticleAgentPolicy, OperatorPolicy
from agents.types import AgentPrice, Buyer
from paywall.models import Article
from paywall.services.pricing import price_quote
from paywall.types import Drops


def _article_price(article: Article) -> AgentPrice:
    """The article's own price in drops. A drops price needs no rate (price_quote would look
    one up only for the fiat equivalent, which an agent sale does not record)."""
    if article.price_drops is not None:
        return AgentPrice(drops=Drops(article.price_drops), basis="article")
    return AgentPrice(drops=price_quote(article=article).drops, basis="article")


def agent_price(*, article: Article, buyer: Buyer) -> AgentPrice:
    """The buyer's price for `article`, from the most specific rule:

    1. a verified operator's policy at the article's publisher (refuse: OperatorRefused);
    2. the article's agent policy (refuse: AgentsRefused, for every agent and operator
       without an explicit allow of its own);
    3. the article's own price (a fiat price converted at the current rate).
    """
    policy = ArticleAgentPolicy.objects.filter(article=article).first()
    if buyer.operator_id is not None:
        operator_policy = OperatorPolicy.objects.filter(
            publisher_id=article.publisher_id, operator_id=buyer.operator_id
        ).first()
        if operator_policy is not None:
            if operator_policy.access == AgentAccess.REFUSE:
                raise OperatorRefused()
            if operator_policy.price_drops is not None:
                return AgentPrice(drops=Drops(operator_policy.price_drops), basis="operator_policy")
            if policy is not None and policy.price_drops is not None:
                return AgentPrice(drops=Drops(policy.price_drops), basis="agent_policy")
            return _article_price(article)
    if policy is not None and policy.access == AgentAccess.REFUSE:
        raise AgentsRefused()
    if policy is not None and policy.price_drops is not None:
        return AgentPrice(drops=Drops(policy.price_drops), basis="agent_policy")
    return _article_price(article)
