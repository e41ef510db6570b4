"""The schedule, the month calendar, the session page and the attendance screen read in a fixed
number of queries, whatever the number of sessions or registrants."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from lms.db import utcnow
from lms.i18n import WIB, to_wib


def _month_day(i: int) -> datetime:
    first = (to_wib(utcnow()).date().replace(day=1) + timedelta(days=40)).replace(day=1)
    return datetime.combine(first + timedelta(days=i % 28), time(8 + i % 8), tzinfo=WIB)


def _sessions(factory, cohort, n, trainee=None):  # type: ignore[no-untyped-def]
    out = []
    for i in range(n):
        s = factory.training_session(cohort, "3171", starts_at=_month_day(i), hours=1, capacity=1,
                                     speakers=(("Narasumber A", "dinas_sosial"), ("Narasumber B", "bni")))
        if trainee is not None:
            factory.seat(s, trainee, status="registered" if i % 2 else "waitlisted")
        out.append(s)
    return out


def _count(client, count_queries, url):  # type: ignore[no-untyped-def]
    with count_queries() as q:
        resp = client.get(url)
    assert resp.status_code == 200, url
    return q.count, resp.get_data(as_text=True)


def test_the_schedule_and_calendar_do_not_grow_with_the_sessions(client, factory, login_as, count_queries):
    cohort = factory.cohort(regions=("3171",))
    login_as("coordinator", region="3171")
    month = _month_day(0).strftime("%Y-%m")
    counts = {}
    for n in (5, 60):
        _sessions(factory, cohort, 5 if n == 5 else 55)
        list_q, list_html = _count(client, count_queries, f"/sessions?month={month}")
        cal_q, cal_html = _count(client, count_queries, f"/sessions/calendar?month={month}")
        counts[n] = (list_q, cal_q)
        assert cal_html.count('class="cal-session') >= n
    assert counts[5] == counts[60], counts


def test_the_trainee_schedule_with_places_does_not_grow(client, factory, login_as, count_queries):
    cohort = factory.cohort(regions=("3171",))
    [t] = factory.enrolled_trainees(1, cohort)
    login_as(t)
    month = _month_day(0).strftime("%Y-%m")
    counts = {}
    for n in (5, 60):
        _sessions(factory, cohort, 5 if n == 5 else 55, trainee=t)
        list_q, html = _count(client, count_queries, f"/sessions?month={month}")
        cal_q, _h = _count(client, count_queries, f"/sessions/calendar?month={month}")
        counts[n] = (list_q, cal_q)
        assert "Daftar tunggu no. 1" in html
    assert counts[5] == counts[60], counts


def _registrants(factory, s, n):  # type: ignore[no-untyped-def]
    for _i in range(n):
        t = factory.user("trainee", region="3171")
        factory.seat(s, t, attendance="present" if _i % 3 else None)


def test_the_attendance_screen_and_session_page_do_not_grow_with_the_registrants(client, factory, login_as,
                                                                                count_queries):
    cohort = factory.cohort(regions=("3171",))
    login_as("coordinator", region="3171")
    counts = {}
    for n in (5, 60):
        s = factory.training_session(cohort, starts_in=timedelta(minutes=-30), hours=6, capacity=100,
                                     speakers=(("Narasumber", "pgo_okoce"),))
        _registrants(factory, s, n)
        att_q, html = _count(client, count_queries, f"/sessions/{s.id}/attendance")
        assert html.count('type="radio"') == 4 * n
        detail_q, _h = _count(client, count_queries, f"/sessions/{s.id}")
        counts[n] = (att_q, detail_q)
    assert counts[5] == counts[60], counts


def test_saving_attendance_for_many_is_bounded(client, factory, login_as, count_queries, db):
    """One POST for 60 people: the reads are fixed; the writes are one batched UPDATE per kind of change."""
    import sqlalchemy as sa

    from lms.sessions.models import Registration

    cohort = factory.cohort(regions=("3171",))
    login_as("coordinator", region="3171")
    counts = {}
    for n in (5, 60):
        s = factory.training_session(cohort, starts_in=timedelta(minutes=-30), hours=6, capacity=100,
                                     venue=f"Aula {n}")
        people = factory.enrolled_trainees(n, cohort)
        for p in people:
            factory.seat(s, p)
        regs = list(db.session.scalars(sa.select(Registration.id).where(Registration.session_id == s.id)))
        data = {f"r{rid}": "present" for rid in regs}
        token = client.csrf_token()
        with count_queries() as q:
            resp = client.post(f"/sessions/{s.id}/attendance", data={**data, "csrf_token": token, "save": "1"})
        assert resp.status_code == 302
        counts[n] = q.count
    assert counts[60] == counts[5], counts  # UPDATEs go out as one executemany; the progress refresh reads in chunks
