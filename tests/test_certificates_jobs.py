"""Bulk runs: progress, partial failure and retry, the ZIP, and the RQ path."""
from __future__ import annotations

import io
import threading
import zipfile

import sqlalchemy as sa

from lms.certification import jobs, services
from lms.certification.models import Certificate, CertificateJob, CertificateJobItem, JobItemStatus
from lms.storage import storage
from tests.servers import redis_or_fail


def _start(client, session) -> int:  # type: ignore[no-untyped-def]
    resp = client.form_post(f"/certificates/sessions/{session.id}/bulk", {"kind": "bimtek", "confirmed": "1"})
    assert resp.status_code == 302, resp.status_code
    assert "/certificates/jobs/" in resp.headers["Location"]
    return int(resp.headers["Location"].rsplit("/", 1)[1])


def _status(client, job_id: int) -> dict:  # type: ignore[type-arg]
    resp = client.get(f"/certificates/jobs/{job_id}/status.json")
    assert resp.status_code == 200
    return resp.get_json()  # type: ignore[no-any-return]


def test_bulk_issue_for_a_session_reports_progress_and_zips_the_run(client, factory, login_as, db):
    s = factory.session()
    present = [factory.attendee(s, "present") for _ in range(4)] + [factory.attendee(s, "late")]
    factory.attendee(s, "absent")
    already = factory.attendee(s, "present")
    factory.certificate(session=s, holder=already)
    login_as("coordinator", region="3171")
    job_id = _start(client, s)
    jobs.WORKER.join()
    p = _status(client, job_id)
    assert p == {"id": job_id, "total": 5, "done": 5, "failed": 0, "remaining": 0, "finished": True, "percent": 100}
    page = client.get(f"/certificates/jobs/{job_id}").get_data(as_text=True)
    assert "Unduh semua (ZIP)" in page and "100%" in page
    certs = db.session.scalars(sa.select(Certificate).where(Certificate.holder_id.in_([u.id for u in present]))).all()
    assert len(certs) == 5 and all(c.pdf_path for c in certs)
    resp = client.get(f"/certificates/jobs/{job_id}/zip")
    assert resp.status_code == 200 and resp.mimetype == "application/zip"
    data = resp.data
    resp.close()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = zf.namelist()
        assert len(names) == 5
        by_serial = {c.serial.replace("/", "-"): c for c in certs}
        for name in names:
            cert = by_serial[name.split("_", 1)[0]]
            assert zf.read(name) == storage().get("certificates", cert.pdf_path)
    # nothing left to do: a second run is refused with a message, no job is made
    resp = client.form_post(f"/certificates/sessions/{s.id}/bulk", {"kind": "bimtek", "confirmed": "1"})
    assert resp.status_code == 302 and "/certificates/sessions/" in resp.headers["Location"]
    assert "Tidak ada yang memenuhi syarat" in client.get(resp.headers["Location"]).get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CertificateJob)) == 1


def test_progress_is_visible_while_the_run_is_going(app, client, factory, login_as):
    s = factory.session()
    people = [factory.attendee(s) for _ in range(4)]
    gate = threading.Event()
    slow = people[2].id

    def hook(cert):  # type: ignore[no-untyped-def]
        if cert.holder_id == slow:
            assert gate.wait(30), "the test never opened the gate"

    app.config["CERTIFICATE_RENDER_HOOK"] = hook
    login_as("coordinator", region="3171")
    job_id = _start(client, s)
    try:
        p = _status(client, job_id)
        assert p["total"] == 4 and not p["finished"] and p["remaining"] >= 1 and p["percent"] < 100
        page = client.get(f"/certificates/jobs/{job_id}").get_data(as_text=True)
        assert 'data-finished="false"' in page and "muat ulang" in page  # the no-JS reload link
    finally:
        gate.set()
        jobs.WORKER.join()
    assert _status(client, job_id)["percent"] == 100


def test_a_failing_certificate_is_reported_the_others_go_on_and_retry_succeeds(app, client, factory, login_as, db):
    s = factory.session()
    people = [factory.attendee(s, full_name=f"Peserta {i}") for i in range(5)]
    broken = factory.attendee(s, full_name="Gagal Render")

    def hook(cert):  # type: ignore[no-untyped-def]
        if cert.holder_name == "Gagal Render":
            raise RuntimeError("printer meledak (uji)")

    app.config["CERTIFICATE_RENDER_HOOK"] = hook
    login_as("coordinator", region="3171")
    job_id = _start(client, s)
    jobs.WORKER.join()
    assert _status(client, job_id) | {"id": 0} == {"id": 0, "total": 6, "done": 5, "failed": 1, "remaining": 0,
                                                  "finished": True, "percent": 100}
    page = client.get(f"/certificates/jobs/{job_id}").get_data(as_text=True)
    assert "printer meledak (uji)" in page and "Ulangi yang gagal" in page
    item = db.session.scalar(sa.select(CertificateJobItem).where(CertificateJobItem.holder_id == broken.id))
    assert item.status is JobItemStatus.FAILED
    done = db.session.scalars(sa.select(Certificate).where(Certificate.holder_id.in_([u.id for u in people]))).all()
    assert len(done) == 5 and all(c.pdf_path for c in done)

    del app.config["CERTIFICATE_RENDER_HOOK"]
    resp = client.form_post(f"/certificates/jobs/{job_id}/retry")
    assert resp.status_code == 302
    jobs.WORKER.join()
    assert _status(client, job_id) | {"id": 0} == {"id": 0, "total": 6, "done": 6, "failed": 0, "remaining": 0,
                                                  "finished": True, "percent": 100}
    db.session.commit()
    mine = db.session.scalars(sa.select(Certificate).where(Certificate.holder_id == broken.id)).all()
    assert len(mine) == 1 and mine[0].pdf_path  # the retry reused the certificate issued before the failure
    db.session.refresh(item)
    assert item.status is JobItemStatus.DONE and item.attempts == 2 and item.error is None


def test_renders_that_fail_in_the_pool_are_failed_items_and_can_be_retried(app, client, factory, login_as, db):
    s = factory.session()
    for _ in range(3):
        factory.attendee(s)
    app.config["CERTIFICATE_RENDER_TIME_LIMIT"] = 0.0005  # every render overruns its CPU limit
    login_as("coordinator", region="3171")
    job_id = _start(client, s)
    jobs.WORKER.join()
    p = _status(client, job_id)
    assert p["failed"] == 3 and p["done"] == 0 and p["finished"]
    assert "RenderTimeout" in client.get(f"/certificates/jobs/{job_id}").get_data(as_text=True)
    app.config["CERTIFICATE_RENDER_TIME_LIMIT"] = 20
    client.form_post(f"/certificates/jobs/{job_id}/retry")
    jobs.WORKER.join()
    assert _status(client, job_id)["done"] == 3


def test_bulk_completion_certificates_for_a_cohort(client, factory, login_as, db):
    cohort = factory.cohort(regions=("3171", "3172"))
    done_here = factory.completed_enrolment(cohort=cohort, region="3171")
    factory.enrolment(cohort=cohort, region="3171")  # not finished
    factory.completed_enrolment(cohort=cohort, region="3172")  # another coordinator's region
    login_as("coordinator", region="3171")
    html = client.get(f"/certificates/cohorts/{cohort.id}").get_data(as_text=True)
    assert "1</strong> memenuhi syarat" in html and "dari 7 langkah" in html
    resp = client.form_post(f"/certificates/cohorts/{cohort.id}/bulk", {"kind": "completion", "confirmed": "1"})
    assert resp.status_code == 302
    jobs.WORKER.join()
    certs = db.session.scalars(sa.select(Certificate)).all()
    assert [(c.kind, c.holder_id) for c in certs] == [("completion", done_here.user_id)]
    assert certs[0].pdf_path and certs[0].serial.startswith("7PAS/")


def test_with_redis_the_run_is_enqueued_on_rq_in_chunks_and_a_worker_completes_it(app, factory, db):
    import uuid

    from rq import Queue, SimpleWorker

    url = "redis://127.0.0.1:6379/15"
    conn = redis_or_fail(url)
    name = f"lms-test-certificates-{uuid.uuid4().hex[:8]}"
    app.config.update(REDIS_URL=url, CERTIFICATE_QUEUE=name)
    s = factory.session()
    for _ in range(jobs.RQ_CHUNK + 2):
        factory.attendee(s)
    coordinator = factory.user("coordinator", region="3171")
    job = services.start_session_job(coordinator, services.design_for("bimtek"), s)
    q = Queue(name, connection=conn)
    try:
        assert q.count == 2  # two chunks, so two workers can share the run
        SimpleWorker([q], connection=conn).work(burst=True)
        p = services.job_progress(job)
        assert p["done"] == jobs.RQ_CHUNK + 2 and p["failed"] == 0 and p["finished"]
        assert all(c.pdf_path for c in db.session.scalars(sa.select(Certificate)))
    finally:
        q.empty()
        q.delete(delete_jobs=True)
        conn.close()


def test_the_worker_command_needs_redis(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["worker", "--burst"])
    assert result.exit_code != 0 and "LMS_REDIS_URL" in result.output
