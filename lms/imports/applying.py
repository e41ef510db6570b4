"""Importing outlets: applying a planned file, every row in one transaction or none."""
from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

from .. import outbox
from ..audit.services import record
from ..db import transaction, unlocked
from ..extensions import db
from ..i18n import WIB
from ..people.models import Role, User
from ..people.services import _new_setup_token
from ..places.models import Outlet, OutletManagerTerm
from . import planning
from .common import AUDIT_CODES, UPDATED, ImportRejected, ImportResult, NewManager, PlannedRow, Preview, _require


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
    sheet = planning.read_sheet(data)
    with unlocked():
        read = planning._read_rows(actor, sheet, cohort_id)
    with transaction():
        preview = planning._plan(actor, data, filename, cohort_id, sheet, read)
        if not preview.ok:
            raise ImportRejected(preview)
        result = _apply(actor, preview, ip)
    return result


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
    for chunk in planning._chunks(sorted(changed_outlet_ids)):
        programme.refresh_for_outlets(chunk)
    for chunk in planning._chunks(sorted(changed_user_ids)):
        programme.refresh_for_users(chunk)

    # 5. enrolment in the chosen cohort, when missing (start: the day the manager joined)
    enrolled = 0
    if p.cohort is not None:
        cohort = p.cohort
        outlets_in, users_in = planning._active_enrolments(cohort)
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
