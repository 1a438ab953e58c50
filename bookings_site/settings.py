"""Settings for the booking back office: one module, driven by the environment.

Every value comes from an environment variable (see ``.env.example``) with a safe
default. ``DEBUG`` is off unless set, and with ``DEBUG`` off a ``SECRET_KEY`` must be
given: the process refuses to start rather than run with a guessable key.
"""

import sys
from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from whitenoise.compress import Compressor

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a fixed key is harmless with DEBUG on and keeps sessions
    # valid across restarts of `make run`.
    SECRET_KEY = "django-insecure-development-only-key"  # noqa: S105

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# Links in messages; `make run` on another PORT follows it.
SITE_URL = env.str(
    "SITE_URL", default=f"http://127.0.0.1:{env.int('PORT', default=8000)}"
).rstrip("/")

# --- Applications -----------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_q",
    "axes",
    # Our apps. Imports flow offers -> bookings -> partners -> core; all may call
    # notifications, which imports none of them.
    "core",
    "notifications",
    "partners",
    "bookings",
    "offers",
    # The staff workspace (first page, agenda, day sheet): reads every business app.
    "workspace",
    # Domain events and webhooks; like notifications, it imports no business app.
    "events",
    # Above bookings: billing -> bookings -> partners.
    "billing",
]

MIDDLEWARE = [
    # First, so every log line of the request (and the access log) carries its id.
    "bookings_site.middleware.RequestIdMiddleware",
    # Before anything reads the body or looks the path up: a body over
    # MAX_REQUEST_BODY_BYTES is a 413, a NUL in the path or query string a 400.
    "bookings_site.middleware.RequestLimitsMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # API JSON only, never HTML pages with CSRF tokens (BREACH; see README).
    "bookings_site.middleware.ApiCompressionMiddleware",
    "bookings_site.middleware.ContentSecurityPolicyMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Turns a login refused for repeated failures into a 429 (django-axes).
    "axes.middleware.AxesMiddleware",
    # Last, so it bounds the view and its rendering: REQUEST_TIME_BUDGET.
    "bookings_site.middleware.RequestBudgetMiddleware",
]

ROOT_URLCONF = "bookings_site.urls"
WSGI_APPLICATION = "bookings_site.wsgi.application"

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

# --- Database ---------------------------------------------------------------------

# Which kind of process this is: web (gunicorn, runserver), worker (qcluster) or
# a management command. PostgreSQL shows it as application_name in pg_stat_activity.
# bin/web, bin/worker and bin/release (and gunicorn.conf.py) set it explicitly.
PROCESS_ROLE = env.str(
    "PROCESS_ROLE",
    default="worker" if "qcluster" in sys.argv else "web",
)

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
_db = DATABASES["default"]
# Persistent connections, one per web thread, checked before reuse so a restarted
# database or a dropped socket costs one reconnect, not a 500.
_db["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
_db["CONN_HEALTH_CHECKS"] = True
# Django's psycopg pool is opt-in for web processes only. The django-q2 cluster
# forks its workers after Django is set up, and forked children sharing the pool's
# sockets corrupt each other's sessions, so the worker never gets a pool.
DATABASE_POOL = env.bool("DATABASE_POOL", default=False) and PROCESS_ROLE == "web"
if _db["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the web server read while the worker writes; IMMEDIATE transactions
    # take the write lock up front instead of failing with "database is locked"
    # when two processes upgrade a read lock at once.
    _db.setdefault("OPTIONS", {}).update(
        {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
elif _db["ENGINE"] == "django.db.backends.postgresql":
    _db.setdefault("OPTIONS", {}).setdefault("application_name", f"bookings-{PROCESS_ROLE}")
    # Parameters bound by the server, so psycopg prepares a query once it has run
    # DATABASE_PREPARE_THRESHOLD times on a connection: PostgreSQL then executes it from
    # the kept plan. Planning is a fifth of the bookings list's query (1.63 ms a run
    # planned each time, 1.31 ms prepared; README, Performance). Empty turns it off
    # (Django's default, client-side binding), as a pooler in transaction mode needs
    # unless it keeps prepared statements (PgBouncer 1.21+ with max_prepared_statements).
    _prepare = env.str("DATABASE_PREPARE_THRESHOLD", default="5").strip()
    if _prepare:
        if not _prepare.isdigit():
            raise ImproperlyConfigured(
                f"DATABASE_PREPARE_THRESHOLD must be a whole number or empty, not {_prepare!r}"
            )
        _db["OPTIONS"].update(server_side_binding=True, prepare_threshold=int(_prepare))
    if DATABASE_POOL:
        # A pool replaces persistent connections (Django refuses both at once).
        _db["CONN_MAX_AGE"] = 0
        _db["OPTIONS"]["pool"] = {
            "min_size": 1,
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=4),
            "timeout": 10,
        }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache ------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    # Shared by every process (web workers and qcluster) without anything extra to
    # run; `migrate` is followed by `createcachetable` in the Makefile and release.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "django_cache",
        }
    }

# --- Limits on one request ------------------------------------------------------------

# The largest request body accepted, in bytes (a booking of 100 items is about 40 KB).
# Checked against Content-Length before anything is read, and by the API's JSON parser,
# which Django's DATA_UPLOAD_MAX_MEMORY_SIZE alone does not bound.
MAX_REQUEST_BODY_BYTES = env.int("MAX_REQUEST_BODY_BYTES", default=1024 * 1024)
DATA_UPLOAD_MAX_MEMORY_SIZE = MAX_REQUEST_BODY_BYTES
# Seconds one request may take (gunicorn.conf.py sets 20 for the web server; 0, the
# default elsewhere, is no budget). PostgreSQL cancels a statement running past it, and
# a request past it is stopped at its next query with a 503 (RequestBudgetMiddleware).
REQUEST_TIME_BUDGET = env.float("REQUEST_TIME_BUDGET", default=0.0)
if REQUEST_TIME_BUDGET < 0:
    raise ImproperlyConfigured("REQUEST_TIME_BUDGET must be 0 (off) or more.")
if REQUEST_TIME_BUDGET and _db["ENGINE"] == "django.db.backends.postgresql":
    # Set at connection start (no round trip per request). Behind PgBouncer in
    # transaction mode, add "options" to its ignore_startup_parameters and set
    # statement_timeout on the database role instead.
    _db["OPTIONS"]["options"] = f"-c statement_timeout={int(REQUEST_TIME_BUDGET * 1000)}"

# --- Auth -------------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes checks every password login (portal and admin) before Django does.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
# After LOGIN_FAILURE_LIMIT failed logins for one username from one client address,
# that pair is refused for LOGIN_LOCKOUT_SECONDS without the password being checked.
# Keyed on username and address together, so failures from one place never refuse
# the right password typed elsewhere. A success resets the count.
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(seconds=env.int("LOGIN_LOCKOUT_SECONDS", default=15 * 60))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "partners.views.login_locked_out"
# Failures are kept (AccessAttempt, shown in the admin); a row per success is not.
AXES_DISABLE_ACCESS_LOG = True
# The client's address: REMOTE_ADDR, unless TRUSTED_PROXY_COUNT proxies (load
# balancers, CDNs) stand in front, each appending the address it saw to
# X-Forwarded-For. Then the entry the outermost trusted proxy appended is the client:
# whatever a client writes into the header itself comes before it and is ignored.
TRUSTED_PROXY_COUNT = env.int("TRUSTED_PROXY_COUNT", default=0)
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured("TRUSTED_PROXY_COUNT must be 0 or more.")
if TRUSTED_PROXY_COUNT:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("HTTP_X_FORWARDED_FOR", "REMOTE_ADDR")
    # ipware counts the proxies listed in the header: all but the one connecting to us.
    AXES_IPWARE_PROXY_COUNT = TRUSTED_PROXY_COUNT - 1
else:
    AXES_IPWARE_META_PRECEDENCE_ORDER = ("REMOTE_ADDR",)
    AXES_IPWARE_PROXY_COUNT = None
AXES_IPWARE_PROXY_ORDER = "left-most"
# Not strict: a header longer than the trusted chain (a client's own entries in front)
# still yields the entry the trusted proxy appended, instead of no address at all.
IPWARE_STRICT = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- Internationalisation -----------------------------------------------------------

LANGUAGE_CODE = "en-gb"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True

# Where a service happens when neither it nor its vendor says: an IANA name. Services
# are shown and entered in their own zone; TIME_ZONE above is only the admin's clock.
DEFAULT_SERVICE_TIMEZONE = env.str("DEFAULT_SERVICE_TIMEZONE", default="UTC")
try:
    import zoneinfo as _zoneinfo

    _zoneinfo.ZoneInfo(DEFAULT_SERVICE_TIMEZONE)
except (ValueError, _zoneinfo.ZoneInfoNotFoundError) as _error:
    raise ImproperlyConfigured(
        f"DEFAULT_SERVICE_TIMEZONE={DEFAULT_SERVICE_TIMEZONE!r} is not an IANA timezone."
    ) from _error

# The zones the company's services usually happen in, offered first (after the default)
# where a person chooses a service's zone, e.g. the broker portal's request form:
# "Europe/Lisbon,Atlantic/Madeira,Atlantic/Azores". Every IANA zone is offered after them.
SERVICE_TIMEZONES = env.list("SERVICE_TIMEZONES", default=[])
try:
    for _name in SERVICE_TIMEZONES:
        _zoneinfo.ZoneInfo(_name)
except (ValueError, _zoneinfo.ZoneInfoNotFoundError) as _error:
    raise ImproperlyConfigured(
        f"SERVICE_TIMEZONES names {_name!r}, which is not an IANA timezone."
    ) from _error

# --- Vendor answers on time (bookings/deadlines.py) ----------------------------------
# A vendor asked for a service answers within its own response hours (or these), and
# never later than VENDOR_ANSWER_LEAD_HOURS before the service starts; an accepted
# item is confirmed within VENDOR_CONFIRM_HOURS (same lead). Reminders go out at these
# percentages of each window; staff are alerted when it ends.
VENDOR_RESPONSE_HOURS = env.int("VENDOR_RESPONSE_HOURS", default=24)
VENDOR_CONFIRM_HOURS = env.int("VENDOR_CONFIRM_HOURS", default=48)
VENDOR_ANSWER_LEAD_HOURS = env.int("VENDOR_ANSWER_LEAD_HOURS", default=48)
VENDOR_REMINDER_POINTS = sorted(
    {int(p) for p in env.list("VENDOR_REMINDER_POINTS", default=["50", "90"])}
)
if not all(0 < p < 100 for p in VENDOR_REMINDER_POINTS):
    raise ImproperlyConfigured("VENDOR_REMINDER_POINTS are percentages between 1 and 99.")
# How often the worker sweeps for reminders and overdue answers.
VENDOR_DEADLINE_SWEEP_MINUTES = env.int("VENDOR_DEADLINE_SWEEP_MINUTES", default=5)

# --- Static files -------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
# whitenoise serves STATIC_ROOT itself (no nginx): hashed names from the manifest get
# "max-age=315360000, public, immutable", the others WHITENOISE_MAX_AGE; .br and .gz
# siblings made by collectstatic are chosen by Accept-Encoding.
WHITENOISE_MAX_AGE = env.int("WHITENOISE_MAX_AGE", default=0 if DEBUG else 3600)
# collectstatic compresses every file with brotli at its best (slow) quality, and the
# API docs' bundles with their source maps are about 28 MB. Pages only ever link the
# hashed names ({% static %} reads the manifest), so the unhashed copies are dropped
# instead of compressed too, and source maps (fetched by developer tools alone) are
# served uncompressed: the release step takes seconds instead of a minute or more.
WHITENOISE_KEEP_ONLY_HASHED_FILES = True
WHITENOISE_SKIP_COMPRESS_EXTENSIONS = (
    *Compressor.SKIP_COMPRESS_EXTENSIONS,
    "map",
)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env.str(
            "STATICFILES_BACKEND",
            default=(
                "django.contrib.staticfiles.storage.StaticFilesStorage"
                if DEBUG
                else "whitenoise.storage.CompressedManifestStaticFilesStorage"
            ),
        )
    },
}

# --- Email and notifications --------------------------------------------------------

EMAIL_CONFIG = env.email_url("EMAIL_URL", default="consolemail://")
vars().update(EMAIL_CONFIG)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Bookings <bookings@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# Staff notifications go to this address (comma-separated for several) and to the
# members of the staff group concerned.
STAFF_NOTIFICATION_EMAIL = env.list("STAFF_NOTIFICATION_EMAIL", default=[])
# Country (ISO 3166, e.g. PT) in which a phone number typed without "+" is read;
# empty: every number needs its country code (core/phones.py).
PHONE_DEFAULT_REGION = env.str("PHONE_DEFAULT_REGION", default="")

WHATSAPP_API_URL = env.str("WHATSAPP_API_URL", default="https://graph.facebook.com/v21.0").rstrip(
    "/"
)
WHATSAPP_PHONE_NUMBER_ID = env.str("WHATSAPP_PHONE_NUMBER_ID", default="")
WHATSAPP_ACCESS_TOKEN = env.str("WHATSAPP_ACCESS_TOKEN", default="")
WHATSAPP_APP_SECRET = env.str("WHATSAPP_APP_SECRET", default="")
WHATSAPP_VERIFY_TOKEN = env.str("WHATSAPP_VERIFY_TOKEN", default="")
WHATSAPP_TEMPLATE_LANGUAGE = env.str("WHATSAPP_TEMPLATE_LANGUAGE", default="en")

INVITATION_VALID_DAYS = env.int("INVITATION_VALID_DAYS", default=7)

# --- Background tasks (django-q2) ---------------------------------------------------
# One task delivers one notification: a single SMTP or HTTPS exchange with its own
# timeouts (EMAIL_TIMEOUT, WHATSAPP_*_TIMEOUT), so Q_TIMEOUT bounds it with room to
# spare. A task not acknowledged within `retry` seconds (its worker died) is handed
# out again by the ORM broker, so `retry` sits well above `timeout`: a slow task is
# never started a second time while the first is still running.
Q_TIMEOUT = env.int("Q_TIMEOUT", default=30)
Q_WORKERS = env.int("Q_WORKERS", default=2)
Q_CLUSTER = {
    # The queue's name (and the salt of its signed task packages): clusters sharing
    # one broker and one database use the same name.
    "name": env.str("Q_NAME", default="bookings"),
    "workers": Q_WORKERS,
    # A worker process is replaced after this many tasks, or once it has grown past
    # max_rss KiB: whatever a task left behind is given back to the system.
    "recycle": env.int("Q_RECYCLE", default=500),
    "max_rss": env.int("Q_MAX_RSS_KIB", default=256 * 1024),
    "timeout": Q_TIMEOUT,
    "retry": env.int("Q_RETRY", default=Q_TIMEOUT * 3),
    # Broker-level re-runs only happen when a worker dies mid-task; delivery retries
    # with backoff are the outbox's own (NOTIFICATION_* below), so keep this small.
    "max_attempts": 3,
    "ack_failures": True,
    # A schedule missed while no cluster ran runs once, not once per missed slot.
    "catch_up": False,
    # Few tasks wait in a worker's local queue: less to finish on SIGTERM, less held
    # by a cluster that is killed (the broker or the sweep hands them out again).
    "queue_limit": Q_WORKERS * 2,
    "save_limit": 250,
    "poll": 0.2,
    # Tasks the ORM broker hands out per poll (one SELECT for several rows).
    "bulk": env.int("Q_BULK", default=1),
    # Cluster stats go to this cache: the database cache (or Redis) shared by every
    # process, so `qinfo` and the admin see running clusters. A per-process cache
    # (LocMemCache) would hide them.
    "cache": "default",
    "label": "Task queue",
}
if REDIS_URL:
    Q_CLUSTER["redis"] = REDIS_URL
else:
    Q_CLUSTER["orm"] = "default"
if Q_CLUSTER["retry"] < Q_CLUSTER["timeout"] + 10:
    raise ImproperlyConfigured("Q_RETRY must exceed Q_TIMEOUT by at least 10 seconds.")

# --- Notification delivery (see notifications/conf.py) ------------------------------

NOTIFICATION_BACKENDS = {
    "email": "notifications.backends.email.EmailBackend",
    "whatsapp": (
        "notifications.backends.whatsapp.CloudApiBackend"
        if WHATSAPP_ACCESS_TOKEN
        else "notifications.backends.whatsapp.ConsoleBackend"
    ),
}
WHATSAPP_CONNECT_TIMEOUT = env.float("WHATSAPP_CONNECT_TIMEOUT", default=3.05)
WHATSAPP_READ_TIMEOUT = env.float("WHATSAPP_READ_TIMEOUT", default=10.0)
# Transient failures are retried after NOTIFICATION_RETRY_DELAY seconds, doubling
# each time up to NOTIFICATION_RETRY_MAX_DELAY, until NOTIFICATION_MAX_ATTEMPTS.
NOTIFICATION_MAX_ATTEMPTS = env.int("NOTIFICATION_MAX_ATTEMPTS", default=8)
NOTIFICATION_RETRY_DELAY = env.float("NOTIFICATION_RETRY_DELAY", default=60.0)
NOTIFICATION_RETRY_MAX_DELAY = env.float("NOTIFICATION_RETRY_MAX_DELAY", default=3600.0)
# A claim older than this belongs to a worker that died mid-send (django-q2 kills a
# task at Q_TIMEOUT): its send was interrupted, and the kind's policy resends or holds
# the row (README, "Delivery guarantee").
NOTIFICATION_CLAIM_STALE_AFTER = env.float("NOTIFICATION_CLAIM_STALE_AFTER", default=Q_TIMEOUT + 30)
if NOTIFICATION_CLAIM_STALE_AFTER < Q_TIMEOUT + 5:
    raise ImproperlyConfigured("NOTIFICATION_CLAIM_STALE_AFTER must exceed Q_TIMEOUT by 5 s.")
# A new row is normally delivered within a second of its commit; the sweep leaves it
# this long before deciding its enqueue was lost.
NOTIFICATION_SWEEP_GRACE = env.float("NOTIFICATION_SWEEP_GRACE", default=30.0)
NOTIFICATION_RETENTION_DAYS = env.int("NOTIFICATION_RETENTION_DAYS", default=90)

# --- Webhooks (see events/conf.py) ---------------------------------------------------
# Endpoints must be HTTPS at public addresses; true allows HTTP and private, loopback
# and link-local targets (development and tests only: it opens the door to SSRF).
WEBHOOK_ALLOW_PRIVATE_TARGETS = env.bool("WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)
WEBHOOK_CONNECT_TIMEOUT = env.float("WEBHOOK_CONNECT_TIMEOUT", default=3.05)
WEBHOOK_READ_TIMEOUT = env.float("WEBHOOK_READ_TIMEOUT", default=10.0)
# Timeouts, 5xx and 429 are retried after WEBHOOK_RETRY_DELAY seconds, doubling up to
# WEBHOOK_RETRY_MAX_DELAY, until WEBHOOK_MAX_ATTEMPTS (12: about 6 hours in all).
WEBHOOK_MAX_ATTEMPTS = env.int("WEBHOOK_MAX_ATTEMPTS", default=12)
WEBHOOK_RETRY_DELAY = env.float("WEBHOOK_RETRY_DELAY", default=30.0)
WEBHOOK_RETRY_MAX_DELAY = env.float("WEBHOOK_RETRY_MAX_DELAY", default=3600.0)
# An endpoint whose every delivery failed for this long is disabled (never deleted);
# its owner and the WEBHOOK_STAFF_GROUP staff are told.
WEBHOOK_DISABLE_AFTER = env.float("WEBHOOK_DISABLE_AFTER", default=3 * 24 * 3600.0)
WEBHOOK_STAFF_GROUP = env.str("WEBHOOK_STAFF_GROUP", default="Partner managers")
WEBHOOK_CLAIM_STALE_AFTER = env.float("WEBHOOK_CLAIM_STALE_AFTER", default=Q_TIMEOUT + 30)
WEBHOOK_SWEEP_GRACE = env.float("WEBHOOK_SWEEP_GRACE", default=30.0)
# Events (the feed, and each webhook delivery's log) are kept this many days, then purged
# by the daily events task; 0 keeps them for ever. A feed cursor older than that is a 410.
EVENTS_RETENTION_DAYS = env.float("EVENTS_RETENTION_DAYS", default=90)

# --- REST API -----------------------------------------------------------------------

# Called with every audit entry, in the same transaction (core.audit): the
# integrators' domain event for the change.
AUDIT_SUBSCRIBERS = ["events.services.event_record"]

# Which Actor an API request's credentials stand for (core.api.actors asks this).
API_ACTOR_RESOLVER = "partners.api_auth.resolve_actor"

REST_FRAMEWORK = {
    # The base viewset (core/api/viewsets.py) uses these too.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "partners.api_auth.ApiKeyAuthentication",
        "partners.api_auth.CsrfSessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["core.api.permissions.IsApiCaller"],
    "DEFAULT_RENDERER_CLASSES": ["core.api.renderers.OrjsonRenderer"],
    "DEFAULT_PARSER_CLASSES": ["core.api.parsers.BoundedJSONParser"],
    "DEFAULT_THROTTLE_CLASSES": ["core.api.throttling.ApiRateThrottle"],
    "DEFAULT_PAGINATION_CLASS": "core.api.pagination.ApiPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_FILTER_BACKENDS": [
        "core.api.filters.QuickFilterBackend",
        "rest_framework.filters.OrderingFilter",
    ],
    "DEFAULT_SCHEMA_CLASS": "core.api.schema.ApiAutoSchema",
    "EXCEPTION_HANDLER": "core.api.errors.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "DATETIME_FORMAT": "iso-8601",
    "COERCE_DECIMAL_TO_STRING": True,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
# A proven API key is remembered per process for this many seconds, saving a join per
# request; a revoked key (or a deactivated owner's) may work that long. 0 turns it off.
API_KEY_CACHE_SECONDS = env.float("API_KEY_CACHE_SECONDS", default=10.0)
# Requests per key (or per signed-in user) and period: "1200/min"; empty turns it off.
API_RATE_LIMIT = env.str("API_RATE_LIMIT", default="1200/min")
# The rate-limit counters live in this cache: Redis, shared by every worker, when there
# is one. Without Redis they are kept in each process (the limit then applies per
# worker): the database cache would add four queries, two of them writes, per request.
API_THROTTLE_CACHE = env.str("API_THROTTLE_CACHE", default="default" if REDIS_URL else "")
SPECTACULAR_SETTINGS = {
    "TITLE": "Bookings API",
    "DESCRIPTION": (
        "Offers, bookings, booking items, partners and notifications.\n\n"
        "Authenticate with `Authorization: Api-Key <key>` (`manage.py create_api_key`). "
        "POST and PATCH accept an `Idempotency-Key` header: the same key with the same "
        "credentials within 24 hours replays the first response.\n\n"
        "**Events and webhooks.** `GET /api/v1/events/` is the caller's event feed, in "
        "commit order, paged with an opaque cursor (`after`). `POST /api/v1/webhooks/` "
        "registers an HTTPS endpoint; the answer shows its signing secret once. Each event "
        "is POSTed as JSON with the headers `Webhook-Event-Id` (the event's id, the same on "
        "retries and redeliveries), `Webhook-Event-Type`, `Webhook-Timestamp` and "
        "`Webhook-Signature: sha256=<hex>`, the HMAC-SHA256 of `<timestamp>.<raw body>` "
        "keyed with the secret. To verify, in Python:\n\n"
        "```python\n"
        "signed = headers['Webhook-Timestamp'].encode() + b'.' + body\n"
        "expected = 'sha256=' + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()\n"
        "ok = hmac.compare_digest(expected, headers['Webhook-Signature'])\n"
        "```\n\n"
        "and refuse a timestamp more than a few minutes old. Timeouts, 5xx and 429 are "
        "retried with backoff; other 4xx are final."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    # Swagger UI and Redoc from drf-spectacular-sidecar: served by us, no CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # One name per choice set shared by several fields.
    "ENUM_NAME_OVERRIDES": {
        "ServiceTypeEnum": "partners.models.ServiceType",
        "ChannelEnum": "partners.models.Channel",
    },
}

# --- Security -----------------------------------------------------------------------
# Secure by default when DEBUG is off; each can be switched off for plain HTTP.

SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31_536_000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=True)
# The whole site, subdomains included, is HTTPS-only, so it may be preloaded; a
# deployment that cannot promise that sets both of these to false.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
# Behind a TLS-terminating proxy, name the header it sets (e.g. HTTP_X_FORWARDED_PROTO).
# Only trust it when the proxy overwrites the client's copy of that header.
_proxy_header = env.str("SECURE_PROXY_SSL_HEADER", default="")
SECURE_PROXY_SSL_HEADER = (_proxy_header, "https") if _proxy_header else None
# Load balancers probe over plain HTTP inside the private network: a redirect to
# https would read as "down".
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
# Lax keeps the session cookie off cross-site subrequests, which is also what keeps
# a cross-site page from measuring compressed, cookie-authenticated responses.
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
# Sent on the partner portal and the login / password pages (ContentSecurityPolicyMiddleware):
# only our own scripts, styles, images and forms, never framed.
CONTENT_SECURITY_POLICY = env.str(
    "CONTENT_SECURITY_POLICY",
    default=(
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
        "base-uri 'self'; object-src 'none'"
    ),
)
CONTENT_SECURITY_POLICY_PATHS = ["/portal/", "/accounts/"]
# API responses are compressed when the client accepts it (ApiCompressionMiddleware).
API_COMPRESSION_PREFIX = "/api/"
API_COMPRESSION_MIN_LENGTH = 512

# Bench only (`make bench`): mounts the raw baseline view the API is measured against.
BENCH = env.bool("BENCH", default=False)
# /readyz turns 503 when the oldest due notification has waited longer than this.
READYZ_MAX_OUTBOX_LAG = env.int("READYZ_MAX_OUTBOX_LAG", default=300)

# --- Billing (see billing/) ---------------------------------------------------------

# Payment terms for direct customers, and for what a broker's own terms leave empty.
BILLING_DEPOSIT_PERCENT = env.float("BILLING_DEPOSIT_PERCENT", default=30.0)
BILLING_DEPOSIT_DUE_DAYS = env.int("BILLING_DEPOSIT_DUE_DAYS", default=7)
BILLING_BALANCE_DUE_DAYS = env.int("BILLING_BALANCE_DUE_DAYS", default=30)
BILLING_REMINDER_DAYS_BEFORE = env.int("BILLING_REMINDER_DAYS_BEFORE", default=3)
BILLING_REMINDER_DAYS_AFTER = env.int("BILLING_REMINDER_DAYS_AFTER", default=1)
# Tax included in sell prices, in percent; per service type where it differs.
BILLING_TAX_RATE = env.str("BILLING_TAX_RATE", default="20")
BILLING_TAX_RATES = env.dict("BILLING_TAX_RATES", default={})
BILLING_SELLER = env.str("BILLING_SELLER", default="Booking office")
BILLING_BANK_ACCOUNT = env.str("BILLING_BANK_ACCOUNT", default="")
BILLING_PAYMENT_PROVIDERS = {
    "manual": "billing.providers.manual.BankTransferProvider",
    "card": "billing.providers.card.CardProvider",
}
BILLING_DEFAULT_PROVIDER = env.str("BILLING_DEFAULT_PROVIDER", default="manual")
BILLING_CARD_API_URL = env.str("BILLING_CARD_API_URL", default="https://api.stripe.com")
BILLING_CARD_SECRET_KEY = env.str("BILLING_CARD_SECRET_KEY", default="")
BILLING_CARD_WEBHOOK_SECRET = env.str("BILLING_CARD_WEBHOOK_SECRET", default="")
BILLING_CARD_WEBHOOK_TOLERANCE = env.int("BILLING_CARD_WEBHOOK_TOLERANCE", default=300)
BILLING_CARD_CONNECT_TIMEOUT = env.float("BILLING_CARD_CONNECT_TIMEOUT", default=3.05)
BILLING_CARD_READ_TIMEOUT = env.float("BILLING_CARD_READ_TIMEOUT", default=10.0)

# --- Logging ------------------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
# One JSON object per line on stdout, each with the request id, passwords, tokens,
# session ids and API keys replaced by [REDACTED] (bookings_site/logging.py).
# LOG_FORMAT=plain gives readable lines for development, still redacted.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "context": {"()": "bookings_site.logging.ContextFilter"},
        "quiet_tasks": {"()": "notifications.logging.QuietTaskLines"},
    },
    "formatters": {
        "json": {"()": "bookings_site.logging.JsonFormatter"},
        "plain": {
            "()": "bookings_site.logging.RedactingFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": LOG_FORMAT,
            "filters": ["context"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # django-axes: failed logins and lockouts are warnings; its INFO lines (a banner
        # at every start, a line per successful login) would only be noise.
        "axes": {"level": "WARNING"},
        # django-q2 logs four INFO lines per task; Q_LOG_TASKS=true shows them.
        "django-q": {"filters": [] if env.bool("Q_LOG_TASKS", default=False) else ["quiet_tasks"]},
        # gunicorn's own loggers print through the same handler (gunicorn.conf.py
        # sets the same for the master, before Django is loaded).
        "gunicorn.error": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
        "gunicorn.access": {"handlers": ["stdout"], "level": "INFO", "propagate": False},
    },
}
