"""Test data factories: valid objects with sensible defaults, written straight to the database."""
from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa

from lms.db import transaction

from lms.people.models import Role, User
from lms.people.passwords import hash_password
from lms.places.models import Kecamatan, Outlet, OutletManagerTerm, Region

_seq = itertools.count(1)


class BaseFactory:
    def __init__(self, db: Any) -> None:
        self.db = db

    def region(self, code: str = "3171") -> Region:
        region = self.db.session.scalar(sa.select(Region).where(Region.code == code))
        assert region is not None, code
        return region

    def kecamatan(self, region_code: str = "3171") -> Kecamatan:
        kec = self.db.session.scalar(sa.select(Kecamatan).join(Region).where(Region.code == region_code)
                                     .order_by(Kecamatan.code).limit(1))
        assert kec is not None
        return kec

    def outlet(self, region: str = "3171", **kw: Any) -> Outlet:
        n = next(_seq)
        kec = kw.pop("kecamatan", None) or self.kecamatan(region)
        outlet = Outlet(code=kw.pop("code", f"EW-{region}-{n:04d}"), name=kw.pop("name", f"e-Warong Uji {n}"),
                        kube_name=kw.pop("kube_name", f"KUBE Uji {n}"), address=kw.pop("address", "Jl. Uji No. 1"),
                        kelurahan=kw.pop("kelurahan", "Kelurahan Uji"), kecamatan_id=kec.id, region_id=kec.region_id,
                        phone=kw.pop("phone", "+6281234567890"), active=kw.pop("active", True), **kw)
        with transaction():
            self.db.session.add(outlet)
        return outlet

    def user(self, role: str | Role = "trainee", *, region: str | None = "3171", outlet: Outlet | None = None,
             password: str | None = None, enrol_2fa: bool = True, accepted_notice: bool = True, **kw: Any) -> User:
        """A user; coordinators and admins come with a confirmed authenticator (the secret:
        ``totp_secret_for(email)``) unless ``enrol_2fa=False``. The user has accepted the privacy
        notice in force (``users.notice_version``) unless ``accepted_notice=False``: then the sign-in
        gate sends them to the consent page first (tests/test_privacy_consent.py)."""
        from flask import current_app

        from tests.conftest import TEST_PASSWORD

        kw.setdefault("notice_version", current_app.config["PRIVACY_NOTICE_VERSION"] if accepted_notice else None)

        role = Role(role)
        n = next(_seq)
        region_obj = self.region(region) if region else None
        if role is Role.TRAINEE and outlet is None and kw.pop("with_outlet", True):
            outlet = self.outlet(region or "3171")
        if role is Role.ADMIN:
            region_obj = None
        user = User(email=kw.pop("email", f"{role.value}{n}@uji.example"), full_name=kw.pop("full_name", f"Pengguna Uji {n}"),
                    role=role, region_id=(outlet.region_id if outlet else (region_obj.id if region_obj else None)),
                    password_hash=_password_hash(password or TEST_PASSWORD), phone=kw.pop("phone", None),
                    active=kw.pop("active", True), **kw)
        with transaction():
            self.db.session.add(user)
            self.db.session.flush()
            if outlet is not None:
                outlet.manager_id = user.id
                self.db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=user.id))
            if role in (Role.COORDINATOR, Role.ADMIN) and enrol_2fa:
                enrol_totp(self.db, user)
        return user


def _password_hash(password: str) -> str:
    """The hash of a factory-made user's password: made once per password and hashing method (the scrypt
    of every user of every test was a tenth of the suite's factory time); the hash still verifies as usual."""
    from flask import current_app

    key = (current_app.config["PASSWORD_HASH_METHOD"], password)
    if key not in _HASHES:
        _HASHES[key] = hash_password(password)
    return _HASHES[key]


_HASHES: dict[tuple[str, str], str] = {}


# --- the second factor of staff ---------------------------------------------------------

def totp_secret_for(email: str) -> str:
    """The test authenticator's secret of a factory-made coordinator or admin: derived from the e-mail."""
    import base64
    import hashlib

    return base64.b32encode(hashlib.sha256(f"totp:{email}".encode()).digest()[:20]).decode()


def enrol_totp(db: Any, user: User) -> None:
    """Give ``user`` a confirmed authenticator with ``totp_secret_for(user.email)`` (inside a transaction)."""
    from lms.db import utcnow
    from lms.people.security_models import TotpFactor
    from lms.people.twofactor import seal

    db.session.add(TotpFactor(user_id=user.id, secret_sealed=seal(totp_secret_for(user.email)), confirmed_at=utcnow()))


def totp_code(email: str) -> str:
    """The code the test authenticator shows now; the account's last used step is forgotten first, so
    a test may sign the same person in twice within 30 seconds (the refusal of a reused code has its
    own tests in tests/test_two_factor.py)."""
    import pyotp
    import sqlalchemy as sa

    from lms.extensions import db
    from lms.people.models import User
    from lms.people.security_models import TotpFactor

    # end the test's read transaction first: on SQLite (WAL) a write on a snapshot older than the live
    # server's sign-in fails at once with "database is locked" instead of waiting
    db.session.commit()
    db.session.execute(sa.update(TotpFactor).where(TotpFactor.user_id == sa.select(User.id).where(
        User.email == email).scalar_subquery()).values(last_step=None))
    db.session.commit()
    return pyotp.TOTP(totp_secret_for(email)).now()


# --- the journey ----------------------------------------------------------------------

def tiny_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def tiny_png(size: tuple[int, int] = (8, 8), exif_gps: bool = False) -> bytes:
    import io

    from PIL import Image

    img = Image.new("RGB", size, (200, 30, 30))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def jpeg_with_gps() -> bytes:
    """A JPEG whose EXIF carries a GPS position and a camera make."""
    import io

    from PIL import Image

    img = Image.new("RGB", (32, 24), (20, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "KameraUji"  # Make
    gps = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 12.0)}
    exif[0x8825] = gps
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif)
    return out.getvalue()


class JourneyMixin:
    db: Any

    def cohort(self, name: str | None = None, regions: tuple[str, ...] = ("3171", "3172", "3173", "3174", "3175"),
               curriculum_key: str = "okoce-7pas") -> Any:
        from datetime import date

        from lms.programme.models import Cohort

        n = next(_seq)
        c = Cohort(name=name or f"Angkatan Uji {n}", curriculum_key=curriculum_key, start_date=date(2018, 4, 1),
                   end_date=date(2018, 12, 31),
                   regions=list(self.db.session.scalars(sa.select(Region).where(Region.code.in_(regions)))))
        with transaction():
            self.db.session.add(c)
        return c

    def enrolment(self, cohort: Any = None, trainee: User | None = None, region: str = "3171", **kw: Any) -> Any:
        from lms.permissions import SYSTEM
        from lms.programme import services

        cohort = cohort or self.cohort()
        trainee = trainee or self.user("trainee", region=region, phone="+6281234567001")
        outlet = trainee.managed_outlet
        e = services.enrol_outlet(SYSTEM, cohort, outlet)
        return e

    def attended(self, enrolment: Any, stage_key: str = "pelatihan") -> Any:
        """A past session of ``stage_key`` the enrolment's manager attended (progress refreshed)."""
        import secrets
        from datetime import datetime, timedelta, timezone

        from lms.programme.services import refresh_for_users
        from lms.sessions.models import Attendance, Registration, RegistrationStatus, TrainingSession

        start = datetime(2018, 4, 10, 1, 0, tzinfo=timezone.utc)
        with transaction():
            s = TrainingSession(title="Bimtek Uji", stage_key=stage_key, cohort_id=enrolment.cohort_id,
                                region_id=enrolment.region_id, venue_name=f"Aula Uji {secrets.token_hex(3)}",
                                starts_at=start, ends_at=start + timedelta(hours=7), capacity=40, seats_taken=1,
                                checkin_secret=secrets.token_hex(16),
                                certificate_kind="bimtek" if stage_key == "pelatihan" else None)
            self.db.session.add(s)
            self.db.session.flush()
            self.db.session.add(Registration(session_id=s.id, user_id=enrolment.user_id,
                                             status=RegistrationStatus.REGISTERED, attendance=Attendance.PRESENT))
            self.db.session.flush()
            refresh_for_users([enrolment.user_id])
        return s

    def visited(self, enrolment: Any, mentor: User | None = None, times: int = 1) -> None:
        """Mentor visits to the enrolment's outlet after it started (progress refreshed)."""
        import secrets
        from datetime import timedelta

        from lms.programme.services import refresh_for_outlets
        from lms.visits.models import Visit, VisitKind

        mentor = mentor or self.user("mentor", region="3171")
        with transaction():
            for i in range(times):
                self.db.session.add(Visit(outlet_id=enrolment.outlet_id, mentor_id=mentor.id,
                                          region_id=enrolment.region_id,
                                          visited_at=enrolment.started_at + timedelta(minutes=i + 1),
                                          kind=VisitKind.FIELD_VISIT, stages=["pendampingan"],
                                          observations="Stok sembako tertata", client_key=secrets.token_hex(16)))
            self.db.session.flush()
            refresh_for_outlets([enrolment.outlet_id])

    def assign_mentor(self, mentor: User, outlet: Outlet) -> Any:
        from lms.visits.models import MentorAssignment

        a = MentorAssignment(outlet_id=outlet.id, mentor_id=mentor.id)
        with transaction():
            self.db.session.add(a)
        return a


# --- a small world in region 3171, for access grids ------------------------------------------

class World:
    """Objects in Jakarta Pusat (3171) and the users who look at them.

    ``owner`` manages ``outlet`` and is enrolled (``enrolment``) in ``cohort`` (3171 only);
    ``cohort_multi`` spans 3171 and 3172; ``evidence`` is the owner's submitted licence (with a
    scan); ``setup_token`` is a valid password set-up link of ``pending`` (a 3171 mentor with no
    password yet); ``visit`` was logged by ``mentor`` at ``outlet``, with ``action_item`` and
    ``photo``; ``session`` is a past 3171 Bimtek the owner attended, ``certificate`` the owner's
    certificate for it, ``job`` a finished (empty) bulk run for it; ``upcoming`` is a 3171 Bimtek of
    ``cohort`` starting in 20 minutes where the owner holds a seat, ``feed_token`` the admin's calendar
    feed. ``users`` maps each grid role to the user who plays it (None: anonymous).
    """

    def __init__(self, **kw: Any) -> None:
        self.__dict__.update(kw)


#: the roles of the access grid, in column order
GRID_ROLES = ("anonymous", "trainee", "owner", "mentor", "coord_3171", "coord_3172", "coord_all", "admin")


class WorldMixin:
    db: Any

    def world(self) -> World:
        from datetime import date, timedelta

        from lms.files import PDF, CheckedUpload
        from lms.people import services as people_services
        from lms.permissions import SYSTEM
        from lms.programme import services as programme_services
        from lms.db import utcnow as utcnow_

        owner = self.user("trainee", region="3171", phone="+6281234567101", full_name="Pemilik Uji")  # type: ignore[attr-defined]
        other = self.user("trainee", region="3171", phone="+6281234567102", full_name="Tetangga Uji")  # type: ignore[attr-defined]
        mentor = self.user("mentor", region="3171")  # type: ignore[attr-defined]
        self.assign_mentor(mentor, owner.managed_outlet)  # type: ignore[attr-defined]
        users = {
            "anonymous": None,
            "trainee": other,
            "owner": owner,
            "mentor": mentor,
            "coord_3171": self.user("coordinator", region="3171"),  # type: ignore[attr-defined]
            "coord_3172": self.user("coordinator", region="3172"),  # type: ignore[attr-defined]
            "coord_all": self.user("coordinator", region=None),  # type: ignore[attr-defined]
            "admin": self.user("admin", region=None),  # type: ignore[attr-defined]
        }
        cohort = self.cohort(regions=("3171",))  # type: ignore[attr-defined]
        cohort_multi = self.cohort(regions=("3171", "3172"))  # type: ignore[attr-defined]
        enrolment = self.enrolment(cohort=cohort, trainee=owner)  # type: ignore[attr-defined]
        evidence = programme_services.save_licence(
            owner, owner.managed_outlet,
            programme_services.LicenceInput("NIB", "9120001234567", date(2018, 3, 1), "OSS"),
            CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
        pending, token = people_services.create_user(SYSTEM, people_services.UserInput(
            email=f"tertunda{next(_seq)}@uji.example", full_name="Akun Tertunda", role=Role.MENTOR,
            region_id=self.region("3171").id))  # type: ignore[attr-defined]
        assert token
        visit = self.visit_with_extras(mentor, owner.managed_outlet)
        # a 3171 Bimtek the owner attended, their certificate for it, and a (finished, empty) bulk run
        from lms.certification.models import CertificateJob

        session = self.session(region="3171", cohort=cohort)  # type: ignore[attr-defined]
        self.register(session, owner, "present")  # type: ignore[attr-defined]
        certificate = self.certificate(session=session, holder=owner)  # type: ignore[attr-defined]
        with transaction():
            job = CertificateJob(kind="bimtek", scope="session", session_id=session.id, cohort_id=cohort.id,
                                 region_id=session.region_id, title=session.title)
            self.db.session.add(job)
        # a 3171 Bimtek of the cohort starting in 20 minutes (check-in and attendance open), the owner
        # holding a seat; two more enrolled trainees for a group registration; the admin's calendar feed
        from lms.sessions import services as sessions_services

        upcoming = self.training_session(cohort, "3171", starts_in=timedelta(minutes=20), hours=4,  # type: ignore[attr-defined]
                                         capacity=10)
        self.enrolled_trainees(2, cohort, region="3171")  # type: ignore[attr-defined]
        self.seat(upcoming, owner)  # type: ignore[attr-defined]
        feed_token = sessions_services.create_feed(users["admin"])
        # the owner's in-app notification, and a failed message in the admins' outbox
        from lms.notifications.models import Delivery, DeliveryStatus, Notification

        with transaction():
            notification = Notification(user_id=owner.id, kind="certificate.issued", title="Sertifikat terbit",
                                        url="/certificates/mine")
            delivery = Delivery(key="grid", user_id=owner.id, channel="email", kind="certificate.issued",
                                address=owner.email, subject="Sertifikat terbit", body_text="…",
                                status=DeliveryStatus.FAILED, last_error="SMTP 550")
            self.db.session.add_all([notification, delivery])
        # a recorded (not yet sent) personal data breach affecting the owner (the admins' breach pages)
        from lms.privacy.models import BreachNotice

        with transaction():
            breach = BreachNotice(discovered_at=utcnow_(), window_start=utcnow_() - timedelta(days=1),
                                  window_end=utcnow_(), categories=["identity"], description="Uji", measures="Uji",
                                  affected=1, letter="Surat uji", details={"user_ids": [owner.id]})
            self.db.session.add(breach)
        # the owner's pending correction request ("other": accepting it needs a note) (helper C)
        from lms.privacy.models import DataRequest, RequestKind

        with transaction():
            data_request = DataRequest(user_id=owner.id, kind=RequestKind.CORRECTION, field="other",
                                       message="Kelurahan e-Warong saya salah", created_at=utcnow_(),
                                       due_at=utcnow_() + timedelta(hours=72))
            self.db.session.add(data_request)
        # the owner's ready copy of their data ("Data saya", helper B), built at once; copies asked for in
        # the grid are built inside the request too (no background thread outliving the test)
        from flask import current_app

        from lms.outbox import muted
        from lms.privacy import export as privacy_export

        current_app.config["DATA_EXPORT_WORKER"] = "inline"
        with transaction():
            data_export = DataRequest(user_id=owner.id, kind=RequestKind.EXPORT, created_at=utcnow_())
            self.db.session.add(data_export)
        with muted():
            assert privacy_export.build_export(data_export.id)
        # the admin's webhook endpoint with one failed delivery (the admins' webhook pages) (helper F)
        from lms.webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookStatus

        with transaction():
            webhook = WebhookEndpoint(owner_id=users["admin"].id, url="https://hooks.example.org/7pas",
                                      events=["certificate.issued"], secret="whsec_" + "A" * 44)
            webhook_delivery = WebhookDelivery(uid="msg_grid", endpoint=webhook, event="webhook.ping",
                                               payload={"id": "msg_grid", "type": "webhook.ping"}, attempts=6,
                                               status=WebhookStatus.FAILED, last_status_code=500, last_error="HTTP 500")
            self.db.session.add_all([webhook, webhook_delivery])
        # certificate branding (helper "branding"): a saved version of the Bimtek design with a logo, and the
        # admin's staged change waiting on its preview page (made after ``certificate``, which has none)
        import io

        from lms.certification import branding

        bimtek = branding.design_by_key("bimtek")
        signers = [branding.SignatoryInput("Kepala Uji", "Kepala Dinas Uji")]
        branding_version = branding.save(users["admin"], bimtek, branding.stage(users["admin"], bimtek, branding.BrandingInput(
            signatories=signers, logo_left=branding.Upload(io.BytesIO(tiny_png((64, 64))), "logo.png"))))
        branding_token = branding.stage(users["admin"], bimtek, branding.BrandingInput(signatories=signers))
        return World(branding_version=branding_version, branding_token=branding_token, webhook=webhook, webhook_delivery=webhook_delivery, data_export=data_export, data_request=data_request, breach=breach, owner=owner, other=other, mentor=mentor, users=users, outlet=owner.managed_outlet,
                     cohort=cohort, cohort_multi=cohort_multi, enrolment=enrolment, evidence=evidence,
                     pending=pending, setup_token=token, visit=visit, action_item=visit.action_items[0],
                     photo=visit.photos[0], session=session, certificate=certificate, job=job,
                     upcoming=upcoming, feed_token=feed_token, notification=notification, delivery=delivery)

    def visit_with_extras(self, mentor: User, outlet: Outlet) -> Any:
        """A field visit logged today by ``mentor``, with one open action item and one photo."""
        import secrets
        from datetime import timedelta

        from lms.db import utcnow
        from lms.files import PNG, CheckedUpload, store
        from lms.visits.models import ActionItem, Visit, VisitKind, VisitPhoto

        now = utcnow()
        with transaction():
            visit = Visit(outlet_id=outlet.id, mentor_id=mentor.id, region_id=outlet.region_id,
                          visited_at=now - timedelta(hours=1), kind=VisitKind.FIELD_VISIT, stages=["pendampingan"],
                          observations="Pencatatan stok belum rapi", staff_notes="Catatan staf: pantau terus",
                          client_key=secrets.token_hex(16))
            visit.action_items.append(ActionItem(outlet_id=outlet.id, description="Rapikan buku stok",
                                                 owner="Pengelola", due_on=(now + timedelta(days=7)).date()))
            visit.photos.append(VisitPhoto(file=store(CheckedUpload(tiny_png(), PNG, "foto.png"), mentor.id)))
            self.db.session.add(visit)
        return visit


def endpoint_urls(w: World) -> dict[str, str]:
    """One concrete URL per endpoint of the app (``static`` excluded), built on ``w``."""
    return {
        "core.index": "/",
        "core.home": "/home",
        "ops.healthz": "/healthz",
        "ops.readyz": "/readyz",
        "ops.metrics": "/metrics",
        "core.set_language": "/lang",
        "people.login": "/login",
        "people.logout": "/logout",
        "people.change_password": "/account/password",
        "people.login_phone": "/login/phone",
        "people.login_phone_code": "/login/phone/code",
        "people.change_phone": "/account/phone",
        "people.change_phone_confirm": "/account/phone/confirm",
        "people.set_password": f"/set-password/{w.setup_token}",
        "people.user_list": "/users",
        "people.user_create": "/users/new",
        "people.user_detail": f"/users/{w.owner.id}",
        "people.user_edit": f"/users/{w.owner.id}/edit",
        "people.user_set_active": f"/users/{w.owner.id}/active",
        "people.user_reset_password": f"/users/{w.owner.id}/reset-password",
        "security.verify": "/login/code",
        "security.two_factor": "/account/two-factor",
        "security.two_factor_confirm": "/account/two-factor/confirm",
        "security.recovery_codes": "/account/two-factor/recovery-codes",
        "security.two_factor_disable": "/account/two-factor/disable",
        "security.user_reset_two_factor": f"/users/{w.users['coord_3171'].id}/reset-two-factor",
        "security.devices": "/account/devices",
        "security.device_sign_out": "/account/devices/tidak-ada/sign-out",
        "security.devices_sign_out_others": "/account/devices/sign-out-others",
        "places.outlet_list": "/outlets",
        "places.outlet_create": "/outlets/new",
        "places.outlet_detail": f"/outlets/{w.outlet.id}",
        "places.outlet_edit": f"/outlets/{w.outlet.id}/edit",
        "programme.my_progress": "/progress",
        "programme.enrolment_detail": f"/enrolments/{w.enrolment.id}",
        "programme.evidence_new": f"/outlets/{w.outlet.id}/evidence/licence/new",
        "programme.evidence_detail": f"/evidence/{w.evidence.id}",
        "programme.evidence_edit": f"/evidence/{w.evidence.id}/edit",
        "programme.evidence_file": f"/evidence/{w.evidence.id}/file",
        "programme.evidence_review": f"/evidence/{w.evidence.id}/review",
        "programme.outlet_reports": f"/outlets/{w.outlet.id}/reports",
        "programme.review_queue": "/review",
        "programme.cohort_list": "/cohorts",
        "programme.cohort_create": "/cohorts/new",
        "programme.cohort_detail": f"/cohorts/{w.cohort.id}",
        "programme.cohort_edit": f"/cohorts/{w.cohort.id}/edit",
        "programme.cohort_enrol_all": f"/cohorts/{w.cohort.id}/enrol-all",
        "visits.my_caseload": "/caseload",
        "visits.caseloads": "/caseloads",
        "visits.visit_new": "/visits/new",
        "visits.csrf_token": "/visits/csrf",
        "visits.visit_detail": f"/visits/{w.visit.id}",
        "visits.visit_edit": f"/visits/{w.visit.id}/edit",
        "visits.action_done": f"/action-items/{w.action_item.id}/done",
        "visits.visit_photo": f"/visit-photos/{w.photo.id}",
        "visits.outlet_timeline": f"/outlets/{w.outlet.id}/timeline",
        "visits.my_visits": "/visits/mine",
        "visits.dashboard": "/visits/dashboard",
        "visits.export": "/visits/export",
        "certification.verify": f"/verify/{w.certificate.verification_code}",
        "certification.verify_file": "/verify/berkas",
        "certification.mine": "/certificates/mine",
        "certification.index": "/certificates",
        "certification.detail": f"/certificates/{w.certificate.id}",
        "certification.download": f"/certificates/{w.certificate.id}/pdf",
        "certification.revoke": f"/certificates/{w.certificate.id}/revoke",
        "certification.correct": f"/certificates/{w.certificate.id}/correct",
        "certification.session_candidates": f"/certificates/sessions/{w.session.id}",
        "certification.cohort_candidates": f"/certificates/cohorts/{w.cohort.id}",
        "certification.issue_session": f"/certificates/sessions/{w.session.id}/attendees/{w.owner.id}",
        "certification.issue_enrolment": f"/certificates/enrolments/{w.enrolment.id}",
        "certification.bulk_session": f"/certificates/sessions/{w.session.id}/bulk",
        "certification.bulk_cohort": f"/certificates/cohorts/{w.cohort.id}/bulk",
        "certification.job": f"/certificates/jobs/{w.job.id}",
        "certification.job_status": f"/certificates/jobs/{w.job.id}/status.json",
        "certification.job_retry": f"/certificates/jobs/{w.job.id}/retry",
        "certification.job_zip": f"/certificates/jobs/{w.job.id}/zip",
        "credentials.issuer_profile": "/kredensial/penerbit",
        "credentials.status_list": "/kredensial/status/1",
        "credentials.download": f"/certificates/{w.certificate.id}/credential.json",
        "credentials.verify_page": "/kredensial/periksa",
        "dashboard.index": "/dashboard",
        "dashboard.managers": "/dashboard/managers?stage=pelatihan",
        "sessions.schedule": "/sessions",
        "sessions.month": "/sessions/calendar",
        "sessions.session_new": "/sessions/new",
        "sessions.session_detail": f"/sessions/{w.upcoming.id}",
        "sessions.session_edit": f"/sessions/{w.upcoming.id}/edit",
        "sessions.session_cancel": f"/sessions/{w.upcoming.id}/cancel",
        "sessions.register": f"/sessions/{w.upcoming.id}/register",
        "sessions.unregister": f"/sessions/{w.upcoming.id}/unregister",
        "sessions.register_group": f"/sessions/{w.upcoming.id}/register-group",
        "sessions.attendance": f"/sessions/{w.upcoming.id}/attendance",
        "sessions.attendance_sheet": f"/sessions/{w.upcoming.id}/attendance-sheet",
        "sessions.roster_page": f"/sessions/{w.upcoming.id}/roster",
        "sessions.qr_page": f"/sessions/{w.upcoming.id}/qr",
        "sessions.qr_svg": f"/sessions/{w.upcoming.id}/qr.svg",
        "sessions.checkin": f"/checkin/{w.upcoming.id}/{_checkin_token(w.upcoming)}",
        "sessions.session_ics": f"/sessions/{w.upcoming.id}/calendar.ics",
        "sessions.feed_settings": "/calendar/feed",
        "sessions.feed": f"/calendar/{w.feed_token}.ics",
        # exports and the audit log
        "reports.index": "/exports",
        # (no streamed file here: the grid's client cannot close one; tests/test_reports_access.py downloads)
        "reports.download": f"/exports/download?dataset=progress&cohort={w.cohort.id}&start=2018-05-02&end=2018-05-01",
        "audit.log": "/admin/audit",
        "audit.export_log": "/admin/audit/export?format=ods",
        # spreadsheet import
        "imports.upload": "/import/outlets",
        "imports.confirm": "/import/outlets/confirm",
        "imports.template": "/import/outlets/template.csv",
        # notifications
        "notifications.index": "/notifications",
        "notifications.open_one": f"/notifications/{w.notification.id}",
        "notifications.read_all": "/notifications/read-all",
        "notifications.preferences": "/notifications/preferences",
        "notifications.outbox": "/admin/outbox",
        "notifications.outbox_item": f"/admin/outbox/{w.delivery.id}",
        "notifications.outbox_retry": f"/admin/outbox/{w.delivery.id}/retry",
        "notifications.broadcast": "/broadcasts/new",
        # session feedback and tests: the owner attended the past Bimtek (its feedback closed) and holds a seat
        # in the upcoming one (its pre-test open)
        "feedback.give": f"/sessions/{w.session.id}/feedback",
        "feedback.test_start": f"/sessions/{w.upcoming.id}/test/pre",
        "feedback.test_question": f"/sessions/{w.upcoming.id}/test/pre/1",
        "feedback.test_result": f"/sessions/{w.session.id}/test/post/result",
        "feedback.session_report": f"/sessions/{w.session.id}/feedback/report",
        "feedback.overview": "/dashboard/feedback",
        "feedback.export_responses": "/dashboard/feedback/export?format=ods",
        # personal data: the notice, the consent page and the person's privacy page (helper A)
        "privacy.notice": "/privasi",
        "privacy.consent": "/privasi/persetujuan",
        "privacy.my_consents": "/privasi/saya",
        "privacy.withdraw": "/privasi/saya/tarik/programme",
        "privacy.whatsapp": "/privasi/saya/whatsapp",
        # personal data: retention and breaches (helper D)
        "privacy.retention": "/admin/privasi/masa-simpan",
        "privacy.retention_run": "/admin/privasi/masa-simpan/jalankan",
        "privacy.breach_list": "/admin/privasi/kebocoran",
        "privacy.breach_new": "/admin/privasi/kebocoran/baru",
        "privacy.breach_detail": f"/admin/privasi/kebocoran/{w.breach.id}",
        "privacy.breach_send": f"/admin/privasi/kebocoran/{w.breach.id}/kirim",
        # personal data: correction and erasure requests (helper C); the owner's pending correction
        "privacy.request_new": "/privasi/permintaan/baru",
        "privacy.my_requests": "/privasi/permintaan",
        "privacy.request_list": "/privasi/tinjau",
        "privacy.request_detail": f"/privasi/permintaan/{w.data_request.id}",
        "privacy.request_withdraw": f"/privasi/permintaan/{w.data_request.id}/tarik",
        "privacy.request_accept": f"/privasi/permintaan/{w.data_request.id}/terima",
        "privacy.request_decline": f"/privasi/permintaan/{w.data_request.id}/tolak",
        # the JSON API's token page (helper E; the API's operations are tested in tests/test_api*.py)
        "api_tokens.index": "/akun/token-api",
        "api_tokens.revoke": "/akun/token-api/999999/cabut",
        # certificate branding (helper "branding"): the admin's pages, the saved version's logo, the staged change
        "branding.index": "/admin/branding",
        "branding.edit": "/admin/branding/bimtek",
        "branding.preview": f"/admin/branding/bimtek/preview/{w.branding_token}",
        "branding.preview_pdf": f"/admin/branding/bimtek/preview/{w.branding_token}/pdf",
        "branding.save": f"/admin/branding/bimtek/preview/{w.branding_token}/save",
        "branding.image": f"/admin/branding/bimtek/image/logo_left?v={w.branding_version.id}",
        # webhooks (helper F): the admin's endpoint and its failed delivery
        "webhooks.index": "/admin/webhooks",
        "webhooks.create": "/admin/webhooks/new",
        "webhooks.detail": f"/admin/webhooks/{w.webhook.id}",
        "webhooks.edit": f"/admin/webhooks/{w.webhook.id}/edit",
        "webhooks.set_active": f"/admin/webhooks/{w.webhook.id}/active",
        "webhooks.rotate": f"/admin/webhooks/{w.webhook.id}/rotate",
        "webhooks.delete": f"/admin/webhooks/{w.webhook.id}/delete",
        "webhooks.ping": f"/admin/webhooks/{w.webhook.id}/ping",
        "webhooks.retry": f"/admin/webhooks/deliveries/{w.webhook_delivery.id}/retry",
        # personal data: "Data saya" (the owner's ready copy) and who looked at whom (helper B)
        "privacy.my_data": "/privasi/data-saya",
        "privacy.my_data_request": "/privasi/data-saya/salinan",
        "privacy.my_data_status": f"/privasi/data-saya/salinan/{w.data_export.id}/status.json",
        "privacy.my_data_download": f"/privasi/data-saya/salinan/{w.data_export.id}/unduh",
        "privacy.access_log": f"/admin/privasi/akses?user={w.owner.id}",
    }


def _checkin_token(session: Any) -> str:
    from lms.sessions import services

    return services.checkin_token(session, services.checkin_step())


# --- mentor visits ---------------------------------------------------------------------------

class VisitsMixin:
    db: Any

    def visit(self, mentor: User, outlet: Outlet, *, visited_at: Any = None, created_at: Any = None,
              observations: str = "Stok sembako tertata", staff_notes: str = "", next_visit_on: Any = None,
              stages: tuple[str, ...] = ("pendampingan",), actions: tuple[tuple[str, str, Any], ...] = (),
              done: bool = False, refresh: bool = True) -> Any:
        """A visit straight in the database (``actions``: (description, owner, due_on) rows)."""
        import secrets
        from datetime import timedelta

        from lms.db import utcnow
        from lms.programme.services import refresh_for_outlets
        from lms.visits.models import ActionItem, Visit, VisitKind

        visited_at = visited_at or utcnow() - timedelta(hours=1)
        with transaction():
            v = Visit(outlet_id=outlet.id, mentor_id=mentor.id, region_id=outlet.region_id, visited_at=visited_at,
                      kind=VisitKind.FIELD_VISIT, stages=list(stages), observations=observations,
                      staff_notes=staff_notes, next_visit_on=next_visit_on, client_key=secrets.token_hex(16))
            if created_at is not None:
                v.created_at = v.updated_at = created_at
            for desc, owner, due in actions:
                v.action_items.append(ActionItem(outlet_id=outlet.id, description=desc, owner=owner, due_on=due,
                                                 done_at=utcnow() if done else None))
            self.db.session.add(v)
            self.db.session.flush()
            if refresh:
                refresh_for_outlets([outlet.id])
        return v

    def caseload(self, n: int, region: str = "3171", mentor: User | None = None) -> tuple[User, list[Outlet]]:
        """A mentor (new unless given) with ``n`` new outlets of ``region`` in their caseload."""
        mentor = mentor or self.user("mentor", region=region)  # type: ignore[attr-defined]
        outlets = [self.outlet(region) for _ in range(n)]  # type: ignore[attr-defined]
        for o in outlets:
            self.assign_mentor(mentor, o)  # type: ignore[attr-defined]
        return mentor, outlets

# --- certificates ---------------------------------------------------------------------------

class CertificatesMixin:
    db: Any

    def session(self, region: str = "3171", cohort: Any = None, stage_key: str = "pelatihan", *,
                title: str = "Bimtek e-Warong Uji", cancelled: bool = False, days_ago: int | None = None,
                capacity: int = 300, certificate_kind: Any = "default") -> Any:
        """A training session that has ended (10 April 2018, 08:00–15:00 WIB unless ``days_ago`` is given).

        It gives the Bimtek certificate when on the training step, none otherwise, unless ``certificate_kind``
        says which (None: none)."""
        import secrets
        from datetime import datetime, timedelta, timezone

        from lms.db import utcnow
        from lms.sessions.models import SessionStatus, TrainingSession

        cohort = cohort or self.cohort()  # type: ignore[attr-defined]
        start = (utcnow() - timedelta(days=days_ago)) if days_ago is not None else datetime(2018, 4, 10, 1, 0, tzinfo=timezone.utc)
        s = TrainingSession(title=title, stage_key=stage_key, cohort_id=cohort.id, region_id=self.region(region).id,  # type: ignore[attr-defined]
                            venue_name=f"Aula Uji {secrets.token_hex(3)}", starts_at=start,
                            ends_at=start + timedelta(hours=7), capacity=capacity, seats_taken=0,
                            checkin_secret=secrets.token_hex(16),
                            status=SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED,
                            cancelled_at=utcnow() if cancelled else None,
                            certificate_kind=(("bimtek" if stage_key == "pelatihan" else None)
                                              if certificate_kind == "default" else certificate_kind))
        with transaction():
            self.db.session.add(s)
        return s

    def register(self, session: Any, user: User, attendance: str | None = "present", status: str = "registered") -> Any:
        from lms.sessions.models import Attendance, Registration, RegistrationStatus

        r = Registration(session_id=session.id, user_id=user.id, status=RegistrationStatus(status),
                         attendance=Attendance(attendance) if attendance else None)
        with transaction():
            self.db.session.add(r)
        return r

    def attendee(self, session: Any, attendance: str | None = "present", region: str = "3171", **kw: Any) -> User:
        """A trainee with an outlet, registered for ``session`` with ``attendance``."""
        user = self.user("trainee", region=region, **kw)  # type: ignore[attr-defined]
        self.register(session, user, attendance)
        return user

    def completed_enrolment(self, cohort: Any = None, trainee: User | None = None, region: str = "3171") -> Any:
        """An enrolment whose summary says all seven steps are complete."""
        from lms.db import utcnow

        e = self.enrolment(cohort=cohort, trainee=trainee, region=region)  # type: ignore[attr-defined]
        with transaction():
            e.current_stage = None
            e.completed_count = 7
            e.completed_at = utcnow()
        return e

    def certificate(self, session: Any = None, holder: User | None = None, actor: Any = None, **kw: Any) -> Any:
        """An issued Bimtek certificate (a session and an attendee made when not given)."""
        from lms.certification import services
        from lms.permissions import SYSTEM

        session = session or self.session(**kw)
        holder = holder or self.attendee(session)
        return services.issue_for_session(actor or SYSTEM, services.design_for("bimtek"), session, holder).certificate


# --- training sessions ------------------------------------------------------------------------

class SessionsMixin:
    """Upcoming sessions, enrolled trainees in bulk, and seats taken the way the service takes them."""

    db: Any

    def training_session(self, cohort: Any = None, region: str = "3171", *, starts_in: Any = None,
                         starts_at: Any = None, hours: float = 8, capacity: int = 40, title: str | None = None,
                         venue: str | None = None, speakers: tuple[tuple[str, str], ...] = (),
                         stage_key: str = "pelatihan", cancelled: bool = False, backdated: bool = False) -> Any:
        """A scheduled session (a week ahead, 08:00 WIB, unless told), written straight to the database."""
        import secrets
        from datetime import datetime, time, timedelta

        from lms.db import utcnow
        from lms.i18n import WIB, to_wib
        from lms.sessions.models import SessionSpeaker, SessionStatus, SpeakerAgency, TrainingSession
        from lms.sessions.services import fold

        cohort = cohort or self.cohort()  # type: ignore[attr-defined]
        if starts_at is None:
            day = to_wib(utcnow() + (starts_in if starts_in is not None else timedelta(days=7))).date()
            starts_at = datetime.combine(day, time(8, 0), tzinfo=WIB) if starts_in is None else utcnow() + starts_in
        n = next(_seq)
        s = TrainingSession(title=title or f"Bimtek Uji {n}", stage_key=stage_key, cohort_id=cohort.id,
                            region_id=self.region(region).id, venue_name=venue or f"Aula Uji {n}",  # type: ignore[attr-defined]
                            venue_address="Jl. Uji No. 1", starts_at=starts_at,
                            ends_at=starts_at + timedelta(hours=hours), capacity=capacity, seats_taken=0,
                            checkin_secret=secrets.token_hex(32), backdated=backdated,
                            certificate_kind="bimtek" if stage_key == "pelatihan" else None,
                            status=SessionStatus.CANCELLED if cancelled else SessionStatus.SCHEDULED,
                            cancelled_at=utcnow() if cancelled else None,
                            speakers=[SessionSpeaker(name=nm, name_key=fold(nm), agency=SpeakerAgency(ag), position=i)
                                      for i, (nm, ag) in enumerate(speakers)])
        with transaction():
            self.db.session.add(s)
        return s

    def seat(self, session: Any, user: User, status: str = "registered", attendance: str | None = None,
             waitlisted_at: Any = None) -> Any:
        """A registration with ``seats_taken`` kept in step (as the service would)."""
        from lms.db import utcnow
        from lms.sessions.models import Attendance, Registration, RegistrationStatus, TrainingSession

        with transaction():
            r = Registration(session_id=session.id, user_id=user.id, status=RegistrationStatus(status),
                             waitlisted_at=(waitlisted_at or utcnow()) if status == "waitlisted" else None,
                             attendance=Attendance(attendance) if attendance else None)
            self.db.session.add(r)
            if status == "registered":
                self.db.session.execute(sa.update(TrainingSession).where(TrainingSession.id == session.id)
                                        .values(seats_taken=TrainingSession.seats_taken + 1))
        self.db.session.expire(session)
        return r

    def enrolled_trainees(self, n: int, cohort: Any, region: str = "3171") -> list[User]:
        """``n`` trainees with complete profiles, outlets in ``region`` and active enrolments in ``cohort``, in one go."""
        from flask import current_app

        from tests.conftest import TEST_PASSWORD

        from lms.programme.models import Enrolment, EnrolmentStatus

        kec = self.kecamatan(region)  # type: ignore[attr-defined]
        pw = hash_password(TEST_PASSWORD)
        notice_version = current_app.config["PRIVACY_NOTICE_VERSION"]  # accepted, as factory.user makes them
        users: list[User] = []
        with transaction():
            for _i in range(n):
                k = next(_seq)
                outlet = Outlet(code=f"EW-{region}-{k:05d}", name=f"e-Warong Uji {k}", kube_name=f"KUBE Uji {k}",
                                address="Jl. Uji No. 1", kelurahan="Kelurahan Uji", kecamatan_id=kec.id,
                                region_id=kec.region_id, phone="+6281234567890", active=True)
                user = User(email=f"peserta{k}@uji.example", full_name=f"Peserta Uji {k:05d}", role=Role.TRAINEE,
                            region_id=kec.region_id, password_hash=pw, phone="+6281234567001",
                            notice_version=notice_version)
                self.db.session.add_all([outlet, user])
                self.db.session.flush()
                outlet.manager_id = user.id
                self.db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=user.id))
                self.db.session.add(Enrolment(cohort_id=cohort.id, user_id=user.id, outlet_id=outlet.id,
                                              region_id=outlet.region_id, status=EnrolmentStatus.ACTIVE,
                                              current_stage="pendaftaran", completed_count=0))
                users.append(user)
        return users


class Factory(SessionsMixin, CertificatesMixin, VisitsMixin, WorldMixin, JourneyMixin, BaseFactory):
    """All factories; areas add their mixins here."""
