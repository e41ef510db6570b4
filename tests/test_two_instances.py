"""Two app servers behind one proxy: nothing that must be shared lives in one process.

Two gunicorn servers (gunicorn.conf.py, one worker each: the point is two processes) and one RQ worker (``flask --app lms
worker``) run as separate processes over the same database (the test's SQLite file, or PostgreSQL
with LMS_TEST_DATABASE_URL), the same Redis (database 13, emptied first) and the same
object store (moto's S3 server, as MinIO would be); each has an instance folder of its own. Then, over real HTTP with one browser-like cookie
jar, as a proxy would spread the requests:

(a) wrong sign-ins alternating between the servers meet the sign-in limit at its total;
(b) a licence scan uploaded through one server downloads byte-equal through the other;
(c) a bulk certificate run started on one server is followed to the end on the other (the RQ worker
    renders it), and its PDFs download the same from both;
(d) an import previewed on one server is confirmed on the other, and a second click on the first
    is told it is done.
"""
from __future__ import annotations

import http.client
import io
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import urlencode
from urllib.request import HTTPCookieProcessor, HTTPErrorProcessor, Request, build_opener

import pytest
import sqlalchemy as sa

from tests.conftest import TEST_PASSWORD
from tests.factories import tiny_pdf, totp_code
from tests.servers import redis_or_fail

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/13"
#: sign-in POSTs per address per minute on both servers together
LOGIN_LIMIT = 5


# --- the processes ------------------------------------------------------------------------------

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Cluster:
    servers: list[str]
    logs: list[Path]
    instances: list[Path]
    #: the object store's bucket, and a boto3 client for it
    bucket: str
    s3: Any
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    def wait_until_up(self, timeout: float = 90) -> None:
        """Both servers answer /healthz (they start while the test writes its data)."""
        deadline = time.monotonic() + timeout
        for url, proc, log in zip(self.servers, self.procs, self.logs):
            _wait_until_up(url, proc, log, deadline)

    def tail(self) -> str:
        """The end of every process's log, for a failing assertion."""
        out = []
        for log in self.logs:
            text = log.read_text("utf-8", "replace") if log.exists() else ""
            out.append(f"--- {log.name}\n{text[-3000:]}")
        return "\n".join(out)


def _wait_until_up(url: str, proc: subprocess.Popen[bytes], log: Path, deadline: float) -> None:
    host, port = url.removeprefix("http://").split(":")
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"{log.name} exited with {proc.returncode}:\n{log.read_text('utf-8', 'replace')[-3000:]}")
        conn = http.client.HTTPConnection(host, int(port), timeout=5)
        try:
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.1)
        finally:
            conn.close()
    pytest.fail(f"{log.name} did not answer in time:\n{log.read_text('utf-8', 'replace')[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(20)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)


def _shared_keys(folder: Path) -> dict[str, Path]:
    """The certificate signing key (a test authority's PKCS#12) and the credentials' Ed25519 key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from lms.certification import signing

    p12, _ca = signing.make_dev_keys(folder)
    credential = folder / "credential-key.pem"
    credential.write_bytes(Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    return {"p12": Path(p12), "credential": credential}


@pytest.fixture
def cluster(app, db_url: str, tmp_path: Path, s3_server) -> Iterator[Cluster]:  # type: ignore[no-untyped-def]
    """Two gunicorn servers and an RQ worker sharing the database, Redis and the object store,
    started (not yet answering: :meth:`Cluster.wait_until_up`)."""
    from tests.servers import S3Server

    conn = redis_or_fail(REDIS_URL)
    conn.flushdb()
    run = uuid.uuid4().hex[:8]
    bucket = s3_server.bucket()
    keys = _shared_keys(tmp_path / "shared-secrets")
    ports = [_free_port(), _free_port()]
    servers = [f"http://127.0.0.1:{p}" for p in ports]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LMS_", "GUNICORN_", "PROMETHEUS_"))}
    env.update({
        # the test's own key: the factories sealed the staff's authenticator secrets with it
        "LMS_SECRET_KEY": app.config["SECRET_KEY"], "LMS_DATABASE_URL": db_url, "LMS_REDIS_URL": REDIS_URL,
        **S3Server.ENV, **{f"LMS_{k}": v for k, v in s3_server.config(bucket).items()},
        # the signing keys are files every machine gets the same copy of, never made per instance
        "LMS_SIGNING_P12": str(keys["p12"]), "LMS_CREDENTIAL_KEY_FILE": str(keys["credential"]),
        "LMS_BASE_URL": servers[0], "LMS_SESSION_COOKIE_SECURE": "false", "LMS_REMEMBER_COOKIE_SECURE": "false",
        # as behind the proxy: one trusted hop, whose X-Forwarded-For names the client
        "LMS_TRUSTED_PROXIES": "1", "LMS_RATELIMIT_LOGIN": f"{LOGIN_LIMIT}/minute",
        "LMS_RATELIMIT_KEY_PREFIX": f"lms-two-{run}",
        "LMS_CERTIFICATE_QUEUE": f"certificates-{run}", "LMS_NOTIFICATIONS_QUEUE": f"notifications-{run}",
        "GUNICORN_WORKERS": "1", "GUNICORN_LOGLEVEL": "warning",
    })
    procs: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    instances: list[Path] = []

    def start(name: str, args: list[str], extra: dict[str, str]) -> subprocess.Popen[bytes]:
        instance = tmp_path / f"instance-{name}"
        log = tmp_path / f"{name}.log"
        instances.append(instance)
        logs.append(log)
        with open(log, "wb") as out:
            proc = subprocess.Popen(args, cwd=ROOT, env={**env, "LMS_INSTANCE_PATH": str(instance), **extra},
                                    stdout=out, stderr=subprocess.STDOUT)
        procs.append(proc)
        return proc

    try:
        for i, port in enumerate(ports):
            start(f"server-{i}", [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
                  {"GUNICORN_BIND": f"127.0.0.1:{port}"})
        start("worker", [sys.executable, "-m", "flask", "--app", "lms", "worker", "--workers", "1"], {})
        yield Cluster(servers=servers, logs=logs, instances=instances, bucket=bucket,
                      s3=s3_server.client(), procs=procs)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.terminate()
        for proc in procs:
            _stop(proc)
        conn.flushdb()
        conn.close()


# --- a browser: one cookie jar for both servers, forms with their CSRF token ------------------------

class _NoRedirects(HTTPErrorProcessor):
    def http_response(self, request, response):  # type: ignore[no-untyped-def]
        return response

    https_response = http_response


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


class Browser:
    def __init__(self) -> None:
        self.opener = build_opener(HTTPCookieProcessor(CookieJar()), _NoRedirects())

    def open(self, url: str, data: bytes | None = None, headers: dict[str, str] | None = None) -> Answer:
        with self.opener.open(Request(url, data=data, headers=headers or {}), timeout=60) as resp:
            return Answer(resp.status, resp.headers, resp.read())

    def get(self, url: str, **kw: Any) -> Answer:
        return self.open(url, **kw)

    def csrf(self, url: str, headers: dict[str, str] | None = None) -> str:
        page = self.get(url, headers=headers)
        m = CSRF.search(page.text)
        assert m, f"no CSRF token on {url} ({page.status})"
        return m.group(1)

    def post(self, url: str, fields: dict[str, str], files: dict[str, tuple[str, bytes, str]] | None = None,
             headers: dict[str, str] | None = None) -> Answer:
        if files:
            body, ctype = _multipart(fields, files)
        else:
            body, ctype = urlencode(fields).encode(), "application/x-www-form-urlencoded"
        return self.open(url, data=body, headers={"Content-Type": ctype, **(headers or {})})

    def form_post(self, page_url: str, url: str, fields: dict[str, str], **kw: Any) -> Answer:
        """Fetch a page (for its CSRF token), then post the form to ``url``."""
        return self.post(url, {"csrf_token": self.csrf(page_url, kw.get("headers")), **fields}, **kw)


def _multipart(fields: dict[str, str], files: dict[str, tuple[str, bytes, str]]) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'.encode()
             for k, v in fields.items()]
    for k, (name, data, ctype) in files.items():
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"; filename="{name}"\r\n'
                     f"Content-Type: {ctype}\r\n\r\n".encode() + data + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def _sign_in(browser: Browser, server: str, email: str) -> None:
    r = browser.form_post(f"{server}/login", f"{server}/login", {"email": email, "password": TEST_PASSWORD})
    assert r.status == 302, r.text[:2000]
    if r.headers["Location"].endswith("/login/code"):  # staff: the authenticator's code
        r = browser.form_post(f"{server}/login/code", f"{server}/login/code", {"code": totp_code(email)})
        assert r.status == 302, r.text[:2000]


# --- the test ---------------------------------------------------------------------------------------

def test_two_app_servers_share_limits_files_jobs_and_imports(app, db, factory, cluster: Cluster):
    from lms.certification.models import Certificate, CertificateJob
    from lms.places.models import Outlet
    from lms.programme.models import Evidence
    from tests.test_import import HEADER, csv_bytes, row

    a, b = cluster.servers
    trainee = factory.user("trainee", phone="+6281234567001")
    factory.enrolment(trainee=trainee)
    coordinator = factory.user("coordinator", region="3171")
    session = factory.session()
    for _ in range(3):
        factory.attendee(session)
    outlet_id, session_id, coordinator_email, trainee_email = (
        trainee.managed_outlet.id, session.id, coordinator.email, trainee.email)
    db.session.commit()
    cluster.wait_until_up()

    # (a) the sign-in limit counts the POSTs of one address on both servers together
    stranger = {"X-Forwarded-For": "203.0.113.7"}
    guesser = Browser()
    for i in range(LOGIN_LIMIT):
        server = (a, b)[i % 2]
        r = guesser.form_post(f"{server}/login", f"{server}/login",
                              {"email": f"tebak{i}@uji.example", "password": "salah-salah-salah"}, headers=stranger)
        assert r.status != 429, f"attempt {i + 1} on {server} was refused early"
    for server in (a, b):
        r = guesser.form_post(f"{server}/login", f"{server}/login",
                              {"email": "tebak@uji.example", "password": "salah-salah-salah"}, headers=stranger)
        assert r.status == 429 and int(r.headers["Retry-After"]) >= 1, (server, r.status)
    r = guesser.form_post(f"{a}/login", f"{a}/login", {"email": "tebak@uji.example", "password": "salah"},
                          headers={"X-Forwarded-For": "203.0.113.8"})
    assert r.status != 429  # another address has its own budget

    # (b) a licence scan uploaded through one server, downloaded through the other
    manager = Browser()
    _sign_in(manager, a, trainee_email)
    scan = tiny_pdf() + b"%% " + uuid.uuid4().hex.encode() + b"\n"
    form_url = f"{a}/outlets/{outlet_id}/evidence/licence/new"
    r = manager.form_post(form_url, form_url, {"licence_type": "NIB", "number": "9120001234567",
                                               "issued_on": "2018-03-01", "issuing_office": "OSS"},
                          files={"scan": ("nib.pdf", scan, "application/pdf")})
    assert r.status == 302, r.text[:2000]
    db.session.rollback()
    evidence_id = db.session.scalar(sa.select(Evidence.id).order_by(Evidence.id.desc()).limit(1))
    from_b = manager.get(f"{b}/evidence/{evidence_id}/file")
    assert from_b.status == 200 and from_b.body == scan
    assert manager.get(f"{a}/evidence/{evidence_id}/file").body == scan

    # (c) a bulk certificate run started on one server and followed on the other
    staff = Browser()
    _sign_in(staff, b, coordinator_email)
    candidates = f"{a}/certificates/sessions/{session_id}?kind=bimtek"
    r = staff.form_post(candidates, f"{a}/certificates/sessions/{session_id}/bulk",
                        {"kind": "bimtek", "confirmed": "1"})
    assert r.status == 302 and "/certificates/jobs/" in r.headers["Location"], r.text[:2000]
    job_id = int(r.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    seen: list[int] = []
    deadline = time.monotonic() + 60
    while True:
        status = staff.get(f"{b}/certificates/jobs/{job_id}/status.json")
        assert status.status == 200, status.text[:500]
        progress = json.loads(status.body)
        seen.append(progress["done"])
        if progress["finished"]:
            break
        assert time.monotonic() < deadline, f"the run did not finish: {progress}\n{cluster.tail()}"
        time.sleep(0.2)
    assert progress["total"] == 3 and progress["done"] == 3 and progress["failed"] == 0, progress
    assert seen == sorted(seen)
    assert staff.get(f"{b}/certificates/jobs/{job_id}").status == 200
    db.session.rollback()
    job = db.session.get(CertificateJob, job_id)
    assert job is not None and job.finished
    cert_ids = list(db.session.scalars(sa.select(Certificate.id).where(Certificate.session_id == session_id)))
    assert len(cert_ids) == 3
    for cert_id in cert_ids:
        pdf_a, pdf_b = (staff.get(f"{s}/certificates/{cert_id}/pdf") for s in (a, b))
        assert pdf_a.status == pdf_b.status == 200 and pdf_a.body.startswith(b"%PDF") and pdf_a.body == pdf_b.body
    archive = staff.get(f"{a}/certificates/jobs/{job_id}/zip")
    assert archive.status == 200
    with zipfile.ZipFile(io.BytesIO(archive.body)) as zf:
        assert len([n for n in zf.namelist() if n.endswith(".pdf")]) == 3

    # (d) an import previewed on one server and confirmed on the other
    data = csv_bytes([HEADER, row(901), row(902)])
    r = staff.form_post(f"{a}/import/outlets", f"{a}/import/outlets", {"cohort": ""},
                        files={"file": ("e-warong.csv", data, "text/csv")})
    assert r.status == 200 and "Ya, impor sekarang" in r.text, r.text[:2000]
    token = re.search(r'name="token" type="hidden" value="([^"]+)"', r.text)
    csrf = CSRF.search(r.text)
    assert token and csrf
    r = staff.post(f"{b}/import/outlets/confirm", {"csrf_token": csrf.group(1), "token": token.group(1)})
    assert r.status == 200 and "Impor selesai" in r.text, r.text[:2000]
    r = staff.post(f"{a}/import/outlets/confirm", {"csrf_token": csrf.group(1), "token": token.group(1)})
    assert r.status == 302 and r.headers["Location"].endswith("/outlets")  # done, not imported twice
    db.session.rollback()
    codes = set(db.session.scalars(sa.select(Outlet.code).where(Outlet.code.in_(["EW-3171-901", "EW-3171-902"]))))
    assert codes == {"EW-3171-901", "EW-3171-902"}

    # every stored file is in the object store: no process kept one in its own instance folder
    local = [p for inst in cluster.instances if inst.exists() for p in inst.rglob("*") if p.is_file()]
    assert local == [], local
    stored = {o["Key"].split("/")[1] for o in cluster.s3.list_objects_v2(Bucket=cluster.bucket)["Contents"]}
    assert {"uploads", "certificates", "imports"} <= stored, stored
    assert not any("Traceback" in log.read_text("utf-8", "replace") for log in cluster.logs), cluster.tail()
