"""Default configuration. Secrets and URLs come only from the environment (LMS_*)."""
from __future__ import annotations

from datetime import timedelta


class Defaults:
    #: set from LMS_SECRET_KEY; the app refuses to start without it outside debug/testing
    SECRET_KEY: str | None = None
    #: LMS_DATABASE_URL; empty means SQLite in instance/lms.sqlite3
    DATABASE_URL: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}

    #: absolute public URL of the site, used for links that leave the site (QR codes, calendar feeds)
    BASE_URL = "http://127.0.0.1:5000"

    # Sessions and cookies
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    REMEMBER_COOKIE_DURATION = timedelta(days=14)
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SAMESITE = "Lax"
    REMEMBER_COOKIE_SECURE = True
    PERMANENT_SESSION_LIFETIME = timedelta(hours=12)

    # Forms
    WTF_CSRF_TIME_LIMIT = 12 * 3600
    MAX_CONTENT_LENGTH = 32 * 1024 * 1024

    # Languages and time
    BABEL_DEFAULT_LOCALE = "id"
    BABEL_DEFAULT_TIMEZONE = "Asia/Jakarta"
    LANGUAGES = ("id", "en")

    # Sign-in throttling: failures allowed within the window before 429
    LOGIN_MAX_FAILURES_PER_ACCOUNT = 10
    LOGIN_MAX_FAILURES_PER_ADDRESS = 10
    LOGIN_THROTTLE_WINDOW_MINUTES = 15

    #: werkzeug hash method for passwords (scrypt by default)
    PASSWORD_HASH_METHOD = "scrypt"
    #: how long a password set-up link stays valid
    PASSWORD_SETUP_HOURS = 72

    #: number of proxies in front of the app whose X-Forwarded-For is trusted (0 = none)
    TRUSTED_PROXIES = 0

    PAGE_SIZE = 25

    #: largest accepted upload (licence scans, photos), bytes
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    #: where uploaded files live; default instance/uploads
    UPLOAD_DIR: str | None = None


class TestingDefaults:
    TESTING = True
    SECRET_KEY = "test-secret-key-not-for-production"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    # cheap hashing keeps the suite fast; production uses the scrypt default
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
