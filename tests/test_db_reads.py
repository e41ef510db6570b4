"""How a request's transaction ends (lms.db.end_reads): a request that only read commits, so that psycopg keeps
its prepared statements (it forgets them at every ROLLBACK); anything that wrote or noted work for its end is
rolled back as before."""
from __future__ import annotations

import sqlalchemy as sa

from lms.db import end_reads, transaction
from lms.people.models import User


def _ends(engine):  # type: ignore[no-untyped-def]
    """A list that collects 'commit' and 'rollback' as the app's connections end their transactions."""
    seen: list[str] = []
    sa.event.listen(engine, "commit", lambda conn: seen.append("commit"))
    sa.event.listen(engine, "rollback", lambda conn: seen.append("rollback"))
    return seen


def test_a_page_that_only_read_commits_and_one_that_wrote_commits_its_unit_of_work(app, db, client, login_as):
    login_as("trainee")
    seen = _ends(db.engine)
    for _ in range(3):
        assert client.get("/home").status_code == 200
    assert seen and set(seen) == {"commit"}, seen
    seen.clear()
    assert client.get("/profil/tidak-ada-halaman-ini").status_code == 404  # an error page: nothing is wrong either
    assert "rollback" not in seen


def test_prepared_statements_outlive_the_request_on_postgresql(app, db, client, login_as):
    """psycopg prepares a statement after its fifth run on a connection; ended with ROLLBACK, every request
    forgot them again, and PostgreSQL planned every statement of every page anew."""
    login_as("trainee")
    for _ in range(7):
        assert client.get("/home").status_code == 200
    if db.engine.dialect.name != "postgresql":
        assert db.engine.dialect.name == "sqlite"  # (SQLite has no prepared statements to keep)
        return
    assert db.engine.pool.checkedin() == 1  # (requests and fixtures ran one after another: one connection)
    with db.engine.connect() as conn:
        prepared = conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar()
    assert prepared and prepared >= 3


def test_only_a_transaction_that_read_is_committed(app, db, factory):
    person = factory.user("trainee", full_name="Nama Awal")
    session = db.session()
    update = sa.update(User).where(User.id == person.id).values(full_name="Ditulis tanpa unit kerja")

    def name() -> str:
        return db.session.scalar(sa.select(User.full_name).where(User.id == person.id))

    # read only: committed, the transaction is over
    name()
    assert end_reads(session) is True and not session.in_transaction()
    # a statement that wrote: left to be rolled back
    session.execute(update)
    assert end_reads(session) is False
    session.rollback()
    assert name() == "Nama Awal"
    # a change not yet flushed, an object added: left alone
    session.get(User, person.id).full_name = "Belum di-flush"
    assert end_reads(session) is False
    session.rollback()
    session.add(User(email="baru@example.org", full_name="Baru"))
    assert end_reads(session) is False
    session.rollback()
    # work noted for the transaction's end (a stored file to remove if it rolls back): left alone
    name()
    session.info["lms.files.written"] = [("backend", "key")]
    assert end_reads(session) is False
    session.info.pop("lms.files.written")
    session.rollback()
    # inside a unit of work: never
    with transaction():
        name()
        assert end_reads(session) is False
    assert name() == "Nama Awal"
    # nothing open: nothing to do
    session.commit()
    assert end_reads(session) is False


def test_prepared_statements_can_be_switched_off_for_a_pooler(db_url, tmp_path):
    """LMS_DATABASE_PREPARED_STATEMENTS=false: PostgreSQL connections never prepare (PgBouncer in transaction
    mode before 1.21); SQLite ignores it."""
    from lms import create_app
    from lms.extensions import db as _db

    app = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "instance"),
                      "SECRET_KEY": "x" * 32, "NOTIFICATIONS_WORKER": "off", "DATABASE_PREPARED_STATEMENTS": False})
    with app.app_context():
        try:
            with _db.engine.connect() as conn:
                for _ in range(7):
                    conn.exec_driver_sql("SELECT 1")
                if _db.engine.dialect.name == "postgresql":
                    assert conn.connection.dbapi_connection.prepare_threshold is None
                    assert conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_statements").scalar() == 0
        finally:
            _db.session.remove()
            _db.engine.dispose()
