"""Command-line interface: ``flask user create`` and ``flask seed-demo``."""
from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.db import Base
from lms.people.models import Role, User
from lms.places.models import Outlet, Region

STRONG = "Kuat-Sandi-Pusat-2018"


@pytest.fixture
def cli(app, db):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()

    def invoke(*args: str, input: str | None = None):  # type: ignore[no-untyped-def]
        db.session.commit()  # the command sees what the test wrote, and the test what it writes
        result = runner.invoke(args=list(args), input=input)
        db.session.rollback()
        db.session.expire_all()
        return result

    return invoke


def _user(db, email: str) -> User | None:  # type: ignore[no-untyped-def]
    return db.session.scalar(sa.select(User).where(User.email == email))


# --- flask user create -----------------------------------------------------------------------

def test_create_mentor_with_password_from_stdin(cli, client, db):
    r = cli("user", "create", "Pendamping.Baru@Uji.Example", "--name", "Pak Harun", "--role", "mentor",
            "--region", "3171", "--phone", "0812-3456-7890", input=STRONG + "\n")
    assert r.exit_code == 0, r.output
    assert "created mentor pendamping.baru@uji.example" in r.output
    user = _user(db, "pendamping.baru@uji.example")
    assert user.role is Role.MENTOR and user.full_name == "Pak Harun" and user.phone == "+6281234567890"
    assert user.region.code == "3171" and user.password_hash.startswith("scrypt:")
    assert STRONG not in r.output
    # the password typed on stdin works on the sign-in form
    resp = client.form_post("/login", {"email": "pendamping.baru@uji.example", "password": STRONG})
    assert resp.status_code == 302
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "user.created"))
    assert entry.target_id == str(user.id) and entry.actor_id is None  # the system acted


def test_create_admin_and_trainee(cli, factory, db):
    r = cli("user", "create", "admin.baru@uji.example", "--name", "Admin Baru", "--role", "admin", input=STRONG + "\n")
    assert r.exit_code == 0, r.output
    assert _user(db, "admin.baru@uji.example").role is Role.ADMIN
    outlet = factory.outlet("3174")
    r = cli("user", "create", "pengelola@uji.example", "--name", "Bu Wati", "--role", "trainee",
            "--outlet", outlet.code, input=STRONG + "\r\n")
    assert r.exit_code == 0, r.output
    trainee = _user(db, "pengelola@uji.example")
    assert trainee.managed_outlet.id == outlet.id and trainee.region.code == "3174"


def test_create_without_password_issues_a_setup_link(cli, db):
    r = cli("user", "create", "tanpa.sandi@uji.example", "--name", "Tanpa Sandi", "--role", "coordinator",
            input="\n")
    assert r.exit_code == 0, r.output
    assert "set-up link" in r.output
    assert _user(db, "tanpa.sandi@uji.example").password_hash is None


@pytest.mark.parametrize("args,stdin,message", [
    (["--role", "mentor", "--region", "9999"], STRONG, "unknown region code '9999'"),
    (["--role", "trainee", "--outlet", "EW-TIDAK-ADA"], STRONG, "outlet_code"),
    (["--role", "trainee"], STRONG, "harus terhubung ke satu e-Warong"),
    (["--role", "mentor", "--region", "3171"], "password123", "terlalu umum"),
    (["--role", "mentor", "--region", "3171"], "bismillah", "terlalu umum"),
    (["--role", "mentor", "--region", "3171"], "pendek", "minimal 8 karakter"),
    (["--role", "mentor", "--region", "3171", "--phone", "12345"], STRONG, "Nomor telepon tidak valid"),
    (["--role", "mentor"], STRONG, "wilayah"),
])
def test_create_errors(cli, db, args, stdin, message):
    r = cli("user", "create", "gagal@uji.example", "--name", "Gagal", *args, input=stdin + "\n")
    assert r.exit_code == 1, r.output
    assert message in r.output
    assert "Traceback" not in r.output
    assert _user(db, "gagal@uji.example") is None


def test_create_unknown_role(cli, db):
    r = cli("user", "create", "gagal@uji.example", "--name", "Gagal", "--role", "superuser", input=STRONG + "\n")
    assert r.exit_code == 2
    assert "--role" in r.output and "superuser" in r.output
    assert _user(db, "gagal@uji.example") is None


def test_create_duplicate_email(cli, factory, db):
    factory.user("mentor", email="ada@uji.example")
    r = cli("user", "create", "ADA@uji.example", "--name", "Kembar", "--role", "mentor", "--region", "3171",
            input=STRONG + "\n")
    assert r.exit_code == 1
    assert "sudah dipakai" in r.output


# --- flask seed-demo ---------------------------------------------------------------------------

def _table_counts(db) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {t.name: db.session.scalar(sa.select(sa.func.count()).select_from(t))
            for t in Base.metadata.sorted_tables}


@pytest.mark.slow
def test_seed_demo_builds_the_2018_programme_once(cli, app, client, db):
    from lms.seed_today import current_logins, find_current_cohort

    first = cli("seed-demo", "--today", "2027-05-04")
    assert first.exit_code == 0, first.output + repr(first.exception)
    # the current cohort is dated from the given day; its trainees are printed with the other logins
    assert find_current_cohort().start_date == date(2027, 5, 4) - timedelta(days=91)
    assert all(email in first.output for _role, email, _what in current_logins())

    from lms.seed_data import demo_current_outlets

    outlets = list(db.session.scalars(sa.select(Outlet).options(sa.orm.joinedload(Outlet.region),
                                                                 sa.orm.joinedload(Outlet.manager))))
    managed = 253 + len(demo_current_outlets())  # the 2018 programme and the current cohort
    assert len(outlets) == managed
    per_region: dict[str, int] = {}
    for o in outlets:
        per_region[o.region.code] = per_region.get(o.region.code, 0) + 1
    assert set(per_region) == {"3171", "3172", "3173", "3174", "3175"}, per_region  # the five cities
    assert all(n > 0 for n in per_region.values())

    roles = dict(db.session.execute(sa.select(User.role, sa.func.count()).group_by(User.role)).all())
    assert roles == {Role.TRAINEE: managed, Role.COORDINATOR: 5, Role.MENTOR: 15, Role.ADMIN: 1}
    # every trainee manages exactly one outlet, every outlet has one
    managers = [o.manager for o in outlets]
    assert all(m is not None and m.role is Role.TRAINEE for m in managers)
    assert len({m.id for m in managers}) == managed
    for o in outlets:
        assert o.manager.region_id == o.region_id
    coord_regions = set(db.session.scalars(sa.select(Region.code).join(User, User.region_id == Region.id)
                                           .where(User.role == Role.COORDINATOR)))
    assert coord_regions == {"3171", "3172", "3173", "3174", "3175"}

    counts = _table_counts(db)
    second = cli("seed-demo")  # today: another day than the first run
    assert second.exit_code == 0, second.output
    assert _table_counts(db) == counts  # audit entries included
    assert "nothing changed" in second.output

    # the printed password signs in the printed accounts
    m = re.search(r"password for all: (\S+?)\)?:?\s*$", first.output, re.M)
    assert m, first.output
    password = m.group(1)
    emails = re.findall(r"^\s+(\w+)\s+(\S+@\S+)", first.output, re.M)
    printed_roles = {role for role, _ in emails}
    assert {"admin", "coordinator", "mentor", "trainee"} <= printed_roles, first.output
    for role in ("admin", "trainee"):
        email = next(e for r_, e in emails if r_ == role)
        fresh = app.test_client()
        r = fresh.form_post("/login", {"email": email, "password": password})
        assert r.status_code == 302, (role, email)
        if role == "admin":  # the demo admin's authenticator holds the documented demo key
            import pyotp

            from lms.seed import DEMO_TOTP_SECRET

            assert r.headers["Location"] == "/login/code"
            r = fresh.form_post("/login/code", {"code": pyotp.TOTP(DEMO_TOTP_SECRET).now()})
            assert r.status_code == 302
        # the demo accounts have not accepted the privacy notice: their first page asks for it
        assert fresh.get("/home").headers["Location"].startswith("/privasi/persetujuan")
        assert fresh.form_post("/privasi/persetujuan", {"agree": "y", "accept": "1"}).status_code == 302
        assert fresh.get("/home").status_code == 200
