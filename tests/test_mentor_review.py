"""Reviewing on a phone: the scan is seen in the page (images) or in the browser's PDF viewer,
served sandboxed and uncached; a reviewer who edited a submission cannot verify it."""
from __future__ import annotations

import re
from datetime import date

from lms.files import PNG, CheckedUpload
from lms.programme import services
from tests.factories import tiny_png


def _image_licence(factory, owner):  # type: ignore[no-untyped-def]
    return services.save_licence(owner, owner.managed_outlet,
                                 services.LicenceInput("NIB", "9120001234568", date(2018, 3, 1), "OSS"),
                                 CheckedUpload(tiny_png((40, 30)), PNG, "nib.png"))


def _safe_headers(r) -> None:  # type: ignore[no-untyped-def]
    assert r.headers["Cache-Control"] == "private, no-store"
    assert "sandbox" in r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    assert r.headers["X-Content-Type-Options"] == "nosniff"


def test_pdf_opens_in_the_browser_and_can_still_be_downloaded(client, login_as, factory):
    w = factory.world()  # w.evidence: the owner's licence with a PDF scan
    login_as(w.mentor)
    with client.get(f"/evidence/{w.evidence.id}/file") as r:
        assert r.status_code == 200 and r.mimetype == "application/pdf"
        assert r.headers["Content-Disposition"].startswith("inline;")
        _safe_headers(r)
    with client.get(f"/evidence/{w.evidence.id}/file?unduh=1") as r:
        assert r.headers["Content-Disposition"].startswith("attachment;")
        _safe_headers(r)
    html = client.get(f"/evidence/{w.evidence.id}").get_data(as_text=True)
    assert f'href="/evidence/{w.evidence.id}/file"' in html  # Buka PDF
    assert f'href="/evidence/{w.evidence.id}/file?unduh=1"' in html  # Unduh
    assert "<img" not in html.split("<main", 1)[1]  # a PDF is not put in an <img>


def test_image_previews_inline_with_alt_text(client, login_as, factory):
    w = factory.world()
    ev = _image_licence(factory, w.owner)
    login_as(w.mentor)
    html = client.get(f"/evidence/{ev.id}").get_data(as_text=True)
    img = re.search(r'<img class="evidence-preview" src="([^"]+)" alt="([^"]+)"', html)
    assert img, html
    assert img.group(1) == f"/evidence/{ev.id}/file" and "9120001234568" in img.group(2)
    with client.get(img.group(1)) as r:
        assert r.mimetype == "image/png" and r.headers["Content-Disposition"].startswith("inline;")
        _safe_headers(r)
    assert f'href="/evidence/{ev.id}/file?unduh=1"' in html


# --- four eyes: a reviewer who edited a submission does not verify it ----------------------------

def _licence_input(number: str = "9120001234567") -> services.LicenceInput:
    return services.LicenceInput("NIB", number, date(2018, 3, 1), "OSS")


def test_reviewer_who_edited_a_pending_submission_cannot_verify_it(client, login_as, factory, db):
    from lms.programme.models import EvidenceStatus

    w = factory.world()  # the owner's licence is pending; w.mentor has the outlet in their caseload
    login_as(w.mentor)
    assert 'name="verify"' in client.get(f"/evidence/{w.evidence.id}").get_data(as_text=True)
    r = client.form_post(f"/evidence/{w.evidence.id}/edit", {
        "licence_type": "NIB", "number": "9120001234999", "issued_on": "2018-03-01", "issuing_office": "OSS"})
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    html = client.get(f"/evidence/{w.evidence.id}").get_data(as_text=True)
    assert 'name="verify"' not in html
    assert "Peninjau lain yang memverifikasi bukti ini." in html  # the reason, on the page
    assert client.form_post(f"/evidence/{w.evidence.id}/review", {"verify": "1"}).status_code == 403
    # the queue says so too
    assert "Ditinjau peninjau lain" in client.get("/review").get_data(as_text=True)
    # another reviewer decides
    client.post("/logout", data={"csrf_token": client.csrf_token()})
    login_as(w.users["coord_3171"])
    assert "Ditinjau peninjau lain" not in client.get("/review").get_data(as_text=True)
    assert client.form_post(f"/evidence/{w.evidence.id}/review", {"verify": "1"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(type(w.evidence), w.evidence.id).status is EvidenceStatus.VERIFIED


def test_the_trainee_saving_again_does_not_clear_the_reviewer_edit(factory):
    import pytest

    from lms.errors import NotAllowed
    from lms.permissions import can

    w = factory.world()
    outlet = w.outlet
    services.save_licence(w.mentor, outlet, _licence_input("9120001234888"), None, existing=w.evidence)
    # the trainee sends it again (their name is now on the submission)
    ev = services.save_licence(w.owner, outlet, _licence_input("9120001234888"), None, existing=w.evidence)
    assert ev.submitted_by_id == w.owner.id
    assert not can(w.mentor, "evidence.review", ev)
    with pytest.raises(NotAllowed):
        services.review(w.mentor, ev, "verify")
    assert can(w.users["coord_3171"], "evidence.review", ev)


def test_a_draft_saved_by_a_reviewer_counts_as_their_work(factory):
    from lms.permissions import can

    w = factory.world()
    outlet = w.outlet
    coord, other_coord = w.users["coord_3171"], w.users["coord_all"]

    def financing(status: str) -> services.FinancingInput:
        return services.FinancingInput(lender="bank_dki", lender_name="", product="KUR", amount_requested=5_000_000,
                                       amount_approved=5_000_000 if status == "approved" else None,
                                       application_status=status, applied_on=date(2018, 6, 1),
                                       decided_on=date(2018, 6, 20) if status == "approved" else None,
                                       disbursed_on=None)

    ev = services.save_financing(w.owner, outlet, financing("submitted"), None)  # with the lender: a draft here
    services.save_financing(coord, outlet, financing("submitted"), None, existing=ev)  # the coordinator corrects it
    ev = services.save_financing(w.owner, outlet, financing("approved"), None, existing=ev)  # now for verification
    assert ev.status.value == "submitted"
    assert not can(coord, "evidence.review", ev)
    assert can(other_coord, "evidence.review", ev)


def test_reviewing_someone_elses_work_is_unchanged(factory):
    from lms.permissions import can, worked_on_evidence

    w = factory.world()
    assert can(w.mentor, "evidence.review", w.evidence)
    assert not worked_on_evidence(w.mentor, w.evidence)
    assert worked_on_evidence(w.owner, w.evidence)
