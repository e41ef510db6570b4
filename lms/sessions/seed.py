"""The five Bimtek of April 2018: one per city, every manager registered, attendance taken.

Called from ``lms/seed.py`` with the cohort "e-Warong DKI Jakarta 2018" once its managers are
enrolled, best before the evidence and visits (so that the training step is dated on the day of
the session). Idempotent: sessions are found again by cohort, region and start; registrations by
their (session, user) pair; a mark already taken is never changed. Running it twice changes nothing.

The dates are the programme's real ones (10, 11, 12 and 16 April 2018); the speakers are
illustrative names for the four agencies that trained the managers.
"""
from __future__ import annotations

import random
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from ..audit.services import record
from ..db import transaction
from ..extensions import db
from ..i18n import WIB
from ..people.models import Role, User
from ..places.models import Outlet, Region
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from ..programme.services import refresh_progress
from .models import Attendance, Registration, RegistrationStatus, SessionSpeaker, SessionStatus, SpeakerAgency, TrainingSession
from .services import default_certificate_kind, fold

DS, BI, BNI, PGO = (SpeakerAgency.DINAS_SOSIAL, SpeakerAgency.BANK_INDONESIA, SpeakerAgency.BNI,
                    SpeakerAgency.PGO_OKOCE)
DESCRIPTION = ("Bimbingan teknis Program 7 PAS OK OCE bagi pengelola e-Warong KUBE Jasa: pengelolaan e-Warong dan "
               "penyaluran Bantuan Pangan Non Tunai (BPNT), pencatatan keuangan sederhana, layanan perbankan dan "
               "EDC, perizinan usaha mikro, serta akses permodalan.\n"
               "Peserta membawa KTP dan buku catatan.")


@dataclass(frozen=True)
class Bimtek:
    region_code: str
    day: date
    start: time
    end: time
    venue: str
    address: str
    speakers: tuple[tuple[str, SpeakerAgency], ...]


BIMTEK_2018: tuple[Bimtek, ...] = (
    Bimtek("3171", date(2018, 4, 10), time(8), time(16), "Aula Dinas Sosial Provinsi DKI Jakarta",
           "Jl. Gunung Sahari II No. 5, Kemayoran, Jakarta Pusat",
           (("Dra. Sri Wahyuni, M.Si.", DS), ("Rudi Hartono", BI), ("Yusuf Maulana", BNI), ("Indra Permana", PGO))),
    Bimtek("3172", date(2018, 4, 11), time(8), time(16), "Aula Kantor Walikota Jakarta Utara",
           "Jl. Laksda Yos Sudarso No. 27–29, Tanjung Priok, Jakarta Utara",
           (("Dra. Sri Wahyuni, M.Si.", DS), ("Dewi Anggraini", BI), ("Yusuf Maulana", BNI), ("Indra Permana", PGO))),
    Bimtek("3173", date(2018, 4, 12), time(8), time(16), "Aula Kantor Walikota Jakarta Barat",
           "Jl. Raya Kembangan No. 2, Kembangan, Jakarta Barat",
           (("Drs. Agus Salim Nasution", DS), ("Rudi Hartono", BI), ("Yusuf Maulana", BNI), ("Indra Permana", PGO))),
    # 16 April: two cities on one day, morning in the south, afternoon in the east (other speakers)
    Bimtek("3174", date(2018, 4, 16), time(8), time(12), "Aula Kantor Walikota Jakarta Selatan",
           "Jl. Prapanca Raya No. 9, Kebayoran Baru, Jakarta Selatan",
           (("Drs. Agus Salim Nasution", DS), ("Dewi Anggraini", BI), ("Yusuf Maulana", BNI), ("Indra Permana", PGO))),
    Bimtek("3175", date(2018, 4, 16), time(12), time(16), "Aula Kantor Walikota Jakarta Timur",
           "Jl. Dr. Sumarno No. 1, Penggilingan, Cakung, Jakarta Timur",
           (("Dra. Sri Wahyuni, M.Si.", DS), ("Rudi Hartono", BI), ("Fitri Handayani", BNI), ("Maya Sari Lubis", PGO))),
)


def _utc(day: date, at: time) -> datetime:
    return datetime.combine(day, at, tzinfo=WIB).astimezone(timezone.utc)


def _marks(outlet_codes: list[str]) -> dict[str, Attendance]:
    """Mostly present, a few late, a handful excused or absent; the same outlets on every run.

    Each outlet draws a number seeded by its code; the highest draws of a city are absent (2 %),
    then excused (2.5 %), then late (6 %).
    """
    order = sorted(outlet_codes, key=lambda c: random.Random(f"bimtek-2018-{c}").random(), reverse=True)
    n = len(order)
    absent, excused, late = max(1, round(n * 0.02)), max(1, round(n * 0.025)), round(n * 0.06)
    out: dict[str, Attendance] = {}
    for i, code in enumerate(order):
        if i < absent:
            out[code] = Attendance.ABSENT
        elif i < absent + excused:
            out[code] = Attendance.EXCUSED
        elif i < absent + excused + late:
            out[code] = Attendance.LATE
        else:
            out[code] = Attendance.PRESENT
    return out


def seed_sessions(cohort: Cohort, *, actor: Any = None) -> int:
    """Create what is missing of the five April 2018 Bimtek of ``cohort``; returns the sessions created."""
    created = 0
    marked_total = 0
    with transaction():
        regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
        cohort_regions = {r.id for r in cohort.regions}
        coordinators: dict[int | None, User] = {}
        for u in db.session.scalars(sa.select(User).where(User.role == Role.COORDINATOR).order_by(User.id)):
            coordinators.setdefault(u.region_id, u)
        for spec in BIMTEK_2018:
            region = regions.get(spec.region_code)
            if region is None or region.id not in cohort_regions:
                continue
            starts_at, ends_at = _utc(spec.day, spec.start), _utc(spec.day, spec.end)
            managers = db.session.execute(
                sa.select(User, Outlet.code).join(Enrolment, Enrolment.user_id == User.id)
                .join(Outlet, sa.and_(Outlet.id == Enrolment.outlet_id, Outlet.manager_id == User.id))
                .where(Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE,
                       Outlet.region_id == region.id, User.role == Role.TRAINEE)
                .order_by(Outlet.code)).all()
            session = db.session.scalar(sa.select(TrainingSession).where(
                TrainingSession.cohort_id == cohort.id, TrainingSession.region_id == region.id,
                TrainingSession.starts_at == starts_at))
            organiser = coordinators.get(region.id) or coordinators.get(None)
            if session is None:
                announced = _utc(spec.day - timedelta(days=8), time(9))
                session = TrainingSession(
                    title=f"Bimtek Pengelola e-Warong KUBE Jasa {region.name}", stage_key="pelatihan",
                    cohort_id=cohort.id, region_id=region.id, venue_name=spec.venue, venue_address=spec.address,
                    starts_at=starts_at, ends_at=ends_at, capacity=(len(managers) // 10 + 1) * 10, seats_taken=0,
                    description=DESCRIPTION, status=SessionStatus.SCHEDULED, sequence=0,
                    checkin_secret=secrets.token_hex(32), certificate_kind=default_certificate_kind("pelatihan"),
                    created_by_id=organiser.id if organiser else None, created_at=announced, updated_at=announced,
                    speakers=[SessionSpeaker(name=n, name_key=fold(n), agency=a, position=i)
                              for i, (n, a) in enumerate(spec.speakers)])
                db.session.add(session)
                db.session.flush()
                created += 1
            existing = {r.user_id: r for r in db.session.scalars(
                sa.select(Registration).where(Registration.session_id == session.id))}
            marked: list[int] = []
            marks = _marks([code for _u, code in managers])
            for user, code in managers:
                reg = existing.get(user.id)
                if reg is None:
                    signed_up = _utc(spec.day - timedelta(days=5), time(10))
                    reg = Registration(session_id=session.id, user_id=user.id, status=RegistrationStatus.REGISTERED,
                                       created_at=signed_up, updated_at=signed_up)
                    db.session.add(reg)
                if reg.status is RegistrationStatus.REGISTERED and reg.attendance is None:
                    reg.attendance = marks[code]
                    reg.attendance_marked_at = ends_at
                    reg.attendance_marked_by_id = organiser.id if organiser else None
                    reg.updated_at = ends_at
                    marked.append(user.id)
            db.session.flush()
            seats = db.session.scalar(sa.select(sa.func.count()).select_from(Registration).where(
                Registration.session_id == session.id, Registration.status == RegistrationStatus.REGISTERED)) or 0
            if session.capacity < seats or session.seats_taken != seats:
                session.capacity = max(session.capacity, (seats // 10 + 1) * 10)
                session.seats_taken = seats
                session.updated_at = _utc(spec.day - timedelta(days=1), time(17))  # registration closed
            if marked:
                marked_total += len(marked)
                enrolments = list(db.session.scalars(
                    sa.select(Enrolment).where(Enrolment.cohort_id == cohort.id, Enrolment.user_id.in_(marked),
                                               Enrolment.status == EnrolmentStatus.ACTIVE)
                    .options(joinedload(Enrolment.user), joinedload(Enrolment.outlet), joinedload(Enrolment.cohort))))
                # the training step is completed on the day of the session
                refresh_progress(enrolments, now=ends_at)
        if created or marked_total:
            record("demo.sessions_seeded", actor=actor, cohort_id=cohort.id, sessions=created, marked=marked_total)
    return created


# --- the current cohort: dated relative to the day the demo is seeded ----------------------------

@dataclass(frozen=True)
class CurrentSession:
    """A session of the current cohort, ``offset`` days from the day of seeding (moved off the weekend:
    earlier for a past one, later for an upcoming one)."""
    key: str
    title: str
    stage_key: str
    offset: int
    start: time
    end: time
    venue: str
    address: str
    capacity: int
    speakers: tuple[tuple[str, SpeakerAgency], ...]
    description: str = DESCRIPTION


#: "{year}" is the cohort's year
CURRENT_SESSIONS: tuple[CurrentSession, ...] = (
    CurrentSession("gelombang1", "Bimtek Angkatan {year} Gelombang 1", "pelatihan", -77, time(8), time(16),
                   "Aula Dinas Sosial Provinsi DKI Jakarta", "Jl. Gunung Sahari II No. 5, Kemayoran, Jakarta Pusat", 20,
                   (("Dra. Sri Wahyuni, M.Si.", DS), ("Rudi Hartono", BI), ("Yusuf Maulana", BNI), ("Indra Permana", PGO))),
    CurrentSession("gelombang2", "Bimtek Angkatan {year} Gelombang 2", "pelatihan", -6, time(8), time(16),
                   "Aula Kantor Walikota Jakarta Pusat", "Jl. Tanah Abang I No. 1, Petojo Selatan, Gambir, Jakarta Pusat", 15,
                   (("Drs. Agus Salim Nasution", DS), ("Dewi Anggraini", BI), ("Fitri Handayani", BNI), ("Indra Permana", PGO))),
    CurrentSession("gelombang3", "Bimtek Angkatan {year} Gelombang 3", "pelatihan", 8, time(8), time(16),
                   "Ruang Rapat Suku Dinas Sosial Jakarta Pusat", "Jl. Kesehatan No. 13, Petojo Selatan, Gambir, Jakarta Pusat", 8,
                   (("Dra. Sri Wahyuni, M.Si.", DS), ("Rudi Hartono", BI), ("Yusuf Maulana", BNI), ("Maya Sari Lubis", PGO))),
    CurrentSession("klinik-nib", "Klinik Perizinan: NIB lewat OSS", "perizinan", 13, time(9), time(12),
                   "Mal Pelayanan Publik Jakarta Pusat", "Kantor Walikota, Jl. Tanah Abang I No. 1, Gambir, Jakarta Pusat", 20,
                   (("Hendra Gunawan", SpeakerAgency.OTHER), ("Maya Sari Lubis", PGO)),
                   "Pendampingan mengurus Nomor Induk Berusaha (NIB) lewat OSS: siapkan KTP, NPWP bila ada, alamat "
                   "e-Warong dan nomor HP aktif. Bawa laptop atau HP; petugas PTSP membantu sampai NIB terbit."),
    CurrentSession("gelombang4", "Bimtek Angkatan {year} Gelombang 4", "pelatihan", 22, time(8), time(16),
                   "Aula Dinas Sosial Provinsi DKI Jakarta", "Jl. Gunung Sahari II No. 5, Kemayoran, Jakarta Pusat", 25,
                   (("Drs. Agus Salim Nasution", DS), ("Dewi Anggraini", BI), ("Yusuf Maulana", BNI), ("Indra Permana", PGO))),
)


def session_day(today: date, offset: int) -> date:
    """``today`` + ``offset`` days, moved to a weekday (earlier when in the past, later when ahead)."""
    day = today + timedelta(days=offset)
    step = timedelta(days=-1 if offset < 0 else 1)
    while day.weekday() >= 5:
        day += step
    return day


#: what a registration of the current cohort becomes: an attendance mark (past sessions) or a place (upcoming)
Place = Attendance | RegistrationStatus


def seed_current_sessions(cohort: Cohort, today: date, places: dict[str, list[tuple[User, Place]]],
                          *, organiser: User | None = None) -> dict[str, TrainingSession]:
    """The current cohort's sessions (``CURRENT_SESSIONS``) with the given registrations, inside the
    caller's transaction: past ones with attendance marked at their end, upcoming ones open with
    registered seats and a waitlist. The caller refreshes progress. Returns the sessions by key."""
    year = cohort.start_date.year
    region = cohort.regions[0]
    out: dict[str, TrainingSession] = {}
    for spec in CURRENT_SESSIONS:
        day = session_day(today, spec.offset)
        starts_at, ends_at = _utc(day, spec.start), _utc(day, spec.end)
        past = day < today
        announced = _utc(min(day - timedelta(days=14), today - timedelta(days=3)), time(9))
        s = TrainingSession(
            title=spec.title.format(year=year), stage_key=spec.stage_key, cohort_id=cohort.id, region_id=region.id,
            venue_name=spec.venue, venue_address=spec.address, starts_at=starts_at, ends_at=ends_at,
            capacity=spec.capacity, seats_taken=0, description=spec.description, status=SessionStatus.SCHEDULED,
            sequence=0, checkin_secret=secrets.token_hex(32), certificate_kind=default_certificate_kind(spec.stage_key),
            created_by_id=organiser.id if organiser else None, created_at=announced, updated_at=announced,
            speakers=[SessionSpeaker(name=n, name_key=fold(n), agency=a, position=i,
                                     agency_other="PTSP Jakarta Pusat" if a is SpeakerAgency.OTHER else "")
                      for i, (n, a) in enumerate(spec.speakers)])
        db.session.add(s)
        db.session.flush()
        seats = 0
        for i, (user, place) in enumerate(places.get(spec.key, [])):
            signed_up = _utc(min(day - timedelta(days=6), today - timedelta(days=1)) if past else
                             today - timedelta(days=max(1, 6 - i // 2)), time(10, i % 60))
            reg = Registration(session_id=s.id, user_id=user.id, created_at=signed_up, updated_at=signed_up,
                               status=RegistrationStatus.REGISTERED)
            if isinstance(place, Attendance):
                reg.attendance = place
                reg.attendance_marked_at = reg.updated_at = ends_at
                reg.attendance_marked_by_id = organiser.id if organiser else None
                reg.checked_in_by_qr = place is Attendance.PRESENT and i % 3 == 0
            elif place is RegistrationStatus.WAITLISTED:
                reg.status = RegistrationStatus.WAITLISTED
                reg.waitlisted_at = signed_up
            if reg.status is RegistrationStatus.REGISTERED:
                seats += 1
            db.session.add(reg)
        if seats > s.capacity:
            raise ValueError(f"{spec.key}: {seats} seats for a capacity of {spec.capacity}")
        s.seats_taken = seats
        out[spec.key] = s
    db.session.flush()
    return out
