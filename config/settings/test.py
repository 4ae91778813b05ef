"""Test settings: the base settings, with what makes tests fast and hermetic."""

import tempfile
from pathlib import Path

from .base import *  # noqa: F403
from .base import env

# Password hashing is deliberately slow in production; tests need it fast.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=True)
STORAGES = {
    **STORAGES,  # noqa: F405
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    "audit_archive": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": tempfile.mkdtemp(prefix="agentry-audit-archive-")},
    },
}

# An empty, existing static root keeps WhiteNoise quiet; tests never collect static files.
STATIC_ROOT = tempfile.mkdtemp(prefix="agentry-static-")
MEDIA_ROOT = tempfile.mkdtemp(prefix="agentry-media-")

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    # A file, not shared-cache memory: tests with a real worker thread write while the test
    # reads, and shared-cache SQLite refuses that at once ("database table is locked")
    # where a file database waits for the lock.
    DATABASES["default"]["TEST"] = {  # noqa: F405
        "NAME": str(Path(tempfile.mkdtemp(prefix="agentry-testdb-")) / "test.sqlite3")
    }
