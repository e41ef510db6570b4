"""Stored files (lms/storage.py): one suite over both backends — a local folder and an S3-compatible
object store (moto's standalone server, spoken to by boto3 over HTTP, nothing patched) — then the
app end to end on the object store (an upload, a certificate, a "Data saya" ZIP, a visit photo:
each downloaded back byte-equal, and 404 for someone else), and ``flask storage migrate``."""
from __future__ import annotations

import hashlib
import io
import os
import re
import threading
import time
import uuid
import zipfile
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.i18n import to_wib
from lms.storage import AREAS, NotStored, storage, storage_for
from tests.factories import tiny_pdf, tiny_png

MB = 1024 * 1024


@pytest.fixture(params=["file", "s3"])
def store(request, app):  # type: ignore[no-untyped-def]
    """This app's storage: the local folders, or a fresh bucket on moto's S3 server."""
    if request.param == "s3":
        s3 = request.getfixturevalue("s3_server")
        app.config.update(s3.config(s3.bucket()))
    backend = storage()
    assert backend.kind == request.param
    return backend


# --- the interface, on both backends -------------------------------------------------------------------

def test_put_get_open_exists_size_and_sha256(store):
    data = os.urandom(300_000)
    assert not store.exists("uploads", "ab/scan.pdf")
    store.put("uploads", "ab/scan.pdf", data)
    assert store.exists("uploads", "ab/scan.pdf")
    assert store.get("uploads", "ab/scan.pdf") == data
    assert store.size("uploads", "ab/scan.pdf") == len(data)
    assert store.sha256("uploads", "ab/scan.pdf") == hashlib.sha256(data).hexdigest()
    with store.open("uploads", "ab/scan.pdf") as f:
        assert f.size == len(data)
        first = f.read(1000)
        rest = f.read()
    assert first + rest == data and len(first) == 1000
    # the areas are apart: the same key elsewhere is another object
    assert not store.exists("certificates", "ab/scan.pdf")
    store.put("certificates", "ab/scan.pdf", b"other")
    assert store.get("uploads", "ab/scan.pdf") == data and store.get("certificates", "ab/scan.pdf") == b"other"


def test_a_missing_key(store):
    for call in (store.get, store.open, store.size, store.sha256):
        with pytest.raises(NotStored):
            call("uploads", "no/such.pdf")
    with pytest.raises(FileNotFoundError):  # what the views catch for their 404
        store.get("uploads", "no/such.pdf")
    assert store.exists("uploads", "no/such.pdf") is False
    store.delete("uploads", "no/such.pdf")  # not an error
    store.put("uploads", "there.pdf", b"x")
    store.delete("uploads", "there.pdf")
    assert not store.exists("uploads", "there.pdf") and list(store.keys("uploads")) == []


BAD_KEYS = ["../outside.pdf", "a/../../outside.pdf", "/etc/passwd", "", "a//b.pdf", "./a.pdf", "a/./b.pdf",
            "a\\..\\b.pdf", "a/..", "..", "nul\x00.pdf"]


def test_keys_that_leave_their_area_are_refused(store, app):
    for key in BAD_KEYS:
        with pytest.raises(NotStored):
            store.put("uploads", key, b"evil")
        with pytest.raises(NotStored):
            store.put_new("uploads", key, b"evil")
        for call in (store.get, store.open, store.size):
            with pytest.raises(NotStored):
                call("uploads", key)
        assert store.exists("uploads", key) is False, key
        store.delete("uploads", key)  # nothing to delete, nothing deleted
    assert list(store.keys("uploads")) == []
    assert not (Path(app.instance_path) / "outside.pdf").exists()
    with pytest.raises(ValueError):
        store.put("elsewhere", "a.pdf", b"x")


def test_an_overwrite_is_atomic(store):
    """Readers see the old object or the new one, never a mix; a stream opened before keeps the old one."""
    old, new = b"A" * MB, b"B" * MB
    store.put("certificates", "bimtek/2018/x.pdf", old)
    with store.open("certificates", "bimtek/2018/x.pdf") as before:
        first = before.read(10)
        seen: list[bytes] = []
        stop = threading.Event()

        def read() -> None:
            while not stop.is_set():
                seen.append(store.get("certificates", "bimtek/2018/x.pdf"))

        reader = threading.Thread(target=read)
        reader.start()
        try:
            for i in range(12):
                store.put("certificates", "bimtek/2018/x.pdf", new if i % 2 == 0 else old)
        finally:
            stop.set()
            reader.join(10)
        assert seen and all(s in (old, new) for s in seen)
        assert first + before.read() == old
    store.put("certificates", "bimtek/2018/x.pdf", new)
    assert store.get("certificates", "bimtek/2018/x.pdf") == new
    assert list(store.keys("certificates")) == ["bimtek/2018/x.pdf"]  # no temporary objects left behind


def test_put_new_only_creates(store):
    assert store.put_new("imports", "tok.claimed", b"first") is True
    assert store.put_new("imports", "tok.claimed", b"second") is False
    assert store.get("imports", "tok.claimed") == b"first"
    won: list[bool] = []
    threads = [threading.Thread(target=lambda i=i: won.append(store.put_new("imports", "race", b"%d" % i)))
               for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert sorted(won) == [False] * 5 + [True]


def test_keys_and_listing(store):
    if store.kind == "s3":
        store.page_size = 2  # several LIST pages through the paginator
    wanted = {"ab/1.pdf": b"1", "ab/2.jpg": b"22", "cd/3.png": b"333", "exports/z.zip": b"4444", "top.pdf": b"55555"}
    for key, data in wanted.items():
        store.put("uploads", key, data)
    store.put("branding", "logo.png", b"logo")
    assert sorted(store.keys("uploads")) == sorted(wanted)
    assert sorted(store.keys("uploads", "ab/")) == ["ab/1.pdf", "ab/2.jpg"]
    assert list(store.keys("branding")) == ["logo.png"] and list(store.keys("imports")) == []
    now = time.time()
    entries = {e.key: e for e in store.listing("uploads")}
    assert {k: e.size for k, e in entries.items()} == {k: len(v) for k, v in wanted.items()}
    assert all(abs(e.modified - now) < 120 for e in entries.values())


def test_put_file_streams_a_large_file(store, tmp_path):
    source = tmp_path / "big.zip"
    with source.open("wb") as f:
        for _ in range(11):
            f.write(os.urandom(MB))
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    if store.kind == "s3":
        store.multipart_bytes = 5 * MB  # three parts
    store.put_file("uploads", "exports/big.zip", source)
    assert store.size("uploads", "exports/big.zip") == 11 * MB
    assert store.sha256("uploads", "exports/big.zip") == digest
    h = hashlib.sha256()
    with store.open("uploads", "exports/big.zip") as f:
        while chunk := f.read(256 * 1024):
            h.update(chunk)
    assert h.hexdigest() == digest and source.exists()  # the source stays
    if store.kind == "s3":  # uploaded in parts: S3 marks the ETag of a multipart object with its part count
        head = store.client.head_object(Bucket=store.bucket, Key=store._name("uploads", "exports/big.zip"))
        assert head["ETag"].strip('"').endswith("-3")


def test_check(store, app, tmp_path, s3_server):
    store.check()
    if store.kind == "s3":
        broken = storage_for("s3://no-such-bucket/lms", app)
    else:
        (tmp_path / "a-file").write_bytes(b"")
        broken = storage_for("file:", app)
        broken.roots["uploads"] = tmp_path / "a-file"  # not a folder
    with pytest.raises(Exception):  # noqa: B017 - botocore's ClientError or OSError: /readyz says "not ready" for any
        broken.check()


def test_the_backend_follows_the_settings(app, s3_server, tmp_path):
    local = storage()
    assert local.kind == "file" and local.local_path("uploads", "a.pdf") == Path(app.instance_path) / "uploads" / "a.pdf"
    assert storage() is local  # built once
    app.config["UPLOAD_DIR"] = str(tmp_path / "elsewhere")
    assert storage().local_path("uploads", "a.pdf") == tmp_path / "elsewhere" / "a.pdf"
    app.config.update(s3_server.config("some-bucket", prefix="a/b"))
    s3 = storage()
    assert s3.kind == "s3" and (s3.bucket, s3.prefix) == ("some-bucket", "a/b") and s3.local_path("uploads", "x") is None
    assert s3._name("certificates", "bimtek/2018/x.pdf") == "a/b/certificates/bimtek/2018/x.pdf"
    app.config["STORAGE_URL"] = "ftp://nope"
    with pytest.raises(ValueError):
        storage()


def test_moto_starts_quickly(s3_server):
    assert 0 < s3_server.started_in < 5


# --- the app on the object store -------------------------------------------------------------------

@pytest.fixture
def on_s3(app, s3_server):  # type: ignore[no-untyped-def]
    """The app with LMS_STORAGE_URL=s3://… (a fresh bucket); yields a function listing the bucket's objects."""
    bucket = s3_server.bucket()
    app.config.update(s3_server.config(bucket))
    client = s3_server.client()

    def objects(area: str) -> dict[str, bytes]:
        found = client.list_objects_v2(Bucket=bucket, Prefix=f"lms/{area}/").get("Contents", [])
        return {o["Key"][len(f"lms/{area}/"):]: client.get_object(Bucket=bucket, Key=o["Key"])["Body"].read()
                for o in found}

    yield objects
    for area in AREAS:  # nothing went to the local folders
        folder = Path(app.instance_path) / area
        assert not folder.exists() or not any(p.is_file() for p in folder.rglob("*")), area


def _get(client, url: str):  # type: ignore[no-untyped-def]
    resp = client.get(url)
    data = resp.data
    resp.close()
    return resp, data


def _sign_out(client) -> None:  # type: ignore[no-untyped-def]
    client.form_post("/logout")


def test_a_licence_scan_on_s3(on_s3, client, factory, login_as, db):
    from lms.programme.models import Evidence

    trainee = factory.user("trainee", region="3171")
    factory.enrolment(trainee=trainee)
    login_as(trainee)
    scan = tiny_pdf()
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/licence/new",
                         {"licence_type": "NIB", "number": "9120001234567", "issued_on": "2018-03-01",
                          "issuing_office": "OSS", "scan": (io.BytesIO(scan), "nib.pdf")},
                         content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    ev = db.session.scalar(sa.select(Evidence))
    assert on_s3("uploads") == {ev.file.path: scan}
    resp, data = _get(client, f"/evidence/{ev.id}/file?unduh=1")
    assert resp.status_code == 200 and data == scan
    assert resp.content_length == len(scan) and resp.mimetype == "application/pdf"
    assert resp.headers["Content-Disposition"].startswith("attachment;") and f"bukti-{ev.id}" in resp.headers["Content-Disposition"]
    assert resp.headers["Cache-Control"] == "private, no-store" and resp.headers["ETag"] == f'"{ev.file.sha256}"'
    _sign_out(client)
    login_as(factory.user("trainee", region="3171"))
    assert _get(client, f"/evidence/{ev.id}/file")[0].status_code == 404


def test_a_scan_stored_in_a_rolled_back_transaction_is_removed_from_s3(on_s3, app):
    from lms.files import check_upload, store

    upload = check_upload(io.BytesIO(tiny_pdf()), "nib.pdf")
    with pytest.raises(RuntimeError):
        with transaction():
            store(upload, None)
            assert len(on_s3("uploads")) == 1
            raise RuntimeError("the rest of the action failed")
    assert on_s3("uploads") == {}


def test_a_certificate_rendered_and_downloaded_on_s3(on_s3, app, client, factory, login_as, db):
    app.config["CERTIFICATE_RENDER_PROCESSES"] = 0  # rendered in the request's thread: no process pool to start
    cert = factory.certificate()
    login_as(db.session.get(type(cert.holder), cert.holder_id))
    resp, pdf = _get(client, f"/certificates/{cert.id}/pdf")  # rendered on first download, stored, then sent
    assert resp.status_code == 200 and pdf.startswith(b"%PDF-")
    db.session.refresh(cert)
    assert on_s3("certificates") == {cert.pdf_path: pdf}
    assert cert.pdf_sha256 == hashlib.sha256(pdf).hexdigest()
    resp, again = _get(client, f"/certificates/{cert.id}/pdf")  # now read back from the bucket
    assert again == pdf and resp.headers["ETag"] == f'"{cert.pdf_sha256}"'
    _sign_out(client)
    login_as(factory.user("trainee", region="3171"))
    assert _get(client, f"/certificates/{cert.id}/pdf")[0].status_code == 404


def test_a_data_saya_zip_on_s3(on_s3, app, client, factory, login_as, db):
    from lms.privacy.models import DataRequest
    from lms.programme.models import Evidence

    app.config["DATA_EXPORT_WORKER"] = "inline"
    trainee = factory.user("trainee", region="3171")
    factory.enrolment(trainee=trainee)
    login_as(trainee)
    scan = tiny_pdf()
    assert client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/licence/new",
                            {"licence_type": "NIB", "number": "9120001234567", "issued_on": "2018-03-01",
                             "issuing_office": "OSS", "scan": (io.BytesIO(scan), "nib.pdf")},
                            content_type="multipart/form-data").status_code == 302
    ev = db.session.scalar(sa.select(Evidence))
    assert client.form_post("/privasi/data-saya/salinan").status_code == 302
    req = db.session.scalar(sa.select(DataRequest).order_by(DataRequest.id.desc()))
    assert req.file_key.startswith("exports/")
    stored = on_s3("uploads")[req.file_key]
    url = f"/privasi/data-saya/salinan/{req.id}/unduh"
    resp, data = _get(client, url)
    assert resp.status_code == 200 and data == stored and resp.content_length == len(data) == req.file_size
    assert hashlib.sha256(data).hexdigest() == req.sha256 and resp.headers["ETag"] == f'"{req.sha256}"'
    assert f"data-saya-{to_wib(req.created_at):%Y%m%d}" in resp.headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.read(f"berkas/bukti/{ev.id}.pdf") == scan
    _sign_out(client)
    login_as(factory.user("trainee", region="3171"))
    assert _get(client, url)[0].status_code == 404
    # past its time the retention job deletes the object in the bucket
    from lms.privacy import export

    with transaction():
        db.session.get(DataRequest, req.id).expires_at = utcnow() - timedelta(seconds=1)
    assert export.delete_expired_exports(utcnow()) == 1
    assert req.file_key not in on_s3("uploads")


def test_a_visit_photo_on_s3(on_s3, client, factory, login_as, db):
    from lms.visits.models import VisitPhoto

    mentor, (outlet,) = factory.caseload(1)
    login_as(mentor)
    when = (to_wib(utcnow()) - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M")
    r = client.form_post("/visits/new", {
        "outlet_id": str(outlet.id), "visited_at": when, "duration_minutes": "45", "kind": "field_visit",
        "stages": ["pendampingan"], "observations": "Stok beras cukup.", "staff_notes": "", "next_visit_on": "",
        "client_key": uuid.uuid4().hex, "photos": [(io.BytesIO(tiny_png((40, 30))), "rak.png")],
        "action_items-0-description": "", "action_items-0-owner": "", "action_items-0-due_on": ""},
        content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    photo = db.session.scalar(sa.select(VisitPhoto))
    stored = on_s3("uploads")[photo.file.path]
    resp, data = _get(client, f"/visit-photos/{photo.id}")
    assert resp.status_code == 200 and data == stored and resp.mimetype == "image/png"
    assert hashlib.sha256(data).hexdigest() == photo.file.sha256 and resp.content_length == len(data)
    assert re.search(r"inline; filename=.?foto-kunjungan", resp.headers["Content-Disposition"])
    _sign_out(client)
    login_as(factory.user("mentor", region="3171"))  # not their outlet
    assert _get(client, f"/visit-photos/{photo.id}")[0].status_code == 404


def test_an_import_staged_on_one_server_is_confirmed_on_another(on_s3, app, db):
    """The staged spreadsheet lives in the bucket: another app process (its own storage client) loads and claims it."""
    from lms import create_app
    from lms.imports import staging

    token = staging.stage(7, b"kode,nama\nEW-1,Warung\n", "impor.csv", None)
    assert set(on_s3("imports")) == {token, token + ".json"}
    other = create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"],
                        "INSTANCE_PATH": str(Path(app.instance_path).parent / "other-server"),
                        **{k: app.config[k] for k in ("STORAGE_URL", "S3_ENDPOINT_URL", "S3_REGION")}})
    with other.app_context():
        staged = staging.load(7, token)
        assert staged.data == b"kode,nama\nEW-1,Warung\n"
        staging.claim(staged)
    with pytest.raises(staging.Gone) as gone:  # the first server's second click
        staging.claim(staging.load(7, token))
    assert gone.value.state == staging.BUSY
    staging.finish(staged, {"counts": {}})
    assert set(on_s3("imports")) == {token + ".done"}


# --- flask storage migrate -------------------------------------------------------------------------

def _seed_local(app) -> dict[tuple[str, str], bytes]:  # type: ignore[no-untyped-def]
    from lms.files import CheckedUpload, store

    with transaction():
        pdf = store(CheckedUpload(tiny_pdf(), "application/pdf", "nib.pdf", clean=True), None)
        png = store(CheckedUpload(tiny_png(), "image/png", "rak.png"), None)
    local = storage()
    assert local.kind == "file"
    extra = {("certificates", "bimtek/2018/a.pdf"): b"%PDF-1.7 cert", ("imports", "tok.json"): b"{}",
             ("branding", "v1/logo.png"): tiny_png(), ("uploads", "exports/x.zip"): b"PK\x05\x06" + b"\x00" * 18}
    for (area, key), data in extra.items():
        local.put(area, key, data)
    return {("uploads", pdf.path): local.get("uploads", pdf.path), ("uploads", png.path): local.get("uploads", png.path),
            **extra}


def test_storage_migrate_copies_every_area_once_and_verifies(app, s3_server):
    from lms.files import read_stored
    from lms.programme.models import StoredFile
    from lms.extensions import db

    files = _seed_local(app)
    bucket = s3_server.bucket()
    app.config.update(S3_ENDPOINT_URL=s3_server.endpoint, S3_REGION="us-east-1")  # the app itself stays local
    runner = app.test_cli_runner()
    url = f"s3://{bucket}/lms"

    result = runner.invoke(args=["storage", "migrate", "--to", url])
    assert result.exit_code == 0, result.output
    assert "copied 6, already there 0, verified by sha256 6, failed 0" in result.output
    s3 = storage_for(url, app)
    assert {(a, k): s3.get(a, k) for a in AREAS for k in s3.keys(a)} == files

    result = runner.invoke(args=["storage", "migrate", "--to", url])  # again: nothing to do
    assert result.exit_code == 0 and "copied 0, already there 6, verified by sha256 0, failed 0" in result.output

    storage().put("branding", "v1/logo.png", b"changed")  # a file that changed since: copied again
    result = runner.invoke(args=["storage", "migrate", "--to", url])
    assert "copied 1, already there 5, verified by sha256 1, failed 0" in result.output
    assert s3.get("branding", "v1/logo.png") == b"changed"

    app.config["STORAGE_URL"] = url  # switched over: the app reads what was copied
    row = db.session.scalar(sa.select(StoredFile).where(StoredFile.content_type == "application/pdf"))
    assert read_stored(row) == tiny_pdf()
    result = runner.invoke(args=["storage", "migrate"])  # the configured store is the default destination
    assert "already there 6" in result.output


def test_storage_migrate_fails_loudly(app, s3_server):
    _seed_local(app)
    app.config.update(S3_ENDPOINT_URL=s3_server.endpoint, S3_REGION="us-east-1")
    runner = app.test_cli_runner()
    result = runner.invoke(args=["storage", "migrate", "--to", "s3://no-such-bucket/lms"])
    assert result.exit_code == 1
    assert "copied 0, already there 0, verified by sha256 0, failed 6" in result.output
    assert "NoSuchBucket" in result.output
    result = runner.invoke(args=["storage", "migrate"])  # nowhere to copy to
    assert result.exit_code == 2 and "--to s3://" in result.output
