"""The test suite: real PostgreSQL and Redis by default.

When a service is unreachable: with CI set the run fails at once; otherwise
the suite falls back to SQLite / eager Celery and the tests that need the
service skip, saying how to start it (see tests/conftest.py).
"""

from __future__ import annotations

import os

from django.core.exceptions import ImproperlyConfigured

from config.settings.services import postgres_reachable, redis_reachable

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/kpi")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
IN_CI = os.environ.get("CI", "").lower() not in {"", "0", "false", "no"}

POSTGRES_AVAILABLE = postgres_reachable(os.environ["DATABASE_URL"])
REDIS_AVAILABLE = redis_reachable(os.environ["REDIS_URL"])
if IN_CI and not (POSTGRES_AVAILABLE and REDIS_AVAILABLE):
    raise ImproperlyConfigured(
        "CI is set but PostgreSQL ({}) or Redis ({}) is unreachable: the suite must run on both.".format(
            os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
        )
    )
if not POSTGRES_AVAILABLE:
    os.environ["DATABASE_URL"] = "sqlite:///:memory:"
if not REDIS_AVAILABLE:
    os.environ["REDIS_URL"] = ""

from config.settings.base import *  # noqa: E402, F403
from config.settings.base import VAR_DIR  # noqa: E402

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
MEDIA_ROOT = VAR_DIR / "test-media"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Each test process keeps its own cache, so no test sees another's pages.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Unit tests run tasks in-process; tests of the real worker start one (tests/workers.py).
CELERY_TASK_ALWAYS_EAGER = True
