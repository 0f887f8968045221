"""Routes of the HTTP API (/api/v1/), and `root_urlpatterns` for the site root.

The lead includes `root_urlpatterns` at "" in paywall/urls.py for /.well-known/jwks.json.
"""

from django.urls import URLPattern, path

from paywall import api
from paywall.api.payouts import PublisherBalanceApi, PublisherPayoutListApi
from paywall.api.public import ArticleTeaserListApi
from paywall.api.readers import ClaimKeyRotateApi, RegistrationChallengeApi, UnlockRestoreApi
from paywall.api.wallet import (
    WalletFaucetApi,
    WalletPrepareApi,
    WalletSubmitApi,
    WalletTransactionStatusApi,
)

urlpatterns: list[URLPattern] = [
    path("config", api.ConfigApi.as_view(), name="paywall-config"),
    path(
        "publishers/<str:pub>/articles",
        ArticleTeaserListApi.as_view(),
        name="paywall-article-teasers",
    ),
    path(
        "publishers/<str:pub>/articles/<slug:slug>",
        api.ArticleTeaserApi.as_view(),
        name="paywall-article-teaser",
    ),
    path("readers", api.ReaderCreateApi.as_view(), name="paywall-readers"),
    path(
        "readers/challenge",
        RegistrationChallengeApi.as_view(),
        name="paywall-reader-challenge",
    ),
    path("readers/me/claim-key", ClaimKeyRotateApi.as_view(), name="paywall-reader-claim-key"),
    path("channels", api.ChannelRegisterApi.as_view(), name="paywall-channels"),
    path(
        "channels/<str:channel_id>", api.ChannelDetailApi.as_view(), name="paywall-channel-detail"
    ),
    path("unlocks", api.UnlockCreateApi.as_view(), name="paywall-unlocks"),
    path("unlocks/restore", UnlockRestoreApi.as_view(), name="paywall-unlocks-restore"),
    path("content/<str:pub>/<slug:slug>", api.ContentApi.as_view(), name="paywall-content"),
    path("wallet/faucet", WalletFaucetApi.as_view(), name="paywall-wallet-faucet"),
    path("wallet/prepare", WalletPrepareApi.as_view(), name="paywall-wallet-prepare"),
    path("wallet/submit", WalletSubmitApi.as_view(), name="paywall-wallet-submit"),
    path(
        "wallet/transactions/<str:tx_hash>",
        WalletTransactionStatusApi.as_view(),
        name="paywall-wallet-transaction",
    ),
    path("jwks.json", api.JwksApi.as_view(), name="paywall-jwks"),
    path(
        "publisher/articles",
        api.PublisherArticleListApi.as_view(),
        name="paywall-publisher-articles",
    ),
    path(
        "publisher/articles/<slug:slug>",
        api.PublisherArticleApi.as_view(),
        name="paywall-publisher-article",
    ),
    path("publisher/balance", PublisherBalanceApi.as_view(), name="paywall-publisher-balance"),
    path("publisher/payouts", PublisherPayoutListApi.as_view(), name="paywall-publisher-payouts"),
    path(
        "publisher/exchange-rates/<str:currency>",
        api.PublisherExchangeRateApi.as_view(),
        name="paywall-publisher-exchange-rate",
    ),
]

root_urlpatterns: list[URLPattern] = [
    path(".well-known/jwks.json", api.JwksApi.as_view(), name="paywall-well-known-jwks"),
]
