"""The visits CSV export, read in batches.
"""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any, Iterator
import sqlalchemy as sa
from flask_babel import gettext as _
from .. import permissions
from ..audit.services import record
from ..db import transaction
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..i18n import to_wib
from ..people.models import User
from ..places.models import Kecamatan, Outlet, Region
from ..programme.models import Enrolment
from .models import ActionItem, Visit, VisitPhoto
from .caseloads import _region_where
from .reading import stage_names
from .status import SANE_YEARS, wib_start_utc


# --- CSV export --------------------------------------------------------------------------------

EXPORT_BATCH = 500


def export_header() -> list[str]:
    return [_("ID kunjungan"), _("Tanggal (WIB)"), _("Jam (WIB)"), _("Kode e-Warong"), _("Nama e-Warong"),
            _("Wilayah"), _("Kecamatan"), _("Pendamping"), _("Jenis"), _("Durasi (menit)"), _("Langkah dibahas"),
            _("Pengamatan dan masalah"), _("Catatan internal"), _("Rencana kunjungan berikutnya"), _("Lintang"),
            _("Bujur"), _("Akurasi lokasi (m)"), _("Tindak lanjut"), _("Tindak lanjut terbuka"), _("Foto")]


def kind_labels() -> dict[str, str]:
    return {"field_visit": _("Kunjungan lapangan"), "phone_call": _("Telepon"),
            "group_meeting": _("Pertemuan kelompok")}


def export_visits(actor: Any, start: date, end: date, region_id: int | None = None, *, ip: str | None = None,
                  kecamatan_id: int | None = None, cohort_id: int | None = None, audit: bool = True,
                  what: str = "visits/export.csv") -> Iterator[list[Any]]:
    """The visits of WIB days ``start``..``end`` in the actor's regions, row by row (read in batches).

    The export is audited when it is asked for (``audit=False``: the caller records it, as the
    exports page does); the rows are read while the response streams. ``kecamatan_id`` and
    ``cohort_id`` (outlets enrolled in the cohort) narrow it further. The people it holds (the
    mentors, and the managers of the visited outlets at the time) are recorded in the access
    records (lms/privacy/access.py) under ``what``, from the export's own query.
    """
    if not permissions.can(actor, "visits.export"):
        raise NotAllowed()
    for name, d in (("start", start), ("end", end)):
        if not SANE_YEARS[0] <= d.year <= SANE_YEARS[1]:
            raise Invalid({name: [_("Tanggal tidak masuk akal.")]})
    if end < start:
        raise Invalid({"end": [_("Tanggal akhir tidak boleh sebelum tanggal awal.")]})
    items = (sa.select(sa.func.count(ActionItem.id)).where(ActionItem.visit_id == Visit.id)
             .correlate(Visit).scalar_subquery())
    open_items = (sa.select(sa.func.count(ActionItem.id)).where(ActionItem.visit_id == Visit.id,
                                                                ActionItem.done_at.is_(None))
                  .correlate(Visit).scalar_subquery())
    photos = (sa.select(sa.func.count(VisitPhoto.id)).where(VisitPhoto.visit_id == Visit.id)
              .correlate(Visit).scalar_subquery())
    q = (sa.select(Visit.id, Visit.visited_at, Outlet.code, Outlet.name, Region.name, Kecamatan.name, User.full_name,
                   Visit.kind, Visit.duration_minutes, Visit.stages, Visit.observations, Visit.staff_notes,
                   Visit.next_visit_on, Visit.latitude, Visit.longitude, Visit.location_accuracy_m,
                   items, open_items, photos)
         .join(Outlet, Outlet.id == Visit.outlet_id).join(Region, Region.id == Visit.region_id)
         .join(Kecamatan, Kecamatan.id == Outlet.kecamatan_id).join(User, User.id == Visit.mentor_id)
         .where(_region_where(actor, Visit.region_id, region_id),
                Visit.visited_at >= wib_start_utc(start), Visit.visited_at < wib_start_utc(end + timedelta(days=1)))
         .order_by(Visit.visited_at, Visit.id))
    if kecamatan_id:
        q = q.where(Outlet.kecamatan_id == kecamatan_id)
    if cohort_id:
        q = q.where(Visit.outlet_id.in_(sa.select(Enrolment.outlet_id).where(Enrolment.cohort_id == cohort_id)))
    from ..privacy import access

    with transaction():
        if audit:
            record("visits.exported", actor=actor, ip=ip, start=start.isoformat(), end=end.isoformat(),
                   region_id=region_id)
        access.record_export(actor, access.visit_people(q), what)
    names = stage_names(None, "id")
    kinds = kind_labels()
    return _export_rows(q, names, kinds)


def _export_rows(q: Any, names: dict[str, str], kinds: dict[str, str]) -> Iterator[list[Any]]:
    result = db.session.execute(q, execution_options={"yield_per": EXPORT_BATCH})
    try:
        for (vid, at, code, oname, region, kec, mentor, kind, minutes, stages, obs, notes, nxt, lat, lon, acc,
             n_items, n_open, n_photos) in result:
            local = to_wib(at)
            # dates as dates: the CSV writes them as YYYY-MM-DD, the XLSX as real date cells
            yield [vid, local.date(), local.strftime("%H:%M"), code, oname, region, kec, mentor,
                   kinds.get(kind.value, kind.value), minutes, "; ".join(names.get(s, s) for s in stages or []),
                   obs, notes, nxt, lat, lon, acc, n_items, n_open, n_photos]
    finally:
        result.close()
