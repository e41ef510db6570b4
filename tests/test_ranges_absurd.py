"""Absurd numbers and dates sent to every form of places, people, cohorts, the dashboard, the audit
log and the exports give a form message (or a 4xx), never a 500, and nothing absurd is stored."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

ABSURD = ["9999-12-31", "0001-01-01", "-1", str(10**30), "NaN", "1e309", "\x00"]


def _forms(w: Any, db: Any) -> list[tuple[str, str, dict[str, str]]]:
    """(method, url, a valid submission) for every form these areas own."""
    kec = w.outlet.kecamatan_id
    region = w.outlet.region_id
    return [
        ("GET", "/outlets", {"q": "uji", "region": str(region), "kecamatan": str(kec)}),
        ("POST", "/outlets/new", {"code": "EW-9999-001", "name": "e-Warong Baru", "kube_name": "KUBE Baru",
                                  "address": "Jl. Baru", "kelurahan": "Baru", "kecamatan_id": str(kec),
                                  "phone": "081234567899", "active": "y"}),
        ("POST", f"/outlets/{w.outlet.id}/edit", {"code": w.outlet.code, "name": "e-Warong Ubah", "kube_name": "KUBE",
                                                  "address": "Jl. Ubah", "kelurahan": "Ubah", "kecamatan_id": str(kec),
                                                  "phone": "081234567898", "active": "y"}),
        ("GET", "/users", {"q": "uji", "region": str(region), "role": "mentor"}),
        ("POST", "/users/new", {"full_name": "Orang Baru", "email": "baru@uji.example", "phone": "081234567897",
                                "role": "mentor", "region_id": str(region), "outlet_code": ""}),
        ("POST", f"/users/{w.mentor.id}/edit", {"full_name": "Orang Ubah", "email": w.mentor.email, "phone": "",
                                                "role": "mentor", "region_id": str(region), "outlet_code": ""}),
        ("GET", "/cohorts", {}),
        ("POST", "/cohorts/new", {"name": "Angkatan Baru", "curriculum_key": "okoce-7pas", "start_date": "2019-01-01",
                                  "end_date": "2019-12-31", "region_ids": str(region)}),
        ("POST", f"/cohorts/{w.cohort.id}/edit", {"name": "Angkatan Ubah", "curriculum_key": "okoce-7pas",
                                                  "start_date": "2018-04-01", "end_date": "2018-12-31",
                                                  "region_ids": str(region)}),
        ("GET", f"/cohorts/{w.cohort.id}", {"region": str(region), "stage": "pelatihan", "q": "uji", "page": "2"}),
        ("GET", "/review", {"region": str(region), "stage": "perizinan", "age": "3", "page": "1"}),
        ("GET", "/dashboard", {"cohort": str(w.cohort.id), "region": str(region), "kecamatan": str(kec),
                               "start": "2018-04-01", "end": "2018-12-31", "days": "30"}),
        ("GET", "/dashboard/managers", {"cohort": str(w.cohort.id), "region": str(region), "kecamatan": str(kec),
                                        "start": "2018-04-01", "end": "2018-12-31", "days": "30",
                                        "stage": "pelatihan", "stuck": "1", "page": "1"}),
        ("GET", "/admin/audit", {"actor": "admin@uji.example", "action": "", "start": "2018-01-01",
                                 "end": "2030-01-01", "page": "1"}),
        ("GET", "/admin/audit/export", {"actor": "", "action": "", "start": "2018-01-01", "end": "2030-01-01",
                                        "format": "csv"}),
        ("GET", "/exports", {}),
        ("GET", "/exports/download", {"dataset": "progress", "format": "csv", "cohort": str(w.cohort.id),
                                      "region": str(region), "kecamatan": str(kec), "status": "active",
                                      "start": "2018-04-01", "end": "2018-12-31"}),
    ]


def _send(client: Any, method: str, url: str, data: dict[str, str]) -> Any:
    if method == "GET":
        return client.get(url, query_string=data, buffered=True)  # a streamed download runs to its end
    return client.form_post(url, data)


@pytest.mark.slow
def test_absurd_values_never_give_a_5xx(app, client, factory, login_as, db):  # type: ignore[no-untyped-def]
    from lms.programme.models import Cohort

    w = factory.world()
    login_as(w.users["admin"])
    failures = []
    for method, url, valid in _forms(w, db):
        r = _send(client, method, url, valid)
        assert r.status_code < 500, (method, url, "valid", r.status_code)
        for name in valid:
            for value in ABSURD:
                data = dict(valid, **{name: value})
                try:
                    r = _send(client, method, url, data)
                    code = r.status_code
                except Exception as e:  # PROPAGATE_TEST_ERRORS: a 500 raises here
                    db.session.rollback()
                    code = f"{type(e).__name__}: {str(e)[:80]}"
                if not isinstance(code, int) or code >= 500:
                    failures.append((method, url, name, value[:20], code))
    assert not failures, "\n".join(map(str, failures))
    # nothing absurd was stored
    years = [(c.start_date.year, c.end_date.year) for c in db.session.scalars(sa.select(Cohort))]
    assert all(2000 <= a <= 2100 and 2000 <= b <= 2100 for a, b in years), years


def test_stored_values_at_the_ends_of_the_calendar_do_not_break_pages(app, client, factory, login_as, db):  # type: ignore[no-untyped-def]
    """Rows written before the ranges existed (or by hand) with year 1 / year 9999 dates and huge
    numbers: every page of these areas still renders for everyone."""
    from datetime import date, datetime, timezone

    from lms.audit.models import AuditEntry
    from lms.db import transaction
    from lms.programme.models import Cohort, Enrolment

    w = factory.world()
    far = datetime(9999, 12, 31, 23, 59, tzinfo=timezone.utc)
    early = datetime(1, 1, 1, 0, 0, tzinfo=timezone.utc)
    with transaction():
        odd = Cohort(name="Angkatan Ujung Kalender", curriculum_key="okoce-7pas", start_date=date(1, 1, 1),
                     end_date=date(9999, 12, 31), regions=list(w.cohort.regions))
        db.session.add(odd)
        w.outlet.last_visit_on = date(9999, 12, 31)
        w.owner.last_login_at = far
        w.mentor.last_login_at = early
        e = db.session.get(Enrolment, w.enrolment.id)
        e.progress_changed_at, e.started_at = early, far
        db.session.add(AuditEntry(action="outlet.updated", at=far, details={"n": 10**30}))
        db.session.add(AuditEntry(action="outlet.updated", at=early, details={}))
    admin = w.users["admin"]
    login_as(admin)
    urls = ["/outlets", f"/outlets/{w.outlet.id}", f"/outlets/{w.outlet.id}/edit", "/users", f"/users/{w.owner.id}",
            f"/users/{w.mentor.id}", "/cohorts", f"/cohorts/{odd.id}", f"/cohorts/{odd.id}/edit",
            f"/cohorts/{w.cohort.id}", f"/enrolments/{w.enrolment.id}", "/review", "/dashboard",
            "/dashboard/managers?stage=pelatihan", "/dashboard/managers?stuck=1", "/admin/audit",
            "/admin/audit?start=2000-01-01", "/admin/audit/export?format=csv", "/exports",
            f"/exports/download?dataset=progress&format=csv&cohort={odd.id}",
            f"/exports/download?dataset=progress&format=xlsx&cohort={w.cohort.id}",
            "/exports/download?dataset=visits&format=csv", "/exports/download?dataset=certificates&format=xlsx"]
    bad = []
    for url in urls:
        try:
            code = client.get(url, buffered=True).status_code
        except Exception as e:  # PROPAGATE_TEST_ERRORS: a 500 raises here
            db.session.rollback()
            code = f"{type(e).__name__}: {str(e)[:100]}"
        if code != 200:
            bad.append((url, code))
    assert not bad, "\n".join(map(str, bad))


def test_stored_visits_evidence_and_certificates_at_the_end_of_the_calendar_break_nothing(app, client, factory, login_as, db):  # type: ignore[no-untyped-def]
    """A visit, an action item, a licence and a certificate dated in the last hours of year 9999
    (UTC: year 10000 in WIB) or in year 1: the pages of every role, the exports and the dashboard
    summary (recounted in the same transaction as the write) still work."""
    from datetime import date, datetime, timezone

    from lms.dashboard import summaries
    from lms.db import transaction
    from lms.programme.models import Evidence
    w = factory.world()
    far = datetime(9999, 12, 31, 20, 0, tzinfo=timezone.utc)
    v = factory.visit(w.mentor, w.outlet, visited_at=far, next_visit_on=date(9999, 12, 31),
                      actions=(("Ujung", "Pengelola", date(9999, 12, 31)), ("Awal", "Pengelola", date(1, 1, 1))))
    v2 = factory.visit(w.mentor, w.outlet, visited_at=datetime(1, 1, 1, 0, 0, tzinfo=timezone.utc))
    with transaction():
        ev = db.session.get(Evidence, w.evidence.id)
        ev.issued_on = date(9999, 12, 31)
        ev.submitted_at = far
        w.certificate.issued_at = far
    bad = []
    for who in ("admin", "owner", "mentor", "coord_3171"):
        login_as(w.users[who])
        for url in ["/home", "/progress", f"/visits/{v.id}", f"/visits/{v2.id}", f"/visits/{v.id}/edit", "/visits/mine",
                    "/visits/dashboard", "/visits/dashboard?until=9999-12", f"/outlets/{w.outlet.id}/timeline", "/caseload",
                    "/caseloads", "/visits/export?start=2000-01-01&end=2030-01-01", f"/evidence/{w.evidence.id}",
                    f"/evidence/{w.evidence.id}/edit", "/review", f"/outlets/{w.outlet.id}", f"/outlets/{w.outlet.id}/reports",
                    "/certificates", "/certificates/mine", f"/certificates/{w.certificate.id}",
                    f"/certificates/{w.certificate.id}/pdf", f"/verify/{w.certificate.verification_code}",
                    "/exports/download?dataset=visits&format=xlsx", "/exports/download?dataset=certificates&format=csv",
                    "/dashboard", f"/enrolments/{w.enrolment.id}", "/notifications"]:
            try:
                code = client.get(url, buffered=True).status_code
            except Exception as e:
                db.session.rollback()
                code = f"{type(e).__name__}: {str(e)[:100]}"
            if code not in (200, 403, 404, 302):
                bad.append((who, url, code))
    assert not bad, "\n".join(map(str, bad))
    # the dashboard summary stays equal to a full recount
    snap = summaries.snapshot(db.session)
    with transaction():
        summaries.rebuild_all()
    assert summaries.snapshot(db.session) == snap
