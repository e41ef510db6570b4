"""Moving an outlet to a kecamatan of another region moves its whole world: every list, export,
dashboard number, certificate action and object rule follows the outlet to the new region's
coordinator, the old region's coordinator loses it, and the old mentor's caseload lets it go."""
from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa

from lms.db import transaction
from tests.conftest import TEST_PASSWORD


def _client(app: Any, user: Any) -> Any:
    """A client of its own, signed in as ``user`` (staff pass the authenticator step)."""
    from tests.conftest import pass_code_step

    c = app.test_client()
    r = c.form_post("/login", {"email": user.email, "password": TEST_PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    if r.headers["Location"] == "/login/code":
        pass_code_step(c, user.email)
    return c


def _kecamatan(db: Any, region_code: str, nth: int = 0) -> Any:
    from lms.places.models import Kecamatan, Region

    return db.session.scalars(sa.select(Kecamatan).join(Region).where(Region.code == region_code)
                              .order_by(Kecamatan.code)).all()[nth]


@pytest.fixture
def moving(app, factory, db):  # type: ignore[no-untyped-def]
    """An outlet of Jakarta Pusat (3171) with its whole world, about to move to Jakarta Utara (3172)."""
    from datetime import date

    from lms.certification import services as certification
    from lms.db import utcnow
    from lms.files import PDF, CheckedUpload
    from lms.permissions import SYSTEM
    from lms.programme import services as programme
    from tests.factories import tiny_pdf

    cohort = factory.cohort(name="Angkatan Pindah", regions=("3171", "3172"))
    manager = factory.user("trainee", region="3171", full_name="Pengelola Pindahan", phone="+6281234567555",
                           email="pindahan@uji.example")
    outlet = manager.managed_outlet
    with transaction():
        outlet.code, outlet.name = "EW-PINDAH-01", "e-Warong Pindahan"
    stayer = factory.user("trainee", region="3171", full_name="Pengelola Tetap", phone="+6281234567556")
    enrolment = factory.enrolment(cohort=cohort, trainee=manager)
    factory.enrolment(cohort=cohort, trainee=stayer)
    old_mentor = factory.user("mentor", region="3171", full_name="Pendamping Lama")
    factory.assign_mentor(old_mentor, outlet)
    factory.assign_mentor(old_mentor, stayer.managed_outlet)
    visit = factory.visit(old_mentor, outlet, actions=(("Rapikan buku kas", "Pengelola", date(2018, 5, 1)),),
                          refresh=False)
    evidence = programme.save_licence(manager, outlet, programme.LicenceInput("NIB", "9120001234567", date(2018, 3, 1),
                                                                            "OSS"),
                                      CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    with transaction():  # the summary says all seven steps are done (as factory.completed_enrolment)
        enrolment.current_stage, enrolment.completed_count, enrolment.completed_at = None, 7, utcnow()
    certificate = certification.issue_for_enrolment(SYSTEM, certification.design_for("completion"),
                                                    enrolment).certificate
    return SimpleNamespace(
        cohort=cohort, manager=manager, outlet=outlet, stayer=stayer, enrolment=enrolment, evidence=evidence,
        visit=visit, certificate=certificate, old_mentor=old_mentor,
        old=factory.user("coordinator", region="3171"), new=factory.user("coordinator", region="3172"),
        new_mentor=factory.user("mentor", region="3172"), admin=factory.user("admin", region=None),
        target=_kecamatan(db, "3172", 1))


def _move(app: Any, w: SimpleNamespace) -> None:
    """The admin moves the outlet through its edit form."""
    o = w.outlet
    c = _client(app, w.admin)
    r = c.form_post(f"/outlets/{o.id}/edit", {"code": o.code, "name": o.name, "kube_name": o.kube_name,
                                               "address": o.address, "kelurahan": o.kelurahan,
                                               "kecamatan_id": str(w.target.id), "phone": o.phone or "",
                                               "active": "y", "confirm_move": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]


def _csv(c: Any, dataset: str) -> str:
    r = c.get(f"/exports/download?dataset={dataset}&format=csv&status=all", buffered=True)
    assert r.status_code == 200, (dataset, r.status_code, r.get_data(as_text=True)[:500])
    return r.get_data(as_text=True)


def _sees(app: Any, user: Any, w: SimpleNamespace) -> dict[str, bool]:
    """Does ``user`` see the moved outlet's world, place by place?"""
    from lms.certification import services as certification
    from lms.visits import services as visits

    c = _client(app, user)
    name, code = w.manager.full_name, w.outlet.code

    def page(url: str) -> str:
        r = c.get(url)
        assert r.status_code == 200, (url, r.status_code)
        return r.get_data(as_text=True)

    def status(url: str) -> int:
        return c.get(url).status_code

    seen = {
        "review queue": name in page("/review") or code in page("/review"),
        "cohort list": name in page(f"/cohorts/{w.cohort.id}"),
        "users list": name in page("/users"),
        "outlets list": code in page("/outlets"),
        "dashboard drill-down": name in page("/dashboard/managers?stage=_done")
        or name in page("/dashboard/managers?stuck=1&days=7"),
        "progress export": code in _csv(c, "progress"),
        "visits export": code in _csv(c, "visits"),
        "certificates export": code in _csv(c, "certificates"),
        "visits CSV": code in (c.get("/visits/export?start=2000-01-01&end=2030-12-31", buffered=True)
                               .get_data(as_text=True)),
        "certificate candidates": name in page(f"/certificates/cohorts/{w.cohort.id}"),
        "certificates list": name in page("/certificates"),
        "visits overview": code in page("/visits/dashboard"),
        "caseload management": code in page("/caseloads"),
        "outlet page": status(f"/outlets/{w.outlet.id}") == 200,
        "enrolment page": status(f"/enrolments/{w.enrolment.id}") == 200,
        "evidence page": status(f"/evidence/{w.evidence.id}") == 200,
        "visit page": status(f"/visits/{w.visit.id}") == 200,
        "user page": status(f"/users/{w.manager.id}") == 200,
        "certificate page": status(f"/certificates/{w.certificate.id}") == 200,
    }
    with app.test_request_context():
        from lms.extensions import db

        actor = db.session.get(type(user), user.id)
        seen["candidates (service)"] = any(
            cand.holder.id == w.manager.id
            for cand in certification.cohort_candidates(actor, certification.design_for("completion"), w.cohort))
        overview = visits.overview(actor)
        # (the outlet's action item is past due; the lists of outlets hold the never visited and overdue)
        seen["overview outlets (service)"] = (
            any(a.visit.outlet_id == w.outlet.id for a in overview.past_due)
            or any(s.outlet.id == w.outlet.id for s in overview.never_visited + overview.overdue))
    return seen


def test_moving_an_outlet_moves_its_whole_world(app, db, moving):  # type: ignore[no-untyped-def]
    w = moving
    before_old, before_new = _sees(app, w.old, w), _sees(app, w.new, w)
    # the fixture is right: today the old region sees everything and the new one nothing
    assert all(before_old.values()), {k: v for k, v in before_old.items() if not v}
    assert not any(before_new.values()), {k: v for k, v in before_new.items() if v}

    _move(app, w)

    after_old, after_new = _sees(app, w.old, w), _sees(app, w.new, w)
    still_old = sorted(k for k, v in after_old.items() if v)
    missing_new = sorted(k for k, v in after_new.items() if not v)
    assert not still_old and not missing_new, f"old region still sees: {still_old}; new region misses: {missing_new}"


def test_the_move_ends_the_old_mentors_assignment_and_is_audited(app, db, moving):  # type: ignore[no-untyped-def]
    from lms.audit.models import AuditEntry
    from lms.visits import services as visits

    w = moving
    _move(app, w)
    db.session.expire_all()
    assert w.outlet.id not in {s.outlet.id for s in visits.caseload(w.old_mentor)}
    assert w.stayer.managed_outlet.id in {s.outlet.id for s in visits.caseload(w.old_mentor)}
    assert visits.current_assignment(w.outlet.id) is None
    c = _client(app, w.old_mentor)
    page = c.get("/caseload").get_data(as_text=True)
    assert w.outlet.code not in page and w.stayer.managed_outlet.code in page
    assert c.get(f"/outlets/{w.outlet.id}").status_code == 404
    # the new region's coordinator assigns one of their mentors
    assert visits.assign_mentor(w.new, [w.outlet.id], w.new_mentor.id) == 1
    assert w.outlet.id in {s.outlet.id for s in visits.caseload(w.new_mentor)}

    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "outlet.moved"))
    assert entry is not None and entry.actor_id == w.admin.id and entry.target_id == str(w.outlet.id)
    d = entry.details
    assert (d["old_region_id"], d["new_region_id"]) == (w.old.region_id, w.new.region_id)
    assert d["previous_mentor_id"] == w.old_mentor.id
    assert d["moved"]["enrolments"] == 1 and d["moved"]["evidence"] == 1 and d["moved"]["visits"] == 1
    assert d["moved"]["certificates"] == 1
    assert db.session.get(type(w.manager), w.manager.id).region_id == w.new.region_id


def test_every_copy_of_the_region_follows_the_outlet(app, db, moving):  # type: ignore[no-untyped-def]
    """Every table that carries an outlet's region (a ``region_id`` beside an ``outlet_id``) is
    either moved by places.services.move_outlet or named there as keeping its own region: a table
    added tomorrow fails here until someone decides."""
    from lms.db import Base
    from lms.places import services as places

    w = moving
    _move(app, w)
    db.session.expire_all()
    new_region = w.new.region_id
    carriers = sorted(t.name for t in Base.metadata.tables.values()
                      if "region_id" in t.c and "outlet_id" in t.c)
    assert {"enrolments", "evidence", "visits", "certificates"} <= set(carriers)
    for name in carriers:
        assert name in places.REGION_COPIES or name in places.REGION_OWN, f"{name}: moved or not?"
        if name in places.REGION_OWN:
            continue
        t = Base.metadata.tables[name]
        keep = places.REGION_COPIES[name]
        q = sa.select(t.c.region_id).where(t.c.outlet_id == w.outlet.id)
        if keep is not None:
            q = q.where(keep(t))
        regions = set(db.session.scalars(q))
        assert regions == {new_region}, (name, regions)
    assert db.session.get(type(w.outlet), w.outlet.id).region_id == new_region


def test_dashboard_numbers_of_both_regions_are_recounted(app, db, moving):  # type: ignore[no-untyped-def]
    from lms.dashboard import summaries
    from lms.dashboard.models import DashboardCount

    w = moving
    t = DashboardCount.__table__

    def counts(region_id: int) -> dict[str, int]:
        rows = db.session.execute(sa.select(t.c.metric, sa.func.sum(t.c.n)).where(
            t.c.region_id == region_id, t.c.metric != summaries.VERSION).group_by(t.c.metric)).all()
        return {m: int(n) for m, n in rows}

    old_before, new_before = counts(w.old.region_id), counts(w.new.region_id)
    versions = summaries.version(db.session, [w.old.region_id]), summaries.version(db.session, [w.new.region_id])
    _move(app, w)
    db.session.expire_all()
    old_after, new_after = counts(w.old.region_id), counts(w.new.region_id)
    assert old_after["stage"] == old_before["stage"] - 1 and new_after.get("stage", 0) == new_before.get("stage", 0) + 1
    assert old_after["outlets"] == old_before["outlets"] - 1
    assert new_after["outlets"] == new_before.get("outlets", 0) + 1
    assert old_after.get("certified", 0) == old_before["certified"] - 1 and new_after["certified"] == 1
    assert new_after["open"] == 1 and old_after.get("open", 0) == old_before["open"] - 1
    assert summaries.version(db.session, [w.old.region_id]) > versions[0]
    assert summaries.version(db.session, [w.new.region_id]) > versions[1]
    snap = summaries.snapshot(db.session)
    with transaction():
        summaries.rebuild_all()
    assert summaries.snapshot(db.session) == snap


def test_a_move_out_of_an_active_cohorts_regions_is_refused(app, db, factory):  # type: ignore[no-untyped-def]
    from lms.errors import Invalid
    from lms.permissions import SYSTEM
    from lms.places import services as places

    cohort = factory.cohort(name="Angkatan Pusat Saja", regions=("3171",))
    manager = factory.user("trainee", region="3171")
    factory.enrolment(cohort=cohort, trainee=manager)
    outlet = manager.managed_outlet
    with pytest.raises(Invalid) as e:
        places.move_outlet(SYSTEM, outlet, _kecamatan(db, "3172"))
    assert "Angkatan Pusat Saja" in str(e.value) and "kecamatan_id" in e.value.reasons
    db.session.expire_all()
    assert outlet.region_id == factory.region("3171").id


def test_the_edit_form_asks_before_moving_to_another_region(app, db, moving):  # type: ignore[no-untyped-def]
    w = moving
    o = w.outlet
    c = _client(app, w.admin)
    data = {"code": o.code, "name": o.name, "kube_name": o.kube_name, "address": o.address,
            "kelurahan": o.kelurahan, "kecamatan_id": str(w.target.id), "phone": o.phone or "", "active": "y"}
    r = c.form_post(f"/outlets/{o.id}/edit", data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Jakarta Utara" in html and "Pendamping Lama" in html and 'name="confirm_move"' in html
    db.session.expire_all()
    assert o.region_id == w.old.region_id
    # a move inside the region needs no confirmation
    data["kecamatan_id"] = str(_kecamatan(db, "3171", 2).id)
    assert c.form_post(f"/outlets/{o.id}/edit", data).status_code == 302


def test_a_regional_coordinator_cannot_move_an_outlet_out_of_their_region(app, db, moving):  # type: ignore[no-untyped-def]
    w = moving
    o = w.outlet
    c = _client(app, w.old)
    r = c.form_post(f"/outlets/{o.id}/edit", {"code": o.code, "name": o.name, "kecamatan_id": str(w.target.id),
                                               "active": "y", "confirm_move": "y"})
    assert r.status_code == 422
    db.session.expire_all()
    assert o.region_id == w.old.region_id


def test_an_import_that_changes_the_kecamatan_moves_the_world_too(app, db, moving):  # type: ignore[no-untyped-def]
    from lms.imports import services as imports
    from lms.programme.models import Enrolment
    from lms.visits import services as visits
    from tests.test_import import HEADER, csv_bytes, row

    w = moving
    o, m = w.outlet, w.manager
    data = csv_bytes([HEADER, row(1, code=o.code, name=o.name, kube=o.kube_name, kec=w.target.name,
                                  manager=m.full_name, email=m.email, phone="0812-3456-7555")])
    p = imports.preview_import(w.admin, data, "pindah.csv")
    assert not p.errors and "kecamatan_id" in p.rows[0].outlet_changes
    imports.apply_import(w.admin, data, "pindah.csv")
    db.session.expire_all()
    assert o.region_id == w.new.region_id
    assert db.session.get(Enrolment, w.enrolment.id).region_id == w.new.region_id
    assert visits.current_assignment(o.id) is None
    assert not _sees(app, w.old, w)["review queue"] and _sees(app, w.new, w)["review queue"]


def test_an_import_may_not_move_an_outlet_out_of_its_cohorts_regions(app, db, factory):  # type: ignore[no-untyped-def]
    from lms.imports import services as imports
    from tests.test_import import HEADER, csv_bytes, row

    cohort = factory.cohort(name="Angkatan Pusat Saja", regions=("3171",))
    manager = factory.user("trainee", region="3171", email="tetap@uji.example", full_name="Ibu Tetap")
    factory.enrolment(cohort=cohort, trainee=manager)
    o = manager.managed_outlet
    admin = factory.user("admin", region=None)
    data = csv_bytes([HEADER, row(1, code=o.code, name=o.name, kube=o.kube_name, kec=_kecamatan(db, "3172").name,
                                  manager=manager.full_name, email=manager.email, phone="0812-3456-7000")])
    p = imports.preview_import(admin, data, "pindah.csv")
    assert [(e.column, "Angkatan Pusat Saja" in e.message) for e in p.errors] == [("Kecamatan", True)]
    with pytest.raises(imports.ImportRejected):
        imports.apply_import(admin, data, "pindah.csv")
