"""Settings come from the environment; these run Django in a child process with a given one."""

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "false",
    "SECRET_KEY": "a-production-secret-that-is-long-and-random-0123456789-abcdefghij",
    "ALLOWED_HOSTS": "crm.example-dealer.com",
}


def run(args, **env):
    clean = {k: v for k, v in os.environ.items() if k not in {"DEBUG", "SECRET_KEY"}}
    clean.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "dealercrm.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def settings_value(expression, **env):
    code = f"import django, json; django.setup(); from django.conf import settings; print(json.dumps({expression}, default=str))"  # noqa: E501
    result = run(["-c", code], **env)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_debug_off_without_a_secret_key_refuses_to_start():
    result = run(["manage.py", "check"], DEBUG="false")

    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_check_deploy_is_clean_with_production_settings():
    result = run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **PRODUCTION)

    assert result.returncode == 0, result.stderr
    assert "no issues" in result.stdout


def test_a_fresh_checkout_uses_sqlite_in_wal_mode_with_immediate_transactions():
    database = settings_value('settings.DATABASES["default"]')

    assert database["ENGINE"] == "django.db.backends.sqlite3"
    assert database["OPTIONS"]["transaction_mode"] == "IMMEDIATE"
    assert "journal_mode=WAL" in database["OPTIONS"]["init_command"]


def test_database_url_selects_postgresql_and_keeps_connections_open():
    database = settings_value(
        'settings.DATABASES["default"]',
        DATABASE_URL="postgres://crm:secret@db.internal:5433/dealercrm",
    )

    assert database["ENGINE"] == "django.db.backends.postgresql"
    assert (database["HOST"], database["PORT"], database["NAME"]) == (
        "db.internal",
        5433,
        "dealercrm",
    )
    assert database["CONN_MAX_AGE"] == 60
    assert database["CONN_HEALTH_CHECKS"] is True


def test_a_malformed_boolean_is_named_in_the_error():
    result = run(["manage.py", "check"], DEBUG="maybe")

    assert result.returncode != 0
    assert "DEBUG must be true or false, not 'maybe'" in result.stderr


def test_time_zone_support_is_on():
    assert settings_value("settings.USE_TZ") is True


def test_email_prints_to_the_console_in_development_and_speaks_smtp_in_production():
    email = "settings.EMAIL_BACKEND, settings.EMAIL_PORT, settings.EMAIL_USE_TLS, settings.SITE_URL"

    assert settings_value(f"[{email}]") == [
        "django.core.mail.backends.console.EmailBackend",
        25,
        False,
        "http://127.0.0.1:8000",
    ]
    assert settings_value(
        f"[{email}, settings.EMAIL_HOST, settings.DEFAULT_FROM_EMAIL]",
        **PRODUCTION,
        EMAIL_HOST="smtp.example-dealer.com",
        EMAIL_PORT="587",
        EMAIL_USE_TLS="true",
        DEFAULT_FROM_EMAIL="CRM <crm@example-dealer.com>",
        SITE_URL="https://crm.example-dealer.com/",
    ) == [
        "django.core.mail.backends.smtp.EmailBackend",
        587,
        True,
        "https://crm.example-dealer.com",
        "smtp.example-dealer.com",
        "CRM <crm@example-dealer.com>",
    ]


def test_production_sends_hsts_and_only_secure_http_only_cookies():
    production = settings_value(
        "[settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS, "
        "settings.SECURE_SSL_REDIRECT, settings.SESSION_COOKIE_SECURE, "
        "settings.CSRF_COOKIE_SECURE, settings.SESSION_COOKIE_HTTPONLY, "
        "settings.CSRF_COOKIE_HTTPONLY, settings.SECURE_REDIRECT_EXEMPT]",
        **PRODUCTION,
    )

    assert production == [31536000, True, True, True, True, True, True, ["^health/$"]]


def test_the_content_security_policy_allows_only_this_sites_own_files():
    directives = settings_value('settings.CONTENT_SECURITY_POLICY["DIRECTIVES"]', **PRODUCTION)

    assert directives["script-src"] == directives["style-src"] == ["'self'"]
    assert directives["object-src"] == directives["frame-ancestors"] == ["'none'"]


def test_redis_url_makes_the_cache_shared_and_the_task_queue_stays_in_the_database():
    shared = settings_value(
        '[settings.CACHES["default"], settings.Q_CLUSTER.get("redis"), '
        'settings.Q_CLUSTER.get("orm")]',
        REDIS_URL="redis://cache.internal:6379/0",
    )
    alone = settings_value('[settings.CACHES["default"]["BACKEND"], settings.Q_CLUSTER["orm"]]')

    assert shared == [
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://cache.internal:6379/0",
            "KEY_PREFIX": "dealercrm",
        },
        # django-q2's Redis broker never acknowledges a task: one whose worker is killed would
        # be lost. The database queue delivers it again after `retry` (docs/deploy.md).
        None,
        "default",
    ]
    assert alone == ["django.core.cache.backends.locmem.LocMemCache", "default"]


def test_the_redis_task_broker_is_taken_only_when_asked_for():
    chosen = settings_value(
        '[settings.Q_CLUSTER.get("redis"), settings.Q_CLUSTER.get("orm")]',
        REDIS_URL="redis://cache.internal:6379/0",
        Q_BROKER="redis",
    )
    without_redis = run(["manage.py", "check"], Q_BROKER="redis")

    assert chosen == ["redis://cache.internal:6379/0", None]
    assert without_redis.returncode != 0
    assert "Q_BROKER must be orm or redis (redis needs REDIS_URL)" in without_redis.stderr


def test_a_task_is_delivered_again_only_after_it_could_have_finished():
    default = settings_value('[settings.Q_CLUSTER["timeout"], settings.Q_CLUSTER["retry"]]')
    chosen = settings_value(
        '[settings.Q_CLUSTER["timeout"], settings.Q_CLUSTER["retry"]]', Q_TIMEOUT="20"
    )
    overlapping = run(["manage.py", "check"], Q_TIMEOUT="60", Q_RETRY="60")

    assert default == [300, 360]
    assert chosen == [20, 80]
    assert overlapping.returncode != 0
    assert "Q_RETRY (60 s) must be longer than Q_TIMEOUT (60 s)" in overlapping.stderr


def test_the_client_address_header_of_the_reverse_proxy_is_configurable():
    assert (
        settings_value("settings.RATELIMIT_IP_META_KEY", CLIENT_ADDRESS_HEADER="X-Real-IP")
        == "HTTP_X_REAL_IP"
    )
