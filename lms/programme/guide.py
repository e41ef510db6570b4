"""What the trainee should do next: one sentence and at most one primary action.

The tracker (``/progress``) and the trainee's home page both show ``next_step``: the current
stage's first milestone that is not met decides it. A stage whose evidence waits for a reviewer
has no action (the sentence says what it waits for); a returned submission is fixed first.
Locked (later) stages never get a primary action.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_babel import format_date
from flask_babel import gettext as _

from ..db import utcnow
from ..extensions import db
from .models import Enrolment, Evidence, EvidenceStatus, FinancialReport
from .progress import MilestoneState, Progress, StageState

#: the evidence form (URL part) of each evidence type
URL_KIND = {"licence": "licence", "marketing": "marketing", "financial_report": "report", "financing": "financing"}


def _new_label(evidence_type: str) -> str:
    return {"licence": _("Catat izin usaha"), "marketing": _("Catat langkah pemasaran"),
            "financing": _("Catat pengajuan modal")}.get(evidence_type, _("Isi formulir"))


def _what(evidence_type: str) -> str:
    return {"licence": _("Izin usaha"), "marketing": _("Langkah pemasaran"), "financing": _("Pengajuan modal"),
            "financial_report": _("Laporan keuangan")}.get(evidence_type, _("Bukti"))


def month_label(month: date) -> str:
    return format_date(month, "MMMM yyyy")


@dataclass(frozen=True)
class Action:
    label: str
    endpoint: str
    args: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class NextStep:
    #: one sentence: what to do next (or what the stage waits for)
    sentence: str
    #: none | profile | register | attend | waitlisted | no_sessions | visits | new | draft | fix | waiting |
    #: report | reports_waiting | done | ended
    kind: str
    stage: StageState | None = None
    milestone: MilestoneState | None = None
    #: the one primary action, if the trainee can do something now
    action: Action | None = None
    #: the reviewer's comment when the next step is fixing a returned submission
    comment: str | None = None


@dataclass(frozen=True)
class SessionFacts:
    """The trainee's Bimtek situation for one stage."""

    #: (session id, title, starts_at, venue) of my next registration, and whether I am waitlisted
    mine: tuple[int, str, datetime, str] | None = None
    waitlisted: bool = False
    #: open sessions of the stage I have not registered for
    open_count: int = 0


def session_facts(user: Any, stage_key: str, now: datetime | None = None) -> SessionFacts:
    """Two small queries (columns only: the session model's other columns do not matter here)."""
    from ..sessions.models import Registration, RegistrationStatus, SessionStatus, TrainingSession
    from ..sessions.rules import open_scope

    now = now or utcnow()
    active = (RegistrationStatus.REGISTERED, RegistrationStatus.WAITLISTED)
    row = db.session.execute(
        sa.select(TrainingSession.id, TrainingSession.title, TrainingSession.starts_at, TrainingSession.venue_name,
                  Registration.status)
        .join(Registration, Registration.session_id == TrainingSession.id)
        .where(Registration.user_id == user.id, Registration.status.in_(active),
               TrainingSession.stage_key == stage_key, TrainingSession.status == SessionStatus.SCHEDULED,
               TrainingSession.ends_at >= now)
        .order_by(TrainingSession.starts_at).limit(1)).first()
    open_count = db.session.scalar(
        sa.select(sa.func.count()).select_from(TrainingSession)
        .where(open_scope(user), TrainingSession.stage_key == stage_key,
               TrainingSession.status == SessionStatus.SCHEDULED, TrainingSession.starts_at > now,
               TrainingSession.id.not_in(sa.select(Registration.session_id).where(
                   Registration.user_id == user.id, Registration.status.in_(active))))) or 0
    if row is None:
        return SessionFacts(open_count=open_count)
    return SessionFacts(mine=(row[0], row[1], row[2], row[3]), waitlisted=row[4] is RegistrationStatus.WAITLISTED,
                        open_count=open_count)


def _first_open_milestone(stage: StageState) -> MilestoneState | None:
    """The first unmet milestone the trainee can act on; else the first unmet one (it waits)."""
    unmet = [m for m in stage.milestones if not m.met]
    for m in unmet:
        if m.milestone.kind != "verified" or m.evidence_state != "submitted":
            return m
    return unmet[0] if unmet else None


def _returned_reports(evidence: list[Evidence]) -> list[FinancialReport]:
    return sorted((e for e in evidence if isinstance(e, FinancialReport) and e.status is EvidenceStatus.RETURNED),
                  key=lambda r: r.month)


def next_step(enrolment: Enrolment, progress: Progress, evidence: list[Evidence], lang: str,
              *, now: datetime | None = None) -> NextStep:
    """The next thing to do on ``enrolment`` (``evidence``: the outlet's, as ``outlet_evidence`` gives)."""
    from .services import default_report_month, this_month

    if enrolment.status.value != "active":
        return NextStep(_("Pendaftaran ini sudah berakhir."), "ended")
    stage = next((s for s in progress.stages if s.status == "current"), None)
    if stage is None:
        return NextStep(_("Selamat! Ketujuh langkah 7 PAS sudah selesai."), "done",
                        action=Action(_("Lihat sertifikat saya"), "certification.mine"))
    ms = _first_open_milestone(stage)
    if ms is None:  # every milestone met: the summary will move on
        return NextStep(_("Langkah %(stage)s sudah terpenuhi.", stage=stage.stage.name.get(lang)), "none", stage)
    m = ms.milestone
    step = {"stage": stage, "milestone": ms}
    if m.kind == "automatic" and m.rule == "profile_complete":
        return NextStep(_("Lengkapi profil Anda dan e-Warong Anda; minta bantuan koordinator wilayah bila ada yang salah."),
                        "profile", action=Action(_("Lihat data e-Warong"), "places.outlet_detail",
                                                 {"outlet_id": enrolment.outlet_id}), **step)
    if m.kind == "automatic" and m.rule == "sessions_attended":
        facts = session_facts(enrolment.user, stage.stage.key, now)
        if facts.mine is not None:
            sid, title, starts, _venue = facts.mine
            from ..i18n import wib_datetime

            if facts.waitlisted:
                return NextStep(_("Anda ada di daftar tunggu %(title)s (%(when)s); kursi yang kosong diberikan "
                                  "berurutan.", title=title, when=wib_datetime(starts, "d MMM yyyy, HH:mm")),
                                "waitlisted", action=Action(_("Lihat sesi"), "sessions.session_detail",
                                                            {"session_id": sid}), **step)
            return NextStep(_("Hadiri %(title)s pada %(when)s dan lakukan check-in di tempat.", title=title,
                              when=wib_datetime(starts, "d MMM yyyy, HH:mm")),
                            "attend", action=Action(_("Lihat sesi saya"), "sessions.session_detail",
                                                    {"session_id": sid}), **step)
        if facts.open_count:
            return NextStep(_("Daftar ke jadwal Bimtek %(stage)s yang terbuka untuk Anda, lalu hadir tepat waktu.",
                              stage=stage.stage.name.get(lang)),
                            "register", action=Action(_("Daftar Bimtek"), "sessions.schedule",
                                                      {"stage": stage.stage.key}), **step)
        return NextStep(_("Belum ada jadwal Bimtek %(stage)s yang terbuka untuk Anda; koordinator wilayah akan "
                          "mengumumkannya.", stage=stage.stage.name.get(lang)),
                        "no_sessions", action=Action(_("Lihat jadwal Bimtek"), "sessions.schedule",
                                                     {"stage": stage.stage.key}), **step)
    if m.kind == "automatic" and m.rule == "mentor_visits":
        return NextStep(_("Tunggu kunjungan pendamping: %(count)d dari %(total)d kunjungan sudah tercatat.",
                          count=min(ms.count, ms.threshold), total=ms.threshold),
                        "visits", action=Action(_("Riwayat pendampingan"), "visits.outlet_timeline",
                                                {"outlet_id": enrolment.outlet_id}), **step)
    if m.kind == "automatic" and m.rule == "consecutive_reports":
        returned = _returned_reports(evidence)
        if returned:
            r = returned[0]
            return NextStep(_("Laporan %(month)s dikembalikan oleh peninjau: perbaiki lalu kirim ulang.",
                              month=month_label(r.month)), "fix",
                            action=Action(_("Perbaiki laporan"), "programme.evidence_edit", {"evidence_id": r.id}),
                            comment=r.review_comment, **step)
        month = default_report_month(enrolment.outlet_id)
        done = min(ms.count, ms.threshold)
        if month is not None and month < this_month():
            return NextStep(_("Kirim laporan keuangan %(month)s: %(done)d dari %(total)d bulan berturut-turut sudah "
                              "terverifikasi.", month=month_label(month), done=done, total=ms.threshold),
                            "report", action=Action(_("Kirim laporan %(month)s", month=month_label(month)),
                                                    "programme.evidence_new",
                                                    {"outlet_id": enrolment.outlet_id, "kind": "report"}), **step)
        # up to date: the month under way is reported once it has ended
        pending = sorted(e.month for e in evidence
                         if isinstance(e, FinancialReport) and e.status is EvidenceStatus.SUBMITTED)
        if pending:
            return NextStep(_("Laporan %(months)s menunggu verifikasi; %(done)d dari %(total)d bulan berturut-turut "
                              "sudah terverifikasi.", months=", ".join(month_label(m) for m in pending[-3:]),
                              done=done, total=ms.threshold), "reports_waiting", **step)
        return NextStep(_("Laporan Anda sudah sampai bulan lalu; kirim laporan %(month)s setelah bulan itu berakhir.",
                          month=month_label(this_month())), "reports_waiting", **step)
    # verified evidence
    ev_type = m.evidence or ""
    state = ms.evidence_state
    if state == "returned" and ms.evidence_id:
        comment = next((e.review_comment for e in evidence if e.id == ms.evidence_id), None)
        return NextStep(_("%(what)s dikembalikan oleh peninjau: perbaiki lalu kirim ulang.", what=_what(ev_type)),
                        "fix", action=Action(_("Perbaiki"), "programme.evidence_edit",
                                             {"evidence_id": ms.evidence_id}), comment=comment, **step)
    if state == "submitted":
        return NextStep(_("%(what)s Anda sedang menunggu verifikasi; Anda akan melihat hasilnya di sini.",
                          what=_what(ev_type)), "waiting", **step)
    if state == "draft" and ms.evidence_id:
        if ev_type == "financing":
            sentence = _("Perbarui status pengajuan modal Anda setelah pemberi modal memutuskan; yang disetujui "
                         "diverifikasi koordinator.")
            label = _("Perbarui pengajuan modal")
        else:
            sentence = _("Lanjutkan %(what)s yang belum dikirim untuk verifikasi.", what=_what(ev_type).lower())
            label = _("Lanjutkan")
        return NextStep(sentence, "draft", action=Action(label, "programme.evidence_edit",
                                                         {"evidence_id": ms.evidence_id}), **step)
    return NextStep(m.todo.get(lang), "new",
                    action=Action(_new_label(ev_type), "programme.evidence_new",
                                  {"outlet_id": enrolment.outlet_id, "kind": URL_KIND.get(ev_type, ev_type)}), **step)
