"""Uploaded images: bounded decoding (refused by pixel count before any pixel is decoded) and no metadata kept.

Every stored image (licence scans, evidence attachments, report photos, visit photos) goes
through lms/files.py, so the checks here hold for all of them; PDFs are stored as sent.
"""
from __future__ import annotations

import io
import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image

from lms.errors import Invalid
from lms.files import CheckedUpload, check_upload, read_stored, store
from lms.programme.models import Evidence, StoredFile
from tests.factories import jpeg_with_gps, tiny_pdf
from tests.hostile_files import png_declaring

ROOT = Path(__file__).resolve().parent.parent
GPS, MAKE, ORIENTATION = 0x8825, 0x010F, 0x0112


def _enrolled(factory):  # type: ignore[no-untyped-def]
    trainee = factory.user("trainee", region="3171", phone="+6281234567001")
    factory.enrolment(trainee=trainee)
    return trainee


def _post_licence(client, outlet_id, scan: bytes, name: str):  # type: ignore[no-untyped-def]
    data = {"licence_type": "NIB", "number": "9120001234567", "issued_on": "2018-03-01", "issuing_office": "OSS",
            "scan": (io.BytesIO(scan), name)}
    return client.form_post(f"/outlets/{outlet_id}/evidence/licence/new", data, content_type="multipart/form-data")


def _stored(db) -> StoredFile:  # type: ignore[no-untyped-def]
    return db.session.scalars(sa.select(StoredFile).order_by(StoredFile.id.desc())).first()


def _jpeg(size=(40, 20), *, orientation: int | None = None, gps: bool = True, extras: bool = False) -> bytes:
    """A JPEG with EXIF (camera make, GPS, orientation) and, with ``extras``, a comment, XMP and an ICC profile."""
    from PIL import ImageCms

    img = Image.new("RGB", size, (20, 120, 200))
    img.paste((250, 250, 0), (0, 0, size[0] // 2, size[1]))  # left half yellow: shows which way is up
    exif = Image.Exif()
    exif[MAKE] = "KameraUji"
    if gps:
        exif[GPS] = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 12.0)}
    if orientation:
        exif[ORIENTATION] = orientation
    kw = {"exif": exif}
    if extras:
        kw.update(comment=b"Rumah Bu Siti, Jl. Kenari 5", xmp=b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>Lokasi</x:xmpmeta>",
                  icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    out = io.BytesIO()
    img.save(out, format="JPEG", quality=95, **kw)
    return out.getvalue()


# --- bounded decoding --------------------------------------------------------------------------------

def test_a_tiny_png_claiming_30000_by_30000_pixels_is_refused_by_its_size(app):
    bomb = png_declaring(30_000, 30_000, complete=False)
    assert len(bomb) < 200 * 1024
    with pytest.raises(Invalid) as e:
        check_upload(io.BytesIO(bomb), "scan.png")
    message = str(e.value)
    assert "900 megapiksel" in message and "maksimal 40 megapiksel" in message, message


def test_an_image_below_pillows_own_bomb_limit_is_refused_by_ours(app):
    bomb = png_declaring(8_000, 6_000)  # 48 Mpx: Pillow alone decodes it without a warning
    assert len(bomb) < 200 * 1024 and 8_000 * 6_000 < Image.MAX_IMAGE_PIXELS * 2
    with pytest.raises(Invalid, match="48 megapiksel"):
        check_upload(io.BytesIO(bomb), "scan.png")


def test_pixel_limit_is_configurable_and_pillow_agrees(app):
    app.config["UPLOAD_MAX_PIXELS"] = 2_000_000
    with pytest.raises(Invalid, match="maksimal 2 megapiksel"):
        check_upload(io.BytesIO(png_declaring(2_000, 1_001)), "a.png")
    assert check_upload(io.BytesIO(png_declaring(2_000, 1_000)), "a.png").content_type == "image/png"
    assert Image.MAX_IMAGE_PIXELS == 40_000_000  # set from the default configuration when the app starts


MEMORY_PROBE = textwrap.dedent("""
    import gc, io, json, re, sys, tempfile, tracemalloc
    sys.path.insert(0, {root!r})
    from lms import create_app
    from lms.errors import Invalid
    from lms.files import check_upload, reencode_image
    from tests.hostile_files import png_declaring

    app = create_app({{"TESTING": True, "DATABASE_URL": "sqlite://", "INSTANCE_PATH": tempfile.mkdtemp()}})
    bomb = png_declaring(9_000, 9_000)  # 81 Mpx RGB: 243 MB of pixels, under Pillow's own limit of 89 Mpx
    import PIL.Image, PIL.PngImagePlugin, PIL.JpegImagePlugin  # noqa: F401  (loaded before the baseline)
    def status_kb(key):
        with open("/proc/self/status") as f:
            return int(re.search(key + r":\\s+(\\d+)", f.read()).group(1))

    gc.collect()
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # Linux: the peak resident size (VmHWM) starts again from the current one
    rss_before_kb = status_kb("VmRSS")
    tracemalloc.start()
    with app.test_request_context():
        try:
            reencode_image(check_upload(io.BytesIO(bomb), "scan.png"))
            outcome = "stored"
        except Invalid as e:
            outcome = str(e)
    python_peak_kb = tracemalloc.get_traced_memory()[1] // 1024
    peak_kb = status_kb("VmHWM") - rss_before_kb  # native memory too (Pillow decodes outside Python's heap)
    print(json.dumps({{"outcome": outcome, "peak_kb": peak_kb, "python_peak_kb": python_peak_kb,
                      "size": len(bomb)}}))
""")


def test_refusing_a_huge_image_takes_little_memory(tmp_path):
    """Peak memory measured in a fresh process (its peak resident size, reset just before), so the test's own
    heap does not count."""
    script = tmp_path / "probe.py"
    script.write_text(MEMORY_PROBE.format(root=str(ROOT)))
    run = subprocess.run([sys.executable, "-W", "error", str(script)], capture_output=True, text=True, timeout=300,
                         cwd=str(ROOT))
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    print(f"81 Mpx PNG of {result['size']} bytes: {result['outcome']!r}, peak memory at most "
          f"+{result['peak_kb']} KB (Python heap +{result['python_peak_kb']} KB)")
    assert "81 megapiksel" in result["outcome"]
    assert result["peak_kb"] < 16 * 1024, result  # decoding it takes 324 MB (4 bytes a pixel) and more
    assert result["python_peak_kb"] < 4 * 1024, result


def test_the_form_says_the_image_is_too_large(client, factory, login_as, db):
    trainee = _enrolled(factory)
    login_as(trainee)
    r = _post_licence(client, trainee.managed_outlet.id, png_declaring(7_000, 7_000), "izin.png")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "Gambar terlalu besar: 49 megapiksel (maksimal 40 megapiksel)" in html
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


# --- no metadata in stored images ----------------------------------------------------------------------

def test_a_licence_scan_is_stored_without_exif_or_gps_and_still_opens(client, factory, login_as, db):
    trainee = _enrolled(factory)
    login_as(trainee)
    original = _jpeg(extras=True)
    with Image.open(io.BytesIO(original)) as img:  # the fixture really carries all of it
        assert img.getexif().get(GPS) and img.info.get("comment") and img.info.get("xmp") and img.info.get("icc_profile")
    r = _post_licence(client, trainee.managed_outlet.id, original, "izin.jpg")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    row = _stored(db)
    data = read_stored(row)
    assert row.content_type == "image/jpeg" and row.size == len(data)
    assert b"KameraUji" not in data and b"Kenari" not in data and b"xmpmeta" not in data
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        assert img.size == (40, 20)
        assert len(img.getexif()) == 0
        assert not {"exif", "comment", "xmp", "icc_profile"} & set(img.info), img.info.keys()


def test_orientation_is_applied_before_the_tag_is_dropped(app, db):
    upload = check_upload(io.BytesIO(_jpeg((40, 20), orientation=6)), "foto.jpg")  # 6: rotate 90° to view
    with Image.open(io.BytesIO(upload.data)) as img:
        assert img.size == (20, 40) and ORIENTATION not in img.getexif()
        rgb = img.convert("RGB")
        assert rgb.getpixel((10, 2))[2] < 100  # the yellow half is on top now
        assert rgb.getpixel((10, 37))[2] > 150


def test_png_text_chunks_and_exif_are_dropped(app):
    from PIL import PngImagePlugin

    img = Image.new("RGBA", (16, 16), (0, 200, 0, 128))
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "Rumah Bu Siti")
    exif = Image.Exif()
    exif[GPS] = {1: "S", 2: (6.0, 10.0, 30.0)}
    out = io.BytesIO()
    img.save(out, format="PNG", pnginfo=info, exif=exif)
    cleaned = check_upload(io.BytesIO(out.getvalue()), "a.png")
    assert b"Rumah" not in cleaned.data and b"eXIf" not in cleaned.data
    with Image.open(io.BytesIO(cleaned.data)) as back:
        assert back.mode == "RGBA" and back.getpixel((3, 3)) == (0, 200, 0, 128)


def test_pdfs_are_stored_exactly_as_sent(app, db):
    from lms.db import transaction

    pdf = tiny_pdf()
    with transaction():
        row = store(check_upload(io.BytesIO(pdf), "nib.pdf"), None)
    assert read_stored(row) == pdf


def test_store_cleans_an_image_that_did_not_come_through_check_upload(app, db):
    """Whatever a new form does with its file, what reaches the disk has no metadata."""
    from lms.db import transaction

    raw = CheckedUpload(jpeg_with_gps(), "image/jpeg", "buku-kas.jpg")
    with transaction():
        row = store(raw, None)
    data = read_stored(row)
    assert b"KameraUji" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert GPS not in img.getexif() and img.size == (32, 24)


def test_store_refuses_bytes_that_are_not_what_they_claim(app, db):
    from lms.db import transaction

    with pytest.raises(Invalid):
        with transaction():
            store(CheckedUpload(b"MZ\x90\x00" + b"\x00" * 64, "image/png", "x.png"), None)
    with pytest.raises(Invalid, match="megapiksel"):
        with transaction():
            store(CheckedUpload(png_declaring(9_000, 9_000, complete=False), "image/png", "x.png"), None)


def test_the_monthly_report_attachment_gets_the_same_checks(client, factory, login_as, db):
    trainee = _enrolled(factory)
    login_as(trainee)
    outlet_id = trainee.managed_outlet.id
    form = {"month": "2018-05", "turnover": "15000000", "cost_of_goods": "11000000", "operating_expenses": "1500000"}
    r = client.form_post(f"/outlets/{outlet_id}/evidence/report/new",
                         dict(form, attachment=(io.BytesIO(png_declaring(7_000, 7_000)), "kas.png")),
                         content_type="multipart/form-data")
    assert r.status_code == 422 and "Gambar terlalu besar" in r.get_data(as_text=True)
    r = client.form_post(f"/outlets/{outlet_id}/evidence/report/new",
                         dict(form, attachment=(io.BytesIO(_jpeg()), "kas.jpg")), content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:2000]
    data = read_stored(_stored(db))
    assert b"KameraUji" not in data
    with Image.open(io.BytesIO(data)) as img:
        assert len(img.getexif()) == 0
