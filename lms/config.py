"""Default configuration. Secrets and URLs come only from the environment (LMS_*)."""
from __future__ import annotations

from datetime import timedelta


class Defaults:
    #: set from LMS_SECRET_KEY; the app refuses to start without it outside debug/testing
    SECRET_KEY: str | None = None
    #: LMS_DATABASE_URL; empty means SQLite in instance/lms.sqlite3
    DATABASE_URL: str | None = None
    SQLALCHEMY_TRACK_MODIFICATIONS = False
    #: LMS_DASHBOARD_CACHE_SECONDS: how long a rendered dashboard may be reused (the data version is in its key)
    DASHBOARD_CACHE_SECONDS = 60
    SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
    #: LMS_DATABASE_LOCK_TIMEOUT_MS: how long a request waits for a lock another writer holds (SQLite's busy
    #: timeout, PostgreSQL's lock_timeout) before it gets a 503 "busy, try again" page
    DATABASE_LOCK_TIMEOUT_MS = 10_000
    #: LMS_DATABASE_PREPARED_STATEMENTS: PostgreSQL connections prepare a statement after its fifth run and keep it
    #: (lms.db.end_reads); ``false`` for a pooler that cannot follow them (PgBouncer in transaction mode before 1.21,
    #: or without ``max_prepared_statements``)
    DATABASE_PREPARED_STATEMENTS = True
    #: LMS_PG_BIN_DIR: the folder of pg_dump/pg_restore for `flask backup`/`restore` (default: the server's
    #: major version under /usr/lib/postgresql, else PATH)
    PG_BIN_DIR: str | None = None

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
    #: how long a browser stays "known" for the accounts that signed in on it: the per-account
    #: lock does not apply to it (its own failures and the per-address limit do); lms/people/devices.py
    KNOWN_DEVICE_DAYS = 180
    #: second factor (lms/people/twofactor.py): "remember this device" lasts this long; wrong codes
    #: allowed per account within the window before the code step answers 429
    TWO_FACTOR_REMEMBER_DAYS = 30
    TWO_FACTOR_MAX_FAILURES = 5
    TWO_FACTOR_WINDOW_MINUTES = 15
    TOTP_ISSUER = "7 PAS OK OCE"
    #: LMS_DEMO_SHOW_CODES: the demo (make run) shows the current sign-in codes on the page; never in production
    DEMO_SHOW_CODES = False

    #: werkzeug hash method for passwords (scrypt by default)
    PASSWORD_HASH_METHOD = "scrypt"
    #: how long a password set-up link stays valid
    PASSWORD_SETUP_HOURS = 72
    #: sign-in by phone (lms/people/phone_codes.py): a 6-digit code valid this long, this many tries;
    #: codes sent per number (a known device of the account counts its own instead) and per address
    #: within the window
    PHONE_CODE_MINUTES = 5
    PHONE_CODE_MAX_TRIES = 5
    PHONE_CODE_MAX_SENDS_PER_NUMBER = 3
    PHONE_CODE_MAX_SENDS_PER_ADDRESS = 30
    PHONE_CODE_WINDOW_MINUTES = 15

    #: number of proxies in front of the app whose X-Forwarded-For is trusted (0 = none)
    TRUSTED_PROXIES = 0

    # Rate limits (lms/ratelimit.py, Flask-Limiter): counted in Redis when LMS_REDIS_URL is set, so
    # all gunicorn workers share one budget; in this process's memory otherwise. Limit strings like
    # "600/minute" or "600/minute;10000/hour"; empty: that limit is off.
    RATELIMIT_ENABLED = True
    #: LMS_RATELIMIT_STORAGE_URI: where the counts live; empty: REDIS_URL when set, else memory://
    RATELIMIT_STORAGE_URI: str | None = None
    #: moving-window: at most N within any window (fixed-window would let 2N through across a boundary)
    RATELIMIT_STRATEGY = "moving-window"
    RATELIMIT_KEY_PREFIX = "lms"
    #: seconds a Redis call may take before the limiter falls back to memory counts (and logs it)
    RATELIMIT_REDIS_TIMEOUT = 0.5
    #: the API (/api/…) per Bearer token (per address without one), and per address whatever the token
    RATELIMIT_API = "600/minute"
    RATELIMIT_API_ADDRESS = "1200/minute"
    #: X-RateLimit-Limit/Remaining/Reset on API responses
    RATELIMIT_API_HEADERS = True
    #: sign-in POSTs (password, phone code request and entry, second factor) per address, all steps
    #: together; on top of the failure throttles above. Generous: a training room or a mobile
    #: carrier's shared address signs many people in at once
    RATELIMIT_LOGIN = "120/minute"
    #: the public verify page per address; empty: CERTIFICATE_VERIFY_PER_MINUTE per minute
    RATELIMIT_VERIFY: str | None = None

    PAGE_SIZE = 25
    #: outlets per page of the mentor assignment page (a coordinator ticks many at once)
    CASELOAD_PAGE_SIZE = 50

    #: where curriculum files are read from (default: curricula/ beside lms/)
    CURRICULA_DIR: str | None = None
    #: the curriculum for outlets not (yet) enrolled in a cohort
    DEFAULT_CURRICULUM = "okoce-7pas"

    #: largest accepted upload (licence scans, photos), bytes
    UPLOAD_MAX_BYTES = 5 * 1024 * 1024
    #: most pixels (width x height) of an uploaded image, refused before decoding; Pillow's own limit follows it
    UPLOAD_MAX_PIXELS = 40_000_000
    #: where uploaded files live; default instance/uploads
    UPLOAD_DIR: str | None = None

    # Certificates
    #: where rendered certificate PDFs are kept (LMS_CERTIFICATE_DIR); default instance/certificates
    CERTIFICATE_DIR: str | None = None
    #: the design folders (certificates/<design>/); default certificates/ beside lms/
    CERTIFICATE_DESIGNS_DIR: str | None = None
    #: signatories per kind, overriding the designs' metadata.yaml, e.g. LMS_CERTIFICATE_SIGNATORIES=
    #: '{"bimtek": [{"name": "…", "title": "…", "nip": "…"}]}'
    CERTIFICATE_SIGNATORIES: dict | None = None
    #: render processes in the web process for bulk runs and first downloads (0: render in the calling thread)
    CERTIFICATE_RENDER_PROCESSES = 2
    #: recycle a render process after this many certificates: WeasyPrint (Pango) keeps ~25 KB of native
    #: memory per render that nothing frees, so long-lived render processes are replaced (None: never)
    CERTIFICATE_RENDER_MAX_TASKS_PER_CHILD: int | None = 200
    #: CPU seconds one certificate may take to render
    CERTIFICATE_RENDER_TIME_LIMIT = 20
    #: public verify page: requests per minute per address (RATELIMIT_VERIFY, when set, wins)
    CERTIFICATE_VERIFY_PER_MINUTE = 30
    #: Redis for bulk runs on RQ (LMS_REDIS_URL, e.g. redis://127.0.0.1:6379/0); empty: in-process worker thread
    REDIS_URL: str | None = None
    CERTIFICATE_QUEUE = "certificates"
    #: LMS_WORKER_NICE: `flask --app lms worker` lowers its CPU priority by this much (Unix nice, 0-19), so
    #: that on a machine it shares with app servers a bulk certificate run or a burst of messages waits for
    #: the pages people are looking at rather than the other way round; on a machine of its own it changes
    #: nothing. 0: the same priority as the app servers.
    WORKER_NICE = 10

    # Notifications (lms/notifications): the in-app list always; e-mail and WhatsApp when configured
    #: thread | rq | off (default: rq when LMS_REDIS_URL is set, else an in-process thread)
    NOTIFICATIONS_WORKER: str | None = None
    NOTIFICATIONS_QUEUE = "notifications"
    #: attempts before a message is failed; the wait doubles from NOTIFICATIONS_RETRY_SECONDS
    NOTIFICATIONS_MAX_ATTEMPTS = 5
    NOTIFICATIONS_RETRY_SECONDS = 60
    #: the in-process worker looks for due messages at least this often
    NOTIFICATIONS_POLL_SECONDS = 60
    #: the in-process worker also writes the scheduled reminders (hourly)
    NOTIFICATIONS_REMINDERS_IN_WORKER = True
    #: SMTP (e-mail): no server, no e-mail (messages are kept for the admins' outbox page)
    MAIL_SERVER: str | None = None
    MAIL_PORT = 587
    MAIL_USERNAME: str | None = None
    MAIL_PASSWORD: str | None = None
    #: STARTTLS after connecting (port 587); MAIL_USE_SSL for implicit TLS (port 465)
    MAIL_USE_TLS = True
    MAIL_USE_SSL = False
    MAIL_FROM = "7 PAS OK OCE <no-reply@localhost>"
    MAIL_TIMEOUT = 15
    #: WhatsApp Business Cloud API (Graph API); no token or phone number id, no WhatsApp
    WHATSAPP_API_URL = "https://graph.facebook.com/v21.0"
    WHATSAPP_TOKEN: str | None = None
    WHATSAPP_PHONE_NUMBER_ID: str | None = None
    WHATSAPP_TIMEOUT = 15
    #: approved template per event name ("default" for the rest): {"name": ..., "params": [name|full_name|title|body|url]}
    WHATSAPP_TEMPLATES: dict | None = None
    #: the template language code per interface language
    WHATSAPP_LANGUAGE_CODES = {"id": "id", "en": "en"}

    # --- personal data (UU PDP, Law 27/2022; lms/privacy) ---
    #: the privacy notice's version: change it when the notice's content changes, and everyone
    #: reads and accepts it again at their next request
    PRIVACY_NOTICE_VERSION = "2026-12"
    #: the controller named in the notice
    PRIVACY_CONTROLLER = "Dinas Sosial Provinsi DKI Jakarta"
    PRIVACY_CONTROLLER_ADDRESS = "Jl. Gunung Sahari II No. 5, Jakarta Pusat 10610"
    #: the data protection officer (Pasal 53): name, e-mail and/or phone, as one line (LMS_DPO_CONTACT)
    DPO_CONTACT = "Pejabat Pelindungan Data Pribadi, Dinas Sosial Provinsi DKI Jakarta (ppdp.dinsos@jakarta.go.id)"
    #: "Data saya" ZIPs are kept this many days, then deleted
    DATA_EXPORT_DAYS = 7
    #: how "Data saya" copies are built: "thread" (in the app process), "rq" (the notifications
    #: queue, served by ``flask worker``), "inline" (inside the request), "off" (only
    #: ``build_pending()``); unset: "rq" when REDIS_URL is set, else "thread"
    DATA_EXPORT_WORKER: str | None = None
    #: a request the law gives a deadline for is answered within this many hours (3×24)
    DATA_REQUEST_HOURS = 72
    #: retention (lms/privacy/retention.py): sign-in addresses become a hash after this many days
    RETENTION_IP_DAYS = 90
    #: used, expired or replaced set-up links and one-time codes are deleted after this many days
    RETENTION_CODE_DAYS = 1
    #: accounts without a sign-in for this many years are listed for review
    RETENTION_INACTIVE_YEARS = 3
    #: failed sign-ins and wrong second-factor codes (kept only for the 15-minute throttles) are
    #: deleted after this many days
    RETENTION_LOGIN_FAILURE_DAYS = 30
    #: the text of sent (or deliberately skipped) e-mail and WhatsApp messages is blanked after this
    #: many days; who, when, the channel, the subject and the status stay for the outbox page
    RETENTION_DELIVERY_BODY_DAYS = 90
    #: webhook deliveries that arrived (or were skipped: nothing sent) are deleted, payload and all,
    #: after this many days; failed ones stay for a retry
    RETENTION_WEBHOOK_DAYS = 90
    #: the in-process notifications worker also runs the retention rules once a day
    RETENTION_IN_WORKER = True

    # Webhooks (lms/webhooks): admins' endpoints for domain events, sent by the notifications worker
    #: seconds to connect and to wait for each answer
    WEBHOOKS_TIMEOUT = 10
    #: attempts before a delivery fails (waits between them: 1 min, 5 min, 30 min, 2 h, 12 h)
    WEBHOOKS_MAX_ATTEMPTS = 6
    #: seconds one worker pass may spend sending webhooks before it lets the messages go first
    WEBHOOKS_PASS_SECONDS = 20
    #: also admit http:// and https:// to localhost / 127.0.0.1 / [::1] (tests, a developer's receiver);
    #: every other private, loopback or link-local address is always refused
    WEBHOOKS_ALLOW_HTTP_LOCAL = False


    # Stored files (lms/storage.py)
    #: unset or "file:": local folders (UPLOAD_DIR, CERTIFICATE_DIR, IMPORT_DIR, BRANDING_DIR);
    #: "s3://bucket/prefix": an S3-compatible object store (LMS_STORAGE_URL)
    STORAGE_URL: str | None = None
    #: the object store's endpoint when it is not AWS (MinIO, Ceph, another cloud): LMS_S3_ENDPOINT_URL
    S3_ENDPOINT_URL: str | None = None
    S3_REGION: str | None = None
    #: where branding images (logos, signatures, stamps) live locally; default instance/branding
    BRANDING_DIR: str | None = None

    # Signed certificates (lms/certification/signing.py) and Open Badges 3.0 credentials (lms/credentials)
    #: PKCS#12 file with the signer's key and certificate chain (in production from the agency's CA,
    #: e.g. BSrE); unset: the instance's test authority made by `flask --app lms certificates dev-keys`
    SIGNING_P12: str | None = None
    SIGNING_P12_PASSWORD: str | None = None
    #: an RFC 3161 timestamping authority: signatures become PAdES B-T instead of B-B
    TSA_URL: str | None = None
    #: largest PDF the public "Periksa berkas" page checks (read in memory, never stored)
    CERTIFICATE_FILE_CHECK_MAX_BYTES = 10 * 1024 * 1024
    #: the Ed25519 key (PEM, PKCS#8) signing the Open Badges credentials; default instance/credential-key.pem
    CREDENTIAL_KEY_FILE: str | None = None

    # Operations
    #: "json": one JSON object per log line (LMS_LOG_FORMAT); otherwise readable text
    LOG_FORMAT: str | None = None
    #: statements slower than this many milliseconds are logged (0 or unset: none)
    SLOW_QUERY_MS: int | None = 500
    #: /metrics needs "Authorization: Bearer <token>" (LMS_METRICS_TOKEN); unset: only from 127.0.0.1/::1
    METRICS_TOKEN: str | None = None


class TestingDefaults:
    TESTING = True
    #: the limiter runs in every test (memory storage, a fresh one per app) but no test signs in or
    #: calls the API often enough to meet these; tests/test_ratelimit.py sets small limits
    RATELIMIT_LOGIN = "100000/minute"
    RATELIMIT_API = "100000/minute"
    RATELIMIT_API_ADDRESS = "100000/minute"
    RATELIMIT_STORAGE_URI = "memory://"
    SECRET_KEY = "test-secret-key-not-for-production"
    SESSION_COOKIE_SECURE = False
    REMEMBER_COOKIE_SECURE = False
    # cheap hashing keeps the suite fast; production uses the scrypt default
    PASSWORD_HASH_METHOD = "scrypt:1024:8:1"
    #: tests dispatch and send explicitly (lms.notifications.dispatch.run_once)
    NOTIFICATIONS_WORKER = "off"
    #: tests run the retention rules explicitly (lms.privacy.retention.run_retention)
    RETENTION_IN_WORKER = False
    #: the tests' webhook receiver listens on http://127.0.0.1 (tests/servers.py)
    WEBHOOKS_ALLOW_HTTP_LOCAL = True
