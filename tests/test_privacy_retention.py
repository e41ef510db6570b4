"""Retention and minimisation (lms/privacy/retention.py): addresses hashed after 90 days, codes and
links deleted after use or expiry, old failures and message texts, expired "Data saya" files, inactive
accounts listed; idempotent, audited; the CLI, the admin page and the worker's daily run."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.extensions import db
from lms.notifications.models import Delivery, DeliveryStatus
from lms.people.models import LoginFailure, PasswordSetupToken, Role, SignInCode, User
from lms.people.security_models import RecoveryCode, SecondFactorFailure, UserSession
from lms.permissions import SYSTEM
from lms.privacy import retention
from lms.storage import storage
from lms.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookStatus

IP = "203.0.113.77"
DAY = timedelta(days=1)


def _add(*rows):  # type: ignore[no-untyped-def]
    with transaction():
        db.session.add_all(rows)
    return rows


def _ids(rows):  # type: ignore[no-untyped-def]
    return [(type(r), r.id) for r in rows]


def _exists(model, id_) -> bool:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(model.id == id_)) == 1


def _ips(model):  # type: ignore[no-untyped-def]
    pk = sa.inspect(model).primary_key[0]
    return dict(db.session.execute(sa.select(pk, model.ip)).all())


def _sign_in_material(user, now, age):  # type: ignore[no-untyped-def]
    """One row with ``IP`` of every kind that keeps an address, ``age`` old."""
    at = now - age
    return _add(
        AuditEntry(action="auth.login", actor_id=user.id, target_type="user", target_id=str(user.id), ip=IP, at=at),
        LoginFailure(email=user.email, ip=IP, at=at),
        SignInCode(purpose="login", phone="+6281234500077", user_id=user.id, ip=IP, created_at=at,
                   expires_at=at + timedelta(minutes=5)),
        UserSession(id=f"s{age.days}-{user.id}", user_id=user.id, ip=IP, created_at=at, last_seen_at=at),
        SecondFactorFailure(user_id=user.id, ip=IP, at=at),
    )


def _snapshot():  # type: ignore[no-untyped-def]
    """Everything the rules touch, to compare before and after a run."""
    out = {}
    for model in (AuditEntry, LoginFailure, SignInCode, UserSession, SecondFactorFailure, PasswordSetupToken,
                  RecoveryCode, Delivery, WebhookDelivery):
        out[model.__tablename__] = sorted(
            tuple(str(v) for v in row) for row in db.session.execute(sa.select(*model.__table__.columns)).all())
    return out


# --- addresses ----------------------------------------------------------------------------------------

def test_addresses_older_than_90_days_become_a_keyed_hash_and_newer_stay(app, factory):
    # keep the old codes and failures for this test: here only the address rule acts on them
    app.config.update(RETENTION_CODE_DAYS=3650, RETENTION_LOGIN_FAILURE_DAYS=3650)
    user = factory.user("trainee")
    now = utcnow()
    old = _sign_in_material(user, now, timedelta(days=91))
    new = _sign_in_material(user, now, timedelta(days=89))
    report = retention.run_retention(SYSTEM, now)

    hashed = retention.hash_ip(IP)
    assert re.fullmatch(r"h:[0-9a-f]{32}", hashed)
    for model, old_row, new_row in zip((AuditEntry, LoginFailure, SignInCode, UserSession, SecondFactorFailure),
                                       old, new):
        ips = _ips(model)
        pk = sa.inspect(model).primary_key[0].key
        assert ips[getattr(old_row, pk)] == hashed, model.__tablename__
        assert ips[getattr(new_row, pk)] == IP, model.__tablename__
        assert report.counts[f"ip.{model.__tablename__}"] >= 1
    # the audit entry kept everything but its address (its trigger allows only that change)
    entry = db.session.get(AuditEntry, old[0].id)
    db.session.refresh(entry)
    assert (entry.action, entry.actor_id, entry.target_id) == ("auth.login", user.id, str(user.id))
    # keyed: another secret gives another value, so the address cannot be looked up in a table of hashes
    app.config["SECRET_KEY"] = "another-secret"
    assert retention.hash_ip(IP) != hashed


def test_a_second_run_changes_nothing_and_reports_zeros(app, factory):
    user = factory.user("trainee")
    now = utcnow()
    _sign_in_material(user, now, timedelta(days=120))
    _sign_in_material(user, now, timedelta(days=10))
    _add(PasswordSetupToken(user_id=user.id, token_hash="a" * 64, expires_at=now - 3 * DAY),
         RecoveryCode(user_id=user.id, code_hash="b" * 64, used_at=now - 3 * DAY),
         Delivery(key="old", user_id=user.id, channel="email", kind="broadcast.sent", address=user.email,
                  subject="Lama", body_text="Isi lama", status=DeliveryStatus.SENT, created_at=now - 100 * DAY))
    ep = _endpoint(factory)
    _add(_webhook_delivery(ep, "w-old", WebhookStatus.DELIVERED, now - 100 * DAY),
         _webhook_delivery(ep, "w-new", WebhookStatus.DELIVERED, now - 10 * DAY))
    first = retention.run_retention(SYSTEM, now)
    assert first.counts["webhooks.deliveries"] == 1
    assert first.changed > 0
    before = _snapshot()
    second = retention.run_retention(SYSTEM, now)
    assert second.changed == 0 and set(second.counts.values()) == {0}
    after = _snapshot()
    after["audit_log"] = [r for r in after["audit_log"] if "privacy.retention_run" not in r]
    before["audit_log"] = [r for r in before["audit_log"] if "privacy.retention_run" not in r]
    assert after == before


def test_a_dry_run_counts_but_changes_and_records_nothing(app, factory):
    user = factory.user("trainee")
    now = utcnow()
    _sign_in_material(user, now, timedelta(days=100))
    before = _snapshot()
    dry = retention.run_retention(SYSTEM, now, dry_run=True)
    assert dry.dry_run and dry.counts["ip.audit_log"] == 1 and dry.counts["codes.sign_in_codes"] == 1
    assert _snapshot() == before
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)
                             .where(AuditEntry.action == "privacy.retention_run")) == 0
    real = retention.run_retention(SYSTEM, now)
    assert real.counts == dry.counts


# --- codes, links, failures, messages -------------------------------------------------------------------

def test_links_and_codes_are_deleted_after_use_or_expiry_and_not_before(app, factory):
    user = factory.user("trainee")
    now = utcnow()
    keep, gone = [], []

    def token(n, **kw):  # type: ignore[no-untyped-def]
        return PasswordSetupToken(user_id=user.id, token_hash=f"{n:064d}", **kw)

    def code(**kw):  # type: ignore[no-untyped-def]
        return SignInCode(purpose="login", phone="+6281234500078", user_id=user.id, ip="198.51.100.1", **kw)

    gone += _add(token(1, expires_at=now + DAY, used_at=now - 2 * DAY),  # used two days ago
                 token(2, expires_at=now - 2 * DAY),  # expired two days ago, never used
                 code(created_at=now - 3 * DAY, expires_at=now - 3 * DAY + timedelta(minutes=5)),
                 code(created_at=now - 2 * DAY, expires_at=now + DAY, used_at=now - 2 * DAY),
                 RecoveryCode(user_id=user.id, code_hash="c" * 64, used_at=now - 2 * DAY))
    keep += _add(token(3, expires_at=now + DAY, used_at=now - timedelta(hours=2)),  # used, within the grace day
                 token(4, expires_at=now + 2 * DAY),  # still valid
                 token(5, expires_at=now - timedelta(hours=5)),  # expired, within the grace day
                 code(created_at=now - timedelta(minutes=1), expires_at=now + timedelta(minutes=4)),
                 code(created_at=now - timedelta(hours=3), expires_at=now - timedelta(hours=3) + timedelta(minutes=5)),
                 RecoveryCode(user_id=user.id, code_hash="d" * 64),  # unused: still a way in
                 RecoveryCode(user_id=user.id, code_hash="e" * 64, used_at=now - timedelta(hours=1)))
    gone, keep = _ids(gone), _ids(keep)
    report = retention.run_retention(SYSTEM, now)
    assert (report.counts["codes.setup_links"], report.counts["codes.sign_in_codes"],
            report.counts["codes.recovery_codes"]) == (2, 2, 1)
    assert not any(_exists(*r) for r in gone)
    assert all(_exists(*r) for r in keep)


def test_a_real_set_up_link_is_deleted_the_day_after_it_was_used(app, factory):
    from lms.people import services as people

    pending, link = people.create_user(SYSTEM, people.UserInput(
        email="baru@uji.example", full_name="Orang Baru", role=Role.MENTOR,
        region_id=factory.region("3171").id))
    people.redeem_setup_token(link, "Gunung-Sahari-Lima-2018", ip="127.0.0.1")
    count = lambda: db.session.scalar(sa.select(sa.func.count()).select_from(PasswordSetupToken).where(  # noqa: E731
        PasswordSetupToken.user_id == pending.id))
    assert retention.run_retention(SYSTEM, utcnow()).counts["codes.setup_links"] == 0
    assert count() == 1
    assert retention.run_retention(SYSTEM, utcnow() + 2 * DAY).counts["codes.setup_links"] == 1
    assert count() == 0


def test_old_sign_in_failures_are_deleted_after_30_days(app, factory):
    user = factory.user("trainee")
    now = utcnow()
    old = _add(LoginFailure(email="x@uji.example", ip="198.51.100.2", at=now - 31 * DAY),
               SecondFactorFailure(user_id=user.id, ip="198.51.100.2", at=now - 31 * DAY))
    recent = _add(LoginFailure(email="x@uji.example", ip="198.51.100.2", at=now - 29 * DAY),
                  SecondFactorFailure(user_id=user.id, ip="198.51.100.2", at=now - 29 * DAY))
    old, recent = _ids(old), _ids(recent)
    report = retention.run_retention(SYSTEM, now)
    assert report.counts["failures.login_failures"] == 1 and report.counts["failures.second_factor_failures"] == 1
    assert not any(_exists(*r) for r in old)
    assert all(_exists(*r) for r in recent)


def test_old_sent_messages_lose_their_text_failed_ones_keep_it(app, factory):
    user = factory.user("trainee")
    now = utcnow()

    def delivery(key, status, age):  # type: ignore[no-untyped-def]
        return Delivery(key=key, user_id=user.id, channel="email", kind="broadcast.sent", address=user.email,
                        subject="Pengumuman", body_text="Halo Ibu Siti, tautan Anda …", body_html="<p>Halo</p>",
                        status=status, created_at=now - age)

    old_sent, old_failed, new_sent = _add(delivery("a", DeliveryStatus.SENT, 91 * DAY),
                                          delivery("b", DeliveryStatus.FAILED, 91 * DAY),
                                          delivery("c", DeliveryStatus.SENT, 89 * DAY))
    assert retention.run_retention(SYSTEM, now).counts["deliveries.bodies"] == 1
    for d in (old_sent, old_failed, new_sent):
        db.session.refresh(d)
    assert old_sent.body_text == retention.BODY_REMOVED and old_sent.body_html is None
    assert (old_sent.subject, old_sent.address, old_sent.status) == ("Pengumuman", user.email, DeliveryStatus.SENT)
    assert "Siti" in old_failed.body_text and "Siti" in new_sent.body_text


def _endpoint(factory):  # type: ignore[no-untyped-def]
    (ep,) = _add(WebhookEndpoint(owner_id=factory.user("admin").id, url="https://hooks.mitra.example/okoce",
                                 events=["certificate.issued"], secret="whsec_uji"))
    return ep


def _webhook_delivery(ep, uid, status, created_at):  # type: ignore[no-untyped-def]
    return WebhookDelivery(uid=uid, endpoint_id=ep.id, event="certificate.issued", status=status, attempts=1,
                           payload={"data": {"holder": "Siti Aminah", "serial": "OKOCE-7PAS-2026-000123"}},
                           created_at=created_at, next_attempt_at=created_at)


def test_webhook_deliveries_that_arrived_are_deleted_after_90_days_failed_and_pending_ones_stay(app, factory):
    ep = _endpoint(factory)
    now = utcnow()
    old = {s: _webhook_delivery(ep, f"old-{s.value}", s, now - 91 * DAY) for s in WebhookStatus}
    recent = _webhook_delivery(ep, "recent", WebhookStatus.DELIVERED, now - 89 * DAY)
    _add(*old.values(), recent)
    dry = retention.run_retention(SYSTEM, now, dry_run=True)
    assert dry.counts["webhooks.deliveries"] == 2
    assert retention.run_retention(SYSTEM, now).counts["webhooks.deliveries"] == 2
    left = set(db.session.scalars(sa.select(WebhookDelivery.uid)))
    assert left == {"old-pending", "old-sending", "old-failed", "recent"}
    # what stays keeps its payload: a failed delivery can still be sent again as it was
    failed = db.session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.uid == "old-failed")).one()
    assert failed.payload["data"]["holder"] == "Siti Aminah"
    assert db.session.get(WebhookEndpoint, ep.id) is not None


# --- "Data saya" files ------------------------------------------------------------------------------------

def test_export_files_are_deleted_after_7_days(app, factory):
    from lms.privacy import export
    from lms.privacy.models import DataRequest, RequestStatus

    app.config["DATA_EXPORT_WORKER"] = "off"  # built here, not raced by the worker thread
    user = factory.user("trainee")
    req, _created = export.request_export(user)
    assert export.build_export(req.id)
    db.session.refresh(req)
    assert req.status is RequestStatus.READY and req.expires_at is not None
    path = storage().local_path(export.AREA, req.file_key)
    assert path is not None and path.exists()
    assert (req.expires_at - utcnow()) > 6 * DAY  # kept DATA_EXPORT_DAYS (7)
    assert retention.run_retention(SYSTEM, utcnow() + 6 * DAY).counts["exports.files"] == 0
    assert path.exists()
    report = retention.run_retention(SYSTEM, req.expires_at + timedelta(minutes=1))
    assert report.counts["exports.files"] == 1
    req = db.session.get(DataRequest, req.id)
    db.session.refresh(req)
    assert not path.exists() and req.file_key is None and req.status is RequestStatus.EXPIRED


# --- inactive accounts ----------------------------------------------------------------------------------

def _age(user, *, created=None, last_login=None):  # type: ignore[no-untyped-def]
    with transaction():
        db.session.execute(sa.update(User).where(User.id == user.id).values(
            **({"created_at": created} if created else {}), last_login_at=last_login))


def test_accounts_inactive_for_3_years_are_listed_for_review_never_changed(app, factory, client, login_as):
    now = utcnow()
    long_ago = now - timedelta(days=3 * 366)
    silent = factory.user("trainee", full_name="Lama Tidak Masuk")
    never = factory.user("mentor", full_name="Belum Pernah Masuk")
    recent = factory.user("trainee", full_name="Baru Saja Masuk")
    off = factory.user("trainee", full_name="Sudah Nonaktif", active=False)
    erased = factory.user("trainee", full_name="Sudah Dihapus")
    _age(silent, created=long_ago, last_login=long_ago)
    _age(never, created=long_ago)
    _age(recent, created=long_ago, last_login=now - DAY)
    _age(off, created=long_ago, last_login=long_ago)
    _age(erased, created=long_ago, last_login=long_ago)
    with transaction():
        db.session.execute(sa.update(User).where(User.id == erased.id).values(erased_at=now))
    report = retention.run_retention(SYSTEM, now)
    assert report.inactive == 2
    total, rows = retention.inactive_page(now, 1, 50)
    assert total == 2 and {r.user.id for r in rows} == {silent.id, never.id}
    assert db.session.get(User, silent.id).active  # listed, not deactivated
    login_as("admin")
    html = client.get("/admin/privasi/masa-simpan").get_data(as_text=True)
    assert "Lama Tidak Masuk" in html and "Belum Pernah Masuk" in html
    assert "Baru Saja Masuk" not in html and "Sudah Nonaktif" not in html and "Sudah Dihapus" not in html


# --- audit, CLI, admin page, worker ----------------------------------------------------------------------

def test_each_run_is_audited_with_its_counts(app, factory):
    user = factory.user("trainee")
    now = utcnow()
    _sign_in_material(user, now, timedelta(days=100))
    retention.run_retention(SYSTEM, now)
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.retention_run")).one()
    assert entry.actor_id is None  # the system
    assert entry.details["counts"]["ip.audit_log"] == 1 and entry.details["counts"]["codes.sign_in_codes"] == 1
    assert set(entry.details["counts"]) == {k for k, _r, _t in retention.COUNTERS}
    assert "inactive" in entry.details


@pytest.fixture
def cli(app, db):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        db.session.commit()
        result = runner.invoke(args=list(args))
        db.session.rollback()
        db.session.expire_all()
        return result

    return invoke


def test_the_cli_prints_the_report_dry_and_real(cli, factory):
    user = factory.user("trainee")
    _sign_in_material(user, utcnow(), timedelta(days=100))
    r = cli("privacy", "retention", "--dry-run")
    assert r.exit_code == 0, r.output
    assert "dry run, nothing changed" in r.output and "addresses hashed in audit_log: 1" in r.output
    assert db.session.scalar(sa.select(AuditEntry.ip).where(AuditEntry.action == "auth.login")) == IP
    r = cli("privacy", "retention")
    assert r.exit_code == 0, r.output
    assert "addresses hashed in audit_log: 1" in r.output and "one-time sign-in codes deleted: 1" in r.output
    assert "accounts without a sign-in for 3 years (for review, not changed): 0" in r.output
    assert db.session.scalar(sa.select(AuditEntry.ip).where(AuditEntry.action == "auth.login")).startswith("h:")
    r = cli("privacy", "retention")
    assert r.exit_code == 0 and "total: 0 rows changed" in r.output


def test_the_admin_page_shows_the_rules_and_runs_after_a_confirm(app, factory, client, login_as):
    user = factory.user("trainee")
    _sign_in_material(user, utcnow(), timedelta(days=100))
    admin = login_as("admin")
    html = client.get("/admin/privasi/masa-simpan").get_data(as_text=True)
    assert "RETENTION_IP_DAYS" in html and "90 hari" in html and "3 tahun" in html and "7 hari" in html
    assert "belum pernah dijalankan" in html
    # first POST: the confirm page says what would change; nothing changes yet
    resp = client.form_post("/admin/privasi/masa-simpan/jalankan")
    assert resp.status_code == 200
    page = resp.get_data(as_text=True)
    assert "Alamat IP di log audit diganti hash: 1" in page and 'name="confirmed"' in page
    assert db.session.scalar(sa.select(AuditEntry.ip).where(
        AuditEntry.action == "auth.login", AuditEntry.actor_id == user.id)) == IP
    resp = client.form_post("/admin/privasi/masa-simpan/jalankan", {"confirmed": "1"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/privasi/masa-simpan")
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.retention_run")).one()
    assert entry.actor_id == admin.id
    html = client.get("/admin/privasi/masa-simpan").get_data(as_text=True)
    assert admin.full_name in html and "Alamat IP di log audit diganti hash: 1" in html
    # without the CSRF token: refused
    assert client.post("/admin/privasi/masa-simpan/jalankan", data={"confirmed": "1"}).status_code == 400


def test_the_admin_page_costs_the_same_queries_with_more_accounts(app, factory, client, login_as, count_queries):
    login_as("admin")
    long_ago = utcnow() - timedelta(days=4 * 365)

    def add(n):  # type: ignore[no-untyped-def]
        for _ in range(n):
            _age(factory.user("trainee"), created=long_ago, last_login=long_ago)
        retention.run_retention(SYSTEM)

    def measure() -> int:
        with count_queries() as c:
            assert client.get("/admin/privasi/masa-simpan").status_code == 200
        return c.count

    add(2)
    few = measure()
    add(12)
    assert measure() == few


def test_the_worker_runs_the_rules_once_a_day(app, factory):
    from lms.notifications import worker

    user = factory.user("trainee")
    now = utcnow()
    _sign_in_material(user, now, timedelta(days=100))
    assert retention.run_if_due(now) is not None
    assert retention.run_if_due(now + timedelta(hours=23)) is None  # ran today already
    assert retention.run_if_due(now + timedelta(hours=25)) is not None
    runs = lambda: db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(  # noqa: E731
        AuditEntry.action == "privacy.retention_run"))
    assert runs() == 2
    worker.run_retention_if_due()  # the worker's hook: the last run is in the future of "now": not due
    assert runs() == 2


def test_the_endpoint_page_says_how_long_its_deliveries_are_kept(app, factory, client, login_as):
    login_as("admin")
    ep = _endpoint(factory)
    app.config["RETENTION_WEBHOOK_DAYS"] = 45
    html = client.get(f"/admin/webhooks/{ep.id}").get_data(as_text=True)
    assert "dihapus beserta isinya setelah 45 hari" in html
    client.form_post("/lang", {"lang": "en", "next": "/home"})
    html = client.get(f"/admin/webhooks/{ep.id}").get_data(as_text=True)
    assert "deleted with their content after 45 days" in html
