"""Who looked at whom: opening a person's record, downloading their files and every export that holds
them are recorded (lms/privacy/access.py); the admin lists the accesses to one person; the person
sees who from staff opened their data on "Data saya"."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.people.models import Role, User
from lms.privacy.models import DataAccess
from tests.factories import tiny_pdf
from tests.test_reports import build, plain_client


SLUGS = {"progress": "kemajuan", "attendance": "kehadiran", "visits": "kunjungan", "certificates": "daftar-sertifikat"}


def _rows(db: Any, **where: Any) -> list[tuple[Any, ...]]:
    db.session.commit()
    q = sa.select(DataAccess.actor_id, DataAccess.subject_id, DataAccess.action, DataAccess.what)
    for k, v in where.items():
        q = q.where(getattr(DataAccess, k) == v)
    return sorted(db.session.execute(q).all(), key=lambda r: (r[1], r[3]))


def _get(client, url: str) -> int:  # type: ignore[no-untyped-def]
    r = client.get(url)
    data = r.get_data()  # a streamed file is read whole
    r.close()
    assert data is not None
    return r.status_code


def test_opening_a_persons_record_is_recorded_but_not_ones_own(client, login_as, factory, db):
    owner = factory.user("trainee", region="3171")
    coord = factory.user("coordinator", region="3171")
    login_as(owner)
    assert _get(client, f"/users/{owner.id}") == 200
    assert _get(client, f"/outlets/{owner.managed_outlet.id}") == 200
    assert _rows(db) == []
    client.form_post("/logout")
    login_as(coord)
    assert _get(client, f"/users/{owner.id}") == 200
    assert _get(client, f"/outlets/{owner.managed_outlet.id}") == 200
    assert _get(client, f"/users/{coord.id}") == 200  # oneself: not recorded
    assert _rows(db) == [(coord.id, owner.id, "record", f"outlet:{owner.managed_outlet.id}"),
                         (coord.id, owner.id, "record", f"user:{owner.id}")]
    # refused pages record nothing
    other = factory.user("trainee", region="3172")
    assert _get(client, f"/users/{other.id}") == 404
    assert _rows(db, subject_id=other.id) == []


def test_an_outlet_without_a_manager_records_nothing(client, login_as, factory, db):
    outlet = factory.outlet("3171")
    login_as("coordinator", region="3171")
    assert _get(client, f"/outlets/{outlet.id}") == 200
    assert _rows(db) == []


def test_downloading_files_is_recorded_against_the_person_they_belong_to(client, login_as, factory, db):
    from lms.certification import services as certification
    from lms.files import PDF, CheckedUpload
    from lms.permissions import SYSTEM
    from lms.places import services as places
    from lms.programme import services as programme

    w = factory.world()
    # the outlet's previous manager left a scan behind; the new manager opens it
    previous = w.owner
    evidence_of_previous = w.evidence
    with transaction():
        w.visit.visited_at = utcnow()  # (the world's visit is back-dated before the owner's term began)
    newcomer = factory.user("trainee", region="3171", with_outlet=False, full_name="Pengelola Pengganti")
    places.set_outlet_manager(SYSTEM, w.outlet, newcomer)
    mine = programme.save_licence(newcomer, w.outlet, programme.LicenceInput("NIB", "9120007654321", date(2019, 1, 1), "OSS"),
                                  CheckedUpload(tiny_pdf(), PDF, "izin.pdf"))
    certification.store_pdf(w.certificate.id, tiny_pdf())
    coord = w.users["coord_3171"]
    login_as(coord)
    assert _get(client, f"/evidence/{evidence_of_previous.id}/file") == 200
    assert _get(client, f"/evidence/{mine.id}/file?unduh=1") == 200
    assert _get(client, f"/visit-photos/{w.photo.id}") == 200  # the visit was in the previous manager's term
    assert _get(client, f"/certificates/{w.certificate.id}/pdf") == 200
    assert _rows(db, actor_id=coord.id, action="file") == [
        (coord.id, previous.id, "file", f"certificate:{w.certificate.id}"),
        (coord.id, previous.id, "file", f"evidence:{evidence_of_previous.id}"),
        (coord.id, previous.id, "file", f"visit_photo:{w.photo.id}"),
        (coord.id, newcomer.id, "file", f"evidence:{mine.id}")]
    client.form_post("/logout")
    login_as(newcomer)
    assert _get(client, f"/evidence/{mine.id}/file") == 200  # their own: not recorded
    assert _get(client, f"/evidence/{evidence_of_previous.id}/file") == 200  # their predecessor's: recorded
    assert _rows(db, actor_id=newcomer.id) == [(newcomer.id, previous.id, "file", f"evidence:{evidence_of_previous.id}")]


def test_every_export_records_each_person_it_holds_in_one_statement(app, factory, db, count_queries):
    w = build(factory, db)
    coord = factory.user("coordinator", region="3171")
    db.session.commit()
    client = plain_client(app, coord)
    waiting = set(db.session.scalars(sa.select(User.id).where(
        User.full_name.in_(["Antre Pertama", "Antre Kedua", "Belum Ditandai"]))))
    expected = {
        "progress": {w.siti.id},  # 3171 only; the ended enrolment is not in an "active" export
        "attendance": {w.siti.id} | waiting,
        "visits": {w.mentor.id},  # (the 2018 visit predates every manager's term here)
        "certificates": {w.siti.id},
    }
    for dataset, people in expected.items():
        for fmt in ("csv", "xlsx"):
            with count_queries() as q:
                r = client.get(f"/exports/download?dataset={dataset}&format={fmt}")
                assert r.status_code == 200 and r.get_data()
            inserts = [s for s in q.statements if s.lstrip().upper().startswith("INSERT INTO DATA_ACCESS_LOG")]
            assert len(inserts) == 1, (dataset, fmt)
            what = f"exports/{SLUGS[dataset]}.{fmt}"
            got = _rows(db, what=what)
            assert {s for _a, s, _x, _w in got} == people, (dataset, fmt)
            assert {(a, x) for a, _s, x, _w in got} == {(coord.id, "export")}


def test_a_big_export_costs_one_insert(app, factory, db, count_queries):
    cohort = factory.cohort(regions=("3171",))
    people = factory.enrolled_trainees(30, cohort, region="3171")
    admin = factory.user("admin")
    db.session.commit()
    client = plain_client(app, admin)
    with count_queries() as q:
        r = client.get(f"/exports/download?dataset=progress&cohort={cohort.id}")
        assert r.status_code == 200 and r.get_data()
    assert len([s for s in q.statements if "INSERT INTO data_access_log" in s]) == 1
    assert {s for _a, s, _x, _w in _rows(db, actor_id=admin.id)} == {u.id for u in people}


def test_the_visits_export_records_the_mentors_and_the_managers_of_the_time(app, factory, db):
    owner = factory.user("trainee", region="3171", full_name="Pemilik Ekspor")
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, owner.managed_outlet)
    factory.visit(mentor, owner.managed_outlet, visited_at=utcnow())
    before = factory.user("trainee", region="3171")  # their outlet was visited before their term began
    factory.visit(mentor, before.managed_outlet, visited_at=utcnow() - timedelta(days=3))
    coord = factory.user("coordinator", region="3171")
    db.session.commit()
    client = plain_client(app, coord)
    today = utcnow().date()
    r = client.get(f"/visits/export?start={today - timedelta(days=7)}&end={today + timedelta(days=1)}")
    assert r.status_code == 200 and r.get_data()
    assert {(s, w) for _a, s, _x, w in _rows(db, actor_id=coord.id)} == {
        (mentor.id, "visits/export.csv"), (owner.id, "visits/export.csv")}


def test_a_bulk_runs_zip_records_its_holders(app, client, factory, login_as, db):
    from lms.certification import jobs

    s = factory.session()
    holders = [factory.attendee(s) for _ in range(2)]
    coord = login_as("coordinator", region="3171")
    resp = client.form_post(f"/certificates/sessions/{s.id}/bulk", {"kind": "bimtek", "confirmed": "1"})
    job_id = int(resp.headers["Location"].rsplit("/", 1)[1])
    jobs.WORKER.join()
    assert _get(client, f"/certificates/jobs/{job_id}/zip") == 200
    assert _rows(db, actor_id=coord.id) == sorted(
        [(coord.id, h.id, "export", f"certificate_job:{job_id}") for h in holders], key=lambda r: (r[1], r[3]))


def _accesses(db: Any, person: Any, n: int) -> None:
    actors = list(db.session.scalars(sa.select(User.id).where(User.role != Role.TRAINEE).order_by(User.id)))
    now = utcnow()
    with transaction():
        db.session.execute(sa.insert(DataAccess), [
            {"at": now - timedelta(minutes=i), "actor_id": actors[i % len(actors)], "subject_id": person.id,
             "action": "record", "what": f"user:{person.id}"} for i in range(n)])


def test_the_admin_lists_the_accesses_to_one_person_in_bounded_queries(client, login_as, factory, db, count_queries):
    person = factory.user("trainee", region="3171", full_name="Orang Yang Dilihat", email="dilihat@uji.example")
    other = factory.user("trainee", region="3171")
    for role in ("mentor", "coordinator"):
        factory.user(role, region="3171", full_name=f"Petugas {role}")
    admin = login_as("admin")
    # the link from the person's page (admins only)
    page = client.get(f"/users/{person.id}").get_data(as_text=True)
    assert f'/admin/privasi/akses?user={person.id}"' in page and "Siapa melihat data ini" in page

    counts = []
    for n in (5, 50):
        with transaction():
            db.session.execute(sa.delete(DataAccess))
        _accesses(db, person, n)
        _accesses(db, other, 3)
        with count_queries() as q:
            html = client.get(f"/admin/privasi/akses?user={person.id}").get_data(as_text=True)
        counts.append(q.count)
        assert "Orang Yang Dilihat" in html and f"{n} akses tercatat" in html
        assert html.count("<tr>") - 1 == min(n, 25)  # one page of PAGE_SIZE (a header row besides)
        assert "Petugas mentor" in html and "Petugas coordinator" in html
    assert counts[0] == counts[1], counts
    html = client.get(f"/admin/privasi/akses?user={person.id}&page=2").get_data(as_text=True)
    assert "Halaman 2 dari 2" in html
    # by e-mail too; an unknown person is said so
    assert "50 akses tercatat" in client.get("/admin/privasi/akses?user=DILIHAT@uji.example").get_data(as_text=True)
    html = client.get("/admin/privasi/akses?user=999999").get_data(as_text=True)
    assert "Pengguna tidak ditemukan" in html
    assert client.get("/admin/privasi/akses?user=99999999999999999999").status_code == 200
    # the admin's own look at the person's page is there too
    rows = _rows(db, actor_id=admin.id)
    assert (admin.id, person.id, "record", f"user:{person.id}") in rows


def test_non_admins_see_neither_the_page_nor_the_link(client, login_as, factory):
    person = factory.user("trainee", region="3171")
    login_as("coordinator", region="3171")
    page = client.get(f"/users/{person.id}").get_data(as_text=True)
    assert "/admin/privasi/akses" not in page
    assert client.get(f"/admin/privasi/akses?user={person.id}").status_code == 403


def test_the_person_sees_who_from_staff_opened_their_data(client, login_as, factory, db):
    me = factory.user("trainee", region="3171")
    coord = factory.user("coordinator", region="3171", full_name="Koordinator Penasaran")
    login_as(coord)
    client.get(f"/users/{me.id}")
    client.form_post("/logout")
    login_as(me)
    client.get(f"/users/{me.id}")
    html = client.get("/privasi/data-saya").get_data(as_text=True)
    assert "Koordinator Penasaran" in html and "Membuka data pribadi" in html and f"Halaman pengguna #{me.id}" in html
    assert html.count("Membuka data pribadi") == 1  # not my own look
