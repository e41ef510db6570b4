"""Webhooks: endpoints on /admin/webhooks, deliveries built with the owner's rights, signed as the
README says, retried with backoff, and sent to a real local HTTP receiver (tests/servers.py)."""
from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import re
from datetime import date, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.extensions import db
from lms.notifications import dispatch, events
from lms.outbox import EVENTS
from lms.outbox.models import OutboxEvent
from lms.people.models import Role
from lms.webhooks import catalog, delivery, payloads, services
from lms.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookStatus

ROOT = Path(__file__).resolve().parent.parent
_n = itertools.count(1)


# --- helpers -----------------------------------------------------------------------------------------

def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """The receiver's check, written from README.md ("Webhooks"), not from lms/webhooks/signing.py:
    HMAC-SHA256 over "{webhook-id}.{webhook-timestamp}.{body}" keyed with base64(secret after
    "whsec_"), sent base64-encoded after "v1," in webhook-signature."""
    assert secret.startswith("whsec_")
    key = base64.b64decode(secret[len("whsec_"):])
    signed = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    want = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    versions = [part.split(",", 1) for part in headers["webhook-signature"].split(" ")]
    return any(v == "v1" and hmac.compare_digest(sig, want) for v, sig in versions)


def _endpoint(factory, receiver, events_=("certificate.issued",), owner=None, path="/hooks/7pas"):  # type: ignore[no-untyped-def]
    owner = owner or factory.user("admin", region=None)
    ep, secret = services.create_endpoint(owner, services.EndpointInput(
        url=receiver.url(path), description="Portal uji", events=list(events_)))
    return ep, secret


def _announce(name, payload, **kw):  # type: ignore[no-untyped-def]
    with transaction():
        assert events.announce(name, payload, **kw)
    return db.session.scalars(sa.select(OutboxEvent).order_by(OutboxEvent.id.desc()).limit(1)).one()


def _certificate(factory, region="3171"):  # type: ignore[no-untyped-def]
    """A trainee holding a Bimtek certificate, made quietly (each test announces what it studies)."""
    with events.muted():
        holder = factory.user("trainee", region=region, full_name="Siti Pemegang Sertifikat",
                              phone="+6281299990001", email=f"siti.pemegang{next(_n)}@uji.example")
        session = factory.session(region=region)
        factory.register(session, holder, "present")
        cert = factory.certificate(session=session, holder=holder)
    return holder, cert


def _deliveries(ep=None):  # type: ignore[no-untyped-def]
    q = sa.select(WebhookDelivery).order_by(WebhookDelivery.id)
    if ep is not None:
        q = q.where(WebhookDelivery.endpoint_id == ep.id)
    db.session.expire_all()
    return list(db.session.scalars(q))


def _later(minutes: float = 0):  # type: ignore[no-untyped-def]
    return utcnow() + timedelta(minutes=minutes, seconds=1)


# --- the catalogue ---------------------------------------------------------------------------------------

def test_every_event_is_offered_or_kept_back_with_a_reason():
    assert set(catalog.OFFERED) | set(catalog.NOT_OFFERED) == set(EVENTS)
    assert not set(catalog.OFFERED) & set(catalog.NOT_OFFERED)
    assert set(payloads.BUILDERS) == set(catalog.OFFERED)
    # secrets never leave: the events that carry a sign-in code or a set-up link are not offered
    assert {"password.reset", "auth.code_requested"} <= set(catalog.NOT_OFFERED)


def test_every_link_in_a_body_is_a_route_of_the_api(app):
    """The ``url`` a body carries points at a real GET operation of /api/v1 (lms/api)."""
    from werkzeug.exceptions import HTTPException

    adapter = app.url_map.bind("localhost")
    missing = []
    for kind, path in payloads.API_PATHS.items():
        try:
            endpoint, _args = adapter.match(path.format(id=7), method="GET")
        except HTTPException:
            endpoint = ""
        if not endpoint.startswith("api."):
            missing.append(f"{kind}: {path}")
    assert not missing, "webhook bodies link to API routes that do not exist: " + ", ".join(missing)


# --- signature, headers, body ---------------------------------------------------------------------------

def test_a_delivery_is_signed_as_documented(app, factory, webhook_receiver):
    ep, secret = _endpoint(factory, webhook_receiver)
    holder, cert = _certificate(factory)
    event = _announce("certificate.issued", {"certificate_id": cert.id})
    now = _later()
    dispatch.run_once(now)
    [got] = webhook_receiver.received
    assert got.path == "/hooks/7pas"
    assert got.headers["content-type"] == "application/json"
    assert verify(secret, got.headers, got.body)
    assert not verify(secret, got.headers, got.body.replace(b"certificate", b"certifikat"))
    assert not verify(services.signing.new_secret(), got.headers, got.body)
    assert int(got.headers["webhook-timestamp"]) == int(now.timestamp())
    body = got.json()
    [d] = _deliveries(ep)
    assert body["id"] == got.headers["webhook-id"] == d.uid and d.uid.startswith("msg_")
    assert body["type"] == "certificate.issued"
    assert body["created_at"] == event.created_at.replace(microsecond=0).isoformat().replace("+00:00", "Z")
    assert body["data"]["object"] == "certificate" and body["data"]["id"] == cert.id
    assert body["data"]["url"] == app.config["BASE_URL"].rstrip("/") + f"/api/v1/certificates/{cert.id}"
    assert body["data"]["status"] == "active" and body["data"]["holder_id"] == holder.id
    assert d.status is WebhookStatus.DELIVERED and d.last_status_code == 200 and d.attempts == 1
    assert d.delivered_at is not None and d.last_error is None


def test_the_readme_snippet_verifies_a_real_delivery(app, factory, webhook_receiver):
    """The 10 lines README.md gives receivers work on what the app really sends (and refuse a forgery)."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Webhooks", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)
    assert code, "README.md: the Webhooks section has no Python snippet"
    assert len(code.group(1).strip().splitlines()) <= 12
    ns: dict = {}
    exec(compile(code.group(1), "README.md", "exec"), ns)  # noqa: S102 (our own documentation)
    ep, secret = _endpoint(factory, webhook_receiver)
    _holder, cert = _certificate(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_later())
    [got] = webhook_receiver.received
    assert ns["verify"](secret, got.headers, got.body)  # the timestamp is now: within its 5 minutes
    assert not ns["verify"](secret, got.headers, got.body + b" ")
    old = {**got.headers, "webhook-timestamp": str(int(got.headers["webhook-timestamp"]) - 3600)}
    assert not ns["verify"](secret, old, got.body)


def test_only_active_endpoints_that_chose_the_event_get_it(app, factory, webhook_receiver):
    a, _sa = _endpoint(factory, webhook_receiver, ("certificate.issued",), path="/a")
    b, _sb = _endpoint(factory, webhook_receiver, ("evidence.verified",), path="/b")
    c, _sc = _endpoint(factory, webhook_receiver, ("certificate.issued", "certificate.revoked"), path="/c")
    services.set_active(c.owner, c, False)
    _holder, cert = _certificate(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_later())
    assert [r.path for r in webhook_receiver.received] == ["/a"]
    assert [len(_deliveries(e)) for e in (a, b, c)] == [1, 0, 0]


def test_an_event_makes_one_delivery_per_endpoint_however_often_it_is_dispatched(app, factory, webhook_receiver):
    ep, _secret = _endpoint(factory, webhook_receiver)
    _holder, cert = _certificate(factory)
    event = _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_later())
    with transaction():  # the subscriber run again for the same event (a retried fan-out)
        delivery.on_event(db.session.get(OutboxEvent, event.id))
    assert len(_deliveries(ep)) == 1
    with pytest.raises(sa.exc.IntegrityError):  # and the database says so too
        with transaction():
            db.session.add(WebhookDelivery(uid="msg_again", endpoint_id=ep.id, event_id=event.id,
                                           event=event.name, payload={}))
    db.session.rollback()
    dispatch.run_once(_later(1))
    assert len(webhook_receiver.received) == 1


# --- retries -----------------------------------------------------------------------------------------------

def test_failures_are_retried_with_backoff_under_the_same_id(app, factory, webhook_receiver):
    ep, secret = _endpoint(factory, webhook_receiver)
    _holder, cert = _certificate(factory)
    webhook_receiver.answers = [500, 503]
    _announce("certificate.issued", {"certificate_id": cert.id})
    t0 = _later()
    dispatch.run_once(t0)
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.PENDING and d.attempts == 1 and d.last_status_code == 500
    assert "HTTP 500" in d.last_error and "receiver said no" in d.last_error
    assert d.next_attempt_at == t0 + timedelta(minutes=1)
    dispatch.run_once(t0 + timedelta(seconds=59))  # not yet
    assert len(webhook_receiver.received) == 1
    dispatch.run_once(t0 + timedelta(minutes=1))
    [d] = _deliveries(ep)
    assert d.attempts == 2 and d.last_status_code == 503
    assert d.next_attempt_at == t0 + timedelta(minutes=1) + timedelta(minutes=5)
    assert dispatch.next_due() == d.next_attempt_at  # the worker wakes up for it
    dispatch.run_once(t0 + timedelta(minutes=6))
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.DELIVERED and d.attempts == 3 and d.last_status_code == 200
    assert d.last_error is None
    first, second, third = webhook_receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == third.headers["webhook-id"] == d.uid
    assert first.body == second.body == third.body
    assert len({r.headers["webhook-timestamp"] for r in (first, second, third)}) == 3  # each attempt signed anew
    assert all(verify(secret, r.headers, r.body) for r in (first, second, third))


def test_the_backoff_schedule():
    assert [delivery.backoff(n) for n in range(1, 7)] == [
        timedelta(minutes=1), timedelta(minutes=5), timedelta(minutes=30), timedelta(hours=2),
        timedelta(hours=12), timedelta(hours=12)]


def test_attempts_run_out_and_the_delivery_fails(app, factory, webhook_receiver):
    app.config["WEBHOOKS_MAX_ATTEMPTS"] = 3
    ep, _secret = _endpoint(factory, webhook_receiver)
    _holder, cert = _certificate(factory)
    webhook_receiver.answers = [500, 500, 500, 500]
    _announce("certificate.issued", {"certificate_id": cert.id})
    t = _later()
    for step in (0, 1, 6, 40, 200):
        dispatch.run_once(t + timedelta(minutes=step))
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.FAILED and d.attempts == 3 and d.last_status_code == 500
    assert "after 3 attempts" in d.last_error
    assert len(webhook_receiver.received) == 3


def test_no_answer_in_time_is_a_failed_attempt(app, factory, webhook_receiver):
    app.config["WEBHOOKS_TIMEOUT"] = 0.3
    ep, _secret = _endpoint(factory, webhook_receiver)
    _holder, cert = _certificate(factory)
    webhook_receiver.delay = 1.5
    _announce("certificate.issued", {"certificate_id": cert.id})
    t = _later()
    dispatch.run_once(t)
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.PENDING and d.last_status_code is None
    assert "no answer within 0.3 s" in d.last_error
    webhook_receiver.delay = 0
    dispatch.run_once(t + timedelta(minutes=1))
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.DELIVERED and d.attempts == 2


def test_a_receiver_that_is_down_is_retried(app, factory, webhook_receiver):
    ep, _secret = _endpoint(factory, webhook_receiver)
    with transaction():
        ep.url = "http://127.0.0.1:9/closed"  # the discard port: nothing listens there
    _holder, cert = _certificate(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_later())
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.PENDING and d.attempts == 1 and d.last_status_code is None
    assert "Connection" in d.last_error


def test_a_pass_leaves_the_rest_for_the_next_when_its_time_is_up(app, factory, webhook_receiver):
    """Slow receivers must not hold back the messages the same worker sends."""
    app.config["WEBHOOKS_PASS_SECONDS"] = 0
    admin = factory.user("admin", region=None)
    ep, _secret = _endpoint(factory, webhook_receiver, owner=admin)
    now = utcnow()
    for _i in range(3):
        services.send_ping(admin, ep, now)
    t = _later()
    assert delivery.deliver_due(t) == 1
    assert len(webhook_receiver.received) == 1
    assert dispatch.next_due() <= t  # the rest is still due: the worker comes straight back
    assert dispatch.run_once(t)["webhooks"] == 1
    dispatch.run_once(t)
    assert len(webhook_receiver.received) == 3
    assert len({r.headers["webhook-id"] for r in webhook_receiver.received}) == 3


def test_a_replay_from_the_page_keeps_the_same_id_and_body(app, factory, client, login_as, webhook_receiver):
    app.config["WEBHOOKS_MAX_ATTEMPTS"] = 1
    admin = factory.user("admin", region=None)
    ep, secret = _endpoint(factory, webhook_receiver, owner=admin)
    _holder, cert = _certificate(factory)
    webhook_receiver.answers = [500]
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_later())
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.FAILED
    login_as(admin)
    page = client.get(f"/admin/webhooks/{ep.id}").get_data(as_text=True)
    assert f"/admin/webhooks/deliveries/{d.id}/retry" in page
    resp = client.form_post(f"/admin/webhooks/deliveries/{d.id}/retry")
    assert resp.status_code == 302
    dispatch.run_once(_later(1))
    first, again = webhook_receiver.received
    assert again.headers["webhook-id"] == first.headers["webhook-id"] == d.uid  # the receiver can tell
    assert again.body == first.body and verify(secret, again.headers, again.body)
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.DELIVERED
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "webhook.retried")).one()
    assert entry.details["delivery"] == d.uid and entry.actor_id == admin.id
    # only failed deliveries are retried
    resp = client.form_post(f"/admin/webhooks/deliveries/{d.id}/retry")
    assert resp.status_code == 302
    dispatch.run_once(_later(2))
    assert len(webhook_receiver.received) == 2


def test_an_interrupted_send_is_failed_never_sent_again(app, factory, webhook_receiver):
    ep, _secret = _endpoint(factory, webhook_receiver)
    _holder, cert = _certificate(factory)
    event = _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.dispatch_event(event.id, _later())
    [d] = _deliveries(ep)

    class WorkerDied(BaseException):
        pass

    def die() -> None:
        raise WorkerDied()

    now = _later()
    with pytest.raises(WorkerDied):
        delivery.send_one(d.id, now, after_send=die)
    db.session.rollback()
    assert len(webhook_receiver.received) == 1
    dispatch.run_once(now + timedelta(minutes=5))  # another worker, soon: still maybe in flight
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.SENDING
    dispatch.run_once(now + timedelta(minutes=11))
    dispatch.run_once(now + timedelta(hours=13))
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.FAILED and "interrupted" in d.last_error
    assert len(webhook_receiver.received) == 1


# --- what a body may say --------------------------------------------------------------------------------

def test_nothing_is_sent_for_an_owner_who_was_deactivated(app, factory, webhook_receiver):
    owner = factory.user("admin", region=None)
    other_admin = factory.user("admin", region=None)
    ep, _secret = _endpoint(factory, webhook_receiver, ("certificate.issued", "certificate.revoked"), owner=owner)
    _holder, cert = _certificate(factory)
    waiting = _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.dispatch_event(waiting.id, _later())  # a delivery made while the owner was active, not yet sent
    from lms.people import services as people

    people.set_active(other_admin, owner, False, reason="Pindah tugas ke dinas lain")
    _announce("certificate.revoked", {"certificate_id": cert.id})
    dispatch.run_once(_later(1))
    assert webhook_receiver.received == []
    made_before, made_after = _deliveries(ep)
    assert made_before.status is WebhookStatus.SKIPPED and "owner is deactivated" in made_before.last_error
    assert made_after.status is WebhookStatus.SKIPPED and made_after.payload == {}
    assert "owner is deactivated" in made_after.last_error


def test_an_object_the_owner_may_not_see_is_skipped(app, factory, webhook_receiver):
    owner = factory.user("admin", region=None)
    ep, _secret = _endpoint(factory, webhook_receiver, ("certificate.issued",), owner=owner)
    with transaction():  # the admin becomes Jakarta Utara's coordinator; the endpoint keeps their rights
        owner.role = Role.COORDINATOR
        owner.region_id = factory.region("3172").id
    _far_holder, far = _certificate(factory, region="3171")
    _near_holder, near = _certificate(factory, region="3172")
    _announce("certificate.issued", {"certificate_id": far.id})
    _announce("certificate.issued", {"certificate_id": near.id})
    dispatch.run_once(_later())
    skipped, sent = _deliveries(ep)
    assert skipped.status is WebhookStatus.SKIPPED and skipped.payload == {}
    assert "may not see" in skipped.last_error
    assert sent.status is WebhookStatus.DELIVERED
    [got] = webhook_receiver.received
    assert got.json()["data"]["id"] == near.id
    assert str(far.serial).encode() not in got.body


def test_a_body_is_thin_and_names_only_people_the_owner_may_see(app, factory, webhook_receiver):
    """A 3171 coordinator's endpoint: a visit by a mentor from another region is sent without the
    mentor's id; no names, contacts or free text are in any body."""
    owner = factory.user("admin", region=None)
    ep, _secret = _endpoint(factory, webhook_receiver, ("visit.logged", "certificate.issued"), owner=owner)
    with transaction():  # the admin who made it now coordinates Jakarta Pusat
        owner.role = Role.COORDINATOR
        owner.region_id = factory.region("3171").id
    with events.muted():
        outlet = factory.outlet("3171")
        stranger = factory.user("mentor", region="3172", full_name="Mentor Dari Utara", phone="+6281299990002")
        factory.assign_mentor(stranger, outlet)
        visit = factory.visit(stranger, outlet, observations="Stok minyak goreng habis sejak Senin",
                              staff_notes="Catatan rahasia staf")
    holder, cert = _certificate(factory)
    _announce("visit.logged", {"visit_id": visit.id})
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_later())
    by_object = {r.json()["data"]["object"]: r for r in webhook_receiver.received}
    v = by_object["visit"].json()["data"]
    assert v["id"] == visit.id and v["outlet_id"] == outlet.id and "mentor_id" not in v
    c = by_object["certificate"].json()["data"]
    assert c["holder_id"] == holder.id  # a 3171 trainee: the coordinator may see them
    raw = b"".join(r.body for r in webhook_receiver.received)
    for secret_text in ("Mentor Dari Utara", "Stok minyak", "Catatan rahasia", "Siti Pemegang", "siti.pemegang",
                        "6281299990001", "6281299990002", outlet.name, str(stranger.email)):
        assert secret_text.encode() not in raw, secret_text


def test_evidence_events_carry_status_but_not_the_reviewers_comment(app, factory, webhook_receiver):
    from lms.files import PDF, CheckedUpload
    from lms.programme import services as programme
    from tests.factories import tiny_pdf

    ep, _secret = _endpoint(factory, webhook_receiver, ("evidence.submitted", "evidence.returned"))
    owner = factory.user("trainee", region="3171")
    factory.enrolment(trainee=owner)
    ev = programme.save_licence(owner, owner.managed_outlet,
                                programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
                                CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    _announce("evidence.returned", {"evidence_id": ev.id, "comment": "Foto NIB buram, ulangi"})
    dispatch.run_once(_later())
    bodies = [r.json() for r in webhook_receiver.received]
    assert [b["type"] for b in bodies] == ["evidence.submitted", "evidence.returned"]
    assert bodies[0]["data"]["object"] == "evidence" and bodies[0]["data"]["status"] == "submitted"
    assert bodies[0]["data"]["url"].endswith(f"/api/v1/evidence/{ev.id}")
    assert b"buram" not in b"".join(r.body for r in webhook_receiver.received)
    assert b"9120001234567" not in b"".join(r.body for r in webhook_receiver.received)


# --- addresses ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("url, why", [
    ("http://hooks.example.org/7pas", "https://"),
    ("ftp://hooks.example.org/7pas", "https://"),
    ("https://10.1.2.3/hook", "internal"),
    ("https://192.168.0.10/hook", "internal"),
    ("https://169.254.169.254/latest/meta-data", "internal"),
    ("https://[::ffff:10.0.0.1]/hook", "internal"),
    ("https://100.64.0.1/hook", "internal"),
    ("https://user:pw@93.184.215.14/hook", "kata sandi"),
    ("not a url", "https://"),
])
def test_unsafe_urls_are_refused_in_the_form(app, client, factory, login_as, url, why):
    login_as(factory.user("admin", region=None))
    resp = client.form_post("/admin/webhooks/new", {"url": url, "events": ["certificate.issued"]})
    assert resp.status_code == 422
    assert why in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookEndpoint)) == 0


def test_local_http_is_refused_unless_allowed(app, client, factory, login_as):
    login_as(factory.user("admin", region=None))
    app.config["WEBHOOKS_ALLOW_HTTP_LOCAL"] = False
    for url in ("http://127.0.0.1:8080/hook", "https://127.0.0.1/hook", "https://localhost/hook"):
        resp = client.form_post("/admin/webhooks/new", {"url": url, "events": ["certificate.issued"]})
        assert resp.status_code == 422, url
    app.config["WEBHOOKS_ALLOW_HTTP_LOCAL"] = True
    resp = client.form_post("/admin/webhooks/new", {"url": "http://127.0.0.1:8080/hook",
                                                    "events": ["certificate.issued"]})
    assert resp.status_code == 302
    # even when local http is allowed, other private addresses are not
    resp = client.form_post("/admin/webhooks/new", {"url": "http://10.0.0.5/hook", "events": ["certificate.issued"]})
    assert resp.status_code == 422


def test_an_address_that_became_internal_is_refused_at_send_time(app, factory, webhook_receiver):
    ep, _secret = _endpoint(factory, webhook_receiver)
    app.config["WEBHOOKS_ALLOW_HTTP_LOCAL"] = False  # as in production: 127.0.0.1 is internal
    _holder, cert = _certificate(factory)
    _announce("certificate.issued", {"certificate_id": cert.id})
    dispatch.run_once(_later())
    [d] = _deliveries(ep)
    assert d.status is WebhookStatus.FAILED and d.last_error.startswith("refused:")
    assert webhook_receiver.received == []


def test_a_name_that_does_not_resolve_is_refused_in_the_form(app, client, factory, login_as):
    login_as(factory.user("admin", region=None))
    resp = client.form_post("/admin/webhooks/new", {"url": "https://tidak-ada.invalid/hook",
                                                    "events": ["certificate.issued"]})
    assert resp.status_code == 422
    assert "tidak ditemukan" in resp.get_data(as_text=True)


# --- the admin pages ---------------------------------------------------------------------------------------

def test_create_shows_the_secret_once_and_audits_without_it(app, client, factory, login_as):
    admin = login_as(factory.user("admin", region=None))
    form = client.get("/admin/webhooks/new").get_data(as_text=True)
    assert "Sertifikat terbit (certificate.issued)" in form and 'type="checkbox"' in form
    assert "password.reset" not in form and "auth.code_requested" not in form
    resp = client.form_post("/admin/webhooks/new", {
        "url": "https://93.184.215.14/hooks/7pas", "description": "Portal Satu Data",
        "events": ["certificate.issued", "evidence.verified"]})
    assert resp.status_code == 302
    ep = db.session.scalars(sa.select(WebhookEndpoint)).one()
    assert ep.owner_id == admin.id and ep.events == ["certificate.issued", "evidence.verified"] and ep.active
    assert ep.secret.startswith("whsec_") and len(base64.b64decode(ep.secret[6:])) == 32
    first = client.get(resp.headers["Location"])
    assert ep.secret in first.get_data(as_text=True)
    assert first.headers["Cache-Control"] == "no-store"
    assert ep.secret not in client.get(resp.headers["Location"]).get_data(as_text=True)  # once
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "webhook.created")).one()
    assert entry.actor_id == admin.id and entry.target_type == "webhook_endpoint" and entry.target_id == str(ep.id)
    assert ep.secret not in json.dumps(entry.details)
    # the list shows it, with the help on checking signatures
    page = client.get("/admin/webhooks").get_data(as_text=True)
    assert "https://93.184.215.14/hooks/7pas" in page and "Portal Satu Data" in page
    assert "webhook-signature" in page and "hmac.new(key" in page


def test_an_unknown_event_or_none_is_refused(app, client, factory, login_as):
    login_as(factory.user("admin", region=None))
    resp = client.form_post("/admin/webhooks/new", {"url": "https://93.184.215.14/h", "events": ["password.reset"]})
    assert resp.status_code == 422 and "password.reset" in resp.get_data(as_text=True)
    resp = client.form_post("/admin/webhooks/new", {"url": "https://93.184.215.14/h"})
    assert resp.status_code == 422 and "paling sedikit satu" in resp.get_data(as_text=True)


def test_edit_rotate_deactivate_ping_and_delete(app, client, factory, login_as, webhook_receiver):
    admin = login_as(factory.user("admin", region=None))
    ep, old_secret = _endpoint(factory, webhook_receiver, owner=admin)
    form = client.get(f"/admin/webhooks/{ep.id}/edit").get_data(as_text=True)
    assert re.search(r'<input[^>]*checked[^>]*value="certificate.issued"|<input[^>]*value="certificate.issued"[^>]*checked',
                     form)
    assert ep.url in form
    # edit: events and description
    resp = client.form_post(f"/admin/webhooks/{ep.id}/edit", {
        "url": ep.url, "description": "Bank DKI", "events": ["certificate.revoked"]})
    assert resp.status_code == 302
    db.session.refresh(ep)
    assert ep.events == ["certificate.revoked"] and ep.description == "Bank DKI"
    updated = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "webhook.updated")).one()
    assert updated.details["changes"]["events"] == {"old": ["certificate.issued"], "new": ["certificate.revoked"]}
    # rotate: the confirm page first, then a new secret, shown once
    confirm = client.form_post(f"/admin/webhooks/{ep.id}/rotate")
    assert confirm.status_code == 200 and 'name="confirmed"' in confirm.get_data(as_text=True)
    db.session.refresh(ep)
    assert ep.secret == old_secret
    resp = client.form_post(f"/admin/webhooks/{ep.id}/rotate", {"confirmed": "1"})
    assert resp.status_code == 302
    db.session.refresh(ep)
    new_secret = ep.secret
    assert new_secret != old_secret and new_secret in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "webhook.secret_rotated")).one()
    # ping: signed with the new secret, sent by the worker
    assert client.form_post(f"/admin/webhooks/{ep.id}/ping").status_code == 302
    assert webhook_receiver.received == []  # never in the request
    dispatch.run_once(_later())
    [ping] = webhook_receiver.received
    assert ping.json()["type"] == "webhook.ping" and ping.json()["data"] == {"object": "webhook_endpoint", "id": ep.id}
    assert verify(new_secret, ping.headers, ping.body) and not verify(old_secret, ping.headers, ping.body)
    page = client.get(f"/admin/webhooks/{ep.id}").get_data(as_text=True)
    assert "Uji coba (ping)" in page and "Terkirim" in page and ">200<" in page
    # deactivate: nothing more is made for it (and a ping is refused)
    assert client.form_post(f"/admin/webhooks/{ep.id}/active", {"active": "0"}).status_code == 302
    db.session.refresh(ep)
    assert not ep.active
    _holder, cert = _certificate(factory)
    _announce("certificate.revoked", {"certificate_id": cert.id})
    client.form_post(f"/admin/webhooks/{ep.id}/ping")
    dispatch.run_once(_later(1))
    assert len(_deliveries(ep)) == 1 and len(webhook_receiver.received) == 1
    # delete: confirm first, then the endpoint and its deliveries are gone, audited
    ep_id = ep.id
    confirm = client.form_post(f"/admin/webhooks/{ep_id}/delete")
    assert confirm.status_code == 200 and 'name="confirmed"' in confirm.get_data(as_text=True)
    assert client.form_post(f"/admin/webhooks/{ep_id}/delete", {"confirmed": "1"}).status_code == 302
    db.session.expunge_all()
    assert db.session.get(WebhookEndpoint, ep_id) is None and _deliveries() == []
    deleted = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "webhook.deleted")).one()
    assert deleted.details["deliveries"] == 1 and deleted.target_id == str(ep_id)
    assert client.get(f"/admin/webhooks/{ep_id}").status_code == 404


def test_the_pages_are_for_admins_only(app, client, factory, login_as, webhook_receiver):
    ep, _secret = _endpoint(factory, webhook_receiver)
    login_as(factory.user("coordinator", region=None))
    for url in ("/admin/webhooks", "/admin/webhooks/new", f"/admin/webhooks/{ep.id}", f"/admin/webhooks/{ep.id}/edit"):
        assert client.get(url).status_code == 403, url
    for url in (f"/admin/webhooks/{ep.id}/ping", f"/admin/webhooks/{ep.id}/rotate", f"/admin/webhooks/{ep.id}/delete"):
        assert client.form_post(url, {"confirmed": "1"}).status_code == 403, url
    with pytest.raises(Exception):
        services.create_endpoint(factory.user("coordinator", region=None),
                                 services.EndpointInput(url=webhook_receiver.url(), events=["certificate.issued"]))


def test_a_missing_or_odd_id_is_404(app, client, factory, login_as):
    login_as(factory.user("admin", region=None))
    for url in ("/admin/webhooks/999999", "/admin/webhooks/abc", "/admin/webhooks/99999999999999999999/edit"):
        assert client.get(url).status_code == 404, url
    assert client.form_post("/admin/webhooks/deliveries/999999/retry").status_code == 404


def test_the_audit_log_names_the_webhook_actions():
    from lms.audit import browse

    for action in ("webhook.created", "webhook.updated", "webhook.secret_rotated", "webhook.deleted",
                   "webhook.retried"):
        assert action in browse.ACTION_LABELS


# --- bounded queries -------------------------------------------------------------------------------------

def _many_deliveries(ep, n):  # type: ignore[no-untyped-def]
    statuses = list(WebhookStatus)
    with transaction():
        db.session.add_all([WebhookDelivery(uid=f"msg_{ep.id}_{i}", endpoint_id=ep.id, event="certificate.issued",
                                            payload={"id": i}, status=statuses[i % len(statuses)], attempts=i % 4,
                                            last_status_code=500 if i % 2 else 200, last_error="HTTP 500" if i % 2 else None,
                                            delivered_at=utcnow() if i % 5 == 2 else None)
                            for i in range(n)])


def test_the_delivery_list_costs_the_same_for_5_and_50(app, client, factory, login_as, count_queries,
                                                       webhook_receiver):
    admin = login_as(factory.user("admin", region=None))
    small, _s1 = _endpoint(factory, webhook_receiver, owner=admin)
    big, _s2 = _endpoint(factory, webhook_receiver, owner=admin)
    _many_deliveries(small, 5)
    _many_deliveries(big, 50)
    counts = []
    for ep in (small, big):
        client.get(f"/admin/webhooks/{ep.id}")  # warm caches (the session's user, translations)
        with count_queries() as q:
            resp = client.get(f"/admin/webhooks/{ep.id}")
        assert resp.status_code == 200
        counts.append(q.count)
    assert counts[0] == counts[1], counts
    assert resp.get_data(as_text=True).count("/retry") == sum(
        1 for d in _deliveries(big) if d.status is WebhookStatus.FAILED)
    # the list of endpoints, each with its latest delivery: the same for 2 endpoints and 7
    with count_queries() as q:
        client.get("/admin/webhooks")
    few = q.count
    for _i in range(5):
        ep, _s = _endpoint(factory, webhook_receiver, owner=factory.user("admin", region=None))
        _many_deliveries(ep, 3)
    with count_queries() as q:
        page = client.get("/admin/webhooks").get_data(as_text=True)
    assert q.count == few, (few, q.count)
    assert page.count("HTTP 500") + page.count("HTTP 200") >= 7
