"""Routes of the HTTP API (/api/v1/), and `root_urlpatterns` for the site root.

The lead includes `root_urlpatterns` at "" in paywall/urls.py for /.well-known/jwks.json.
"""

from django.urls import URLPattern, path

from paywall import api
from paywall.api import compliance as compliance_api
from paywall.api.payouts import PublisherBalanceApi, PublisherPayoutListApi
from paywall.api.public import ArticleTeaserListApi
from paywall.api.readers import ClaimKeyRotateApi, RegistrationChallengeApi, UnlockRestoreApi
from paywall.api.wallet import (
    WalletFaucetApi,
    WalletPrepareApi,
    WalletSubmitApi,
    WalletTransactionStatusApi,
)

# Compliance (docs/sdk-protocol.md "Compliance", README "Compliance").
compliance_urlpatterns: list[URLPattern] = [
    path("readers/me/consent", compliance_api.ConsentApi.as_view(), name="paywall-reader-consent"),
    path(
        "readers/me/country",
        compliance_api.CountryConfirmApi.as_view(),
        name="paywall-reader-country",
    ),
    path(
        "readers/me/tax-preview",
        compliance_api.TaxPreviewApi.as_view(),
        name="paywall-reader-tax-preview",
    ),
    path("readers/me/receipts", compliance_api.ReceiptListApi.as_view(), name="paywall-receipts"),
    path(
        "readers/me/receipts/<str:claim>",
        compliance_api.ReceiptDetailApi.as_view(),
        name="paywall-receipt",
    ),
    path(
        "publisher/compliance",
        compliance_api.PublisherCompliancePolicyApi.as_view(),
        name="paywall-publisher-compliance",
    ),
    path("publisher/kyc", compliance_api.PublisherKycApi.as_view(), name="paywall-publisher-kyc"),
    path(
        "publisher/kyc/business",
        compliance_api.PublisherKycBusinessApi.as_view(),
        name="paywall-publisher-kyc-business",
    ),
    path(
        "publisher/kyc/address-proof",
        compliance_api.PublisherKycAddressApi.as_view(),
        name="paywall-publisher-kyc-address",
    ),
]

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
    *compliance_urlpatterns,
]

root_urlpatterns: list[URLPattern] = [
    path(".well-known/jwks.json", api.WellKnownJwksApi.as_view(), name="paywall-well-known-jwks"),
]
