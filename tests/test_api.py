"""The JSON API (/api/v1): bearer tokens and scopes, the rulebook through the token's user (404 for
what the user may not see), cursor pagination and incremental sync, ETags, problem+json in two
languages, the OpenAPI 3.1 document, and bounded queries per list."""
from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from lms.api import tokens
from lms.db import transaction, utcnow
from lms.permissions import SYSTEM
from lms.visits.services import wib_today


def make_token(user, *scopes: str, days: int = 30) -> str:  # type: ignore[no-untyped-def]
    return tokens.create(SYSTEM, user, name="uji", scopes=scopes or ("read",), days=days, source="cli").secret


def auth(secret: str, **extra: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}", **extra}


def get(client, url: str, secret: str, **headers: str):  # type: ignore[no-untyped-def]
    return client.get(url, headers=auth(secret, **headers))


def all_pages(client, url: str, secret: str) -> list[dict]:  # type: ignore[no-untyped-def]
    items, seen = [], 0
    while url:
        resp = get(client, url, secret)
        assert resp.status_code == 200, resp.get_data(as_text=True)
        body = resp.get_json()
        items += body["items"]
        url = body["next"]
        seen += 1
        assert seen < 200
    return items


# --- authentication and scopes --------------------------------------------------------------------------

def test_no_token_is_401_with_a_bearer_challenge_as_problem_json(client):
    resp = client.get("/api/v1/outlets")
    assert resp.status_code == 401
    assert resp.mimetype == "application/problem+json"
    assert resp.headers["WWW-Authenticate"].startswith("Bearer")
    body = resp.get_json()
    assert body["status"] == 401 and body["type"].endswith("#problem-unauthorized")
    assert body["instance"] == "/api/v1/outlets" and body["title"] and body["detail"]


def test_unknown_token_is_401_invalid_token(client):
    resp = client.get("/api/v1/me", headers=auth("lms_" + "x" * 43))
    assert resp.status_code == 401
    assert 'error="invalid_token"' in resp.headers["WWW-Authenticate"]
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401


def test_a_token_reads_me_and_its_use_is_recorded_at_most_once_a_minute(client, factory, db):
    user = factory.user("coordinator", region="3171")
    secret = make_token(user)
    resp = get(client, "/api/v1/me", secret)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["person"]["id"] == user.id and body["scopes"] == ["read"] and body["token_prefix"] == secret[:10]
    token = tokens.tokens_of(user)[0]
    first = token.last_used_at
    assert first is not None
    get(client, "/api/v1/me", secret)
    db.session.refresh(token)
    assert token.last_used_at == first  # within the minute: not written again
    with transaction():
        token.last_used_at = utcnow() - timedelta(minutes=2)
    get(client, "/api/v1/me", secret)
    db.session.refresh(token)
    assert token.last_used_at > first


def test_a_session_cookie_does_not_authenticate_the_api(client, login_as):
    login_as("admin")
    assert client.get("/home").status_code == 200  # the cookie works for the pages
    resp = client.get("/api/v1/me")
    assert resp.status_code == 401
    assert "Set-Cookie" not in resp.headers or "session=" not in resp.headers.get("Set-Cookie", "")


def test_scopes_are_enforced_per_operation(client, factory):
    trainee = factory.user("trainee", region="3171")
    cohort = factory.cohort(regions=("3171",))
    session = factory.training_session(cohort=cohort, region="3171")
    factory.enrolment(cohort=cohort, trainee=trainee)
    read_only = make_token(trainee, "read")
    writer = make_token(trainee, "read", "write:attendance")
    assert get(client, f"/api/v1/sessions/{session.id}", read_only).status_code == 200
    resp = client.post(f"/api/v1/sessions/{session.id}/registration", headers=auth(read_only))
    assert resp.status_code == 403
    body = resp.get_json()
    assert body["type"].endswith("#problem-insufficient-scope") and body["required_scope"] == "write:attendance"
    assert 'error="insufficient_scope"' in resp.headers["WWW-Authenticate"]
    resp = client.post(f"/api/v1/sessions/{session.id}/registration", headers=auth(writer))
    assert resp.status_code == 200, resp.get_data(as_text=True)
    assert resp.get_json() == {"session_id": session.id, "status": "registered", "waitlist_position": None}
    # repeating it changes nothing; then the seat is given up
    assert client.post(f"/api/v1/sessions/{session.id}/registration", headers=auth(writer)).get_json()["status"] \
        == "registered"
    assert get(client, f"/api/v1/sessions/{session.id}", writer).get_json()["my_place"]["status"] == "registered"
    resp = client.delete(f"/api/v1/sessions/{session.id}/registration", headers=auth(writer))
    assert resp.status_code == 200 and resp.get_json()["status"] == "cancelled"
    assert get(client, f"/api/v1/sessions/{session.id}", writer).get_json()["my_place"] is None


def test_every_operation_declares_its_scope_and_reads_need_read(app):
    from lms.api.core import bp

    for name, view in app.view_functions.items():
        if not name.startswith("api."):
            continue
        scope = getattr(view, "_api_scope", "missing")
        assert scope != "missing", name
        methods = next(r.methods for r in app.url_map.iter_rules() if r.endpoint == name) - {"HEAD", "OPTIONS"}
        public = {"api.openapi_json", "api.docs", "api.certificate_verify"}
        if name in public:
            assert scope is None, name
        elif methods == {"GET"}:
            assert scope == "read", name
        else:
            assert scope not in (None, "read"), name
    assert bp.name == "api"


def test_an_expired_token_is_refused(client, factory):
    user = factory.user("admin")
    secret = make_token(user)
    assert get(client, "/api/v1/me", secret).status_code == 200
    token = tokens.tokens_of(user)[0]
    with transaction():
        token.expires_at = utcnow() - timedelta(seconds=1)
    assert get(client, "/api/v1/me", secret).status_code == 401


def test_a_revoked_token_is_refused_at_once(client, factory):
    user = factory.user("mentor")
    secret = make_token(user)
    assert get(client, "/api/v1/me", secret).status_code == 200
    assert tokens.revoke(user, tokens.tokens_of(user)[0]) is True
    assert get(client, "/api/v1/me", secret).status_code == 401
    assert tokens.revoke(user, tokens.tokens_of(user)[0]) is False  # once


def test_a_deactivated_users_token_stops_at_once(client, factory):
    from lms.people import services as people

    admin = factory.user("admin")
    user = factory.user("coordinator", region="3171")
    secret = make_token(user)
    assert get(client, "/api/v1/outlets", secret).status_code == 200
    people.set_active(admin, user, False, reason="Pindah tugas")
    resp = get(client, "/api/v1/outlets", secret)
    assert resp.status_code == 401


# --- the rulebook through the token's user -----------------------------------------------------------------

def test_another_regions_outlet_is_404_and_absent_from_the_list(client, factory):
    mine = factory.outlet("3172")
    theirs = factory.outlet("3171")
    coord = factory.user("coordinator", region="3172")
    secret = make_token(coord)
    assert get(client, f"/api/v1/outlets/{mine.id}", secret).status_code == 200
    resp = get(client, f"/api/v1/outlets/{theirs.id}", secret)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"
    ids = [o["id"] for o in all_pages(client, "/api/v1/outlets", secret)]
    assert mine.id in ids and theirs.id not in ids
    # filtering by the other region finds nothing rather than leaking it
    assert get(client, "/api/v1/outlets?region=3171", secret).get_json()["items"] == []
    assert get(client, f"/api/v1/outlets/{2**70}", secret).status_code == 404


def test_rules_of_the_pages_hold_for_lists(client, factory):
    trainee = factory.user("trainee", region="3171")
    secret = make_token(trainee)
    assert get(client, "/api/v1/outlets", secret).status_code == 403  # outlets.list: staff only
    assert get(client, f"/api/v1/outlets/{trainee.managed_outlet.id}", secret).status_code == 200
    assert get(client, "/api/v1/people", secret).status_code == 403
    assert get(client, f"/api/v1/people/{trainee.id}", secret).status_code == 200
    assert get(client, "/api/v1/dashboard", secret).status_code == 403
    mentor = factory.user("mentor", region="3171")
    assert get(client, "/api/v1/certificates", make_token(mentor)).status_code == 403


def test_people_show_contacts_only_to_those_who_may_edit_them(client, factory):
    trainee = factory.user("trainee", region="3171", phone="+6281299990001")
    coord = factory.user("coordinator", region="3171")
    other = factory.user("coordinator", region="3171")
    body = get(client, f"/api/v1/people/{trainee.id}", make_token(coord)).get_json()
    assert body["phone"] == "+6281299990001" and "email" in body
    body = get(client, f"/api/v1/people/{other.id}", make_token(coord)).get_json()
    assert "phone" not in body and "email" not in body  # a coordinator may not edit another coordinator
    assert set(body) == {"id", "name", "role", "region", "active", "updated_at"}
    assert get(client, f"/api/v1/people/{coord.id}", make_token(trainee)).status_code == 404


def test_cohort_progress_per_stage_with_dates(client, factory):
    cohort = factory.cohort(regions=("3171", "3172"))
    e1 = factory.enrolment(cohort=cohort, region="3171")
    factory.attended(e1)
    e2 = factory.enrolment(cohort=cohort, trainee=factory.user("trainee", region="3172"))
    coord = factory.user("coordinator", region="3171")
    secret = make_token(coord)
    body = get(client, f"/api/v1/cohorts/{cohort.id}/enrolments", secret).get_json()
    assert [i["id"] for i in body["items"]] == [e1.id]  # not the 3172 enrolment
    item = body["items"][0]
    assert item["completed_count"] == e1.completed_count and item["total_stages"] == 7
    stages = {s["key"]: s for s in item["stages"]}
    assert stages["pendaftaran"]["status"] == "done" and stages["pendaftaran"]["completed_at"]
    assert stages["pelatihan"]["status"] == "done"
    assert [s["status"] for s in item["stages"]].count("current") == 1
    detail = get(client, f"/api/v1/enrolments/{e1.id}", secret).get_json()
    assert detail["stages"][0]["milestones"] and detail["current_stage"] == item["current_stage"]
    assert get(client, f"/api/v1/enrolments/{e2.id}", secret).status_code == 404
    c = get(client, f"/api/v1/cohorts/{cohort.id}", secret).get_json()
    assert sum(x["count"] for x in c["stage_counts"]) == 1
    assert get(client, f"/api/v1/cohorts/{cohort.id}/enrolments?stage=nope", secret).status_code == 422
    by_stage = get(client, f"/api/v1/cohorts/{cohort.id}/enrolments?stage={item['current_stage']}", secret)
    assert [i["id"] for i in by_stage.get_json()["items"]] == [e1.id]
    # the trainee sees their own enrolment, not the cohort
    own = make_token(e1.user)
    assert [i["id"] for i in get(client, "/api/v1/enrolments", own).get_json()["items"]] == [e1.id]
    assert get(client, f"/api/v1/cohorts/{cohort.id}", own).status_code == 404


def test_certificates_and_the_public_verification(client, factory):
    cert = factory.certificate(region="3171")
    resp = client.get(f"/api/v1/certificates/verify/{cert.verification_code}")
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["valid"] is True and body["serial"] == cert.serial and body["holder_name"] == cert.holder_name
    assert resp.headers["Cache-Control"] == "no-store"
    assert client.get("/api/v1/certificates/verify/not-a-code").status_code == 404
    holder = make_token(cert.holder)
    assert [c["id"] for c in get(client, "/api/v1/certificates", holder).get_json()["items"]] == [cert.id]
    other = make_token(factory.user("coordinator", region="3172"))
    assert get(client, f"/api/v1/certificates/{cert.id}", other).status_code == 404
    assert get(client, "/api/v1/certificates", other).get_json()["items"] == []


def test_dashboard_counts_follow_the_coordinators_region(client, factory):
    cohort = factory.cohort(regions=("3171", "3172"))
    factory.enrolment(cohort=cohort, region="3171")
    factory.enrolment(cohort=cohort, trainee=factory.user("trainee", region="3172", phone="+6281234567002"))
    c3171 = make_token(factory.user("coordinator", region="3171"))
    body = get(client, "/api/v1/dashboard", c3171).get_json()
    assert body["regions"] == ["3171"] and body["enrolled"] == 1
    assert get(client, "/api/v1/dashboard?region=3172", c3171).get_json()["enrolled"] == 0
    admin = make_token(factory.user("admin"))
    assert get(client, "/api/v1/dashboard", admin).get_json()["enrolled"] == 2
    assert get(client, "/api/v1/dashboard?region=3172", admin).get_json()["enrolled"] == 1


def test_sessions_list_filters_and_scope(client, factory):
    cohort = factory.cohort(regions=("3171", "3172"))
    s1 = factory.training_session(cohort=cohort, region="3171", stage_key="pelatihan")
    s2 = factory.training_session(cohort=cohort, region="3172")
    mentor = make_token(factory.user("mentor", region="3171"))
    assert [s["id"] for s in all_pages(client, "/api/v1/sessions", mentor)] == [s1.id]
    assert get(client, f"/api/v1/sessions/{s2.id}", mentor).status_code == 404
    admin = make_token(factory.user("admin"))
    assert [s["id"] for s in all_pages(client, "/api/v1/sessions?region=3172", admin)] == [s2.id]
    assert [s["id"] for s in all_pages(client, "/api/v1/sessions?stage=pelatihan", admin)] == [s1.id, s2.id]
    assert all_pages(client, f"/api/v1/sessions?cohort={cohort.id + 1}", admin) == []


# --- pagination and sync --------------------------------------------------------------------------------------

def test_cursor_pagination_is_stable_under_concurrent_inserts(client, factory):
    outlets = [factory.outlet("3171") for _ in range(7)]
    secret = make_token(factory.user("admin"))
    url, got, pages = "/api/v1/outlets?limit=3", [], 0
    while url:
        body = get(client, url, secret).get_json()
        got += [o["id"] for o in body["items"]]
        url = body["next"]
        pages += 1
        factory.outlet("3171")  # someone adds an outlet between two page fetches
        if pages > 10:
            break
    assert len(got) == len(set(got)), "a row came twice"
    assert {o.id for o in outlets} <= set(got), "a row present at the start was skipped"


def test_updated_since_returns_every_changed_row_exactly_once_across_pages(client, factory, db):
    from lms.places.models import Outlet

    outlets = [factory.outlet("3171") for _ in range(9)]
    since = utcnow() + timedelta(seconds=1)
    later = since + timedelta(seconds=5)
    changed = outlets[1::2]
    with transaction():
        # changes after ``since``, some with the same time (the id breaks the tie)
        for i, o in enumerate(changed):
            db.session.execute(sa.update(Outlet).where(Outlet.id == o.id)
                               .values(name=f"Baru {i}", updated_at=later if i % 2 else since + timedelta(seconds=i)))
    secret = make_token(factory.user("admin"))
    url = f"/api/v1/outlets?limit=2&updated_since={since.isoformat().replace('+00:00', 'Z')}"
    items = all_pages(client, url, secret)
    ids = [o["id"] for o in items]
    assert sorted(ids) == sorted(o.id for o in changed) and len(ids) == len(set(ids))
    stamps = [(o["updated_at"], o["id"]) for o in items]
    assert stamps == sorted(stamps), "oldest change first"


def test_bad_cursor_and_limit_are_problems_with_field_errors(client, factory):
    secret = make_token(factory.user("admin"))
    for url, field in (("/api/v1/outlets?cursor=!!!", "cursor"), ("/api/v1/outlets?limit=0", "limit"),
                       ("/api/v1/outlets?limit=201", "limit"), ("/api/v1/outlets?limit=x", "limit"),
                       ("/api/v1/outlets?updated_since=yesterday", "updated_since"),
                       ("/api/v1/outlets?region=31", "region"), ("/api/v1/outlets?region=9999", "region")):
        resp = get(client, url, secret)
        assert resp.status_code == 422, url
        body = resp.get_json()
        assert resp.mimetype == "application/problem+json"
        assert body["type"].endswith("#problem-validation")
        assert [e["field"] for e in body["errors"]] == [field], (url, body)
        assert body["errors"][0]["in"] == "query"


def test_problem_details_follow_accept_language(client, factory):
    secret = make_token(factory.user("admin"))
    ind = get(client, "/api/v1/outlets?limit=0", secret, **{"Accept-Language": "id"}).get_json()
    eng = get(client, "/api/v1/outlets?limit=0", secret, **{"Accept-Language": "en-GB,en;q=0.9"})
    assert eng.headers["Content-Language"] == "en"
    assert ind["errors"][0]["detail"] == "Harus antara 1 dan 200."
    assert ind["title"] == "Isian tidak valid"
    eng_body = eng.get_json()
    from flask_babel import force_locale, gettext

    with force_locale("en"):  # what the English catalogue says (the lead's translation pass fills it)
        assert eng_body["title"] == gettext("Isian tidak valid")
        assert eng_body["errors"][0]["detail"] == gettext("Harus antara %(min)s dan %(max)s.", min="1", max="200")
    assert get(client, "/api/v1/outlets?limit=0", secret,
               **{"Accept-Language": "fr"}).headers["Content-Language"] == "id"  # the default
    nf = client.get("/api/v1/no-such-thing", headers={"Accept-Language": "en"})
    assert nf.status_code == 404 and nf.mimetype == "application/problem+json"


# --- ETag -------------------------------------------------------------------------------------------------------

def test_etag_and_if_none_match(client, factory):
    outlet = factory.outlet("3171")
    secret = make_token(factory.user("admin"))
    first = get(client, f"/api/v1/outlets/{outlet.id}", secret)
    tag = first.headers["ETag"]
    assert tag.startswith('W/"')
    again = get(client, f"/api/v1/outlets/{outlet.id}", secret, **{"If-None-Match": tag})
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == tag
    with transaction():
        outlet.name = "Nama baru"
    changed = get(client, f"/api/v1/outlets/{outlet.id}", secret, **{"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    lst = get(client, "/api/v1/outlets", secret)
    assert get(client, "/api/v1/outlets", secret, **{"If-None-Match": lst.headers["ETag"]}).status_code == 304


# --- the documentation ----------------------------------------------------------------------------------------

def test_the_openapi_document_is_valid_openapi_3_1_and_documents_every_operation(client, app):
    from openapi_spec_validator import validate
    from openapi_spec_validator.validation.validators import OpenAPIV31SpecValidator

    resp = client.get("/api/v1/openapi.json")
    assert resp.status_code == 200
    spec = resp.get_json()
    assert spec["openapi"] == "3.1.0"
    validate(spec, cls=OpenAPIV31SpecValidator)
    documented = {(path, m.upper()) for path, ops in spec["paths"].items() for m in ops if m != "parameters"}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith("api."):
            continue
        path = rule.rule
        for conv in ("int:", "string:"):
            path = path.replace("<" + conv, "{")
        path = path.replace("<", "{").replace(">", "}")
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            assert (path, method) in documented, (path, method)
    secured = [op for path, ops in spec["paths"].items() for m, op in ops.items()
               if m != "parameters" and op.get("security")]
    assert secured and all("401" in op["responses"] and "403" in op["responses"] for op in secured)
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_docs_page_is_served_from_the_apps_own_files(client):
    resp = client.get("/api/v1/docs")
    assert resp.status_code == 200
    html = resp.get_data(as_text=True)
    assert "/static/vendor/redoc/redoc.standalone.js" in html and "/api/v1/openapi.json" in html
    assert "http" not in html.split("<body>", 1)[1].replace("/api/v1/openapi.json", ""), "no outside address"
    csp = resp.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "cdn" not in csp
    for path in ("/static/vendor/redoc/redoc.standalone.js", "/static/vendor/redoc/LICENSE", "/static/js/api-docs.js"):
        r = client.get(path)
        r.close()
        assert r.status_code == 200, path


# --- queries per list ---------------------------------------------------------------------------------------------

def _bulk_world(db, n: int) -> dict:  # type: ignore[no-untyped-def]
    """``n`` outlets with managers, enrolments, sessions, certificates: bulk inserts, no services."""
    import secrets
    from datetime import datetime, timezone

    from lms.certification.models import Certificate
    from lms.people.models import Role, User
    from lms.places.models import Kecamatan, Outlet, Region
    from lms.programme.models import Cohort, Enrolment
    from lms.sessions.models import TrainingSession

    region = db.session.scalar(sa.select(Region).where(Region.code == "3171"))
    kec = db.session.scalar(sa.select(Kecamatan).where(Kecamatan.region_id == region.id).limit(1))
    tag = secrets.token_hex(3)
    now = utcnow()
    with transaction():
        cohort = Cohort(name=f"Bulk {tag}", curriculum_key="okoce-7pas", start_date=now.date(), end_date=now.date(),
                        regions=[region])
        db.session.add(cohort)
        db.session.flush()
        users = [{"email": f"bulk{tag}-{i}@uji.example", "full_name": f"Bulk {i}", "role": Role.TRAINEE,
                  "region_id": region.id, "active": True, "session_token": secrets.token_hex(16)} for i in range(n)]
        db.session.execute(sa.insert(User), users)
        uids = list(db.session.scalars(sa.select(User.id).where(User.email.like(f"bulk{tag}-%")).order_by(User.id)))
        db.session.execute(sa.insert(Outlet), [
            {"code": f"B{tag}-{i}", "name": f"Bulk {i}", "kecamatan_id": kec.id, "region_id": region.id,
             "manager_id": uid} for i, uid in enumerate(uids)])
        oids = list(db.session.scalars(sa.select(Outlet.id).where(Outlet.code.like(f"B{tag}-%")).order_by(Outlet.id)))
        db.session.execute(sa.insert(Enrolment), [
            {"cohort_id": cohort.id, "user_id": uid, "outlet_id": oid, "region_id": region.id,
             "current_stage": "pelatihan", "completed_count": 1} for uid, oid in zip(uids, oids)])
        start = datetime(2026, 1, 5, 1, 0, tzinfo=timezone.utc)
        db.session.execute(sa.insert(TrainingSession), [
            {"title": f"S {i}", "stage_key": "pelatihan", "cohort_id": cohort.id, "region_id": region.id,
             "venue_name": f"V {tag} {i}", "starts_at": start + timedelta(days=i), "ends_at": start + timedelta(days=i, hours=2),
             "capacity": 10, "checkin_secret": "x"} for i in range(n)])
        db.session.execute(sa.insert(Certificate), [
            {"kind": f"b{tag}", "design": "bimtek", "serial": f"B/{tag}/{i}", "year": 2026, "number": i + 1,
             "verification_code": f"{tag}{i:06d}", "holder_id": uid, "holder_name": f"Bulk {i}",
             "subject_type": "enrolment", "subject_key": f"enrolment:{i}", "region_id": region.id,
             "subject_title": "7 PAS", "cohort_id": cohort.id} for i, uid in enumerate(uids)])
        from lms.visits.models import Visit, VisitKind

        mentor = User(email=f"bulkm{tag}@uji.example", full_name="Pendamping Bulk", role=Role.MENTOR,
                      region_id=region.id)
        db.session.add(mentor)
        db.session.flush()
        db.session.execute(sa.insert(Visit), [
            {"outlet_id": oid, "mentor_id": mentor.id, "region_id": region.id, "visited_at": now,
             "kind": VisitKind.FIELD_VISIT, "stages": ["pendampingan"], "observations": "ok",
             "client_key": f"bulk-{tag}-{i:05d}"} for i, oid in enumerate(oids)])
    return {"cohort": cohort}


LISTS = ["/api/v1/outlets", "/api/v1/people", "/api/v1/visits", "/api/v1/cohorts", "/api/v1/cohorts/{cohort}/enrolments",
         "/api/v1/enrolments", "/api/v1/sessions", "/api/v1/certificates", "/api/v1/regions", "/api/v1/kecamatan"]


@pytest.mark.parametrize("url", LISTS)
def test_query_count_per_list_is_the_same_for_5_and_500_rows(client, factory, db, count_queries, url):
    admin = factory.user("admin")
    secret = make_token(admin)
    get(client, "/api/v1/me", secret)  # the token's first use is written once; not part of the count
    get(client, "/api/v1/regions", secret)  # nor the regions, read once per app (lms/api/present.py)
    small = _bulk_world(db, 5)
    with count_queries() as few:
        r = get(client, url.format(cohort=small["cohort"].id) + "?limit=200", secret)
    assert r.status_code == 200, r.get_data(as_text=True)
    big = _bulk_world(db, 500)
    with count_queries() as many:
        r = get(client, url.format(cohort=big["cohort"].id) + "?limit=200", secret)
    assert r.status_code == 200
    if url not in ("/api/v1/regions", "/api/v1/kecamatan", "/api/v1/cohorts"):
        assert len(r.get_json()["items"]) == 200
    assert many.count == few.count, (few.statements, many.statements)
    assert few.count <= 8


def _validator(spec: dict, path: str, method: str = "get"):  # type: ignore[no-untyped-def]
    from jsonschema import Draft202012Validator

    schema = spec["paths"][path][method]["responses"]["200"]["content"]["application/json"]["schema"]
    return Draft202012Validator({**schema, "components": spec["components"]})


def test_every_answer_matches_its_documented_schema(client, factory):
    spec = client.get("/api/v1/openapi.json").get_json()
    cohort = factory.cohort(regions=("3171",))
    e = factory.enrolment(cohort=cohort)
    factory.attended(e)
    cert = factory.certificate(region="3171")
    session = factory.training_session(cohort=cohort, speakers=(("Ibu Narasumber", "bni"),))
    outlet = e.outlet
    visit = factory.visit(factory.user("mentor", region="3171"), outlet,
                          actions=(("Rapikan rak", "Pengelola", utcnow().date()),))
    admin = factory.user("admin")
    secret = make_token(admin)
    cases = {
        "/api/v1/regions": "/api/v1/regions", "/api/v1/regions/{code}": "/api/v1/regions/3171",
        "/api/v1/kecamatan": "/api/v1/kecamatan?region=3171", "/api/v1/outlets": "/api/v1/outlets",
        "/api/v1/outlets/{outlet_id}": f"/api/v1/outlets/{outlet.id}", "/api/v1/people": "/api/v1/people",
        "/api/v1/people/{person_id}": f"/api/v1/people/{e.user_id}", "/api/v1/me": "/api/v1/me",
        "/api/v1/dashboard": "/api/v1/dashboard", "/api/v1/cohorts": "/api/v1/cohorts",
        "/api/v1/cohorts/{cohort_id}": f"/api/v1/cohorts/{cohort.id}",
        "/api/v1/cohorts/{cohort_id}/enrolments": f"/api/v1/cohorts/{cohort.id}/enrolments",
        "/api/v1/enrolments": "/api/v1/enrolments", "/api/v1/enrolments/{enrolment_id}": f"/api/v1/enrolments/{e.id}",
        "/api/v1/sessions": "/api/v1/sessions", "/api/v1/sessions/{session_id}": f"/api/v1/sessions/{session.id}",
        "/api/v1/certificates": "/api/v1/certificates",
        "/api/v1/certificates/{certificate_id}": f"/api/v1/certificates/{cert.id}",
        "/api/v1/certificates/verify/{code}": f"/api/v1/certificates/verify/{cert.verification_code}",
        "/api/v1/visits": "/api/v1/visits", "/api/v1/visits/{visit_id}": f"/api/v1/visits/{visit.id}",
    }
    for path, url in cases.items():
        resp = get(client, url, secret)
        assert resp.status_code == 200, (url, resp.get_data(as_text=True)[:300])
        body = resp.get_json()
        errors = sorted(_validator(spec, path).iter_errors(body), key=str)
        assert not errors, (url, [f"{list(x.path)}: {x.message}" for x in errors[:5]])
        if isinstance(body, dict) and "items" in body:
            assert body["items"], url  # the schema was checked on real rows
    # problems match the problem schema
    from jsonschema import Draft202012Validator

    problem = Draft202012Validator({"$ref": "#/components/schemas/Problem", "components": spec["components"]})
    for resp in (client.get("/api/v1/outlets"), get(client, "/api/v1/outlets?limit=0", secret),
                 get(client, "/api/v1/outlets/999999", secret)):
        assert not list(problem.iter_errors(resp.get_json())), resp.get_json()


# --- visits with an Idempotency-Key ------------------------------------------------------------------------

def _visit_body(outlet_id: int, **kw):  # type: ignore[no-untyped-def]
    when = (utcnow() - timedelta(hours=2)).replace(microsecond=0)
    return {"outlet_id": outlet_id, "visited_at": when.isoformat(), "duration_minutes": 45, "kind": "field_visit",
            "stages": ["pendampingan"], "observations": "Stok tertata, buku kas rapi", **kw}


def test_a_visit_replayed_with_its_idempotency_key_returns_the_first_answer(client, factory, db):
    from lms.visits.models import Visit

    mentor, (outlet,) = factory.caseload(1, region="3171")
    secret = make_token(mentor, "read", "write:visits")
    # due tomorrow in WIB: never before the visit's WIB day (the UTC date is a day behind after 00:00 WIB)
    body = _visit_body(outlet.id, action_items=[{"description": "Rapikan rak", "owner": "Pengelola",
                                                 "due_on": (wib_today() + timedelta(days=1)).isoformat()}])
    headers = auth(secret, **{"Idempotency-Key": "visit-0001-abcd"})
    first = client.post("/api/v1/visits", json=body, headers=headers)
    assert first.status_code == 201, first.get_data(as_text=True)
    again = client.post("/api/v1/visits", json=body, headers=headers)
    assert again.status_code == 201 and again.get_json() == first.get_json()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Visit)) == 1
    other = client.post("/api/v1/visits", json={**body, "observations": "Lain"}, headers=headers)
    assert other.status_code == 422 and other.get_json()["type"].endswith("#problem-idempotency-mismatch")
    assert client.post("/api/v1/visits", json=body, headers=auth(secret)).status_code == 422  # no key
    # scope, and the rulebook: an outlet outside the caseload is 404
    assert client.post("/api/v1/visits", json=body, headers=auth(make_token(mentor),
                       **{"Idempotency-Key": "visit-0002-abcd"})).status_code == 403
    elsewhere = factory.outlet("3171")
    resp = client.post("/api/v1/visits", json=_visit_body(elsewhere.id), headers=auth(secret, **{"Idempotency-Key": "visit-0003-abcd"}))
    assert resp.status_code in (403, 404)
    bad = client.post("/api/v1/visits", json={**body, "stages": ["nope"]},
                      headers=auth(secret, **{"Idempotency-Key": "visit-0004-abcd"}))
    assert bad.status_code == 422 and bad.get_json()["errors"][0]["field"] == "stages"
    # read back: the mentor's list; another region's coordinator sees nothing
    assert [v["id"] for v in get(client, "/api/v1/visits", secret).get_json()["items"]] == [first.get_json()["id"]]
    assert get(client, "/api/v1/visits", make_token(factory.user("coordinator", region="3172"))).get_json()["items"] == []
    trainee_view = get(client, f"/api/v1/visits/{first.get_json()['id']}", make_token(outlet.manager or factory.user("admin")))
    assert trainee_view.status_code in (200, 404)
