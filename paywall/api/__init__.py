"""The HTTP API's views (thin doors over paywall.services and paywall.selectors)."""

from paywall.api import schema as _schema  # noqa: F401 - registers the auth schemes
from paywall.api.public import ArticleTeaserApi, ConfigApi, JwksApi, WellKnownJwksApi
from paywall.api.publisher import (
    PublisherArticleApi,
    PublisherArticleListApi,
    PublisherExchangeRateApi,
)
from paywall.api.readers import (
    ChannelDetailApi,
    ChannelRegisterApi,
    ContentApi,
    ReaderCreateApi,
    UnlockCreateApi,
)

__all__ = [
    "ArticleTeaserApi",
    "ChannelDetailApi",
    "ChannelRegisterApi",
    "ConfigApi",
    "ContentApi",
    "JwksApi",
    "PublisherArticleApi",
    "PublisherArticleListApi",
    "PublisherExchangeRateApi",
    "ReaderCreateApi",
    "UnlockCreateApi",
    "WellKnownJwksApi",
]
