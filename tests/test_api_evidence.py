"""The JSON API's evidence and attendance: reading under the pages' rulebook (404 for another
region's), recording evidence with a multipart upload through the forms' services and file checks
(422 problems with field errors), the four-eyes review, attendance read and recorded by the
session's coordinator, scopes per operation and bounded queries per list."""
from __future__ import annotations

import io
from datetime import date, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.files import PDF, CheckedUpload
from lms.programme import services as programme
from tests.factories import tiny_pdf, tiny_png
from tests.test_api import all_pages, auth, get, make_token

COORD_SCOPES = ("read", "write:evidence", "write:attendance", "review")


def _licence(user, outlet=None, number: str = "9120001234567"):  # type: ignore[no-untyped-def]
    """A licence submitted by ``user`` for their outlet (or ``outlet``), through the service."""
    return programme.save_licence(user, outlet or user.managed_outlet,
                                  programme.LicenceInput("NIB", number, date(2018, 3, 1), "OSS"),
                                  CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))


def _two_regions(factory):  # type: ignore[no-untyped-def]
    cohort = factory.cohort(regions=("3171", "3172"))
    a = factory.user("trainee", region="3171", phone="+6281299991001")
    b = factory.user("trainee", region="3172", phone="+6281299991002")
    factory.enrolment(cohort=cohort, trainee=a)
    factory.enrolment(cohort=cohort, trainee=b)
    ev_a = _licence(a)
    ev_b = programme.save_marketing(b, b.managed_outlet, programme.MarketingInput(
        "online_shop", "Toko online di marketplace untuk sembako", "tokopedia.com/ewarong"), None)
    return cohort, a, b, ev_a, ev_b


def _post(client, url: str, secret: str, data: dict, **headers: str):  # type: ignore[no-untyped-def]
    return client.post(url, data=data, headers=auth(secret, **headers), content_type="multipart/form-data")


def _fields(resp) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    out: dict[str, list[str]] = {}
    for e in resp.get_json().get("errors", []):
        out.setdefault(e["field"], []).append(e["detail"])
    return out


# --- reading ------------------------------------------------------------------------------------------------

def test_evidence_is_read_under_the_pages_rulebook(client, factory):
    cohort, a, b, ev_a, ev_b = _two_regions(factory)
    coord = make_token(factory.user("coordinator", region="3171"))
    items = all_pages(client, "/api/v1/evidence", coord)
    assert [i["id"] for i in items] == [ev_a.id]  # not the 3172 outlet's
    item = items[0]
    assert item["type"] == "licence" and item["status"] == "submitted" and item["stage_key"] == "perizinan"
    assert item["licence"] == {"licence_type": "NIB", "number": "9120001234567", "issued_on": "2018-03-01",
                               "issuing_office": "OSS"}
    assert "marketing" not in item and item["file"]["content_type"] == "application/pdf"
    assert item["outlet"]["id"] == a.managed_outlet.id and item["region"]["code"] == "3171"
    assert item["submitted_by"] == {"id": a.id, "name": a.full_name}
    resp = get(client, f"/api/v1/evidence/{ev_b.id}", coord)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    assert get(client, f"/api/v1/evidence/{ev_b.id}/file", coord).status_code == 404
    assert get(client, "/api/v1/evidence?region=3172", coord).get_json()["items"] == []
    detail = get(client, f"/api/v1/evidence/{ev_a.id}", coord).get_json()
    assert [h["decision"] for h in detail["history"]] == ["submitted"] and detail["history"][0]["by"]["id"] == a.id
    assert detail["review_allowed"] is True
    # the manager sees their outlet's evidence, not the neighbour's
    own = make_token(a)
    assert [i["id"] for i in all_pages(client, "/api/v1/evidence", own)] == [ev_a.id]
    assert get(client, f"/api/v1/evidence/{ev_a.id}", own).get_json()["review_allowed"] is False
    assert get(client, f"/api/v1/evidence/{ev_b.id}", own).status_code == 404
    # a mentor: their caseload's
    mentor = factory.user("mentor", region="3172")
    factory.assign_mentor(mentor, b.managed_outlet)
    assert [i["id"] for i in all_pages(client, "/api/v1/evidence", make_token(mentor))] == [ev_b.id]
    # an admin sees both and filters them
    admin = make_token(factory.user("admin"))
    assert [i["id"] for i in all_pages(client, "/api/v1/evidence", admin)] == [ev_a.id, ev_b.id]
    for query, expected in [("region=3172", [ev_b.id]), ("type=licence", [ev_a.id]), ("stage=pemasaran", [ev_b.id]),
                            ("status=submitted", [ev_a.id, ev_b.id]), ("status=verified", []),
                            (f"cohort={cohort.id}", [ev_a.id, ev_b.id]), (f"cohort={cohort.id + 99}", []),
                            (f"kecamatan={a.managed_outlet.kecamatan.code}", [ev_a.id]),
                            (f"outlet={b.managed_outlet.id}", [ev_b.id])]:
        assert [i["id"] for i in all_pages(client, f"/api/v1/evidence?{query}", admin)] == expected, query
    assert get(client, "/api/v1/evidence?stage=nope", admin).status_code == 422
    assert get(client, "/api/v1/evidence?status=lost", admin).status_code == 422


def test_evidence_sync_by_updated_since_and_its_file(client, factory, db):
    _cohort, a, _b, ev_a, ev_b = _two_regions(factory)
    admin = make_token(factory.user("admin"))
    since = utcnow() + timedelta(seconds=1)
    from lms.programme.models import Evidence

    with transaction():
        db.session.get(Evidence, ev_a.id).updated_at = since + timedelta(seconds=5)
    items = all_pages(client, f"/api/v1/evidence?updated_since={quote(since.isoformat())}&limit=1", admin)
    assert [i["id"] for i in items] == [ev_a.id]
    resp = get(client, f"/api/v1/evidence/{ev_a.id}/file", admin)
    data = resp.get_data()
    resp.close()
    assert resp.status_code == 200 and resp.mimetype == "application/pdf" and data == tiny_pdf()
    assert resp.headers["Cache-Control"] == "private, no-store"
    assert get(client, f"/api/v1/evidence/{ev_b.id}/file", admin).status_code == 404  # no file


# --- creating --------------------------------------------------------------------------------------------------

def test_a_manager_records_a_licence_with_a_multipart_upload(client, factory, db):
    from lms.audit.models import AuditEntry
    from lms.outbox.models import OutboxEvent

    trainee = factory.user("trainee", region="3171")
    factory.enrolment(cohort=factory.cohort(regions=("3171",)), trainee=trainee)
    outlet = trainee.managed_outlet
    secret = make_token(trainee, "read", "write:evidence")
    resp = _post(client, f"/api/v1/outlets/{outlet.id}/evidence/licence", secret, {
        "licence_type": "NIB", "number": "9120 0012 3456 7", "issued_on": "2021-06-01", "issuing_office": "OSS",
        "scan": (io.BytesIO(tiny_png((40, 30), exif_gps=True)), "nib.jpg")})
    assert resp.status_code == 201, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["status"] == "submitted" and body["licence"]["number"] == "9120001234567"  # the service cleaned it
    assert body["file"]["content_type"] == "image/png"  # by content, whatever the name says
    assert resp.headers["Location"].endswith(f"/api/v1/evidence/{body['id']}")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "evidence.created", AuditEntry.target_id == str(body["id"]))) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent).where(
        OutboxEvent.name == "evidence.submitted")) == 1
    file_resp = get(client, f"/api/v1/evidence/{body['id']}/file", secret)
    stored = file_resp.get_data()
    file_resp.close()
    assert b"GPS" not in stored and stored.startswith(b"\x89PNG")  # re-encoded without metadata
    # the scope, and the outlet rules: another outlet is 404
    assert _post(client, f"/api/v1/outlets/{outlet.id}/evidence/licence", make_token(trainee), {}).status_code == 403
    elsewhere = factory.outlet("3172")
    resp = _post(client, f"/api/v1/outlets/{elsewhere.id}/evidence/marketing", secret,
                 {"kind": "bazaar", "description": "Bazar Ramadan di kelurahan"})
    assert resp.status_code == 404


def test_bad_evidence_is_422_with_every_field_problem_in_the_callers_language(client, factory):
    trainee = factory.user("trainee", region="3171")
    outlet = trainee.managed_outlet
    secret = make_token(trainee, "read", "write:evidence")
    url = f"/api/v1/outlets/{outlet.id}/evidence/licence"
    resp = _post(client, url, secret, {"licence_type": "NIB", "number": "12345", "issued_on": "2021-06-01",
                                       "issuing_office": "OSS", "scan": (io.BytesIO(b"just text, no scan"), "nib.pdf")})
    assert resp.status_code == 422 and resp.mimetype == "application/problem+json"
    fields = _fields(resp)
    assert set(fields) == {"scan", "number"}, fields  # the file and the rules at once, as on the form
    assert all(e["in"] == "body" for e in resp.get_json()["errors"])
    future = (utcnow() + timedelta(days=3)).date().isoformat()
    resp = _post(client, url, secret, {"licence_type": "NIB", "number": "9120001234567", "issued_on": future,
                                       "issuing_office": "OSS", "scan": (io.BytesIO(tiny_pdf()), "nib.pdf")})
    assert resp.status_code == 422 and set(_fields(resp)) == {"issued_on"}
    # the shape first: missing fields, an unknown one, a part that is no file
    resp = _post(client, url, secret, {"licence_type": "KTP", "scan": "not a file", "colour": "red"},
                 **{"Accept-Language": "en"})
    assert resp.status_code == 422 and resp.headers["Content-Language"] == "en"
    assert {"licence_type", "number", "issued_on", "issuing_office", "scan", "colour"} <= set(_fields(resp))
    # a report for a month that already has one; financing approved without its amount and date
    reports = f"/api/v1/outlets/{outlet.id}/evidence/financial-reports"
    month = {"month": "2024-01", "turnover": "5000000", "cost_of_goods": "3000000", "operating_expenses": "500000"}
    first = _post(client, reports, secret, month)
    assert first.status_code == 201, first.get_data(as_text=True)
    assert first.get_json()["financial_report"]["month"] == "2024-01"
    assert first.get_json()["financial_report"]["profit"] == 1_500_000
    again = _post(client, reports, secret, month)
    assert again.status_code == 422 and set(_fields(again)) == {"month"}
    assert set(_fields(_post(client, reports, secret, {**month, "month": "2024-13"}))) == {"month"}
    assert set(_fields(_post(client, reports, secret, {**month, "month": "2024-02", "turnover": "-1"}))) == {"turnover"}
    financing = f"/api/v1/outlets/{outlet.id}/evidence/financing"
    resp = _post(client, financing, secret, {"lender": "bank_dki", "product": "KUR", "amount_requested": "25000000",
                                             "application_status": "approved", "applied_on": "2024-01-10"})
    assert resp.status_code == 422 and set(_fields(resp)) == {"amount_approved", "decided_on"}
    resp = _post(client, financing, secret, {"lender": "bank_dki", "product": "KUR", "amount_requested": "25000000",
                                             "application_status": "submitted", "applied_on": "2024-01-10"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "draft"  # nothing to verify yet
    resp = _post(client, f"/api/v1/outlets/{outlet.id}/evidence/marketing", secret,
                 {"kind": "online_shop", "description": "Toko online di marketplace", "link": "javascript:alert(1)"})
    assert resp.status_code == 422 and set(_fields(resp)) == {"link"}


# --- review ------------------------------------------------------------------------------------------------------

def test_review_verify_and_return_with_four_eyes(client, factory, db):
    trainee = factory.user("trainee", region="3171")
    factory.enrolment(cohort=factory.cohort(regions=("3171",)), trainee=trainee)
    coord = factory.user("coordinator", region="3171")
    other = factory.user("coordinator", region="3171")
    # the coordinator records it for the outlet: their own work, another reviewer must decide
    mine = _licence(coord, trainee.managed_outlet)
    secret = make_token(coord, *COORD_SCOPES)
    resp = client.post(f"/api/v1/evidence/{mine.id}/review", json={"decision": "verify"}, headers=auth(secret))
    assert resp.status_code == 403 and resp.get_json()["type"].endswith("#problem-forbidden")
    assert get(client, f"/api/v1/evidence/{mine.id}", secret).get_json()["review_allowed"] is False
    reviewer = make_token(other, *COORD_SCOPES)
    assert client.post(f"/api/v1/evidence/{mine.id}/review", json={"decision": "verify"},
                       headers=auth(make_token(other))).status_code == 403  # read only: no review scope
    resp = client.post(f"/api/v1/evidence/{mine.id}/review", json={"decision": "return"}, headers=auth(reviewer))
    assert resp.status_code == 422 and set(_fields(resp)) == {"comment"}
    resp = client.post(f"/api/v1/evidence/{mine.id}/review", json={"decision": "return", "comment": "Pindaian buram"},
                       headers=auth(reviewer))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["status"] == "returned" and body["review_comment"] == "Pindaian buram"
    assert body["reviewed_by"]["id"] == other.id and [h["decision"] for h in body["history"]] == ["submitted", "returned"]
    # decided: no second decision; the trainee may never review; another region's is 404
    assert client.post(f"/api/v1/evidence/{mine.id}/review", json={"decision": "verify"},
                       headers=auth(reviewer)).status_code == 403
    second = programme.save_marketing(trainee, trainee.managed_outlet, programme.MarketingInput(
        "bazaar", "Bazar Ramadan di kantor kelurahan", None), None)
    assert client.post(f"/api/v1/evidence/{second.id}/review", json={"decision": "verify"},
                       headers=auth(make_token(trainee, "read", "write:evidence"))).status_code == 403
    far = make_token(factory.user("coordinator", region="3172"), *COORD_SCOPES)
    assert client.post(f"/api/v1/evidence/{second.id}/review", json={"decision": "verify"},
                       headers=auth(far)).status_code == 404
    resp = client.post(f"/api/v1/evidence/{second.id}/review", json={"decision": "verify"}, headers=auth(secret))
    assert resp.status_code == 200 and resp.get_json()["status"] == "verified"
    assert client.post(f"/api/v1/evidence/{second.id}/review", json={"decision": "maybe"},
                       headers=auth(reviewer)).status_code == 422


# --- attendance ------------------------------------------------------------------------------------------------

def test_attendance_is_read_and_recorded_by_the_sessions_coordinator(client, factory, db):
    from lms.sessions.models import Attendance, Registration

    cohort = factory.cohort(regions=("3171", "3172"))
    session = factory.session(region="3171", cohort=cohort)  # ended in 2018: attendance is open
    people = [factory.user("trainee", region="3171", phone=f"+62812999920{i:02d}") for i in range(3)]
    for p in people:
        factory.enrolment(cohort=cohort, trainee=p)
        factory.register(session, p, attendance=None)
    stranger = factory.user("trainee", region="3171", phone="+6281299992099")
    coord = factory.user("coordinator", region="3171")
    reader = make_token(coord)
    writer = make_token(coord, *COORD_SCOPES)
    rows = all_pages(client, f"/api/v1/sessions/{session.id}/attendance?limit=2", reader)
    assert [r["person"]["id"] for r in rows] == [p.id for p in people]
    assert all(r["attendance"] is None and r["outlet"]["id"] for r in rows)
    url = f"/api/v1/sessions/{session.id}/attendance"
    marks = {"marks": [{"person_id": people[0].id, "attendance": "present"},
                       {"person_id": people[1].id, "attendance": "absent"}]}
    assert client.post(url, json=marks, headers=auth(reader)).status_code == 403  # scope
    resp = client.post(url, json=marks, headers=auth(writer))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json() == {"session_id": session.id, "changed": 2}
    got = {r["person"]["id"]: r["attendance"] for r in all_pages(client, url, reader)}
    assert got == {people[0].id: "present", people[1].id: "absent", people[2].id: None}
    db.session.expire_all()
    assert db.session.scalar(sa.select(Registration.attendance).where(Registration.user_id == people[0].id)) \
        is Attendance.PRESENT
    # progress follows at once (the training step of the one who was present)
    assert get(client, f"/api/v1/enrolments?cohort={cohort.id}", reader).status_code == 200
    resp = client.post(url, json={"marks": [{"person_id": stranger.id, "attendance": "present"}]}, headers=auth(writer))
    assert resp.status_code == 422 and set(_fields(resp)) == {"marks.0.person_id"}
    assert client.post(url, json={"marks": [{"person_id": people[2].id, "attendance": "asleep"}]},
                       headers=auth(writer)).status_code == 422
    resp = client.post(url, json={"all_present": True}, headers=auth(writer))
    assert resp.get_json()["changed"] == 2
    # a mentor of the region sees the session but may not take attendance; another region's coordinator: 404
    mentor = make_token(factory.user("mentor", region="3171"))
    assert get(client, f"/api/v1/sessions/{session.id}", mentor).status_code == 200
    assert get(client, url, mentor).status_code == 403
    far = make_token(factory.user("coordinator", region="3172"), *COORD_SCOPES)
    assert get(client, url, far).status_code == 404
    assert client.post(url, json={"all_present": True}, headers=auth(far)).status_code == 404


def test_attendance_waits_for_the_session_and_refuses_a_cancelled_one(client, factory):
    cohort = factory.cohort(regions=("3171",))
    later = factory.training_session(cohort=cohort, region="3171")  # a week ahead
    cancelled = factory.session(region="3171", cohort=cohort, cancelled=True)
    writer = make_token(factory.user("coordinator", region="3171"), *COORD_SCOPES)
    for s in (later, cancelled):
        resp = client.post(f"/api/v1/sessions/{s.id}/attendance", json={"all_present": True}, headers=auth(writer))
        assert resp.status_code == 422 and resp.get_json()["errors"][0]["field"] == "", resp.get_json()


# --- scopes per operation ----------------------------------------------------------------------------------------

def test_every_new_operation_refuses_a_token_without_its_scope(client, factory):
    _cohort, a, _b, ev_a, _ev_b = _two_regions(factory)
    session = factory.session(region="3171")
    admin = factory.user("admin")
    ops = [("get", "/api/v1/evidence", "read"), ("get", f"/api/v1/evidence/{ev_a.id}", "read"),
           ("get", f"/api/v1/evidence/{ev_a.id}/file", "read"),
           ("post", f"/api/v1/outlets/{a.managed_outlet.id}/evidence/licence", "write:evidence"),
           ("post", f"/api/v1/outlets/{a.managed_outlet.id}/evidence/marketing", "write:evidence"),
           ("post", f"/api/v1/outlets/{a.managed_outlet.id}/evidence/financial-reports", "write:evidence"),
           ("post", f"/api/v1/outlets/{a.managed_outlet.id}/evidence/financing", "write:evidence"),
           ("post", f"/api/v1/evidence/{ev_a.id}/review", "review"),
           ("get", f"/api/v1/sessions/{session.id}/attendance", "read"),
           ("post", f"/api/v1/sessions/{session.id}/attendance", "write:attendance")]
    from lms.api.models import SCOPES

    without = {scope: make_token(admin, *[s for s in SCOPES if s != scope])  # every scope but one ("read" is
               for scope in {s for _m, _u, s in ops if s != "read"}}   # implied by every other one)
    for method, url, scope in ops:
        assert client.open(url, method=method.upper()).status_code == 401, url
        if scope == "read":
            continue
        resp = getattr(client, method)(url, headers=auth(without[scope]))
        assert resp.status_code == 403, (url, resp.status_code)
        assert resp.get_json()["required_scope"] == scope, url


# --- queries per list ------------------------------------------------------------------------------------------

def _bulk(db, n: int) -> dict:  # type: ignore[no-untyped-def]
    """``n`` outlets with a licence each (with a file, submitted by its manager, reviewed by a
    coordinator) and a session with ``n`` registrations: bulk inserts, no services."""
    import secrets

    from lms.people.models import Role, User
    from lms.places.models import Kecamatan, Outlet, Region
    from lms.programme.models import Cohort, Enrolment, Evidence, EvidenceStatus, Licence, LicenceType, StoredFile
    from lms.sessions.models import Registration, RegistrationStatus, TrainingSession

    region = db.session.scalar(sa.select(Region).where(Region.code == "3171"))
    kec = db.session.scalar(sa.select(Kecamatan).where(Kecamatan.region_id == region.id).limit(1))
    tag = secrets.token_hex(3)
    now = utcnow()
    with transaction():
        cohort = Cohort(name=f"Bulk {tag}", curriculum_key="okoce-7pas", start_date=now.date(), end_date=now.date(),
                        regions=[region])
        reviewer = User(email=f"bulkr{tag}@uji.example", full_name="Koordinator Bulk", role=Role.COORDINATOR,
                        region_id=region.id)
        db.session.add_all([cohort, reviewer])
        db.session.flush()
        db.session.execute(sa.insert(User), [
            {"email": f"bulk{tag}-{i}@uji.example", "full_name": f"Bulk {i}", "role": Role.TRAINEE,
             "region_id": region.id, "active": True, "session_token": secrets.token_hex(16)} for i in range(n)])
        uids = list(db.session.scalars(sa.select(User.id).where(User.email.like(f"bulk{tag}-%")).order_by(User.id)))
        db.session.execute(sa.insert(Outlet), [
            {"code": f"B{tag}-{i}", "name": f"Bulk {i}", "kecamatan_id": kec.id, "region_id": region.id,
             "manager_id": uid} for i, uid in enumerate(uids)])
        oids = list(db.session.scalars(sa.select(Outlet.id).where(Outlet.code.like(f"B{tag}-%")).order_by(Outlet.id)))
        db.session.execute(sa.insert(Enrolment), [
            {"cohort_id": cohort.id, "user_id": uid, "outlet_id": oid, "region_id": region.id,
             "current_stage": "perizinan", "completed_count": 3} for uid, oid in zip(uids, oids)])
        db.session.execute(sa.insert(StoredFile), [
            {"path": f"{tag}/{i}.pdf", "sha256": "0" * 64, "size": 100, "content_type": PDF, "original_name": "x.pdf"}
            for i in range(n)])
        fids = list(db.session.scalars(sa.select(StoredFile.id).where(StoredFile.path.like(f"{tag}/%"))
                                       .order_by(StoredFile.id)))
        for i, (uid, oid, fid) in enumerate(zip(uids, oids, fids)):
            db.session.add(Licence(outlet_id=oid, region_id=region.id, stage_key="perizinan",
                                   status=EvidenceStatus.RETURNED, submitted_by_id=uid, submitted_at=now,
                                   reviewed_by_id=reviewer.id, reviewed_at=now, review_comment="Ulangi",
                                   file_id=fid, licence_type=LicenceType.NIB, number=f"{i:013d}",
                                   issued_on=date(2021, 1, 1), issuing_office="OSS"))
        session = TrainingSession(title=f"S {tag}", stage_key="pelatihan", cohort_id=cohort.id, region_id=region.id,
                                  venue_name=f"V {tag}", starts_at=now, ends_at=now + timedelta(hours=2),
                                  capacity=n, checkin_secret="x")
        db.session.add(session)
        db.session.flush()
        db.session.execute(sa.insert(Registration), [
            {"session_id": session.id, "user_id": uid, "status": RegistrationStatus.REGISTERED} for uid in uids])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)
                             .where(Evidence.outlet_id.in_(oids))) == n
    return {"session": session, "cohort": cohort}


@pytest.mark.parametrize("url", ["/api/v1/evidence", "/api/v1/evidence?type=licence&status=returned&cohort={cohort}",
                                 "/api/v1/sessions/{session}/attendance"])
def test_query_count_per_new_list_is_the_same_for_5_and_500_rows(client, factory, db, count_queries, url):
    secret = make_token(factory.user("admin"))
    get(client, "/api/v1/me", secret)  # the token's first use is written once; not part of the count
    get(client, "/api/v1/regions", secret)  # nor the regions, read once per app (lms/api/present.py)
    counts = []
    for n in (5, 500):
        world = _bulk(db, n)
        target = url.format(session=world["session"].id, cohort=world["cohort"].id)
        sep = "&" if "?" in target else "?"
        with count_queries() as q:
            r = get(client, target + sep + "limit=200", secret)
        assert r.status_code == 200, r.get_data(as_text=True)
        assert len(r.get_json()["items"]) == (200 if n == 500 else 5)
        counts.append(q)
    few, many = counts
    assert many.count == few.count, (few.statements, many.statements)
    assert few.count <= 6, few.statements


def test_nul_in_a_json_body_or_the_path_is_a_400_problem_not_a_database_error(client, factory):
    """PostgreSQL refuses NUL in text; found by the schemathesis run (tests/test_api_schemathesis.py)."""
    trainee = factory.user("trainee", region="3171")
    ev = _licence(trainee)
    coord = make_token(factory.user("coordinator", region="3171"), *COORD_SCOPES)
    resp = client.post(f"/api/v1/evidence/{ev.id}/review", json={"decision": "return", "comment": "buram\x00"},
                       headers=auth(coord))
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
    assert client.get("/api/v1/certificates/verify/abc%00def").status_code == 400
    resp = _post(client, f"/api/v1/outlets/{trainee.managed_outlet.id}/evidence/marketing", coord,
                 {"kind": "bazaar", "description": "Bazar\x00 kelurahan"})
    assert resp.status_code == 400 and resp.mimetype == "application/problem+json"
