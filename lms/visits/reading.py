"""Reading one visit or photo within the rulebook.
"""
from __future__ import annotations

from typing import Any
import sqlalchemy as sa
from sqlalchemy.orm import joinedload, selectinload
from ..extensions import db
from ..forms_common import int_or_none
from ..places.models import Outlet
from ..programme import services as programme
from .models import ActionItem, Visit, VisitPhoto


# --- reading visits ------------------------------------------------------------------------

def _visit_options() -> list[Any]:
    return [joinedload(Visit.outlet).joinedload(Outlet.manager), joinedload(Visit.outlet).joinedload(Outlet.kecamatan),
            joinedload(Visit.outlet).joinedload(Outlet.region), joinedload(Visit.mentor),
            selectinload(Visit.action_items), selectinload(Visit.photos).joinedload(VisitPhoto.file)]


def visit_for_view(visit_id: Any) -> Visit | None:
    vid = int_or_none(visit_id)
    if vid is None:
        return None
    return db.session.scalar(sa.select(Visit).where(Visit.id == vid).options(*_visit_options()))


def action_item(item_id: Any) -> ActionItem | None:
    iid = int_or_none(item_id)
    if iid is None:
        return None
    return db.session.scalar(sa.select(ActionItem).where(ActionItem.id == iid)
                             .options(joinedload(ActionItem.visit).joinedload(Visit.outlet)))


def photo(photo_id: Any) -> VisitPhoto | None:
    pid = int_or_none(photo_id)
    if pid is None:
        return None
    return db.session.scalar(sa.select(VisitPhoto).where(VisitPhoto.id == pid)
                             .options(joinedload(VisitPhoto.file), joinedload(VisitPhoto.visit).joinedload(Visit.outlet)))


def outlet_for_view(outlet_id: Any) -> Outlet | None:
    oid = int_or_none(outlet_id)
    if oid is None:
        return None
    return db.session.scalar(sa.select(Outlet).where(Outlet.id == oid)
                             .options(joinedload(Outlet.manager), joinedload(Outlet.kecamatan),
                                      joinedload(Outlet.region)))


def stage_names(outlet_id: int | None, lang: str) -> dict[str, str]:
    cur = programme.curriculum_for_outlet(outlet_id) if outlet_id else programme.default_curriculum()
    return {s.key: f"{s.number}. {s.name.get(lang)}" for s in cur.stages}


def stage_choices(outlet_id: int | None, lang: str) -> list[tuple[str, str]]:
    return list(stage_names(outlet_id, lang).items())
