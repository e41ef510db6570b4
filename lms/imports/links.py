"""Importing outlets: the absolute first-sign-in links and the template file."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from ..extensions import db
from ..places.models import Kecamatan, Region
from .common import _require


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
