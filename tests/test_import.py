"""Spreadsheet import of outlets and their managers: the messy files, preview then confirm, all or
nothing, re-import, cohort enrolment, who may import where, and speed.

The file builders at the top (``HEADER``, ``row``, ``csv_bytes``, ``xlsx_bytes``) are shared by the
other import test modules.
"""
from __future__ import annotations

import csv
import io
import re
import time
from datetime import date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import utcnow
from lms.i18n import WIB, to_wib
from lms.imports import applying, services, staging
from lms.people.models import PasswordSetupToken, Role, User
from lms.permissions import SYSTEM
from lms.places.models import Outlet, OutletManagerTerm
from lms.programme.models import Enrolment, EnrolmentStage, EnrolmentStatus
from lms.storage import storage

HEADER = ["Kode e-Warong", "Nama e-Warong", "Nama KUBE", "Alamat", "Kelurahan", "Kecamatan", "No Telp e-Warong",
          "Nama Pengelola", "Email", "No HP", "Tanggal Bergabung"]


def row(n: int, *, code: Any = None, name: str | None = None, kube: str | None = None, address: str | None = None,
        kelurahan: str = "Kebon Kelapa", kec: str = "Gambir", outlet_phone: Any = "021-3456789",
        manager: str | None = None, email: str | None = None, phone: Any = None, joined: Any = "10/04/2018") -> list:
    """One data row in HEADER's order (values may be numbers or dates, for XLSX)."""
    return [code if code is not None else f"EW-3171-{n:03d}", name if name is not None else f"e-Warong Uji {n}",
            kube if kube is not None else f"KUBE Uji {n}", address if address is not None else f"Jl. Uji No. {n}",
            kelurahan, kec, outlet_phone, manager if manager is not None else f"Pengelola Uji {n}",
            email if email is not None else f"pengelola{n}@uji.example",
            phone if phone is not None else f"0812-3456-{7000 + n}", joined]


def csv_bytes(rows: list[list[Any]], delimiter: str = ",", bom: bool = False, encoding: str = "utf-8") -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    for r in rows:
        writer.writerow(["" if v is None else str(v) for v in r])
    return (b"\xef\xbb\xbf" if bom else b"") + buf.getvalue().encode(encoding)


def xlsx_bytes(header: list[str], rows: list[list[Any]], blank_rows_before: int = 0,
               extra_sheet: list[list[Any]] | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "e-Warong"
    for _i in range(blank_rows_before):
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    if extra_sheet:
        other = wb.create_sheet("Lain")
        for r in extra_sheet:
            other.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --- helpers ---------------------------------------------------------------------------------------

def counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    def n(model: Any) -> int:
        return db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0

    return {"outlets": n(Outlet), "users": n(User), "terms": n(OutletManagerTerm), "enrolments": n(Enrolment),
            "stages": n(EnrolmentStage), "tokens": n(PasswordSetupToken), "audit": n(AuditEntry)}


def outlet(db, code: str) -> Outlet | None:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(Outlet).where(Outlet.code == code))


def user(db, email: str) -> User | None:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(User).where(User.email == email))


def errors(preview: services.Preview) -> list[tuple[int, str, str]]:
    return [(e.row, e.column, e.message) for e in preview.errors]


@pytest.fixture
def upload(client):  # type: ignore[no-untyped-def]
    def _upload(data: bytes, filename: str = "ewarong.csv", cohort: str = ""):  # type: ignore[no-untyped-def]
        return client.form_post("/import/outlets", {"file": (io.BytesIO(data), filename), "cohort": cohort})

    return _upload


def token_of(resp) -> str:  # type: ignore[no-untyped-def]
    m = re.search(r'name="token" type="hidden" value="([^"]+)"', resp.get_data(as_text=True))
    assert m, resp.get_data(as_text=True)[:3000]
    return m.group(1)


def confirm(client, token: str):  # type: ignore[no-untyped-def]
    return client.form_post("/import/outlets/confirm", {"token": token})


# --- the messy cases, found in the preview -----------------------------------------------------------

def test_messy_csv_every_problem_by_row_and_column(app, db, factory):
    rows = [
        row(1, kec="  kec.   GAMBIR ", phone="+62 812-3456-7001"),       # fine: odd kecamatan, +62 phone
        row(2, phone="6281234567002299"),                                  # too long
        row(3, kec="Gambirr"),                                             # unknown kecamatan
        row(4, code="ew-3171-001", email="lain@uji.example"),            # duplicate code (case-insensitive)
        row(5, email="PENGELOLA1@uji.example"),                           # duplicate e-mail (case-insensitive)
        row(6, email="bukan-email"),                                       # bad e-mail
        row(7, manager="", name=""),                                       # required values missing
        row(8, joined="31/02/2018"),                                       # no such day
        row(9, joined=(to_wib(utcnow()).date() + timedelta(days=3)).strftime("%d/%m/%Y")),  # future
        row(10, joined="1/1/1999"),                                        # before 2000
        row(11, outlet_phone="12345"),                                     # outlet phone
    ]
    data = csv_bytes([HEADER] + rows, delimiter=";", bom=True)
    p = services.preview_import(SYSTEM, data, "ewarong.csv")
    got = errors(p)
    assert (3, "No HP",
            'Nomor "6281234567002299" bukan nomor telepon Indonesia yang valid. Contoh: 0812-3456-7890.') in got
    assert (4, "Kecamatan", 'Kecamatan "Gambirr" tidak dikenal.') in got
    assert (5, "Kode e-Warong", "Kode EW-3171-001 sudah ada di baris 2.") in got
    assert (6, "Email", "E-mail pengelola1@uji.example sudah dipakai di baris 2.") in got
    assert (7, "Email", 'Alamat e-mail "bukan-email" tidak valid.') in got
    assert (8, "Nama e-Warong", "Wajib diisi.") in got and (8, "Nama Pengelola", "Wajib diisi.") in got
    assert any(r == 9 and c == "Tanggal Bergabung" and "31/02/2018" in m for r, c, m in got)
    assert any(r == 10 and c == "Tanggal Bergabung" and "masa depan" in m for r, c, m in got)
    assert (11, "Tanggal Bergabung", "Tanggal 01/01/1999: tahun harus antara 2000 dan 2100.") in got
    assert any(r == 12 and c == "No Telp e-Warong" for r, c, _m in got)
    assert {r for r, _c, _m in got} == set(range(3, 13))  # row 2 is fine; nothing else flagged
    assert not p.ok and p.counts["error_rows"] == 10 and p.counts["rows"] == 11
    first = p.rows[0]
    assert first.kecamatan.name == "Gambir" and first.manager_phone == "+6281234567001"


def test_errors_come_in_the_files_column_order(app):
    data = csv_bytes([HEADER, row(1, kec="Atlantis", phone="999", email="x")])
    p = services.preview_import(SYSTEM, data, "a.csv")
    assert [c for _r, c, _m in errors(p)] == ["Kecamatan", "Email", "No HP"]


def test_phone_numbers_as_indonesians_write_them(app):
    rows = [row(1, phone="0812-3456-7001"), row(2, phone="+62 812 3456 7002"), row(3, phone="6281234567003"),
            row(4, phone="0062812345670 04"), row(5, phone="81234567005.0"), row(6, phone="(021) 345 6789")]
    p = services.preview_import(SYSTEM, csv_bytes([HEADER] + rows), "a.csv")
    assert p.ok, errors(p)
    assert [r.manager_phone for r in p.rows] == ["+6281234567001", "+6281234567002", "+6281234567003",
                                                 "+6281234567004", "+6281234567005", "+62213456789"]


def test_wilayah_column_must_agree_with_the_kecamatan(app):
    header = HEADER + ["Wilayah"]
    rows = [row(1) + ["Kota Adm. Jakarta Pusat"], row(2) + ["Jakarta Utara"], row(3) + ["Bandung"], row(4) + [""]]
    p = services.preview_import(SYSTEM, csv_bytes([header] + rows), "a.csv")
    assert errors(p) == [(3, "Wilayah", "Kecamatan Gambir berada di Jakarta Pusat, bukan di Jakarta Utara."),
                         (4, "Wilayah", 'Wilayah "Bandung" tidak dikenal.')]


def test_xlsx_with_a_real_date_cell_and_an_excel_serial_number(app, db):
    rows = [row(1, joined=datetime(2018, 4, 10), phone=81234567001, outlet_phone=None),
            row(2, joined=43101, phone=6281234567002.0, code="ew-3171-002")]
    data = xlsx_bytes(HEADER, rows)
    p = services.preview_import(SYSTEM, data, "ewarong.xlsx")
    assert p.ok, errors(p)
    assert p.kind == "xlsx"
    assert [(r.code, r.joined_on, r.manager_phone) for r in p.rows] == [
        ("EW-3171-001", date(2018, 4, 10), "+6281234567001"), ("EW-3171-002", date(2018, 1, 1), "+6281234567002")]


def test_preview_writes_nothing(app, db):
    before = counts(db)
    p = services.preview_import(SYSTEM, csv_bytes([HEADER, row(1), row(2)]), "a.csv")
    assert p.ok and p.counts["new_outlets"] == 2 and p.counts["new_managers"] == 2
    db.session.rollback()
    assert counts(db) == before


# --- preview, then confirm (HTTP) -------------------------------------------------------------------

def test_upload_preview_then_confirm(client, db, login_as, upload, app):
    coord = login_as("coordinator", region="3171")
    before = counts(db)
    data = csv_bytes([HEADER, row(1), row(2, kec="Kec. Tanah  Abang"), row(3, kec="MENTENG")], delimiter=";", bom=True)
    r = upload(data, "Data e-Warong Pusat.csv")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert "Pratinjau impor" in html and "Ya, impor sekarang" in html
    assert counts(db) == before  # nothing written by the preview
    token = token_of(r)
    assert storage().exists(staging.AREA, token)

    r = confirm(client, token)
    assert r.status_code == 200, r.get_data(as_text=True)[:3000]
    html = r.get_data(as_text=True)
    assert "Impor selesai" in html
    after = counts(db)
    assert after["outlets"] == before["outlets"] + 3 and after["users"] == before["users"] + 3
    assert after["terms"] == before["terms"] + 3 and after["tokens"] == before["tokens"] + 3
    assert after["audit"] == before["audit"] + 1  # one entry for the whole file

    o = outlet(db, "EW-3171-002")
    assert o.kecamatan.name == "Tanah Abang" and o.region.code == "3171" and o.phone == "+62213456789"
    assert o.kube_name == "KUBE Uji 2" and o.address == "Jl. Uji No. 2" and o.kelurahan == "Kebon Kelapa"
    m = o.manager
    assert m.email == "pengelola2@uji.example" and m.role is Role.TRAINEE and m.region_id == o.region_id
    assert m.password_hash is None and m.phone == "+6281234567002"

    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outlets.imported"))
    assert entry.actor_id == coord.id and entry.details["new_outlets"] == 3 and entry.details["rows"] == 3
    assert entry.details["filename"] == "Data e-Warong Pusat.csv" and len(entry.details["sha256"]) == 64
    assert sorted(entry.details["created_codes"]) == ["EW-3171-001", "EW-3171-002", "EW-3171-003"]

    # the set-up links are on the result page, once; each works
    links = re.findall(r"http://[^\s\"<]+/set-password/[A-Za-z0-9_\-]+", html)
    assert len(set(links)) == 3
    assert client.get(links[0].split("5000", 1)[1]).status_code == 200
    # the file is gone; a second click does not import twice
    assert not storage().exists(staging.AREA, token)
    r = confirm(client, token)
    assert r.status_code == 302 and r.headers["Location"].endswith("/outlets")
    assert "sudah diimpor" in client.get("/outlets").get_data(as_text=True)
    assert counts(db) == after


def test_preview_with_errors_has_no_confirm_button_and_stores_nothing(client, login_as, upload, app):
    login_as("coordinator", region="3171")
    r = upload(csv_bytes([HEADER, row(1), row(2, kec="Atlantis")]))
    html = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "Ya, impor sekarang" not in html and 'name="token"' not in html
    assert "Kecamatan &#34;Atlantis&#34; tidak dikenal." in html
    assert list(storage().keys(staging.AREA)) == []


def test_large_preview_shows_all_errors_but_not_every_row(client, login_as, upload):
    login_as("coordinator", region="3171")
    rows = [row(i, code=f"EW-3171-{i:04d}") for i in range(1, 451)]
    rows[299][5] = "Atlantis"  # spreadsheet row 301
    r = upload(csv_bytes([HEADER] + rows))
    html = r.get_data(as_text=True)
    assert 'id="baris-201"' in html and 'id="baris-202"' not in html  # the first 200 data rows
    assert 'id="baris-301"' in html  # and every row with an error
    assert "Ditampilkan 201 dari 450 baris" in html


@pytest.mark.parametrize("data,filename,message", [
    (b"%PDF-1.4\n%%EOF\n", "ewarong.csv", "Ini berkas PDF"),
    (bytes(range(256)) * 4, "ewarong.xlsx", "bukan CSV atau XLSX"),
    (b"Nama;Alamat\nA;B\n", "ewarong.csv", "Kolom wajib tidak ditemukan"),
])
def test_unreadable_files_are_form_errors(client, login_as, upload, data, filename, message):
    login_as("coordinator", region="3171")
    r = upload(data, filename)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)


def test_no_file_and_a_too_big_file(client, login_as, upload, app):
    login_as("coordinator", region="3171")
    r = client.form_post("/import/outlets", {"cohort": ""})
    assert r.status_code == 422 and "Pilih berkas CSV atau XLSX." in r.get_data(as_text=True)
    assert services.max_bytes() == 5 * 1024 * 1024
    app.config["IMPORT_MAX_BYTES"] = 64 * 1024  # the HTTP path, with a small limit (the 5 MB one: test_import_parse)
    r = upload(csv_bytes([HEADER] + [row(i) for i in range(1, 600)]))
    assert r.status_code == 422 and "Berkas terlalu besar (maksimal 64 KB)" in r.get_data(as_text=True)


def test_cp1252_file_is_read_and_the_preview_says_so(client, login_as, upload):
    login_as("coordinator", region="3171")
    r = upload(csv_bytes([HEADER, row(1, manager="José Siahaan")], encoding="cp1252"))
    html = r.get_data(as_text=True)
    assert r.status_code == 200 and "José Siahaan" in html and "Windows-1252" in html


# --- all or nothing ----------------------------------------------------------------------------------

def test_confirm_rechecks_a_conflict_created_after_the_preview(client, db, login_as, upload, factory):
    login_as("coordinator", region="3171")
    r = upload(csv_bytes([HEADER, row(1), row(2)]))
    token = token_of(r)
    factory.user("mentor", region="3171", email="pengelola2@uji.example")  # takes the e-mail meanwhile
    before = counts(db)
    r = confirm(client, token)
    assert r.status_code == 409
    html = r.get_data(as_text=True)
    assert "Impor dibatalkan dan tidak ada yang disimpan" in html
    assert "akun staf" in html
    assert counts(db) == before
    assert outlet(db, "EW-3171-001") is None  # row 1 was fine, and still nothing was written


def test_a_crash_in_the_middle_leaves_the_database_unchanged(client, db, login_as, upload, app, monkeypatch, factory):
    login_as("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    r = upload(csv_bytes([HEADER, row(1), row(2)]), cohort=str(cohort.id))
    token = token_of(r)
    before = counts(db)

    def boom(_user):  # type: ignore[no-untyped-def]
        raise RuntimeError("disk full")

    monkeypatch.setattr(applying, "_new_setup_token", boom)  # after outlets, users, terms and enrolments
    app.config["PROPAGATE_TEST_ERRORS"] = False
    r = confirm(client, token)
    assert r.status_code == 500
    assert counts(db) == before
    # the file was given back: once the fault is gone the same confirmation works
    monkeypatch.undo()
    r = confirm(client, token)
    assert r.status_code == 200 and "Impor selesai" in r.get_data(as_text=True)
    after = counts(db)
    assert after["outlets"] == before["outlets"] + 2 and after["enrolments"] == before["enrolments"] + 2


def test_apply_refuses_a_file_with_errors_and_writes_nothing(app, db):
    before = counts(db)
    with pytest.raises(services.ImportRejected) as e:
        services.apply_import(SYSTEM, csv_bytes([HEADER, row(1), row(2, email="x@")]), "a.csv")
    assert errors(e.value.preview)[0][:2] == (3, "Email")
    db.session.rollback()
    assert counts(db) == before


# --- re-import ---------------------------------------------------------------------------------------

def test_reimporting_the_same_file_changes_nothing(app, db, factory):
    cohort = factory.cohort(regions=("3171",))
    data = xlsx_bytes(HEADER, [row(i, joined=datetime(2018, 4, i)) for i in range(1, 6)])
    first = services.apply_import(SYSTEM, data, "a.xlsx", cohort_id=cohort.id)
    assert first.counts["new_outlets"] == 5 and first.counts["enrolments"] == 5 and len(first.new_managers) == 5
    before = counts(db)
    p = services.preview_import(SYSTEM, data, "a.xlsx", cohort_id=cohort.id)
    assert p.ok and p.counts["unchanged"] == 5
    assert {r.status for r in p.rows} == {services.UNCHANGED}
    second = services.apply_import(SYSTEM, data, "a.xlsx", cohort_id=cohort.id)
    assert second.counts["unchanged"] == 5 and second.counts["new_outlets"] == 0 and second.counts["enrolments"] == 0
    assert second.new_managers == []
    after = counts(db)
    assert after == {**before, "audit": before["audit"] + 1}  # only the import's own entry


def test_a_changed_reimport_updates_fields_and_can_change_the_manager(app, db, factory):
    cohort = factory.cohort(regions=("3171",))
    services.apply_import(SYSTEM, csv_bytes([HEADER, row(1), row(2), row(3)]), "a.csv", cohort_id=cohort.id)
    old_manager = user(db, "pengelola3@uji.example")
    changed = [row(1, name="e-Warong Melati Baru", phone="0813-1111-2222", kec="Menteng", address=""),
               row(2),
               # the successor has a number of their own: the old manager's stays theirs (unique among active)
               row(3, email="pengganti3@uji.example", manager="Ibu Pengganti", phone="0812-3456-7093")]
    p = services.preview_import(SYSTEM, csv_bytes([HEADER] + changed), "a.csv", cohort_id=cohort.id)
    assert [r.status for r in p.rows] == [services.UPDATED, services.UNCHANGED, services.UPDATED]
    assert set(p.rows[0].outlet_changes) == {"name", "kecamatan_id"} and set(p.rows[0].user_changes) == {"phone"}
    assert p.rows[2].manager_change and p.rows[2].previous_manager == "Pengelola Uji 3"
    c = p.counts
    assert (c["updated_outlets"], c["unchanged"], c["new_managers"], c["manager_changes"]) == (2, 1, 1, 1)

    result = services.apply_import(SYSTEM, csv_bytes([HEADER] + changed), "a.csv", cohort_id=cohort.id)
    assert result.counts["updated_outlets"] == 2
    assert [m.email for m in result.new_managers] == ["pengganti3@uji.example"]
    o1 = outlet(db, "EW-3171-001")
    assert o1.name == "e-Warong Melati Baru" and o1.kecamatan.name == "Menteng"
    assert o1.address == "Jl. Uji No. 1"  # an empty optional cell leaves the stored value
    assert o1.manager.phone == "+6281311112222"
    o3 = outlet(db, "EW-3171-003")
    assert o3.manager.email == "pengganti3@uji.example"
    db.session.refresh(old_manager)
    assert old_manager.managed_outlet is None
    terms = db.session.scalars(sa.select(OutletManagerTerm).where(OutletManagerTerm.outlet_id == o3.id)).all()
    assert len(terms) == 2 and sum(1 for t in terms if t.ended_at is None) == 1
    # the cohort carries over to the new manager; the old enrolment ended
    active = db.session.scalars(sa.select(Enrolment).where(Enrolment.outlet_id == o3.id,
                                                           Enrolment.status == EnrolmentStatus.ACTIVE)).all()
    assert [e.user_id for e in active] == [o3.manager_id]


def test_an_existing_trainee_without_an_outlet_is_linked_not_duplicated(app, db, factory):
    free = factory.user("trainee", region="3171", with_outlet=False, email="bebas@uji.example", full_name="Bu Bebas")
    result = services.apply_import(SYSTEM, csv_bytes([HEADER, row(1, email="Bebas@Uji.Example", manager="Bu Bebas")]),
                                   "a.csv")
    assert result.counts["new_managers"] == 0 and result.new_managers == []
    assert outlet(db, "EW-3171-001").manager_id == free.id


def test_emails_of_staff_of_other_managers_and_of_inactive_accounts_are_refused(app, db, factory):
    factory.user("mentor", region="3171", email="mentor@uji.example")
    busy = factory.user("trainee", region="3171", email="sibuk@uji.example")
    factory.user("trainee", region="3171", with_outlet=False, email="nonaktif@uji.example", active=False)
    rows = [row(1, email="mentor@uji.example"), row(2, email="sibuk@uji.example"),
            row(3, email="nonaktif@uji.example"), row(4, code=busy.managed_outlet.code, email="sibuk@uji.example",
                                                     manager=busy.full_name)]
    rows[3][5] = busy.managed_outlet.kecamatan.name
    p = services.preview_import(SYSTEM, csv_bytes([HEADER] + rows), "a.csv")
    got = errors(p)
    assert got[0][:2] == (2, "Email") and "akun staf" in got[0][2]
    assert got[1][:2] == (3, "Email") and f"sudah mengelola e-Warong {busy.managed_outlet.code}" in got[1][2]
    assert got[2][:2] == (4, "Email") and "nonaktif" in got[2][2]
    # row 5 is the same manager at their own outlet: only the in-file duplicate e-mail is wrong
    assert got[3:] == [(5, "Email", "E-mail sibuk@uji.example sudah dipakai di baris 3.")]


# --- cohort enrolment ----------------------------------------------------------------------------------

def test_import_enrols_into_a_cohort_from_the_joining_date(app, db, factory):
    cohort = factory.cohort(regions=("3171",))
    already = factory.enrolment(cohort=cohort)  # an outlet already in the cohort
    # (row 1's default number is the factory trainee's: a number is one active account's)
    rows = [row(1, joined="10/04/2018", phone="0812-3456-7091"), row(2, joined=""),
            row(3, code=already.outlet.code, email=already.user.email, manager=already.user.full_name,
                kec=already.outlet.kecamatan.name)]
    started = utcnow()
    result = services.apply_import(SYSTEM, csv_bytes([HEADER] + rows), "a.csv", cohort_id=cohort.id)
    assert result.counts["enrolments"] == 2
    e1 = db.session.scalar(sa.select(Enrolment).join(Outlet, Outlet.id == Enrolment.outlet_id)
                           .where(Outlet.code == "EW-3171-001"))
    assert to_wib(e1.started_at) == datetime(2018, 4, 10, tzinfo=WIB)
    assert e1.status is EnrolmentStatus.ACTIVE
    # the summary was refreshed: a complete profile completes the first step at once
    assert (e1.completed_count, e1.current_stage) == (1, "pelatihan")
    e2 = db.session.scalar(sa.select(Enrolment).join(Outlet, Outlet.id == Enrolment.outlet_id)
                           .where(Outlet.code == "EW-3171-002"))
    assert e2.started_at >= started - timedelta(seconds=5)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)
                             .where(Enrolment.outlet_id == already.outlet_id)) == 1
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "enrolment.bulk_created"))
    assert entry.details == {"count": 2, "source": "import"}


def test_cohort_outside_the_rows_region_or_the_actors_reach(app, db, factory, client, login_as, upload):
    north = factory.cohort(regions=("3172",))
    p = services.preview_import(SYSTEM, csv_bytes([HEADER, row(1)]), "a.csv", cohort_id=north.id)
    assert errors(p)[0][:2] == (2, "Kecamatan") and "tidak bisa didaftarkan ke angkatan" in errors(p)[0][2]
    coord = login_as("coordinator", region="3171")
    r = upload(csv_bytes([HEADER, row(1)]), cohort=str(north.id))  # not offered to a 3171 coordinator
    assert r.status_code == 422 and "Pilihan tidak valid" in r.get_data(as_text=True)
    with pytest.raises(services.Invalid) as e:
        services.preview_import(coord, csv_bytes([HEADER, row(1)]), "a.csv", cohort_id=north.id)
    assert "cohort" in e.value.reasons


# --- who may import where ------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["mentor", "trainee"])
def test_mentors_and_trainees_may_not_import(client, login_as, role, upload):
    login_as(role, region="3171")
    assert client.get("/import/outlets").status_code == 403
    assert upload(csv_bytes([HEADER, row(1)])).status_code == 403
    assert client.get("/import/outlets/template.csv").status_code == 403
    assert confirm(client, "x" * 32).status_code == 403


def test_service_refuses_a_mentor(app, factory):
    with pytest.raises(services.NotAllowed):
        services.preview_import(factory.user("mentor"), csv_bytes([HEADER, row(1)]), "a.csv")


def test_a_coordinator_imports_only_into_their_region(client, db, login_as, upload, factory):
    theirs = factory.outlet("3171", code="EW-3171-777")
    login_as("coordinator", region="3172")
    rows = [row(1, code="EW-3172-001", kec="Koja"), row(2, kec="Gambir"),
            row(3, code="EW-3171-777", kec="Koja")]
    r = upload(csv_bytes([HEADER] + rows))
    html = r.get_data(as_text=True)
    assert "Kecamatan Gambir (Jakarta Pusat) di luar wilayah Anda." in html
    assert "Kode EW-3171-777 sudah dipakai e-Warong di luar wilayah Anda." in html
    assert "Ya, impor sekarang" not in html
    db.session.refresh(theirs)
    assert theirs.kecamatan.name != "Koja"


def test_all_dki_coordinators_and_admins_import_anywhere(app, factory):
    rows = [row(1, kec="Gambir"), row(2, code="EW-3172-002", kec="Koja"), row(3, code="EW-3101-003",
                                                                            kec="Kep. Seribu Utara")]
    for actor in (factory.user("coordinator", region=None), factory.user("admin")):
        p = services.preview_import(actor, csv_bytes([HEADER] + rows), "a.csv")
        assert p.ok, errors(p)


def test_someone_elses_preview_token_is_404(client, login_as, upload, factory):
    login_as("coordinator", region="3171")
    token = token_of(upload(csv_bytes([HEADER, row(1)])))
    client.form_post("/logout")
    login_as(factory.user("coordinator", region="3171"))
    assert confirm(client, token).status_code == 404
    client.form_post("/logout")
    login_as(factory.user("admin"))
    assert confirm(client, token).status_code == 404


def test_expired_and_unknown_tokens_send_back_to_the_upload_form(client, login_as, upload, app, db):
    login_as("coordinator", region="3171")
    before = counts(db)
    token = token_of(upload(csv_bytes([HEADER, row(1)])))
    app.config["IMPORT_STAGING_SECONDS"] = 0
    time.sleep(0.01)
    r = confirm(client, token)
    assert r.status_code == 302 and r.headers["Location"].endswith("/import/outlets")
    assert "sudah kedaluwarsa" in client.get("/import/outlets").get_data(as_text=True)
    for bad in ("A" * 32, "../../etc/passwd", ""):
        r = confirm(client, bad)
        assert r.status_code == 302 and r.headers["Location"].endswith("/import/outlets")
    assert counts(db) == before


def test_a_tampered_staged_file_is_not_imported(client, login_as, upload, db):
    login_as("coordinator", region="3171")
    token = token_of(upload(csv_bytes([HEADER, row(1)])))
    storage().put(staging.AREA, token, csv_bytes([HEADER, row(1), row(2)]))
    before = counts(db)
    r = confirm(client, token)
    assert r.status_code == 302
    assert counts(db) == before


def test_a_confirm_already_in_progress_is_not_run_twice(client, login_as, upload, db, app):
    coord = login_as("coordinator", region="3171")
    token = token_of(upload(csv_bytes([HEADER, row(1)])))
    staging.claim(staging.load(coord.id, token))  # another request holds it
    r = confirm(client, token)
    assert r.status_code == 302 and r.headers["Location"].endswith("/outlets")
    assert "sedang diimpor" in client.get("/outlets").get_data(as_text=True)
    assert outlet(db, "EW-3171-001") is None


# --- the template, the links to the page ------------------------------------------------------------------

def test_template_download_reimports_cleanly(client, login_as, db):
    coord = login_as("coordinator", region="3172")
    r = client.get("/import/outlets/template.csv")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    body = r.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    text = body.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(services.TEMPLATE_HEADER)
    assert "Penjaringan" in text and "Jakarta Utara" in text  # an example in the coordinator's own region
    p = services.preview_import(coord, body, "templat.csv")
    assert p.ok, errors(p)
    assert p.rows[0].joined_on == date(2018, 4, 10) and p.rows[0].outlet_phone == "+62213456789"


def test_import_is_linked_from_the_outlet_list_and_the_menu(client, login_as):
    login_as("coordinator", region="3171")
    html = client.get("/outlets").get_data(as_text=True)
    assert html.count('href="/import/outlets"') == 2  # the page button and the menu
    client.form_post("/logout")
    login_as("mentor", region="3171")
    html = client.get("/outlets").get_data(as_text=True)
    assert client.get("/outlets").status_code == 200 and "/import/outlets" not in html


def test_upload_page_lists_the_columns_and_the_cohorts(client, login_as, factory):
    mine = factory.cohort(name="Angkatan Pusat 2018", regions=("3171",))
    factory.cohort(name="Angkatan Utara 2018", regions=("3172",))
    login_as("coordinator", region="3171")
    html = client.get("/import/outlets").get_data(as_text=True)
    assert "Kode Outlet" in html and "Nama Pengurus" in html and "Tanggal Bergabung" in html
    assert f'value="{mine.id}"' in html and "Angkatan Pusat 2018" in html and "Angkatan Utara 2018" not in html


# --- speed -------------------------------------------------------------------------------------------------

def test_preview_queries_do_not_grow_with_the_rows(app, db, factory, count_queries):
    factory.outlet("3171", code="EW-3171-0003")
    small = csv_bytes([HEADER] + [row(i, code=f"EW-3171-{i:04d}") for i in range(1, 21)])
    large = csv_bytes([HEADER] + [row(i, code=f"EW-3171-{i:04d}") for i in range(1, 1201)])
    with count_queries() as q_small:
        services.preview_import(SYSTEM, small, "a.csv")
    with count_queries() as q_large:
        services.preview_import(SYSTEM, large, "a.csv")
    assert q_small.count <= 10
    assert q_large.count <= q_small.count + 8  # a few more IN (...) chunks, never one per row


@pytest.mark.slow
def test_five_thousand_rows_in_one_go_and_again_unchanged(app, db, factory):
    """A city-sized file goes through whole (timings: ``python -m tests.bench import``)."""
    cohort = factory.cohort(regions=("3171", "3172", "3173", "3174", "3175"))
    kecs = ["Gambir", "Koja", "Tambora", "Tebet", "Cakung"]
    rows = [row(i, code=f"EW-{i:05d}", kec=kecs[i % 5], phone=f"0812{i:08d}") for i in range(1, 5001)]
    data = xlsx_bytes(HEADER, rows)
    p = services.preview_import(SYSTEM, data, "besar.xlsx", cohort_id=cohort.id)
    assert p.ok, errors(p)[:5]
    result = services.apply_import(SYSTEM, data, "besar.xlsx", cohort_id=cohort.id)
    assert result.counts["new_outlets"] == 5000 and result.counts["enrolments"] == 5000
    assert len(result.new_managers) == 5000
    assert counts(db)["outlets"] == 5000
    again = services.apply_import(SYSTEM, data, "besar.xlsx", cohort_id=cohort.id)
    assert again.counts["unchanged"] == 5000


def test_preview_counts_errors_per_column(client, login_as, upload):
    login_as("coordinator", region="3171")
    rows = [row(i, kec="Atlantis" if i % 2 else "Gambir", phone="1" if i == 4 else None) for i in range(1, 8)]
    r = upload(csv_bytes([HEADER] + rows))
    html = r.get_data(as_text=True)
    assert "Masalah per kolom: <strong>Kecamatan</strong> 4 · <strong>No HP</strong> 1" in html
    assert "di 5 baris" in html
    client.set_cookie("lms_lang", "en")
    html = upload(csv_bytes([HEADER] + rows)).get_data(as_text=True)
    assert "in 5 rows" in html
    html = upload(csv_bytes([HEADER, row(1, kec="Atlantis")])).get_data(as_text=True)
    assert "in 1 row<" in html or "in 1 row " in html
