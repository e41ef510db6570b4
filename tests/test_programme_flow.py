"""The journey end to end through the HTTP interface: evidence, review, tracker."""
import io

import sqlalchemy as sa

from lms.programme.models import Enrolment, Evidence, EvidenceStatus
from tests.factories import tiny_pdf


def test_licence_submitted_verified_advances_tracker(client, factory, db, login_as):
    trainee = factory.user("trainee", phone="+6281234567001")
    e = factory.enrolment(trainee=trainee)
    assert e.current_stage == "pelatihan"  # profile complete → pendaftaran done
    login_as(trainee)
    r = client.get("/progress")
    assert r.status_code == 200
    assert "Kemajuan Saya" in r.get_data(as_text=True)

    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/licence/new", {
        "licence_type": "NIB", "number": "9120001234567", "issued_on": "2018-03-01",
        "issuing_office": "OSS", "scan": (io.BytesIO(tiny_pdf()), "nib.pdf")},
        content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:3000]
    ev = db.session.scalar(sa.select(Evidence))
    assert ev.status is EvidenceStatus.SUBMITTED
    with client.get(f"/evidence/{ev.id}/file") as r:
        assert r.status_code == 200 and r.data.startswith(b"%PDF")

    client.form_post("/logout")
    coord = factory.user("coordinator", region="3171")
    login_as(coord)
    r = client.get("/review")
    assert "9120001234567" in r.get_data(as_text=True)
    r = client.form_post(f"/evidence/{ev.id}/review", {"verify": "1", "comment": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(Evidence, ev.id).status is EvidenceStatus.VERIFIED
    # still on pelatihan: perizinan can't complete before pelatihan and pendampingan
    assert db.session.get(Enrolment, e.id).current_stage == "pelatihan"
    r = client.get(f"/enrolments/{e.id}")
    assert r.status_code == 200
