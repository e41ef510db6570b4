"""The exports page (lms/reports): each dataset's columns and values, WIB dates, formula injection
through the downloads, streaming, the audit entry, form errors and the page's query count.

Region scope and access: tests/test_reports_access.py.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime, timezone
from types import SimpleNamespace
from typing import Any

import openpyxl
import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction
from lms.i18n import WIB
from lms.reports import services
from lms.reports.services import Filters


def _utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=timezone.utc)


def _wib(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=WIB)


def plain_client(app, user):  # type: ignore[no-untyped-def]
    """Flask's own test client: the conftest client runs each request in a fresh context, so a
    streamed body (stream_with_context) could not be read afterwards."""
    from flask.testing import FlaskClient

    c = FlaskClient(app, use_cookies=True)
    with c.session_transaction() as sess:
        sess["_user_id"] = user.session_token
        sess["_fresh"] = True
    return c


def build(factory: Any, db: Any) -> SimpleNamespace:
    """A cohort over 3171 and 3172 with enrolments, a Bimtek each, visits and certificates, at known times."""
    from lms.certification import services as certification
    from lms.permissions import SYSTEM
    from lms.programme.models import EnrolmentStage, EnrolmentStatus
    from lms.sessions.models import Attendance

    cohort = factory.cohort(name="Angkatan Ekspor 2018", regions=("3171", "3172"))
    siti = factory.user("trainee", region="3171", full_name="=HYPERLINK(\"http://x\",\"Siti\")",
                        phone="+6281234567001", email="siti.aminah@uji.example")
    budi = factory.user("trainee", region="3172", full_name="Budi Wilayah Utara", phone="+6281234567002")
    lama = factory.user("trainee", region="3171", full_name="Pengelola Lama", phone="+6281234567003")
    e_siti = factory.enrolment(cohort=cohort, trainee=siti)
    e_budi = factory.enrolment(cohort=cohort, trainee=budi)
    e_lama = factory.enrolment(cohort=cohort, trainee=lama)
    with transaction():
        e_siti.started_at = _utc(2018, 3, 31, 18, 0)  # 1 April 01:00 WIB
        e_lama.status = EnrolmentStatus.ENDED
        db.session.execute(sa.delete(EnrolmentStage).where(EnrolmentStage.enrolment_id == e_siti.id))
        db.session.add_all([
            EnrolmentStage(enrolment_id=e_siti.id, stage_key="pendaftaran", completed_at=_utc(2018, 4, 1, 3, 0)),
            # 17:30 UTC is already the next day in Jakarta
            EnrolmentStage(enrolment_id=e_siti.id, stage_key="pelatihan", completed_at=_utc(2018, 4, 10, 17, 30)),
        ])
        e_siti.current_stage = "pendampingan"
        e_siti.completed_count = 2

    # Bimtek: one in Jakarta Pusat (10 April 2018, 08:00 WIB), one in Jakarta Utara
    s_pusat = factory.session(region="3171", cohort=cohort, title="Bimtek Jakarta Pusat")
    s_utara = factory.session(region="3172", cohort=cohort, title="Bimtek Jakarta Utara")
    r_siti = factory.register(s_pusat, siti, "present")
    tunggu1 = factory.user("trainee", region="3171", full_name="Antre Pertama")
    tunggu2 = factory.user("trainee", region="3171", full_name="Antre Kedua")
    belum = factory.user("trainee", region="3171", full_name="Belum Ditandai")
    factory.seat(s_pusat, tunggu1, status="waitlisted", waitlisted_at=_utc(2018, 4, 5, 1))
    factory.seat(s_pusat, tunggu2, status="waitlisted", waitlisted_at=_utc(2018, 4, 5, 2))
    factory.register(s_pusat, belum, None)
    factory.register(s_utara, budi, "late")
    with transaction():
        r_siti.attendance = Attendance.PRESENT
        r_siti.checked_in_by_qr = True
        r_siti.attendance_marked_at = _utc(2018, 4, 10, 2, 15)  # 09:15 WIB

    # certificates: Siti's for the 3171 Bimtek (later revoked), Budi's for the 3172 one
    admin = factory.user("admin", region=None, full_name="Admin Dinsos")
    bimtek = certification.design_for("bimtek")
    c_siti = certification.issue_for_session(admin, bimtek, s_pusat, siti, issued_at=_utc(2018, 4, 16, 2)).certificate
    c_budi = certification.issue_for_session(SYSTEM, bimtek, s_utara, budi, issued_at=_utc(2018, 4, 17, 2)).certificate
    certification.revoke(admin, c_siti, "Nama salah ketik")
    db.session.refresh(c_siti)

    # visits: one at Siti's outlet, one at Budi's
    mentor = factory.user("mentor", region="3171", full_name="Pendamping Pusat")
    far_mentor = factory.user("mentor", region="3172", full_name="Pendamping Utara")
    factory.assign_mentor(mentor, siti.managed_outlet)
    factory.assign_mentor(far_mentor, budi.managed_outlet)
    v_siti = factory.visit(mentor, siti.managed_outlet, visited_at=_wib(2018, 5, 1, 23, 30),
                           observations="@SUM(A1:A2) stok", refresh=False)
    v_budi = factory.visit(far_mentor, budi.managed_outlet, visited_at=_wib(2018, 5, 2, 10), refresh=False)
    db.session.commit()
    return SimpleNamespace(cohort=cohort, siti=siti, budi=budi, lama=lama, e_siti=e_siti, e_budi=e_budi,
                           e_lama=e_lama, s_pusat=s_pusat, s_utara=s_utara, c_siti=c_siti, c_budi=c_budi,
                           v_siti=v_siti, v_budi=v_budi, admin=admin, mentor=mentor)


def _table(actor: Any, dataset: str, f: Filters | None = None) -> list[dict[str, Any]]:
    header, rows = services.export(actor, dataset, f or Filters())
    return [dict(zip(header, r)) for r in rows]


# --- the datasets ---------------------------------------------------------------------------------

def test_progress_has_one_row_per_enrolment_with_wib_stage_dates(app, factory, db):
    w = build(factory, db)
    header, rows = services.export_progress(w.admin, Filters(cohort_id=w.cohort.id))
    assert header[:12] == ["Angkatan", "Nama pengelola", "E-mail", "No HP", "Kode e-Warong", "Nama e-Warong",
                           "Wilayah", "Kecamatan", "Status pendaftaran", "Mulai (WIB)", "Langkah saat ini",
                           "Langkah selesai (dari 7)"]
    assert header[12:] == [f"{n}. {s} (tanggal selesai)" for n, s in enumerate(
        ["Pendaftaran", "Pelatihan", "Pendampingan", "Perizinan", "Pemasaran", "Pelaporan keuangan",
         "Permodalan"], 1)] + ["Selesai semua langkah (WIB)"]
    table = [dict(zip(header, r)) for r in rows]
    assert [r["Nama pengelola"] for r in table] == [w.siti.full_name, w.budi.full_name]  # 3171 first; ended left out
    siti = table[0]
    assert siti["Angkatan"] == "Angkatan Ekspor 2018" and siti["E-mail"] == "siti.aminah@uji.example"
    assert siti["No HP"] == "0812-3456-7001"
    assert siti["Kode e-Warong"] == w.siti.managed_outlet.code and siti["Wilayah"] == "Jakarta Pusat"
    assert siti["Kecamatan"] == w.siti.managed_outlet.kecamatan.name
    assert siti["Status pendaftaran"] == "Aktif"
    assert siti["Mulai (WIB)"] == date(2018, 4, 1)
    assert siti["Langkah saat ini"] == "3. Pendampingan" and siti["Langkah selesai (dari 7)"] == 2
    assert siti["1. Pendaftaran (tanggal selesai)"] == date(2018, 4, 1)
    assert siti["2. Pelatihan (tanggal selesai)"] == date(2018, 4, 11)  # 17:30 UTC = 00:30 WIB next day
    assert siti["3. Pendampingan (tanggal selesai)"] is None and siti["Selesai semua langkah (WIB)"] is None
    assert table[1]["Wilayah"] == "Jakarta Utara"

    everyone = _table(w.admin, "progress", Filters(cohort_id=w.cohort.id, status="all"))
    lama = [r for r in everyone if r["Nama pengelola"] == "Pengelola Lama"]
    assert len(everyone) == 3 and lama[0]["Status pendaftaran"] == "Berakhir"


def test_progress_reads_stage_dates_per_batch_not_per_row(app, factory, db, count_queries, monkeypatch):
    cohort = factory.cohort(regions=("3171",))
    factory.enrolled_trainees(7, cohort)
    admin = factory.user("admin", region=None)
    db.session.commit()
    monkeypatch.setattr(services, "BATCH", 3)
    _header, rows = services.export_progress(admin, Filters(cohort_id=cohort.id))
    with count_queries() as q:
        got = list(rows)
    assert len(got) == 7
    stage_reads = [s for s in q.statements if "enrolment_stages" in s]
    assert len(stage_reads) == 3, q.statements  # batches of 3, 3 and 1
    assert len(q.statements) <= 5, q.statements


def test_progress_of_a_finished_enrolment(app, factory, db):
    cohort = factory.cohort(regions=("3171",))
    done = factory.completed_enrolment(cohort=cohort)
    with transaction():
        done.completed_at = _utc(2018, 11, 27, 20, 0)
    admin = factory.user("admin", region=None)
    (row,) = _table(admin, "progress", Filters(cohort_id=cohort.id))
    assert row["Langkah saat ini"] == "Semua langkah selesai" and row["Langkah selesai (dari 7)"] == 7
    assert row["Selesai semua langkah (WIB)"] == date(2018, 11, 28)


def test_attendance_rows_with_status_waitlist_and_marks(app, factory, db):
    w = build(factory, db)
    header, rows = services.export_attendance(w.admin, Filters(region_id=factory.region("3171").id))
    assert header == ["ID sesi", "Judul sesi", "Langkah", "Mulai (WIB)", "Wilayah", "Tempat", "Nama peserta",
                      "E-mail", "Kode e-Warong", "Status pendaftaran", "No. daftar tunggu", "Presensi",
                      "Check-in lewat QR", "Presensi ditandai (WIB)"]
    table = {r[6]: dict(zip(header, r)) for r in rows}
    assert set(table) == {w.siti.full_name, "Antre Pertama", "Antre Kedua", "Belum Ditandai"}
    siti = table[w.siti.full_name]
    assert siti["ID sesi"] == w.s_pusat.id and siti["Judul sesi"] == "Bimtek Jakarta Pusat"
    assert siti["Langkah"] == "2. Pelatihan" and siti["Wilayah"] == "Jakarta Pusat"
    assert siti["Mulai (WIB)"] == datetime(2018, 4, 10, 8, 0)
    assert siti["Tempat"] == w.s_pusat.venue_name and siti["E-mail"] == "siti.aminah@uji.example"
    assert siti["Kode e-Warong"] == w.siti.managed_outlet.code
    assert (siti["Status pendaftaran"], siti["No. daftar tunggu"], siti["Presensi"]) == ("Terdaftar", None, "Hadir")
    assert siti["Check-in lewat QR"] == "ya" and siti["Presensi ditandai (WIB)"] == datetime(2018, 4, 10, 9, 15)
    first = table["Antre Pertama"]
    assert (first["Status pendaftaran"], first["No. daftar tunggu"]) == ("Daftar tunggu", 1)
    assert table["Antre Kedua"]["No. daftar tunggu"] == 2
    assert table["Belum Ditandai"]["Presensi"] == "Belum ditandai"
    assert table["Belum Ditandai"]["Check-in lewat QR"] == "tidak"
    (budi,) = _table(w.admin, "attendance", Filters(region_id=factory.region("3172").id))
    assert budi["Presensi"] == "Terlambat" and budi["Nama peserta"] == "Budi Wilayah Utara"


def test_attendance_date_range_is_on_the_session_start_in_wib(app, factory, db):
    w = build(factory, db)
    both = _table(w.admin, "attendance", Filters(start=date(2018, 4, 10), end=date(2018, 4, 10)))
    assert len(both) == 5
    assert _table(w.admin, "attendance", Filters(start=date(2018, 4, 11))) == []
    assert _table(w.admin, "attendance", Filters(end=date(2018, 4, 9))) == []


def test_visits_reuse_the_visits_export_with_real_dates(app, factory, db):
    from lms.visits.services import export_header

    w = build(factory, db)
    header, rows = services.export_visits(w.admin, Filters(start=date(2018, 5, 1), end=date(2018, 5, 31)))
    assert header == export_header()
    got = list(rows)
    assert [r[0] for r in got] == [w.v_siti.id, w.v_budi.id]
    assert got[0][1] == date(2018, 5, 1) and got[0][2] == "23:30" and got[0][11] == "@SUM(A1:A2) stok"
    kec = w.budi.managed_outlet.kecamatan_id
    assert [r[0] for r in services.export_visits(w.admin, Filters(kecamatan_id=kec))[1]] == [w.v_budi.id]
    other = factory.cohort(regions=("3171",))
    assert list(services.export_visits(w.admin, Filters(cohort_id=other.id))[1]) == []
    assert len(list(services.export_visits(w.admin, Filters(cohort_id=w.cohort.id))[1])) == 2
    # no dates: every visit up to today
    assert len(list(services.export_visits(w.admin, Filters())[1])) == 2


def test_certificates_with_issuer_status_and_verification_link(app, factory, db):
    w = build(factory, db)
    header, rows = services.export_certificates(w.admin, Filters())
    assert header == ["Nomor seri", "Jenis", "Nama pemegang", "Kode e-Warong", "Nama e-Warong", "Wilayah", "Judul",
                      "Diterbitkan (WIB)", "Diterbitkan oleh", "Status", "Dicabut (WIB)", "Alasan pencabutan",
                      "Tautan verifikasi"]
    siti, budi = [dict(zip(header, r)) for r in rows]
    assert siti["Nomor seri"] == w.c_siti.serial and siti["Jenis"] == "Sertifikat Bimbingan Teknis"
    assert siti["Nama pemegang"] == w.siti.full_name and siti["Wilayah"] == "Jakarta Pusat"
    assert siti["Kode e-Warong"] == w.siti.managed_outlet.code
    assert siti["Diterbitkan (WIB)"] == datetime(2018, 4, 16, 9, 0) and siti["Diterbitkan oleh"] == "Admin Dinsos"
    assert siti["Status"] == "Dicabut" and siti["Alasan pencabutan"] == "Nama salah ketik"
    assert siti["Dicabut (WIB)"] is not None
    assert siti["Tautan verifikasi"] == f"http://127.0.0.1:5000/verify/{w.c_siti.verification_code}"
    assert budi["Status"] == "Aktif" and budi["Diterbitkan oleh"] == "sistem" and budi["Dicabut (WIB)"] is None
    assert [r["Nomor seri"] for r in _table(w.admin, "certificates", Filters(start=date(2018, 4, 17)))] == \
        [w.c_budi.serial]


# --- downloads ---------------------------------------------------------------------------------------

def _download(client, query: str):  # type: ignore[no-untyped-def]
    r = client.get(f"/exports/download?{query}")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    assert r.is_streamed
    assert r.headers["Cache-Control"] == "private, no-store"
    assert r.headers["Content-Disposition"].startswith("attachment; filename=")
    return r


def test_csv_download_is_streamed_neutralised_and_audited(app, factory, db):
    w = build(factory, db)
    client = plain_client(app, w.admin)
    r = _download(client, f"dataset=progress&format=csv&cohort={w.cohort.id}")
    assert r.mimetype == "text/csv"
    assert r.headers["Content-Disposition"].endswith('.csv"') and "kemajuan-" in r.headers["Content-Disposition"]
    body = r.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[1][1] == "'" + w.siti.full_name  # =HYPERLINK(...) is text, not a formula
    assert rows[1][9] == "2018-04-01" and rows[1][13] == "2018-04-11"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "export.downloaded"))
    assert entry.actor_id == w.admin.id
    assert entry.details == {"dataset": "progress", "format": "csv", "cohort_id": w.cohort.id, "status": "active"}


def test_xlsx_download_reads_back_with_types(app, factory, db):
    w = build(factory, db)
    client = plain_client(app, w.admin)
    r = _download(client, "dataset=attendance&format=xlsx&start=2018-04-01&end=2018-04-30")
    assert r.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert 'filename="kehadiran-20180401-20180430.xlsx"' in r.headers["Content-Disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.get_data()))
    ws = wb.active
    assert ws.title == "Kehadiran Bimtek" and ws.freeze_panes == "A2" and ws["A1"].font.b
    rows = {row[6].value: row for row in ws.iter_rows(min_row=2)}
    siti = rows["'" + w.siti.full_name]
    assert siti[6].data_type == "s"
    assert siti[0].value == w.s_pusat.id and siti[0].data_type == "n"
    assert siti[3].is_date and siti[3].value == datetime(2018, 4, 10, 8, 0)
    assert siti[13].value == datetime(2018, 4, 10, 9, 15)
    assert rows["Antre Kedua"][10].value == 2
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "export.downloaded"))
    assert entry.details == {"dataset": "attendance", "format": "xlsx", "start": "2018-04-01", "end": "2018-04-30"}


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_every_dataset_downloads_in_both_formats(app, factory, db, fmt):
    w = build(factory, db)
    client = plain_client(app, w.admin)
    for dataset in services.DATASETS:
        r = _download(client, f"dataset={dataset}&format={fmt}")
        data = r.get_data()
        if fmt == "xlsx":
            ws = openpyxl.load_workbook(io.BytesIO(data)).active
            assert ws.max_row >= 3, dataset
        else:
            assert len(data.decode("utf-8-sig").strip().splitlines()) >= 3, dataset
    actions = db.session.scalars(sa.select(AuditEntry.details).where(AuditEntry.action == "export.downloaded")).all()
    assert sorted(d["dataset"] for d in actions) == sorted(services.DATASETS)
    # the visits dataset is audited once, as an export of the exports page
    assert db.session.scalar(sa.select(sa.func.count()).where(AuditEntry.action == "visits.exported")) == 0


def test_download_reads_rows_only_while_streaming(app, factory, db, monkeypatch):
    from sqlalchemy.orm import Session

    cohort = factory.cohort(regions=("3171",))
    factory.enrolled_trainees(5, cohort)
    admin = factory.user("admin", region=None)
    db.session.commit()
    monkeypatch.setattr(services, "BATCH", 2)
    options: list[int] = []

    def on_execute(state):  # type: ignore[no-untyped-def]
        if state.is_select and "yield_per" in state.execution_options:
            options.append(state.execution_options["yield_per"])

    sa.event.listen(Session, "do_orm_execute", on_execute)
    try:
        r = plain_client(app, admin).get(f"/exports/download?dataset=progress&format=xlsx&cohort={cohort.id}")
        assert r.is_streamed and options == []  # nothing read yet
        ws = openpyxl.load_workbook(io.BytesIO(r.get_data())).active
        assert ws.max_row == 6 and options == [2]
    finally:
        sa.event.remove(Session, "do_orm_execute", on_execute)


# --- the page and its errors ----------------------------------------------------------------------

def test_page_lists_datasets_formats_and_only_visible_choices(client, factory, login_as):
    factory.cohort(name="Angkatan Pusat", regions=("3171",))
    factory.cohort(name="Angkatan Utara", regions=("3172",))
    login_as("coordinator", region="3171")
    html = client.get("/exports").get_data(as_text=True)
    for text in ("Ekspor data", "Kemajuan per pengelola", "Kehadiran Bimtek", "Kunjungan pendamping", "Sertifikat",
                 "CSV", "XLSX", "Angkatan Pusat", "Jakarta Pusat", 'href="/exports"'):
        assert text in html, text
    assert "Angkatan Utara" not in html and "Jakarta Utara" not in html
    assert 'action="/exports/download"' in html and 'method="get"' in html


@pytest.mark.parametrize("query,field,message", [
    ("dataset=attendance&start=2018-05-10&end=2018-05-01", "end", "tidak boleh sebelum tanggal awal"),
    ("dataset=attendance&start=kemarin", "start", "Tanggal tidak valid"),
    ("dataset=visits&start=0001-01-01&end=9999-12-31", "start", "Tanggal harus antara 1 Jan 2000 dan"),
    ("dataset=gaji", "dataset", "Pilihan tidak valid"),
    ("dataset=progress&format=pdf", "format", "Pilihan tidak valid"),
    ("dataset=progress&cohort=999999", "cohort", "Pilihan tidak valid"),
    ("dataset=progress&cohort=99999999999999999999", "cohort", "Pilihan tidak valid"),
    ("dataset=progress&status=semua", "status", "Pilihan tidak valid"),
])
def test_bad_filters_show_the_form_again_with_422(client, factory, login_as, query, field, message):
    login_as("admin", region=None)
    r = client.get(f"/exports/download?{query}")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in html and f'id="{field}-err"' in html
    assert "Ekspor data" in html
    assert client.get("/exports/download").status_code == 200  # no filters at all: just the form


def test_a_kecamatan_outside_the_chosen_region_is_a_form_error(client, factory, login_as):
    login_as("admin", region=None)
    kec_utara = factory.kecamatan("3172")
    r = client.get(f"/exports/download?dataset=progress&region={factory.region('3171').id}&kecamatan={kec_utara.id}")
    assert r.status_code == 422
    assert "Kecamatan ini tidak berada di wilayah yang dipilih." in r.get_data(as_text=True)


def test_export_page_query_count_does_not_grow(client, factory, login_as, count_queries):
    login_as("coordinator", region=None)
    factory.cohort(regions=("3171",))
    client.get("/exports")
    with count_queries() as small:
        assert client.get("/exports").status_code == 200
    for _i in range(15):
        factory.cohort(regions=("3171", "3172"))
    with count_queries() as big:
        html = client.get("/exports").get_data(as_text=True)
    assert html.count("Angkatan Uji") >= 16
    assert big.count == small.count, big.statements
    assert small.count <= 10, small.statements
