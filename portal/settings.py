"""One settings module, read from the environment (django-environ).

Defaults are safe for production (DEBUG off, secure cookies, HSTS, SSL redirect); `make run`
sets DJANGO_DEBUG=true for the local demo. Every variable is listed in `.env.example` and in the
README's environment table.
"""
import ipaddress
import os
import re
from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=False)
# pytest sets PYTEST_VERSION for the whole session: the test client and the live server speak
# plain HTTP, so the HTTPS redirect is off there (everything else stays as in production).
TESTING = "PYTEST_VERSION" in os.environ

if DEBUG or TESTING:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="insecure-local-development-key-" + "x" * 40)
else:
    SECRET_KEY = env.str("DJANGO_SECRET_KEY")

ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # django.contrib.admin, signing in through allauth + 2FA
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "phonenumber_field",
    "csp",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "portal",
    "accounts",
    "operators",
    "members",
    "charging",
    "billing",
    "payouts",
    "dashboards",
    "credentials",
    "ninja",
    "api",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Shared dashboard links (/d/…): no portal cookie in, none out, their own strict headers.
    "dashboards.public.PublicLinkMiddleware",
    # Content-Security-Policy on every response, also on the 400s of the encoding check below.
    "csp.middleware.CSPMiddleware",
    # Refuses (400) a request declaring a charset other than UTF-8, or not UTF-8, before anything parses it.
    "portal.middleware.RequestEncodingMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "portal.audit.AuditContextMiddleware",
    "api.middleware.ApiErrorBodyMiddleware",  # (/api/v1/: the error body for 404s and 405s ninja does not write)
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "portal.context_processors.shell",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"]["ATOMIC_REQUESTS"] = False
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "accounts.User"

AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
if TESTING:
    PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

LANGUAGE_CODE = "en"
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Europe/Copenhagen")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG or TESTING
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
MEDIA_ROOT = env.path("DJANGO_MEDIA_ROOT", default=BASE_DIR / "media")

# --- Security (safe production defaults; `make run` turns DEBUG on locally) ------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not (DEBUG or TESTING))
SESSION_COOKIE_SECURE = env.bool("DJANGO_SECURE_COOKIES", default=not (DEBUG or TESTING))
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp; docs/security.md). Scripts, styles, images, fonts and
# requests only from the portal itself; no inline script, style or event handler anywhere (the
# templates keep to it and a test scans them); no plugins; the portal is never framed; forms
# post only to the portal. `data:` images: the authenticator-app QR code of allauth's two-factor
# set-up is an SVG data URI. The same policy in debug, tests and production, so a page that
# breaks under it breaks in the browser tests first.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "frame-ancestors": [NONE],
        "form-action": [SELF],
    },
}

# --- Email ------------------------------------------------------------------------------------
vars().update(env.email_url("EMAIL_URL", default="consolemail://"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="CPO Portal <no-reply@portal.localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# --- Accounts (django-allauth) ------------------------------------------------------------------
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "account_login"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[CPO Portal] "
ACCOUNT_ADAPTER = "accounts.adapter.AccountAdapter"
ACCOUNT_FORMS = {"signup": "members.forms.SignupForm"}  # the invited email is fixed when signing up by link
# The same limits in tests as in production (tests clear the cache between tests). allauth's
# "login_failed" now only limits wrong two-factor codes (per address, and per user); wrong
# passwords are counted in the buckets below instead (accounts/signin_limits.py, docs/security.md).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
}
_LOGIN_LIMITS = {  # bucket: (environment variable, default, counted per)
    # unknown device: all accounts from one client address
    "address": ("DJANGO_LOGIN_LIMIT_ADDRESS", "10/m/ip,60/h/ip", "ip"),
    # unknown device: one account from one client address
    "account_address": ("DJANGO_LOGIN_LIMIT_ACCOUNT_ADDRESS", "5/5m/key", "key"),
    # unknown devices: one account from every address together (ceiling against many addresses)
    "account": ("DJANGO_LOGIN_LIMIT_ACCOUNT", "100/h/key", "key"),
    # a known device of the account (signed cookie after a full sign-in): only its own bucket
    "known_device": ("DJANGO_LOGIN_LIMIT_KNOWN_DEVICE", "10/5m/key", "key"),
}
PORTAL_LOGIN_FAILED_LIMITS = {}
for _bucket, (_variable, _default, _per) in _LOGIN_LIMITS.items():
    # checked at start-up: a malformed value would otherwise answer 500 to every sign-in
    PORTAL_LOGIN_FAILED_LIMITS[_bucket] = env.str(_variable, default=_default)
    for _rate in PORTAL_LOGIN_FAILED_LIMITS[_bucket].split(","):
        if not re.fullmatch(rf"[1-9]\d*/(\d+(\.\d+)?)?[smhd]/{_per}", _rate.strip()):
            raise ImproperlyConfigured(
                f"{_variable}: {_rate.strip()!r} is not a limit like 5/5m/{_per} "
                f"(amount/period/{_per}, several separated by commas; periods in s, m, h, d)."
            )
PORTAL_KNOWN_DEVICE_COOKIE_NAME = "portal_device"
PORTAL_KNOWN_DEVICE_COOKIE_AGE = 180 * 24 * 3600  # seconds
# Staff must have two-factor authentication to use /admin/ (portal/admin_site.py). On unless
# DEBUG: the local demo's staff account has no authenticator app.
PORTAL_ADMIN_REQUIRE_MFA = env.bool("DJANGO_ADMIN_REQUIRE_MFA", default=not DEBUG)
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "CPO Portal"

PHONENUMBER_DEFAULT_REGION = env.str("PHONENUMBER_DEFAULT_REGION", default="DK")
PHONENUMBER_DB_FORMAT = "E164"
PHONENUMBER_DEFAULT_FORMAT = "INTERNATIONAL"

# --- Client address behind a reverse proxy (portal/client_ip.py) -------------------------------
# IPs / CIDR networks of the proxies in front of gunicorn. X-Forwarded-For is read only when the
# request comes from one of them (rightmost address that is not a trusted proxy). Empty: the
# header is ignored and REMOTE_ADDR is the client.
TRUSTED_PROXIES = env.list("DJANGO_TRUSTED_PROXIES", default=[])
for _proxy in TRUSTED_PROXIES:  # fail at start-up, not on the first request
    try:
        ipaddress.ip_network(_proxy.strip(), strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"DJANGO_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network.") from None

# --- Cache: shared by every worker (sign-in limits); Redis when REDIS_URL is set ---------------
REDIS_URL = env.str("REDIS_URL", default="")
# Tests share the Redis database: each pytest(-xdist) process gets its own prefix and
# tests/conftest.py deletes that prefix's keys around every test.
CACHE_KEY_PREFIX = "test-" + os.environ.get("PYTEST_XDIST_WORKER", "main") if TESTING else "portal"
if REDIS_URL:
    CACHES = {"default": {
        # RedisCache that falls back to this process's memory while Redis is unreachable, so an
        # outage neither answers 500 to every sign-in nor switches the limits off (portal/cache.py)
        "BACKEND": "portal.cache.FallbackRedisCache",
        "LOCATION": REDIS_URL,
        "KEY_PREFIX": CACHE_KEY_PREFIX,
        # a hung Redis must not hold every sign-in for long
        "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 2},
    }}
else:  # one process only (make run, tests on SQLite)
    CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "KEY_PREFIX": CACHE_KEY_PREFIX,
    }}

# --- Celery ---------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
# The partner API's request counts per key (api/ratelimit.py): in Redis when set, else per process
API_RATE_LIMIT_REDIS_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE = {
    # Membership expiries reached, and reminders 7 days and 1 day ahead (members/tasks.py).
    "members-expiry-daily": {"task": "members.process_membership_expiry", "schedule": crontab(hour=6, minute=0)},
    # The monthly close of the previous month, one task per operator (billing/tasks.py).
    "billing-monthly-close": {"task": "billing.close_month", "schedule": crontab(day_of_month=1, hour=3, minute=0)},
    # Shared dashboards' access log rows older than 180 days (dashboards/sharing.py).
    "dashboards-prune-access-log": {"task": "dashboards.prune_access_log", "schedule": crontab(hour=4, minute=30)},
    # Large CSV exports: files past their keeping time deleted, jobs that never ran or whose worker
    # died delivered again (charging/exports.py).
    "charging-exports-upkeep": {"task": "charging.prune_exports", "schedule": crontab(minute="*/15")},
    # Partner API tokens a day past their expiry (api/services.py).
    "api-prune-tokens": {"task": "api.prune_tokens", "schedule": crontab(hour=4, minute=45)},
}

# --- Logging ------------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    # Shared dashboard links carry their token in the path: log lines show only its end.
    "filters": {"link_tokens": {"()": "portal.log_filters.RedactLinkTokens"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "filters": ["link_tokens"]}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}

PORTAL_NAME = "CPO Portal"

# --- Charging: plausibility bounds of one imported charge (docs/charging.md) --------------------
# A CDR beyond any of them is refused with its reason in the import report, never credited.
CHARGING_MAX_KWH_PER_CHARGE = Decimal(env.str("CHARGING_MAX_KWH_PER_CHARGE", default="1000"))
CHARGING_MAX_CHARGE_HOURS = Decimal(env.str("CHARGING_MAX_CHARGE_HOURS", default="72"))
# In EUR, converted to the wallet's currency with the reference rates (CHARGING_FX_RATES).
# CSV exports: up to this many rows are made during the request; more become a background job
# with a progress bar and a download link, kept this many days (docs/charging.md).
CHARGING_EXPORT_INLINE_MAX_ROWS = env.int("CHARGING_EXPORT_INLINE_MAX_ROWS", default=100_000)
CHARGING_EXPORT_KEEP_DAYS = env.int("CHARGING_EXPORT_KEEP_DAYS", default=7)
CHARGING_MAX_PRICE_PER_KWH_EUR = Decimal(env.str("CHARGING_MAX_PRICE_PER_KWH_EUR", default="10"))
# Highest plausible VAT as a share of the price excluding VAT (the highest rate in Europe is 27 %).
CHARGING_MAX_VAT_RATE = Decimal(env.str("CHARGING_MAX_VAT_RATE", default="0.30"))

# --- Credentials (third-party platform secrets, encrypted at rest; docs/credentials.md) ----------
# Fernet keys, comma-separated, newest first: the first encrypts, all decrypt (key rotation).
CREDENTIALS_ENCRYPTION_KEYS = env.list("CREDENTIALS_ENCRYPTION_KEYS", default=[])
if not CREDENTIALS_ENCRYPTION_KEYS and (DEBUG or TESTING):
    # A fixed, public development key so the demo and the tests work without setup (same
    # derivation as credentials.crypto.DEVELOPMENT_KEY). Never used when DEBUG is off.
    import base64
    import hashlib

    CREDENTIALS_ENCRYPTION_KEYS = [
        base64.urlsafe_b64encode(hashlib.sha256(b"cpo-portal development credentials key").digest()).decode()
    ]
