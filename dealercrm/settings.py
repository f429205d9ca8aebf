"""Settings for dealercrm.

Every deploy-specific value comes from the environment, with a default that works on a fresh
checkout (SQLite, DEBUG on). Production sets DEBUG=false, SECRET_KEY, ALLOWED_HOSTS and usually
DATABASE_URL; DEBUG off without a SECRET_KEY refuses to start.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name, default):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_list(name, default):
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY is not set. With DEBUG off the application needs a secret key from the "
            "environment (for example: SECRET_KEY=$(python -c 'import secrets; "
            "print(secrets.token_urlsafe(50))'))."
        )
    # Only ever used with DEBUG on, on a developer's or a demo machine.
    SECRET_KEY = "insecure-development-key-never-used-with-debug-off"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"] if DEBUG else [])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "django_htmx",
    "template_partials",
    "django_q",
    "csp",
    "dealercrm",
    "routing",
    "leads",
    "service",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
    "dealercrm.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "dealercrm.urls"
AUTHENTICATION_BACKENDS = ["dealercrm.auth.CachedPermissionsBackend"]
WSGI_APPLICATION = "dealercrm.wsgi.application"

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


# Database: SQLite (WAL) on a fresh checkout; DATABASE_URL=postgres://... for production.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'dealercrm.sqlite3'}",
        # Opening a connection per request cuts PostgreSQL throughput about threefold here
        # (PLATFORM.md), so connections are kept and health-checked before reuse.
        conn_max_age=int(os.environ.get("CONN_MAX_AGE", "60")),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # SQLite ignores SELECT ... FOR UPDATE; taking the write lock when a transaction begins
        # is what keeps two writers from interleaving a read-check-write on the same lead.
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        # WAL lets pages read while a write is under way; synchronous stays FULL (the default)
        # so that a committed lead survives a power cut.
        "init_command": "PRAGMA journal_mode=WAL;",
    }
    # The lead reports' covering index carries its extra columns on PostgreSQL only; on SQLite
    # it is a plain index on the creation time, which is all an embedded database needs.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# A Redis server shared by every app server and task cluster (redis://host:6379/0). Without it
# (one process: `make run`) the cache lives in memory and tasks queue in the database.
REDIS_URL = os.environ.get("REDIS_URL", "")

# The cache holds rate-limit counters, permission sets and routing settings. Several app servers
# must share it, or each would count and invalidate on its own: then it is Redis.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "dealercrm",
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# How many requests one client may make (django-ratelimit's "count/period"): the public web
# form per address, each intake endpoint per integration account, failed sign-ins per username
# and per address (a showroom signs in from one address, so that limit is wider).
RATE_LIMITS = {
    "web_form": os.environ.get("RATE_LIMIT_WEB_FORM", "10/m"),
    "intake": os.environ.get("RATE_LIMIT_INTAKE", "3000/m"),
    "sign_in_username": os.environ.get("RATE_LIMIT_SIGN_IN_USERNAME", "5/15m"),
    "sign_in_address": os.environ.get("RATE_LIMIT_SIGN_IN_ADDRESS", "50/15m"),
}
# Behind a reverse proxy every request comes from the proxy: name the header that carries the
# client's address (X-Real-IP in the nginx example of docs/deploy.md).
CLIENT_ADDRESS_HEADER = os.environ.get("CLIENT_ADDRESS_HEADER", "")
if CLIENT_ADDRESS_HEADER:
    RATELIMIT_IP_META_KEY = "HTTP_" + CLIENT_ADDRESS_HEADER.upper().replace("-", "_")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
# How service money is written on pages, in exports' headers and in messages: "$1,234.50".
CURRENCY_SYMBOL = os.environ.get("CURRENCY_SYMBOL", "$")
USE_I18N = True
USE_TZ = True

# Region assumed for phone numbers written without a country code (ISO 3166-1 alpha-2).
PHONE_DEFAULT_REGION = os.environ.get("PHONE_DEFAULT_REGION", "US")

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]

REST_FRAMEWORK = {
    # Integrations post with a token (`manage.py drf_create_token USER`); people use the session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "dealercrm.api.exception_handler",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "dealercrm API",
    "DESCRIPTION": (
        "Lead intake (JSON, ADF/XML, call tracking), website activity, and lead reads. "
        "Authenticate with `Authorization: Token <key>`."
    ),
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # The docs page loads Swagger UI from our own static files, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name for the statuses wherever they appear (status, from_status, to_status).
    "ENUM_NAME_OVERRIDES": {
        "LeadStatusEnum": "leads.models.LeadStatus",
        "ServiceOpportunityStatusEnum": "service.models.ServiceOpportunity.Status",
        "VehicleConditionEnum": ["new", "used"],
        "RoutingOutcomeEnum": ["assigned", "pool"],
        "IntakeOutcomeEnum": ["created", "merged", "already_received"],
        "ReportValueKindEnum": "leads.reports.base.Kind",
    },
}

# django-q2 runs scheduled and background work. Its queue is the database (the ORM broker), which
# every task cluster shares: a cluster takes a task by moving its lock `retry` seconds ahead and
# deletes it once the task has finished, so a task whose worker died (killed, out of memory, its
# machine lost) is taken again, by any cluster, when `retry` has passed. django-q2's Redis broker
# pops a task off its list when a cluster fetches it and never acknowledges it: a task that dies
# with its worker is lost. So REDIS_URL gives the shared cache, and the broker is Redis only when
# Q_BROKER=redis asks for it, trading redelivery for latency (docs/deploy.md).
Q_BROKER = os.environ.get("Q_BROKER") or "orm"
if Q_BROKER not in {"orm", "redis"} or (Q_BROKER == "redis" and not REDIS_URL):
    raise ImproperlyConfigured(
        f"Q_BROKER must be orm or redis (redis needs REDIS_URL), not {Q_BROKER!r}"
    )
# A task still running after `timeout` seconds is stopped; one not acknowledged `retry` seconds
# after it was taken is delivered again, so retry must exceed timeout, or a long task would be
# handed to a second worker while the first still runs it.
Q_TIMEOUT = int(os.environ.get("Q_TIMEOUT") or "300")
Q_RETRY = int(os.environ.get("Q_RETRY") or str(Q_TIMEOUT + 60))
if Q_RETRY <= Q_TIMEOUT:
    raise ImproperlyConfigured(
        f"Q_RETRY ({Q_RETRY} s) must be longer than Q_TIMEOUT ({Q_TIMEOUT} s)."
    )
Q_CLUSTER = {
    "name": "dealercrm",
    **({"redis": REDIS_URL} if Q_BROKER == "redis" else {"orm": "default"}),
    "workers": int(os.environ.get("Q_WORKERS", "2")),
    "timeout": Q_TIMEOUT,
    "retry": Q_RETRY,
    # Attempts that ended with an error (a killed worker's attempt ends with none, and is always
    # delivered again): after the third, the task is acknowledged and stays failed.
    "max_attempts": 3,
    "catch_up": False,
    # Successful results are not kept (-1; 0 would keep every one, and keeping them slows the
    # cluster about sixfold here, PLATFORM.md). Failed tasks are always kept. Sweeps keep their
    # own history (SweepRun).
    "save_limit": -1,
}

# E-mail: notifications go out through Django's backend. A developer's machine prints them to the
# console; production speaks SMTP to EMAIL_HOST.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT") or "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
# A mail server that stops answering must not hold a task worker until django-q2 kills it.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT") or "10")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "dealercrm <noreply@localhost>")
# Where people reach this site, for absolute links in e-mails (no trailing slash).
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# Content Security Policy (django-csp), in every environment so that a page breaking it shows up
# in development and in the browser tests: scripts, styles and images from this site only (htmx,
# Swagger UI and the charts are served from our own static files), no plugins, no framing.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
SESSION_COOKIE_HTTPONLY = True
# htmx sends the CSRF token from the page (hx-headers on <body>); no script reads the cookie.
CSRF_COOKIE_HTTPONLY = True

if not DEBUG:
    # Load balancers call the health check over plain HTTP on the app server itself.
    SECURE_REDIRECT_EXEMPT = [r"^health/$"]
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
