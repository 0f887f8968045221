"""Routes of the disputes API, included under /api/v1/ by the project's URLs."""

from django.urls import URLPattern, path

from disputes import api

urlpatterns: list[URLPattern] = [
    path("readers/me/disputes", api.ReaderDisputesApi.as_view(), name="disputes-reader"),
    path(
        "readers/me/disputes/<int:dispute_id>",
        api.ReaderDisputeDetailApi.as_view(),
        name="disputes-reader-detail",
    ),
    path(
        "readers/me/disputes/<int:dispute_id>/appeal",
        api.ReaderDisputeAppealApi.as_view(),
        name="disputes-reader-appeal",
    ),
    path(
        "readers/me/key-compromise",
        api.ReaderKeyCompromiseApi.as_view(),
        name="disputes-reader-key-compromise",
    ),
    path("publisher/disputes", api.PublisherDisputeListApi.as_view(), name="disputes-publisher"),
    path(
        "publisher/disputes/<int:dispute_id>/response",
        api.PublisherDisputeResponseApi.as_view(),
        name="disputes-publisher-response",
    ),
    path(
        "publisher/disputes/<int:dispute_id>/appeal",
        api.PublisherDisputeAppealApi.as_view(),
        name="disputes-publisher-appeal",
    ),
]
