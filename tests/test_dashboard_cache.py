"""The dashboard's cache: what a repeated dashboard costs (one SQL statement), and that it is never
stale: a change committed anywhere (another request, another process) shows on the next load."""
from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from lms import create_app
from lms.dashboard import scopes
from lms.dashboard import summaries
from lms.db import transaction, utcnow
from tests.test_dashboard import fixture  # noqa: F401  (the hand-counted data)

URL = "/dashboard?start=2026-09-01&end=2026-11-30"


def _enrolled(html: str) -> int:
    m = re.search(r'Pengelola terdaftar</h2><p class="big">(\d+)<', html)
    assert m, "no enrolled count on the page"
    return int(m.group(1))


def _add_enrolment(db, factory, fixture, name: str = "Pengelola G") -> None:  # noqa: F811
    outlet = factory.outlet("3171", kecamatan=fixture["k1"])
    trainee = factory.user("trainee", region="3171", outlet=outlet, full_name=name)
    with transaction():
        db.session.merge(outlet).manager_id = trainee.id
    factory.enrolment(cohort=fixture["cohort"], trainee=trainee)


@pytest.mark.parametrize("role,region", [("coordinator", "3171"), ("admin", None)])
def test_a_repeated_dashboard_costs_one_statement(client, login_as, fixture, count_queries, role, region):  # noqa: F811
    """The sign-in statement reads the data version and the bell's count with the person: nothing else."""
    login_as(role, region=region)
    client.get(URL)  # the first page after signing in gives the session its CSRF token
    client.get(URL)
    with count_queries() as q:
        assert client.get(URL).status_code == 200
    assert q.count == 1, q.statements
    [statement] = q.statements
    assert "FROM users" in statement and "dashboard_counts" in statement and "notifications" in statement
    # the same page as a page of its own costs more: the cache is what makes the difference
    with count_queries() as other:
        assert client.get(URL + "&days=61").status_code == 200
    assert other.count > 3, other.statements


def test_the_versions_read_with_the_person_are_the_dashboards(app, db, factory, fixture):  # noqa: F811
    """summaries.version_columns() (in one statement with the user) equal summaries.versions() of the
    regions the person's dashboard covers, for each kind of viewer."""
    from lms.people.models import User

    viewers = [factory.user("admin"), factory.user("coordinator", region="3171"),
               factory.user("coordinator", region="3172")]
    with transaction():  # a coordinator without a region covers all of DKI
        all_dki = factory.user("coordinator", region="3171")
        db.session.merge(all_dki).region_id = None
    viewers.append(all_dki)
    summaries.bump_versions(db.session, [fixture["k3"].region_id])
    summaries.bump_versions(db.session, [fixture["k3"].region_id], summaries.SESSIONS_VERSION)
    db.session.commit()
    for viewer in viewers:
        user = db.session.get(User, viewer.id)
        read = db.session.execute(sa.select(*summaries.version_columns()).select_from(User)
                                  .where(User.id == user.id)).one()
        assert tuple(read) == summaries.versions(db.session, scopes.allowed_region_ids(user)), user.role


def test_changes_show_on_the_next_load(client, login_as, db, factory, fixture):  # noqa: F811
    """Data, the bell, the person's own name: each shows on the very next dashboard, cached or not."""
    from lms.notifications.models import Notification
    from lms.people.models import User

    me = login_as("coordinator", region="3171")
    first = client.get(URL).get_data(as_text=True)
    assert client.get(URL).get_data(as_text=True) == first  # a cache hit: the same page
    assert _enrolled(first) == 5 and "bell-count" not in first

    _add_enrolment(db, factory, fixture)
    assert _enrolled(client.get(URL).get_data(as_text=True)) == 6

    with transaction():
        db.session.add(Notification(user_id=me.id, kind="test", title="Ada kabar", created_at=utcnow()))
    assert '<span class="bell-count">1</span>' in client.get(URL).get_data(as_text=True)

    with transaction():
        db.session.get(User, me.id).full_name = "Koordinator Berganti Nama"
    assert "Koordinator Berganti Nama" in client.get(URL).get_data(as_text=True)


def test_a_message_shows_once_and_other_browsers_get_their_own_page(app, client, login_as, fixture):  # noqa: F811
    from tests.conftest import TEST_PASSWORD

    me = login_as("coordinator", region="3171")
    page = client.get(URL).get_data(as_text=True)
    mine = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # the same person in a second browser: its own session, its own CSRF token, never the first one's page
    other = app.test_client()
    resp = other.form_post("/login", {"email": me.email, "password": TEST_PASSWORD})
    if resp.headers["Location"] == "/login/code":
        from tests.conftest import pass_code_step

        pass_code_step(other, me.email)
    theirs = other.get(URL).get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', theirs).group(1)
    assert token.split(".")[0] != mine.split(".")[0]  # a different session's token (the signed part differs)
    # a flash message waiting for the next page is shown on it, once: that page is not served from the cache
    with client.session_transaction() as s:
        s.setdefault("_flashes", []).append(("info", "Pesan sekali tampil"))
    assert "Pesan sekali tampil" in client.get(URL).get_data(as_text=True)
    assert "Pesan sekali tampil" not in client.get(URL).get_data(as_text=True)


def test_a_registration_redraws_only_the_sessions_view(client, login_as, db, factory, fixture):  # noqa: F811
    """A registration (the morning's most frequent change) raises the sessions' version only: the next
    dashboard shows it, and draws the sessions view again but takes the other views from the cache."""
    from lms.sessions import services as sessions

    [trainee] = factory.enrolled_trainees(1, fixture["cohort"])
    up = fixture["upcoming"]
    login_as("coordinator", region="3171")
    client.get(URL)
    app = client.application
    made: list[str] = []
    from lms.dashboard import views

    real_views, real_sessions, real_head = views._views, views._sessions_view, views._head
    views._views = lambda *a: made.append("numbers") or real_views(*a)  # type: ignore[assignment]
    views._sessions_view = lambda *a: made.append("sessions") or real_sessions(*a)  # type: ignore[assignment]
    views._head = lambda *a: made.append("filters") or real_head(*a)  # type: ignore[assignment]
    try:
        sessions.register(trainee, db.session.merge(up))
        html = client.get(URL).get_data(as_text=True)
        assert made == ["sessions"], made  # the filters (cohorts, dates) and the other views: from the cache
        with transaction():  # a cohort renamed: every version moves, and the filter shows the new name
            db.session.merge(fixture["cohort"]).name = "Angkatan Berganti Nama"
        made.clear()
        renamed = client.get(URL).get_data(as_text=True)
    finally:
        views._views, views._sessions_view, views._head = real_views, real_sessions, real_head
    assert sorted(made) == ["filters", "numbers", "sessions"], made
    assert "Angkatan Berganti Nama" in renamed
    assert re.search(r">5/10<", html), "the new registration is counted in the fill rate"
    assert app.extensions["lms.dashboard_cache"].hits >= 1


def test_another_process_sees_a_change_at_once(app, client, login_as, db, db_url, factory, fixture, tmp_path,  # noqa: F811
                                               count_queries):
    """Two app processes (two apps, each with its own cache, as two gunicorn workers or servers): the
    second one's cached dashboard gives way to a change committed by the first at its next load."""
    login_as("coordinator", region="3171")
    second = create_app({"TESTING": True, "DATABASE_URL": db_url, "INSTANCE_PATH": str(tmp_path / "second"),
                         "SECRET_KEY": app.config["SECRET_KEY"]})
    browser = second.test_client()
    browser.set_cookie("session", client.get_cookie("session").value)
    assert _enrolled(browser.get(URL).get_data(as_text=True)) == 5
    assert _enrolled(browser.get(URL).get_data(as_text=True)) == 5  # from the second process's cache
    assert second.extensions["lms.dashboard_cache"].hits >= 1
    _add_enrolment(db, factory, fixture)  # committed by the first process
    assert _enrolled(browser.get(URL).get_data(as_text=True)) == 6
    with second.app_context():
        from lms.extensions import db as second_db

        second_db.session.remove()
        second_db.engine.dispose()
