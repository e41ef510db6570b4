"""Importing outlets: planning a file. The same rules give the preview and, again against the
database as it is then, the confirmation."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator, Sequence

import sqlalchemy as sa
from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from .. import permissions
from ..db import unlocked, utcnow
from ..errors import Invalid
from ..extensions import db
from ..i18n import to_wib
from ..people.models import Role, User
from ..people.phone import normalize_phone
from ..people.services import normalize_email
from ..places.models import Kecamatan, Outlet, Region
from ..programme.models import Cohort, Enrolment, EnrolmentStatus
from . import parse
from .common import CHUNK, MAX_LEN, PlannedRow, Preview, _cohort, _require, max_bytes
from .parse import FIELD_BY_KEY, FileProblem, Sheet


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
    first: dict[str, dict[str, int]] = {"code": {}, "email": {}, "phone": {}}

    def once(kind: str, value: str, r: Any, column: str, message: Callable[[int], str]) -> None:
        if value in first[kind]:
            r.error(column, message(first[kind][value]))
        else:
            first[kind][value] = r.number

    for r in rows:
        if r.code:
            once("code", r.code, r, headers["code"],
                 lambda row: _("Kode %(code)s sudah ada di baris %(row)d.", code=r.code, row=row))
        if r.manager_phone and not r.email:  # a manager known by the number only: once per file
            once("phone", r.manager_phone, r, headers.get("manager_phone", "No HP"),
                 lambda row: _("No HP %(phone)s sudah dipakai di baris %(row)d.", phone=r.manager_phone, row=row))
        if r.email:
            once("email", r.email, r, headers["email"],
                 lambda row: _("E-mail %(email)s sudah dipakai di baris %(row)d.", email=r.email, row=row))
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
