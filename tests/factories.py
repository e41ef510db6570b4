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
             password: str | None = None, **kw: Any) -> User:
        from tests.conftest import TEST_PASSWORD

        role = Role(role)
        n = next(_seq)
        region_obj = self.region(region) if region else None
        if role is Role.TRAINEE and outlet is None and kw.pop("with_outlet", True):
            outlet = self.outlet(region or "3171")
        if role is Role.ADMIN:
            region_obj = None
        user = User(email=kw.pop("email", f"{role.value}{n}@uji.example"), full_name=kw.pop("full_name", f"Pengguna Uji {n}"),
                    role=role, region_id=(outlet.region_id if outlet else (region_obj.id if region_obj else None)),
                    password_hash=hash_password(password or TEST_PASSWORD), phone=kw.pop("phone", None),
                    active=kw.pop("active", True), **kw)
        with transaction():
            self.db.session.add(user)
            self.db.session.flush()
            if outlet is not None:
                outlet.manager_id = user.id
                self.db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=user.id))
        return user


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
                                checkin_secret=secrets.token_hex(16))
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


class Factory(JourneyMixin, BaseFactory):
    """All factories; areas add their mixins here."""
