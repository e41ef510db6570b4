"""Every certificate route × every kind of visitor.

Objects live in Jakarta Pusat (3171): a finished Bimtek session where ``owner`` attended and
holds a certificate and ``other`` attended too (no certificate yet); a 3171 cohort with a
completed enrolment; a bulk run started by the 3171 coordinator. Columns:

    anonymous, owner (the certificate's holder), other (another 3171 trainee), mentor (3171,
    the owner's outlet in their caseload), coord_own (3171), coord_other (3172), coord_all, admin.

Codes as in test_access.py: ``L`` is a redirect to the sign-in page. What a user may not see
is 404; what they see but may not do is 403; role-wide pages a role never has are 403.
"""
from __future__ import annotations

import pytest

from lms.certification import jobs, services


ROLES = ("anonymous", "owner", "other", "mentor", "coord_own", "coord_other", "coord_all", "admin")
L = "L"
ALL = lambda code: (code,) * len(ROLES)  # noqa: E731
STAFF_ONLY = (L, 403, 403, 403, 200, 404, 200, 200)
STAFF_ACTS = (L, 403, 403, 403, 302, 404, 302, 302)

#: (endpoint, method, url key, form data, expected per role)
ROWS = [
    ("certification.verify", "GET", "verify", {}, ALL(200)),
    ("certification.verify_file", "GET", "verify_file", {}, ALL(200)),
    ("certification.verify_file", "POST", "verify_file", {}, ALL(422)),  # no file: the form says so
    ("certification.mine", "GET", "mine", {}, (L, 200, 200, 403, 403, 403, 403, 403)),
    ("certification.index", "GET", "index", {}, (L, 403, 403, 403, 200, 200, 200, 200)),
    ("certification.detail", "GET", "detail", {}, (L, 200, 404, 404, 200, 404, 200, 200)),
    ("certification.download", "GET", "download", {}, (L, 200, 404, 404, 200, 404, 200, 200)),
    ("certification.revoke", "GET", "revoke", {}, ALL(405)),
    ("certification.revoke", "POST", "revoke", {"reason": ""}, (L, 403, 404, 404, 422, 404, 422, 422)),
    ("certification.correct", "GET", "correct", {}, ALL(405)),
    ("certification.correct", "POST", "correct", {"full_name": ""}, (L, 403, 404, 404, 422, 404, 422, 422)),
    ("certification.session_candidates", "GET", "session", {}, STAFF_ONLY),
    ("certification.cohort_candidates", "GET", "cohort", {}, STAFF_ONLY),
    ("certification.job", "GET", "job", {}, STAFF_ONLY),
    ("certification.job_status", "GET", "job_status", {}, STAFF_ONLY),
    ("certification.job_zip", "GET", "job_zip", {}, STAFF_ONLY),
    ("certification.issue_session", "GET", "issue_session", {}, ALL(405)),
    ("certification.issue_enrolment", "GET", "issue_enrolment", {}, ALL(405)),
    ("certification.bulk_session", "GET", "bulk_session", {}, ALL(405)),
    ("certification.bulk_cohort", "GET", "bulk_cohort", {}, ALL(405)),
    ("certification.job_retry", "GET", "job_retry", {}, ALL(405)),
    # actions (after the safe rows)
    ("certification.issue_session", "POST", "issue_session", {"kind": "bimtek"}, STAFF_ACTS),
    ("certification.issue_enrolment", "POST", "issue_enrolment", {"kind": "completion"}, STAFF_ACTS),
    ("certification.bulk_session", "POST", "bulk_session", {"kind": "bimtek", "confirmed": "1"}, STAFF_ACTS),
    ("certification.bulk_cohort", "POST", "bulk_cohort", {"kind": "completion", "confirmed": "1"}, STAFF_ACTS),
    ("certification.job_retry", "POST", "job_retry", {}, STAFF_ACTS),
]


def _world(factory):  # type: ignore[no-untyped-def]
    session = factory.session(region="3171")
    owner = factory.attendee(session, full_name="Pemegang Uji")
    other = factory.attendee(session, full_name="Peserta Lain")
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, owner.managed_outlet)
    cert = factory.certificate(session=session, holder=owner)
    cohort = factory.cohort(regions=("3171",))
    enrolment = factory.completed_enrolment(cohort=cohort, region="3171")
    coord_own = factory.user("coordinator", region="3171")
    job = services.start_session_job(coord_own, services.design_for("bimtek"), session)
    jobs.WORKER.join()
    users = {"anonymous": None, "owner": owner, "other": other, "mentor": mentor, "coord_own": coord_own,
             "coord_other": factory.user("coordinator", region="3172"),
             "coord_all": factory.user("coordinator", region=None), "admin": factory.user("admin", region=None)}
    urls = {
        "verify": f"/verify/{cert.verification_code}",
        "verify_file": "/verify/berkas",
        "mine": "/certificates/mine",
        "index": "/certificates",
        "detail": f"/certificates/{cert.id}",
        "download": f"/certificates/{cert.id}/pdf",
        "revoke": f"/certificates/{cert.id}/revoke",
        "correct": f"/certificates/{cert.id}/correct",
        "session": f"/certificates/sessions/{session.id}",
        "cohort": f"/certificates/cohorts/{cohort.id}",
        "job": f"/certificates/jobs/{job.id}",
        "job_status": f"/certificates/jobs/{job.id}/status.json",
        "job_zip": f"/certificates/jobs/{job.id}/zip",
        "job_retry": f"/certificates/jobs/{job.id}/retry",
        "issue_session": f"/certificates/sessions/{session.id}/attendees/{other.id}",
        "issue_enrolment": f"/certificates/enrolments/{enrolment.id}",
        "bulk_session": f"/certificates/sessions/{session.id}/bulk",
        "bulk_cohort": f"/certificates/cohorts/{cohort.id}/bulk",
    }
    return users, urls


@pytest.mark.parametrize("role", ROLES)
def test_certificate_access_grid(client, factory, login_as, role):
    users, urls = _world(factory)
    col = ROLES.index(role)
    if users[role] is not None:
        login_as(users[role])
    problems = []
    for endpoint, method, key, data, expected in ROWS:
        url = urls[key]
        resp = client.get(url) if method == "GET" else client.form_post(url, data)
        resp.close()
        want = expected[col]
        if resp.status_code != (302 if want == L else want):
            problems.append(f"{endpoint} {method} {url}: expected {want}, got {resp.status_code}")
        elif want == L and not resp.headers["Location"].startswith("/login?next="):
            problems.append(f"{endpoint} {method}: expected a redirect to sign in, got {resp.headers['Location']}")
    jobs.WORKER.join()
    assert not problems, f"{role}:\n  " + "\n  ".join(problems)


def test_every_certificate_route_is_in_the_grid(app):
    routes = {(r.endpoint, m) for r in app.url_map.iter_rules() if r.endpoint.startswith("certification.")
              for m in (r.methods or set()) - {"HEAD", "OPTIONS"}}
    in_grid = {(e, m) for e, m, *_ in ROWS}
    assert routes - in_grid == set()
    assert {e for e, _m in routes} == {e for e, *_ in ROWS}


def test_a_mentor_and_another_region_see_no_certificate_anywhere(client, factory, login_as):
    s = factory.session(region="3172")
    cert = factory.certificate(session=s, holder=factory.attendee(s, region="3172"))
    login_as("coordinator", region="3171")
    assert cert.serial not in client.get("/certificates").get_data(as_text=True)
    assert client.get(f"/certificates/{cert.id}").status_code == 404
    assert client.get(f"/certificates/{cert.id}/pdf").status_code == 404
    assert client.get(f"/certificates/sessions/{s.id}").status_code == 404
    # absurd ids are 404, never 500
    for url in ("/certificates/99999999999999999999", "/certificates/abc/pdf", "/certificates/jobs/-1",
                "/certificates/sessions/1e9"):
        assert client.get(url).status_code == 404, url

