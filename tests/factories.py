"""Test data factories: valid objects with sensible defaults, written straight to the database."""
from __future__ import annotations

import itertools
from typing import Any

import sqlalchemy as sa

from lms.people.models import Role, User
from lms.people.passwords import hash_password
from lms.places.models import Kecamatan, Outlet, OutletManagerTerm, Region

_seq = itertools.count(1)


class Factory:
    def __init__(self, db: Any) -> None:
        self.db = db

    def region(self, code: str = "3171") -> Region:
        region = self.db.session.scalar(sa.select(Region).where(Region.code == code))
        assert region is not None, code
        return region

    def kecamatan(self, region_code: str = "3171") -> Kecamatan:
        kec = self.db.session.scalar(sa.select(Kecamatan).join(Region).where(Region.code == region_code)
                                     .order_by(Kecamatan.code).limit(1))
        assert kec is not None
        return kec

    def outlet(self, region: str = "3171", **kw: Any) -> Outlet:
        n = next(_seq)
        kec = kw.pop("kecamatan", None) or self.kecamatan(region)
        outlet = Outlet(code=kw.pop("code", f"EW-{region}-{n:04d}"), name=kw.pop("name", f"e-Warong Uji {n}"),
                        kube_name=kw.pop("kube_name", f"KUBE Uji {n}"), address=kw.pop("address", "Jl. Uji No. 1"),
                        kelurahan=kw.pop("kelurahan", "Kelurahan Uji"), kecamatan_id=kec.id, region_id=kec.region_id,
                        phone=kw.pop("phone", "+6281234567890"), active=kw.pop("active", True), **kw)
        self.db.session.add(outlet)
        self.db.session.commit()
        return outlet

    def user(self, role: str | Role = "trainee", *, region: str | None = "3171", outlet: Outlet | None = None,
             password: str | None = None, **kw: Any) -> User:
        from tests.conftest import TEST_PASSWORD

        role = Role(role)
        n = next(_seq)
        region_obj = self.region(region) if region else None
        if role is Role.TRAINEE and outlet is None and kw.pop("with_outlet", True):
            outlet = self.outlet(region or "3171")
        if role is Role.ADMIN:
            region_obj = None
        user = User(email=kw.pop("email", f"{role.value}{n}@uji.example"), full_name=kw.pop("full_name", f"Pengguna Uji {n}"),
                    role=role, region_id=(outlet.region_id if outlet else (region_obj.id if region_obj else None)),
                    password_hash=hash_password(password or TEST_PASSWORD), phone=kw.pop("phone", None),
                    active=kw.pop("active", True), **kw)
        self.db.session.add(user)
        self.db.session.flush()
        if outlet is not None:
            outlet.manager_id = user.id
            self.db.session.add(OutletManagerTerm(outlet_id=outlet.id, user_id=user.id))
        self.db.session.commit()
        return user
