"""Test settings: the real settings module, with the environment a test run needs.

Only defaults are set here, so DATABASE_URL (PostgreSQL in CI) still comes from the
environment.
"""

import os

os.environ.setdefault("SECRET_KEY", "tests-only-not-a-secret")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
os.environ.setdefault("SECURE_HSTS_SECONDS", "0")
os.environ.setdefault(
    "STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage"
)
os.environ.setdefault("SITE_URL", "http://testserver")
os.environ.setdefault("STAFF_NOTIFICATION_EMAIL", "ops@example.com")

from bookings_site.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run in-process unless a test starts a real cluster.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}  # noqa: F405
