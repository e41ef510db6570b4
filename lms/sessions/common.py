"""Shared pieces of the sessions area: limits, small helpers, the certificate designs a session may give, and the locks.
"""
from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
import sqlalchemy as sa
from flask import current_app
from flask_babel import format_date, format_time
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from ..db import built, utcnow
from ..extensions import db
from ..i18n import WIB, to_wib
from ..people.models import User
from ..programme import services as programme
from ..programme.models import Cohort
from .models import Attendance, RegistrationStatus, SessionSpeaker, SpeakerAgency, TrainingSession


#: speaker rows a session may have
MAX_SPEAKERS = 6
#: extra dates of a series created in one step
MAX_SERIES_DATES = 20
MAX_CAPACITY = 5000
MAX_DURATION = timedelta(hours=24)
#: the range of a session's dates (WIB): the programme began in 2018, so no session is earlier (a Bimtek held
#: before the system was used can be recorded back to then); planning more than two years ahead is a typing error
EARLIEST_SESSION_DATE = date(2018, 1, 1)
SESSION_YEARS_AHEAD = 2
#: ``SessionInput.certificate_kind`` default: the first certificate design that allows the session's step
DEFAULT_CERTIFICATE = "default"
#: group registration: who "Daftarkan" reaches
GROUP_STEP = "step"
GROUP_COHORT = "cohort"
GROUP_SCOPES = (GROUP_STEP, GROUP_COHORT)
#: the check-in QR changes every CHECKIN_STEP seconds; the current and the previous code are accepted
CHECKIN_STEP = 60
CHECKIN_TOKEN_LENGTH = 16
#: the check-in window: from this long before the start to this long after the end
CHECKIN_MARGIN = timedelta(minutes=30)
#: after opening the check-in page, the trainee has this long to press "Saya hadir"
CHECKIN_TICKET_SECONDS = 300
#: a cancelled session is announced on its registrants' home page until this long after its start
CANCELLED_NOTICE = timedelta(days=7)
#: the calendar feed of staff reaches back this far
FEED_HISTORY = timedelta(days=365)

ACTIVE = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)
ATTENDED = (Attendance.PRESENT, Attendance.LATE)

AGENCY_LABELS = {
    SpeakerAgency.DINAS_SOSIAL: _l("Dinas Sosial"),
    SpeakerAgency.BANK_INDONESIA: _l("Bank Indonesia"),
    SpeakerAgency.BNI: _l("BNI"),
    SpeakerAgency.PGO_OKOCE: _l("PGO OK OCE"),
    SpeakerAgency.OTHER: _l("Lainnya"),
}


# --- small helpers ----------------------------------------------------------------------------

def fold(text: str) -> str:
    """Lower-cased with whitespace folded: how venues and speakers are compared."""
    return " ".join((text or "").split()).lower()


def as_utc(value: datetime) -> datetime:
    """A datetime typed in WIB (naive, from a datetime-local input) or an aware one, as aware UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=WIB)
    return value.astimezone(timezone.utc)


def wib_day_start(day: date) -> datetime:
    """00:00 WIB of ``day`` as aware UTC."""
    return datetime.combine(day, time(0), tzinfo=WIB).astimezone(timezone.utc)


def when_text(starts_at: datetime, ends_at: datetime) -> str:
    """"10 Apr 2018, 08.00–16.00 WIB" in the interface language."""
    if to_wib(starts_at).date() == to_wib(ends_at).date():
        return f"{format_date(starts_at, 'medium')}, {format_time(starts_at, 'short')}–{format_time(ends_at, 'short')} WIB"
    return (f"{format_date(starts_at, 'medium')} {format_time(starts_at, 'short')} – "
            f"{format_date(ends_at, 'medium')} {format_time(ends_at, 'short')} WIB")


def wib_minute(value: datetime) -> str:
    return f"{format_date(value, 'medium')} {format_time(value, 'short')} WIB"


def latest_session_date(today: date | None = None) -> date:
    """The last day a session may be on: today (WIB) plus two years (29 Feb -> 28 Feb)."""
    today = today or to_wib(utcnow()).date()
    try:
        return today.replace(year=today.year + SESSION_YEARS_AHEAD)
    except ValueError:
        return today.replace(year=today.year + SESSION_YEARS_AHEAD, day=28)


def _date_problem(value: datetime, now: datetime) -> str | None:
    """The range message when ``value`` (naive WIB, or aware) is outside the session date range.

    Checked on the value as typed, before any time-zone arithmetic (year 9999 plus seven hours overflows)."""
    from ..forms_common import out_of_range

    day = value.date()
    if value.tzinfo is not None:
        try:
            day = value.astimezone(WIB).date()
        except (OverflowError, ValueError):
            pass
    return out_of_range(day, EARLIEST_SESSION_DATE, latest_session_date(to_wib(now).date()))


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


# --- certificate designs (data: certificates/<design>/metadata.yaml) ---------------------------

def certificate_designs() -> list[Any]:
    """The certificate designs a session can give (``subject: session``), in folder order."""
    return [d for d in current_app.extensions.get("lms.certificate_designs", {}).values() if d.subject == "session"]


def design_allows(design: Any, stage_key: str) -> bool:
    """A design's ``session_stages`` (none listed: every step) allow a session on ``stage_key``."""
    return not design.session_stages or stage_key in design.session_stages


def certificate_options(stage_key: str | None = None) -> list[Any]:
    """The designs a session on ``stage_key`` may give (every session design when no step is given)."""
    return [d for d in certificate_designs() if stage_key is None or design_allows(d, stage_key)]


def default_certificate_kind(stage_key: str) -> str | None:
    """What a new session on ``stage_key`` gives unless the coordinator chooses otherwise."""
    allowed_ = certificate_options(stage_key)
    return allowed_[0].kind if allowed_ else None


def certificate_label(kind: str | None) -> str:
    """The design's name in the interface language ("Tanpa sertifikat" for None)."""
    if not kind:
        return _("Tanpa sertifikat")
    for d in certificate_designs():
        if d.kind == kind:
            return str(d.label(_lang()))
    return kind


def stage_label(cohort: Cohort | None, stage_key: str) -> str:
    """A step's name ("Pelatihan") from the cohort's curriculum, or the key when unknown."""
    try:
        cur = programme.curriculum_for(cohort) if cohort is not None else programme.default_curriculum()
        return str(cur.stage(stage_key).name.get(_lang()))
    except (KeyError, LookupError, ValueError):
        return stage_key


def stages_text(design: Any, cohort: Cohort | None) -> str:
    """The steps a design allows, by name: "Pelatihan" or "Pelatihan, Pemasaran"."""
    return ", ".join(stage_label(cohort, k) for k in design.session_stages)


def speaker_label(sp: SessionSpeaker) -> str:
    agency = sp.agency_other if sp.agency is SpeakerAgency.OTHER and sp.agency_other else str(AGENCY_LABELS[sp.agency])
    return f"{sp.name} ({agency})"


def _lock_schedule() -> None:
    """Serialise clash checks with other schedulers (SQLite: BEGIN IMMEDIATE already does)."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(sa.text("SELECT pg_advisory_xact_lock(7245001)"))


def _lock_user(user_id: int) -> None:
    """One registration change per trainee at a time (PostgreSQL row lock; SQLite: BEGIN IMMEDIATE)."""
    # FOR NO KEY UPDATE: it does not block the key-share locks that foreign keys to the user take
    db.session.execute(built(("lock_user",), lambda: sa.select(User.id).where(
        User.id == sa.bindparam("user_id")).with_for_update(key_share=True)), {"user_id": user_id})


def _fresh(session_id: int, lock: bool = False) -> TrainingSession:
    def build() -> sa.Select[tuple[TrainingSession]]:
        q = (sa.select(TrainingSession).where(TrainingSession.id == sa.bindparam("session_id"))
             .execution_options(populate_existing=True))
        return q.with_for_update(key_share=True) if lock else q

    return db.session.execute(built(("fresh_session", lock), build), {"session_id": session_id}).scalar_one()
