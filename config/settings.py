"""Typed settings read from the environment (FIELDREPORT_*), with a test variant."""

from __future__ import annotations

import os
from typing import overload


@overload
def _env(name: str) -> str | None: ...
@overload
def _env(name: str, default: str) -> str: ...
def _env(name: str, default: str | None = None) -> str | None:
    return os.environ.get(f"FIELDREPORT_{name}", default)


def _int(name: str, default: int) -> int:
    return int(_env(name, str(default)))


def _float(name: str, default: float) -> float:
    return float(_env(name, str(default)))


def _bool(name: str, default: bool) -> bool:
    return (_env(name, "1" if default else "0") or "").lower() in {"1", "true", "yes", "on"}


class Config:
    """Every knob of a deployment; each reads FIELDREPORT_<NAME> (see config/example.env)."""

    def __init__(self) -> None:
        self.SECRET_KEY = _env("SECRET_KEY")
        self.DEMO_MODE = _bool("DEMO_MODE", False)
        self.DATABASE_URL = _env("DATABASE_URL", "postgresql+psycopg2://postgres@127.0.0.1:5432/fieldreport")
        self.DB_POOL_SIZE = _int("DB_POOL_SIZE", 5)
        self.DATABASE_READ_URL = _env("DATABASE_READ_URL")  # a streaming replica, optional
        self.REDIS_URL = _env("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.QUEUE_PREFIX = _env("QUEUE_PREFIX", "fieldreport")
        self.JOB_TIMEOUT = _int("JOB_TIMEOUT", 120)
        # Longest one SQL statement may run, in seconds (PostgreSQL statement_timeout); 0 = no
        # limit. Workers use JOB_TIMEOUT when it is 0: they run jobs in-process, where RQ's
        # timeout cannot interrupt a call waiting on the database (workers/main.py).
        self.DB_STATEMENT_TIMEOUT = _int("DB_STATEMENT_TIMEOUT", 0)
        self.JOB_RETRIES = _int("JOB_RETRIES", 5)
        self.S3_ENDPOINT = _env("S3_ENDPOINT", "127.0.0.1:9000")
        self.S3_PUBLIC_ENDPOINT = _env("S3_PUBLIC_ENDPOINT") or self.S3_ENDPOINT
        self.S3_ACCESS_KEY = _env("S3_ACCESS_KEY", "fieldreport")
        self.S3_SECRET_KEY = _env("S3_SECRET_KEY")
        self.S3_SECURE = _bool("S3_SECURE", False)
        self.S3_REGION = _env("S3_REGION", "us-east-1")
        self.S3_BUCKET = _env("S3_BUCKET", "fieldreport")
        # Personal data (Decree 13/2023): months after a report is finished (closed, or resolved,
        # rejected or marked duplicate and left so) until the retention job anonymises it; 0 = never.
        self.RETENTION_MONTHS = _int("RETENTION_MONTHS", 24)
        # Zalo Official Account channel: off unless ZALO_OA_SECRET is set.
        self.ZALO_APP_ID = _env("ZALO_APP_ID", "")
        self.ZALO_APP_SECRET = _env("ZALO_APP_SECRET", "")  # OAuth: refreshing the access token
        self.ZALO_OA_SECRET = _env("ZALO_OA_SECRET", "")  # webhook signatures
        self.ZALO_ACCESS_TOKEN = _env("ZALO_ACCESS_TOKEN", "")
        self.ZALO_REFRESH_TOKEN = _env("ZALO_REFRESH_TOKEN", "")
        self.ZALO_API_URL = _env("ZALO_API_URL", "https://openapi.zalo.me")
        self.ZALO_OAUTH_URL = _env("ZALO_OAUTH_URL", "https://oauth.zaloapp.com")
        self.ZALO_MAX_SKEW_SECONDS = _int("ZALO_MAX_SKEW_SECONDS", 300)
        self.ZALO_CONVERSATION_MINUTES = _int("ZALO_CONVERSATION_MINUTES", 60)
        self.ZALO_FETCH_TIMEOUT = _float("ZALO_FETCH_TIMEOUT", 5.0)
        self.ZALO_CATEGORY = _env("ZALO_CATEGORY", "other")  # messages carry no category: triage
        # Short, explicit timeouts: a hung server answers 503 in seconds, never holds threads.
        self.S3_CONNECT_TIMEOUT = _float("S3_CONNECT_TIMEOUT", 2.0)
        self.S3_READ_TIMEOUT = _float("S3_READ_TIMEOUT", 5.0)
        self.BREAKER_FAILURES = _int("BREAKER_FAILURES", 3)
        self.BREAKER_OPEN_SECONDS = _float("BREAKER_OPEN_SECONDS", 10.0)
        self.DB_CONNECT_TIMEOUT = _int("DB_CONNECT_TIMEOUT", 3)
        self.REDIS_TIMEOUT = _float("REDIS_TIMEOUT", 3.0)
        self.RESCUE_AFTER_SECONDS = _int("RESCUE_AFTER_SECONDS", 60)
        self.PRESIGN_SECONDS = _int("PRESIGN_SECONDS", 900)
        self.PROVINCE_CODE = _env("PROVINCE_CODE", "66")
        # Several provinces in one deployment: "66,56" or "all" (empty: PROVINCE_CODE alone).
        self.PROVINCES = _env("PROVINCES", "")
        self.TIMEZONE = _env("TIMEZONE", "Asia/Ho_Chi_Minh")
        self.OFFICE_HOURS = _env("OFFICE_HOURS", "07:30-11:30,13:30-17:00")
        self.PHOTO_MAX_BYTES = _int("PHOTO_MAX_BYTES", 15 * 1024 * 1024)
        self.PHOTO_MAX_COUNT = _int("PHOTO_MAX_COUNT", 6)
        # Up to 200 MP phone sensors; JPEGs are decoded scaled, so what memory sees is the
        # decode bound (other formats are decoded whole and refused past it).
        self.PHOTO_MAX_PIXELS = _int("PHOTO_MAX_PIXELS", 200_000_000)
        self.PHOTO_MAX_DECODED_PIXELS = _int("PHOTO_MAX_DECODED_PIXELS", 50_000_000)
        # Any request body: all photos at their limit plus the form fields (413 beyond).
        self.MAX_CONTENT_LENGTH = self.PHOTO_MAX_COUNT * self.PHOTO_MAX_BYTES + 2**20
        self.NEARBY_METERS = _float("NEARBY_METERS", 250.0)
        self.BORDER_SNAP_METERS = _float("BORDER_SNAP_METERS", 150.0)
        self.REOPEN_DAYS = _int("REOPEN_DAYS", 7)
        self.TOKEN_TTL_MINUTES = _int("TOKEN_TTL_MINUTES", 60)
        # Sign-in back-off per (username, client): never an account lock (see services/accounts.login).
        self.LOGIN_FREE_FAILURES = _int("LOGIN_FREE_FAILURES", 3)
        self.LOGIN_BACKOFF_SECONDS = _float("LOGIN_BACKOFF_SECONDS", 2.0)
        self.LOGIN_BACKOFF_MAX_SECONDS = _int("LOGIN_BACKOFF_MAX_SECONDS", 900)
        self.LOGIN_FAILURE_MEMORY_SECONDS = _int("LOGIN_FAILURE_MEMORY_SECONDS", 86400)
        self.LOGIN_RATE_PER_IP = _int("LOGIN_RATE_PER_IP", 30)
        self.LOGIN_RATE_WINDOW = _int("LOGIN_RATE_WINDOW", 300)
        self.TRUSTED_PROXIES = _int("TRUSTED_PROXIES", 0)
        self.URGENCY_DEADLINES = _env("URGENCY_DEADLINES", "urgent=4h,simple=3d,standard=10d,complex=15d")
        self.TRIAGE_DEADLINE = _env("TRIAGE_DEADLINE", "8h")
        self.SLA_WARN_FRACTION = _float("SLA_WARN_FRACTION", 0.8)
        self.EXPORT_SYNC_MAX_ROWS = _int("EXPORT_SYNC_MAX_ROWS", 50_000)
        self.INDICATOR_CACHE_SECONDS = _int("INDICATOR_CACHE_SECONDS", 900)
        self.SUBMIT_RATE_PER_HOUR = _int("SUBMIT_RATE_PER_HOUR", 30)
        self.OPEN311_RATE_PER_HOUR = _int("OPEN311_RATE_PER_HOUR", 1000)
        self.OPEN311_CONTACT = _env("OPEN311_CONTACT", "Open311 endpoint of fieldreport")
        self.OPEN311_KEY_SERVICE = _env("OPEN311_KEY_SERVICE", "API keys are issued by the administrators.")
        # Citizen sign-in by phone (one-time code by SMS)
        self.CITIZEN_SESSION_DAYS = _int("CITIZEN_SESSION_DAYS", 30)
        self.OTP_TTL_SECONDS = _int("OTP_TTL_SECONDS", 300)
        self.OTP_MAX_TRIES = _int("OTP_MAX_TRIES", 5)
        self.OTP_RESEND_SECONDS = _int("OTP_RESEND_SECONDS", 60)
        self.OTP_PER_PHONE_PER_HOUR = _int("OTP_PER_PHONE_PER_HOUR", 5)
        self.OTP_PER_CLIENT_PER_HOUR = _int("OTP_PER_CLIENT_PER_HOUR", 20)
        self.OTP_CHECKS_PER_CLIENT_PER_HOUR = _int("OTP_CHECKS_PER_CLIENT_PER_HOUR", 60)
        # SMS: "log" (development: the text goes to the log) or "http" (a brand-name SMS gateway)
        self.SMS_PROVIDER = _env("SMS_PROVIDER", "log")
        self.SMS_GATEWAY_URL = _env("SMS_GATEWAY_URL")
        self.SMS_GATEWAY_AUTH = _env("SMS_GATEWAY_AUTH")
        self.SMS_BRANDNAME = _env("SMS_BRANDNAME", "FIELDREPORT")
        self.SMS_OTP_TEMPLATE = _env(
            "SMS_OTP_TEMPLATE", "Ma xac thuc phan anh hien truong: {code}. Hieu luc {minutes} phut."
        )
        # Citizen notifications: Web Push (VAPID), SMS to signed-in phones, e-mail (SMTP_URL)
        # The public root URL (https://phananh.example.vn): links in messages, Open311
        # discovery and feeds. Never taken from a request's Host header, which a client forges.
        self.PUBLIC_BASE_URL = (_env("PUBLIC_BASE_URL", "") or "").rstrip("/")
        self.VAPID_PRIVATE_KEY_FILE = _env("VAPID_PRIVATE_KEY_FILE")
        self.VAPID_SUBJECT = _env("VAPID_SUBJECT", "mailto:admin@localhost")
        self.PUSH_ALLOWED_ORIGINS = _env(
            "PUSH_ALLOWED_ORIGINS",
            (
                "https://fcm.googleapis.com,https://updates.push.services.mozilla.com,"
                "https://*.push.apple.com,https://*.notify.windows.com"
            ),
        )
        # A caller's SMS receipt may carry a signed link to add photos to their report, valid this long.
        self.CALL_PHOTO_LINK_DAYS = _int("CALL_PHOTO_LINK_DAYS", 7)
        self.SMS_EVENTS = _env("SMS_EVENTS", "info_requested,extended,resolved,rejected,duplicate,reopened")
        self.SMS_NOTIFY_TEMPLATE = _env("SMS_NOTIFY_TEMPLATE", "{message} {url}")
        self.SUBSCRIBE_RATE_PER_HOUR = _int("SUBSCRIBE_RATE_PER_HOUR", 60)
        self.FOLLOW_RATE_PER_HOUR = _int("FOLLOW_RATE_PER_HOUR", 30)  # "me too" per client
        self.SMTP_URL = _env("SMTP_URL")
        self.NOTIFY_WEBHOOK_URL = _env("NOTIFY_WEBHOOK_URL")
        self.MAP_TILE_URL = _env("MAP_TILE_URL")
        self.MAP_TILE_ATTRIBUTION = _env("MAP_TILE_ATTRIBUTION")
        self.DEMO_PASSWORD = _env("DEMO_PASSWORD")
        self.LOG_JSON = _bool("LOG_JSON", True)
        self.METRICS_TOKEN = _env("METRICS_TOKEN", "")  # unset: /metrics answers loopback only
        # Cookies (the console session, the language) only over HTTPS, except in local
        # development: demo mode, or a public URL that is plain http.
        local = self.DEMO_MODE or self.PUBLIC_BASE_URL.startswith("http://")
        self.COOKIE_SECURE = _bool("COOKIE_SECURE", not local)
        self.SESSION_COOKIE_SECURE = self.COOKIE_SECURE
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.TESTING = False
        # flask-smorest / OpenAPI
        self.API_TITLE = "fieldreport"
        self.API_VERSION = "v1"
        self.OPENAPI_VERSION = "3.0.3"
        self.OPENAPI_URL_PREFIX = "/api/v1"
        self.OPENAPI_JSON_PATH = "openapi.json"
        self.OPENAPI_SWAGGER_UI_PATH = "docs"
        self.OPENAPI_SWAGGER_UI_URL = "/static/vendor/swagger-ui/"
        self.JSON_SORT_KEYS = False

    def as_dict(self) -> dict:
        return {k: v for k, v in vars(self).items() if k.isupper()}

    def missing_secrets(self) -> list[str]:
        """Names of required secrets that are unset (checked by create_app, not at import)."""
        return [n for n in ("SECRET_KEY", "S3_SECRET_KEY") if not getattr(self, n)]


class TestConfig(Config):
    """Settings for the test suite: same components, separate database and queue prefix."""

    def __init__(self) -> None:
        super().__init__()
        self.TESTING = True
        self.SECRET_KEY = self.SECRET_KEY or "test-secret"
        self.DEMO_MODE = True
        self.COOKIE_SECURE = self.SESSION_COOKIE_SECURE = _bool("COOKIE_SECURE", False)
        self.DEMO_PASSWORD = self.DEMO_PASSWORD or "demo-password"
        self.QUEUE_PREFIX = "fieldreport-test"
        self.INDICATOR_CACHE_SECONDS = 0  # tests roll data back; a cached table would outlive it
        self.LOG_JSON = False
