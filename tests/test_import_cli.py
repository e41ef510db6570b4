"""``flask --app lms import outlets FILE [--dry-run] [--cohort ID] [--as EMAIL]``."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.places.models import Outlet
from lms.programme.models import Enrolment
from tests.test_import import HEADER, counts, csv_bytes, row, xlsx_bytes


@pytest.fixture
def cli(app, db):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        db.session.commit()  # the command sees what the test wrote, and the test what it writes
        result = runner.invoke(args=list(args))
        db.session.rollback()
        db.session.expire_all()
        return result

    return invoke


@pytest.fixture
def good_file(tmp_path):  # type: ignore[no-untyped-def]
    path = tmp_path / "ewarong.csv"
    path.write_bytes(csv_bytes([HEADER, row(1), row(2, kec="Kec. Senen")], delimiter=";", bom=True))
    return path


def test_dry_run_checks_and_writes_nothing(cli, db, good_file):
    before = counts(db)
    r = cli("import", "outlets", str(good_file), "--dry-run")
    assert r.exit_code == 0, r.output
    assert "rows: 2, new outlets: 2" in r.output and "new managers: 2" in r.output
    assert "dry run: nothing written" in r.output
    assert counts(db) == before


def test_errors_are_listed_by_row_and_column_and_exit_1(cli, db, tmp_path):
    path = tmp_path / "salah.csv"
    path.write_bytes(csv_bytes([HEADER + ["Catatan"], row(1) + ["ok"], row(2, kec="Atlantis") + [""],
                                row(3, phone="12") + [""]]))
    before = counts(db)
    for extra in ((), ("--dry-run",)):
        r = cli("import", "outlets", str(path), *extra)
        assert r.exit_code == 1
        assert 'row 3, Kecamatan: Kecamatan "Atlantis" tidak dikenal.' in r.output
        assert "row 4, No HP: Nomor \"12\" bukan nomor telepon Indonesia" in r.output
        assert "ignored column: Catatan" in r.output
        assert "2 error(s); nothing written." in r.output
    assert counts(db) == before


def test_unreadable_file_exits_1(cli, tmp_path, db):
    path = tmp_path / "laporan.csv"
    path.write_bytes(b"%PDF-1.4\n%%EOF\n")
    r = cli("import", "outlets", str(path))
    assert r.exit_code == 1 and "Ini berkas PDF" in r.output


def test_import_prints_counts_and_setup_links(cli, db, good_file, client):
    r = cli("import", "outlets", str(good_file))
    assert r.exit_code == 0, r.output
    assert "imported: rows: 2, new outlets: 2" in r.output
    links = re.findall(r"(pengelola\d@uji\.example)\t[^\t]+\t(EW-3171-00\d)\t(http://\S+/set-password/\S+)", r.output)
    assert [(e, c) for e, c, _u in links] == [("pengelola1@uji.example", "EW-3171-001"),
                                              ("pengelola2@uji.example", "EW-3171-002")]
    assert client.get(links[0][2].split("5000", 1)[1]).status_code == 200
    senen = db.session.scalar(sa.select(Outlet).where(Outlet.code == "EW-3171-002"))
    assert senen.kecamatan.name == "Senen" and senen.manager.email == "pengelola2@uji.example"
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outlets.imported"))
    assert entry.actor_id is None and entry.details["new_outlets"] == 2  # the system acted
    # the second run changes nothing
    r = cli("import", "outlets", str(good_file))
    assert r.exit_code == 0 and "unchanged: 2" in r.output and "set-up links" not in r.output


def test_as_a_coordinator_their_region_rules_apply(cli, db, factory, good_file):
    north = factory.user("coordinator", region="3172", email="koord.utara@uji.example")
    r = cli("import", "outlets", str(good_file), "--as", "Koord.Utara@uji.example")
    assert r.exit_code == 1
    assert "row 2, Kecamatan: Kecamatan Gambir (Jakarta Pusat) di luar wilayah Anda." in r.output
    factory.user("mentor", region="3171", email="mentor.cli@uji.example")
    for who in ("mentor.cli@uji.example", "tidak.ada@uji.example"):
        r = cli("import", "outlets", str(good_file), "--as", who)
        assert r.exit_code == 1 and "no active admin or coordinator" in r.output
    pusat = factory.user("coordinator", region="3171", email="koord.pusat@uji.example")
    r = cli("import", "outlets", str(good_file), "--as", pusat.email)
    assert r.exit_code == 0, r.output
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outlets.imported"))
    assert entry.actor_id == pusat.id and north.id != pusat.id


def test_cohort_option_enrols_from_an_xlsx(cli, db, factory, tmp_path):
    from datetime import datetime

    cohort = factory.cohort(regions=("3171",))
    path = tmp_path / "ewarong.xlsx"
    path.write_bytes(xlsx_bytes(HEADER, [row(1, joined=datetime(2018, 4, 10)), row(2, joined=43101)]))
    r = cli("import", "outlets", str(path), "--cohort", str(cohort.id))
    assert r.exit_code == 0, r.output
    assert f"cohort: {cohort.name}" in r.output and "enrolments: 2" in r.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment)
                             .where(Enrolment.cohort_id == cohort.id)) == 2
    r = cli("import", "outlets", str(path), "--cohort", "999999")
    assert r.exit_code == 1 and "Angkatan tidak ditemukan" in r.output
