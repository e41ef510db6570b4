"""Breach support (lms/privacy/breach.py, UU PDP Pasal 46): the affected people of a window and set of
categories, the letter with what the law asks, sending it once through the real notification
channels, the 3×24-hour deadline, and bounded queries on the admin's lists."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import transaction, utcnow
from lms.extensions import db
from lms.i18n import WIB
from lms.notifications import dispatch
from lms.notifications.models import Delivery, DeliveryStatus, Notification, OutboxEvent
from lms.people.models import User
from lms.permissions import SYSTEM
from lms.privacy import breach
from lms.privacy.models import BreachNotice

#: the breach's window: 1 March 2024, 08.00–20.00 WIB
START = datetime(2024, 3, 1, 8, 0, tzinfo=WIB).astimezone(timezone.utc)
END = datetime(2024, 3, 1, 20, 0, tzinfo=WIB).astimezone(timezone.utc)
INSIDE = START + timedelta(hours=2)
BEFORE = START - timedelta(days=30)
AFTER = END + timedelta(days=30)


def _stamp(model, id_, **values):  # type: ignore[no-untyped-def]
    with transaction():
        db.session.execute(sa.update(model).where(model.id == id_).values(**values))


def _person(factory, name, when, **kw):  # type: ignore[no-untyped-def]
    """A trainee whose account row was created and last changed at ``when``."""
    u = factory.user("trainee", full_name=name, **kw)
    _stamp(User, u.id, created_at=when, updated_at=when)
    return u


def _input(categories, **kw):  # type: ignore[no-untyped-def]
    values = dict(discovered_at=END + timedelta(hours=3), window_start=START, window_end=END,
                  categories=categories, description="Daftar peserta terbuka untuk umum karena salah atur berbagi.",
                  measures="Tautan berbagi ditutup pada hari yang sama dan kata sandi petugas diganti.")
    values.update(kw)
    return breach.BreachInput(**values)


def _names(notice):  # type: ignore[no-untyped-def]
    return {u.full_name for u in db.session.scalars(sa.select(User).where(User.id.in_(breach.recipient_ids(notice))))}


def test_the_affected_people_are_those_with_rows_in_the_window_and_categories(app, factory):
    from lms.files import PNG, CheckedUpload, store
    from lms.programme.models import StoredFile
    from lms.visits.models import VisitPhoto
    from tests.factories import tiny_png

    _person(factory, "Ani Di Dalam", INSIDE)
    before = _person(factory, "Budi Sebelum", BEFORE)
    _person(factory, "Citra Sesudah", AFTER)
    erased = _person(factory, "Dewi Terhapus", INSIDE)
    _stamp(User, erased.id, erased_at=utcnow())
    # Budi's outlet got a visit photo inside the window (his account row did not change then)
    mentor = factory.user("mentor")
    _stamp(User, mentor.id, created_at=BEFORE, updated_at=BEFORE)
    visit = factory.visit(mentor, before.managed_outlet, created_at=BEFORE)
    with transaction():
        photo = VisitPhoto(visit_id=visit.id, file=store(CheckedUpload(tiny_png(), PNG, "foto.png"), mentor.id))
        db.session.add(photo)
    _stamp(StoredFile, photo.file_id, created_at=INSIDE)

    identity = breach.record_breach(SYSTEM, _input(["identity"]))
    assert _names(identity) == {"Ani Di Dalam"}
    assert identity.affected == 1
    photos = breach.record_breach(SYSTEM, _input(["visit_photos"]))
    assert _names(photos) == {"Budi Sebelum"}
    both = breach.record_breach(SYSTEM, _input(["visit_photos", "identity", "visits"]))
    assert _names(both) == {"Ani Di Dalam", "Budi Sebelum"}  # the visit itself was written before the window
    assert breach.recipient_ids(both) == sorted(breach.recipient_ids(both),
                                                key=lambda i: db.session.get(User, i).full_name)
    # a window that holds nobody's rows
    empty = breach.record_breach(SYSTEM, _input(["identity"], window_start=AFTER + timedelta(days=1),
                                                window_end=AFTER + timedelta(days=2),
                                                discovered_at=AFTER + timedelta(days=3)))
    assert empty.affected == 0 and breach.recipient_ids(empty) == []


def test_evidence_categories_reach_the_outlet_manager(app, factory):
    from lms.files import PDF, CheckedUpload
    from lms.programme import services as programme
    from lms.programme.models import Evidence, StoredFile
    from tests.factories import tiny_pdf

    manager = _person(factory, "Eka Pengelola", BEFORE)
    _person(factory, "Fajar Lain", BEFORE)
    ev = programme.save_licence(manager, manager.managed_outlet,
                                programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
                                CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    _stamp(StoredFile, ev.file_id, created_at=BEFORE)
    _stamp(Evidence, ev.id, created_at=INSIDE, updated_at=INSIDE)
    _stamp(User, manager.id, created_at=BEFORE, updated_at=BEFORE)
    assert _names(breach.record_breach(SYSTEM, _input(["licence"]))) == {"Eka Pengelola"}
    assert _names(breach.record_breach(SYSTEM, _input(["financial_report"]))) == set()


def test_the_letter_says_what_pasal_46_asks(app, factory):
    _person(factory, "Ani Di Dalam", INSIDE)
    app.config.update(DPO_CONTACT="Ibu Rina, PPDP Dinsos DKI (ppdp@contoh.go.id, 021-555-0101)")
    notice = breach.record_breach(SYSTEM, _input(["identity", "financial_report"]))
    letter = notice.letter
    # the personal data disclosed
    assert "nama, alamat e-mail, nomor HP" in letter and "omzet" in letter
    # when and how
    assert "1 Maret 2024 08.00 WIB" in letter and "1 Maret 2024 20.00 WIB" in letter
    assert "1 Maret 2024 23.00 WIB" in letter  # when it was found
    assert "salah atur berbagi" in letter
    # the efforts to handle and recover
    assert "Tautan berbagi ditutup" in letter
    # the controller, the DPO and what the person can do
    assert "Dinas Sosial Provinsi DKI Jakarta" in letter and "ppdp@contoh.go.id" in letter
    assert "Pasal 46" in letter and "Data saya" in letter and "kata sandi" in letter


def test_the_letter_is_indonesian_whatever_the_admins_language(app, factory, client, login_as):
    from lms.i18n import LANG_COOKIE

    _person(factory, "Ani Di Dalam", INSIDE)
    login_as("admin")
    client.set_cookie(LANG_COOKIE, "en")
    resp = client.form_post("/admin/privasi/kebocoran/baru", _form(["identity"]))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    notice = db.session.scalars(sa.select(BreachNotice)).one()
    assert "Data pribadi yang terungkap" in notice.letter and "Maret 2024" in notice.letter


def _form(categories, **kw):  # type: ignore[no-untyped-def]
    data = {"discovered_at": "2024-03-01T23:00", "window_start": "2024-03-01T08:00", "window_end": "2024-03-01T20:00",
            "categories": categories, "description": "Daftar peserta terbuka untuk umum.",
            "measures": "Tautan ditutup."}
    data.update(kw)
    return data


def test_recording_through_the_page_reads_wib_and_audits(app, factory, client, login_as):
    ani = _person(factory, "Ani Di Dalam", INSIDE)
    admin = login_as("admin")
    assert client.get("/admin/privasi/kebocoran/baru").status_code == 200
    resp = client.form_post("/admin/privasi/kebocoran/baru", _form(["identity"]))
    assert resp.status_code == 302
    notice = db.session.scalars(sa.select(BreachNotice)).one()
    assert resp.headers["Location"].endswith(f"/admin/privasi/kebocoran/{notice.id}")
    assert (notice.window_start, notice.window_end) == (START, END)  # typed in WIB, stored in UTC
    assert notice.created_by_id == admin.id and breach.recipient_ids(notice) == [ani.id]
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.breach_recorded")).one()
    assert entry.actor_id == admin.id and entry.target_id == str(notice.id)
    assert entry.details == {"categories": ["identity"], "affected": 1}
    html = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "Ani Di Dalam" in html and ani.email in html and "Surat pemberitahuan" in html
    assert "Kirim pemberitahuan" in html


def test_bad_input_is_a_message_on_the_form_not_a_500(app, factory, client, login_as):
    login_as("admin")
    cases = [
        (_form([]), "Pilih paling sedikit satu kategori"),
        (_form(["identity"], window_end="2024-03-01T07:00"), "sesudah awalnya"),
        (_form(["identity"], discovered_at="2024-02-01T07:00"), "tidak boleh sebelum awal rentang"),
        (_form(["identity"], window_end=(datetime.now(WIB) + timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")), ""),
        (_form(["identity", "nonsense"]), ""),
        (_form(["identity"], description="  "), ""),
        (_form(["identity"], measures="x" * (breach.TEXT_MAX + 1)), ""),
        (_form(["identity"], discovered_at="kemarin"), ""),
    ]
    for data, message in cases:
        resp = client.form_post("/admin/privasi/kebocoran/baru", data)
        assert resp.status_code == 422, (data, resp.status_code)
        assert message in resp.get_data(as_text=True), data
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BreachNotice)) == 0


def test_sending_goes_through_the_real_channels_once(app, factory, channels, client, login_as):
    from lms.notifications import services as notifications

    smtp, whatsapp = channels
    ani = _person(factory, "Ani Di Dalam", INSIDE, phone="+6281234500301")
    budi = _person(factory, "Budi Juga", INSIDE, phone="+6281234500302")
    with transaction():
        notifications.record_whatsapp_opt_in(budi, source="test")
    notice = breach.record_breach(SYSTEM, _input(["identity"]))
    admin = login_as("admin")
    # the button's first POST is the confirm page; nothing is sent yet
    resp = client.form_post(f"/admin/privasi/kebocoran/{notice.id}/kirim")
    assert resp.status_code == 200 and 'name="confirmed"' in resp.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 0
    resp = client.form_post(f"/admin/privasi/kebocoran/{notice.id}/kirim", {"confirmed": "1"})
    assert resp.status_code == 302
    db.session.refresh(notice)
    assert notice.sent_at is not None
    assert smtp.messages == []  # not sent in the request: the worker sends
    dispatch.run_once()
    assert sorted(m["To"].addresses[0].addr_spec for m in smtp.messages) == sorted([ani.email, budi.email])
    body = smtp.messages[0].get_body(("plain",)).get_content()
    assert "Data pribadi yang terungkap" in body and "Pasal 46" in body
    assert [m["to"] for m in whatsapp.received] == ["6281234500302"]  # only who opted in
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification).where(
        Notification.kind == "privacy.breach_notice")) == 2
    deliveries = db.session.scalars(sa.select(Delivery)).all()
    assert len(deliveries) == 3 and all(d.urgent and d.status is DeliveryStatus.SENT for d in deliveries)
    # again, through the page and the service: nothing more is sent
    resp = client.form_post(f"/admin/privasi/kebocoran/{notice.id}/kirim", {"confirmed": "1"})
    assert resp.status_code == 302
    assert breach.send_notice(admin, notice) is False
    dispatch.run_once()
    assert len(smtp.messages) == 2 and len(whatsapp.received) == 1
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OutboxEvent)) == 1
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "privacy.breach_notified")).all()
    assert len(entries) == 1 and entries[0].details == {"recipients": 2} and entries[0].actor_id == admin.id


def test_the_deadline_is_3x24_hours_from_discovery(app, factory, client, login_as):
    login_as("admin")
    now = utcnow()
    fresh = breach.record_breach(SYSTEM, _input(["identity"], discovered_at=now - timedelta(hours=10),
                                                window_start=now - timedelta(days=2), window_end=now - timedelta(days=1)))
    late = breach.record_breach(SYSTEM, _input(["identity"], discovered_at=now - timedelta(hours=80, minutes=30),
                                               window_start=now - timedelta(days=5), window_end=now - timedelta(days=4)))
    assert breach.deadline(fresh, now).state == "open" and breach.deadline(fresh, now).hours == 62
    assert breach.deadline(late, now).state == "overdue" and breach.deadline(late, now).hours == 9
    assert "Sisa 62 jam" in client.get(f"/admin/privasi/kebocoran/{fresh.id}").get_data(as_text=True)
    assert "Terlambat 9 jam" in client.get(f"/admin/privasi/kebocoran/{late.id}").get_data(as_text=True)
    listing = client.get("/admin/privasi/kebocoran").get_data(as_text=True)
    assert "Sisa 62 jam" in listing and "Terlambat 9 jam" in listing
    assert breach.send_notice(SYSTEM, late)
    db.session.refresh(late)
    assert breach.deadline(late).state == "sent" and breach.deadline(late).late
    assert "Terkirim, terlambat" in client.get(f"/admin/privasi/kebocoran/{late.id}").get_data(as_text=True)


def test_only_admins_record_and_send(app, factory):
    from lms.errors import NotAllowed

    coordinator = factory.user("coordinator", region=None)
    try:
        breach.record_breach(coordinator, _input(["identity"]))
    except NotAllowed:
        pass
    else:
        raise AssertionError("a coordinator recorded a breach")
    notice = breach.record_breach(SYSTEM, _input(["identity"]))
    try:
        breach.send_notice(coordinator, notice)
    except NotAllowed:
        pass
    else:
        raise AssertionError("a coordinator sent a breach notice")
    db.session.refresh(notice)
    assert notice.sent_at is None


def test_the_lists_cost_the_same_queries_with_more_people(app, factory, client, login_as, count_queries):
    login_as("admin")

    def grow(n):  # type: ignore[no-untyped-def]
        for i in range(n):
            _person(factory, f"Orang {i:03d}", INSIDE)
        return breach.record_breach(SYSTEM, _input(["identity", "sign_ins", "messages"]))

    def measure(url: str) -> int:
        with count_queries() as c:
            assert client.get(url).status_code == 200
        return c.count

    small = grow(2)
    few_detail = measure(f"/admin/privasi/kebocoran/{small.id}")
    few_list = measure("/admin/privasi/kebocoran")
    big = grow(15)
    for _ in range(3):
        breach.record_breach(SYSTEM, _input(["identity"]))
    assert big.affected == 17
    assert measure(f"/admin/privasi/kebocoran/{big.id}") == few_detail
    assert measure("/admin/privasi/kebocoran") == few_list


def test_the_affected_list_is_paged(app, factory, client, login_as):
    from lms.privacy import admin_views

    login_as("admin")
    for i in range(5):
        _person(factory, f"Orang {i}", INSIDE)
    notice = breach.record_breach(SYSTEM, _input(["identity"]))
    app_size = admin_views.PAGE_SIZE
    admin_views.PAGE_SIZE = 2
    try:
        page2 = client.get(f"/admin/privasi/kebocoran/{notice.id}?page=2").get_data(as_text=True)
        page9 = client.get(f"/admin/privasi/kebocoran/{notice.id}?page=9")
    finally:
        admin_views.PAGE_SIZE = app_size
    assert "Orang 2" in page2 and "Orang 3" in page2 and "Orang 1" not in page2 and "Orang 4" not in page2
    assert "Halaman 2 dari 3" in page2
    assert page9.status_code == 200
    assert client.get("/admin/privasi/kebocoran/99999").status_code == 404
    assert client.get("/admin/privasi/kebocoran/abc").status_code == 404
