"""Dropgate settings: one module, driven by environment variables with safe defaults.

Every variable read here is listed in the README. The embedded default (no variables set)
is SQLite in WAL mode, the in-memory channel layer, Celery on kombu's filesystem transport
and the sandbox ledger. Production sets DATABASE_URL, REDIS_URL, CELERY_BROKER_URL, XRPL_URL.
"""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str) -> str:
    return os.environ.get(name, default)


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw in (None, ""):
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(env_str("DROPGATE_DATA_DIR", str(BASE_DIR / "var")))
DATA_DIR.mkdir(parents=True, exist_ok=True)


def _persistent_secret(filename: str) -> str:
    """A random secret kept under DATA_DIR, so a fresh machine is safe without configuration."""
    path = DATA_DIR / filename
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY") or _persistent_secret("django_secret_key")


def _default_secrets_dir() -> Path:
    """Where generated keys live when no variable names them: the user's config dir, apart
    from the data dir, so a copy or backup of the database never carries its key with it."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(config) / "dropgate" / "secrets"


def _instance_id() -> str:
    """A random, non-secret name for this data dir; it travels with the data dir when it moves,
    and names the data dir's key-encryption key in the secrets dir."""
    path = DATA_DIR / "instance_id"
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(16))
    return path.read_text().strip()


def _write_secret(path: Path, value: str) -> None:
    """Create `path` (0600) holding `value`, in a 0700 directory; never overwrite a file."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return  # another process made it first: theirs is the one every process reads
    with os.fdopen(fd, "w") as handle:
        handle.write(value)
        handle.flush()
        os.fsync(handle.fileno())


def _kek() -> str:
    """The key-encryption key when DROPGATE_KEK is not set: `kek-<instance id>` in the secrets
    dir. A `kek` left in the data dir by an older version is moved there (the keys sealed under
    it stay readable). A new one is generated only in the sandbox mode; anywhere else a missing
    key is a configuration error, never a silent new key that cannot open the stored ones."""
    path = DROPGATE_SECRETS_DIR / f"kek-{_instance_id()}"
    legacy = DATA_DIR / "kek"
    if not path.exists() and legacy.exists():
        _write_secret(path, legacy.read_text().strip())
        if path.read_text().strip() == legacy.read_text().strip():
            legacy.unlink()
    if not path.exists():
        if not DROPGATE_SANDBOX_MODE:
            raise ImproperlyConfigured(
                "DROPGATE_KEK is not set and there is no key-encryption key in "
                f"{DROPGATE_SECRETS_DIR}. Outside the sandbox none is generated: set DROPGATE_KEK "
                "to the same random value (e.g. `openssl rand -base64 48`) in every process, and "
                "back it up apart from the database."
            )
        _write_secret(path, secrets.token_urlsafe(48))
    return path.read_text().strip()


DEBUG = env_bool("DJANGO_DEBUG", False)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1],testserver")
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "ops.admin_apps.DropgateAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "channels",
    "django_celery_beat",
    "channels_app",
    "channels_app.payouts",
    "fraud",
    "disputes",
    "compliance",
    "paywall",
    "ops",
    "agents",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "paywall.errors.DatabaseUnavailableMiddleware",
    "paywall.middleware.ApiRequestGuardMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # corsheaders' CorsMiddleware, run in a thread: its per-publisher check reads the database.
    "paywall.cors.PublisherCorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "paywall.urls"
ASGI_APPLICATION = "paywall.asgi.application"
WSGI_APPLICATION = None

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{DATA_DIR / 'dropgate.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=0)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Several processes (web, worker, beat) share the file: WAL, IMMEDIATE transactions so a
    # writer takes the lock up front instead of failing on upgrade, and a generous busy timeout.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA busy_timeout=30000;",
    }
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "test_dropgate.sqlite3")}
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # A bounded pool per process: no connect per request, and never more connections than
    # the server allows (an exhausted pool waits, then fails with a 503, not a 500).
    DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
        "min_size": 1,
        "max_size": env_int("DATABASE_POOL_MAX_SIZE", 8),
        "timeout": float(env_str("DATABASE_POOL_TIMEOUT_SECONDS", "5")),
    }
    # A pooled connection is checked as it is handed out: after PostgreSQL restarts, the
    # connections it cut are replaced instead of failing the next requests.
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, channel layer --------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL]},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- Celery ----------------------------------------------------------------------------------
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS: dict[str, object] = {}
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = DATA_DIR / "celery-broker"
    for sub in ("queue", "processed", "control"):
        (_broker_dir / sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    "settle-due-channels": {
        "task": "channels_app.tasks.settle_due_channels",
        "schedule": float(env_int("DROPGATE_SETTLEMENT_SWEEP_SECONDS", 60)),
    },
    "payout-batch": {
        "task": "paywall.tasks.run_payout_batch",
        "schedule": float(env_int("DROPGATE_PAYOUT_BATCH_SECONDS", 86_400)),
    },
    "sweep-hot-float": {
        "task": "channels_app.payouts.tasks.sweep_hot_float",
        "schedule": float(env_int("DROPGATE_SWEEP_SECONDS", 300)),
    },
    "resolve-payouts": {
        "task": "channels_app.payouts.tasks.resolve_payouts",
        "schedule": float(env_int("DROPGATE_PAYOUT_RESOLVE_SECONDS", 60)),
    },
    "watchtower-scan": {
        "task": "channels_app.tasks.watchtower_scan",
        "schedule": float(env_int("DROPGATE_WATCHTOWER_SCAN_SECONDS", 5)),
    },
    "keys-rotate-due": {
        "task": "channels_app.keys.tasks.keys_rotate_due",
        "schedule": float(env_int("DROPGATE_KEY_ROTATION_CHECK_SECONDS", 3600)),
    },
}
# Task modules outside an app's own tasks.py (autodiscovery only finds `<app>.tasks`).
CELERY_IMPORTS = ("channels_app.keys.tasks",)

# --- Ledger and money policy -----------------------------------------------------------------
XRPL_URL = env_str("XRPL_URL", "http://127.0.0.1:5006/")
# "sandbox" or "rippled". Only decides defaults, never the ledger code path. The embedded default
# (no XRPL_URL) is the sandbox; naming a ledger URL means a real rippled unless XRPL_LEDGER_KIND
# says "sandbox", so a deployment never gets the sandbox's conveniences by omission.
XRPL_LEDGER_KIND = env_str(
    "XRPL_LEDGER_KIND", "rippled" if os.environ.get("XRPL_URL") else "sandbox"
)
if XRPL_LEDGER_KIND not in ("sandbox", "rippled"):
    raise ImproperlyConfigured("XRPL_LEDGER_KIND must be 'sandbox' or 'rippled'.")
# The explicit demo/sandbox mode: the reader faucet is on by default, and a key-encryption key
# may be generated on first use (below). Never a guess from what the ledger answers.
DROPGATE_SANDBOX_MODE = XRPL_LEDGER_KIND == "sandbox"
XRPL_TIMEOUT_SECONDS = float(env_str("XRPL_TIMEOUT_SECONDS", "5"))
DROPGATE_FAUCET_ENABLED = env_bool("DROPGATE_FAUCET_ENABLED", DROPGATE_SANDBOX_MODE)
# The sandbox ledger's NetworkID (rippled's [network_id]). 1 by default: the public XRPL x402
# clients speak only xrpl:0, xrpl:1 and xrpl:2, and the sandbox is a test network.
XRPL_SANDBOX_NETWORK_ID = env_int("XRPL_SANDBOX_NETWORK_ID", 1)
# The NetworkID agents are told to pay on (`xrpl:<id>`). Blank: what the ledger's server_info
# reports, read once and cached.
XRPL_NETWORK_ID = env_str("XRPL_NETWORK_ID", "")
# Whether the vault may be spent by signer keys the server holds (`payout_approve`: the admin's
# "Approve as signer N"). A convenience of the sandbox and the demo only: with it off (the
# default outside sandbox mode) the vault's SignerList must name offline approvers
# (vault_custody_migrate), so a server compromise alone cannot move vault funds.
DROPGATE_VAULT_SERVER_SIGNERS = env_bool("DROPGATE_VAULT_SERVER_SIGNERS", DROPGATE_SANDBOX_MODE)
# The standalone genesis seed: public knowledge, only ever used when the faucet is enabled.
DROPGATE_FAUCET_SEED = env_str("DROPGATE_FAUCET_SEED", "snoPBrXtMeMyMHUVTgbuqAfg1SUTb")
# Give the settlement account a regular key and disable its master key at bootstrap.
DROPGATE_HARDEN_SETTLEMENT_ACCOUNT = env_bool("DROPGATE_HARDEN_SETTLEMENT_ACCOUNT", True)
DROPGATE_MIN_SETTLE_DELAY_SECONDS = env_int("DROPGATE_MIN_SETTLE_DELAY_SECONDS", 3600)
DROPGATE_MIN_CHANNEL_DROPS = env_int("DROPGATE_MIN_CHANNEL_DROPS", 1_000_000)
DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS = env_int("DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS", 600)
DROPGATE_SETTLEMENT_THRESHOLD_DROPS = env_int("DROPGATE_SETTLEMENT_THRESHOLD_DROPS", 5_000_000)
# Agents over HTTP 402 (agents app). How long an x402 requirement (its price and invoice) holds;
# how many ledgers ahead an `exact` blob's LastLedgerSequence may be; how long a request waits
# for its Payment to be validated before answering 503 payment_pending; the poll interval.
DROPGATE_AGENT_QUOTE_SECONDS = env_int("DROPGATE_AGENT_QUOTE_SECONDS", 120)
DROPGATE_AGENT_MAX_LEDGER_WINDOW = env_int("DROPGATE_AGENT_MAX_LEDGER_WINDOW", 60)
DROPGATE_AGENT_SETTLE_TIMEOUT_SECONDS = float(
    env_str("DROPGATE_AGENT_SETTLE_TIMEOUT_SECONDS", "20")
)
DROPGATE_AGENT_POLL_SECONDS = float(env_str("DROPGATE_AGENT_POLL_SECONDS", "0.05"))
# Web Bot Auth: how far a signature's `created` may lie in the past or future.
DROPGATE_BOT_AUTH_MAX_AGE_SECONDS = env_int("DROPGATE_BOT_AUTH_MAX_AGE_SECONDS", 300)
DROPGATE_SETTLEMENT_WAIT_SECONDS = float(env_str("DROPGATE_SETTLEMENT_WAIT_SECONDS", "10"))
DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS = env_int("DROPGATE_WATCHTOWER_ALERT_MARGIN_SECONDS", 120)
DROPGATE_PLATFORM_FEE_BPS = env_int("DROPGATE_PLATFORM_FEE_BPS", 1000)
DROPGATE_GRANT_TTL_SECONDS = env_int("DROPGATE_GRANT_TTL_SECONDS", 300)
# Keystore: the software keystore encrypts keys at rest under this key-encryption key. Never
# beside the database: DROPGATE_KEK, else a file in DROPGATE_SECRETS_DIR (see _kek).
DROPGATE_SECRETS_DIR = Path(env_str("DROPGATE_SECRETS_DIR", str(_default_secrets_dir())))
DROPGATE_KEK = os.environ.get("DROPGATE_KEK") or _kek()
# Where new platform keys are made: "software" (sealed under DROPGATE_KEK) or "pkcs11" (an HSM
# through this PKCS#11 module, token and user PIN; SoftHSM2 by default).
DROPGATE_KEYSTORE = env_str("DROPGATE_KEYSTORE", "software")
if DROPGATE_KEYSTORE not in ("software", "pkcs11"):
    raise ImproperlyConfigured("DROPGATE_KEYSTORE must be 'software' or 'pkcs11'.")
DROPGATE_PKCS11_MODULE = env_str("DROPGATE_PKCS11_MODULE", "/usr/lib/softhsm/libsofthsm2.so")
DROPGATE_PKCS11_TOKEN_LABEL = env_str("DROPGATE_PKCS11_TOKEN_LABEL", "dropgate")
DROPGATE_PKCS11_PIN = env_str("DROPGATE_PKCS11_PIN", "")
# A rotated token-signing key stays in the JWKS and verifies for this long; at least a grant's TTL.
DROPGATE_KEY_OVERLAP_SECONDS = env_int("DROPGATE_KEY_OVERLAP_SECONDS", 900)
if DROPGATE_KEY_OVERLAP_SECONDS < DROPGATE_GRANT_TTL_SECONDS:
    raise ImproperlyConfigured(
        "DROPGATE_KEY_OVERLAP_SECONDS must be at least DROPGATE_GRANT_TTL_SECONDS."
    )
# Scheduled rotation: keys older than this are replaced by the keys-rotate-due beat task (0: never).
DROPGATE_SETTLEMENT_KEY_MAX_AGE_DAYS = env_int("DROPGATE_SETTLEMENT_KEY_MAX_AGE_DAYS", 90)
DROPGATE_TOKEN_KEY_MAX_AGE_DAYS = env_int("DROPGATE_TOKEN_KEY_MAX_AGE_DAYS", 30)
# The JWKS's Cache-Control max-age: how stale a publisher's cached copy of the grant keys may be.
DROPGATE_JWKS_MAX_AGE_SECONDS = env_int("DROPGATE_JWKS_MAX_AGE_SECONDS", 300)
# A scheduled token-key rotation first publishes the next key (in the JWKS, signing nothing) and
# only lets it sign after this long, so every cached JWKS already holds it; several max-ages.
DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS = env_int(
    "DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS", 3 * DROPGATE_JWKS_MAX_AGE_SECONDS
)
if DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS < DROPGATE_JWKS_MAX_AGE_SECONDS:
    raise ImproperlyConfigured(
        "DROPGATE_TOKEN_KEY_PREPUBLISH_SECONDS must be at least DROPGATE_JWKS_MAX_AGE_SECONDS."
    )
# How long a key-management transaction (SetRegularKey, AccountSet…) is awaited on the ledger.
DROPGATE_KEY_LEDGER_WAIT_SECONDS = float(env_str("DROPGATE_KEY_LEDGER_WAIT_SECONDS", "30"))
# Test-only crash hook: the named point calls os._exit. Unset in every real deployment.
DROPGATE_CRASH_POINT = env_str("DROPGATE_CRASH_POINT", "")
# Test-only fault hook: the named fault point raises a server error (disputes_replay's
# `server_error` deliveries). Unset in every real deployment.
DROPGATE_FAULT_POINT = env_str("DROPGATE_FAULT_POINT", "")

# --- SDK: signer frame, funding wallet, reader websocket -------------------------------------
# The paywall's own public origin: the signer frame is served from it, so reader endpoints
# accept it as an Origin besides the publisher's own (docs/sdk-protocol.md, "Origins").
DROPGATE_PUBLIC_URL = env_str("DROPGATE_PUBLIC_URL", "http://127.0.0.1:8000")
_public_url = urlsplit(DROPGATE_PUBLIC_URL)
if _public_url.scheme not in ("http", "https") or not _public_url.hostname:
    raise ImproperlyConfigured(
        "DROPGATE_PUBLIC_URL must be an http(s) URL, e.g. https://pay.example"
    )
# SettleDelay of the channels the funding wallet opens; registration refuses anything shorter
# than the minimum, so a shorter value would lock readers' money in unusable channels.
DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS = env_int("DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS", 86_400)
if DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS < DROPGATE_MIN_SETTLE_DELAY_SECONDS:
    raise ImproperlyConfigured(
        "DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS must be at least DROPGATE_MIN_SETTLE_DELAY_SECONDS."
    )
# The signer frame refuses to sign a longer SettleDelay (the reader's wait after asking to close).
if DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS > 30 * 86_400:
    raise ImproperlyConfigured("DROPGATE_CHANNEL_SETTLE_DELAY_SECONDS must be at most 30 days.")
# CancelAfter of the channels the funding wallet opens, in days from the ledger's time: the
# latest moment the reader's deposit can be locked in a channel, even if this service is gone
# (after CancelAfter anyone's PaymentChannelClaim deletes the channel and the remainder goes
# back to its source). Claims stop, and the watchtower settles and closes the channel,
# DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS before it, so a channel must live at least a day past
# that margin. At most 365: the signer frame refuses to sign a CancelAfter further away.
DROPGATE_CHANNEL_CANCEL_AFTER_DAYS = env_int("DROPGATE_CHANNEL_CANCEL_AFTER_DAYS", 90)
if not 1 <= DROPGATE_CHANNEL_CANCEL_AFTER_DAYS <= 365:
    raise ImproperlyConfigured("DROPGATE_CHANNEL_CANCEL_AFTER_DAYS must be from 1 to 365.")
if DROPGATE_CHANNEL_CANCEL_AFTER_DAYS * 86_400 < DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS + 86_400:
    raise ImproperlyConfigured(
        "DROPGATE_CHANNEL_CANCEL_AFTER_DAYS must leave at least a day of use before "
        "DROPGATE_CLOSE_SAFETY_MARGIN_SECONDS (claims stop that long before CancelAfter)."
    )
DROPGATE_FAUCET_DROPS = env_int("DROPGATE_FAUCET_DROPS", 50_000_000)
DROPGATE_WALLET_SUBMIT_WAIT_SECONDS = float(env_str("DROPGATE_WALLET_SUBMIT_WAIT_SECONDS", "15"))
DROPGATE_WS_MAX_MESSAGE_BYTES = env_int("DROPGATE_WS_MAX_MESSAGE_BYTES", 16_384)

# --- Health ------------------------------------------------------------------------------------
# /readyz answers bare (ok, or 503 with a code) to anyone; the details (each check, the
# watchtower's channel ids and integrity violations) need `Authorization: Bearer <this>`.
# Empty: the details are never shown.
DROPGATE_READYZ_TOKEN = env_str("DROPGATE_READYZ_TOKEN", "")

# --- Client addresses behind proxies -----------------------------------------------------------
# Proxies (CIDR blocks or addresses) whose X-Forwarded-For is believed: the client is then the
# rightmost hop that is not one of them (channels_app.client_address). Empty: the peer's address
# is the client's, whatever the headers say. Run the ASGI server without its own proxy-header
# handling (`manage.py serve` does), so this is the only place that decides.
DROPGATE_TRUSTED_PROXIES = env_list("DROPGATE_TRUSTED_PROXIES", "")
for _proxy in DROPGATE_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"DROPGATE_TRUSTED_PROXIES: not an address or CIDR block: {_proxy!r}"
        ) from None

# --- HTTP API --------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.AllowAny"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # UTF-8 JSON only, bounded in size and depth (paywall.parsers); never the client's charset.
    "DEFAULT_PARSER_CLASSES": ["paywall.parsers.StrictJSONParser"],
    "EXCEPTION_HANDLER": "paywall.errors.api_exception_handler",
    "DEFAULT_THROTTLE_RATES": {
        "reader": env_str("DROPGATE_THROTTLE_READER", "600/min"),
        "anon": env_str("DROPGATE_THROTTLE_ANON", "300/min"),
        "agent": env_str("DROPGATE_THROTTLE_AGENT", "1200/min"),
        "publisher": env_str("DROPGATE_THROTTLE_PUBLISHER", "1200/min"),
        "readyz": env_str("DROPGATE_THROTTLE_READYZ", "120/min"),
    },
    "UNAUTHENTICATED_USER": None,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dropgate API",
    "DESCRIPTION": "Micropayment paywall on XRP Ledger payment channels.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Two serializers have a `status` choice field (payouts, disputes): name each enum.
    "ENUM_NAME_OVERRIDES": {"DisputeStatusEnum": "disputes.models.DisputeStatus"},
}
# CORS is decided per publisher (paywall.cors); nothing is allowed globally.
CORS_ALLOWED_ORIGINS: list[str] = []
CORS_URLS_REGEX = r"^/api/v1/.*$"
CORS_EXPOSE_HEADERS = ["retry-after"]
CORS_ALLOW_HEADERS = ["authorization", "content-type", "x-dropgate-publisher", "idempotency-key"]

# --- Admin -----------------------------------------------------------------------------------
# Staff sign in with a password and a TOTP code (paywall.admin_site); enrol a device with
# `manage.py staff_otp_enrol USER`. The issuer names the account in the authenticator app.
OTP_TOTP_ISSUER = "Dropgate"
# django-otp's own device admin would show the TOTP secrets; ours (paywall.admin_site) never does.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
# fn(user) -> None (every publisher's rows) or the publisher keys the user may see in the admin;
# channels_app.adminkit asks it, since channels_app cannot import paywall.
DROPGATE_ADMIN_PUBLISHER_SCOPE = "paywall.selectors.admin_publisher_scope"

# --- Security headers ------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
# DROPGATE_HTTPS declares that the service is reached over HTTPS only (directly or through a
# proxy that terminates TLS): redirect plain HTTP, send HSTS, and mark cookies Secure. With it and
# DJANGO_DEBUG off, `manage.py check --deploy` is clean (tests/test_deploy_settings.py).
DROPGATE_HTTPS = env_bool("DROPGATE_HTTPS", False)
if DROPGATE_HTTPS and _public_url.scheme != "https":
    raise ImproperlyConfigured("DROPGATE_HTTPS is on: DROPGATE_PUBLIC_URL must be an https URL.")
SECURE_SSL_REDIRECT = DROPGATE_HTTPS
# Load balancers probe liveness and readiness over plain HTTP from inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_HSTS_SECONDS = env_int("DROPGATE_HSTS_SECONDS", 31_536_000) if DROPGATE_HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("DROPGATE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = env_bool("DROPGATE_HSTS_PRELOAD", False)
SILENCED_SYSTEM_CHECKS: list[str] = []
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for HSTS preload. Preloading is a commitment about a whole registrable
    # domain, made by its owner with the browser vendors and slow to undo; it is not a default
    # a paywall service can make for the domain it happens to be deployed under.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
SESSION_COOKIE_SECURE = env_bool("DJANGO_SECURE_COOKIES", DROPGATE_HTTPS)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Behind a proxy that terminates TLS, the header it sets to say the client used HTTPS (e.g.
# X-Forwarded-Proto). Only set it when the proxy always overwrites that header: a client could
# otherwise claim HTTPS.
DROPGATE_HTTPS_PROXY_HEADER = env_str("DROPGATE_HTTPS_PROXY_HEADER", "")
if DROPGATE_HTTPS_PROXY_HEADER:
    SECURE_PROXY_SSL_HEADER = (
        "HTTP_" + DROPGATE_HTTPS_PROXY_HEADER.strip().upper().replace("-", "_"),
        "https",
    )
# Content-Security-Policy of the service's own pages and the admin (django-csp): scripts,
# styles, images and fonts from this origin only; no inline script or style, no eval. The
# signer frame sets its own policy (paywall.frame), which the middleware leaves as it is.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'none'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'none'"],
        "object-src": ["'none'"],
    }
}

# --- Static, i18n ----------------------------------------------------------------------------
STATIC_URL = "/static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "paywall.staticfinders.PublishedFilesFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
]
STATIC_ROOT = DATA_DIR / "staticfiles"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
WHITENOISE_USE_FINDERS = True
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("DROPGATE_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
    },
}

# --- Fraud: telemetry, scoring and unlock decisions ---
# The telemetry socket /ws/telemetry/ (docs/sdk-protocol.md): per-batch limits announced in
# `hello`, a token bucket of DROPGATE_TELEMETRY_BURST batches refilled one per interval.
DROPGATE_TELEMETRY_MAX_BATCH_BYTES = env_int("DROPGATE_TELEMETRY_MAX_BATCH_BYTES", 16_384)
DROPGATE_TELEMETRY_MAX_EVENTS = env_int("DROPGATE_TELEMETRY_MAX_EVENTS", 512)
DROPGATE_TELEMETRY_MIN_INTERVAL_MS = env_int("DROPGATE_TELEMETRY_MIN_INTERVAL_MS", 250)
DROPGATE_TELEMETRY_BURST = env_int("DROPGATE_TELEMETRY_BURST", 4)
# Telemetry sessions untouched for this long are deleted (fraud.tasks.telemetry_purge, daily).
DROPGATE_TELEMETRY_RETENTION_DAYS = env_int("DROPGATE_TELEMETRY_RETENTION_DAYS", 90)
CELERY_BEAT_SCHEDULE["fraud-telemetry-purge"] = {
    "task": "fraud.tasks.telemetry_purge",
    "schedule": float(env_int("DROPGATE_TELEMETRY_PURGE_SECONDS", 86_400)),
}
# New telemetry sessions one client address may open per minute (each is a database row).
DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE = env_int(
    "DROPGATE_TELEMETRY_SESSIONS_PER_IP_MINUTE", 120
)
# The largest websocket message the ASGI server itself accepts (`manage.py serve` passes it as
# uvicorn's ws_max_size): a larger one is refused with close 1009 as it arrives, never buffered.
# Above the consumers' own limits (which answer 4413), so a frame a little too large still gets
# the protocol's code; by default 4x the larger of them.
DROPGATE_WS_SERVER_MAX_BYTES = env_int(
    "DROPGATE_WS_SERVER_MAX_BYTES",
    4 * max(DROPGATE_WS_MAX_MESSAGE_BYTES, DROPGATE_TELEMETRY_MAX_BATCH_BYTES),
)
if DROPGATE_WS_SERVER_MAX_BYTES < max(
    DROPGATE_WS_MAX_MESSAGE_BYTES, DROPGATE_TELEMETRY_MAX_BATCH_BYTES
):
    raise ImproperlyConfigured(
        "DROPGATE_WS_SERVER_MAX_BYTES must be at least DROPGATE_WS_MAX_MESSAGE_BYTES and "
        "DROPGATE_TELEMETRY_MAX_BATCH_BYTES."
    )
# Features and score are written to the database at most this often per session (and on close).
DROPGATE_TELEMETRY_PERSIST_SECONDS = float(env_str("DROPGATE_TELEMETRY_PERSIST_SECONDS", "1"))
DROPGATE_TELEMETRY_SESSION_TTL_SECONDS = env_int("DROPGATE_TELEMETRY_SESSION_TTL_SECONDS", 86_400)
# fn(publisher_ref, origin) -> bool: paywall answers whether the page's origin is the publisher's.
DROPGATE_TELEMETRY_ORIGIN_CHECKER = env_str(
    "DROPGATE_TELEMETRY_ORIGIN_CHECKER", "paywall.services.publishers.publisher_origin_allowed"
)
# Score bands of risk_decide: allow below HOLD, hold revenue below CHALLENGE, challenge below
# REFUSE, refuse at or above it.
DROPGATE_RISK_HOLD_AT = float(env_str("DROPGATE_RISK_HOLD_AT", "0.5"))
DROPGATE_RISK_CHALLENGE_AT = float(env_str("DROPGATE_RISK_CHALLENGE_AT", "0.7"))
DROPGATE_RISK_REFUSE_AT = float(env_str("DROPGATE_RISK_REFUSE_AT", "0.9"))
if not 0 < DROPGATE_RISK_HOLD_AT <= DROPGATE_RISK_CHALLENGE_AT <= DROPGATE_RISK_REFUSE_AT <= 1:
    raise ImproperlyConfigured(
        "DROPGATE_RISK_*: need 0 < HOLD_AT <= CHALLENGE_AT <= REFUSE_AT <= 1."
    )
# Reading faster than this many words per minute (on articles of at least 100 words) is a risk.
DROPGATE_RISK_MAX_READING_WPM = env_int("DROPGATE_RISK_MAX_READING_WPM", 1_500)
# Press-and-hold challenge: how long to hold, how long an issued challenge lives, and how long
# a passed one keeps the session allowed.
DROPGATE_CHALLENGE_HOLD_MS = env_int("DROPGATE_CHALLENGE_HOLD_MS", 800)
DROPGATE_CHALLENGE_TTL_SECONDS = env_int("DROPGATE_CHALLENGE_TTL_SECONDS", 300)
DROPGATE_CHALLENGE_PASS_SECONDS = env_int("DROPGATE_CHALLENGE_PASS_SECONDS", 3_600)

# --- Fraud: velocity limits, detectors and cases ---
# Payment velocity (fraud.services.velocity): counts per minute and hour and drops per hour,
# per reader, channel, fingerprint and publisher; agents have their own reader/channel limits.
# 0 disables a limit. Crossing SOFT_PERCENT of a limit opens a `velocity` case (no blocking).
DROPGATE_VELOCITY_READER_PER_MINUTE = env_int("DROPGATE_VELOCITY_READER_PER_MINUTE", 60)
DROPGATE_VELOCITY_READER_PER_HOUR = env_int("DROPGATE_VELOCITY_READER_PER_HOUR", 1_000)
DROPGATE_VELOCITY_READER_DROPS_PER_HOUR = env_int(
    "DROPGATE_VELOCITY_READER_DROPS_PER_HOUR", 200_000_000
)
DROPGATE_VELOCITY_CHANNEL_PER_MINUTE = env_int("DROPGATE_VELOCITY_CHANNEL_PER_MINUTE", 60)
DROPGATE_VELOCITY_CHANNEL_PER_HOUR = env_int("DROPGATE_VELOCITY_CHANNEL_PER_HOUR", 1_000)
DROPGATE_VELOCITY_CHANNEL_DROPS_PER_HOUR = env_int(
    "DROPGATE_VELOCITY_CHANNEL_DROPS_PER_HOUR", 200_000_000
)
DROPGATE_VELOCITY_FINGERPRINT_PER_MINUTE = env_int("DROPGATE_VELOCITY_FINGERPRINT_PER_MINUTE", 120)
DROPGATE_VELOCITY_FINGERPRINT_PER_HOUR = env_int("DROPGATE_VELOCITY_FINGERPRINT_PER_HOUR", 2_000)
DROPGATE_VELOCITY_FINGERPRINT_DROPS_PER_HOUR = env_int(
    "DROPGATE_VELOCITY_FINGERPRINT_DROPS_PER_HOUR", 400_000_000
)
DROPGATE_VELOCITY_PUBLISHER_PER_MINUTE = env_int("DROPGATE_VELOCITY_PUBLISHER_PER_MINUTE", 20_000)
DROPGATE_VELOCITY_PUBLISHER_PER_HOUR = env_int("DROPGATE_VELOCITY_PUBLISHER_PER_HOUR", 500_000)
DROPGATE_VELOCITY_PUBLISHER_DROPS_PER_HOUR = env_int(
    "DROPGATE_VELOCITY_PUBLISHER_DROPS_PER_HOUR", 0
)
DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE = env_int(
    "DROPGATE_VELOCITY_AGENT_READER_PER_MINUTE", 300
)
DROPGATE_VELOCITY_AGENT_READER_PER_HOUR = env_int("DROPGATE_VELOCITY_AGENT_READER_PER_HOUR", 10_000)
DROPGATE_VELOCITY_AGENT_READER_DROPS_PER_HOUR = env_int(
    "DROPGATE_VELOCITY_AGENT_READER_DROPS_PER_HOUR", 1_000_000_000
)
DROPGATE_VELOCITY_AGENT_CHANNEL_PER_MINUTE = env_int(
    "DROPGATE_VELOCITY_AGENT_CHANNEL_PER_MINUTE", 300
)
DROPGATE_VELOCITY_AGENT_CHANNEL_PER_HOUR = env_int(
    "DROPGATE_VELOCITY_AGENT_CHANNEL_PER_HOUR", 10_000
)
DROPGATE_VELOCITY_AGENT_CHANNEL_DROPS_PER_HOUR = env_int(
    "DROPGATE_VELOCITY_AGENT_CHANNEL_DROPS_PER_HOUR", 1_000_000_000
)
DROPGATE_VELOCITY_SOFT_PERCENT = env_int("DROPGATE_VELOCITY_SOFT_PERCENT", 80)
# The cache alias holding the counters (Redis when REDIS_URL is set: one Lua script per unlock).
DROPGATE_VELOCITY_CACHE = env_str("DROPGATE_VELOCITY_CACHE", "default")
# Cases keep at most this many evidence entries (later ones are only counted).
DROPGATE_FRAUD_CASE_MAX_EVIDENCE = env_int("DROPGATE_FRAUD_CASE_MAX_EVIDENCE", 500)
# Account farming (fraud.services.farming): readers linked by an attribute shared by at least
# this many readers (fingerprint, funding account, network prefix), clusters of at least
# MIN_CLUSTER_READERS readers, over the last WINDOW_DAYS.
DROPGATE_FARMING_WINDOW_DAYS = env_int("DROPGATE_FARMING_WINDOW_DAYS", 14)
DROPGATE_FARMING_MIN_CLUSTER_READERS = env_int("DROPGATE_FARMING_MIN_CLUSTER_READERS", 5)
DROPGATE_FARMING_FINGERPRINT_MIN_READERS = env_int("DROPGATE_FARMING_FINGERPRINT_MIN_READERS", 3)
DROPGATE_FARMING_FUNDING_MIN_READERS = env_int("DROPGATE_FARMING_FUNDING_MIN_READERS", 2)
DROPGATE_FARMING_NETWORK_MIN_READERS = env_int("DROPGATE_FARMING_NETWORK_MIN_READERS", 12)
# Content manipulation (fraud.services.content): an article's last SURGE_HOURS of traffic
# against its hour-of-week baseline over BASELINE_WEEKS (median + SURGE_MADS * MAD, at least
# SURGE_RATIO x the median and MIN_SURGE_VIEWS per hour, so new articles have a floor), then
# graph checks on the surge: fingerprint diversity at most MAX_DIVERSITY_PERCENT of its
# sessions, or at least SINGLE_ARTICLE_PERCENT of its readers touching nothing else.
DROPGATE_CONTENT_SURGE_HOURS = env_int("DROPGATE_CONTENT_SURGE_HOURS", 3)
DROPGATE_CONTENT_BASELINE_WEEKS = env_int("DROPGATE_CONTENT_BASELINE_WEEKS", 4)
DROPGATE_CONTENT_SURGE_MADS = env_int("DROPGATE_CONTENT_SURGE_MADS", 6)
DROPGATE_CONTENT_SURGE_RATIO = env_int("DROPGATE_CONTENT_SURGE_RATIO", 3)
DROPGATE_CONTENT_MIN_SURGE_VIEWS = env_int("DROPGATE_CONTENT_MIN_SURGE_VIEWS", 30)
DROPGATE_CONTENT_MAX_DIVERSITY_PERCENT = env_int("DROPGATE_CONTENT_MAX_DIVERSITY_PERCENT", 25)
DROPGATE_CONTENT_SINGLE_ARTICLE_PERCENT = env_int("DROPGATE_CONTENT_SINGLE_ARTICLE_PERCENT", 80)
# Synthetic traffic: bot-scored sessions with one of these reasons (fraud.scoring's codes for
# uniform timing and inhuman speed),
# aggregated per publisher and article over WINDOW_HOURS; MIN_SESSIONS of them open a case.
DROPGATE_SYNTHETIC_WINDOW_HOURS = env_int("DROPGATE_SYNTHETIC_WINDOW_HOURS", 24)
DROPGATE_SYNTHETIC_MIN_SESSIONS = env_int("DROPGATE_SYNTHETIC_MIN_SESSIONS", 5)
DROPGATE_SYNTHETIC_REASONS = env_list(
    "DROPGATE_SYNTHETIC_REASONS", "uniform_timing,inhuman_speed,inhuman_keys,reading_too_fast"
)
CELERY_BEAT_SCHEDULE["fraud-farming-scan"] = {
    "task": "fraud.tasks.farming_scan",
    "schedule": float(env_int("DROPGATE_FARMING_SCAN_SECONDS", 900)),
}
CELERY_BEAT_SCHEDULE["fraud-content-scan"] = {
    "task": "fraud.tasks.content_scan",
    "schedule": float(env_int("DROPGATE_CONTENT_SCAN_SECONDS", 600)),
}
CELERY_BEAT_SCHEDULE["fraud-synthetic-scan"] = {
    "task": "fraud.tasks.synthetic_scan",
    "schedule": float(env_int("DROPGATE_SYNTHETIC_SCAN_SECONDS", 900)),
}

# --- Fraud: bot model training data ---
# Human mouse traces (SapiMouse CSV form) used by `fraud_train` and the model tests. Read in
# place, never copied into the repository.
DROPGATE_SAPIMOUSE_DIR = env_str(
    "DROPGATE_SAPIMOUSE_DIR", str(BASE_DIR.parent / "shared" / "data" / "sapimouse")
)

# --- Compliance: rulebook, location, tax, AML/KYC, consumer law ---
# The rulebook directory (YAML files, one per jurisdiction plus sanctions and thresholds);
# loaded and validated at start, a bad file stops the process naming the file and the rule.
DROPGATE_RULEBOOK_DIR = env_str("DROPGATE_RULEBOOK_DIR", str(BASE_DIR / "compliance" / "rulebook"))
# Readers stay anonymous below this many EUR per rolling window (30 days); above it an unlock is
# refused with 403 reader_limit_reached. Empty: the rulebook's `aml.reader.rolling_limit`.
DROPGATE_READER_ROLLING_LIMIT_EUR = env_str("DROPGATE_READER_ROLLING_LIMIT_EUR", "")
# Consumer law (EU CRD Art. 16(m)): refuse an unlock with 428 consent_required until the reader
# has given express consent to immediate access for this publisher. Off until the signer frame
# shows the consent dialog (phase 2 of the compliance issue); the API records consent either way.
DROPGATE_CONSENT_REQUIRED = env_bool("DROPGATE_CONSENT_REQUIRED", False)
# Refuse an unlock with 409 country_confirmation_required when there is no evidence of the
# reader's country at all (conflicting evidence is always asked about). Off until the frame
# sends evidence and shows the confirmation dialog (phase 2).
DROPGATE_LOCATION_REQUIRED = env_bool("DROPGATE_LOCATION_REQUIRED", False)
# The function payout planning asks which publishers may be paid (KYC tiers, the TFR rule for
# self-hosted addresses). Empty: no gate — only for tests of the payouts engine itself.
DROPGATE_PAYOUT_GATE = env_str("DROPGATE_PAYOUT_GATE", "compliance.selectors.payout_gate")
# How often beat runs the AML monitoring rules and the tax-report task.
DROPGATE_MONITORING_SCAN_SECONDS = env_int("DROPGATE_MONITORING_SCAN_SECONDS", 3_600)
CELERY_BEAT_SCHEDULE["compliance-monitoring-scan"] = {
    "task": "compliance.tasks.monitoring_scan",
    "schedule": float(DROPGATE_MONITORING_SCAN_SECONDS),
}
CELERY_BEAT_SCHEDULE["compliance-tax-reports"] = {
    "task": "compliance.tasks.tax_reports_due",
    "schedule": float(env_int("DROPGATE_TAX_REPORT_SECONDS", 86_400)),
}

# --- Disputes (disputes/) ---------------------------------------------------------------------
# A reader may dispute an unlock this many days after it.
DROPGATE_DISPUTE_WINDOW_DAYS = env_int("DROPGATE_DISPUTE_WINDOW_DAYS", 60)
# The Behaviour resolver: less visible time than this on the article after its delivery is a
# bounce (the reader's vote on a content dispute).
DROPGATE_DISPUTE_BOUNCE_SECONDS = env_int("DROPGATE_DISPUTE_BOUNCE_SECONDS", 15)
# The Reputation resolver: a reader with this many disputes in REPEAT_WINDOW_DAYS is never
# decided automatically.
DROPGATE_DISPUTE_REPEAT_FILER = env_int("DROPGATE_DISPUTE_REPEAT_FILER", 5)
DROPGATE_DISPUTE_REPEAT_WINDOW_DAYS = env_int("DROPGATE_DISPUTE_REPEAT_WINDOW_DAYS", 30)
# Disputes over more than this are never decided automatically (tier 2).
DROPGATE_DISPUTE_AUTO_LIMIT_DROPS = env_int("DROPGATE_DISPUTE_AUTO_LIMIT_DROPS", 10_000_000)
# SLAs: the publisher's time to answer (else decided for the reader), the admin queue's time to
# decide (else escalated to tier 3), and the time either side has to appeal a decision.
DROPGATE_DISPUTE_RESPONSE_DAYS = env_int("DROPGATE_DISPUTE_RESPONSE_DAYS", 7)
DROPGATE_DISPUTE_REVIEW_DAYS = env_int("DROPGATE_DISPUTE_REVIEW_DAYS", 14)
DROPGATE_DISPUTE_APPEAL_DAYS = env_int("DROPGATE_DISPUTE_APPEAL_DAYS", 14)
# What a reviewer's minute costs, in drops (disputes_report's cost per dispute).
DROPGATE_DISPUTE_REVIEW_COST_DROPS_PER_MINUTE = env_int(
    "DROPGATE_DISPUTE_REVIEW_COST_DROPS_PER_MINUTE", 1_000_000
)
CELERY_BEAT_SCHEDULE["disputes-sla-sweep"] = {
    "task": "disputes.tasks.disputes_sla_sweep",
    "schedule": float(env_int("DROPGATE_DISPUTE_SLA_SWEEP_SECONDS", 300)),
}
CELERY_BEAT_SCHEDULE["disputes-report"] = {
    "task": "disputes.tasks.disputes_report_monthly",
    "schedule": float(env_int("DROPGATE_DISPUTE_REPORT_SECONDS", 86_400)),
}
