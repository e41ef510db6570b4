"""The unit of work (lms.db.transaction): what a commit leaves loaded."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from lms.db import transaction
from lms.people.models import User


def test_keep_loaded_keeps_what_was_written_the_default_reads_it_again(app, db, factory, count_queries):
    person = factory.user("trainee", full_name="Nama Awal")
    other = factory.user("trainee")
    session = db.session()
    with transaction(keep_loaded=True):
        me = session.get(User, person.id)
        me.full_name = "Nama Baru"
    assert session.expire_on_commit is True  # only that commit kept its objects
    with count_queries() as q:
        assert me.full_name == "Nama Baru"
    assert q.count == 0, q.statements
    with transaction():
        me.full_name = "Nama Lagi"
    with count_queries() as q:
        assert me.full_name == "Nama Lagi"
    assert q.count == 1, q.statements  # read again after an ordinary commit
    # a commit that fails (a second account with the same e-mail) rolls back and restores the setting
    with pytest.raises(sa.exc.IntegrityError):
        with transaction(keep_loaded=True):
            session.get(User, other.id).email = person.email
    assert session.expire_on_commit is True
    assert db.session.scalar(sa.select(User.full_name).where(User.id == person.id)) == "Nama Lagi"
