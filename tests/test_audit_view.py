"""The admins' audit log viewer: filters, paging, labels and details, bounded queries, its export."""
from __future__ import annotations

import csv
import io
import json
import re
from datetime import datetime, timezone

import openpyxl
import pytest
import sqlalchemy as sa

from lms.audit import browse
from lms.audit.models import AuditEntry
from lms.db import transaction
from lms.errors import NotAllowed
from tests.test_reports import plain_client


def _entry(db, action: str, at: datetime, actor=None, **kw):  # type: ignore[no-untyped-def]
    e = AuditEntry(action=action, at=at, actor_id=actor.id if actor else None, **kw)
    with transaction():
        db.session.add(e)
    return e


def _utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)  # type: ignore[misc]


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)


@pytest.fixture
def admin(factory, login_as):  # type: ignore[no-untyped-def]
    user = factory.user("admin", region=None, full_name="Admin Audit", email="admin.audit@uji.example")
    login_as(user)
    return user


def test_entries_newest_first_with_actor_label_target_ip_and_details(client, factory, db, admin):
    coord = factory.user("coordinator", region="3171", full_name="Koordinator Pusat", email="koor@uji.example")
    outlet = factory.outlet("3171")
    _entry(db, "outlet.updated", _utc(2018, 4, 10, 2, 0), coord, target_type="outlet", target_id=str(outlet.id),
           ip="203.0.113.5", details={"changes": {"name": ["Lama", "Baru"]}, "catatan": "<b>tebal</b>"})
    _entry(db, "demo.seeded", _utc(2018, 4, 9, 2, 0), None, details={"created": 3})
    _entry(db, "auth.login_failed", _utc(2018, 4, 11, 2, 0), None, ip="198.51.100.7",
           details={"email": "siapa@uji.example", "reason": "unknown_account"})
    _entry(db, "plugin.something_new", _utc(2018, 4, 8, 2, 0), coord)
    html = client.get("/admin/audit?end=2018-04-30").get_data(as_text=True)
    rows = _rows(html)
    assert len(rows) == 4
    failed, updated, seeded, unknown = rows
    assert "Gagal masuk" in failed and "auth.login_failed" in failed and "anonim" in failed
    assert "198.51.100.7" in failed and "siapa@uji.example" in failed
    assert "Koordinator Pusat" in updated and "koor@uji.example" in updated
    assert "Data e-Warong diubah" in updated and "outlet.updated</code>" in updated
    assert f'href="/outlets/{outlet.id}"' in updated and "203.0.113.5" in updated
    assert "10 Apr 2018" in updated and "09.00" in updated  # 02:00 UTC is 09:00 WIB
    assert "&lt;b&gt;tebal&lt;/b&gt;" in updated and "<b>tebal</b>" not in updated  # escaped, never HTML
    assert '<dt>changes</dt><dd>{&#34;name&#34;: [&#34;Lama&#34;, &#34;Baru&#34;]}</dd>' in updated
    assert "sistem" in seeded and "Data demo dibuat" in seeded
    assert "plugin.something_new" in unknown  # an action without a label shows its code


def test_filter_by_actor_email_is_case_insensitive_and_unknown_gives_nothing(client, factory, db, admin):
    coord = factory.user("coordinator", region="3171", email="koor.pusat@uji.example")
    other = factory.user("mentor", region="3171")
    _entry(db, "visit.created", _utc(2018, 5, 1, 3), coord)
    _entry(db, "visit.created", _utc(2018, 5, 1, 4), other)
    html = client.get("/admin/audit?actor=%20KOOR.Pusat@UJI.example%20").get_data(as_text=True)
    rows = _rows(html)
    assert len(rows) == 1 and "koor.pusat@uji.example" in rows[0]
    r = client.get("/admin/audit?actor=tidak.ada@uji.example")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert _rows(html) == [] and "Tidak ada entri yang cocok" in html


def test_filter_by_action_offers_the_actions_present(client, factory, db, admin):
    _entry(db, "certificate.issued", _utc(2018, 4, 16, 2), admin)
    _entry(db, "certificate.revoked", _utc(2018, 4, 17, 2), admin)
    html = client.get("/admin/audit").get_data(as_text=True)
    assert '<option value="certificate.revoked">Sertifikat dicabut (certificate.revoked)</option>' in html
    assert 'value="session.cancelled"' not in html  # only actions in the log
    rows = _rows(client.get("/admin/audit?action=certificate.issued").get_data(as_text=True))
    assert len(rows) == 1 and "Sertifikat diterbitkan" in rows[0]
    r = client.get("/admin/audit?action=tidak.ada")
    assert r.status_code == 422 and "Pilihan tidak valid" in r.get_data(as_text=True)


def test_filter_by_wib_days(client, factory, db, admin):
    _entry(db, "session.created", _utc(2018, 4, 9, 16, 59), admin)  # 9 April 23:59 WIB
    _entry(db, "session.updated", _utc(2018, 4, 9, 17, 0), admin)  # 10 April 00:00 WIB
    _entry(db, "session.cancelled", _utc(2018, 4, 10, 16, 59), admin)  # 10 April 23:59 WIB
    _entry(db, "session.attendance_saved", _utc(2018, 4, 10, 17, 0), admin)  # 11 April 00:00 WIB
    rows = _rows(client.get("/admin/audit?start=2018-04-10&end=2018-04-10").get_data(as_text=True))
    assert ["session.updated" in rows[1], "session.cancelled" in rows[0]] == [True, True] and len(rows) == 2
    rows = _rows(client.get("/admin/audit?start=2018-04-11").get_data(as_text=True))
    assert any("session.attendance_saved" in r for r in rows) and not any("session.cancelled" in r for r in rows)


@pytest.mark.parametrize("query,message", [("start=2018-05-10&end=2018-05-01", "tidak boleh sebelum tanggal awal"),
                                           ("start=kemarin", "Tanggal tidak valid"),
                                           ("end=9999-12-31", "Tanggal harus antara 1 Jan 2000 dan"),
                                           ("actor=" + "x" * 300, "Maksimal 254 karakter")])
def test_bad_filters_are_form_errors(client, admin, query, message):
    r = client.get(f"/admin/audit?{query}")
    assert r.status_code == 422 and message in r.get_data(as_text=True)
    r = client.get(f"/admin/audit/export?{query}")
    assert r.status_code == 422 and message in r.get_data(as_text=True)


def test_fifty_per_page_with_the_pager(client, factory, db, admin):
    with transaction():
        for i in range(120):
            db.session.add(AuditEntry(action="visit.created", at=_utc(2018, 5, 1, 0, 0) .replace(minute=i % 60,
                                      hour=i // 60), actor_id=admin.id, target_type="visit", target_id=str(i)))
    html = client.get("/admin/audit?action=visit.created").get_data(as_text=True)
    rows = _rows(html)
    assert len(rows) == 50 and "#119" in rows[0] and "#70" in rows[-1]
    assert "120 entri" in html and "Halaman 1 dari 3" in html
    assert 'href="/admin/audit?action=visit.created&amp;page=2"' in html
    rows = _rows(client.get("/admin/audit?action=visit.created&page=3").get_data(as_text=True))
    assert len(rows) == 20 and "#0<" in rows[-1].replace("</a>", "<")
    # a page past the end shows the last one; nonsense is the first
    assert len(_rows(client.get("/admin/audit?action=visit.created&page=99").get_data(as_text=True))) == 20
    assert client.get("/admin/audit?page=99999999999999999999").status_code == 200
    assert client.get("/admin/audit?page=-3").status_code == 200


def test_very_long_logs_are_capped_not_counted_to_the_end(client, factory, db, admin, monkeypatch):
    monkeypatch.setattr(browse, "MAX_ROWS", 100)
    with transaction():
        for i in range(130):
            db.session.add(AuditEntry(action="auth.login", at=_utc(2018, 5, 1, i // 60, i % 60), actor_id=admin.id))
    html = client.get("/admin/audit?page=50").get_data(as_text=True)
    assert "Lebih dari 100 entri cocok" in html and "Halaman 2 dari 2" in html


def test_query_count_is_the_same_for_5_and_200_entries(client, factory, db, admin, count_queries):
    people = [factory.user("mentor", region="3171") for _ in range(5)]

    def add(n: int) -> None:
        with transaction():
            for i in range(n):
                db.session.add(AuditEntry(action=f"visit.{['created', 'updated'][i % 2]}", at=_utc(2018, 5, 1, 1),
                                          actor_id=people[i % 5].id, target_type="visit", target_id=str(i),
                                          ip="203.0.113.1", details={"outlet_id": i, "changed": ["observations"]}))

    add(5)
    client.get("/admin/audit")
    with count_queries() as small:
        html = client.get("/admin/audit").get_data(as_text=True)
    assert len(_rows(html)) >= 5
    add(195)
    with count_queries() as big:
        html = client.get("/admin/audit").get_data(as_text=True)
    assert len(_rows(html)) == 50
    assert big.count == small.count, big.statements
    assert small.count <= 8, small.statements


@pytest.mark.parametrize("role,region", [("coordinator", None), ("coordinator", "3171"), ("mentor", "3171"),
                                         ("trainee", "3171")])
def test_only_admins_see_the_log(client, factory, login_as, role, region):
    user = login_as(role, region=region)
    assert client.get("/admin/audit").status_code == 403
    assert client.get("/admin/audit/export?format=csv").status_code == 403
    with pytest.raises(NotAllowed):
        browse.audit_page(user, browse.AuditFilters())
    assert 'href="/admin/audit"' not in client.get("/home").get_data(as_text=True)


def test_admin_nav_links(client, admin):
    html = client.get("/home").get_data(as_text=True)
    assert 'href="/admin/audit"' in html and "Log audit" in html and 'href="/exports"' in html


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_of_the_filtered_entries(app, factory, db, fmt):
    admin = factory.user("admin", region=None, full_name="Admin Ekspor")
    coord = factory.user("coordinator", region="3171", full_name="=HYPERLINK(\"x\")", email="koor.x@uji.example")
    _entry(db, "certificate.revoked", _utc(2018, 4, 17, 2, 0), coord, target_type="certificate", target_id="7",
           ip="203.0.113.9", details={"serial": "BIMTEK/2018/000007", "reason": "-salah ketik"})
    _entry(db, "certificate.issued", _utc(2018, 4, 16, 2, 0), coord)
    _entry(db, "certificate.revoked", _utc(2018, 4, 18, 2, 0), admin)
    db.session.commit()
    r = plain_client(app, admin).get(f"/admin/audit/export?format={fmt}&actor=KOOR.X@uji.example"
                                     "&action=certificate.revoked")
    assert r.status_code == 200 and r.is_streamed
    assert r.headers["Cache-Control"] == "private, no-store" and f'.{fmt}"' in r.headers["Content-Disposition"]
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(r.get_data().decode("utf-8-sig"))))
    else:
        ws = openpyxl.load_workbook(io.BytesIO(r.get_data())).active
        rows = [["" if c is None else c for c in row] for row in ws.iter_rows(values_only=True)]
    assert rows[0] == ["ID", "Waktu (WIB)", "Nama pelaku", "E-mail pelaku", "Tindakan", "Keterangan tindakan",
                       "Jenis objek", "ID objek", "Alamat IP", "Rincian (JSON)"]
    assert len(rows) == 2
    row = rows[1]
    assert row[2] == "'=HYPERLINK(\"x\")" and row[3] == "koor.x@uji.example"
    assert row[1] in ("2018-04-17 09:00:00", datetime(2018, 4, 17, 9, 0))
    assert row[4:9] == ["certificate.revoked", "Sertifikat dicabut", "certificate", "7", "203.0.113.9"]
    assert json.loads(row[9]) == {"reason": "-salah ketik", "serial": "BIMTEK/2018/000007"}
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "export.downloaded"))
    assert entry.actor_id == admin.id
    assert entry.details == {"dataset": "audit", "format": fmt, "actor_email": "KOOR.X@uji.example",
                             "filter_action": "certificate.revoked"}
