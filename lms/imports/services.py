"""Importing outlets and their managers from a spreadsheet: a preview, then all or nothing.

One row is one outlet (e-Warong) with its current manager (pengelola). Outlets are matched
by code, managers by e-mail, so importing the same file again updates instead of
duplicating. :func:`preview_import` writes nothing; :func:`apply_import` validates the file
again against the database as it is *now* and writes every row in one transaction, or none.

Existing rows are read in a few batched queries (never one per row), and the whole import
is audited as one ``outlets.imported`` entry, so a 20,000-row file stays quick.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time
from pathlib import Path
from typing import Any, Iterator, Sequence

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import permissions
from .. import outbox
from ..audit.services import record
from ..db import transaction, unlocked, utcnow
from ..errors import Invalid, NotAllowed
from ..extensions import db
from ..i18n import WIB, to_wib
from ..people.models import Role, User
from ..people.phone import normalize_phone
from ..people.services import _new_setup_token, normalize_email
from ..places.models import Kecamatan, Outlet, OutletManagerTerm, Region
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from . import parse
from .parse import FIELD_BY_KEY, FileProblem, Sheet

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


# --- planning: the same rules for the preview and the confirm --------------------------------

def _chunks(values: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for i in range(0, len(values), CHUNK):
        yield values[i:i + CHUNK]


@dataclass
class _Places:
    kecamatan_by_key: dict[str, Kecamatan]
    regions: dict[int, Region]
    region_by_key: dict[str, Region]


def _places() -> _Places:
    kecs = list(db.session.scalars(sa.select(Kecamatan).options(selectinload(Kecamatan.region))))
    by_key: dict[str, Kecamatan] = {}
    for k in kecs:
        by_key[parse.kecamatan_key(k.name)] = k
        by_key[k.code] = k
    regions = {k.region.id: k.region for k in kecs}
    region_by_key: dict[str, Region] = {}
    for r in db.session.scalars(sa.select(Region)):
        regions[r.id] = r
        region_by_key[parse.region_key(r.name)] = r
        region_by_key[r.code] = r
    return _Places(by_key, regions, region_by_key)


def _text(cells: dict[str, Any], key: str) -> str:
    return parse.one_line(cells.get(key))


def _read_row(number: int, cells: dict[str, Any], headers: dict[str, str], places: _Places, actor: Any,
              cohort: Cohort | None, today: date) -> PlannedRow:
    """The checks that need no lookup of existing outlets or users."""
    r = PlannedRow(number)
    col = headers.get

    r.code = _text(cells, "code").upper()
    r.name = _text(cells, "name")
    r.kube_name = _text(cells, "kube_name")
    r.address = parse.cell_text(cells.get("address"))
    r.kelurahan = _text(cells, "kelurahan")
    r.manager_name = _text(cells, "manager_name")
    raw_email = _text(cells, "email")
    if raw_email.lower().startswith("mailto:"):
        raw_email = raw_email[7:]
    r.email = normalize_email(raw_email)
    r.kecamatan_text = _text(cells, "kecamatan")

    for key in ("code", "name", "kecamatan", "manager_name"):
        if not getattr(r, "kecamatan_text" if key == "kecamatan" else key):
            r.error(col(key, FIELD_BY_KEY[key].label), _("Wajib diisi."))
    for key, limit in MAX_LEN.items():
        value = getattr(r, key)
        if len(value) > limit:
            r.error(col(key, FIELD_BY_KEY[key].label if key in FIELD_BY_KEY else key),
                    _("Terlalu panjang (maksimal %(max)d karakter).", max=limit))

    if r.email and len(r.email) <= MAX_LEN["email"]:
        try:
            validate_email(r.email, check_deliverability=False)
        except EmailNotValidError:
            r.error(col("email", "Email"),
                    _("Alamat e-mail \"%(email)s\" tidak valid.", email=parse.shorten(raw_email)))

    for key in ("outlet_phone", "manager_phone"):
        raw = parse.cell_text(cells.get(key))
        if not raw:
            continue
        try:
            setattr(r, key, normalize_phone(raw))
        except ValueError:
            r.error(col(key, FIELD_BY_KEY[key].label),
                    _("Nomor \"%(raw)s\" bukan nomor telepon Indonesia yang valid. Contoh: 0812-3456-7890.",
                      raw=parse.shorten(raw)))
    # a manager without e-mail signs in with their phone number and a code: one of the two is needed
    if not r.email and not r.manager_phone and not any(e.column == col("manager_phone") for e in r.errors):
        r.error(col("email", FIELD_BY_KEY["email"].label),
                _("Wajib diisi: e-mail atau No HP pengelola (tanpa e-mail, ia masuk dengan nomor HP)."))

    if r.kecamatan_text:
        kec = places.kecamatan_by_key.get(parse.kecamatan_key(r.kecamatan_text))
        if kec is None:
            r.error(col("kecamatan", "Kecamatan"), _("Kecamatan \"%(name)s\" tidak dikenal.",
                                                     name=parse.shorten(r.kecamatan_text)))
        else:
            r.kecamatan = kec
            region = places.regions[kec.region_id]
            if not (permissions.is_admin(actor) or permissions.in_region(actor, kec.region_id)):
                r.error(col("kecamatan", "Kecamatan"),
                        _("Kecamatan %(name)s (%(region)s) di luar wilayah Anda.", name=kec.name, region=region.name))
            elif cohort is not None and kec.region_id not in {x.id for x in cohort.regions}:
                r.error(col("kecamatan", "Kecamatan"),
                        _("e-Warong di %(region)s tidak bisa didaftarkan ke angkatan %(cohort)s (wilayahnya: "
                          "%(regions)s).", region=region.name, cohort=cohort.name,
                          regions=", ".join(x.name for x in cohort.regions)))
            region_text = _text(cells, "region")
            if region_text:
                named = places.region_by_key.get(parse.region_key(region_text))
                if named is None:
                    r.error(col("region", "Wilayah"), _("Wilayah \"%(name)s\" tidak dikenal.",
                                                            name=parse.shorten(region_text)))
                elif named.id != kec.region_id:
                    r.error(col("region", "Wilayah"),
                            _("Kecamatan %(kec)s berada di %(region)s, bukan di %(named)s.", kec=kec.name,
                              region=region.name, named=named.name))

    raw_date = cells.get("joined_on")
    try:
        joined = parse.parse_date(raw_date)
    except parse.BadDate as e:
        r.error(col("joined_on", "Tanggal Bergabung"), str(e))
    else:
        if joined is not None:
            if not parse.MIN_YEAR <= joined.year <= parse.MAX_YEAR:
                r.error(col("joined_on", "Tanggal Bergabung"),
                        _("Tanggal %(date)s: tahun harus antara %(min)d dan %(max)d.", date=joined.strftime("%d/%m/%Y"),
                          min=parse.MIN_YEAR, max=parse.MAX_YEAR))
            elif joined > today:
                r.error(col("joined_on", "Tanggal Bergabung"),
                        _("Tanggal %(date)s ada di masa depan.", date=joined.strftime("%d/%m/%Y")))
            else:
                r.joined_on = joined
    return r


def _load_existing(rows: list[PlannedRow]) -> tuple[dict[str, Outlet], dict[str, User], dict[int, tuple[int, str]],
                                                    dict[str, list[User]]]:
    """Outlets by code, users by e-mail, (outlet id, code) managed by each of those users, and the
    active users holding the rows' phone numbers: a few queries."""
    codes = sorted({r.code for r in rows if r.code})
    emails = sorted({r.email for r in rows if r.email})
    phones = sorted({r.manager_phone for r in rows if r.manager_phone})
    by_phone: dict[str, list[User]] = {}
    for chunk in _chunks(phones):
        for u in db.session.scalars(sa.select(User).where(User.phone.in_(chunk), User.active.is_(True))
                                    .order_by(User.id)):
            by_phone.setdefault(u.phone or "", []).append(u)
    outlets: dict[str, Outlet] = {}
    for chunk in _chunks(codes):
        for o in db.session.scalars(sa.select(Outlet).where(Outlet.code.in_(chunk))
                                    .options(selectinload(Outlet.manager))):
            outlets[o.code] = o
    users: dict[str, User] = {}
    for chunk in _chunks(emails):
        for u in db.session.scalars(sa.select(User).where(User.email.in_(chunk))):
            users[u.email or ""] = u
    managed: dict[int, tuple[int, str]] = {}
    ids = sorted({u.id for u in users.values()} | {u.id for us in by_phone.values() for u in us})
    for chunk in _chunks(ids):
        for oid, code, manager_id in db.session.execute(
                sa.select(Outlet.id, Outlet.code, Outlet.manager_id).where(Outlet.manager_id.in_(chunk))):
            managed[manager_id] = (oid, code)
    return outlets, users, managed, by_phone


def _active_enrolments(cohort: Cohort) -> tuple[set[int], set[int]]:
    """Outlet ids and user ids with an active enrolment in ``cohort`` (one query: a cohort is a few thousand)."""
    rows = db.session.execute(sa.select(Enrolment.outlet_id, Enrolment.user_id).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE)).all()
    return {o for o, _u in rows}, {u for _o, u in rows}


def _compare(r: PlannedRow) -> None:
    """Fill in what would change. Empty optional cells leave the stored value as it is."""
    o, u = r.outlet, r.user
    if o is not None and r.kecamatan is not None:
        wanted: list[tuple[str, Any]] = [("name", r.name), ("kecamatan_id", r.kecamatan.id),
                                         ("region_id", r.kecamatan.region_id)]
        for key in ("kube_name", "address", "kelurahan"):
            if getattr(r, key):
                wanted.append((key, getattr(r, key)))
        if r.outlet_phone:
            wanted.append(("phone", r.outlet_phone))
        for key, value in wanted:
            if getattr(o, key) != value:
                r.outlet_changes[key] = (getattr(o, key), value)
    if u is not None:
        if u.full_name != r.manager_name:
            r.user_changes["full_name"] = (u.full_name, r.manager_name)
        if r.manager_phone and u.phone != r.manager_phone:
            r.user_changes["phone"] = (u.phone, r.manager_phone)
    if o is not None and (u is None or o.manager_id != u.id):
        r.manager_change = True
        r.previous_manager = o.manager.full_name if o.manager is not None else ""


def read_sheet(data: bytes) -> Sheet:
    """Parse the file, holding no database lock meanwhile (a big file takes seconds of CPU).

    Raises Invalid({"file": …}) for a file that cannot be read at all.
    """
    with unlocked():
        try:
            return parse.read(data, max_bytes())
        except FileProblem as e:
            raise Invalid({"file": [str(e)]}) from None


@dataclass
class _RowsRead:
    """Every row checked against the reference data only (see :func:`_read_rows`)."""

    #: what the checks depended on: the day, the importer's role and region, the cohort, kecamatan and regions
    key: tuple[Any, ...]
    rows: list[PlannedRow]
    cohort: Cohort | None


def _reference(actor: Any, cohort_id: int | None) -> tuple[tuple[Any, ...], Cohort | None, _Places, date]:
    cohort = _cohort(actor, cohort_id)
    places = _places()
    today = to_wib(utcnow()).date()
    key = (today, getattr(actor, "role", None), getattr(actor, "region_id", None),
           None if cohort is None else (cohort.id, tuple(sorted(r.id for r in cohort.regions))),
           tuple(sorted((k.id, k.name, k.code, k.region_id) for k in set(places.kecamatan_by_key.values()))),
           tuple(sorted((r.id, r.name, r.code) for r in places.regions.values())))
    return key, cohort, places, today


def _read_rows(actor: Any, sheet: Sheet, cohort_id: int | None) -> _RowsRead:
    """The checks that need no existing outlet or user: most of the CPU time of a big file
    (e-mail syntax, phone numbers, dates, kecamatan names), and duplicates inside the file."""
    key, cohort, places, today = _reference(actor, cohort_id)
    headers = sheet.headers
    rows = [_read_row(n, cells, headers, places, actor, cohort, today) for n, cells in sheet.rows]

    # duplicates inside the file: the second and later rows are wrong, naming the first
    first_code: dict[str, int] = {}
    first_email: dict[str, int] = {}
    first_phone: dict[str, int] = {}
    for r in rows:
        if r.code:
            if r.code in first_code:
                r.error(headers["code"], _("Kode %(code)s sudah ada di baris %(row)d.", code=r.code,
                                           row=first_code[r.code]))
            else:
                first_code[r.code] = r.number
        if r.manager_phone and not r.email:  # a manager known by the number only: once per file
            if r.manager_phone in first_phone:
                r.error(headers.get("manager_phone", "No HP"), _("No HP %(phone)s sudah dipakai di baris %(row)d.",
                                                                 phone=r.manager_phone, row=first_phone[r.manager_phone]))
            else:
                first_phone[r.manager_phone] = r.number
        if r.email:
            if r.email in first_email:
                r.error(headers["email"], _("E-mail %(email)s sudah dipakai di baris %(row)d.", email=r.email,
                                            row=first_email[r.email]))
            else:
                first_email[r.email] = r.number
    return _RowsRead(key, rows, cohort)


def _plan(actor: Any, data: bytes, filename: str, cohort_id: int | None, sheet: Sheet,
          read: _RowsRead | None = None) -> Preview:
    """The whole check. ``read``: rows checked earlier (outside the write transaction), reused when the
    reference data they were checked against is unchanged, else checked again."""
    _require(actor)
    if read is None or _reference(actor, cohort_id)[0] != read.key:
        read = _read_rows(actor, sheet, cohort_id)
    rows, cohort = read.rows, read.cohort
    headers = sheet.headers

    outlets, users, managed, by_phone = _load_existing(rows)
    for r in rows:
        r.outlet = outlets.get(r.code)
        if r.outlet is not None and not permissions.can(actor, "outlet.edit", r.outlet):
            r.error(headers["code"], _("Kode %(code)s sudah dipakai e-Warong di luar wilayah Anda.", code=r.code))
        holders = by_phone.get(r.manager_phone or "", [])
        r.user = users.get(r.email) if r.email else (holders[0] if len(holders) == 1 else None)
        u = r.user
        if r.manager_phone and any(h is not u for h in holders):
            # a number signs in one active account
            r.error(headers.get("manager_phone", "No HP"),
                    _("No HP %(phone)s sudah dipakai akun aktif lain.", phone=r.manager_phone))
        if u is not None:
            r.user_outlet_id, r.user_outlet_code = managed.get(u.id, (None, None))
            if u.role is not Role.TRAINEE:
                r.error(headers["email"], _("E-mail ini sudah dipakai akun staf, bukan akun pengelola. "
                                            "Pengelola perlu e-mail sendiri."))
            elif not u.active:
                r.error(headers["email"], _("Akun pengelola dengan e-mail ini nonaktif. Aktifkan dulu atau pakai "
                                            "e-mail lain."))
            elif not permissions.can(actor, "user.edit", u):
                r.error(headers["email"], _("E-mail ini milik pengelola di luar wilayah Anda."))
            elif r.user_outlet_code is not None and r.user_outlet_code != r.code:
                r.error(headers["email"], _("Pengelola dengan e-mail ini sudah mengelola e-Warong %(code)s. "
                                            "Ganti pengelolanya lewat halaman e-Warong itu dulu.",
                                            code=r.user_outlet_code))
        if not r.errors:
            _compare(r)
            if "region_id" in r.outlet_changes:
                _check_move(actor, r, headers)

    order = {c.header: i for i, c in enumerate(sheet.columns)}
    for r in rows:
        r.errors.sort(key=lambda e: order.get(e.column, len(order)))  # in the file's column order

    if cohort is not None:
        good = [r for r in rows if not r.errors]
        enrolled_outlets, enrolled_users = _active_enrolments(cohort)
        for r in good:
            r.enrol = not ((r.outlet is not None and r.outlet.id in enrolled_outlets)
                           or (r.user is not None and r.user.id in enrolled_users))
    return Preview(filename=_clean_name(filename), sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                   sheet=sheet, rows=rows, cohort=cohort)


def _clean_name(filename: str) -> str:
    return Path((filename or "").replace("\\", "/")).name[:200] or "berkas"


def preview_import(actor: Any, data: bytes, filename: str, cohort_id: int | None = None) -> Preview:
    """Read and check the file against the database; writes nothing.

    Raises NotAllowed, or Invalid({"file": …} / {"cohort": …}) for a file that cannot be read at all.
    """
    _require(actor)
    sheet = read_sheet(data)
    with unlocked():  # it writes nothing: checking a big file must not keep others from writing
        return _plan(actor, data, filename, cohort_id, sheet)


# --- applying ---------------------------------------------------------------------------------

def _start_of(day: date | None) -> datetime | None:
    return datetime.combine(day, time(0, 0), tzinfo=WIB) if day is not None else None


def apply_import(actor: Any, data: bytes, filename: str, cohort_id: int | None = None,
                 ip: str | None = None) -> ImportResult:
    """Check the file again against the current database and write all of it in one transaction.

    Raises ImportRejected (with the preview) when any row has an error: then nothing is written.
    """
    _require(actor)
    # the slow parts before the write transaction, so that they hold no lock: parsing, and the row checks
    # that need only reference data (reused inside when that data is unchanged)
    sheet = read_sheet(data)
    with unlocked():
        read = _read_rows(actor, sheet, cohort_id)
    with transaction():
        preview = _plan(actor, data, filename, cohort_id, sheet, read)
        if not preview.ok:
            raise ImportRejected(preview)
        result = _apply(actor, preview, ip)
    return result


def _check_move(actor: Any, r: PlannedRow, headers: dict[str, str]) -> None:
    """A row that takes an outlet to another region moves its whole world (places.services.move_outlet);
    a move that may not happen is the row's error."""
    from ..places.services import plan_move

    assert r.outlet is not None and r.kecamatan is not None
    try:
        plan_move(actor, r.outlet, r.kecamatan)
    except Invalid as e:
        for messages in e.reasons.values():
            for message in messages:
                r.error(headers.get("kecamatan", "Kecamatan"), message)


def _apply(actor: Any, p: Preview, ip: str | None) -> ImportResult:
    from ..places.services import move_outlet, set_outlet_manager
    from ..programme import services as programme

    counts = dict(p.counts)
    rows = p.rows

    # 1. managers: new accounts (no password: a set-up link), changed names and numbers
    created_users: list[PlannedRow] = []
    changed_user_ids: set[int] = set()
    for r in rows:
        assert r.kecamatan is not None
        if r.user is None:
            r.user = User(email=r.email or None, full_name=r.manager_name, phone=r.manager_phone, role=Role.TRAINEE,
                          region_id=r.kecamatan.region_id, active=True, password_hash=None)
            db.session.add(r.user)
            created_users.append(r)
        elif r.user_changes:
            for key, (_old, new) in r.user_changes.items():
                setattr(r.user, key, new)
            changed_user_ids.add(r.user.id)
    db.session.flush()

    # 2. outlets: new ones, and the fields that differ
    created_outlets: list[str] = []
    updated_outlets: list[str] = []
    new_terms: list[PlannedRow] = []
    changed_outlet_ids: set[int] = set()
    for r in rows:
        assert r.kecamatan is not None
        if r.outlet is None:
            # a new outlet is written with its manager at once when the manager is free (the usual case)
            free = r.user_outlet_id is None
            r.outlet = Outlet(code=r.code, name=r.name, kube_name=r.kube_name, address=r.address,
                              kelurahan=r.kelurahan, kecamatan_id=r.kecamatan.id, region_id=r.kecamatan.region_id,
                              phone=r.outlet_phone, active=True, manager_id=r.user.id if free else None)
            db.session.add(r.outlet)
            if free:
                r.user.region_id = r.kecamatan.region_id
                new_terms.append(r)
            created_outlets.append(r.code)
            continue
        if r.outlet_changes:
            for key, (_old, new) in r.outlet_changes.items():
                if key not in ("kecamatan_id", "region_id"):
                    setattr(r.outlet, key, new)
            if "kecamatan_id" in r.outlet_changes:  # its enrolments, evidence, visits, … move along
                move_outlet(actor, r.outlet, r.kecamatan, ip=ip)
            changed_outlet_ids.add(r.outlet.id)
        if r.status == UPDATED:
            updated_outlets.append(r.code)
    db.session.flush()

    # 3. who manages what: a free outlet and a free manager are simply linked; a change of
    #    manager goes through the places service (ends the previous term, carries the cohorts over)
    for r in new_terms:
        db.session.add(OutletManagerTerm(outlet_id=r.outlet.id, user_id=r.user.id))  # type: ignore[union-attr]
    for r in rows:
        outlet, user = r.outlet, r.user
        assert outlet is not None and user is not None
        if outlet.manager_id == user.id:
            continue
        if outlet.manager_id is None and r.user_outlet_id is None:
            db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=user.id))
            outlet.manager_id = user.id
            user.region_id = outlet.region_id
        else:
            set_outlet_manager(actor, outlet, user, ip=ip)
    db.session.flush()

    # 4. progress summaries that a changed profile (phone, address, …) may move
    for chunk in _chunks(sorted(changed_outlet_ids)):
        programme.refresh_for_outlets(chunk)
    for chunk in _chunks(sorted(changed_user_ids)):
        programme.refresh_for_users(chunk)

    # 5. enrolment in the chosen cohort, when missing (start: the day the manager joined)
    enrolled = 0
    if p.cohort is not None:
        cohort = p.cohort
        outlets_in, users_in = _active_enrolments(cohort)
        new = []
        for r in rows:
            assert r.outlet is not None and r.user is not None
            if r.outlet.id in outlets_in or r.user.id in users_in:
                continue
            new.append(programme.new_enrolment(cohort, r.outlet, r.user, now=_start_of(r.joined_on)))
        db.session.flush()
        programme.refresh_progress(new)
        enrolled = len(new)
        if new:
            record("enrolment.bulk_created", actor=actor, target=cohort, count=enrolled, source="import")
    counts["enrolments"] = enrolled

    # 6. first sign-in links for the new managers (shown once, in the result)
    new_managers = [NewManager(row=r.number, code=r.code, outlet_name=r.name, full_name=r.manager_name,
                               email=r.email or None, phone=r.manager_phone,
                               token=_new_setup_token(r.user))  # type: ignore[arg-type]
                    for r in created_users]

    # 7. one audit entry for the whole file
    record("outlets.imported", actor=actor, target_type="import", ip=ip, filename=p.filename, sha256=p.sha256,
           kind=p.kind, cohort_id=p.cohort_id, **{k: v for k, v in counts.items() if k not in ("errors", "error_rows")},
           created_codes=created_outlets[:AUDIT_CODES], updated_codes=updated_outlets[:AUDIT_CODES],
           codes_truncated=len(created_outlets) > AUDIT_CODES or len(updated_outlets) > AUDIT_CODES)
    outbox.announce("import.finished", {"created": len(created_outlets), "updated": len(updated_outlets),
                                        "filename": p.filename}, actor=actor)
    # the new managers' first sign-in links also go to them directly (e-mail, WhatsApp)
    from ..people.services import announce_setup_link

    for m in new_managers:
        user = next(r.user for r in created_users if r.number == m.row)
        announce_setup_link("account.created", user, m.token, actor)
    db.session.flush()
    return ImportResult(filename=p.filename, sha256=p.sha256, counts=counts, new_managers=new_managers,
                        cohort=p.cohort)


# --- links and the template --------------------------------------------------------------------

def setup_url(token: str) -> str:
    """The absolute first-sign-in link: built from BASE_URL (never from a request's Host), so the CLI has it too."""
    from ..urls import external_url

    return external_url("people.set_password", token=token)


TEMPLATE_HEADER = ("Kode e-Warong", "Nama e-Warong", "Nama KUBE", "Alamat", "Kelurahan", "Kecamatan", "Wilayah",
                   "No Telp e-Warong", "Nama Pengelola", "Email", "No HP", "Tanggal Bergabung")


def template_rows(actor: Any) -> list[list[str]]:
    """One example row for the downloadable template, in a kecamatan of the actor's own region."""
    from ..places.reference import KELURAHAN

    _require(actor)
    q = sa.select(Kecamatan).options(selectinload(Kecamatan.region)).order_by(Kecamatan.code)
    if actor.region_id is not None:
        q = q.where(Kecamatan.region_id == actor.region_id)
    else:
        q = q.join(Region).where(Region.code == "3171")
    kec = db.session.scalars(q.limit(1)).first()
    if kec is None:
        return []
    kelurahan = (KELURAHAN.get(kec.code) or ("",))[0]
    return [[f"EW-{kec.region.code}-001", "e-Warong Melati", "KUBE Melati", "Jl. Melati No. 5 RT 003/RW 002",
             kelurahan, kec.name, kec.region.name, "021-3456789", "Siti Aminah", "siti.aminah@contoh.id",
             "0812-3456-7890", "10/04/2018"]]
