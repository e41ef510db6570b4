"""The audit log: what is recorded, what never is, and that rows cannot be changed."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.audit.services import record
from lms.db import transaction, utcnow
from tests.conftest import TEST_PASSWORD

WRONG_PASSWORD = "Salah-Sandi-Rahasia-42"

#: deactivating takes a reason and the confirm step
DEACTIVATE = {"active": "0", "reason": "Tidak lagi mengelola e-Warong", "confirmed": "1"}


def _entries(db, action: str) -> list[AuditEntry]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action).order_by(AuditEntry.id)))


def _raw_rows(db) -> list[str]:  # type: ignore[no-untyped-def]
    """Every audit row as the database holds it, as text."""
    return [json.dumps([str(v) for v in row]) for row in db.session.execute(sa.text("SELECT * FROM audit_log"))]


def _post_login(client, email, password, ip):  # type: ignore[no-untyped-def]
    return client.form_post("/login", {"email": email, "password": password}, environ_base={"REMOTE_ADDR": ip})


def test_login_success_and_failure_are_recorded_with_ip_and_utc_time(client, factory, db):
    user = factory.user("mentor")
    assert _post_login(client, user.email, WRONG_PASSWORD, "203.0.113.9").status_code == 200
    assert _post_login(client, "siapa@uji.example", WRONG_PASSWORD, "203.0.113.10").status_code == 200
    assert _post_login(client, user.email, TEST_PASSWORD, "203.0.113.11").status_code == 302

    failed = _entries(db, "auth.login_failed")
    assert [(e.ip, e.target_id, e.details["reason"]) for e in failed] == [
        ("203.0.113.9", str(user.id), "bad_password"), ("203.0.113.10", None, "unknown_account")]
    assert failed[0].actor_id is None and failed[1].details["email"] == "siapa@uji.example"
    ok = _entries(db, "auth.login")
    assert len(ok) == 1
    assert (ok[0].actor_id, ok[0].target_id, ok[0].ip) == (user.id, str(user.id), "203.0.113.11")

    now = utcnow()
    for e in failed + ok:
        assert e.at.tzinfo is not None and e.at.utcoffset() == timedelta(0)
        assert abs(now - e.at) < timedelta(minutes=1)
    # stored as UTC, not as Jakarta time (which would be 7 hours ahead)
    raw = db.session.execute(sa.text("SELECT at FROM audit_log WHERE action = 'auth.login'")).scalar_one()
    if isinstance(raw, str):
        raw = datetime.fromisoformat(raw)
    assert abs(now.replace(tzinfo=None) - raw.replace(tzinfo=None)) < timedelta(minutes=1)

    for row in _raw_rows(db):
        assert TEST_PASSWORD not in row and WRONG_PASSWORD not in row
        assert "scrypt" not in row  # no hash either


def test_throttled_attempts_are_recorded_without_the_password(client, factory, db, app):
    app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"] = 1
    user = factory.user("mentor")
    _post_login(client, user.email, WRONG_PASSWORD, "203.0.113.20")
    assert _post_login(client, user.email, TEST_PASSWORD, "203.0.113.21").status_code == 429
    throttled = [e for e in db.session.scalars(sa.select(AuditEntry)) if "throttl" in e.action]
    assert len(throttled) == 1 and throttled[0].ip == "203.0.113.21"
    for row in _raw_rows(db):
        assert TEST_PASSWORD not in row and WRONG_PASSWORD not in row


def test_inactive_account_failure_reason(client, factory, db):
    user = factory.user("mentor", active=False)
    _post_login(client, user.email, TEST_PASSWORD, "203.0.113.12")
    (entry,) = _entries(db, "auth.login_failed")
    assert entry.details["reason"] == "inactive"
    assert TEST_PASSWORD not in json.dumps(entry.details)


def test_logout_is_recorded(client, login_as, db):
    user = login_as("trainee")
    client.form_post("/logout", environ_base={"REMOTE_ADDR": "198.51.100.4"})
    (entry,) = _entries(db, "auth.logout")
    assert entry.actor_id == user.id and entry.ip == "198.51.100.4"


def test_password_change_and_set_password_are_recorded_without_secrets(app, client, login_as, factory, db):
    user = login_as("mentor")
    new = "Sandi-Baru-Pusat-2018"
    r = client.form_post("/account/password", {"current_password": TEST_PASSWORD, "new_password": new, "confirm": new})
    assert r.status_code == 302
    (entry,) = _entries(db, "auth.password_changed")
    assert entry.actor_id == user.id
    for row in _raw_rows(db):
        assert new not in row and TEST_PASSWORD not in row


def test_admin_actions_are_recorded(client, factory, login_as, db):
    target = factory.user("mentor", region="3171")
    admin = login_as("admin")
    client.form_post(f"/users/{target.id}/edit", {
        "full_name": target.full_name, "email": target.email, "phone": "", "role": "coordinator",
        "region_id": str(factory.region("3171").id), "outlet_code": ""})
    client.form_post(f"/users/{target.id}/active", DEACTIVATE)
    client.form_post(f"/users/{target.id}/active", {"active": "1"})
    client.form_post(f"/users/{target.id}/reset-password", {"confirmed": "1"})
    for action in ("user.role_changed", "user.deactivated", "user.activated", "user.password_reset"):
        entries = _entries(db, action)
        assert len(entries) == 1, action
        assert entries[0].actor_id == admin.id and entries[0].target_type == "user"
        assert entries[0].target_id == str(target.id) and entries[0].ip
    changed = _entries(db, "user.role_changed")[0].details
    assert (changed["old_role"], changed["new_role"]) == ("mentor", "coordinator")
    for row in _raw_rows(db):
        assert "/set-password/" not in row and "token" not in row.lower()


def test_record_drops_secret_details(app, db):
    with transaction():
        record("test.secrets", password="p1", new_password="p2", password_hash="h", token="t", session_token="s",
               csrf_token="c", nested={"reset_token": "t2", "ok": 1}, kept="yes")
    (entry,) = _entries(db, "test.secrets")
    assert entry.details == {"nested": {"ok": 1}, "kept": "yes"}


# --- append-only -------------------------------------------------------------------------------

@pytest.fixture
def one_entry(app, db):  # type: ignore[no-untyped-def]
    with transaction():
        entry = record("test.fixed", ip="192.0.2.1", note="original")
    db.session.commit()
    return entry.id


@pytest.mark.parametrize("statement", [
    "UPDATE audit_log SET action = 'test.forged' WHERE id = :id",
    "UPDATE audit_log SET ip = '203.0.113.9'",  # an address may only become a hash ("h:…") or NULL
    "UPDATE audit_log SET actor_id = 1",
    "UPDATE audit_log SET at = '2020-01-01 00:00:00'",
    "UPDATE audit_log SET target_id = '99'",
    """UPDATE audit_log SET details = '{"note": "forged"}'""",  # a rewrite must carry the _redacted mark
    "DELETE FROM audit_log WHERE id = :id",
    "DELETE FROM audit_log",
])
def test_audit_rows_cannot_be_changed_or_deleted(db, one_entry, statement):
    with pytest.raises(sa.exc.DBAPIError) as e:
        db.session.execute(sa.text(statement), {"id": one_entry})
        db.session.flush()
        db.session.commit()
    db.session.rollback()
    assert "append-only" in str(e.value)
    if db.engine.dialect.name == "sqlite":
        assert isinstance(e.value, (sa.exc.IntegrityError, sa.exc.DatabaseError))
    entry = db.session.get(AuditEntry, one_entry)
    assert entry is not None and entry.action == "test.fixed" and entry.ip == "192.0.2.1"
    # appending still works after the refusal
    with transaction():
        record("test.after", note="later")
    assert len(_entries(db, "test.after")) == 1


def test_orm_changes_to_an_entry_are_refused_too(db, one_entry):
    entry = db.session.get(AuditEntry, one_entry)
    entry.details = {"note": "rewritten"}
    with pytest.raises(sa.exc.DBAPIError):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(AuditEntry, one_entry).details == {"note": "original"}


def test_redaction_may_hash_the_address_and_mark_the_details_and_nothing_else(db, one_entry):
    """Retention turns an old address into a hash and an erasure removes personal values; both
    leave who, what and when alone, and a rewritten ``details`` always says it was redacted."""
    db.session.execute(sa.text("UPDATE audit_log SET ip = 'h:0123abcd' WHERE id = :id"), {"id": one_entry})
    entry = db.session.get(AuditEntry, one_entry)
    entry.details = {"note": "[dihapus]", "_redacted": "2026-12-06T00:00:00+00:00"}
    db.session.commit()
    db.session.expire_all()
    entry = db.session.get(AuditEntry, one_entry)
    assert entry.ip == "h:0123abcd" and entry.action == "test.fixed"
    assert entry.details == {"note": "[dihapus]", "_redacted": "2026-12-06T00:00:00+00:00"}
    db.session.execute(sa.text("UPDATE audit_log SET ip = NULL WHERE id = :id"), {"id": one_entry})
    db.session.commit()
    assert db.session.get(AuditEntry, one_entry).ip is None


def test_timestamps_are_utc_aware_on_read(db, one_entry):
    entry = db.session.get(AuditEntry, one_entry)
    assert entry.at.tzinfo == timezone.utc


def test_reviews_issuances_and_revocations_are_recorded_with_actor_target_and_facts(factory, db):
    """Verifying and returning evidence, issuing and revoking certificates: each leaves an entry
    naming who, what and the facts a reviewer of the log needs."""
    from datetime import date

    from lms.certification import services as certs
    from lms.files import PDF, CheckedUpload
    from lms.programme import services as programme
    from tests.factories import tiny_pdf

    coord = factory.user("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    owner = factory.user("trainee", region="3171")
    factory.enrolment(cohort=cohort, trainee=owner)
    ev = programme.save_licence(owner, owner.managed_outlet,
                                programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
                                CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    programme.review(coord, ev, "return", "Scan buram, mohon unggah ulang.", ip="203.0.113.20")
    programme.save_licence(owner, owner.managed_outlet,
                           programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
                           CheckedUpload(tiny_pdf(), PDF, "nib.pdf"), existing=ev)
    programme.review(coord, ev, "verify", ip="203.0.113.21")
    for action, ip in (("evidence.returned", "203.0.113.20"), ("evidence.verified", "203.0.113.21")):
        (entry,) = _entries(db, action)
        assert (entry.actor_id, entry.target_type, entry.target_id, entry.ip) == (coord.id, "evidence", str(ev.id), ip)
        assert entry.details == {"evidence_type": "licence", "outlet_id": owner.managed_outlet.id}

    session = factory.session(region="3171", cohort=cohort)
    holder = factory.attendee(session)
    cert = certs.issue_for_session(coord, certs.design_for("bimtek"), session, holder).certificate
    certs.revoke(coord, cert, "Nama salah ketik", ip="203.0.113.22")
    (issued,) = _entries(db, "certificate.issued")
    assert (issued.actor_id, issued.target_type, issued.target_id) == (coord.id, "certificate", str(cert.id))
    assert issued.details["serial"] == cert.serial and issued.details["holder_id"] == holder.id
    (revoked,) = _entries(db, "certificate.revoked")
    assert (revoked.actor_id, revoked.target_id, revoked.ip) == (coord.id, str(cert.id), "203.0.113.22")
    assert revoked.details == {"serial": cert.serial, "reason": "Nama salah ketik"}
