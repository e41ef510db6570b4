"""The regional dashboard: numbers against a hand-computed fixture, scope, filters, the
drill-down list, bounded queries, and the maintained summaries against a full recount."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from lms.dashboard import scopes
from lms.dashboard import services as dash
from lms.dashboard import summaries
from lms.db import transaction, utcnow
from lms.places.models import Kecamatan, Outlet, Region

UTC = timezone.utc


def _kecs(db, code: str) -> list[Kecamatan]:
    return list(db.session.scalars(sa.select(Kecamatan).join(Region).where(Region.code == code).order_by(Kecamatan.code)))


def _set(db, enrolment, *, stage: str | None, days_ago: int, completed_at: datetime | None = None) -> None:
    now = utcnow()
    with transaction():
        e = db.session.merge(enrolment)
        e.current_stage = stage
        e.completed_count = 7 if stage is None else ["pendaftaran", "pelatihan", "pendampingan", "perizinan",
                                                       "pemasaran", "pelaporan_keuangan", "permodalan"].index(stage)
        e.progress_changed_at = now - timedelta(days=days_ago)
        e.completed_at = completed_at


def _stage_keys(app) -> list[str]:
    from lms.programme.services import default_curriculum

    with app.app_context():
        return list(default_curriculum().stage_keys)


@pytest.fixture
def fixture(app, db, factory):
    """Region 3171 (two kecamatan) plus one 3172 enrolment; every number below is counted by hand.

    ========  =========  ===================  ==================  ==================================
    who       kecamatan  stage                last progress       visits / action items
    ========  =========  ===================  ==================  ==================================
    a         K1         pelatihan            10 days ago         visited 3 days ago
    b         K1         pelatihan            90 days ago (stuck) visited 45 days ago; 3 actions
    c         K1         perizinan            61 days ago (stuck) never visited
    d         K2         all 7 done (Oct 16)  5 days ago          visited 10 days ago; completion cert
    e         K2         pemasaran            5 days ago          never visited
    f         K3 (3172)  pelatihan            200 days ago        visited yesterday (other region)
    ========  =========  ===================  ==================  ==================================
    """
    from lms.certification import services as certs
    from lms.permissions import SYSTEM

    k1, k2 = _kecs(db, "3171")[:2]
    k3 = _kecs(db, "3172")[0]
    cohort = factory.cohort()
    mentor = factory.user("mentor", region="3171")
    mentor2 = factory.user("mentor", region="3172")
    people = {}
    for name, kec, region in (("a", k1, "3171"), ("b", k1, "3171"), ("c", k1, "3171"), ("d", k2, "3171"),
                              ("e", k2, "3171"), ("f", k3, "3172")):
        outlet = factory.outlet(region, kecamatan=kec)
        trainee = factory.user("trainee", region=region, outlet=outlet, full_name=f"Pengelola {name.upper()}")
        with transaction():
            db.session.merge(outlet).manager_id = trainee.id
        people[name] = factory.enrolment(cohort=cohort, trainee=trainee, region=region)
    now = utcnow()
    _set(db, people["a"], stage="pelatihan", days_ago=10)
    _set(db, people["b"], stage="pelatihan", days_ago=90)
    _set(db, people["c"], stage="perizinan", days_ago=61)
    _set(db, people["d"], stage=None, days_ago=5, completed_at=datetime(2026, 10, 15, 20, 0, tzinfo=UTC))  # 16 Oct WIB
    _set(db, people["e"], stage="pemasaran", days_ago=5)
    _set(db, people["f"], stage="pelatihan", days_ago=200)
    outlet = lambda n: people[n].outlet  # noqa: E731
    today = scopes.wib_today()
    factory.visit(mentor, outlet("a"), visited_at=now - timedelta(days=3), refresh=False)
    factory.visit(mentor, outlet("b"), visited_at=now - timedelta(days=45), refresh=False, actions=(
        ("Pasang daftar harga", "Ibu B", today - timedelta(days=20)),
        ("Catat stok", "Ibu B", today + timedelta(days=5))))
    factory.visit(mentor, outlet("b"), visited_at=now - timedelta(days=50), refresh=False, done=True,
                  actions=(("Sudah selesai", "Ibu B", today - timedelta(days=40)),))
    factory.visit(mentor, outlet("d"), visited_at=now - timedelta(days=10), refresh=False)
    factory.visit(mentor2, outlet("f"), visited_at=now - timedelta(days=1), refresh=False,
                  actions=(("Lain wilayah", "Ibu F", today - timedelta(days=3)),))
    # certificates: d's completion (Nov 2026), a Bimtek one for a (Nov 2026), one in 3172
    with transaction():
        d = db.session.merge(people["d"])
        certs.issue_for_enrolment(SYSTEM, certs.design_for("completion"), d,
                                  issued_at=datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
    past = factory.session("3171", cohort=cohort, title="Bimtek Lalu", days_ago=20, capacity=10)
    for n, att in (("a", "present"), ("b", "late"), ("c", "absent"), ("d", "present")):
        factory.register(past, people[n].user, att)
    with transaction():
        db.session.merge(past).seats_taken = 4
    cert = factory.certificate(session=past, holder=people["a"].user)
    with transaction():
        db.session.merge(cert).issued_at = datetime(2026, 11, 3, 3, 0, tzinfo=UTC)
    upcoming = factory.training_session(cohort=cohort, region="3171", capacity=10)
    with transaction():
        db.session.merge(upcoming).seats_taken = 4
    factory.training_session(cohort=cohort, region="3172", capacity=10)
    return {"cohort": cohort, "k1": k1, "k2": k2, "k3": k3, "people": people, "past": past, "upcoming": upcoming}


def _scope(actor, **kw):
    return scopes.scope_for(actor, regions=scopes.allowed_regions(actor), **kw)


def test_numbers_match_the_hand_computed_fixture(app, db, factory, fixture):
    coord = factory.user("coordinator", region="3171")
    scope = _scope(coord, start=date(2026, 9, 1), end=date(2026, 11, 30))
    d = dash.dashboard(coord, scope)
    stages = {s.key: s.count for s in d.stages}
    assert stages == {"pendaftaran": 0, "pelatihan": 2, "pendampingan": 0, "perizinan": 1, "pemasaran": 1,
                      "pelaporan_keuangan": 0, "permodalan": 0, "_done": 1}
    assert d.enrolled == 5 and d.done == 1
    # stuck ≥ 60 days: b (pelatihan, 90) and c (perizinan, 61); oldest first
    assert d.stuck_total == 2
    assert {s.key: s.count for s in d.stuck_by_stage if s.count} == {"pelatihan": 1, "perizinan": 1}
    assert [r.full_name for r in d.stuck_rows] == ["Pengelola B", "Pengelola C"]
    # per kecamatan
    rows = {r.kecamatan.id: r for r in d.kecamatan_rows}
    k1, k2 = rows[fixture["k1"].id], rows[fixture["k2"].id]
    assert (k1.enrolled, k1.by_stage["pelatihan"], k1.by_stage["perizinan"], k1.done, k1.certified) == (3, 2, 1, 0, 0)
    assert (k2.enrolled, k2.by_stage["pemasaran"], k2.done, k2.certified) == (2, 1, 1, 1)
    assert sum(r.enrolled for r in d.kecamatan_rows) == 5
    assert fixture["k3"].id not in rows
    # coverage of the five 3171 outlets: a, d visited in 30 days; b overdue; c, e never; one action past due
    c = d.coverage
    assert (c.outlets, c.recent, c.overdue, c.never, c.past_due_actions) == (5, 2, 1, 2, 1)
    # sessions: the upcoming one 4/10; the past one 3 of 4 attended (present + late)
    assert [(r.registered, r.capacity) for r in d.upcoming] == [(4, 10)]
    assert d.upcoming_fill == pytest.approx(0.4)
    assert [(r.attended, r.registered) for r in d.past] == [(3, 4)]
    assert d.past_attendance == pytest.approx(0.75)
    # months: September–November 2026
    assert [(m.month, m.count) for m in d.completions] == [(date(2026, 9, 1), 0), (date(2026, 10, 1), 1),
                                                          (date(2026, 11, 1), 0)]
    assert [(m.month, m.count) for m in d.certificates] == [(date(2026, 9, 1), 0), (date(2026, 10, 1), 0),
                                                           (date(2026, 11, 1), 2)]
    assert d.certificates[-1].by_key == {"completion": 1, "bimtek": 1}


def test_admin_sees_all_dki_and_filters_narrow_it(app, db, factory, fixture):
    admin = factory.user("admin")
    d = dash.dashboard(admin, _scope(admin))
    assert d.enrolled == 6 and d.stuck_total == 3
    assert d.coverage.outlets == 6 and d.coverage.past_due_actions == 2
    k2 = fixture["k2"]
    d = dash.dashboard(admin, _scope(admin, kecamatan=k2))
    assert d.enrolled == 2 and [r.kecamatan.id for r in d.kecamatan_rows] == [k2.id]
    assert (d.coverage.outlets, d.coverage.recent, d.coverage.never) == (2, 1, 1)
    other = factory.cohort()
    d = dash.dashboard(admin, _scope(admin, cohort_id=other.id))
    assert d.enrolled == 0 and d.stuck_total == 0 and d.upcoming == []
    d = dash.dashboard(admin, _scope(admin, stuck_days=100))
    assert d.stuck_total == 1  # only f (200 days)


def test_page_shows_the_numbers_in_tables_and_titled_svg(client, login_as, fixture):
    login_as("coordinator", region="3171")
    r = client.get("/dashboard?start=2026-09-01&end=2026-11-30")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    # every chart is an SVG named by its title and description
    charts = re.findall(r'<svg class="chart" id="([\w-]+)"[^>]*role="(img|group)"[^>]*aria-labelledby="([\w-]+)-t \1-d"', html)
    assert {c[0] for c in charts} >= {"chart-funnel", "chart-stuck", "chart-coverage", "chart-certs", "chart-trend",
                                      "chart-kecamatan", "chart-sessions", "chart-attendance"}
    assert "<script" not in html.split("</header>")[1]
    # the funnel table row for pelatihan links to the filtered list and says 2
    row = re.search(r'<a href="(/dashboard/managers\?[^"]*stage=pelatihan[^"]*)">Pelatihan</a></th><td class="num">(\d+)</td>', html)
    assert row and row.group(2) == "2"
    assert "Pengelola F" not in html  # 3172's manager is stuck too, but not in this region


def test_funnel_bar_opens_the_filtered_list(client, login_as, fixture):
    login_as("coordinator", region="3171")
    html = client.get("/dashboard").get_data(as_text=True)
    href = re.search(r'<a href="([^"]+)" class="chart-link">'
                     r'<rect [^>]*/><text class="chart-label"[^>]*>Pelatihan</text>.*?<text class="chart-value"[^>]*>2</text></a>',
                     html)
    assert href, "the pelatihan bar is a link named by the label and value it shows"
    page = client.get(href.group(1).replace("&amp;", "&")).get_data(as_text=True)
    names = re.findall(r">(Pengelola [A-F])</a>", page)
    assert sorted(names) == ["Pengelola A", "Pengelola B"]
    assert "2 pengelola" in page
    stuck = client.get("/dashboard/managers?stuck=1").get_data(as_text=True)
    assert re.findall(r">(Pengelola [A-F])</a>", stuck) == ["Pengelola B", "Pengelola C"]
    assert "2 pengelola" in stuck


def test_coordinator_sees_only_their_region_whatever_they_ask(client, login_as, fixture):
    login_as("coordinator", region="3171")
    k3 = fixture["k3"]
    region_3172 = k3.region_id
    for url in (f"/dashboard?region={region_3172}", f"/dashboard?kecamatan={k3.id}",
                f"/dashboard/managers?region={region_3172}&stage=pelatihan",
                f"/dashboard/managers?kecamatan={k3.id}"):
        r = client.get(url)
        assert r.status_code == 200, url
        html = r.get_data(as_text=True)
        assert "Pengelola F" not in html, url
        assert k3.name not in html.split('id="kecamatan"')[-1].split("</select>")[-1], url


@pytest.mark.parametrize("query", ["start=2026-13-01", "start=2026-11-01&end=2026-01-01", "days=0", "days=abc",
                                   "cohort=x", "kecamatan=999999", "region=-1", "start=0001-01-01",
                                   "cohort=99999999999999999999", "page=-3&stage=nope&stuck=7"])
def test_bad_filters_get_a_message_never_a_500(client, login_as, fixture, query):
    login_as("coordinator", region="3171")
    for path in ("/dashboard", "/dashboard/managers"):
        r = client.get(f"{path}?{query}")
        assert r.status_code == 200, (path, query)


def test_mentors_and_trainees_have_no_dashboard(client, login_as):
    for role in ("mentor", "trainee"):
        login_as(role)
        assert client.get("/dashboard").status_code == 403
        assert client.get("/dashboard/managers").status_code == 403
        assert 'href="/dashboard"' not in client.get("/home").get_data(as_text=True)
        client.form_post("/logout")


def test_coordinators_home_page_leads_to_the_dashboard(client, login_as):
    login_as("coordinator", region="3171")
    home = client.get("/home").get_data(as_text=True)
    assert home.count('href="/dashboard"') == 3  # the header bar, the menu and the to-do card


def _grow(db, factory, cohort, n: int, mentor) -> None:
    """``n`` more enrolments over several kecamatan, each with a visit and an open action item."""
    kecs = _kecs(db, "3171")
    for i in range(n):
        outlet = factory.outlet("3171", kecamatan=kecs[i % len(kecs)])
        trainee = factory.user("trainee", region="3171", outlet=outlet)
        with transaction():
            db.session.merge(outlet).manager_id = trainee.id
        e = factory.enrolment(cohort=cohort, trainee=trainee)
        _set(db, e, stage=["pelatihan", "perizinan", None][i % 3], days_ago=[5, 70, 200][i % 3],
             completed_at=utcnow() if i % 3 == 2 else None)
        factory.visit(mentor, outlet, visited_at=utcnow() - timedelta(days=i % 50), refresh=False,
                      actions=(("Tindak", "Ibu", scopes.wib_today() - timedelta(days=i % 7 - 3)),))


def test_query_count_does_not_grow_with_the_data(client, login_as, db, factory, count_queries):
    cohort = factory.cohort()
    mentor = factory.user("mentor", region="3171")
    urls = ["/dashboard", f"/dashboard?cohort={cohort.id}&start=2018-01-01&end=2026-12-31",
            "/dashboard/managers?stage=pelatihan", "/dashboard/managers?stuck=1"]
    login_as("coordinator", region="3171")
    client.application.config["DASHBOARD_CACHE_SECONDS"] = 0  # what every view costs when drawn
    client.get("/dashboard")  # the regions and kecamatan are read once per process (reference data)

    def measure() -> list[int]:
        out = []
        for url in urls:
            with count_queries() as q:
                assert client.get(url).status_code == 200
            out.append(q.count)
        return out

    _grow(db, factory, cohort, 3, mentor)
    small = measure()
    _grow(db, factory, cohort, 40, mentor)
    large = measure()
    assert small == large, (small, large)
    # the dashboard uncached: 13 (the sign-in statement with the version and the bell, the header's region,
    # cohorts and the last active month for the filters, 9 for the views)
    assert max(large) <= 14, large


@pytest.mark.slow
def test_summaries_equal_a_full_recount_after_the_demo_seed(app, db):
    from lms.seed import seed_all

    with app.app_context():
        seed_all()
        maintained = summaries.snapshot(db.session)
        with transaction():
            summaries.rebuild_all(db.session)
        assert summaries.snapshot(db.session) == maintained
        assert len(maintained) > 100


def test_summaries_follow_every_kind_of_change(app, db, factory, fixture):
    """Edits, moves, deactivation, deletion and revocation: the maintained rows stay equal to a recount."""
    from lms.certification import services as certs
    from lms.certification.models import Certificate
    from lms.permissions import SYSTEM
    from lms.visits.models import ActionItem, Visit

    def check() -> None:
        maintained = summaries.snapshot(db.session)
        with transaction():
            summaries.rebuild_all(db.session)
        assert summaries.snapshot(db.session) == maintained

    check()
    people = fixture["people"]
    k2 = fixture["k2"]
    with transaction():  # an outlet moves kecamatan
        db.session.merge(people["a"].outlet).kecamatan_id = k2.id
    check()
    with transaction():  # an outlet closes
        db.session.merge(people["b"].outlet).active = False
    check()
    with transaction():  # an action item is done, a visit is moved back in time, another deleted
        item = db.session.scalar(sa.select(ActionItem).where(ActionItem.done_at.is_(None)).limit(1))
        item.done_at = utcnow()
        v = db.session.scalar(sa.select(Visit).order_by(Visit.id).limit(1))
        v.visited_at = v.visited_at - timedelta(days=100)
    check()
    with transaction():
        db.session.delete(db.session.scalar(sa.select(Visit).order_by(Visit.id.desc()).limit(1)))
    check()
    with transaction():  # progress without a change of stage (the stuck counts read its month)
        db.session.merge(people["c"]).progress_changed_at = utcnow() - timedelta(days=400)
    check()
    with transaction():  # an enrolment ends
        from lms.programme.models import EnrolmentStatus
        db.session.merge(people["e"]).status = EnrolmentStatus.WITHDRAWN
    check()
    cert = db.session.scalar(sa.select(Certificate).where(Certificate.kind == "completion"))
    certs.revoke(SYSTEM, cert, "Salah terbit")
    check()


def test_stuck_counts_equal_a_count_of_the_enrolments_at_any_cut_off(app, db, factory, fixture):
    """The dashboard's stuck counts add the summary's whole months to the enrolments of the cut-off's month:
    equal to counting the enrolments, for cut-offs on, just before and just after a WIB month's first
    moment, and for every few days over more than a year, in every scope."""
    from lms.dashboard.scopes import wib_start_utc
    from lms.programme.models import Enrolment

    people = fixture["people"]
    month_start = wib_start_utc(date(2026, 10, 1))  # 1 Oct 00:00 WIB = 30 Sep 17:00 UTC
    tick = timedelta(microseconds=1)
    with transaction():
        db.session.merge(people["a"]).progress_changed_at = month_start
        db.session.merge(people["b"]).progress_changed_at = month_start - tick
        db.session.merge(people["e"]).progress_changed_at = month_start + tick
    admin = factory.user("admin")
    coord = factory.user("coordinator", region="3171")
    cases = [_scope(admin), _scope(coord), _scope(admin, kecamatan=fixture["k1"]),
             _scope(admin, cohort_id=fixture["cohort"].id), _scope(admin, cohort_id=factory.cohort().id)]

    def shown(scope, now):
        return {s.key: s.count for s in dash.dashboard_numbers(admin, scope, now=now).stuck_by_stage if s.count}

    def counted(scope, now):
        rows = db.session.execute(sa.select(Enrolment.current_stage, sa.func.count())
                                  .where(*dash.stuck_where(scope, now)).group_by(Enrolment.current_stage)).all()
        return {k: n for k, n in rows if n}

    days = scopes.DEFAULT_STUCK_DAYS
    nows = [month_start + timedelta(days=days) + d for d in (-tick, timedelta(0), tick)]
    nows += [utcnow() + timedelta(days=n, hours=n % 24) for n in range(-300, 120, 3)]
    checked = 0
    for scope in cases:
        for now in nows:
            found = shown(scope, now)
            assert found == counted(scope, now), (scope, now)
            checked += bool(found)
    assert checked > 100  # most of them found some stuck managers
    # at the month's first moment exactly: b (a moment before it) is stuck, a (on it) is not yet
    at = month_start + timedelta(days=days)
    assert shown(_scope(coord), at)["pelatihan"] == 1


def test_the_migration_fills_the_progress_rows_as_the_summaries_keep_them(app, db, fixture):
    """An existing database gets the ``progress`` rows and the per-region rows from their migrations, equal to
    the maintained ones."""
    from flask_migrate import downgrade, upgrade

    maintained = summaries.snapshot(db.session)
    assert any(row[0] == "progress" for row in maintained)
    assert any(row[:2] == ("region", "progress") for row in maintained)
    db.session.remove()
    with app.app_context():
        downgrade(revision="signed_credentials")
        assert not any(row[0] == "progress" for row in summaries.snapshot(db.session, per_region=False))
        db.session.remove()
        upgrade()
        assert summaries.snapshot(db.session) == maintained


def test_a_rolled_back_change_leaves_the_summary_alone(app, db, factory, fixture):
    before = summaries.snapshot(db.session)
    with pytest.raises(RuntimeError):
        with transaction():
            db.session.merge(fixture["people"]["a"]).current_stage = "permodalan"
            db.session.flush()
            raise RuntimeError("boom")
    db.session.rollback()
    assert summaries.snapshot(db.session) == before
    # and the next commit does not apply the abandoned change either
    with transaction():
        db.session.merge(fixture["people"]["c"]).completed_count = 3
    assert summaries.snapshot(db.session) == before


def test_last_visit_day_is_kept_on_the_outlet(app, db, factory):
    mentor = factory.user("mentor")
    outlet = factory.outlet()
    assert outlet.last_visit_on is None
    at = datetime(2026, 11, 1, 18, 30, tzinfo=UTC)  # 2 Nov 01:30 WIB
    factory.visit(mentor, outlet, visited_at=at, refresh=False)
    db.session.expire_all()
    assert db.session.get(type(outlet), outlet.id).last_visit_on == date(2026, 11, 2)


def test_cached_views_are_reused_until_the_data_changes(client, login_as, db, factory, fixture, count_queries):
    login_as("coordinator", region="3171")
    url = "/dashboard?start=2026-09-01&end=2026-11-30"
    with count_queries() as cold:
        first = client.get(url).get_data(as_text=True)
    with count_queries() as warm:
        second = client.get(url).get_data(as_text=True)
    # sign-in, the version and the header's unread-notification count only
    assert warm.count <= 4 < cold.count, (cold.count, warm.count)
    strip = lambda html: re.sub(r'name="csrf_token" value="[^"]+"', "", html)  # noqa: E731
    assert strip(first) == strip(second)
    # a new enrolment in 3171 changes the region's version: the next page counts it
    outlet = factory.outlet("3171", kecamatan=fixture["k1"])
    trainee = factory.user("trainee", region="3171", outlet=outlet, full_name="Pengelola G")
    with transaction():
        db.session.merge(outlet).manager_id = trainee.id
    factory.enrolment(cohort=fixture["cohort"], trainee=trainee)
    third = client.get(url).get_data(as_text=True)
    assert re.search(r'Pengelola terdaftar</h2><p class="big">6<', third)
    assert re.search(r'Pengelola terdaftar</h2><p class="big">5<', first)


def test_giving_up_a_seat_raises_the_region_version(app, db, factory):
    """Cancelling a registration changes the seats with bulk UPDATEs only (no ORM object changes);
    the dashboard's cache key must still move, or the session's fill rate would be stale."""
    from lms.sessions import services as sessions
    from tests.test_sessions import at, day_ahead

    cohort = factory.cohort(regions=("3171",))
    [trainee] = factory.enrolled_trainees(1, cohort)
    s = factory.training_session(cohort, starts_at=at(day_ahead(), 8), hours=4, title="Bimtek Kursi")
    region = s.region_id
    sessions.register(trainee, s)
    before = summaries.versions(db.session, [region])
    sessions.unregister(trainee, s)
    db.session.expire_all()
    assert db.session.get(type(s), s.id).seats_taken == 0
    after = summaries.versions(db.session, [region])
    # the sessions' version moves (the sessions view is drawn again); the other views' numbers did not change
    assert after[1] > before[1] and after[0] == before[0], (before, after)


def test_a_registration_raises_its_sessions_region_version_loaded_or_not(app, db, factory, count_queries):
    """The sessions' version is raised in the session's region, whether the unit of work holds the training
    session (its region is taken from it, no query) or not (it is read)."""
    from lms.sessions.models import Registration

    cohort = factory.cohort(regions=("3171", "3172"))
    here = factory.training_session(cohort, region="3171", title="Dimuat")
    there = factory.training_session(cohort, region="3172", title="Tidak dimuat")
    [a, b] = factory.enrolled_trainees(2, cohort)
    regions = {here.id: here.region_id, there.id: there.region_id}
    model, people = type(here), {here.id: a.id, there.id: b.id}
    for sid, loaded in ((here.id, True), (there.id, False)):
        db.session.expire_all()
        db.session.expunge_all()
        before = {rid: summaries.versions(db.session, [rid]) for rid in regions.values()}
        with count_queries() as q:
            with transaction():
                # (held: the identity map keeps only what something refers to, as a service holds its session)
                held = db.session.get(model, sid) if loaded else None
                db.session.add(Registration(session_id=sid, user_id=people[sid], status="registered"))
        after = {rid: summaries.versions(db.session, [rid]) for rid in regions.values()}
        moved = {rid for rid in regions.values() if after[rid][1] > before[rid][1]}
        assert moved == {regions[sid]}, (loaded, before, after)
        read = [st for st in q.statements if st.startswith("SELECT training_sessions.region_id")]
        assert bool(read) is not loaded, q.statements
        del held


#: the per-kecamatan rows as the template drew them before lms.dashboard.views.kecamatan_body took over
_KECAMATAN_ROWS_TEMPLATE = """{% for r in data.kecamatan_rows %}
  {% if scope.region_ids|length > 1 and loop.changed(r.region_name) %}<tr class="group-row"><th scope="rowgroup" colspan="{{ data.stages|length + 3 }}">{{ r.region_name }}</th></tr>{% endif %}
  <tr><th scope="row">{{ r.kecamatan.name }}</th>
    <td class="num">{{ r.enrolled|num(lang) }}</td>
    {% for s in data.stages %}{% if s.key == done_key %}<td class="num">{{ r.done|num(lang) }}</td>{% else %}<td class="num">{{ r.by_stage.get(s.key, 0)|num(lang) }}</td>{% endif %}{% endfor %}
    <td class="num">{{ r.certified|num(lang) }}</td></tr>
{% endfor %}"""


@pytest.mark.parametrize("lang", ["id", "en"])
@pytest.mark.parametrize("regions", [[1], [1, 2]])
def test_the_kecamatan_rows_are_the_templates(app, lang, regions):
    from lms.dashboard.views import kecamatan_body

    place = lambda i, region, name: scopes.Place(i, f"k{i}", name, region, f"Jakarta <{region}>")  # noqa: E731
    stages = [dash.StageCount("pendaftaran", "Pendaftaran", 0), dash.StageCount("pelatihan", "Pelatihan", 0),
              dash.StageCount(summaries.DONE, "Selesai", 0)]
    rows = [dash.KecamatanRow(place(1, 1, "Gambir"), "Jakarta <1>", 1234, {"pendaftaran": 1200, "pelatihan": 30}, 4, 2),
            dash.KecamatanRow(place(2, 1, 'Sawah "Besar" & co'), "Jakarta <1>", 0, {}, 0, 0),
            dash.KecamatanRow(place(3, 2, "Cilincing"), "Jakarta <2>", 1_000_001, {"pelatihan": 1_000_000}, 1, 999)]
    scope = scopes.Scope(region_ids=regions)
    data = dash.Dashboard(scope=scope, stages=stages, enrolled=0, stuck_total=0, stuck_by_stage=[], stuck_rows=[],
                          kecamatan_rows=[r for r in rows if r.kecamatan.region_id in regions], upcoming=[], past=[],
                          coverage=None, certificates=[], certificate_kinds=[], completions=[])
    with app.test_request_context():
        want = app.jinja_env.from_string(_KECAMATAN_ROWS_TEMPLATE).render(data=data, scope=scope, lang=lang,
                                                                          done_key=summaries.DONE)
        got = str(kecamatan_body(data, lang))
    squash = lambda html: re.sub(r">\s+<", "><", html.strip())  # noqa: E731
    assert squash(got) == squash(want)
    assert ("1.234" if lang == "id" else "1,234") in got and "&#34;" in got
    if len(regions) > 1:
        assert "Jakarta &lt;2&gt;" in got and ("1.000.001" if lang == "id" else "1,000,001") in got
    else:
        assert "rowgroup" not in got


def test_longest_stuck_are_the_first_of_all_regions_in_progress_order(app, db, factory):
    """The longest-stuck list walks each region's index for a few candidates and joins only the first few of
    all of them: equal to ordering every stuck enrolment of the scope, here with more stuck managers in one
    region than the list shows and ties on the time broken by id."""
    from lms.programme.models import Enrolment

    cohort = factory.cohort()
    ages = {"3171": [400, 390, 380, 370, 360, 350, 340, 330, 320, 310, 300, 290], "3172": [395, 345, 345, 100],
            "3173": [10]}  # (3173: not stuck)
    for region, days in ages.items():
        for i, d in enumerate(days):
            e = factory.enrolment(cohort=cohort, region=region,
                                  trainee=factory.user("trainee", region=region, full_name=f"P {region} {i}"))
            _set(db, e, stage="perizinan", days_ago=d)
    with transaction():  # a tie on the time: the lower id comes first
        tied = list(db.session.scalars(sa.select(Enrolment).order_by(Enrolment.id.desc()).limit(3)))
        tied[1].progress_changed_at = tied[2].progress_changed_at
    admin = factory.user("admin")
    now = utcnow()
    for scope in (_scope(admin), _scope(admin, cohort_id=cohort.id), _scope(factory.user("coordinator", region="3172"))):
        shown = [r.enrolment_id for r in dash.dashboard_numbers(admin, scope, now=now).stuck_rows]
        expected = list(db.session.scalars(sa.select(Enrolment.id).where(*dash.stuck_where(scope, now))
                                           .order_by(Enrolment.progress_changed_at, Enrolment.id)
                                           .limit(dash.STUCK_ROWS)))
        assert shown == expected and shown
    assert len(shown) == 4  # (3172 alone)


def test_stuck_enrolments_of_a_kecamatan_are_read_by_progress_time(app, db, factory):
    """The longest-stuck list and the stuck counts of a kecamatan and cohort read the region's enrolments
    through ``ix_enrolments_stuck`` by progress time and keep those in the kecamatan. SQLite planned both from
    the kecamatan's outlets instead, a lookup per outlet (at 100,000 managers: the list 6.8 ms instead of 0.6,
    the statement with the counts 4.7 ms instead of 0.9). The rows are those of the plain conditions."""
    from sqlalchemy import event

    from lms.programme.models import Enrolment

    cohort = factory.cohort()
    k1, k2 = _kecs(db, "3171")[:2]
    for i, days in enumerate([400, 390, 380, 370, 360, 350, 340, 330]):
        outlet = factory.outlet("3171", kecamatan=k1 if i % 3 else k2)
        trainee = factory.user("trainee", region="3171", outlet=outlet, full_name=f"Pengelola {i}")
        with transaction():
            db.session.merge(outlet).manager_id = trainee.id
        _set(db, factory.enrolment(cohort=cohort, trainee=trainee), stage="perizinan", days_ago=days)
    admin = factory.user("admin")
    now = utcnow()
    scope = _scope(admin, cohort_id=cohort.id, kecamatan=k1)
    seen: list[tuple[str, object]] = []

    def note(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if "FROM enrolments" in statement and "outlets.kecamatan_id" in statement:
            seen.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", note)
    try:
        d = dash.dashboard_numbers(admin, scope, now=now)
    finally:
        event.remove(db.engine, "before_cursor_execute", note)
    stuck = sa.select(Enrolment.id).where(*dash.stuck_where(scope, now))
    expected = list(db.session.scalars(stuck.order_by(Enrolment.progress_changed_at, Enrolment.id)
                                       .limit(dash.STUCK_ROWS)))
    assert [r.enrolment_id for r in d.stuck_rows] == expected and len(expected) == 5
    assert d.stuck_total == db.session.scalar(sa.select(sa.func.count()).select_from(stuck.subquery())) == 5
    assert len(seen) == 2  # (the list; the statement with the counts)
    for statement, parameters in seen:
        if db.engine.dialect.name == "sqlite":
            plan = _sqlite_plan_at_100k(db, statement, parameters)
            assert "USING INDEX ix_enrolments_stuck" in plan and "uq_enrolments_active_outlet" not in plan, plan
        else:  # PostgreSQL walks the index by itself: the outlet is compared as it is
            assert db.engine.dialect.name == "postgresql" and "outlet_id + 0" not in statement


#: ``sqlite_stat1`` of the benchmark's 100,000 managers (``python -m tests.bench dashboard``), for the tables
#: the longest-stuck list reads: SQLite plans from these statistics, and a test's few rows plan otherwise
_STATS_100K = [
    ("enrolments", "ix_enrolments_stuck", "100000 100000 16667 1 1 1"),
    ("enrolments", "uq_enrolments_active_user", "100000 50000 1"),
    ("enrolments", "uq_enrolments_active_outlet", "100000 50000 1"),
    ("enrolments", "ix_enrolments_sync", "100000 1 1"),
    ("enrolments", "ix_enrolments_user_id", "100000 1"),
    ("enrolments", "ix_enrolments_status", "100000 100000"),
    ("enrolments", "ix_enrolments_region_id", "100000 16667"),
    ("enrolments", "ix_enrolments_outlet_id", "100000 1"),
    ("enrolments", "ix_enrolments_current_stage", "100000 12500"),
    ("enrolments", "ix_enrolments_cohort_stage", "100000 50000 6250"),
    ("enrolments", "ix_enrolments_cohort_id", "100000 50000"),
    ("outlets", "ix_outlets_region_id", "100000 16667"),
    ("outlets", "ix_outlets_kecamatan_id", "100000 2273"),
]


def _sqlite_plan_at_100k(db, statement: str, parameters: object) -> str:
    """SQLite's plan of ``statement`` with the statistics of 100,000 managers, on a connection of its own,
    in a transaction that is rolled back (the test database keeps its own statistics)."""
    import sqlite3

    db.session.remove()
    con = sqlite3.connect(db.engine.url.database, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ANALYZE")  # (makes sqlite_stat1 where there is none yet)
        con.execute("DELETE FROM sqlite_stat1 WHERE tbl IN ('enrolments', 'outlets')")
        con.executemany("INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES (?, ?, ?)", _STATS_100K)
        con.execute("ANALYZE sqlite_schema")  # (loads the statistics into the planner)
        return " | ".join(row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + statement, parameters))
    finally:
        con.execute("ROLLBACK")
        con.close()


def test_the_stuck_list_pages_through_all_regions_in_progress_order(app, db, factory, monkeypatch):
    """The drill-down list of stuck managers takes each region's first few from its index walk and pages
    through all of them: every page equal to ordering every stuck enrolment of the scope (ties on the time
    broken by id), with the stage and kecamatan filters too."""
    from lms.programme.models import Enrolment

    monkeypatch.setattr(dash, "PER_PAGE", 4)
    cohort = factory.cohort()
    ages = {"3171": [400, 390, 380, 370, 360, 350, 340, 330, 320, 310, 300, 290], "3172": [395, 345, 345, 100, 385],
            "3173": [10, 375]}
    for region, days in ages.items():
        for i, d in enumerate(days):
            e = factory.enrolment(cohort=cohort, region=region,
                                  trainee=factory.user("trainee", region=region, full_name=f"P {region} {i}"))
            _set(db, e, stage="perizinan" if i % 2 else "pelatihan", days_ago=d)
    with transaction():  # a tie on the time: the lower id comes first
        tied = list(db.session.scalars(sa.select(Enrolment).where(Enrolment.region_id == _region_id(db, "3172"))
                                       .order_by(Enrolment.id).limit(3)))
        tied[1].progress_changed_at = tied[2].progress_changed_at
    admin = factory.user("admin")
    now = utcnow()
    kec = db.session.scalar(sa.select(Outlet.kecamatan_id).join(Enrolment, Enrolment.outlet_id == Outlet.id)
                            .where(Enrolment.region_id == _region_id(db, "3171")).limit(1))
    for scope, stage in ((_scope(admin), None), (_scope(admin), "perizinan"),
                         (_scope(admin, kecamatan=db.session.get(Kecamatan, kec)), None),
                         (_scope(factory.user("coordinator", region="3172")), None)):
        where = dash.stuck_where(scope, now) + ([Enrolment.current_stage == stage] if stage else [])
        everyone = list(db.session.scalars(sa.select(Enrolment.id).where(*where)
                                           .order_by(Enrolment.progress_changed_at, Enrolment.id)))
        shown, page = [], 1
        while True:
            rows, total = dash.managers(admin, scope, stage=stage, stuck=True, page=page, now=now)
            assert total == len(everyone) and len(rows) <= 4
            if not rows:
                break
            shown += [r.id for r in rows]
            page += 1
        assert shown == everyone and everyone, (stage, scope)


def _region_id(db, code: str) -> int:
    return db.session.scalar(sa.select(Region.id).where(Region.code == code))
