"""Objects as the API's dicts (the schemas in lms/api/schemas.py say which fields leave), and the
reference data (the regions: read once per app, a handful of rows that never change)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
import sqlalchemy as sa
from flask import Response, current_app, g

from ..extensions import db
from ..places.models import Kecamatan, Region
from .auth import ApiProblem


def lang() -> str:
    if "_api_lang" not in g:
        from flask_babel import get_locale

        loc = get_locale()
        g._api_lang = "en" if loc is not None and loc.language == "en" else "id"
    return g._api_lang  # type: ignore[no-any-return]


@dataclass(frozen=True)
class RegionInfo:
    id: int
    code: str
    name: str


_REGIONS = "lms.api.regions"


def _region_cache() -> tuple[dict[int, RegionInfo], dict[int, dict[str, str]]]:
    """The regions, read once per app: reference data the migrations fill and the app never changes
    (the six kota/kabupaten of DKI Jakarta), so no request pays a query for them."""
    cache = current_app.extensions.get(_REGIONS)
    if cache is None:
        infos = {r.id: RegionInfo(r.id, r.code, r.name)
                 for r in db.session.execute(sa.select(Region.id, Region.code, Region.name).order_by(Region.code))}
        cache = current_app.extensions[_REGIONS] = (infos, {i: {"code": r.code, "name": r.name} for i, r in infos.items()})
    return cache  # type: ignore[no-any-return]


def regions() -> dict[int, RegionInfo]:
    return _region_cache()[0]


def region_refs() -> dict[int, dict[str, str]]:
    """Region id → ``{"code", "name"}`` (shared dicts: never change them)."""
    return _region_cache()[1]


def region_ref(region_id: int | None) -> dict[str, str] | None:
    return _region_cache()[1].get(region_id) if region_id is not None else None  # type: ignore[arg-type]


def kec_ref(kec: Kecamatan) -> dict[str, str]:
    return {"code": kec.code, "name": kec.name}


def person_ref(user: Any) -> dict[str, Any]:
    return {"id": user.id, "name": user.full_name}


def outlet_ref(outlet: Any) -> dict[str, Any]:
    return {"id": outlet.id, "code": outlet.code, "name": outlet.name}


def _filter_problem(field: str, detail: str) -> ApiProblem:
    return ApiProblem(422, slug="validation", errors=[{"field": field, "in": "query", "detail": detail}])


def region_id_of(code: str | None) -> int | None:
    """The region with BPS ``code`` (None without a code); 422 for a code that names no region."""
    from flask_babel import gettext as _

    if not code:
        return None
    for r in regions().values():
        if r.code == code:
            return r.id
    raise _filter_problem("region", _("Tidak ada wilayah dengan kode %(code)s.", code=code))


def kecamatan_id_of(code: str | None) -> int | None:
    from flask_babel import gettext as _

    if not code:
        return None
    kid = db.session.scalar(sa.select(Kecamatan.id).where(Kecamatan.code == code))
    if kid is None:
        raise _filter_problem("kecamatan", _("Tidak ada kecamatan dengan kode %(code)s.", code=code))
    return kid  # type: ignore[no-any-return]


def stage_problem(stage: str) -> ApiProblem:
    from flask_babel import gettext as _

    return _filter_problem("stage", _("Langkah %(stage)s tidak dikenal.", stage=stage))


def _default(value: Any) -> Any:
    from flask_babel.speaklater import LazyString

    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, LazyString):  # a lazily translated text
        return str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def ok(data: Any, status: int = 200) -> Response:
    """The JSON body of a successful operation, built by the view's presenter (the fields its documented
    schema declares; tests/test_api.py validates answers against the OpenAPI document). Dumping through
    marshmallow again would cost a list of 200 rows more than the query does.

    orjson writes the same bytes as ``json.dumps(…, ensure_ascii=False, separators=(",", ":"))`` with
    ISO 8601 times (``2026-01-31T01:00:00+00:00``), about ten times faster: a page of 50 enrolments
    spent 0.8 ms of its 5 ms in the standard library's encoder."""
    return current_app.response_class(orjson.dumps(data, default=_default), status=status,
                                      mimetype="application/json")
