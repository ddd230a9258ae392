"""Tally settings: one file, driven by the environment.

Every variable read here is listed in the README's configuration table. The defaults need no
server: SQLite and a file-based Celery broker under var/, so a fresh clone runs as it is.
"""

import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")


def env(name: str, default: str | None = None) -> str | None:
    """The variable `name`, or the contents of the file `name_FILE` names (as container secrets
    are mounted); `default` when neither is set. Setting both is a mistake, not a choice."""
    value = os.environ.get(name)
    path = os.environ.get(f"{name}_FILE")
    if path:
        if value:
            raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
        try:
            return Path(path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {path}: {error.strerror}.") from None
    return value if value else default


def envbool(name: str, default: bool) -> bool:
    value = env(name)
    if value is None or not value.strip():
        return default
    word = value.strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    # A typo such as `ture` must not quietly mean False (or True) for a security setting.
    raise ImproperlyConfigured(f"{name} must be one of {', '.join(TRUE_WORDS + FALSE_WORDS)}; not {value!r}.")


def envnumber(name: str, default: int | float, kind: type = int) -> int | float:
    value = env(name)
    if value is None or not value.strip():
        return default
    try:
        return kind(value.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a {'whole ' if kind is int else ''}number; not {value!r}.") from None


def envint(name: str, default: int) -> int:
    return envnumber(name, default, int)


def envfloat(name: str, default: float) -> float:
    return envnumber(name, default, float)


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in (env(name) or default).split(",") if item.strip()]


VAR_DIR = Path(env("TALLY_VAR_DIR") or BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)


def kept_secret(name: str, filename: str, make) -> str:
    """A secret from the environment (or its _FILE); in development, one generated once and kept under var/."""
    value = env(name)
    if value:
        return value
    if not DEBUG:
        raise ImproperlyConfigured(f"{name} must be set when DEBUG is off.")
    path = VAR_DIR / filename
    if not path.exists():
        path.write_text(make())
        path.chmod(0o600)
    return path.read_text().strip()


def new_fernet_key() -> str:
    from cryptography.fernet import Fernet

    return Fernet.generate_key().decode()


# Off unless asked for: a process started without DEBUG never shows Django's technical error
# page to a client. `make run` (the demo) sets DEBUG=1.
DEBUG = envbool("DEBUG", False)
SECRET_KEY = kept_secret("SECRET_KEY", "secret_key", lambda: secrets.token_urlsafe(50))
# Comma-separated Fernet keys; the first encrypts, all decrypt (so keys can be rotated).
TALLY_SECRETS_KEYS = envlist(
    "TALLY_SECRETS_KEY", kept_secret("TALLY_SECRETS_KEY", "secrets_key", new_fernet_key)
)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "accounts",
    "generations",
    "billing",
    # The demo data, the gateway simulator and the commands `make run` uses; no models.
    "demo",
    "operations",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "config.middleware.IgnoreNulCookiesMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "config.middleware.RefuseNulBytesMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, so that it sees the outcome of authentication (django-axes' requirement).
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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

DATABASES = {
    "default": dj_database_url.parse(
        env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'tally.sqlite3'}"),
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", 0),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web process and a worker share the file; IMMEDIATE avoids lock upgrades
    # failing mid-transaction when both write.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;",
        "transaction_mode": "IMMEDIATE",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/spend/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

EMAIL_BACKEND = env("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "tally@localhost")
# Who is mailed when a gateway or key is paused (402/401) and on server errors.
ADMINS = [("", address) for address in envlist("ADMINS", "")]
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security: production defaults follow `manage.py check --deploy`.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", not DEBUG)
# Load balancers probe health over plain http inside the network.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = envbool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = envbool("CSRF_COOKIE_SECURE", not DEBUG)
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# On in production so `check --deploy` is clean; SECURE_HSTS_PRELOAD=0 if the domain must never
# be submitted to the browsers' preload list (Django then warns, W021).
SECURE_HSTS_PRELOAD = envbool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True

# Repeated failed logins lock the username+address pair out for a while.
AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", 15) / 60
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Invalid API tokens from one address (within 10 minutes) before it is refused token auth.
TALLY_TOKEN_FAILURES_ALLOWED = envint("TALLY_TOKEN_FAILURES_ALLOWED", 20)

REDIS_URL = env("REDIS_URL", "")
# The cache holds counters every web process must share (invalid tokens per address, API and
# password-reset throttles): Redis when REDIS_URL is set, under its own key prefix so it never
# mixes with the Celery broker's keys (TALLY_CACHE_URL puts it in another database instead).
# Without Redis (the demo, one process) it is the process's memory.
TALLY_CACHE_URL = env("TALLY_CACHE_URL") or REDIS_URL
CACHE_KEY_PREFIX = "tally-cache"
if TALLY_CACHE_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": TALLY_CACHE_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "KEY_PREFIX": CACHE_KEY_PREFIX}}
# Sessions stay in the database (a Redis restart signs nobody out), read through the shared cache
# when there is one: a page then costs no session query. Per-process memory would let one process
# keep a session another has ended, so without Redis they are read from the database alone.
SESSION_ENGINE = (
    "django.contrib.sessions.backends.cached_db" if TALLY_CACHE_URL else "django.contrib.sessions.backends.db"
)

# Celery: Redis when configured, otherwise kombu's filesystem transport under var/.
CELERY_BROKER_URL = env("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL.startswith("filesystem://"):
    _broker_dir = VAR_DIR / "broker"
    (_broker_dir / "queue").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    (_broker_dir / "control").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
        "control_folder": str(_broker_dir / "control"),
    }
else:
    # A task not acknowledged within an hour is redelivered; longer than any batch may run.
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = envbool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TIMEZONE = "UTC"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Reconciliation: how long a claim holds its generations (then a dead worker's are due again),
# generations per batch, and the retry backoff (exponential with full jitter), in seconds.
TALLY_RECONCILE_LEASE_SECONDS = envint("TALLY_RECONCILE_LEASE_SECONDS", 600)
TALLY_RECONCILE_BATCH_SIZE = envint("TALLY_RECONCILE_BATCH_SIZE", 200)
TALLY_RECONCILE_BACKOFF_BASE_SECONDS = envfloat("TALLY_RECONCILE_BACKOFF_BASE_SECONDS", 30.0)
TALLY_RECONCILE_BACKOFF_CAP_SECONDS = envfloat("TALLY_RECONCILE_BACKOFF_CAP_SECONDS", 3600.0)
# Lookups whose answer cannot be read before it becomes an unreadable_record finding.
TALLY_RECONCILE_MAX_UNREADABLE_ATTEMPTS = envint("TALLY_RECONCILE_MAX_UNREADABLE_ATTEMPTS", 10)
# How long missing and unreadable generations keep being re-checked (or the gateway's retention).
TALLY_RECHECK_HORIZON_DAYS = envint("TALLY_RECHECK_HORIZON_DAYS", 30)
# PostgreSQL's monthly partitions of generations and gateway records (generations/partitions/):
# how many months ahead the monthly job creates them.
TALLY_PARTITION_MONTHS_AHEAD = envint("TALLY_PARTITION_MONTHS_AHEAD", 3)
# Gateway records' raw bodies older than this many months are compacted to their SHA-256 and size
# (billing/raw_retention.py); 0 keeps every body.
TALLY_RAW_RETENTION_MONTHS = envint("TALLY_RAW_RETENTION_MONTHS", 0)

# Alerts (billing/alerts/): links in mails point at TALLY_BASE_URL; webhooks get a short timeout
# and may post over plain http to loopback only when allowed (development and tests).
TALLY_BASE_URL = env("TALLY_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
TALLY_WEBHOOK_ALLOW_LOOPBACK = envbool("TALLY_WEBHOOK_ALLOW_LOOPBACK", DEBUG)
TALLY_WEBHOOK_TIMEOUT_SECONDS = envfloat("TALLY_WEBHOOK_TIMEOUT_SECONDS", 5.0)
TALLY_DISPUTE_RATE_THRESHOLD = env("TALLY_DISPUTE_RATE_THRESHOLD") or "0.2"
TALLY_DISPUTE_RATE_MIN_GENERATIONS = envint("TALLY_DISPUTE_RATE_MIN_GENERATIONS", 20)

# Operations: /metrics answers a bearer token, or else only the listed client addresses;
# /healthz wants beat to have run within this many seconds and workers to answer a ping in time.
TALLY_METRICS_TOKEN = env("TALLY_METRICS_TOKEN", "")
TALLY_METRICS_ALLOWED_ADDRESSES = envlist("TALLY_METRICS_ALLOWED_ADDRESSES", "127.0.0.1,::1")
TALLY_HEALTH_BEAT_MAX_AGE_SECONDS = envint("TALLY_HEALTH_BEAT_MAX_AGE_SECONDS", 300)
TALLY_HEALTH_CELERY_TIMEOUT_SECONDS = envfloat("TALLY_HEALTH_CELERY_TIMEOUT_SECONDS", 1.0)

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.AccessTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "lib.errors.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    # Only unauthenticated requests are throttled; tokens and sessions are limited by lockouts.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.AnonRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {
        "anon": env("API_ANON_THROTTLE", "60/minute"),
        "password_reset": env("TALLY_PASSWORD_RESET_THROTTLE", "5/hour"),
    },
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tally API",
    "DESCRIPTION": "Record LLM generations and read reconciled spend, invoices and discrepancies.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "DiscrepancyStatusEnum": "billing.models.DiscrepancyStatus",
        "InvoiceStatusEnum": "billing.models.InvoiceStatus",
    },
}
# Ingest accepts up to 10,000 records a request; this bounds the body Django will read.
DATA_UPLOAD_MAX_MEMORY_SIZE = envint("DATA_UPLOAD_MAX_MEMORY_SIZE", 16 * 1024 * 1024)

# The issuer printed on invoices (PDF and print view), and the payment term from the issue date.
TALLY_INVOICE_ISSUER_NAME = env("TALLY_INVOICE_ISSUER_NAME", "Tally")
TALLY_INVOICE_ISSUER_ADDRESS = (env("TALLY_INVOICE_ISSUER_ADDRESS") or "").replace("\\n", "\n")
TALLY_INVOICE_DUE_DAYS = envint("TALLY_INVOICE_DUE_DAYS", 30)

# TALLY_LOG_JSON=1: one JSON object a line, with generation, gateway and api_key where known.
TALLY_LOG_JSON = envbool("TALLY_LOG_JSON", False)
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "operations.logs.JsonFormatter"},
    },
    "filters": {"require_debug_false": {"()": "django.utils.log.RequireDebugFalse"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "json" if TALLY_LOG_JSON else "plain"},
        "mail_admins": {
            "level": "ERROR",
            "filters": ["require_debug_false"],
            "class": "django.utils.log.AdminEmailHandler",
        },
    },
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {
        "httpx": {"level": "WARNING"},
        "httpcore": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # Django's own handlers would print each 4xx/5xx a second time beside the root's.
        "django": {"handlers": ["console", "mail_admins"], "level": "INFO", "propagate": False},
    },
}
