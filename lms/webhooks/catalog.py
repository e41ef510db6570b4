"""Which domain events an endpoint may receive, with the labels admins read.

Every event of ``lms.outbox.EVENTS`` is either offered (``OFFERED``) or deliberately not
(``NOT_OFFERED``, with the reason); tests/test_webhooks.py fails when a new event is neither,
so adding an event makes someone decide.
"""
from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

#: event name → what an admin reads next to its checkbox
OFFERED: dict[str, Any] = {
    "evidence.submitted": _l("Bukti dikirim untuk ditinjau"),
    "evidence.verified": _l("Bukti diverifikasi"),
    "evidence.returned": _l("Bukti dikembalikan untuk diperbaiki"),
    "stage.completed": _l("Tahap 7 PAS selesai"),
    "session.created": _l("Bimtek dijadwalkan"),
    "session.changed": _l("Jadwal Bimtek berubah"),
    "session.cancelled": _l("Bimtek dibatalkan"),
    "registration.confirmed": _l("Pendaftaran Bimtek dikonfirmasi"),
    "registration.waitlisted": _l("Pendaftar masuk daftar tunggu"),
    "registration.promoted": _l("Pendaftar naik dari daftar tunggu"),
    "registration.cancelled": _l("Pendaftaran Bimtek dibatalkan"),
    "attendance.recorded": _l("Kehadiran Bimtek dicatat"),
    "visit.logged": _l("Kunjungan pendamping dicatat"),
    "certificate.issued": _l("Sertifikat terbit"),
    "certificate.revoked": _l("Sertifikat dicabut"),
    "account.created": _l("Akun baru dibuat"),
}

#: events no endpoint may receive, and why (for the reader of this file and the tests)
NOT_OFFERED: dict[str, str] = {
    "password.reset": "carries a set-up link: a secret for one person only",
    "auth.code_requested": "carries a sign-in code: a secret for one person only",
    "action_item.due": "a reminder for the people involved, not a change of data",
    "import.finished": "the imported outlets and accounts arrive through the API's updated_since sync",
    "broadcast.sent": "a message to people, not a change of data",
    "privacy.request_created": "personal data requests stay inside the Dinas (UU PDP)",
    "privacy.request_answered": "personal data requests stay inside the Dinas (UU PDP)",
    "privacy.breach_notice": "a letter to the affected people, not for other systems",
    "privacy.export_ready": "a person's copy of their own data",
    "reminder.session_tomorrow": "a reminder, not a change of data",
    "reminder.session_today": "a reminder, not a change of data",
    "reminder.report_due": "a reminder, not a change of data",
    "reminder.mentor_digest": "a reminder, not a change of data",
    "reminder.review_summary": "a reminder, not a change of data",
}

#: the test event an admin sends from the endpoint's page (never announced in the outbox)
PING = "webhook.ping"


def label(event: str) -> str:
    if event == PING:
        return str(_l("Uji coba (ping)"))
    value = OFFERED.get(event)
    return str(value) if value is not None else event


def choices() -> list[tuple[str, str]]:
    return [(name, f"{label(name)} ({name})") for name in OFFERED]
