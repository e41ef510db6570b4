"""Visit forms have ranges (form and service); stored extreme values never break a page."""
from __future__ import annotations

import secrets
from datetime import date, datetime, time, timedelta, timezone

import pytest

from lms.db import transaction
from lms.errors import Invalid
from lms.visits import services
from lms.visits.services import ActionInput, VisitInput, wib_today


def _visit_day() -> date:
    """Yesterday in WIB: a visit at 10:00 that day is in the past at any hour the suite runs."""
    return wib_today() - timedelta(days=1)


def _input(**kw):  # type: ignore[no-untyped-def]
    # visited_at is a WIB wall-clock time, as the phone's form sends it (not the machine's clock)
    base = dict(visited_at=datetime.combine(_visit_day(), time(10, 0)), duration_minutes=60, kind="field_visit",
                stages=["pendampingan"], observations="Stok tertata")
    base.update(kw)
    return VisitInput(**base)


@pytest.fixture
def mentor_outlet(factory):  # type: ignore[no-untyped-def]
    mentor, (outlet,) = factory.caseload(1)
    return mentor, outlet


def _reasons(mentor, outlet, data) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    with pytest.raises(Invalid) as e:
        services.log_visit(mentor, outlet, data)
    return e.value.reasons


@pytest.mark.parametrize("visited_at", [datetime(2017, 12, 31, 23, 0), datetime(1, 1, 1, 0, 0),
                                        datetime(9999, 12, 31, 23, 59)])
def test_visit_date_between_2018_and_now(mentor_outlet, visited_at):  # type: ignore[no-untyped-def]
    mentor, outlet = mentor_outlet
    assert "visited_at" in _reasons(mentor, outlet, _input(visited_at=visited_at))


def test_visit_on_the_first_day_of_2018_is_fine(mentor_outlet):  # type: ignore[no-untyped-def]
    mentor, outlet = mentor_outlet
    visit, created = services.log_visit(mentor, outlet, _input(visited_at=datetime(2018, 1, 1, 0, 0)))
    assert created


@pytest.mark.parametrize("minutes", [0, -5, 721, 10**12])
def test_duration_range(mentor_outlet, minutes):  # type: ignore[no-untyped-def]
    mentor, outlet = mentor_outlet
    assert "duration_minutes" in _reasons(mentor, outlet, _input(duration_minutes=minutes))


def test_next_visit_and_due_dates_within_a_year_of_the_visit(mentor_outlet):  # type: ignore[no-untyped-def]
    mentor, outlet = mentor_outlet
    today = _visit_day()  # "a year" counts from the visit's day, not from today
    reasons = _reasons(mentor, outlet, _input(
        next_visit_on=today + timedelta(days=400),
        actions=[ActionInput("Isi buku kas", "Pengelola", today + timedelta(days=400)),
                 ActionInput("Foto rak", "Pengelola", date(9999, 12, 31))]))
    assert "next_visit_on" in reasons
    assert "action_items-0-due_on" in reasons and "action_items-1-due_on" in reasons
    assert reasons["next_visit_on"][0].startswith("Paling lambat satu tahun setelah kunjungan")
    # a year ahead is fine
    visit, _ = services.log_visit(mentor, outlet, _input(
        next_visit_on=today + timedelta(days=365),
        actions=[ActionInput("Isi buku kas", "Pengelola", today + timedelta(days=365))]))
    assert visit.next_visit_on == today + timedelta(days=365)


def test_absurd_location_accuracy_is_dropped(mentor_outlet):  # type: ignore[no-untyped-def]
    mentor, outlet = mentor_outlet
    visit, _ = services.log_visit(mentor, outlet, _input(share_location=True, latitude="-6.2", longitude="106.8",
                                                         accuracy="1e300"))
    assert visit.latitude == -6.2 and visit.location_accuracy_m is None


def test_the_form_refuses_out_of_range_values_with_messages(client, login_as, mentor_outlet):  # type: ignore[no-untyped-def]
    mentor, outlet = mentor_outlet
    login_as(mentor)
    future = (wib_today() + timedelta(days=3)).isoformat()
    r = client.form_post("/visits/new", {
        "outlet_id": str(outlet.id), "visited_at": "2017-06-01T09:00", "duration_minutes": "100000",
        "kind": "field_visit", "stages": "pendampingan", "observations": "Stok", "client_key": secrets.token_hex(8),
        "next_visit_on": "9999-12-31", "action_items-0-description": "Isi buku kas",
        "action_items-0-owner": "Pengelola", "action_items-0-due_on": "0001-01-01"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert html.count('class="errors"') >= 4, html
    r = client.form_post("/visits/new", {
        "outlet_id": str(outlet.id), "visited_at": f"{future}T09:00", "duration_minutes": "60",
        "kind": "field_visit", "stages": "pendampingan", "observations": "Stok", "client_key": secrets.token_hex(8)})
    assert r.status_code == 422 and "visited_at-err" in r.get_data(as_text=True)
    # the inputs carry the range for the phone's date picker
    html = client.get(f"/visits/new?outlet={outlet.id}").get_data(as_text=True)
    assert 'min="2018-01-01T00:00"' in html and 'max="720"' in html


def test_stored_extreme_values_do_not_break_the_pages(client, login_as, factory, db):  # type: ignore[no-untyped-def]
    from lms.visits.models import ActionItem, Visit, VisitKind

    mentor, (outlet,) = factory.caseload(1)
    with transaction():
        # (the last 7 hours of year 9999 UTC have no WIB date: the dashboard summary refuses them on commit)
        for at, nxt, due in ((datetime(9999, 12, 31, 16, 0, tzinfo=timezone.utc), date(9999, 12, 31), date(1, 1, 1)),
                             (datetime(1, 1, 1, 0, 0, tzinfo=timezone.utc), date(1, 1, 1), date(9999, 12, 31))):
            v = Visit(outlet_id=outlet.id, mentor_id=mentor.id, region_id=outlet.region_id, visited_at=at,
                      duration_minutes=2**31 - 1, kind=VisitKind.FIELD_VISIT, stages=["pendampingan"],
                      observations="x" * 3000, next_visit_on=nxt, latitude=1e308, longitude=-1e308,
                      location_accuracy_m=float("inf"), client_key=secrets.token_hex(16))
            v.action_items.append(ActionItem(outlet_id=outlet.id, description="y" * 500, owner="Pengelola", due_on=due))
            db.session.add(v)
    visits = db.session.query(Visit).all()
    login_as(mentor)
    urls = ["/caseload", f"/outlets/{outlet.id}", f"/outlets/{outlet.id}/timeline", "/visits/new",
            f"/visits/new?outlet={outlet.id}"]
    urls += [f"/visits/{v.id}" for v in visits] + [f"/visits/{v.id}/edit" for v in visits]
    for url in urls:
        assert client.get(url).status_code == 200, url
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    login_as("coordinator", region="3171")
    for url in ("/visits/dashboard", "/caseloads", f"/outlets/{outlet.id}/timeline"):
        assert client.get(url).status_code == 200, url
