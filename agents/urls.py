"""Routes of the agents app, included under /api/v1/."""

from django.urls import URLPattern, path

from agents import api

urlpatterns: list[URLPattern] = [
    path(
        "agents/<str:pub>/articles/<str:slug>",
        api.ArticleMachineApi.as_view(),
        name="agents-article",
    ),
    path(
        "publisher/articles/<str:slug>/agents",
        api.PublisherArticleAgentPolicyApi.as_view(),
        name="agents-publisher-article-policy",
    ),
    path(
        "publisher/crawlers/<str:operator>",
        api.PublisherOperatorPolicyApi.as_view(),
        name="agents-publisher-operator-policy",
    ),
    path(
        "publisher/agent-revenue",
        api.PublisherAgentRevenueApi.as_view(),
        name="agents-publisher-revenue",
    ),
]
