"""Settings shared by every environment.

Every value that differs between machines comes from the environment (see
`.env.example`); nothing here reads a `.env` file unless `DJANGO_READ_DOT_ENV_FILE`
is set.
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent.parent
env = environ.Env()

if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

# Embedded default state (SQLite database, file-based broker, media) lives here.
VAR_DIR = Path(env.str("VAR_DIR", default=str(BASE_DIR / "var")))

DEBUG = env.bool("DJANGO_DEBUG", default=False)
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

# --- Applications -------------------------------------------------------------------

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "core",
    "accounts",
    "governance",
    "personalization",
    "personalization.campaigns",
    "audits",
    "console",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Permissions-Policy: camera, microphone, geolocation, payment ... off everywhere.
    "core.middleware_headers.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    # Refuses NUL characters in paths, query strings and forms; the API's body limit.
    "core.middleware.InputGuardMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Under /api/, a Redis error that still reaches a view is a 503 with Retry-After.
    "core.outage.ApiOutageMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # A signed-in person's chosen language wins over the cookie and the browser's.
    "accounts.language.UserLanguageMiddleware",
    # Honours Global Privacy Control; asks customers to read a changed privacy notice.
    "personalization.consent.middleware.ConsentMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    # Owners set up an authenticator app before /owner/ or /admin/ opens.
    "accounts.middleware.MfaRequiredMiddleware",
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
                "django.template.context_processors.i18n",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------

# Without DATABASE_URL the app runs on SQLite under VAR_DIR. WAL and IMMEDIATE
# transactions let the web process, the worker and beat share the file safely.
_SQLITE_DEFAULT = f"sqlite:///{VAR_DIR / 'fairshare.sqlite3'}"
DATABASES = {"default": env.db_url("DATABASE_URL", default=_SQLITE_DEFAULT)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite cannot create the folder its file lives in.
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 30,
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DATABASE_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    # The hot paths' plain SQL (core/sql.py) is prepared after this many runs on a
    # connection; 0 or empty turns it off (behind a transaction-mode pooler without
    # prepared-statement support). The ORM binds on the client and never prepares.
    _prepare = env.int("DATABASE_PREPARE_THRESHOLD", default=5) or None
    DATABASES["default"].setdefault("OPTIONS", {})["prepare_threshold"] = _prepare
    # Seconds to wait for the server to accept a connection: one that accepts TCP and
    # never answers fails a request fast instead of hanging it.
    DATABASES["default"]["OPTIONS"]["connect_timeout"] = env.int(
        "DATABASE_CONNECT_TIMEOUT", default=3
    )
    # Milliseconds one statement may run (0 = no limit): web requests, beat, commands.
    # Celery workers use DATABASE_WORKER_STATEMENT_TIMEOUT (config/celery_app.py).
    _statement_ms = env.int("DATABASE_STATEMENT_TIMEOUT", default=20000)
    DATABASES["default"]["OPTIONS"]["options"] = f"-c statement_timeout={_statement_ms}"
# Workers' bulk work (imports, audits, erasures, training) runs long statements; the
# limit stops one that hangs on a lock or a bad plan (10 minutes; 0 = no limit).
DATABASE_WORKER_STATEMENT_TIMEOUT = env.int("DATABASE_WORKER_STATEMENT_TIMEOUT", default=600000)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication -----------------------------------------------------------------

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
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"

ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_UNIQUE_EMAIL = True
# An imported customer's record is claimed only through a verified address.
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_LOGIN_BY_CODE_ENABLED = True
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = True
ACCOUNT_PREVENT_ENUMERATION = True
# One address per login: a second address confirmed by its mailbox's owner would let
# the login's holder claim that person's record (accounts.adapters).
ACCOUNT_MAX_EMAIL_ADDRESSES = 1
# Two-factor sign-in (/accounts/2fa/): an authenticator app plus recovery codes; any
# signed-in person may set it up, owners must (accounts.middleware).
MFA_ADAPTER = "accounts.mfa.MfaAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
ACCOUNT_EMAIL_SUBJECT_PREFIX = env.str("ACCOUNT_EMAIL_SUBJECT_PREFIX", default="[Crumb & Co.] ")
# Failed sign-ins (allauth's defaults lock a named account after 5 failures from
# anywhere): 10 a minute per client address, 5 per 5 minutes per (account, address),
# and only 100 an hour per account from all addresses together, so a stranger cannot
# lock someone out by guessing at their address (accounts.adapters.AccountAdapter).
ACCOUNT_RATE_LIMITS = {
    "login_failed": "10/m/ip,5/5m/key",
    "login_failed_account": "100/h/key",
}

# --- Email --------------------------------------------------------------------------

EMAIL_BACKEND = env.str(
    "DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend"
)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="shop@localhost")
# EMAIL_URL (e.g. smtp+tls://user:pass@host:587) sets host, port, user, password, TLS.
if env.str("EMAIL_URL", default=""):
    vars().update(env.email_url("EMAIL_URL"))

# --- Internationalisation -----------------------------------------------------------

# A UK shop by default: British English dates ("1 December 2026, 17:55") and money.
LANGUAGE_CODE = env.str("DJANGO_LANGUAGE_CODE", default="en-gb")
# Each language is named in itself on the switch. A browser asking for any English gets
# en-gb; the catalogue is locale/de (compiled by scripts/run and scripts/test).
LANGUAGES = [("en-gb", "English"), ("de", "Deutsch")]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date, time and number formats per language that differ from Django's (config/formats).
FORMAT_MODULE_PATH = ["config.formats"]
TIME_ZONE = env.str("DJANGO_TIME_ZONE", default="Europe/London")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = Path(env.str("DJANGO_STATIC_ROOT", default=str(VAR_DIR / "staticfiles")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}
MEDIA_ROOT = Path(env.str("DJANGO_MEDIA_ROOT", default=str(VAR_DIR / "media")))
MEDIA_URL = "media/"

# --- Uploads (the owner's data import, /owner/import/) ------------------------------

# Every uploaded file streams to a temporary file, never into memory (core/uploads.py).
FILE_UPLOAD_HANDLERS = ["core.uploads.LimitedTemporaryFileUploadHandler"]
# Private folder (never served) holding an import's files until it has finished; web
# and workers must both see it (shared storage when workers run on other machines).
IMPORT_UPLOAD_DIR = Path(env.str("IMPORT_UPLOAD_DIR", default=str(VAR_DIR / "imports")))
# Most bytes one upload (all its files together) may hold.
IMPORT_UPLOAD_MAX_BYTES = env.int("IMPORT_UPLOAD_MAX_BYTES", default=500 * 1024 * 1024)

# --- Celery -------------------------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    # Socket timeouts: a Redis that accepts and never answers fails a send within
    # seconds (the work is left to its sweeper, core/enqueue.py) instead of hanging.
    CELERY_BROKER_TRANSPORT_OPTIONS: dict = {
        "visibility_timeout": 3600,
        "socket_connect_timeout": 2,
        "socket_timeout": 3,
    }
else:
    # A broker that needs no server: kombu's filesystem transport under VAR_DIR.
    _BROKER_DIR = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_BROKER_DIR / "queue"),
        "data_folder_out": str(_BROKER_DIR / "queue"),
        "control_folder": str(_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A send tries twice, not four times, before the work is left to its sweeper.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.2,
}

# Tasks record their outcome in the shop's own tables; no result backend is needed.
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Tests and one-off scripts can run tasks in-process.
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)

# --- Cache ------------------------------------------------------------------------
# The cache holds API throttle counters and allauth's rate limits: shared in Redis
# when there is one, so every web process counts the same requests. While Redis is down
# each process counts in its own memory instead (core/cache.py), logged once.
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.FailSafeRedisCache",
            "LOCATION": REDIS_URL,
            # Seconds: a cache read that takes longer counts as Redis down.
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- REST API -----------------------------------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    # Keys only: no page calls /api/v1/, so a browser session is never an API caller
    # (a signed-in reviewer cannot file requests for customers through it).
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.api_auth.ApiKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["accounts.api_auth.HasScope"],
    "DEFAULT_THROTTLE_CLASSES": ["accounts.api_auth.ApiKeyRateThrottle"],
    # Requests per key per minute; a full 10,000-event batch counts as one.
    "DEFAULT_THROTTLE_RATES": {"api_key": env.str("API_RATE_PER_KEY", default="600/min")},
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON with a depth limit and without NaN/Infinity or out-of-range numbers.
    "DEFAULT_PARSER_CLASSES": ["core.parsers.StrictJSONParser"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Fairshare API",
    "DESCRIPTION": "The shop's systems push catalog, customers and events; "
    "fetch explained recommendations; read and write consent.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # No "valid" badge: it would send the schema's address to swagger.io (and break the CSP).
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    "REDOC_DIST": "SIDECAR",
    # The schema and its docs are public; every operation still needs a key.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "SERVE_AUTHENTICATION": [],
    "COMPONENT_SPLIT_REQUEST": True,
    # States which request objects refuse unknown keys (additionalProperties).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "personalization.api.schema.state_unknown_keys",
    ],
}

# --- Security -----------------------------------------------------------------------

SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
# How many proxies of the shop's own (e.g. the HTTPS proxy) sit in front of the app:
# the client's address is then the N-th X-Forwarded-For entry from the right. 0 = use
# the connection's address and ignore X-Forwarded-For (anyone can send that header).
# Sign-in limits, API throttling and consent fingerprints use it (core.clientip).
TRUSTED_PROXY_COUNT = env.int("DJANGO_TRUSTED_PROXY_COUNT", default=0)
# Messages live in the session, not in a cookie that would carry them (e.g. "signed in
# as <email>") signed but readable.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
# A page in the site's layout asking to reload and try again (templates/403_csrf.html).
CSRF_FAILURE_VIEW = "core.views.csrf_failure"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Content Security Policy: everything is served by the app itself, no CDN.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "style-src": ["'self'"],
        "script-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

# --- Shop ---------------------------------------------------------------------------

SHOP_NAME = env.str("SHOP_NAME", default="Crumb & Co.")
# Seconds `train_recommender` may spend choosing the model family and its settings on
# the shop's own validation split (the final fit comes on top).
RECOMMENDER_TUNING_SECONDS = env.float("RECOMMENDER_TUNING_SECONDS", default=120.0)
# How customers reach the shop, on the public transparency page (the email falls back
# to DEFAULT_FROM_EMAIL).
SHOP_CONTACT_EMAIL = env.str("SHOP_CONTACT_EMAIL", default="")
SHOP_CONTACT_ADDRESS = env.str("SHOP_CONTACT_ADDRESS", default="")
# The time zone of the shop's own exports: order times without an offset (Online
# Retail's InvoiceDate, WooCommerce's order_date) are read as local times there.
SHOP_TIME_ZONE = env.str("SHOP_TIME_ZONE", default="Europe/London")
# Minutes a customer can still cancel an erasure request before the erasure starts.
ERASURE_CANCEL_WINDOW_MINUTES = env.int("ERASURE_CANCEL_WINDOW_MINUTES", default=10)
# Offer campaigns: emails sent per minute at most (all campaigns together).
CAMPAIGN_EMAILS_PER_MINUTE = env.int("CAMPAIGN_EMAILS_PER_MINUTE", default=60)
# Days the "unsubscribe" and "stop personalizing" links in an offer email keep working.
CAMPAIGN_LINK_MAX_AGE_DAYS = env.int("CAMPAIGN_LINK_MAX_AGE_DAYS", default=90)
# The site address those links use, e.g. https://shop.example.com; empty = the address
# the person who pressed "send" was using.
CAMPAIGN_LINK_BASE_URL = env.str("CAMPAIGN_LINK_BASE_URL", default="")

# --- Logging ------------------------------------------------------------------------

# Log lines never carry personal data: no emails, names or IP addresses.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
    "loggers": {"django.request": {"level": "WARNING"}},
}
