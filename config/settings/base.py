"""Settings for agentry, read from the environment in this one place.

Every variable is listed, with its default, in `.env.example`. With nothing set
the platform runs for development: SQLite, an in-process cache, Celery in eager
mode and the console email backend. With DEBUG off, secrets have no default.
"""

from datetime import timedelta
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()
# A local .env file (or the file ENV_FILE names) fills in what the environment does not set.
environ.Env.read_env(env.str("ENV_FILE", default=str(BASE_DIR / ".env")), overwrite=False)

DEBUG = env.bool("DEBUG", default=True)

# The development key is fixed and public, so it is only ever accepted with DEBUG on.
_DEVELOPMENT_SECRET_KEY = "django-insecure-development-only-never-use-in-production"
if DEBUG:
    SECRET_KEY = env.str("SECRET_KEY", default=_DEVELOPMENT_SECRET_KEY)
else:
    SECRET_KEY = env.str("SECRET_KEY", default="")
    if not SECRET_KEY:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    if SECRET_KEY == _DEVELOPMENT_SECRET_KEY or len(SECRET_KEY) < 32:
        raise ImproperlyConfigured(
            "SECRET_KEY must be a random value of at least 32 characters when DEBUG is off."
        )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Applications ----------------------------------------------------------

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
    "django_celery_beat",
    "guardian",
    "health_check",
    "rest_framework_simplejwt.token_blacklist",
    "rest_framework_api_key",
    "auditlog",
    "apps.core",
    "apps.accounts",
    "apps.access",
    "apps.organizations",
    "apps.authn",
    "apps.apikeys",
    "apps.ratelimit",
    "apps.tools",
    "apps.knowledge",
    "apps.agents",
    "apps.conversations",
    "apps.workflows",
    "apps.finetuning",
    "apps.audit",
]

MIDDLEWARE = [
    "apps.core.middleware.RequestIdMiddleware",
    "apps.ratelimit.middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "apps.audit.context.AuditContextMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
ASGI_APPLICATION = "config.asgi.application"
AUTH_USER_MODEL = "accounts.User"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

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

# --- Database --------------------------------------------------------------

DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's own psycopg 3 pool; it requires persistent connections to be off.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    if env.bool("DATABASE_POOL", default=True):
        DATABASES["default"].setdefault("OPTIONS", {})["pool"] = {
            "min_size": env.int("DATABASE_POOL_MIN_SIZE", default=2),
            "max_size": env.int("DATABASE_POOL_MAX_SIZE", default=10),
            "timeout": env.int("DATABASE_POOL_TIMEOUT", default=10),
        }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Writers take the write lock when their transaction begins and wait for it (up to 20 s),
    # instead of failing with "database is locked" when two transactions upgrade at once;
    # WAL lets readers go on while one writes (the audit chain makes every write a read first).
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        transaction_mode="IMMEDIATE",
        timeout=20,
        init_command="PRAGMA journal_mode=WAL;",
    )
DATABASES["default"]["ATOMIC_REQUESTS"] = False

# --- Cache and Celery ------------------------------------------------------

REDIS_URL = env.str("REDIS_URL", default="")

if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "agentry",
            # A Redis that accepts connections but never answers must not stall requests:
            # the rate limiter then fails open after half a second.
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "agentry",
        }
    }

# An empty value counts as unset, so a copied .env.example does not disable the broker.
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default="") or REDIS_URL or "memory://localhost/"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = (
    env.bool("CELERY_TASK_ALWAYS_EAGER")
    if env.str("CELERY_TASK_ALWAYS_EAGER", default="")
    else not REDIS_URL
)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=15 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=14 * 60)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Daily: warn the creators of API keys that expire within 7 days (once per key).
    "apikeys-warn-expiring": {"task": "apikeys.warn_expiring_api_keys", "schedule": 24 * 3600},
    # Daily: archive and remove audit entries older than AUDIT_RETENTION_DAYS.
    "audit-apply-retention": {"task": "audit.apply_retention", "schedule": 24 * 3600},
    # Every 10 minutes: where each audit chain ends, written next to the archives.
    "audit-write-checkpoint": {"task": "audit.write_checkpoint", "schedule": 600},
}
CELERY_TIMEZONE = "UTC"

# --- Email -----------------------------------------------------------------

EMAIL_BACKEND = env.str("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("EMAIL_FROM", default="agentry <noreply@agentry.local>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# SMTP (django.core.mail.backends.smtp.EmailBackend); the file backend writes to EMAIL_FILE_PATH.
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)
EMAIL_FILE_PATH = env.str("EMAIL_FILE_PATH", default=str(BASE_DIR / "var" / "mail"))

# --- Auth ------------------------------------------------------------------

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    # Organization roles and object grants (django-guardian rows), for user.has_perm(perm, obj).
    "apps.access.backends.OrganizationPermissionBackend",
]
# guardian's anonymous user is not needed: anonymous callers get nothing.
ANONYMOUS_USER_NAME = None
# guardian.W001 asks for its own backend; ours reads guardian's rows through memberships instead.
SILENCED_SYSTEM_CHECKS = ["guardian.W001"]
LOGIN_URL = "rest_framework:login"
LOGIN_REDIRECT_URL = "/api/v1/"

# --- Internationalisation --------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

# --- Static and media files ------------------------------------------------

STATIC_URL = "static/"
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
MEDIA_URL = "media/"
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    # Where retention writes the audit entries it removes (docs/AUDIT.md).
    "audit_archive": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {
            "location": env.path("AUDIT_ARCHIVE_DIR", default=BASE_DIR / "var" / "audit-archive")
        },
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Bodies above this are refused with 413 before they are parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=2 * 1024 * 1024)

# --- Authentication, API keys and rate limits --------------------------------

# Lifetimes in seconds of JWT access tokens and of (rotating) refresh tokens.
JWT_EXPIRATION = env.int("JWT_EXPIRATION", default=15 * 60)
REFRESH_TOKEN_EXPIRATION = env.int("REFRESH_TOKEN_EXPIRATION", default=7 * 24 * 3600)
# The link of password-reset emails; {uid} and {token} are replaced. The default is this
# server's own confirm page; a front end can point it at its own page, which calls the API.
PASSWORD_RESET_URL = env.str(
    "PASSWORD_RESET_URL", default="http://127.0.0.1:8000/auth/password/reset/{uid}/{token}/"
)
# Requests allowed per RATE_LIMIT_TTL seconds, per API key, else user, else client IP.
RATE_LIMIT_MAX = env.int("RATE_LIMIT_MAX", default=600)
RATE_LIMIT_TTL = env.int("RATE_LIMIT_TTL", default=60)
# Stricter limit of login, token, password and key-creation endpoints (per RATE_LIMIT_AUTH_TTL).
RATE_LIMIT_AUTH_MAX = env.int("RATE_LIMIT_AUTH_MAX", default=10)
RATE_LIMIT_AUTH_TTL = env.int("RATE_LIMIT_AUTH_TTL", default=60)
# Reverse proxies (IPs or CIDRs) whose X-Forwarded-For is believed; empty: none.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])
# Failed logins of one account or IP before a lockout, and the first lockout's length (it doubles).
LOGIN_LOCKOUT_THRESHOLD = env.int("LOGIN_LOCKOUT_THRESHOLD", default=5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", default=60)
# Hours a rotated API key keeps working unless the rotation says otherwise.
API_KEY_ROTATION_GRACE_HOURS = env.int("API_KEY_ROTATION_GRACE_HOURS", default=24)

# --- Audit log (docs/AUDIT.md) ---------------------------------------------

# Entries older than this many days are archived (STORAGES["audit_archive"]) and removed.
AUDIT_RETENTION_DAYS = env.int("AUDIT_RETENTION_DAYS", default=365)
# Key of the HMAC that chains entries. Keep it out of the database and never change it:
# with it set, someone who can write to the database cannot forge a consistent chain.
AUDIT_CHAIN_KEY = env.str("AUDIT_CHAIN_KEY", default="")
AUDITLOG_LOGENTRY_MODEL = "audit.AuditEntry"
AUDITLOG_STORE_JSON_CHANGES = True
AUDITLOG_MASK_CALLABLE = "apps.audit.registry.mask"
AUDITLOG_CID_GETTER = "apps.core.request_id.get_request_id"

# JWTs (docs/AUTHENTICATION.md). apps.authn.tokens reads the two lifetimes above each time a
# token is made; these copies are what simplejwt itself sees.
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(seconds=JWT_EXPIRATION),
    "REFRESH_TOKEN_LIFETIME": timedelta(seconds=REFRESH_TOKEN_EXPIRATION),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    # last_login is set when a pair is obtained with a password, never on refresh.
    "UPDATE_LAST_LOGIN": True,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": SECRET_KEY,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "USER_ID_FIELD": "id",
    "USER_ID_CLAIM": "user_id",
    "AUTH_TOKEN_CLASSES": ("apps.authn.tokens.AccessToken",),
    # Tokens carry a digest of the password hash: a password change invalidates them all.
    "CHECK_REVOKE_TOKEN": True,
}

# --- Domain limits ---------------------------------------------------------

KNOWLEDGE_MAX_UPLOAD_BYTES = env.int("KNOWLEDGE_MAX_UPLOAD_BYTES", default=10 * 1024 * 1024)
KNOWLEDGE_ALLOWED_EXTENSIONS = env.list(
    "KNOWLEDGE_ALLOWED_EXTENSIONS", default=[".txt", ".md", ".csv", ".json"]
)
KNOWLEDGE_CHUNK_SIZE = env.int("KNOWLEDGE_CHUNK_SIZE", default=1000)
KNOWLEDGE_CHUNK_OVERLAP = env.int("KNOWLEDGE_CHUNK_OVERLAP", default=200)
FINETUNING_MAX_UPLOAD_BYTES = env.int("FINETUNING_MAX_UPLOAD_BYTES", default=50 * 1024 * 1024)
FINETUNING_PROVIDER = env.str("FINETUNING_PROVIDER", default="local")
# Request bodies with files are streamed to disk past this size; the limits above still apply.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# No multipart body above this is read at all (413); defaults to the largest limit above + 1 MiB.
MAX_UPLOAD_BYTES = env.int(
    "MAX_UPLOAD_BYTES",
    default=max(KNOWLEDGE_MAX_UPLOAD_BYTES, FINETUNING_MAX_UPLOAD_BYTES) + 1024 * 1024,
)
FILE_UPLOAD_HANDLERS = [
    "apps.core.uploads.UploadSizeLimitHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

# --- Security --------------------------------------------------------------

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https")
    if env.bool("TRUST_X_FORWARDED_PROTO", default=False)
    else None
)
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SECURE_REFERRER_POLICY = "same-origin"

# --- REST framework and OpenAPI --------------------------------------------

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # First: a bad API key is a 401 whatever other credentials come with it.
        "apps.apikeys.authentication.ApiKeyAuthentication",
        # A bad Bearer token is a 401 even when a session cookie is also present.
        "apps.authn.authentication.JWTAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # Default deny: a view that declares no permission answers nobody.
    "DEFAULT_PERMISSION_CLASSES": ["apps.access.api.permissions.DenyAll"],
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "rest_framework.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PARSER_CLASSES": [
        "apps.core.api.parsers.BoundedJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "apps.core.api.pagination.StandardPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": [
        "django_filters.rest_framework.DjangoFilterBackend",
        "apps.core.api.filters.StrictOrderingFilter",
    ],
    # Counted in Redis per API key, user or client IP; see docs/RATE_LIMITS.md.
    "DEFAULT_THROTTLE_CLASSES": ["apps.ratelimit.throttles.PlatformRateThrottle"],
    "EXCEPTION_HANDLER": "apps.core.api.exceptions.api_exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "agentry API",
    "DESCRIPTION": (
        "The production back end of an AI-agent platform. Every error has the shape "
        '`{"error": {"code", "message", "details", "request_id"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "ENUM_NAME_OVERRIDES": {
        "RoleEnum": "apps.organizations.models.BuiltinRole",
        "ToolKindEnum": "apps.tools.models.Tool.Kind",
    },
}

# --- Logging ---------------------------------------------------------------

LOG_LEVEL = env.str("LOG_LEVEL", default="INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "apps.core.logging.RequestIdFilter"}},
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s",
        },
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        },
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
    },
}
