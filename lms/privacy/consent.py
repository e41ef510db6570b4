"""Consent decisions (UU PDP Pasal 20–24): the programme's notice and WhatsApp messages.

Every decision is a new ``Consent`` row (kind, given or not, the notice version, time, source);
nothing is overwritten. ``users.notice_version`` copies the accepted version so the sign-in gate
(notice.py) needs no query per request. WhatsApp consent is kept in step with the notification
area's ``NotificationPreference.whatsapp_opt_in`` (which the dispatcher checks at send time):
every path that changes the opt-in — the consent page, the privacy page, the notification
preferences page (lms/notifications/services.py) and the seed/import helper — goes through
``apply_whatsapp`` here, so both pages always agree and every change leaves a Consent row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..audit import services as audit
from ..db import transaction, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..notifications.models import NotificationPreference
from ..people.models import User
from .models import Consent, ConsentKind

#: where a decision was made (Consent.source) and how the pages name it
SOURCE_LABELS: dict[str, Any] = {
    "first_sign_in": _l("saat pertama kali masuk"),
    "notice_change": _l("setelah pemberitahuan privasi diperbarui"),
    "renewal": _l("persetujuan ulang setelah ditarik"),
    "profile": _l("di halaman akun"),
    "import": _l("impor spreadsheet"),
    "admin": _l("dicatat admin"),
    "seed": _l("data demo"),
}

KIND_LABELS: dict[ConsentKind, Any] = {
    ConsentKind.PROGRAMME: _l("Pemrosesan data untuk program 7 PAS"),
    ConsentKind.WHATSAPP: _l("Pesan WhatsApp"),
}


def source_label(source: str | None) -> str:
    label = SOURCE_LABELS.get(source or "")
    return str(label) if label is not None else (source or "–")


def current_version() -> str:
    """The version of the notice in force (LMS_PRIVACY_NOTICE_VERSION)."""
    return str(current_app.config["PRIVACY_NOTICE_VERSION"])


def has_accepted(user: Any) -> bool:
    """Has the person accepted the notice now in force? (No query: users.notice_version.)"""
    return bool(getattr(user, "notice_version", None)) and user.notice_version == current_version()


#: the privacy page shows this many decisions, newest first
HISTORY_SHOWN = 200


def history(user: Any, limit: int = HISTORY_SHOWN) -> list[Consent]:
    """The person's decisions, newest first (one query)."""
    return list(db.session.scalars(sa.select(Consent).where(Consent.user_id == user.id)
                                   .order_by(Consent.at.desc(), Consent.id.desc()).limit(limit)))


@dataclass
class ConsentState:
    """What holds now, for the person's privacy page."""

    #: the newest programme decision (None: never decided)
    programme: Consent | None
    #: has the person accepted the notice now in force
    accepted_current: bool
    #: the version they accepted (users.notice_version), None when never or withdrawn
    accepted_version: str | None
    #: WhatsApp as the dispatcher sees it (NotificationPreference.whatsapp_opt_in)
    whatsapp: bool
    #: the newest WhatsApp decision row (None for a choice older than the consents table)
    whatsapp_row: Consent | None
    #: when and where the WhatsApp choice was made, from the preference when there is no row
    whatsapp_at: datetime | None
    whatsapp_source: str | None
    history: list[Consent]


def state(user: User) -> ConsentState:
    rows = history(user)
    newest: dict[ConsentKind, Consent] = {}
    for row in rows:
        newest.setdefault(row.kind, row)
    pref = db.session.get(NotificationPreference, user.id)
    wa = bool(pref and pref.whatsapp_opt_in)
    wa_row = newest.get(ConsentKind.WHATSAPP)
    if wa_row is not None and wa_row.granted == wa:
        wa_at, wa_source = wa_row.at, wa_row.source
    elif pref is not None:
        wa_at = pref.whatsapp_opt_in_at if wa else pref.whatsapp_opt_out_at
        wa_source = pref.whatsapp_opt_in_source if wa else None
    else:
        wa_at, wa_source = None, None
    return ConsentState(programme=newest.get(ConsentKind.PROGRAMME), accepted_current=has_accepted(user),
                        accepted_version=user.notice_version, whatsapp=wa, whatsapp_row=wa_row,
                        whatsapp_at=wa_at, whatsapp_source=wa_source, history=rows)


def whatsapp_opted_in(user: User) -> bool:
    """Does the person receive WhatsApp now (the preference the dispatcher checks)?"""
    pref = db.session.get(NotificationPreference, user.id)
    return bool(pref and pref.whatsapp_opt_in)


def gate_source(user: User) -> str:
    """Why the person is asked now: "notice_change" (they had accepted an older version),
    "renewal" (they withdrew earlier) or "first_sign_in"."""
    if user.notice_version:
        return "notice_change"
    had = db.session.scalar(sa.select(sa.literal(True)).where(
        Consent.user_id == user.id, Consent.kind == ConsentKind.PROGRAMME).limit(1))
    return "renewal" if had else "first_sign_in"


def _add(user: User, kind: ConsentKind, granted: bool, source: str, at: datetime | None = None) -> Consent:
    row = Consent(user_id=user.id, kind=kind, granted=granted, notice_version=current_version(),
                  source=source[:40], at=at or utcnow())
    db.session.add(row)
    return row


# --- WhatsApp: one way to change the opt-in -------------------------------------------------------

def apply_whatsapp(actor: Any, user: User, opt_in: bool, source: str, *, always_record: bool = False,
                   pref: NotificationPreference | None = None) -> bool:
    """Change the person's WhatsApp opt-in inside the caller's transaction. When it changes: the
    preference's fields, a Consent row and an audit entry (``whatsapp.opt_in`` / ``whatsapp.opt_out``,
    the names the notification area has always recorded). With ``always_record`` (a decision asked
    for explicitly, as on the consent page) the Consent row is written even when nothing changes.
    Returns whether the opt-in changed."""
    pref = pref if pref is not None else db.session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id, email_enabled=True, whatsapp_opt_in=False)
        db.session.add(pref)
    before = bool(pref.whatsapp_opt_in)
    now = utcnow()
    if opt_in and not before:
        pref.whatsapp_opt_in = True
        pref.whatsapp_opt_in_at = now
        pref.whatsapp_opt_in_source = source
        pref.whatsapp_opt_out_at = None
        audit.record("whatsapp.opt_in", actor=actor, target=user, source=source, notice_version=current_version())
    elif not opt_in and before:
        pref.whatsapp_opt_in = False
        pref.whatsapp_opt_out_at = now
        audit.record("whatsapp.opt_out", actor=actor, target=user, source=source, notice_version=current_version())
    changed = before != bool(opt_in)
    if changed or always_record:
        _add(user, ConsentKind.WHATSAPP, bool(opt_in), source, now)
    return changed


def record_given_whatsapp(user: User, *, source: str, at: datetime | None = None) -> None:
    """WhatsApp consent given elsewhere (an import with a consent column, the demo seed), inside the
    caller's transaction: the preference and a Consent row with the time it was given."""
    pref = db.session.get(NotificationPreference, user.id)
    if pref is None:
        pref = NotificationPreference(user_id=user.id)
        db.session.add(pref)
    when = at or utcnow()
    pref.whatsapp_opt_in = True
    pref.whatsapp_opt_in_at = when
    pref.whatsapp_opt_in_source = source
    pref.whatsapp_opt_out_at = None
    _add(user, ConsentKind.WHATSAPP, True, source, when)


def set_whatsapp(actor: Any, opt_in: bool, source: str = "profile") -> bool:
    """The person opts in to WhatsApp messages or out of them. Opting in needs the programme's notice
    accepted (the messages are about the programme). Returns whether anything changed."""
    user = _self(actor)
    if opt_in and not has_accepted(user):
        raise Invalid(_("Setujui dulu pemberitahuan privasi program sebelum memilih menerima WhatsApp."))
    with transaction():
        return apply_whatsapp(user, user, bool(opt_in), source)


# --- the programme's notice -----------------------------------------------------------------------

def _self(actor: Any) -> User:
    if not getattr(actor, "is_authenticated", False) or not getattr(actor, "id", None):
        raise NotAllowed()
    return actor  # type: ignore[no-any-return]


def accept_notice(actor: Any, whatsapp: bool | None, source: str) -> Consent:
    """The person read and accepted the notice now in force, and chose about WhatsApp: two Consent
    rows (the WhatsApp choice recorded even when unchanged: it was asked), their accepted version,
    the preference, and the audit entry. ``whatsapp`` None: not asked (an account without a phone
    number), the WhatsApp choice stays as it was."""
    user = _self(actor)
    version = current_version()
    with transaction():
        row = _add(user, ConsentKind.PROGRAMME, True, source)
        if whatsapp is not None:
            apply_whatsapp(user, user, bool(whatsapp), source, always_record=True)
        user.notice_version = version
        audit.record("privacy.notice_accepted", actor=user, target=user, notice_version=version, source=source,
                     whatsapp=whatsapp)
    return row


def decline_notice(actor: Any, source: str) -> Consent | None:
    """The person said no to the notice: recorded once per version (pressing again adds nothing)."""
    user = _self(actor)
    version = current_version()
    with transaction():
        last = db.session.scalars(sa.select(Consent).where(
            Consent.user_id == user.id, Consent.kind == ConsentKind.PROGRAMME)
            .order_by(Consent.at.desc(), Consent.id.desc()).limit(1)).first()
        if last is not None and not last.granted and last.notice_version == version:
            return None
        row = _add(user, ConsentKind.PROGRAMME, False, source)
        audit.record("privacy.notice_declined", actor=user, target=user, notice_version=version, source=source)
    return row


def withdraw(actor: Any, kind: ConsentKind | str, source: str = "profile") -> bool:
    """The person withdraws a consent (Pasal 9). The programme: their accepted version is cleared, so
    every page but the notice, the consent page and their privacy pages asks again, and WhatsApp
    (messages about the programme) stops too. WhatsApp: the opt-in ends. Returns whether anything
    was in force to withdraw."""
    user = _self(actor)
    kind = ConsentKind(kind)
    with transaction():
        if kind is ConsentKind.WHATSAPP:
            return apply_whatsapp(user, user, False, source)
        if not user.notice_version:
            return False
        _add(user, ConsentKind.PROGRAMME, False, source)
        apply_whatsapp(user, user, False, source)
        audit.record("privacy.consent_withdrawn", actor=user, target=user, kind=kind.value,
                     notice_version=user.notice_version, source=source)
        user.notice_version = None
    return True
