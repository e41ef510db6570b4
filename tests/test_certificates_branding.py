"""Certificate branding as data: an admin sets a design's logos, signatories (with signature images) and
stamp, sees a sample certificate first, then saves a new version; certificates keep the version that was
newest when they were issued. Also: who organised a session ("diselenggarakan oleh"), and the partners a
completion certificate names from the curriculum.

PDFs are read back with pdftotext and pypdf (the images they embed)."""
from __future__ import annotations

import dataclasses
import io
import re
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from lms.audit.models import AuditEntry
from lms.certification import branding, services
from lms.certification.models import Certificate, CertificateBranding
from lms.errors import Invalid, NotFound
from lms.permissions import SYSTEM
from lms.storage import storage
from tests.hostile_files import png_declaring
from tests.test_certificates import download, pdf_text

PLACEHOLDERS = Path(__file__).resolve().parent.parent / "certificates" / "_placeholders"


def image(name: str) -> bytes:
    return (PLACEHOLDERS / name).read_bytes()


def png(size: tuple[int, int] = (120, 60), colour: tuple[int, int, int] = (30, 60, 140), **info: str) -> bytes:
    """A PNG, with text chunks when ``info`` is given (metadata that must not survive)."""
    from PIL import Image, PngImagePlugin

    meta = PngImagePlugin.PngInfo()
    for k, v in info.items():
        meta.add_text(k, v)
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format="PNG", pnginfo=meta)
    return out.getvalue()


def jpeg_with_exif(size: tuple[int, int] = (160, 80)) -> bytes:
    """A JPEG whose EXIF holds a GPS position and a camera make."""
    from PIL import Image

    img = Image.new("RGB", size, (20, 120, 200))
    exif = Image.Exif()
    exif[0x010F] = "KameraUji"
    exif[0x8825] = {1: "S", 2: (6.0, 10.0, 30.0), 3: "E", 4: (106.0, 49.0, 12.0)}
    out = io.BytesIO()
    img.save(out, format="JPEG", exif=exif, comment=b"komentar rahasia")
    return out.getvalue()


def form(**kw):  # type: ignore[no-untyped-def]
    """The edit form: two signatories (the first with a NIP), no images unless given."""
    data = {"signatories-0-name": "Drs. Hendra Wicaksono, M.Si.",
            "signatories-0-title": "Kepala Dinas Sosial Provinsi DKI Jakarta",
            "signatories-0-nip": "196805121994031004",
            "signatories-1-name": "Ratna Sari Dewi, S.E., M.M.", "signatories-1-title": "Ketua Pelaksana PGO OK OCE",
            "signatories-1-nip": "", "signatories-2-name": "", "signatories-2-title": "", "signatories-2-nip": ""}
    for key, value in kw.items():
        data[key.replace("__", "-")] = (io.BytesIO(value), kw.get("_name", "gambar.png")) if isinstance(value, bytes) else value
    data.pop("_name", None)
    return data


def full_images() -> dict[str, bytes]:
    return {"logo_left": image("logo-left.png"), "logo_right": image("logo-right.png"), "stamp": image("stamp.png"),
            "signatories__0__signature": image("signature-1.png"),
            "signatories__1__signature": image("signature-2.png")}


def stage_via_form(client, data, design: str = "bimtek"):  # type: ignore[no-untyped-def]
    resp = client.form_post(f"/admin/branding/{design}", data, content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    m = re.search(rf"/admin/branding/{design}/preview/([0-9a-f]{{8}}-[A-Za-z0-9_-]{{32}})$", resp.headers["Location"])
    assert m, resp.headers["Location"]
    return m.group(1)


def versions(db) -> list[CertificateBranding]:  # type: ignore[no-untyped-def]
    return list(db.session.scalars(sa.select(CertificateBranding).order_by(CertificateBranding.id)))


def pending_keys() -> list[str]:
    return sorted(k for k in storage().keys("branding") if k.startswith("pending/"))


def pdf_images(data: bytes) -> list:  # type: ignore[type-arg]
    import pypdf

    return [img for page in pypdf.PdfReader(io.BytesIO(data)).pages for img in page.images]


def save_version(actor, design_key: str = "bimtek", names=("Kepala Uji Satu",), images: bool = True):  # type: ignore[no-untyped-def]
    """A version made through the service: stage, then save."""
    design = branding.design_by_key(design_key)
    rows = [branding.SignatoryInput(name=n, title=f"Jabatan {n}",
                                    signature=branding.Upload(io.BytesIO(image(f"signature-{i}.png")), "ttd.png")
                                    if images else None) for i, n in enumerate(names, start=1)]
    data = branding.BrandingInput(signatories=rows, logo_left=branding.Upload(io.BytesIO(image("logo-left.png")))
                                  if images else None)
    token = branding.stage(actor, design, data)
    return branding.save(actor, design, token)


# --- the admin's pages: edit, preview, save ----------------------------------------------------------

def test_admin_previews_two_logos_two_signatures_and_a_stamp_then_saves_a_version(client, factory, login_as, db,
                                                                                  tmp_path):
    admin = login_as("admin")
    page = client.get("/admin/branding")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Sertifikat Bimbingan Teknis" in html and "Belum diatur" in html
    edit = client.get("/admin/branding/bimtek").get_data(as_text=True)
    # the design's own signatories are the starting point
    assert 'value="Drs. Hendra Wicaksono, M.Si."' in edit and 'enctype="multipart/form-data"' in edit

    token = stage_via_form(client, form(**full_images()))
    assert versions(db) == []  # nothing saved by the preview
    preview = client.get(f"/admin/branding/bimtek/preview/{token}")
    assert preview.status_code == 200
    html = preview.get_data(as_text=True)
    pdf_url = f"/admin/branding/bimtek/preview/{token}/pdf"
    assert f'<iframe class="branding-pdf" src="{pdf_url}"' in html and f'{pdf_url}?unduh=1' in html
    assert "Simpan" in html and f"/admin/branding/bimtek?ubah={token}" in html

    resp = client.get(pdf_url)
    assert resp.status_code == 200 and resp.mimetype == "application/pdf"
    assert resp.headers["X-Frame-Options"] == "SAMEORIGIN"
    assert resp.headers["Content-Security-Policy"] == "frame-ancestors 'self'"
    assert resp.headers["Content-Disposition"].startswith("inline")
    assert client.get(pdf_url + "?unduh=1").headers["Content-Disposition"].startswith("attachment")
    sample = resp.data
    text = pdf_text(sample)
    for words in ("Drs. Hendra Wicaksono, M.Si.", "NIP 196805121994031004", "Ratna Sari Dewi, S.E., M.M.",
                  "Ketua Pelaksana PGO OK OCE", "PRATINJAU"):
        assert words in text
    assert len(pdf_images(sample)) == 5  # two logos, two signatures, the stamp
    (tmp_path / "preview.pdf").write_bytes(sample)
    assert versions(db) == [] and db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry).where(
        AuditEntry.action == "certificate.branding_changed")) == 0

    resp = client.form_post(f"/admin/branding/bimtek/preview/{token}/save")
    assert resp.status_code == 302 and resp.headers["Location"] == "/admin/branding"
    [v] = versions(db)
    assert (v.design, v.created_by_id) == ("bimtek", admin.id)
    assert [(s["name"], s["nip"]) for s in v.signatories] == [("Drs. Hendra Wicaksono, M.Si.", "196805121994031004"),
                                                            ("Ratna Sari Dewi, S.E., M.M.", "")]
    keys = [v.logo_left_key, v.logo_right_key, v.stamp_key] + [s["signature_key"] for s in v.signatories]
    assert all(k and k.startswith("bimtek/") and not k.startswith("pending/") for k in keys)
    assert len(set(keys)) == 5 and all(storage().exists("branding", k) for k in keys)
    assert pending_keys() == []  # the staged edit is gone once saved
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "certificate.branding_changed"))
    assert entry.actor_id == admin.id and entry.target_type == "certificate_branding" and entry.target_id == str(v.id)
    assert entry.details["design"] == "bimtek" and entry.details["previous_version"] is None
    assert entry.details["images"] == ["logo_left", "logo_right", "signature_1", "signature_2", "stamp"]
    listing = client.get("/admin/branding").get_data(as_text=True)
    assert "Versi 1, disimpan" in listing and f"/admin/branding/bimtek/image/logo_left?v={v.id}" in listing
    img = client.get(f"/admin/branding/bimtek/image/logo_left?v={v.id}")
    assert img.status_code == 200 and img.mimetype == "image/png" and img.data.startswith(b"\x89PNG")
    assert "sandbox" in img.headers["Content-Security-Policy"]
    # the audit log names it
    log = client.get("/admin/audit").get_data(as_text=True)
    assert "Tampilan sertifikat diubah" in log
    # saving the same preview again does nothing
    again = client.form_post(f"/admin/branding/bimtek/preview/{token}/save")
    assert again.status_code == 302 and len(versions(db)) == 1


def test_the_preview_itself_saves_nothing_and_expires(client, factory, login_as, db):
    admin = login_as("admin")
    token = stage_via_form(client, form(logo_left=image("logo-left.png")))
    assert client.get(f"/admin/branding/bimtek/preview/{token}").status_code == 200
    assert versions(db) == []
    assert {k.rsplit("/", 1)[1] for k in pending_keys()} == {"manifest.json", "logo_left.png", "preview.pdf"}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Certificate)) == 0
    # once expired it is gone: not shown, not saved, and removed by the next staging
    later = time.time() + branding.PENDING_TTL + 60
    assert branding.remove_expired(now=later) == 3 and pending_keys() == []
    assert client.get(f"/admin/branding/bimtek/preview/{token}").status_code == 404
    with pytest.raises(NotFound):
        branding.save(admin, branding.design_by_key("bimtek"), token)
    assert versions(db) == []


def test_ubah_lagi_keeps_the_staged_images_and_texts(client, factory, login_as, db):
    login_as("admin")
    token = stage_via_form(client, form(logo_left=image("logo-left.png"), signatories__0__signature=image("signature-1.png")))
    page = client.get(f"/admin/branding/bimtek?ubah={token}").get_data(as_text=True)
    assert f'name="base" type="hidden" value="{token}"' in page or f'value="{token}"' in page
    assert f"/admin/branding/bimtek/image/logo_left?t={token}" in page
    # change only the second name; the images come along
    token2 = stage_via_form(client, form(base=token, signatories__1__name="Ratna S. Dewi"))
    client.form_post(f"/admin/branding/bimtek/preview/{token2}/save")
    [v] = versions(db)
    assert v.logo_left_key and v.signatories[0]["signature_key"] and v.signatories[1]["signature_key"] is None
    assert v.signatories[1]["name"] == "Ratna S. Dewi"
    assert storage().get("branding", v.logo_left_key) == branding.check_image(
        branding.Upload(io.BytesIO(image("logo-left.png"))), "x")[0]


def test_empty_fields_keep_the_current_images_and_remove_drops_one(client, factory, login_as, db):
    admin = login_as("admin")
    first = save_version(admin, names=("Kepala Uji Satu", "Kepala Uji Dua"))
    with_stamp = branding.stage(admin, branding.design_by_key("bimtek"), branding.BrandingInput(
        signatories=[branding.SignatoryInput("Kepala Uji Satu", "Jabatan Kepala Uji Satu"),
                     branding.SignatoryInput("Kepala Uji Dua", "Jabatan Kepala Uji Dua")],
        stamp=branding.Upload(io.BytesIO(image("stamp.png")))))
    second = branding.save(admin, branding.design_by_key("bimtek"), with_stamp)
    assert second.logo_left_key == first.logo_left_key and second.stamp_key
    assert [s["signature_key"] for s in second.signatories] == [s["signature_key"] for s in first.signatories]
    # through the form: the stamp removed, a new name for the first signatory, everything else kept
    token = stage_via_form(client, form(**{"signatories-0-name": "Kepala Uji Baru", "signatories-0-title": "Kepala",
                                           "signatories-0-nip": "", "signatories-1-name": "Kepala Uji Dua",
                                           "signatories-1-title": "Jabatan Kepala Uji Dua", "remove_stamp": "y"}))
    client.form_post(f"/admin/branding/bimtek/preview/{token}/save")
    third = versions(db)[-1]
    assert third.id not in (first.id, second.id)
    assert third.stamp_key is None and third.logo_left_key == first.logo_left_key
    assert third.signatories[0]["name"] == "Kepala Uji Baru"
    assert third.signatories[0]["signature_key"] == first.signatories[0]["signature_key"]
    # the earlier versions are untouched
    db.session.expire_all()
    assert db.session.get(CertificateBranding, second.id).stamp_key == second.stamp_key
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "certificate.branding_changed")
                               .order_by(AuditEntry.id.desc())).first()
    assert entry.details["previous_version"] == second.id


def test_signatory_rows_are_checked(client, factory, login_as, db):
    login_as("admin")
    resp = client.form_post("/admin/branding/bimtek", form(**{"signatories-0-nip": "1968051219940310",
                                                              "signatories-1-title": ""}),
                            content_type="multipart/form-data")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "NIP terdiri dari 18 angka" in html and "Tulis jabatan penanda tangan." in html
    none = {f"signatories-{i}-{f}": "" for i in range(3) for f in ("name", "title", "nip")}
    resp = client.form_post("/admin/branding/bimtek", none, content_type="multipart/form-data")
    assert resp.status_code == 422 and "Isi paling sedikit satu penanda tangan" in resp.get_data(as_text=True)
    # a NIP typed in its printed groups is kept as its 18 digits
    token = stage_via_form(client, form(**{"signatories-0-nip": "19680512 199403 1 004"}))
    client.form_post(f"/admin/branding/bimtek/preview/{token}/save")
    assert versions(db)[0].signatories[0]["nip"] == "196805121994031004"
    assert client.get("/admin/branding/nosuchdesign").status_code == 404
    assert versions(db) and pending_keys() == []


# --- hostile files -----------------------------------------------------------------------------------

def _refused(client, field: str, data: bytes, name: str = "logo.png") -> str:  # type: ignore[no-untyped-def]
    resp = client.form_post("/admin/branding/bimtek", form(**{field: data, "_name": name}),
                            content_type="multipart/form-data")
    assert resp.status_code == 422, resp.status_code
    return resp.get_data(as_text=True)


def test_hostile_files_are_refused_and_nothing_is_staged(client, factory, login_as, db, monkeypatch):
    from tests.factories import tiny_pdf

    monkeypatch.setattr(branding, "MAX_UPLOAD_BYTES", 64 * 1024)  # the limit's logic, with a small file
    login_as("admin")
    assert "Jenis berkas tidak diterima. Unggah gambar PNG atau JPG." in _refused(client, "logo_left", tiny_pdf())
    # a PDF named like an image is still a PDF
    assert "Jenis berkas tidak diterima" in _refused(client, "stamp", tiny_pdf(), "stempel.png")
    svg = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"><image href="file:///etc/passwd"/></svg>'
    assert "SVG tidak diterima" in _refused(client, "logo_right", svg, "logo.svg")
    # more pixels than allowed: refused from the header, before decoding (25 megapixels, a few KB)
    bomb = png_declaring(5000, 5000, complete=False)
    assert len(bomb) < 100_000
    assert "Gambar terlalu besar: 5000 × 5000 piksel" in _refused(client, "signatories__0__signature", bomb)
    # more bytes than allowed
    big = png() + b"\0" * (branding.MAX_UPLOAD_BYTES + 1)
    assert "Gambar terlalu besar (maksimal 64 KB)" in _refused(client, "logo_left", big)
    assert "Gambar rusak" in _refused(client, "logo_left", b"\x89PNG\r\n\x1a\n" + b"rusak" * 20)
    assert "terlalu kecil" in _refused(client, "logo_left", png((20, 20)))
    assert pending_keys() == [] and versions(db) == []


def test_metadata_is_stripped_and_the_content_decides_the_type(client, factory, login_as, db):
    login_as("admin")
    token = stage_via_form(client, form(logo_left=png((300, 120), Comment="rahasia", Author="Budi"),
                                        logo_right=jpeg_with_exif(), _name="logo.gif"))
    client.form_post(f"/admin/branding/bimtek/preview/{token}/save")
    [v] = versions(db)
    left = storage().get("branding", v.logo_left_key)
    right = storage().get("branding", v.logo_right_key)
    assert v.logo_left_key.endswith(".png") and v.logo_right_key.endswith(".jpg")  # by content, not by name
    assert left.startswith(b"\x89PNG") and b"tEXt" not in left and b"rahasia" not in left and b"Budi" not in left
    assert right.startswith(b"\xff\xd8") and b"Exif" not in right and b"KameraUji" not in right
    assert b"komentar rahasia" not in right
    from PIL import Image

    with Image.open(io.BytesIO(right)) as img:
        assert not img.getexif() and img.size == (160, 80)


def test_large_images_are_scaled_down(app, factory, db):
    admin = factory.user("admin")
    clean, kind = branding.check_image(branding.Upload(io.BytesIO(png((3000, 1500)))), "logo_left")
    from PIL import Image

    with Image.open(io.BytesIO(clean)) as img:
        assert kind == "image/png" and max(img.size) == branding.MAX_SIDE
    assert admin is not None


# --- who may --------------------------------------------------------------------------------------

@pytest.mark.parametrize("role", ["coordinator", "mentor", "trainee"])
def test_only_admins_reach_the_branding_pages(client, factory, login_as, role):
    admin = factory.user("admin")
    token = branding.stage(admin, branding.design_by_key("bimtek"), branding.BrandingInput(
        signatories=[branding.SignatoryInput("Kepala Uji", "Kepala")]))
    login_as(role, region=None if role == "coordinator" else "3171")
    for url in ("/admin/branding", "/admin/branding/bimtek", f"/admin/branding/bimtek/preview/{token}",
                f"/admin/branding/bimtek/preview/{token}/pdf", "/admin/branding/bimtek/image/logo_left?v=1"):
        assert client.get(url).status_code == 403, url
    assert client.form_post(f"/admin/branding/bimtek/preview/{token}/save").status_code == 403
    assert client.form_post("/admin/branding/bimtek", form(), content_type="multipart/form-data").status_code == 403
    with pytest.raises(Exception) as e:
        branding.stage(factory.user(role), branding.design_by_key("bimtek"), branding.BrandingInput())
    assert type(e.value).__name__ == "NotAllowed"


def test_another_admins_preview_is_404(client, factory, login_as, db):
    other = factory.user("admin")
    token = branding.stage(other, branding.design_by_key("bimtek"), branding.BrandingInput(
        signatories=[branding.SignatoryInput("Kepala Uji", "Kepala")],
        logo_left=branding.Upload(io.BytesIO(image("logo-left.png")))))
    login_as("admin")
    for url in (f"/admin/branding/bimtek/preview/{token}", f"/admin/branding/bimtek/preview/{token}/pdf",
                f"/admin/branding/bimtek/image/logo_left?t={token}", f"/admin/branding/completion/preview/{token}",
                "/admin/branding/bimtek/preview/not-a-token", "/admin/branding/bimtek/image/logo_left?v=999"):
        assert client.get(url).status_code == 404, url
    assert client.form_post(f"/admin/branding/bimtek/preview/{token}/save").status_code == 302
    assert versions(db) == []
    # "Ubah lagi" with someone else's token starts from the current branding instead
    page = client.get(f"/admin/branding/bimtek?ubah={token}").get_data(as_text=True)
    assert f'value="{token}"' not in page and f"t={token}" not in page


def test_the_list_page_costs_the_same_whatever_the_number_of_versions(client, factory, login_as, count_queries):
    admin = login_as("admin")
    save_version(admin, images=False)
    client.get("/admin/branding")
    with count_queries() as few:
        client.get("/admin/branding")
    for i in range(5):
        save_version(admin, "completion" if i % 2 else "bimtek", names=(f"Kepala {i}",), images=False)
    with count_queries() as many:
        html = client.get("/admin/branding").get_data(as_text=True)
    assert "Kepala 4" in html and "Kepala 3" in html
    # numbered per design (bimtek's 4th, completion's 2nd), not by the rows of all designs
    assert "Versi 4, disimpan" in html and "4 versi sejauh ini" in html
    assert "Versi 2, disimpan" in html and "2 versi sejauh ini" in html
    assert many.count == few.count, many.statements


# --- issued certificates keep their branding ------------------------------------------------------------

def test_a_certificate_keeps_the_branding_it_was_issued_with_even_when_rendered_later(client, factory, login_as, db):
    admin = factory.user("admin")
    old = save_version(admin, names=("Kepala Lama Sekali",))
    session = factory.session()
    holder = factory.attendee(session)
    before = factory.certificate(session=session, holder=holder)
    assert before.branding_id == old.id and before.pdf_path is None  # not rendered yet
    new = save_version(admin, names=("Kepala Baru Sekarang",), images=False)
    after = factory.certificate(session=session, holder=factory.attendee(session))
    assert after.branding_id == new.id
    login_as(holder)
    text = pdf_text(data := download(client, before))  # rendered now, after the change
    assert "Kepala Lama Sekali" in text and "Kepala Baru Sekarang" not in text
    assert len(pdf_images(data)) == 2  # the old version's logo and signature
    ctx = services.render_context(before)
    assert ctx["logo_left"].startswith("data:image/png;base64,") and ctx["logo_right"] is None
    assert ctx["signatories"][0]["signature"].startswith("data:image/png;base64,")
    new_ctx = services.render_context(after)
    assert [s["name"] for s in new_ctx["signatories"]] == ["Kepala Baru Sekarang"]
    assert new_ctx["logo_left"] == ctx["logo_left"]  # no new logo uploaded: the current one is kept
    # once stored, the PDF is the one issued, whatever happens to the branding afterwards
    save_version(admin, names=("Kepala Ketiga",))
    assert download(client, before) == data


def test_a_certificate_without_a_version_prints_the_designs_signatories_and_no_image(client, factory, login_as):
    cert = factory.certificate()
    assert cert.branding_id is None
    ctx = services.render_context(cert)
    design = services.design_for("bimtek")
    assert [s["name"] for s in ctx["signatories"]] == [s.name for s in design.signatories]
    assert (ctx["logo_left"], ctx["logo_right"], ctx["stamp"]) == (None, None, None)


def test_a_missing_branding_image_fails_the_render_instead_of_printing_without_it(client, factory, login_as, db):
    admin = factory.user("admin")
    v = save_version(admin)
    cert = factory.certificate()
    storage().delete("branding", v.logo_left_key)
    with pytest.raises(branding.BrandingImageMissing):
        services.render_context(cert)
    login_as(db.session.get(type(cert.holder), cert.holder_id))
    resp = client.get(f"/certificates/{cert.id}/pdf")
    assert resp.status_code == 404
    db.session.refresh(cert)
    assert cert.pdf_path is None
    # the verify page shows only the dates: it needs no image
    assert client.get(f"/verify/{cert.verification_code}").status_code == 200


def test_the_demo_seed_makes_a_first_version_from_the_placeholders(app, db):
    assert branding.seed_branding() == 2
    assert branding.seed_branding() == 0  # idempotent
    rows = versions(db)
    assert sorted(r.design for r in rows) == ["bimtek", "completion"]
    for r in rows:
        assert r.logo_left_key and r.logo_right_key and r.stamp_key and r.created_by_id is None
        assert all(s["signature_key"] for s in r.signatories)


# --- "diselenggarakan oleh" ---------------------------------------------------------------------------

def _speakers(session, db, rows) -> None:  # type: ignore[no-untyped-def]
    from lms.db import transaction
    from lms.sessions.models import SessionSpeaker, SpeakerAgency

    with transaction():
        for i, (name, agency, other) in enumerate(rows):
            db.session.add(SessionSpeaker(session_id=session.id, name=name, name_key=name.lower(),
                                          agency=SpeakerAgency(agency), agency_other=other, position=i))


def test_organisers_default_to_the_speakers_agencies_and_print_on_the_pdf(client, factory, login_as, db):
    from lms.sessions.organisers import organisers_of

    session = factory.session(title="Bimtek Penyelenggara Uji")
    _speakers(session, db, [("Narasumber Satu", "bni", ""), ("Narasumber Dua", "other", "PTSP Jakarta Pusat"),
                            ("Narasumber Tiga", "bni", ""), ("Narasumber Empat", "dinas_sosial", "")])
    db.session.refresh(session)
    assert organisers_of(session) == ["BNI", "PTSP Jakarta Pusat", "Dinas Sosial Provinsi DKI Jakarta"]
    holder = factory.attendee(session)
    cert = factory.certificate(session=session, holder=holder)
    assert cert.details["organisers"] == ["BNI", "PTSP Jakarta Pusat", "Dinas Sosial Provinsi DKI Jakarta"]
    login_as(holder)
    text = " ".join(pdf_text(download(client, cert)).split())
    assert "diselenggarakan oleh BNI, PTSP Jakarta Pusat, dan Dinas Sosial Provinsi DKI Jakarta" in text
    # the design's fixed hosts are not printed (PGO OK OCE only in the second signatory's title)
    assert "Bank Indonesia" not in text and text.count("PGO OK OCE") == 1


def test_the_session_form_sets_organisers_and_issued_certificates_keep_theirs(client, factory, login_as, db):
    from tests.test_sessions import form_data

    login_as("coordinator", region="3171")
    session = factory.session(title="Bimtek Mitra")
    _speakers(session, db, [("Narasumber Satu", "bni", "")])
    early = factory.certificate(session=session)
    assert early.details["organisers"] == ["BNI"]
    cohort = session.cohort
    day = session.starts_at.date()
    data = form_data(cohort, factory.region("3171"), day, title="Bimtek Mitra", capacity="300",
                     starts_at="2018-04-10T08:00", ends_at="2018-04-10T15:00",
                     organisers=["Dinas Sosial Provinsi DKI Jakarta", "Bank Indonesia"],
                     organisers_other="Bank DKI; PTSP Jakarta Pusat, bank dki")
    resp = client.form_post(f"/sessions/{session.id}/edit", data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    db.session.refresh(session)
    assert session.organisers == ["Dinas Sosial Provinsi DKI Jakarta", "Bank Indonesia", "Bank DKI",
                                  "PTSP Jakarta Pusat"]
    edit = client.get(f"/sessions/{session.id}/edit").get_data(as_text=True)
    assert 'value="Bank DKI, PTSP Jakarta Pusat"' in edit
    assert re.search(r'<input checked[^>]*value="Bank Indonesia"|value="Bank Indonesia"[^>]*checked', edit)
    later = factory.certificate(session=session)
    assert later.details["organisers"] == session.organisers
    db.session.refresh(early)
    assert early.details["organisers"] == ["BNI"]  # issued before: unchanged
    # nothing chosen: back to the speakers' agencies
    data.update(organisers=[], organisers_other="")
    assert client.form_post(f"/sessions/{session.id}/edit", data).status_code == 302
    db.session.refresh(session)
    assert session.organisers is None
    entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "session.updated")
                               .order_by(AuditEntry.id.desc())).first()
    assert "organisers" in entry.details["changes"]
    # too many organisers is a message on the form
    data.update(organisers_other=", ".join(f"Instansi {i}" for i in range(12)))
    resp = client.form_post(f"/sessions/{session.id}/edit", data)
    assert resp.status_code == 422 and "Paling banyak 8 penyelenggara." in resp.get_data(as_text=True)


def test_a_completion_certificate_names_the_curriculum_partners(client, factory, login_as, app, db):
    curricula = app.extensions["lms.curricula"]
    key = next(iter(curricula))
    curricula[key] = dataclasses.replace(curricula[key], partners=("Dinas Sosial Provinsi DKI Jakarta",
                                                                   "Bank DKI Uji Mitra"))
    enrolment = factory.completed_enrolment()
    design = services.design_for("completion")
    cert = services.issue_for_enrolment(SYSTEM, design, enrolment).certificate
    assert cert.details["partners"] == ["Dinas Sosial Provinsi DKI Jakarta", "Bank DKI Uji Mitra"]
    login_as(enrolment.user)
    text = " ".join(pdf_text(download(client, cert)).split())
    assert "diselenggarakan oleh Dinas Sosial Provinsi DKI Jakarta dan Bank DKI Uji Mitra" in text
    assert "Bank Indonesia" not in text and text.count("PGO OK OCE") == 1  # only in a signatory's title


def test_curriculum_partners_are_validated():
    from lms.programme.curriculum import CurriculumError, load_file, parse, read_yaml

    path = Path(__file__).resolve().parent.parent / "curricula" / "okoce-7pas.yaml"
    assert load_file(path).partners == ("Dinas Sosial Provinsi DKI Jakarta", "Bank Indonesia", "BNI", "PGO OK OCE")
    data = read_yaml(path)
    for bad in ("Dinas Sosial", ["BNI", ""], ["BNI", "bni"], [f"Mitra {i}" for i in range(11)], [{"name": "BNI"}]):
        with pytest.raises(CurriculumError, match="partners"):
            parse(dict(data, partners=bad), "uji.yaml")
    without = dict(data)
    without.pop("partners")
    assert parse(without, "uji.yaml").partners == ()



# --- in a browser, on a phone ----------------------------------------------------------------------------

@pytest.mark.browser
def test_admin_sets_the_branding_in_a_browser_on_a_phone(app, phone_page, live_server, factory, db, tmp_path):
    from tests.browser_helpers import see, sign_in

    admin = factory.user("admin")
    page = phone_page
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    files = {}
    for name in ("logo-left.png", "logo-right.png", "signature-1.png", "signature-2.png", "stamp.png"):
        files[name] = tmp_path / name
        files[name].write_bytes(image(name))
    sign_in(page, admin.email)
    page.goto("/admin/branding")
    page.get_by_role("link", name="Ubah tampilan Sertifikat Bimbingan Teknis").click()
    page.get_by_label("Logo kiri").set_input_files(str(files["logo-left.png"]))
    page.get_by_label("Logo kanan").set_input_files(str(files["logo-right.png"]))
    page.get_by_label("Stempel (opsional)").set_input_files(str(files["stamp.png"]))
    signatures = page.get_by_label("Gambar tanda tangan")
    signatures.nth(0).set_input_files(str(files["signature-1.png"]))
    signatures.nth(1).set_input_files(str(files["signature-2.png"]))
    page.get_by_role("button", name="Pratinjau").click()
    page.wait_for_url("**/preview/*")
    see(page, "Pratinjau: Sertifikat Bimbingan Teknis")
    frame = page.locator("iframe.branding-pdf")
    assert frame.count() == 1 and frame.get_attribute("src").endswith("/pdf")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # nothing wider than the phone
    page.screenshot(path=str(tmp_path / "preview-phone.png"), full_page=True)
    assert versions(db) == []
    page.get_by_role("button", name="Simpan").click()
    page.wait_for_url("**/admin/branding")
    see(page, "disimpan sebagai versi")
    assert page.locator("img[src*='/image/logo_left?v=']").evaluate("img => img.naturalWidth") > 0
    db.session.rollback()  # (the live server wrote it on its own connection)
    assert len(versions(db)) == 1
    assert not [e for e in errors if "Content Security Policy" in e or "Refused" in e], errors
