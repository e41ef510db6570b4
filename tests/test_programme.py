"""The 7 PAS journey: evidence validation, review rules, access, manager change, query counts."""
from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.i18n import to_wib
from lms.permissions import SYSTEM
from lms.places.services import set_outlet_manager
from lms.programme import services
from lms.programme.models import (Enrolment, EnrolmentStatus, Evidence, EvidenceStatus, FinancialReport)
from lms.db import utcnow
from tests.factories import tiny_pdf, tiny_png


def _enrolled(factory, region="3171"):
    trainee = factory.user("trainee", region=region, phone="+6281234567001")
    e = factory.enrolment(trainee=trainee)
    return trainee, e


def _post_licence(client, outlet_id, **over):
    data = {"licence_type": "NIB", "number": "9120001234567", "issued_on": "2018-03-01", "issuing_office": "OSS",
            "scan": (io.BytesIO(tiny_pdf()), "nib.pdf")}
    data.update(over)
    return client.form_post(f"/outlets/{outlet_id}/evidence/licence/new", data, content_type="multipart/form-data")


# --- validation of every evidence form -----------------------------------------------------

@pytest.mark.parametrize("number,ok", [("9120001234567", True), ("912000123456", False), ("91200012345678", False),
                                       ("91200012345ab", False), ("9120 0012 3456 7", True)])
def test_nib_must_have_13_digits(client, factory, login_as, db, number, ok):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    r = _post_licence(client, trainee.managed_outlet.id, number=number)
    assert (r.status_code == 302) is ok, r.status_code
    if not ok:
        assert "NIB terdiri dari tepat 13 angka" in r.get_data(as_text=True)
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_iumk_number_is_free_form(client, factory, login_as):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    r = _post_licence(client, trainee.managed_outlet.id, licence_type="IUMK", number="510/123/IUMK/X/2018")
    assert r.status_code == 302


def test_licence_issue_date_not_in_future(client, factory, login_as):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    tomorrow = (to_wib(utcnow()).date() + timedelta(days=1)).isoformat()
    r = _post_licence(client, trainee.managed_outlet.id, issued_on=tomorrow)
    assert r.status_code == 422
    assert "tidak boleh di masa depan" in r.get_data(as_text=True)


def test_executable_renamed_pdf_is_refused(client, factory, login_as, db):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    elf = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 200
    r = _post_licence(client, trainee.managed_outlet.id, scan=(io.BytesIO(elf), "izin.pdf"))
    assert r.status_code == 422
    assert "Jenis berkas tidak diterima" in r.get_data(as_text=True)
    mz = b"MZ\x90\x00" + b"\x00" * 200
    r = _post_licence(client, trainee.managed_outlet.id, scan=(io.BytesIO(mz), "izin.pdf"))
    assert r.status_code == 422
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_png_scan_accepted_and_oversize_refused(client, factory, login_as, app):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    r = _post_licence(client, trainee.managed_outlet.id, scan=(io.BytesIO(tiny_png()), "izin.png"))
    assert r.status_code == 302
    app.config["UPLOAD_MAX_BYTES"] = 64 * 1024  # the HTTP path, with a small limit
    big = tiny_pdf()[:-6] + b"0" * (64 * 1024) + b"\n%%EOF\n"
    r = _post_licence(client, trainee.managed_outlet.id, scan=(io.BytesIO(big), "izin.pdf"))
    assert r.status_code == 422
    assert "terlalu besar (maksimal 64 KB)" in r.get_data(as_text=True)


def test_default_upload_limit_is_5_mb(app):
    from lms.errors import Invalid
    from lms.files import check_upload

    body = tiny_pdf()[:-6]
    exact = body + b"0" * (5 * 1024 * 1024 - len(body) - 7) + b"\n%%EOF\n"
    assert len(exact) == 5 * 1024 * 1024
    assert check_upload(io.BytesIO(exact), "a.pdf").content_type == "application/pdf"
    with pytest.raises(Invalid) as e:
        check_upload(io.BytesIO(exact + b"0"), "a.pdf")
    assert "5 MB" in str(e.value)


def test_a_scan_written_in_a_transaction_that_rolls_back_is_removed(app, db):
    from lms.db import transaction
    from lms.files import AREA, check_upload, store
    from lms.storage import storage

    upload = check_upload(io.BytesIO(tiny_pdf()), "nib.pdf")
    with pytest.raises(RuntimeError):
        with transaction():
            row = store(upload, None)
            written = storage().local_path(AREA, row.path)
            assert written.exists()
            raise RuntimeError("the rest of the action failed")
    assert not written.exists(), "an orphan file stayed on disk"
    with transaction():
        kept = storage().local_path(AREA, store(upload, None).path)
    db.session.rollback()  # a later rollback does not touch files of committed transactions
    assert kept.exists()


def test_licence_requires_a_scan(client, factory, login_as):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/licence/new",
                         {"licence_type": "SKU", "number": "123/SKU/2018", "issued_on": "2018-01-02",
                          "issuing_office": "Kelurahan"}, content_type="multipart/form-data")
    assert r.status_code == 422
    assert "Unggah pindaian izin" in r.get_data(as_text=True)


def _report(client, outlet_id, month="2018-05", **over):
    data = {"month": month, "turnover": "Rp 15.000.000", "cost_of_goods": "11.000.000", "operating_expenses": "1500000"}
    data.update(over)
    return client.form_post(f"/outlets/{outlet_id}/evidence/report/new", data)


def test_report_profit_rupiah_and_duplicate_month(client, factory, login_as, db):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    r = _report(client, trainee.managed_outlet.id)
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    rep = db.session.scalar(sa.select(FinancialReport))
    assert (rep.turnover, rep.cost_of_goods, rep.operating_expenses, rep.profit) == (15_000_000, 11_000_000, 1_500_000, 2_500_000)
    assert rep.month == date(2018, 5, 1)
    page = client.get(f"/evidence/{rep.id}").get_data(as_text=True)
    assert "Rp 2.500.000" in page and "Rp 15.000.000" in page
    r = _report(client, trainee.managed_outlet.id)
    assert r.status_code == 422
    assert "Laporan untuk bulan ini sudah ada" in r.get_data(as_text=True)


@pytest.mark.parametrize("field,value,message", [
    ("turnover", "-5000", "Tidak boleh negatif"),
    ("cost_of_goods", "1.500,50", "tanpa desimal"),
    ("operating_expenses", "banyak", "tanpa desimal"),
    ("month", "2099-01", "masa depan"),
    ("month", "bulan lalu", "TTTT-BB"),
])
def test_report_bad_input_is_a_form_message(client, factory, login_as, db, field, value, message):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    r = _report(client, trainee.managed_outlet.id, **{field: value})
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_marketing_validation(client, factory, login_as):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    url = f"/outlets/{trainee.managed_outlet.id}/evidence/marketing/new"
    r = client.form_post(url, {"kind": "online_shop", "description": "pendek", "link": "javascript:alert(1)"})
    assert r.status_code == 422
    body = r.get_data(as_text=True)
    assert "minimal 10 karakter" in body and "http://" in body
    r = client.form_post(url, {"kind": "online_shop", "description": "Toko di marketplace untuk sembako",
                               "link": "https://toko.example/ewarong"})
    assert r.status_code == 302


@pytest.mark.parametrize("over,message", [
    ({"amount_requested": "-1"}, "lebih dari nol"),
    ({"application_status": "approved", "amount_approved": ""}, "jumlah yang disetujui"),
    ({"application_status": "disbursed", "amount_approved": "10.000.000", "decided_on": "2018-07-01"}, "tanggal pencairan"),
    ({"lender": "koperasi", "lender_name": ""}, "nama bank, koperasi"),
    ({"applied_on": "2099-01-01"}, "masa depan"),
])
def test_financing_validation(client, factory, login_as, over, message):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    data = {"lender": "bank_dki", "product": "Kredit Monas Pemula", "amount_requested": "10.000.000",
            "application_status": "submitted", "applied_on": "2018-06-01"}
    data.update(over)
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/financing/new", data)
    assert r.status_code == 422
    assert message in r.get_data(as_text=True)


def test_financing_enters_queue_only_when_approved(client, factory, login_as, db):
    trainee, _ = _enrolled(factory)
    login_as(trainee)
    url = f"/outlets/{trainee.managed_outlet.id}/evidence/financing/new"
    client.form_post(url, {"lender": "bni", "product": "KUR Mikro", "amount_requested": "25.000.000",
                           "application_status": "submitted", "applied_on": "2018-06-01"})
    ev = db.session.scalar(sa.select(Evidence))
    assert ev.status is EvidenceStatus.DRAFT
    client.form_post(f"/evidence/{ev.id}/edit", {"lender": "bni", "product": "KUR Mikro", "amount_requested": "25.000.000",
                                                 "amount_approved": "20.000.000", "application_status": "approved",
                                                 "applied_on": "2018-06-01", "decided_on": "2018-07-01"})
    db.session.expire_all()
    assert db.session.get(Evidence, ev.id).status is EvidenceStatus.SUBMITTED


# --- review --------------------------------------------------------------------------------

def _submitted_licence(trainee):
    from lms.files import PDF, CheckedUpload

    return services.save_licence(trainee, trainee.managed_outlet, services.LicenceInput(
        "NIB", "9120001234567", date(2018, 3, 1), "OSS"), CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))


def test_return_needs_a_comment_that_the_trainee_sees(client, factory, login_as, db):
    trainee, _ = _enrolled(factory)
    ev = _submitted_licence(trainee)
    login_as("coordinator", region="3171")
    r = client.form_post(f"/evidence/{ev.id}/review", {"send_back": "1", "comment": ""})
    assert r.status_code == 422
    r = client.form_post(f"/evidence/{ev.id}/review", {"send_back": "1", "comment": "Pindaian tidak terbaca"})
    assert r.status_code == 302
    client.form_post("/logout")
    login_as(trainee)
    body = client.get("/progress").get_data(as_text=True)
    assert "Pindaian tidak terbaca" in body
    assert "Perbaiki dan kirim ulang" in body
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "evidence.returned"))
    assert audit is not None and audit.target_id == str(ev.id)


def test_trainee_can_never_verify(client, factory, login_as, db):
    trainee, _ = _enrolled(factory)
    ev = _submitted_licence(trainee)
    login_as(trainee)
    page = client.get(f"/evidence/{ev.id}").get_data(as_text=True)
    assert f'action="/evidence/{ev.id}/review"' not in page  # no review form for the trainee
    r = client.form_post(f"/evidence/{ev.id}/review", {"verify": "1"})
    assert r.status_code == 403
    db.session.expire_all()
    assert db.session.get(Evidence, ev.id).status is EvidenceStatus.SUBMITTED
    with pytest.raises(Exception) as exc:
        services.review(trainee, ev, "verify")
    assert type(exc.value).__name__ == "NotAllowed"


def test_nobody_verifies_their_own_submission(factory, db):
    trainee, _ = _enrolled(factory)
    coord = factory.user("coordinator", region="3171")
    from lms.files import PDF, CheckedUpload

    ev = services.save_licence(coord, trainee.managed_outlet, services.LicenceInput(
        "NIB", "9120001234567", date(2018, 3, 1), "OSS"), CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))
    with pytest.raises(Exception) as exc:
        services.review(coord, ev, "verify")
    assert type(exc.value).__name__ == "NotAllowed"


def test_mentor_may_verify_licence_but_not_financing(factory, db):
    trainee, _ = _enrolled(factory)
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    ev = _submitted_licence(trainee)
    services.review(mentor, ev, "verify")
    assert ev.status is EvidenceStatus.VERIFIED
    fin = services.save_financing(trainee, trainee.managed_outlet, services.FinancingInput(
        "bank_dki", "", "KUR", 10_000_000, 10_000_000, "approved", date(2018, 6, 1), date(2018, 7, 1), None), None)
    with pytest.raises(Exception) as exc:
        services.review(mentor, fin, "verify")
    assert type(exc.value).__name__ == "NotAllowed"


def test_verified_report_locked_except_for_coordinator_and_audited(client, factory, login_as, db):
    trainee, _ = _enrolled(factory)
    rep = services.save_report(trainee, trainee.managed_outlet, services.ReportInput(date(2018, 5, 1), 1_000_000, 600_000, 100_000))
    coord = factory.user("coordinator", region="3171")
    services.review(coord, rep, "verify")
    login_as(trainee)
    assert client.get(f"/evidence/{rep.id}/edit").status_code == 403
    r = _report(client, trainee.managed_outlet.id, month="2018-05")
    assert r.status_code == 422  # and no second report for the month
    client.form_post("/logout")
    login_as(coord)
    r = client.form_post(f"/evidence/{rep.id}/edit", {"month": "2018-05", "turnover": "1.200.000",
                                                      "cost_of_goods": "600.000", "operating_expenses": "100.000"})
    assert r.status_code == 302
    db.session.expire_all()
    rep = db.session.get(FinancialReport, rep.id)
    assert rep.turnover == 1_200_000 and rep.status is EvidenceStatus.VERIFIED
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "evidence.edited_after_verification"))
    assert entry.details["changes"]["turnover"] == [1_000_000, 1_200_000]
    assert entry.actor_id == coord.id


def test_review_queue_filters(client, factory, login_as, db):
    t1, _ = _enrolled(factory, "3171")
    t2, _ = _enrolled(factory, "3172")
    e1 = _submitted_licence(t1)
    _submitted_licence(t2)
    services.save_report(t1, t1.managed_outlet, services.ReportInput(date(2018, 5, 1), 1, 1, 1))
    from lms.db import transaction

    with transaction():
        db.session.execute(sa.update(Evidence.__table__).where(Evidence.__table__.c.id == e1.id)
                           .values(submitted_at=utcnow() - timedelta(days=10)))
    admin = login_as("admin")
    assert admin
    items, total = services.review_queue(admin)
    assert total == 3
    assert services.review_queue(admin, region_id=t2.region_id)[1] == 1
    assert services.review_queue(admin, stage="pelaporan_keuangan")[1] == 1
    aged = services.review_queue(admin, min_age_days=7)[0]
    assert [e.id for e in aged] == [e1.id]
    page = client.get("/review?age=7").get_data(as_text=True)
    assert "9120001234567" in page
    regional = factory.user("coordinator", region="3172")
    assert services.review_queue(regional)[1] == 1


# --- access -----------------------------------------------------------------------------------

def test_trainee_sees_only_their_own_records(client, factory, login_as):
    t1, e1 = _enrolled(factory)
    t2, e2 = _enrolled(factory)
    ev2 = _submitted_licence(t2)
    login_as(t1)
    assert client.get(f"/enrolments/{e1.id}").status_code == 200
    assert client.get(f"/enrolments/{e2.id}").status_code == 404
    assert client.get(f"/evidence/{ev2.id}").status_code == 404
    assert client.get(f"/evidence/{ev2.id}/file").status_code == 404
    assert client.get(f"/evidence/{ev2.id}/edit").status_code == 404
    assert client.get(f"/outlets/{t2.managed_outlet.id}/evidence/licence/new").status_code == 404
    assert client.get(f"/outlets/{t2.managed_outlet.id}/reports").status_code == 404
    assert _post_licence(client, t2.managed_outlet.id).status_code == 404


def test_mentor_sees_only_assigned_outlets(client, factory, login_as):
    t1, e1 = _enrolled(factory)
    t2, e2 = _enrolled(factory)
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, t1.managed_outlet)
    ev2 = _submitted_licence(t2)
    login_as(mentor)
    assert client.get(f"/enrolments/{e1.id}").status_code == 200
    assert client.get(f"/enrolments/{e2.id}").status_code == 404
    assert client.get(f"/evidence/{ev2.id}").status_code == 404
    assert "EW-" not in client.get("/review").get_data(as_text=True).split("<main")[1]


def test_coordinator_of_another_region_gets_404(client, factory, login_as):
    t1, e1 = _enrolled(factory, "3171")
    ev = _submitted_licence(t1)
    login_as("coordinator", region="3172")
    for url in (f"/enrolments/{e1.id}", f"/evidence/{ev.id}", f"/evidence/{ev.id}/file", f"/evidence/{ev.id}/edit",
                f"/outlets/{t1.managed_outlet.id}/reports", f"/outlets/{t1.managed_outlet.id}/evidence/report/new"):
        assert client.get(url).status_code == 404, url
    assert client.form_post(f"/evidence/{ev.id}/review", {"verify": "1"}).status_code == 404


def test_regional_coordinator_cannot_edit_a_multi_region_cohort(client, factory, login_as):
    cohort = factory.cohort(regions=("3171", "3172"))
    login_as("coordinator", region="3171")
    assert client.get(f"/cohorts/{cohort.id}").status_code == 200
    assert client.get(f"/cohorts/{cohort.id}/edit").status_code == 403
    other = factory.cohort(regions=("3173",))
    assert client.get(f"/cohorts/{other.id}").status_code == 404


# --- cohorts, enrolments, manager change --------------------------------------------------------

def test_cohort_create_and_enrol_all(client, factory, login_as, db):
    for _ in range(3):
        factory.user("trainee", region="3171", phone="+6281234567002")
    factory.user("trainee", region="3172")
    login_as("coordinator", region="3171")
    r = client.form_post("/cohorts/new", {"name": "Angkatan Pusat 2019", "curriculum_key": "okoce-7pas",
                                          "start_date": "2019-01-07", "end_date": "2019-12-20",
                                          "region_ids": [str(factory.region("3171").id)]})
    assert r.status_code == 302, r.get_data(as_text=True)[:1500]
    cohort_id = int(r.headers["Location"].rsplit("/", 1)[1])
    r = client.form_post(f"/cohorts/{cohort_id}/enrol-all")
    assert r.status_code == 302
    rows = list(db.session.scalars(sa.select(Enrolment).where(Enrolment.cohort_id == cohort_id)))
    assert len(rows) == 3
    assert all(e.current_stage == "pelatihan" for e in rows)  # profiles complete
    # enrolling again adds nobody
    client.form_post(f"/cohorts/{cohort_id}/enrol-all")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Enrolment).where(Enrolment.cohort_id == cohort_id)) == 3
    body = client.get(f"/cohorts/{cohort_id}?stage=pelatihan").get_data(as_text=True)
    assert "3 pengelola" in body


def test_cohort_form_errors(client, factory, login_as):
    login_as("coordinator", region="3171")
    r = client.form_post("/cohorts/new", {"name": "X", "curriculum_key": "okoce-7pas", "start_date": "2019-05-01",
                                          "end_date": "2019-01-01", "region_ids": [str(factory.region("3172").id)]})
    body = r.get_data(as_text=True)
    assert r.status_code == 200
    assert "bukan pilihan yang valid" in body  # another region is not even offered
    r = client.form_post("/cohorts/new", {"name": "X", "curriculum_key": "okoce-7pas", "start_date": "2019-05-01",
                                          "end_date": "2019-01-01", "region_ids": [str(factory.region("3171").id)]})
    assert "sebelum tanggal mulai" in r.get_data(as_text=True)


def test_manager_change_keeps_outlet_records_for_new_enrolment(factory, db):
    trainee, e1 = _enrolled(factory)
    outlet = trainee.managed_outlet
    ev = _submitted_licence(trainee)
    services.review(factory.user("coordinator", region="3171"), ev, "verify")
    newcomer = factory.user("trainee", region="3171", with_outlet=False, phone="+6281234567999")
    set_outlet_manager(SYSTEM, outlet, newcomer)
    db.session.expire_all()
    old = db.session.get(Enrolment, e1.id)
    assert old.status is EnrolmentStatus.ENDED
    new = db.session.scalar(sa.select(Enrolment).where(Enrolment.user_id == newcomer.id))
    assert new.status is EnrolmentStatus.ACTIVE and new.outlet_id == outlet.id and new.cohort_id == old.cohort_id
    progress = services.progress_for(new)
    licence_state = [m for s in progress.stages for m in s.milestones if m.milestone.evidence == "licence"][0]
    assert licence_state.met and licence_state.evidence_id == ev.id


# --- bounded queries ------------------------------------------------------------------------------

def _queue_with(factory, db, n):
    """``n`` outlets with a submitted licence each, written in one transaction."""
    from lms.db import transaction
    from lms.programme.models import Licence, LicenceType

    cohort = factory.cohort()
    trainees = factory.enrolled_trainees(n, cohort)
    with transaction():
        for t in trainees:
            db.session.add(Licence(outlet_id=t.managed_outlet.id, region_id=t.region_id, stage_key="perizinan",
                                   status=EvidenceStatus.SUBMITTED, submitted_by_id=t.id, submitted_at=utcnow(),
                                   licence_type=LicenceType.NIB, number="9120001234567", issued_on=date(2018, 3, 1),
                                   issuing_office="OSS"))


def test_review_queue_queries_do_not_grow(client, factory, login_as, count_queries, app, db):
    app.config["PAGE_SIZE"] = 300
    login_as("coordinator", region="3171")
    _queue_with(factory, db, 10)
    client.get("/review")
    with count_queries() as small:
        assert client.get("/review").status_code == 200
    _queue_with(factory, db, 290)
    with count_queries() as big:
        body = client.get("/review").get_data(as_text=True)
    assert "300 bukti menunggu" in body
    assert big.count == small.count, (small.count, big.count)


def test_cohort_list_queries_do_not_grow(client, factory, login_as, count_queries, app):
    app.config["PAGE_SIZE"] = 300
    cohort = factory.cohort()
    login_as("coordinator", region=None)
    factory.enrolled_trainees(10, cohort)
    client.get(f"/cohorts/{cohort.id}")
    with count_queries() as small:
        assert client.get(f"/cohorts/{cohort.id}").status_code == 200
    factory.enrolled_trainees(290, cohort)
    with count_queries() as big:
        body = client.get(f"/cohorts/{cohort.id}").get_data(as_text=True)
    assert "300 pengelola" in body
    assert big.count == small.count, (small.count, big.count)


def test_cohort_search_matches_names_and_codes_literally(factory, db):
    cohort = factory.cohort(regions=("3171",))
    siti = factory.enrolment(cohort=cohort, trainee=factory.user("trainee", region="3171", full_name="Siti Aminah"))
    factory.enrolment(cohort=cohort, trainee=factory.user("trainee", region="3171", full_name="Budi Santoso"))

    def found(q: str) -> set[int]:
        rows, total = services.enrolment_list(SYSTEM, cohort, q=q)
        assert total == len(rows)
        return {e.id for e in rows}

    assert found("AMINAH") == {siti.id}
    assert found(siti.outlet.code.lower()) == {siti.id}
    assert found("%") == set() and found("siti_aminah") == set()  # not wildcards
