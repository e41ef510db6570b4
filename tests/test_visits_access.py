"""Who may open what: every mentor-visits route × every role.

The outlet is in Jakarta Pusat (3171), managed by ``owner`` and in ``mentor``'s caseload;
``mentor_other`` is a mentor of the same region without it. The visit was logged today by
``mentor`` (so still inside the mentor's edit window), with an action item and a photo.
"""
from __future__ import annotations

import io
import uuid
from datetime import timedelta

import pytest

from lms.db import transaction, utcnow
from lms.i18n import to_wib
from tests.factories import tiny_png

ROLES = ("anonymous", "owner", "trainee_other", "mentor", "mentor_other", "coord_own", "coord_other", "coord_all",
         "admin")
L = "login"


def _visit_form(w):
    when = (to_wib(utcnow()) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    return {"outlet_id": str(w["outlet"].id), "visited_at": when, "duration_minutes": "30", "kind": "phone_call",
            "stages": ["pendampingan"], "observations": "Telepon singkat", "client_key": uuid.uuid4().hex}


#: (name, method, url(w), data(w) or None, expected per role in ROLES order)
CASES = [
    ("caseload", "GET", lambda w: "/caseload", None, (L, 403, 403, 200, 200, 403, 403, 403, 403)),
    ("caseloads", "GET", lambda w: "/caseloads", None, (L, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("caseloads-assign", "POST", lambda w: "/caseloads",
     lambda w: {"outlet_ids": [str(w["outlet"].id)], "mentor_id": str(w["mentor_other"].id), "assign": "1"},
     (L, 403, 403, 403, 403, 302, 422, 302, 302)),
    ("visit-new", "GET", lambda w: f"/visits/new?outlet={w['outlet'].id}", None,
     (L, 403, 403, 200, 404, 403, 403, 403, 403)),
    ("visit-new-blank", "GET", lambda w: "/visits/new", None, (L, 403, 403, 200, 200, 403, 403, 403, 403)),
    ("visit-log", "POST", lambda w: "/visits/new", _visit_form, (L, 403, 403, 302, 404, 403, 403, 403, 403)),
    ("csrf", "GET", lambda w: "/visits/csrf", None, (L, 403, 403, 200, 200, 200, 200, 200, 200)),
    ("visit", "GET", lambda w: f"/visits/{w['visit'].id}", None, (L, 200, 404, 200, 404, 200, 404, 200, 200)),
    ("visit-edit", "GET", lambda w: f"/visits/{w['visit'].id}/edit", None,
     (L, 403, 404, 200, 404, 200, 404, 200, 200)),
    ("visit-edit-save", "POST", lambda w: f"/visits/{w['visit'].id}/edit",
     lambda w: {k: v for k, v in _visit_form(w).items() if k not in ("outlet_id", "client_key")},
     (L, 403, 404, 302, 404, 302, 404, 302, 302)),
    # the owner marks the items assigned to them ("Pengelola"); this one is
    ("action-done", "POST", lambda w: f"/action-items/{w['item'].id}/done", lambda w: {"done": "1"},
     (L, 302, 404, 302, 404, 302, 404, 302, 302)),
    ("photo", "GET", lambda w: f"/visit-photos/{w['photo'].id}", None, (L, 200, 404, 200, 404, 200, 404, 200, 200)),
    ("timeline", "GET", lambda w: f"/outlets/{w['outlet'].id}/timeline", None,
     (L, 200, 404, 200, 404, 200, 404, 200, 200)),
    ("mine", "GET", lambda w: "/visits/mine", None, (L, 302, 302, 403, 403, 403, 403, 403, 403)),
    ("dashboard", "GET", lambda w: "/visits/dashboard", None, (L, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("export-form", "GET", lambda w: "/visits/export", None, (L, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("export-csv", "GET", lambda w: "/visits/export?start=2018-01-01&end=2030-12-31", None,
     (L, 403, 403, 403, 403, 200, 200, 200, 200)),
    ("missing-visit", "GET", lambda w: "/visits/999999", None, (L, 404, 404, 404, 404, 404, 404, 404, 404)),
    ("silly-id", "GET", lambda w: "/visits/99999999999999999999", None, (L, 404, 404, 404, 404, 404, 404, 404, 404)),
]


@pytest.fixture
def vworld(factory):  # type: ignore[no-untyped-def]
    from lms.files import PNG, CheckedUpload, store
    from lms.visits.models import VisitPhoto

    owner = factory.user("trainee", region="3171", phone="+6281234567101")
    outlet = owner.managed_outlet
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, outlet)
    users = {
        "anonymous": None, "owner": owner, "trainee_other": factory.user("trainee", region="3171"),
        "mentor": mentor, "mentor_other": factory.user("mentor", region="3171"),
        "coord_own": factory.user("coordinator", region="3171"), "coord_other": factory.user("coordinator", region="3172"),
        "coord_all": factory.user("coordinator", region=None), "admin": factory.user("admin", region=None),
    }
    visit = factory.visit(mentor, outlet, staff_notes="catatan staf", created_at=utcnow() - timedelta(hours=1),
                          actions=(("Isi buku kas", "Pengelola", to_wib(utcnow()).date() + timedelta(days=7)),))
    with transaction():
        visit.photos.append(VisitPhoto(file=store(CheckedUpload(tiny_png(), PNG, "foto.png"), mentor.id)))
    return {"users": users, "outlet": outlet, "visit": visit, "item": visit.action_items[0], "photo": visit.photos[0],
            "mentor_other": users["mentor_other"]}


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,method,url,data,expected", CASES, ids=[c[0] for c in CASES])
def test_access(client, login_as, vworld, role, name, method, url, data, expected):
    user = vworld["users"][role]
    if user is not None:
        login_as(user)
    want = expected[ROLES.index(role)]
    target = url(vworld)
    if method == "GET":
        r = client.get(target, buffered=True)  # a streamed CSV is read inside the request's context
    else:
        r = client.form_post(target, data(vworld) if data else {}, content_type="multipart/form-data")
    with r:  # file responses hold the file open until closed
        if want == L:
            assert r.status_code == 302 and "/login" in r.headers["Location"], (r.status_code, r.headers.get("Location"))
        else:
            assert r.status_code == want, (role, name, r.status_code, r.get_data(as_text=True)[:300])


def test_export_of_another_region_has_no_rows_of_this_one(client, login_as, vworld):
    login_as(vworld["users"]["coord_other"])
    with client.get("/visits/export?start=2018-01-01&end=2030-12-31", buffered=True) as r:
        body = r.get_data(as_text=True)
    assert r.status_code == 200 and vworld["outlet"].code not in body and len(body.strip().splitlines()) == 1
    client.form_post("/logout")
    login_as(vworld["users"]["coord_own"])
    with client.get("/visits/export?start=2018-01-01&end=2030-12-31", buffered=True) as r:
        assert vworld["outlet"].code in r.get_data(as_text=True)


def test_every_visits_view_declares_a_rule(app):
    views = {k: v for k, v in app.view_functions.items() if k.startswith("visits.")}
    assert len(views) == 12
    assert all(hasattr(v, "_lms_rule") for v in views.values())


def test_photo_upload_route_refuses_a_coordinator(client, login_as, vworld):
    login_as(vworld["users"]["coord_own"])
    r = client.form_post("/visits/new", {**_visit_form(vworld), "photos": [(io.BytesIO(tiny_png()), "a.png")]},
                         content_type="multipart/form-data")
    assert r.status_code == 403
