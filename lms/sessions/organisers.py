"""Who a session is "diselenggarakan oleh" (organised by), as printed on its certificates.

A session may name its co-hosting agencies (``TrainingSession.organisers``, chosen on the session
form); when it names none, they are the agencies of its speakers, in the speakers' order, each once.
The certificate copies the list when it is issued (``Certificate.details["organisers"]``), so a later
change of the session never alters an issued certificate.
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from flask_babel import gettext as _

from .models import SpeakerAgency

#: the known agencies as printed on a certificate (proper names: not translated)
KNOWN: dict[SpeakerAgency, str] = {
    SpeakerAgency.DINAS_SOSIAL: "Dinas Sosial Provinsi DKI Jakarta",
    SpeakerAgency.BANK_INDONESIA: "Bank Indonesia",
    SpeakerAgency.BNI: "BNI",
    SpeakerAgency.PGO_OKOCE: "PGO OK OCE",
}
KNOWN_NAMES: tuple[str, ...] = tuple(KNOWN.values())
MAX_ORGANISERS = 8
MAX_LENGTH = 160
_SEPARATORS = re.compile(r"[;,\n\r]+")


def _fold(text: str) -> str:
    return " ".join(text.split()).casefold()


def unique(names: Iterable[str]) -> list[str]:
    """Whitespace folded, empty ones dropped, each name once (the first spelling), in order."""
    seen: set[str] = set()
    out: list[str] = []
    for name in names:
        name = " ".join((name or "").split())
        if name and _fold(name) not in seen:
            seen.add(_fold(name))
            out.append(name)
    return out


def from_speakers(speakers: Iterable[Any]) -> list[str]:
    """The agencies of ``speakers`` (SessionSpeaker rows, in their order), each once."""
    names = []
    for sp in speakers:
        if sp.agency is SpeakerAgency.OTHER:
            names.append(sp.agency_other or "")
        else:
            names.append(KNOWN.get(sp.agency, ""))
    return unique(names)


def organisers_of(session: Any) -> list[str]:
    """What the session's certificates print as its organisers: its own list, else its speakers' agencies."""
    return list(session.organisers) if session.organisers else from_speakers(session.speakers)


def split_other(text: str) -> list[str]:
    """Agencies typed in the free-text field: one per line, or separated by semicolons or commas."""
    return [p for p in (" ".join(part.split()) for part in _SEPARATORS.split(text or "")) if p]


def clean(names: list[str] | None) -> tuple[list[str] | None, list[str]]:
    """The organisers to store (None: none chosen, the speakers' agencies apply) and the problems."""
    chosen = unique(names or [])
    problems = []
    if any(len(n) > MAX_LENGTH for n in chosen):
        problems.append(_("Nama penyelenggara paling panjang %(n)d karakter.", n=MAX_LENGTH))
    if len(chosen) > MAX_ORGANISERS:
        problems.append(_("Paling banyak %(n)d penyelenggara.", n=MAX_ORGANISERS))
    return (chosen or None), problems
