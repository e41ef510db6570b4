"""Real local servers for the outside services the application talks to.

* :class:`SMTPServer`: an aiosmtpd SMTP server on a free port that keeps what it receives
  (and can refuse recipients or be stopped, to test failures).
* :class:`WhatsAppServer`: an HTTP server that speaks the WhatsApp Business Cloud API's
  ``POST /{version}/{phone-number-id}/messages`` as documented: bearer token, template
  message bodies, the success answer (``messaging_product``, ``contacts``, ``messages[].id``)
  and error answers (``error.code`` 131026 for an undeliverable number, 130429 when the rate
  limit is hit, 190 for a bad token), so no test needs the network.
* :class:`WebhookReceiver`: an HTTP server that records every webhook request (path, headers,
  exact body bytes) and answers the status codes it is told to, in order (then 200), optionally
  after a delay (to test timeouts).
* :class:`S3Server`: moto's standalone S3 server in its own process (the object-store backend of
  lms/storage.py, spoken to by boto3 over HTTP).
* :class:`TimestampServer`: an RFC 3161 timestamping authority over HTTP (PAdES B-T signatures).
"""
from __future__ import annotations

import email
import email.policy
import json
import socket
import threading
from dataclasses import dataclass, field
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def redis_or_fail(url: str):  # type: ignore[no-untyped-def]
    """A connection to the real Redis at ``url``, or the test fails saying so (``.ci/run`` starts one)."""
    import pytest
    from redis import Redis
    from redis.exceptions import ConnectionError as RedisDown

    conn = Redis.from_url(url)
    try:
        conn.ping()
    except RedisDown:
        pytest.fail(f"Redis is not answering at {url}: start it (`.ci/run` does) — this test needs a real Redis")
    return conn


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SMTPServer:
    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[EmailMessage] = []
        self.envelopes: list[Any] = []
        #: recipients answered with "550 no such user"
        self.refuse: set[str] = set()
        server = self

        class Handler:
            async def handle_RCPT(self, srv, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
                if address in server.refuse:
                    return "550 5.1.1 no such user"
                envelope.rcpt_tos.append(address)
                return "250 OK"

            async def handle_DATA(self, srv, session, envelope):  # type: ignore[no-untyped-def]
                server.envelopes.append(envelope)
                server.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))  # type: ignore[arg-type]
                return "250 Message accepted"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)

    def start(self) -> "SMTPServer":
        self.controller.start()
        return self

    def stop(self) -> None:
        self.controller.stop()

    def config(self) -> dict[str, Any]:
        return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": self.port, "MAIL_USE_TLS": False,
                "MAIL_FROM": "7 PAS <no-reply@7pas.test>", "MAIL_TIMEOUT": 5}


@dataclass
class WhatsAppServer:
    token: str = "test-token"
    phone_number_id: str = "1098765432"
    version: str = "v21.0"
    received: list[dict[str, Any]] = field(default_factory=list)
    #: numbers (as sent, digits) that are undeliverable
    invalid: set[str] = field(default_factory=set)
    #: answer the next N requests with the rate-limit error
    rate_limited: int = 0

    def __post_init__(self) -> None:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def _error(self, status: int, code: int, message: str, details: str = "",
                       headers: dict[str, str] | None = None) -> None:
                self._answer(status, {"error": {"message": message, "type": "OAuthException", "code": code,
                                                "error_data": {"messaging_product": "whatsapp", "details": details},
                                                "fbtrace_id": "AbCdEf"}}, headers)

            def do_POST(self) -> None:  # noqa: N802
                if self.path != f"/{server.version}/{server.phone_number_id}/messages":
                    return self._error(400, 100, "Unsupported post request.")
                if self.headers.get("Authorization") != f"Bearer {server.token}":
                    return self._error(401, 190, "Invalid OAuth access token - Cannot parse access token")
                length = int(self.headers.get("Content-Length") or 0)
                try:
                    body = json.loads(self.rfile.read(length))
                except ValueError:
                    return self._error(400, 100, "Invalid parameter")
                tpl = body.get("template") or {}
                if body.get("messaging_product") != "whatsapp" or body.get("type") != "template" \
                        or not tpl.get("name") or not (tpl.get("language") or {}).get("code"):
                    return self._error(400, 100, "Invalid parameter")
                if server.rate_limited > 0:
                    server.rate_limited -= 1
                    return self._error(400, 130429, "Rate limit hit",
                                       "Cloud API message throughput has been reached.", {"Retry-After": "1"})
                to = str(body.get("to", ""))
                if not to.isdigit() or to in server.invalid:
                    return self._error(400, 131026, "Message Undeliverable.",
                                       "Unable to deliver message: the number is not on WhatsApp.")
                server.received.append(body)
                wamid = f"wamid.HBgL{len(server.received):08d}"
                self._answer(200, {"messaging_product": "whatsapp", "contacts": [{"input": to, "wa_id": to}],
                                   "messages": [{"id": wamid}]})

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "WhatsAppServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def config(self) -> dict[str, Any]:
        return {"WHATSAPP_API_URL": f"http://127.0.0.1:{self.port}/{self.version}",
                "WHATSAPP_TOKEN": self.token, "WHATSAPP_PHONE_NUMBER_ID": self.phone_number_id}


@dataclass
class ReceivedWebhook:
    path: str
    #: header names in lower case
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    received: list[ReceivedWebhook] = field(default_factory=list)
    #: the status codes of the next answers, in order; 200 once they are used up
    answers: list[int] = field(default_factory=list)
    #: seconds to wait before answering (longer than LMS_WEBHOOKS_TIMEOUT: no answer in time)
    delay: float = 0.0

    def __post_init__(self) -> None:
        import time

        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                server.received.append(ReceivedWebhook(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                       body))
                if server.delay:
                    time.sleep(server.delay)
                status = server.answers.pop(0) if server.answers else 200
                data = b'{"ok": true}' if status < 300 else b'{"error": "receiver said no"}'
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the sender gave up waiting and closed the connection
                    pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str = "/hooks/7pas") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "WebhookReceiver":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


class S3Server:
    """moto's standalone server (``python -m moto.server``) in its own process: the S3 API over HTTP,
    as MinIO or AWS speak it, so the object-store backend is tested through boto3 unpatched.

    :meth:`bucket` makes a fresh bucket (one per test); :meth:`config` is the app's settings for it.
    The credentials are moto's dummies, given the usual AWS way (:data:`ENV`, set by the fixture)."""

    ENV = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_SESSION_TOKEN": "testing",
           "AWS_DEFAULT_REGION": "us-east-1", "AWS_EC2_METADATA_DISABLED": "true",
           "AWS_CONFIG_FILE": "/nonexistent", "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process: Any = None
        #: seconds from starting the process to its first answer
        self.started_in = 0.0
        self._buckets = 0
        self._client: Any = None

    def start(self, timeout: float = 15.0) -> "S3Server":
        import subprocess
        import sys
        import time

        began = time.perf_counter()
        self.process = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while True:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    break
            except OSError:
                if self.process.poll() is not None or time.perf_counter() - began > timeout:
                    self.stop()
                    raise RuntimeError("moto's S3 server did not start") from None
                time.sleep(0.05)
        self.started_in = time.perf_counter() - began
        return self

    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.session.Session().client(
                "s3", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                aws_secret_access_key="testing")
        return self._client

    def bucket(self) -> str:
        """A new empty bucket's name."""
        self._buckets += 1
        name = f"lms-test-{self._buckets}"
        self.client().create_bucket(Bucket=name)
        return name

    def config(self, bucket: str, prefix: str = "lms") -> dict[str, Any]:
        return {"STORAGE_URL": f"s3://{bucket}/{prefix}" if prefix else f"s3://{bucket}",
                "S3_ENDPOINT_URL": self.endpoint, "S3_REGION": "us-east-1"}

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except Exception:  # noqa: BLE001 - it would not stop: make it
                self.process.kill()
                self.process.wait(5)


class TimestampServer:
    """An RFC 3161 timestamping authority over HTTP (RFC 3161 § 3.4): ``POST`` of an
    ``application/timestamp-query`` (a DER TimeStampReq) is answered with an
    ``application/timestamp-reply`` (a DER TimeStampResp) whose token is signed by a test TSA
    certificate (extended key usage id-kp-timeStamping, critical) under its own test root.
    pyHanko's DummyTimeStamper builds the reply. ``requests`` counts the queries; ``refuse`` answers
    them with HTTP 503."""

    def __init__(self) -> None:
        import datetime as dt
        import warnings

        from cryptography import x509
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import rsa
        from cryptography.utils import CryptographyDeprecationWarning
        from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", CryptographyDeprecationWarning)
            from asn1crypto import keys as asn1_keys
            from asn1crypto import tsp
            from asn1crypto import x509 as asn1_x509
            from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

        now = dt.datetime.now(dt.timezone.utc)
        root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        root_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA root")])
        root = (x509.CertificateBuilder().subject_name(root_name).issuer_name(root_name)
                .public_key(root_key.public_key()).serial_number(1)
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
                .sign(root_key, hashes.SHA256()))
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        cert = (x509.CertificateBuilder()
                .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Test TSA")]))
                .issuer_name(root_name).public_key(key.public_key()).serial_number(2)
                .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=30))
                .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
                .sign(root_key, hashes.SHA256()))

        def der(c: Any) -> Any:
            return asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER))

        self.root = der(root)
        stamper = DummyTimeStamper(
            tsa_cert=der(cert), certs_to_embed=[self.root],
            tsa_key=asn1_keys.PrivateKeyInfo.load(key.private_bytes(
                serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())))
        #: the DER TimeStampReq of every query received
        self.requests: list[bytes] = []
        self.refuse = False
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _answer(self, status: int, content_type: str, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Type") != "application/timestamp-query":
                    return self._answer(415, "text/plain", b"expected application/timestamp-query")
                server.requests.append(body)
                if server.refuse:
                    return self._answer(503, "text/plain", b"unavailable")
                try:
                    reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
                except Exception:  # noqa: BLE001 - a malformed query
                    reply = tsp.TimeStampResp({"status": {"status": "rejection"}}).dump()
                self._answer(200, "application/timestamp-reply", reply)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}/tsa"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def start(self) -> "TimestampServer":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
