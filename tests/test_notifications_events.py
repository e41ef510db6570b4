"""Each domain event, announced by the real service, reaches the right people (and nobody else)
on the right channels. Messages go to a local SMTP server; the in-app list is read back."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.db import transaction
from lms.extensions import db
from lms.notifications import dispatch, events
from lms.notifications.models import Delivery, EventStatus, Notification, OutboxEvent
from lms.permissions import SYSTEM
from tests.factories import tiny_pdf


@pytest.fixture
def mail(app, smtp_server):  # type: ignore[no-untyped-def]
    app.config.update(smtp_server.config())
    return smtp_server


def notes_of(user) -> list[Notification]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(sa.select(Notification).where(Notification.user_id == user.id)
                                   .order_by(Notification.id)))


def mail_to(server, user) -> list:  # type: ignore[no-untyped-def]
    return [m for m in server.messages if m["To"].addresses[0].addr_spec == user.email]


def names() -> list[str]:
    return list(db.session.scalars(sa.select(OutboxEvent.name).order_by(OutboxEvent.id)))


def quiet_world(factory):  # type: ignore[no-untyped-def]
    """A 3171 outlet with its manager enrolled, its mentor, another mentor and another trainee: made quietly."""
    with events.muted():
        owner = factory.user("trainee", region="3171", phone="+6281234560001", full_name="Siti Pemilik")
        other = factory.user("trainee", region="3171", phone="+6281234560002")
        mentor = factory.user("mentor", region="3171")
        stranger = factory.user("mentor", region="3171")
        factory.assign_mentor(mentor, owner.managed_outlet)
        cohort = factory.cohort(regions=("3171",))
        enrolment = factory.enrolment(cohort=cohort, trainee=owner)
    return owner, other, mentor, stranger, cohort, enrolment


def _licence(owner):  # type: ignore[no-untyped-def]
    from lms.files import PDF, CheckedUpload
    from lms.programme import services as programme

    return programme.save_licence(owner, owner.managed_outlet,
                                  programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
                                  CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))


def test_submitted_evidence_tells_the_outlets_mentor_only(app, factory, mail):
    owner, other, mentor, stranger, _c, _e = quiet_world(factory)
    ev = _licence(owner)
    assert "evidence.submitted" in names()
    dispatch.run_once()
    [n] = notes_of(mentor)
    assert n.url == f"/evidence/{ev.id}" and owner.managed_outlet.name in n.title
    assert notes_of(stranger) == [] and notes_of(owner) == [] and notes_of(other) == []
    assert mail.messages == []  # in the app only: mentors get a weekly digest by e-mail


def test_returned_evidence_reaches_the_manager_with_the_comment(app, factory, mail):
    from lms.programme import services as programme

    owner, other, mentor, _s, _c, _e = quiet_world(factory)
    ev = _licence(owner)
    programme.review(mentor, ev, "return", "Foto NIB buram, mohon unggah ulang")
    dispatch.run_once()
    [n] = [n for n in notes_of(owner)]
    assert n.kind == "evidence.returned" and "Foto NIB buram" in n.body and n.url == f"/evidence/{ev.id}"
    [m] = mail_to(mail, owner)
    assert "Perlu diperbaiki" in m["Subject"] and "Foto NIB buram" in m.get_body(("plain",)).get_content()
    assert notes_of(other) == [] and mail_to(mail, other) == []


def test_verified_evidence_and_completed_stages_reach_the_manager(app, factory, mail):
    from lms.programme import services as programme

    owner, _o, mentor, _s, _c, enrolment = quiet_world(factory)
    with events.muted():
        factory.attended(enrolment)
        factory.visited(enrolment, mentor, times=6)
    ev = _licence(owner)
    coordinator = factory.user("coordinator", region="3171")
    programme.review(coordinator, ev, "verify")
    dispatch.run_once()
    kinds = [n.kind for n in notes_of(owner)]
    assert "evidence.verified" in kinds
    stage_notes = [n for n in notes_of(owner) if n.kind == "stage.completed"]
    assert stage_notes and any("Perizinan" in n.title for n in stage_notes)


def test_a_session_change_tells_its_registrants_with_the_calendar(app, factory, mail):
    from lms.sessions import services as sessions

    owner, other, _m, _s, cohort, _e = quiet_world(factory)
    coordinator = factory.user("coordinator", region="3171")
    with events.muted():
        s = factory.training_session(cohort, "3171", capacity=1)
        factory.seat(s, owner)
        factory.seat(s, other, status="waitlisted")
        gone = factory.user("trainee", region="3171")
        factory.seat(s, gone, status="cancelled")
    data = sessions.SessionInput(
        title=s.title, stage_key=s.stage_key, cohort_id=s.cohort_id, region_id=s.region_id,
        venue_name="Aula Baru Kecamatan", venue_address=s.venue_address,
        starts_at=s.starts_at + timedelta(hours=1), ends_at=s.ends_at + timedelta(hours=1), capacity=1,
        certificate_kind=s.certificate_kind)
    sessions.update_session(coordinator, s, data)
    dispatch.run_once()
    for person in (owner, other):
        [n] = notes_of(person)
        assert n.kind == "session.changed" and "Aula Baru Kecamatan" in n.body
        [m] = mail_to(mail, person)
        ics = [p for p in m.iter_attachments() if p.get_filename() == "bimtek.ics"]
        assert ics and "Aula Baru Kecamatan" in ics[0].get_content()
    assert notes_of(gone) == [] and mail_to(mail, gone) == []


def test_cancelling_a_session_tells_everyone_who_held_a_place(app, factory, mail):
    from lms.sessions import services as sessions

    owner, other, _m, _s, cohort, _e = quiet_world(factory)
    with events.muted():
        s = factory.training_session(cohort, "3171")
        factory.seat(s, owner)
    sessions.cancel_session(factory.user("coordinator", region="3171"), s)
    dispatch.run_once()
    [n] = notes_of(owner)
    assert n.kind == "session.cancelled" and notes_of(other) == []
    assert "dibatalkan" in mail_to(mail, owner)[0]["Subject"]


def test_registration_waitlist_and_promotion(app, factory, mail):
    from lms.sessions import services as sessions

    owner, other, _m, _s, cohort, _e = quiet_world(factory)
    with events.muted():
        factory.enrolment(cohort=cohort, trainee=other)
        s = factory.training_session(cohort, "3171", capacity=1)
    sessions.register(owner, s)
    sessions.register(other, s)
    dispatch.run_once()
    assert [n.kind for n in notes_of(owner)] == ["registration.confirmed"]
    assert [n.kind for n in notes_of(other)] == ["registration.waitlisted"]
    confirmed = mail_to(mail, owner)[0]
    assert any(p.get_filename() == "bimtek.ics" for p in confirmed.iter_attachments())
    sessions.unregister(owner, s)
    dispatch.run_once()
    assert [n.kind for n in notes_of(owner)][-1] == "registration.cancelled"
    assert [n.kind for n in notes_of(other)][-1] == "registration.promoted"
    promoted = mail_to(mail, other)[-1]
    assert "Dapat tempat" in promoted["Subject"]


def test_attendance_and_visits_reach_the_manager_in_the_app(app, factory, mail):
    from lms.sessions import services as sessions
    from lms.visits import services as visits

    owner, other, mentor, _s, cohort, _e = quiet_world(factory)
    with events.muted():
        s = factory.training_session(cohort, "3171", starts_in=timedelta(minutes=-30), hours=3)
        reg = factory.seat(s, owner)
        reg2 = factory.seat(s, other)
    sessions.save_attendance(factory.user("coordinator", region="3171"), s, {reg.id: "present", reg2.id: "absent"})
    dispatch.run_once()
    kinds = [n.kind for n in notes_of(owner)]
    assert "attendance.recorded" in kinds and notes_of(other) == []
    from lms.db import utcnow
    from lms.i18n import to_wib

    visit, created = visits.log_visit(mentor, owner.managed_outlet, visits.VisitInput(
        visited_at=to_wib(utcnow() - timedelta(hours=1)).replace(tzinfo=None), duration_minutes=45,
        kind="field_visit", stages=["pendampingan"], observations="Stok beras cukup.",
        staff_notes="RAHASIA: catatan internal", client_key="c" * 32))
    assert created
    dispatch.run_once()
    [n] = [n for n in notes_of(owner) if n.kind == "visit.logged"]
    assert mentor.full_name in n.body and "RAHASIA" not in n.body + n.title
    # attendance and visits stay in the app (the only e-mail is the pelatihan step completed)
    assert [m["Subject"].split(":")[0] for m in mail.messages] == ["Tahap selesai"]


def test_certificates_issued_and_revoked(app, factory, mail):
    from lms.certification import services as certs

    owner, other, _m, _s, cohort, _e = quiet_world(factory)
    with events.muted():
        s = factory.session(region="3171", cohort=cohort)
        factory.register(s, owner, "present")
    cert = factory.certificate(session=s, holder=owner)
    certs.revoke(factory.user("coordinator", region="3171"), cert, "Salah nama")
    dispatch.run_once()
    assert [n.kind for n in notes_of(owner)] == ["certificate.issued", "certificate.revoked"]
    assert notes_of(other) == []
    assert "Salah nama" in mail_to(mail, owner)[-1].get_body(("plain",)).get_content()


def test_set_up_links_go_to_the_person_only_and_leave_no_trace(app, factory, mail):
    from lms.people import services as people
    from lms.people.models import Role

    user, token = people.create_user(SYSTEM, people.UserInput(
        email="baru@uji.example", full_name="Orang Baru", role=Role.MENTOR,
        region_id=factory.region("3171").id))
    dispatch.run_once()
    [m] = mail_to(mail, user)
    assert f"http://127.0.0.1:5000/set-password/{token}" in m.get_body(("plain",)).get_content()
    assert notes_of(user) == []
    assert db.session.scalars(sa.select(OutboxEvent)).one().secret is None
    admin = factory.user("admin")
    token2 = people.reset_password(admin, user)
    dispatch.run_once()
    assert f"/set-password/{token2}" in mail_to(mail, user)[-1].get_body(("plain",)).get_content()


def test_a_new_session_tells_the_managers_at_its_step(app, factory, mail):
    from lms.sessions import services as sessions

    owner, other, _m, _s, cohort, enrolment = quiet_world(factory)
    with events.muted():
        factory.enrolment(cohort=cohort, trainee=other)
        factory.attended(enrolment)  # the owner moved on past pelatihan
    coordinator = factory.user("coordinator", region="3171")
    start = (date.today() + timedelta(days=10))
    from datetime import datetime

    data = sessions.SessionInput(title="Bimtek Pelatihan Baru", stage_key="pelatihan", cohort_id=cohort.id,
                                 region_id=factory.region("3171").id, venue_name="Aula", venue_address="Jl. A",
                                 starts_at=datetime(start.year, start.month, start.day, 9),
                                 ends_at=datetime(start.year, start.month, start.day, 15), capacity=30)
    sessions.create_sessions(coordinator, data)
    dispatch.run_once()
    assert [n.kind for n in notes_of(other)] == ["session.created"]
    assert notes_of(owner) == []  # not at that step any more
    assert mail.messages == []


def test_events_are_dispatched_once_and_marked(app, factory, mail):
    owner, *_ = quiet_world(factory)
    _licence(owner)
    dispatch.run_once()
    dispatch.run_once()
    assert all(e.status is EventStatus.DISPATCHED for e in db.session.scalars(sa.select(OutboxEvent)))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Delivery)) == len(mail.messages)


# --- coordinators' broadcasts -------------------------------------------------------------------

def test_broadcast_previews_the_recipients_then_sends_on_confirmation(app, factory, mail, client, login_as):
    from lms.audit.models import AuditEntry
    from lms.notifications.models import Broadcast

    owner, other, _m, _s, cohort, _e = quiet_world(factory)
    with events.muted():
        factory.enrolment(cohort=cohort, trainee=other)
        outsider = factory.user("trainee", region="3172")
    coordinator = login_as("coordinator", region="3171")
    page = client.get("/broadcasts/new").get_data(as_text=True)
    assert f'value="cohort:{cohort.id}"' in page
    form = {"target": f"cohort:{cohort.id}", "subject": "Bimtek ditunda",
            "body": "Bimtek minggu ini ditunda. Jadwal baru menyusul.", "preview": "1"}
    resp = client.form_post("/broadcasts/new", form)
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "2 penerima" in text and 'name="confirmed"' in text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Broadcast)) == 0  # nothing sent yet
    # "send" without the confirmation shows the preview again and sends nothing
    client.form_post("/broadcasts/new", {**form, "preview": "", "send": "1"})
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Broadcast)) == 0
    resp = client.form_post("/broadcasts/new", {**form, "preview": "", "send": "1", "confirmed": "1"})
    assert resp.status_code == 302
    dispatch.run_once()
    for person in (owner, other):
        [n] = notes_of(person)
        assert n.title == "Bimtek ditunda" and coordinator.full_name in n.body
        assert mail_to(mail, person)
    assert notes_of(outsider) == []
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "broadcast.sent")).one()
    assert entry.actor_id == coordinator.id and entry.details["recipients"] == 2


def test_broadcasts_stay_in_the_coordinators_region_and_are_throttled(app, factory, client, login_as):
    from lms.notifications import services

    owner, _o, _m, _s, cohort, _e = quiet_world(factory)
    with events.muted():
        s = factory.training_session(cohort, "3171")
        factory.seat(s, owner)
    other_region = factory.user("coordinator", region="3172")
    from lms.errors import Invalid, Throttled

    with pytest.raises(Invalid):
        services.send_broadcast(other_region, "session", s.id, "Hai", "Pesan")
    with pytest.raises(Invalid):
        services.send_broadcast(other_region, "region", factory.region("3171").id, "Hai", "Pesan")
    login_as(other_region)
    resp = client.form_post("/broadcasts/new", {"target": f"session:{s.id}", "subject": "Hai", "body": "Pesan",
                                                "send": "1", "confirmed": "1"})
    assert resp.status_code == 422
    coordinator = factory.user("coordinator", region="3171")
    for i in range(services.BROADCASTS_PER_HOUR):
        services.send_broadcast(coordinator, "session", s.id, f"Pesan {i}", "Isi")
    with pytest.raises(Throttled):
        services.send_broadcast(coordinator, "session", s.id, "Satu lagi", "Isi")
    trainee = factory.user("trainee")
    from lms.errors import NotAllowed

    with pytest.raises(NotAllowed):
        services.preview_broadcast(trainee, "session", s.id)


# --- import, reminders and digests ----------------------------------------------------------------

def test_an_import_tells_the_coordinator_and_sends_each_new_manager_their_link(app, factory, mail):
    from lms.imports import services as imports
    from lms.people.models import User
    from tests.test_import import HEADER, csv_bytes, row

    coordinator = factory.user("coordinator", region="3171")
    data = csv_bytes([HEADER, row(1, code="EW-N0001", email="ani.baru@uji.example", phone="081234500771")])
    result = imports.apply_import(coordinator, data, "baru.csv")
    dispatch.run_once()
    [n] = notes_of(coordinator)
    assert n.kind == "import.finished" and "1 baru" in n.title
    manager = db.session.scalars(sa.select(User).where(User.email == "ani.baru@uji.example")).one()
    [m] = mail_to(mail, manager)
    token = result.new_managers[0].token
    assert f"/set-password/{token}" in m.get_body(("plain",)).get_content()
    assert notes_of(manager) == []


def test_reminders_for_reports_action_items_and_monday_digests(app, factory, mail):
    from datetime import datetime, timezone

    from lms.i18n import WIB
    from lms.notifications import reminders
    from lms.programme.models import Enrolment

    owner, _other, mentor, _s, _c, enrolment = quiet_world(factory)
    coordinator = factory.user("coordinator", region="3171")
    monday = datetime(2026, 12, 7, 8, 0, tzinfo=WIB)  # a Monday, 08:00 WIB
    with events.muted():
        factory.visit(mentor, owner.managed_outlet, visited_at=datetime(2026, 9, 1, 2, tzinfo=timezone.utc),
                      actions=(("Pasang papan harga", "Pengelola", monday.date()),
                               ("Cek stok beras", "Pendamping", date(2026, 11, 20))))
        _licence(owner)  # waiting in the coordinator's queue
    with transaction():
        e = db.session.get(Enrolment, enrolment.id)
        e.current_stage = "pelaporan_keuangan"  # as if at the reporting step, with no report for November
    first = reminders.run_all(monday.astimezone(timezone.utc))
    again = reminders.run_all(monday.astimezone(timezone.utc))
    assert first["reports"] == 1 and first["digests"] == 2 and first["action_items"] == 1
    assert again == {"sessions": 0, "reports": 0, "digests": 0, "action_items": 0}
    dispatch.run_once(monday.astimezone(timezone.utc))
    owner_kinds = sorted(n.kind for n in notes_of(owner))
    assert owner_kinds == ["action_item.due", "reminder.report_due"]
    report_note = [n for n in notes_of(owner) if n.kind == "reminder.report_due"][0]
    assert "November 2026" in report_note.title
    [digest] = [n for n in notes_of(mentor) if n.kind == "reminder.mentor_digest"]
    assert "1 outlet" in digest.title and "1 tindak lanjut" in digest.title and owner.managed_outlet.name in digest.body
    [summary] = [n for n in notes_of(coordinator) if n.kind == "reminder.review_summary"]
    assert "1 menunggu" in summary.title
    # not a Monday: no digests
    assert reminders.run_all(datetime(2026, 12, 8, 8, tzinfo=WIB).astimezone(timezone.utc))["digests"] == 0
