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
