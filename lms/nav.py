"""The main navigation, built once per request.

base.html shows it twice: in the header bar on a desktop (only the items marked ``bar``) and in the
"Menu" list (everything on a phone; on a desktop CSS hides the bar's items there, so the Menu keeps
the rest). Who sees an item is its rule in the rulebook (lms/permissions.py). Add an item as one
``_Item(...)`` line.

Built in Python rather than as a Jinja macro called twice per item: a signed-in page asked the
rulebook, ``url_for`` and the translations some fifty times for a menu that only changes with the
role, the language and the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import g, request, url_for
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from . import permissions


@dataclass(frozen=True)
class _Item:
    rule: str
    endpoint: str
    label: Any  # a lazy string: translated when the menu is built
    bar: bool = False


@dataclass(frozen=True)
class NavLink:
    href: str
    label: str
    bar: bool
    current: bool


ITEMS: tuple[_Item, ...] = (
    _Item("authenticated", "core.home", _l("Beranda"), bar=True),
    _Item("progress.own", "programme.my_progress", _l("Kemajuan Saya"), bar=True),
    _Item("dashboard.view", "dashboard.index", _l("Dasbor"), bar=True),
    _Item("review.queue", "programme.review_queue", _l("Antrean verifikasi"), bar=True),
    _Item("sessions.list", "sessions.schedule", _l("Jadwal Bimtek"), bar=True),
    _Item("cohorts.list", "programme.cohort_list", _l("Angkatan program"), bar=True),
    _Item("outlets.list", "places.outlet_list", _l("e-Warong"), bar=True),
    _Item("outlets.import", "imports.upload", _l("Impor e-Warong")),
    _Item("users.list", "people.user_list", _l("Pengguna")),
    # mentor visits
    _Item("caseload.own", "visits.my_caseload", _l("e-Warong dampingan"), bar=True),
    _Item("caseload.own", "visits.visit_new", _l("Catat kunjungan"), bar=True),
    _Item("visits.mine", "visits.my_visits", _l("Kunjungan pendamping"), bar=True),
    _Item("visits.dashboard", "visits.dashboard", _l("Pendampingan"), bar=True),
    _Item("caseloads.manage", "visits.caseloads", _l("Penugasan pendamping")),
    # certificates
    _Item("certificates.own", "certification.mine", _l("Sertifikat Saya"), bar=True),
    _Item("certificates.manage", "certification.index", _l("Sertifikat"), bar=True),
    _Item("certificates.branding", "branding.index", _l("Tampilan sertifikat")),
    # exports and the audit log
    _Item("exports.download", "reports.index", _l("Ekspor data")),
    _Item("audit.view", "audit.log", _l("Log audit")),
    # notifications
    _Item("broadcast.send", "notifications.broadcast", _l("Kirim pesan")),
    _Item("notifications.outbox", "notifications.outbox", _l("Kotak keluar pesan")),
    # personal data (UU PDP) and the API
    _Item("privacy.requests", "privacy.request_list", _l("Permintaan data pribadi")),
    _Item("privacy.admin", "privacy.access_log", _l("Siapa melihat data")),
    _Item("privacy.admin", "privacy.retention", _l("Masa simpan data")),
    _Item("privacy.admin", "privacy.breach_list", _l("Kebocoran data")),
    _Item("webhooks.manage", "webhooks.index", _l("Webhook")),
)

#: (language, script root, the visible items' indexes) -> (href, label, bar, endpoint) per item; a
#: handful of entries: one per role and language
_BUILT: dict[tuple[str, str, tuple[int, ...]], tuple[tuple[str, str, bool, str], ...]] = {}


def nav_links(user: Any) -> tuple[NavLink, ...]:
    """The items ``user`` may open, in menu order, with the current page marked. Once per request."""
    cached = g.get("_lms_nav")
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    visible = tuple(i for i, item in enumerate(ITEMS) if permissions.can(user, item.rule))
    locale = get_locale()
    key = (str(locale) if locale else "", request.script_root, visible)
    built = _BUILT.get(key)
    if built is None:
        built = tuple((url_for(ITEMS[i].endpoint), str(ITEMS[i].label), ITEMS[i].bar, ITEMS[i].endpoint)
                      for i in visible)
        _BUILT[key] = built
    endpoint = request.endpoint
    links = tuple(NavLink(href, label, bar, ep == endpoint) for href, label, bar, ep in built)
    g._lms_nav = links
    return links
