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
    assert f'<a href="/users/{coord.id}">Koordinator Pusat</a>' in updated and "koor@uji.example" in updated
    assert "Data e-Warong diubah" in updated and "outlet.updated</code>" in updated
    # the object by name, with its page
    assert f'<a href="/outlets/{outlet.id}">{outlet.code} · {outlet.name}</a>' in updated and "203.0.113.5" in updated
    assert "10 Apr 2018" in updated and "09.00" in updated  # 02:00 UTC is 09:00 WIB
    assert "&lt;b&gt;tebal&lt;/b&gt;" in updated and "<b>tebal</b>" not in updated  # escaped, never HTML
    # details as labelled fields, not JSON
    assert "<dt>Perubahan</dt><dd>Nama: Lama → Baru</dd>" in updated and "&#34;" not in updated
    assert "<dt>Alasan</dt><dd>akun tidak dikenal</dd>" in failed
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


# --- entries read as sentences: objects by name, labelled details, all names in one query ---------------

def test_objects_are_shown_by_name_with_their_page_and_details_as_labelled_fields(client, factory, db, admin):
    from lms.sessions.models import Registration

    w = factory.world()
    reg = db.session.scalar(sa.select(Registration).where(Registration.session_id == w.session.id))
    pusat, utara = factory.region("3171"), factory.region("3172")
    at = _utc(2018, 4, 10, 2, 0)
    entries = [
        ("user.role_changed", "user", w.mentor.id, {"old_role": "mentor", "new_role": "coordinator",
                                                    "old_region_id": pusat.id, "new_region_id": utara.id}),
        ("user.deactivated", "user", w.owner.id, {"reason": "Pindah tugas"}),
        ("outlet.manager_set", "outlet", w.outlet.id, {"user_id": w.owner.id}),
        ("cohort.created", "cohort", w.cohort.id, {"name": w.cohort.name}),
        ("enrolment.created", "enrolment", w.enrolment.id, {"cohort_id": w.cohort.id, "outlet_id": w.outlet.id}),
        ("evidence.verified", "evidence", w.evidence.id, {"evidence_type": "licence", "outlet_id": w.outlet.id}),
        ("visit.created", "visit", w.visit.id, {"outlet_id": w.outlet.id, "photos": 1, "location": True}),
        ("session.created", "training_session", w.session.id, {"starts_at": "2018-04-10T01:00:00+00:00"}),
        ("registration.created", "registration", reg.id, {"session_id": w.session.id, "status": "registered"}),
        ("certificate.issued", "certificate", w.certificate.id, {"holder_id": w.owner.id, "kind": "bimtek",
                                                                "subject": f"session:{w.session.id}",
                                                                "replaces": None}),
        ("certificate.bulk_started", "certificate_job", w.job.id, {"scope": "session", "total": 1234}),
        ("action_item.done", "action_item", w.action_item.id, {"visit_id": w.visit.id}),
        ("calendar_feed.revoked", "calendar_feed", 999999, {}),
        ("auth.login_throttled", "user", w.owner.id, {"scope": "account", "retry_after": 900,
                                                      "known_device": False, "mystery_key": "x"}),
        ("session.group_registered", "training_session", w.session.id,
         {"clashing": [w.owner.id, w.other.id], "registered": 2}),
    ]
    for i, (action, ttype, tid, details) in enumerate(entries):
        _entry(db, action, at.replace(minute=i), admin, target_type=ttype, target_id=str(tid), details=details)
    html = client.get("/admin/audit?end=2018-04-30").get_data(as_text=True)
    rows = {re.search(r"<code class=\"sub\">([a-z_.]+)</code>", r).group(1): r for r in _rows(html)}
    assert len(rows) == len(entries)
    o = f"{w.outlet.code} · {w.outlet.name}"
    r = rows["user.role_changed"]
    assert "Peran pengguna diubah" in r and f'<a href="/users/{w.mentor.id}">{w.mentor.full_name}</a>' in r
    assert "<dt>Peran lama</dt><dd>Pendamping</dd>" in r and "<dt>Peran baru</dt><dd>Koordinator</dd>" in r
    assert f"<dt>Wilayah lama</dt><dd>{pusat.name}</dd>" in r and f"<dt>Wilayah baru</dt><dd>{utara.name}</dd>" in r
    assert "<dt>Alasan</dt><dd>Pindah tugas</dd>" in rows["user.deactivated"]
    r = rows["outlet.manager_set"]
    assert f'<a href="/outlets/{w.outlet.id}">{o}</a>' in r
    assert f'<dt>Pengguna</dt><dd><a href="/users/{w.owner.id}">{w.owner.full_name}</a></dd>' in r
    assert f'<a href="/cohorts/{w.cohort.id}">{w.cohort.name}</a>' in rows["cohort.created"]
    assert f'<a href="/enrolments/{w.enrolment.id}">{w.outlet.code} di {w.cohort.name}</a>' in rows["enrolment.created"]
    r = rows["evidence.verified"]
    assert f'<a href="/evidence/{w.evidence.id}">Izin usaha · {w.outlet.code}</a>' in r
    assert "<dt>Jenis bukti</dt><dd>Izin usaha</dd>" in r
    r = rows["visit.created"]
    assert f'<a href="/visits/{w.visit.id}">Kunjungan ' in r and "<dt>Lokasi tercatat</dt><dd>ya</dd>" in r
    r = rows["session.created"]
    assert f'<a href="/sessions/{w.session.id}">{w.session.title} (10 Apr 2018)</a>' in r
    assert "<dt>Mulai</dt><dd>10 Apr 2018 08.00.00 WIB</dd>" in r
    r = rows["registration.created"]
    assert f'<a href="/sessions/{w.session.id}">{w.owner.full_name} di {w.session.title}</a>' in r
    assert "<dt>Status</dt><dd>terdaftar</dd>" in r
    r = rows["certificate.issued"]
    assert f'<a href="/certificates/{w.certificate.id}">{w.certificate.serial}</a>' in r
    assert "<dt>Jenis</dt><dd>Bimtek</dd>" in r and "Menggantikan" not in r  # nothing to say: left out
    assert f'<dt>Perihal</dt><dd><a href="/sessions/{w.session.id}">{w.session.title} (10 Apr 2018)</a></dd>' in r
    assert "<dt>Cakupan</dt><dd>satu Bimtek</dd>" in rows["certificate.bulk_started"]
    assert "<dt>Jumlah</dt><dd>1.234</dd>" in rows["certificate.bulk_started"]
    assert f'<a href="/visits/{w.visit.id}">{w.action_item.description}</a>' in rows["action_item.done"]
    r = rows["calendar_feed.revoked"]
    assert "Tautan kalender" in r and "#999999" in r and "/calendar" not in r  # gone: no link to a 404
    r = rows["auth.login_throttled"]
    assert "<dt>Cakupan</dt><dd>akun ini</dd>" in r and "<dt>Boleh mencoba lagi setelah</dt><dd>900 detik</dd>" in r
    assert "<dt>Perangkat yang dikenal</dt><dd>tidak</dd>" in r and "<dt>mystery key</dt><dd>x</dd>" in r
    assert f"<dt>Bentrok jadwal</dt><dd>{w.owner.full_name}, {w.other.full_name}</dd>" in rows["session.group_registered"]


def test_names_of_every_kind_cost_one_query(client, factory, db, admin, count_queries):
    w = factory.world()
    at = _utc(2018, 4, 10, 2, 0)
    _entry(db, "user.updated", at, admin, target_type="user", target_id=str(w.owner.id))
    client.get("/admin/audit?end=2018-04-30")
    with count_queries() as one_kind:
        client.get("/admin/audit?end=2018-04-30")
    for i, (ttype, tid) in enumerate([("outlet", w.outlet.id), ("cohort", w.cohort.id), ("visit", w.visit.id),
                                      ("enrolment", w.enrolment.id), ("evidence", w.evidence.id),
                                      ("training_session", w.session.id), ("certificate", w.certificate.id),
                                      ("certificate_job", w.job.id), ("action_item", w.action_item.id)]):
        _entry(db, "outlet.updated", at.replace(minute=i + 1), admin, target_type=ttype, target_id=str(tid),
               details={"outlet_id": w.outlet.id, "region_id": w.outlet.region_id, "session_id": w.session.id})
    with count_queries() as every_kind:
        html = client.get("/admin/audit?end=2018-04-30").get_data(as_text=True)
    assert len(_rows(html)) == 10
    assert every_kind.count == one_kind.count, every_kind.statements


def _recorded() -> tuple[set[str], set[str], set[str]]:
    """The actions, the detail keys and the ``**details`` expressions passed to ``record`` in lms/."""
    import ast
    from pathlib import Path

    actions: set[str] = set()
    keys: set[str] = set()
    spread: set[str] = set()
    for path in (Path(__file__).resolve().parent.parent / "lms").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "record"
                    and node.args):
                continue
            for sub in ast.walk(node.args[0]):
                if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
                    actions.add(sub.value)
                elif isinstance(sub, ast.JoinedStr):
                    actions.add(ast.unparse(sub))
            for kw in node.keywords:
                if kw.arg is None:
                    spread.add(ast.unparse(kw.value))
                elif kw.arg not in ("actor", "target", "target_type", "target_id", "ip"):
                    keys.add(kw.arg)
    return actions, keys, spread


def test_every_action_the_code_records_has_a_readable_name():
    from lms.programme.models import EvidenceStatus

    actions, _keys, _spread = _recorded()
    # the one computed name: the review's outcome (only these two statuses are recorded)
    assert {a for a in actions if a.startswith("f'")} == {"f'evidence.{ev.status.value}'"}
    assert {"verified", "returned"} <= {s.value for s in EvidenceStatus}
    actions = {a for a in actions if not a.startswith("f'") and a != "evidence."} | {"evidence.verified",
                                                                                     "evidence.returned"}
    missing = sorted(a for a in actions if a not in browse.ACTION_LABELS)
    assert not missing, f"add these to lms/audit/browse.py ACTION_LABELS: {missing}"


def test_every_detail_key_the_code_records_has_a_label():
    from lms.audit.present import DETAIL_LABELS

    _actions, keys, spread = _recorded()
    # details passed as **mapping: their keys, listed here (a new one makes this test fail until listed)
    spread_keys = {
        "f.audit_details()": {"actor_email", "filter_action", "start", "end"},  # audit export filters
        "details": {"cohort_id", "region_id", "kecamatan_id", "start", "end", "status",  # exports
                    "known_device", "passed_account_lock"},  # sign-in
        "{k: v for k, v in counts.items() if k not in ('errors', 'error_rows')}": {
            "rows", "new_outlets", "updated_outlets", "unchanged", "new_managers", "updated_managers",
            "manager_changes", "enrolments"},  # import
    }
    assert spread == set(spread_keys), spread
    missing = sorted(k for k in keys.union(*spread_keys.values()) if k not in DETAIL_LABELS)
    assert not missing, f"add these to lms/audit/present.py DETAIL_LABELS: {missing}"
