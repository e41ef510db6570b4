"""Importing outlets: the limits, the row, preview and result types, and who may import into which cohort."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import permissions
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..people.models import User
from ..places.models import Kecamatan, Outlet
from ..programme.models import Cohort
from . import parse
from .parse import Sheet

#: rows per IN (...) when reading existing outlets, users and enrolments
CHUNK = 500
#: rows of the preview table shown beside every row with an error
PREVIEW_ROWS = 200
#: outlet codes named in the audit entry (the counts are always complete)
AUDIT_CODES = 200

NEW, UPDATED, UNCHANGED, ERROR = "new", "updated", "unchanged", "error"

#: maximum lengths, as the outlet and user forms have them
MAX_LEN = {"code": 32, "name": 160, "kube_name": 160, "address": 500, "kelurahan": 80, "manager_name": 160,
           "email": 254}


@dataclass
class RowError:
    row: int
    #: the column's header as written in the file ("" for the row as a whole)
    column: str
    message: str


@dataclass
class PlannedRow:
    """One data row: its clean values, what it matches in the database and what would change."""

    number: int
    code: str = ""
    name: str = ""
    kube_name: str = ""
    address: str = ""
    kelurahan: str = ""
    kecamatan: Kecamatan | None = None
    kecamatan_text: str = ""
    outlet_phone: str | None = None
    manager_name: str = ""
    email: str = ""
    manager_phone: str | None = None
    joined_on: date | None = None
    errors: list[RowError] = field(default_factory=list)
    #: the existing outlet with this code, and the existing user with this e-mail
    outlet: Outlet | None = None
    user: User | None = None
    #: code of the outlet the existing user manages now (None: none)
    user_outlet_code: str | None = None
    user_outlet_id: int | None = None
    #: field → (old, new)
    outlet_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    user_changes: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    #: the existing outlet gets a different manager (name of the one leaving, if any)
    manager_change: bool = False
    previous_manager: str = ""
    #: an active enrolment in the chosen cohort will be made
    enrol: bool = False

    def error(self, column: str, message: str) -> None:
        self.errors.append(RowError(self.number, column, message))

    @property
    def status(self) -> str:
        if self.errors:
            return ERROR
        if self.outlet is None:
            return NEW
        if self.outlet_changes or self.user_changes or self.manager_change or self.enrol or self.user is None:
            return UPDATED
        return UNCHANGED


@dataclass
class Preview:
    filename: str
    sha256: str
    size: int
    sheet: Sheet
    rows: list[PlannedRow]
    cohort: Cohort | None = None

    @property
    def kind(self) -> str:
        return self.sheet.kind

    @property
    def cohort_id(self) -> int | None:
        return self.cohort.id if self.cohort is not None else None

    @property
    def errors(self) -> list[RowError]:
        return [e for r in self.rows for e in r.errors]

    @property
    def ok(self) -> bool:
        return bool(self.rows) and not any(r.errors for r in self.rows)

    @property
    def counts(self) -> dict[str, int]:
        good = [r for r in self.rows if not r.errors]
        return {
            "rows": len(self.rows),
            "new_outlets": sum(1 for r in good if r.outlet is None),
            "updated_outlets": sum(1 for r in good if r.status == UPDATED),
            "unchanged": sum(1 for r in good if r.status == UNCHANGED),
            "new_managers": sum(1 for r in good if r.user is None),
            "updated_managers": sum(1 for r in good if r.user is not None and r.user_changes),
            "manager_changes": sum(1 for r in good if r.manager_change),
            "enrolments": sum(1 for r in good if r.enrol),
            "errors": sum(len(r.errors) for r in self.rows),
            "error_rows": sum(1 for r in self.rows if r.errors),
        }

    @property
    def error_columns(self) -> list[tuple[str, int]]:
        """(column, number of errors) in the file's column order: where to look first in a long file."""
        order = {c.header: i for i, c in enumerate(self.sheet.columns)}
        tally: dict[str, int] = {}
        for e in self.errors:
            tally[e.column] = tally.get(e.column, 0) + 1
        return sorted(tally.items(), key=lambda kv: order.get(kv[0], len(order)))

    def shown_rows(self, limit: int = PREVIEW_ROWS) -> list[PlannedRow]:
        """The rows for the preview table: the first ``limit`` and every row with an error."""
        return [r for i, r in enumerate(self.rows) if i < limit or r.errors]


class ImportRejected(Invalid):
    """The file has errors (found at confirm time): nothing was written. ``preview`` lists them."""

    def __init__(self, preview: Preview) -> None:
        self.preview = preview
        super().__init__({"": [_("Impor dibatalkan: ada %(n)d masalah pada data. Tidak ada yang disimpan.",
                                 n=len(preview.errors))]})


@dataclass
class NewManager:
    row: int
    code: str
    outlet_name: str
    full_name: str
    email: str | None
    phone: str | None
    #: the raw password set-up token (only ever shown once, in the result)
    token: str


@dataclass
class ImportResult:
    filename: str
    sha256: str
    counts: dict[str, int]
    new_managers: list[NewManager]
    cohort: Cohort | None = None


def max_bytes() -> int:
    """The largest file accepted (IMPORT_MAX_BYTES, default 5 MB)."""
    return int(current_app.config.get("IMPORT_MAX_BYTES", parse.MAX_BYTES))


# --- who may import, and into which cohort ----------------------------------------------------

def _require(actor: Any) -> None:
    if not permissions.can(actor, "outlets.import"):
        raise NotAllowed()


def cohorts_for_import(actor: Any) -> list[Cohort]:
    """Cohorts the actor may enrol the imported managers into."""
    from ..programme.services import cohorts_for

    return [c for c in cohorts_for(actor) if permissions.can(actor, "cohort.enrol", c)]


def _cohort(actor: Any, cohort_id: int | None) -> Cohort | None:
    if cohort_id is None:
        return None
    cohort = db.session.scalar(sa.select(Cohort).where(Cohort.id == cohort_id).options(selectinload(Cohort.regions)))
    if cohort is None or not permissions.can(actor, "cohort.enrol", cohort):
        raise Invalid({"cohort": [_("Angkatan tidak ditemukan atau di luar kewenangan Anda.")]})
    return cohort
