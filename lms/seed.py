"""The demo programme: DKI Jakarta's 2018 e-Warong 7 PAS run. Idempotent."""
from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa

from .audit.services import record
from .db import transaction
from .extensions import db
from .people.models import Role, User
from .people.passwords import hash_password
from .people.phone import normalize_phone
from .places.models import Kecamatan, Outlet, OutletManagerTerm, Region
from .seed_data import DEMO_ADMIN, demo_coordinators, demo_mentors, demo_outlets

#: the one password of every demo account (printed by the command, listed in the README)
DEMO_PASSWORD = "Ewarong-7PAS-2018"


@dataclass
class SeedReport:
    created: dict[str, int] = field(default_factory=dict)
    logins: list[tuple[str, str, str]] = field(default_factory=list)

    def add(self, kind: str, n: int = 1) -> None:
        self.created[kind] = self.created.get(kind, 0) + n


def is_empty() -> bool:
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0


def seed_demo() -> SeedReport:
    """Create what is missing of the demo data; running it again changes nothing."""
    report = SeedReport()
    with transaction():
        regions = {r.code: r for r in db.session.scalars(sa.select(Region))}
        kecs = {k.code: k for k in db.session.scalars(sa.select(Kecamatan))}
        if len(regions) != 6 or len(kecs) != 44:
            raise RuntimeError("reference data missing: run the migrations first (flask --app lms db upgrade)")
        existing = set(db.session.scalars(sa.select(User.email)))
        outlets_by_code = {o.code: o for o in db.session.scalars(sa.select(Outlet))}
        # one hash for all demo accounts: hashing 270 passwords one by one takes a minute
        pw_hash = hash_password(DEMO_PASSWORD)

        def user(email: str, full_name: str, role: Role, phone: str | None, region: Region | None) -> User | None:
            if email in existing:
                return None
            u = User(email=email, full_name=full_name, role=role, phone=normalize_phone(phone),
                     region_id=region.id if region else None, password_hash=pw_hash)
            db.session.add(u)
            existing.add(email)
            report.add(role.value)
            return u

        user(DEMO_ADMIN["email"], DEMO_ADMIN["full_name"], Role.ADMIN, DEMO_ADMIN.get("phone"), None)
        report.logins.append(("admin", DEMO_ADMIN["email"], "seluruh DKI"))
        for c in demo_coordinators():
            region = regions[c["region_code"]]
            user(c["email"], c["full_name"], Role.COORDINATOR, c.get("phone"), region)
            report.logins.append(("coordinator", c["email"], region.name))
        first_mentor: dict[str, str] = {}
        for m in demo_mentors():
            region = regions[m["region_code"]]
            user(m["email"], m["full_name"], Role.MENTOR, m.get("phone"), region)
            first_mentor.setdefault(m["region_code"], m["email"])
        for code, email in first_mentor.items():
            report.logins.append(("mentor", email, regions[code].name))

        first_trainee = None
        for o in demo_outlets():
            outlet = outlets_by_code.get(o["code"])
            kec = kecs[o["kecamatan_code"]]
            if outlet is None:
                outlet = Outlet(code=o["code"], name=o["name"], kube_name=o["kube_name"], address=o["address"],
                                kelurahan=o["kelurahan"], kecamatan_id=kec.id, region_id=kec.region_id,
                                phone=normalize_phone(o["phone"]), active=True)
                db.session.add(outlet)
                report.add("outlet")
            m = o["manager"]
            manager = user(m["email"], m["full_name"], Role.TRAINEE, m.get("phone"), regions[o["region_code"]])
            if manager is not None and outlet.manager_id is None:
                db.session.flush()
                outlet.manager_id = manager.id
                db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=manager.id))
            if first_trainee is None:
                first_trainee = (m["email"], regions[o["region_code"]].name)
        if first_trainee:
            report.logins.append(("trainee", first_trainee[0], first_trainee[1]))
        if report.created:
            record("demo.seeded", actor=None, created=report.created)
    return report
