"""Every page each role can reach passes the Nu HTML checker and axe-core (serious and critical).

One crawl per role (admin, coordinator, mentor, trainee, anonymous) over the links of a seeded
world, at most three URLs per URL rule, through the Flask test client, plus the admin's pages in
English and forms sent back with errors; the HTML of every page goes through vnu.jar in one Java run. axe runs in Chromium once per URL rule (the other URLs of a rule
share its template) and once per error status: staff pages on a desktop, the others on a 360 px phone.
"""
from __future__ import annotations

import time

import pytest

from lms.i18n import LANG_COOKIE
from tests.browser_helpers import sign_in
from tests.conftest import TEST_PASSWORD, pass_code_step
from tests.factories import endpoint_urls
from tests.markup import Crawl, Page, axe, crawl, require_tools, vnu

pytestmark = [pytest.mark.browser, pytest.mark.slow]

DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 360, "height": 740}, "is_mobile": True, "has_touch": True}
#: non-HTML endpoints the crawl need not fetch (files: PDFs, spreadsheets, calendars, images)
FILES = {"certification.download", "certification.job_zip", "programme.evidence_file", "visits.visit_photo",
         "visits.export", "reports.download", "audit.export_log", "imports.template", "sessions.session_ics",
         "sessions.feed", "sessions.qr_svg", "certification.job_status", "visits.csrf_token", "ops.healthz",
         "ops.readyz", "ops.metrics", "branding.preview_pdf", "branding.image",
         "credentials.issuer_profile", "credentials.status_list", "credentials.download"}

#: forms posted empty, to check the markup of their error messages
ERROR_FORMS = {
    "anonymous": ("/login", "/kredensial/periksa"),
    "trainee": ("/account/password", "/outlets/{outlet}/evidence/licence/new", "/outlets/{outlet}/evidence/report/new"),
    "mentor": ("/visits/new",),
    "coordinator": ("/sessions/new", "/cohorts/new", "/outlets/new"),
    "admin": ("/users/new", "/users/{owner}/active", "/users/{owner}/reset-password",  # (the last: a confirm page)
              "/admin/branding/bimtek"),
}


def _sign_in(client, email: str) -> None:  # type: ignore[no-untyped-def]
    resp = client.form_post("/login", {"email": email, "password": TEST_PASSWORD})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    if resp.headers["Location"] == "/login/code":  # staff with the test authenticator
        pass_code_step(client, email)


def test_every_reachable_page_passes_the_html_checker_and_axe(app, factory, live_server, _playwright, tmp_path):
    require_tools()
    started = time.perf_counter()
    w = factory.world()
    factory.completed_enrolment(cohort=w.cohort)
    seeds = ["/", "/home"] + list(endpoint_urls(w).values())
    # (read before the requests: they expire the objects)
    outlet_id, owner_id, admin_email = w.outlet.id, w.owner.id, w.users["admin"].email
    # (phone roles first: a page they share with staff is checked by axe on the phone)
    roles = {"trainee": (w.owner.email, PHONE), "mentor": (w.mentor.email, PHONE), "anonymous": (None, PHONE),
             "coordinator": (w.users["coord_3171"].email, DESKTOP), "admin": (admin_email, DESKTOP)}
    result = Crawl()
    for role, (email, _device) in roles.items():
        client = app.test_client()
        if email is not None:
            _sign_in(client, email)
        crawl(app, client, role, seeds, result, skip_endpoints=FILES)
        # forms sent back with their errors (checked by vnu only: axe loads pages by GET)
        for url in ERROR_FORMS.get(role, ()):
            url = url.format(outlet=outlet_id, owner=owner_id)
            resp = client.form_post(url, {})
            assert resp.status_code in (200, 400, 422), (role, url, resp.status_code)
            result.pages.append(Page(role, f"POST {url}", resp.status_code, resp.get_data(as_text=True), "post"))
    # the English pages of the admin, for vnu (same templates: axe has seen them)
    english = app.test_client()
    english.set_cookie(LANG_COOKIE, "en")
    _sign_in(english, admin_email)
    crawl(app, english, "admin-en", seeds, result, per_rule=1, skip_endpoints=FILES)
    crawled = time.perf_counter()

    html_errors = vnu(result.pages, tmp_path / "pages")
    validated = time.perf_counter()

    axe_problems: list[str] = []
    checked: set[object] = set()
    for role, (email, device) in roles.items():
        todo = []
        for p in result.pages:
            kind = p.endpoint if p.status == 200 else p.status  # error pages share one template
            if p.role == role and p.endpoint != "post" and kind not in checked:
                checked.add(kind)
                todo.append(p)
        if not todo:
            continue
        context = _playwright.new_context(base_url=live_server.url, bypass_csp=True, **device)
        context.set_default_timeout(10_000)
        try:
            page = context.new_page()
            if email is not None:
                sign_in(page, email)
            for p in todo:
                page.goto(p.url)
                axe_problems += [f"{role} {p.url}: {v}" for v in axe(page)]
        finally:
            context.close()
    elapsed = time.perf_counter() - started
    print(f"\nmarkup: {len(result.pages)} pages checked by vnu, {len(checked)} by axe in {elapsed:.1f} s "
          f"(world and crawl {crawled - started:.1f} s, vnu {validated - crawled:.1f} s); "
          f"{len(html_errors)} HTML errors, {len(axe_problems)} axe violations")
    by_role = {r: sum(1 for p in result.pages if p.role == r) for r in [*roles, "admin-en"]}
    assert all(n >= 5 for n in by_role.values()), by_role
    assert not html_errors and not axe_problems, (
        "Nu HTML checker:\n" + "\n".join(html_errors[:60]) + "\naxe-core:\n" + "\n".join(axe_problems[:60]))
