"""Schemathesis against the whole API (the OpenAPI document the app serves, loaded in process over
WSGI): every operation, with a coordinator's read token, the same coordinator's write token (every
scope a coordinator may hold), a mentor's token with its write scopes and an admin's token with all
scopes, on a small world with objects in two regions (3171 and 3172).

For every generated request (valid ones, and invalid ones that must be refused with a 4xx):
* no 5xx (schemathesis' ``not_a_server_error``);
* the response matches the operation's documented schema (``response_schema_conformance``);
* the 3171 coordinator's and mentor's tokens never get a 3172 object: no string carrying the
  3172 objects' marker and no object whose ``region`` is 3172 (the public certificate
  verification, which hands out what the certificate's own QR code shows, is the one exception).

Path parameters are drawn from the world's ids (both regions' and absent ones) half of the time, so
details and actions are run on real objects and not only on 404s. Deterministic (``derandomize``),
no example database, no shrinking: a failure names the request (a curl line) and the check.
"""
from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lms.files import PDF, CheckedUpload
from lms.programme import services as programme
from tests.factories import tiny_pdf
from tests.test_api import make_token

pytestmark = pytest.mark.slow

#: the marker in every 3172 object's name, code, title or text
MARK = "RAHASIA3172"
#: generated requests per operation and token (positive and negative data together)
EXAMPLES = 10


def _world(factory) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Two regions' outlets, people, a shared cohort and enrolments, evidence, sessions with registrations
    and attendance, visits and certificates; the 3172 ones carry MARK."""
    from lms.certification import services as certification
    from lms.permissions import SYSTEM

    cohort = factory.cohort(name="Angkatan Bersama", regions=("3171", "3172"))
    only_3172 = factory.cohort(name=f"Angkatan {MARK}", regions=("3172",))
    near_outlet = factory.outlet("3171", name="e-Warong Dekat", code="EW-3171-0001")
    far_outlet = factory.outlet("3172", name=f"e-Warong {MARK}", code=f"{MARK}-01", kube_name=f"KUBE {MARK}",
                                address=f"Jl. {MARK}", kelurahan=f"Kel. {MARK}")
    near = factory.user("trainee", region="3171", outlet=near_outlet, phone="+6281299993001", full_name="Ibu Dekat")
    far = factory.user("trainee", region="3172", outlet=far_outlet, phone="+6281299993002",
                       full_name=f"Ibu {MARK}", email=f"{MARK.lower()}@uji.example")
    near_enrolment = factory.enrolment(cohort=cohort, trainee=near)
    far_enrolment = factory.enrolment(cohort=cohort, trainee=far)
    coord = factory.user("coordinator", region="3171", full_name="Koordinator Pusat")
    factory.user("coordinator", region="3172", full_name=f"Koordinator {MARK}")
    admin = factory.user("admin", full_name="Admin Uji")
    mentor = factory.user("mentor", region="3171", full_name="Pendamping Pusat")
    far_mentor = factory.user("mentor", region="3172", full_name=f"Pendamping {MARK}")
    factory.assign_mentor(mentor, near_outlet)
    factory.assign_mentor(far_mentor, far_outlet)
    near_licence = programme.save_licence(near, near_outlet, programme.LicenceInput(
        "NIB", "9120001234567", date(2018, 3, 1), "OSS"), CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    far_marketing = programme.save_marketing(far, far_outlet, programme.MarketingInput(
        "online_shop", f"Toko online {MARK} di marketplace", None), CheckedUpload(tiny_pdf(), PDF, "plan.pdf"))
    past = factory.session(region="3171", cohort=cohort, title="Bimtek Pusat")
    far_past = factory.session(region="3172", cohort=cohort, title=f"Bimtek {MARK}")
    factory.register(past, near, "present")
    factory.register(far_past, far, "present")
    upcoming = factory.training_session(cohort=cohort, region="3171", title="Bimtek Pusat Berikutnya")
    far_upcoming = factory.training_session(cohort=only_3172, region="3172", title=f"Bimtek {MARK} Berikutnya",
                                            venue=f"Aula {MARK}")
    near_visit = factory.visit(mentor, near_outlet)
    far_visit = factory.visit(far_mentor, far_outlet)
    design = certification.design_for("bimtek")
    near_cert = certification.issue_for_session(SYSTEM, design, past, near).certificate
    far_cert = certification.issue_for_session(SYSTEM, design, far_past, far).certificate
    pools = {  # path parameter → values: this region's, the other's, and absent ones
        "outlet_id": [near_outlet.id, far_outlet.id, 999_999],
        "person_id": [near.id, far.id, coord.id, admin.id, 999_999],
        "cohort_id": [cohort.id, only_3172.id, 999_999],
        "enrolment_id": [near_enrolment.id, far_enrolment.id, 999_999],
        "evidence_id": [near_licence.id, far_marketing.id, 999_999],
        "session_id": [past.id, upcoming.id, far_past.id, far_upcoming.id, 999_999],
        "visit_id": [near_visit.id, far_visit.id, 999_999],
        "certificate_id": [near_cert.id, far_cert.id, 999_999],
        "code": ["3171", "3172", near_cert.verification_code, far_cert.verification_code, "9999"],
    }
    tokens = {
        "coordinator-read": make_token(coord, "read"),
        "coordinator-write": make_token(coord, "read", "write:evidence", "write:attendance", "review"),
        "mentor-write": make_token(mentor, "read", "write:evidence", "write:visits", "review"),
        "trainee-write": make_token(near, "read", "write:evidence", "write:attendance"),
        "admin-all": make_token(admin, "read", "write:evidence", "write:visits", "write:attendance", "review",
                                "admin"),
    }
    return {"pools": pools, "tokens": tokens}


def _leaks(body: Any) -> list[str]:
    """Where ``body`` shows a 3172 object: a string with MARK, or an object whose region is 3172."""
    found: list[str] = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            region = node.get("region")
            if isinstance(region, dict) and region.get("code") == "3172":
                found.append(f"{where}: region 3172")
            for k, v in node.items():
                walk(v, f"{where}.{k}")
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, f"{where}[{i}]")
        elif isinstance(node, str) and MARK.lower() in node.lower():
            found.append(f"{where}: {node[:80]}")

    walk(body, "$")
    return found


#: operations whose answer may name another region's objects by design
class _Buffered:
    """The test client, but each answer read whole and closed at once (schemathesis' WSGI transport
    reads the body and never closes the answer: a file answer's handle would stay open)."""

    def __init__(self, client: Any) -> None:
        self._client = client

    def open(self, *args: Any, **kwargs: Any) -> Any:
        resp = self._client.open(*args, **kwargs)
        resp.get_data()
        resp.close()
        return resp

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


LEAK_EXEMPT = {"GET /api/v1/certificates/verify/{code}",  # public: what the certificate's QR shows
               "GET /api/v1/regions", "GET /api/v1/regions/{code}", "GET /api/v1/kecamatan",  # reference data
               "GET /api/v1/openapi.json", "GET /api/v1/docs"}


@pytest.mark.parametrize("who", ["coordinator-read", "coordinator-write", "mentor-write", "trainee-write", "admin-all"])
def test_every_operation_with_generated_requests(app, client, factory, who):
    import schemathesis
    from schemathesis import GenerationMode
    from schemathesis.checks import not_a_server_error
    from schemathesis.specs.openapi.checks import response_schema_conformance

    world = _world(factory)
    secret = world["tokens"][who]
    pools = world["pools"]
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    checks = [not_a_server_error, response_schema_conformance]
    check_leaks = who != "admin-all"
    seen: dict[str, set[int]] = {}
    session = _Buffered(client)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 35, len(operations)

    for operation in operations:
        label = f"{operation.method.upper()} {operation.path}"
        statuses = seen.setdefault(label, set())
        strategy = st.one_of(operation.as_strategy(GenerationMode.POSITIVE),
                             operation.as_strategy(GenerationMode.NEGATIVE))

        @settings(max_examples=EXAMPLES, derandomize=True, database=None, deadline=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=strategy, pick=st.integers(min_value=0, max_value=9))
        def run(case, pick):  # type: ignore[no-untyped-def]
            if pick < 5:  # half the time a real (or a known absent) object, by its id in the path or body
                for name in list(case.path_parameters or {}):
                    if name in pools:
                        case.path_parameters[name] = pools[name][pick % len(pools[name])]
                if isinstance(case.body, dict):
                    for name in list(case.body):
                        if name in pools and not isinstance(case.body[name], (dict, list)):
                            case.body[name] = pools[name][pick % len(pools[name])]
            response = case.call(session=session, headers={"Authorization": f"Bearer {secret}"})
            statuses.add(response.status_code)
            case.validate_response(response, checks=checks)
            if check_leaks and label not in LEAK_EXEMPT and response.content \
                    and "json" in (response.headers.get("content-type") or [""])[0]:
                leaks = _leaks(json.loads(response.content))
                assert not leaks, (label, case.path_parameters, case.query, leaks[:5])

        run()
    # the run reached the operations' real answers, not only their refusals
    ok = {label for label, codes in seen.items() if any(200 <= c < 300 for c in codes)}
    assert len(ok) >= len(seen) // 2, sorted(set(seen) - ok)
