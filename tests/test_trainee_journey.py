"""The trainee on a phone (issue 11): the tracker leads to the next action, returned submissions
cannot be missed, the monthly report and file forms forgive mistakes, the mentor is one tap away,
the trainee marks their own action items, and figures have ranges that stored data cannot break."""
from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from lms.db import transaction, utcnow
from lms.errors import Invalid
from lms.files import PDF, CheckedUpload
from lms.i18n import to_wib
from lms.programme import guide, services
from lms.programme.models import Evidence, EvidenceStatus, FinancialReport, Financing, Licence, MarketingStep
from lms.visits.models import ActionItem
from tests.factories import tiny_pdf, tiny_png


def _today():
    return to_wib(utcnow()).date()


def _enrolled(factory, **kw):
    trainee = factory.user("trainee", region="3171", phone="+6281234567001", **kw)
    return trainee, factory.enrolment(trainee=trainee)


def _steps(html: str) -> dict[str, str]:
    """The tracker's steps by status ("done", "current", "locked": the HTML of each, joined)."""
    out: dict[str, str] = {"done": "", "current": "", "locked": ""}
    body = html.split('<ol class="tracker">', 1)[1].split("</ol>\n", 1)[0]
    for part in re.split(r'(?=<li class="step step-)', body)[1:]:
        status = re.match(r'<li class="step step-(\w+)"', part).group(1)  # type: ignore[union-attr]
        out[status] += part
    return out


def _primary_buttons(html: str) -> list[tuple[str, str]]:
    """(href, text) of every primary button in ``html``."""
    return [(m.group(1), re.sub(r"<[^>]+>", "", m.group(2)).strip())
            for m in re.finditer(r'<a class="btn btn-primary" href="([^"]*)">(.*?)</a>', html, re.S)]


def _licence(trainee, number="9120001234567"):
    return services.save_licence(trainee, trainee.managed_outlet, services.LicenceInput(
        "NIB", number, date(2018, 3, 1), "OSS"), CheckedUpload(tiny_pdf(), PDF, "nib.pdf"))


def _at_perizinan(factory):
    trainee, e = _enrolled(factory)
    factory.attended(e)
    factory.visited(e, times=3)
    return trainee, e


# --- 1. the tracker leads -----------------------------------------------------------------------

def test_current_step_has_the_one_primary_action_and_locked_steps_none(client, factory, login_as):
    trainee, e = _enrolled(factory)
    factory.training_session(cohort=e.cohort, title="Bimtek Pelatihan Gambir")
    login_as(trainee)
    html = client.get("/progress").get_data(as_text=True)
    steps = _steps(html)
    assert "Pelatihan" in steps["current"]
    assert _primary_buttons(steps["current"]) == [("/sessions?stage=pelatihan", "Daftar Bimtek")]
    assert _primary_buttons(steps["locked"]) == [] and _primary_buttons(steps["done"]) == []
    assert 'class="btn' not in steps["locked"]  # no buttons at all on steps not reached yet
    assert len(_primary_buttons(html)) == 1
    home = client.get("/home").get_data(as_text=True)
    assert "Yang perlu Anda lakukan:</strong> Daftar ke jadwal Bimtek Pelatihan yang terbuka untuk Anda" in home
    assert ("/sessions?stage=pelatihan", "Daftar Bimtek") in _primary_buttons(home)


def test_without_open_sessions_the_step_says_so_and_a_registration_says_attend(client, factory, login_as):
    trainee, e = _enrolled(factory)
    login_as(trainee)
    assert "Belum ada jadwal Bimtek Pelatihan yang terbuka" in client.get("/home").get_data(as_text=True)
    s = factory.training_session(cohort=e.cohort, title="Bimtek Pelatihan Menteng")
    factory.seat(s, trainee)
    html = client.get("/progress").get_data(as_text=True)
    assert "Hadiri Bimtek Pelatihan Menteng pada" in _steps(html)["current"]
    assert _primary_buttons(_steps(html)["current"]) == [(f"/sessions/{s.id}", "Lihat sesi saya")]


@pytest.mark.parametrize("setup,label,href", [
    ("perizinan", "Catat izin usaha", "/evidence/licence/new"),
    ("pemasaran", "Catat langkah pemasaran", "/evidence/marketing/new"),
    ("pelaporan", "Kirim laporan", "/evidence/report/new"),
])
def test_each_evidence_step_leads_to_its_form(client, factory, login_as, setup, label, href):
    trainee, e = _at_perizinan(factory)
    coord = factory.user("coordinator", region="3171")
    if setup in ("pemasaran", "pelaporan"):
        services.review(coord, _licence(trainee), "verify")
    if setup == "pelaporan":
        mk = services.save_marketing(trainee, trainee.managed_outlet, services.MarketingInput(
            "online_shop", "Toko online sembako di marketplace", "https://toko.example/a"), None)
        services.review(coord, mk, "verify")
    login_as(trainee)
    buttons = _primary_buttons(_steps(client.get("/progress").get_data(as_text=True))["current"])
    assert len(buttons) == 1 and buttons[0][1].startswith(label) and buttons[0][0].endswith(href), buttons
    assert buttons[0] in _primary_buttons(client.get("/home").get_data(as_text=True))


def test_submitted_evidence_waits_without_a_button(client, factory, login_as):
    trainee, e = _at_perizinan(factory)
    _licence(trainee)
    login_as(trainee)
    current = _steps(client.get("/progress").get_data(as_text=True))["current"]
    assert "Menunggu verifikasi" in current and "Izin usaha Anda sedang menunggu verifikasi" in current
    assert _primary_buttons(current) == []


def test_reports_up_to_last_month_wait_for_the_reviewer_without_a_button(client, factory, login_as):
    trainee, e = _at_perizinan(factory)
    coord = factory.user("coordinator", region="3171")
    services.review(coord, _licence(trainee), "verify")
    mk = services.save_marketing(trainee, trainee.managed_outlet, services.MarketingInput(
        "online_shop", "Toko online sembako di marketplace", "https://toko.example/a"), None)
    services.review(coord, mk, "verify")
    this = _today().replace(day=1)
    for back in (3, 2, 1):
        rep = services.save_report(trainee, trainee.managed_outlet, services.ReportInput(_month(this, -back), 1, 1, 1))
        if back > 1:
            services.review(coord, rep, "verify")
    login_as(trainee)
    current = _steps(client.get("/progress").get_data(as_text=True))["current"]
    assert "Pelaporan keuangan" in current
    assert f"Laporan {guide.month_label(_month(this, -1))} menunggu verifikasi" in current
    assert _primary_buttons(current) == []
    assert f'href="/outlets/{trainee.managed_outlet.id}/evidence/report/new"' in current  # still possible, not pushed


def test_milestone_counts_never_exceed_their_threshold(client, factory, login_as):
    trainee, e = _enrolled(factory)
    factory.attended(e)
    factory.attended(e)  # two Bimtek sessions for a threshold of one
    factory.visited(e, times=5)  # five visits for a threshold of three
    login_as(trainee)
    html = client.get("/progress").get_data(as_text=True)
    assert "(2/1)" not in html and "(5/3)" not in html
    assert "(1/1)" in html and "(3/3)" in html


# --- 2. a returned submission cannot be missed ----------------------------------------------------

def test_returned_submission_on_home_and_step_with_comment_and_fix_link(client, factory, login_as):
    trainee, e = _at_perizinan(factory)
    ev = _licence(trainee)
    mentor = factory.user("mentor", region="3171", full_name="Pak Budi Pendamping")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    services.review(mentor, ev, "return", "Pindaian buram, foto ulang halaman pertama")
    login_as(trainee)
    home = client.get("/home").get_data(as_text=True)
    # the next step is the fix: the first card says so, with the comment beside the one primary action
    card = home.split('class="card next-card next-fix"', 1)[1].split("</section>", 1)[0]
    assert "Izin usaha dikembalikan oleh peninjau: perbaiki lalu kirim ulang" in card
    assert "Pindaian buram, foto ulang halaman pertama" in card
    assert _primary_buttons(card) == [(f"/evidence/{ev.id}/edit", "Perbaiki")]
    assert 'class="card returned-box"' not in home  # not listed twice
    current = _steps(client.get("/progress").get_data(as_text=True))["current"]
    assert "Pindaian buram" in current and _primary_buttons(current) == [(f"/evidence/{ev.id}/edit", "Perbaiki")]
    form = client.get(f"/evidence/{ev.id}/edit").get_data(as_text=True)
    assert "Pindaian buram" in form


def test_returned_report_shows_on_the_reporting_step_even_before_it_is_reached(client, factory, login_as):
    trainee, e = _enrolled(factory)
    rep = services.save_report(trainee, trainee.managed_outlet, services.ReportInput(date(2018, 5, 1), 1_000_000, 1, 1))
    services.review(factory.user("coordinator", region="3171"), rep, "return", "Omzet tidak sesuai buku kas")
    login_as(trainee)
    steps = _steps(client.get("/progress").get_data(as_text=True))
    assert "Omzet tidak sesuai buku kas" in steps["locked"]
    assert f'href="/evidence/{rep.id}/edit"' in steps["locked"]
    progress = client.get("/progress").get_data(as_text=True)
    assert "Omzet tidak sesuai buku kas" in progress.split('class="card returned-box"', 1)[1].split("</section>", 1)[0]
    home = client.get("/home").get_data(as_text=True)
    box = home.split('class="card returned-box"', 1)[1].split("</section>", 1)[0]
    assert "Omzet tidak sesuai buku kas" in box and f'href="/evidence/{rep.id}/edit"' in box
    assert "1 bukti dikembalikan untuk diperbaiki" in box


# --- 3. the monthly report -----------------------------------------------------------------------

def _month(d: date, n: int) -> date:
    k = d.year * 12 + d.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)


def test_report_month_defaults_to_the_month_after_the_last_report(app, factory):
    trainee, e = _enrolled(factory)
    outlet = trainee.managed_outlet
    this = _today().replace(day=1)
    assert services.default_report_month(outlet.id) == _month(this, -1)  # nothing yet: last month
    for back in (5, 4):
        services.save_report(trainee, outlet, services.ReportInput(_month(this, -back), 1, 1, 1))
    assert services.default_report_month(outlet.id) == _month(this, -3)
    services.save_report(trainee, outlet, services.ReportInput(this, 1, 1, 1))
    assert services.default_report_month(outlet.id) == _month(this, -1)  # the latest gap
    # a month far outside the range, stored by an old import, is ignored
    with transaction():
        app.extensions["sqlalchemy"].session.execute(sa.update(FinancialReport).where(
            FinancialReport.month == this).values(month=date(9999, 12, 1)))
    assert services.default_report_month(outlet.id) == _month(this, -3)


def test_report_form_opens_on_the_default_month(client, factory, login_as):
    trainee, e = _enrolled(factory)
    login_as(trainee)
    html = client.get(f"/outlets/{trainee.managed_outlet.id}/evidence/report/new").get_data(as_text=True)
    expected = _month(_today().replace(day=1), -1).strftime("%Y-%m")
    assert re.search(rf'<input[^>]*id="month"[^>]*value="{expected}"', html), html[:200]


def test_report_attachment_is_checked_stored_and_seen_by_the_reviewer(client, factory, login_as, db):
    trainee, e = _enrolled(factory)
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    login_as(trainee)
    url = f"/outlets/{trainee.managed_outlet.id}/evidence/report/new"
    data = {"month": "2018-05", "turnover": "15.000.000", "cost_of_goods": "11.000.000", "operating_expenses": "1.500.000"}
    r = client.form_post(url, {**data, "attachment": (io.BytesIO(b"not an image at all"), "kas.jpg")},
                         content_type="multipart/form-data")
    assert r.status_code == 422 and "Jenis berkas tidak diterima" in r.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0
    r = client.form_post(url, {**data, "attachment": (io.BytesIO(tiny_png()), "buku-kas.png")},
                         content_type="multipart/form-data")
    assert r.status_code == 302, r.get_data(as_text=True)[:500]
    rep = db.session.scalar(sa.select(FinancialReport))
    assert rep.file is not None and rep.file.content_type == "image/png"
    client.form_post("/logout")
    login_as(mentor)
    page = client.get(f"/evidence/{rep.id}").get_data(as_text=True)
    assert f"/evidence/{rep.id}/file" in page
    with client.get(f"/evidence/{rep.id}/file") as f:
        assert f.status_code == 200 and f.mimetype == "image/png"


def test_a_report_for_a_month_already_reported_links_to_it(client, factory, login_as):
    trainee, e = _enrolled(factory)
    rep = services.save_report(trainee, trainee.managed_outlet, services.ReportInput(date(2018, 5, 1), 1, 1, 1))
    login_as(trainee)
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/report/new",
                         {"month": "2018-05", "turnover": "1", "cost_of_goods": "1", "operating_expenses": "1"})
    body = r.get_data(as_text=True)
    assert r.status_code == 422 and "Laporan untuk bulan ini sudah ada" in body
    assert f'href="/evidence/{rep.id}"' in body and f'href="/evidence/{rep.id}/edit"' in body


# --- 4. forms with a file --------------------------------------------------------------------------

def test_after_an_error_the_form_asks_for_the_file_again_and_lists_every_problem(client, factory, login_as, db):
    trainee, e = _enrolled(factory)
    login_as(trainee)
    tomorrow = (_today() + timedelta(days=1)).isoformat()
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/licence/new", {
        "licence_type": "NIB", "number": "12345", "issued_on": tomorrow, "issuing_office": "",
        "scan": (io.BytesIO(tiny_pdf()), "nib.pdf")}, content_type="multipart/form-data")
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    summary = body.split('id="ringkasan-kesalahan"', 1)[1].split("</div>", 1)[0]
    for message in ("NIB terdiri dari tepat 13 angka", "Tanggal terbit tidak boleh di masa depan",
                    "Instansi penerbit wajib diisi", "pilih berkasnya lagi"):
        assert message in summary, message
    assert "Ada 3 isian yang perlu diperbaiki" in summary
    assert 'id="scan-again"' in body
    # a bad file is reported together with the other problems, not instead of them
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/licence/new", {
        "licence_type": "NIB", "number": "12345", "issued_on": "2018-03-01", "issuing_office": "OSS",
        "scan": (io.BytesIO(b"MZ\x90\x00 not a pdf"), "nib.pdf")}, content_type="multipart/form-data")
    body = r.get_data(as_text=True)
    assert "NIB terdiri dari tepat 13 angka" in body and "Jenis berkas tidak diterima" in body
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_no_file_chosen_means_no_choose_again_notice(client, factory, login_as):
    trainee, e = _enrolled(factory)
    login_as(trainee)
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/marketing/new",
                         {"kind": "online_shop", "description": "pendek"})
    assert r.status_code == 422 and "pilih berkasnya lagi" not in r.get_data(as_text=True)


@pytest.mark.parametrize("typed,stored", [
    ("tokopedia.com/ewarong", "https://tokopedia.com/ewarong"),
    ("  www.shopee.co.id/ewarong-melati ", "https://www.shopee.co.id/ewarong-melati"),
    ("http://toko.example/a", "http://toko.example/a"),
    ("https://toko.example/a?b=c", "https://toko.example/a?b=c"),
])
def test_a_link_without_https_is_completed(client, factory, login_as, db, typed, stored):
    trainee, e = _enrolled(factory)
    login_as(trainee)
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/marketing/new",
                         {"kind": "online_shop", "description": "Toko online sembako di marketplace", "link": typed})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    assert db.session.scalar(sa.select(MarketingStep.link)) == stored


@pytest.mark.parametrize("typed", ["javascript:alert(1)", "ewarong", "toko online saya", "mailto:a@b.co",
                                   "ftp://toko.example/a"])
def test_links_that_are_not_web_addresses_are_refused(app, typed):
    with pytest.raises(ValueError):
        services.complete_link(typed)


# --- 5. the mentor one tap away, and my own action items ------------------------------------------

def test_home_shows_the_mentor_with_call_and_whatsapp_links(client, factory, login_as):
    trainee, e = _enrolled(factory)
    mentor = factory.user("mentor", region="3171", full_name="Pak Budi Pendamping", phone="+6281311112222")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    login_as(trainee)
    home = client.get("/home").get_data(as_text=True)
    card = home.split('class="card mentor-card"', 1)[1].split("</section>", 1)[0]
    assert "Pak Budi Pendamping" in card
    assert 'href="tel:+6281311112222"' in card and 'href="https://wa.me/6281311112222"' in card


def test_the_manager_marks_the_action_items_assigned_to_them(client, factory, login_as, db):
    trainee, e = _enrolled(factory, full_name="Siti Rahmawati")
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    due = _today() + timedelta(days=3)
    visit = factory.visit(mentor, trainee.managed_outlet, actions=(
        ("Isi buku kas harian", "Pengelola", due), ("Daftar toko online", "Ibu Siti Rahmawati", due),
        ("Pasang papan nama", "Ketua KUBE", due)))
    mine, named, chair = visit.action_items
    login_as(trainee)
    home = client.get("/home").get_data(as_text=True)
    assert "Isi buku kas harian" in home and "Daftar toko online" in home and "Pasang papan nama" not in home
    r = client.form_post(f"/action-items/{mine.id}/done", {"done": "1", "next": "/home"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/home")
    assert client.form_post(f"/action-items/{named.id}/done", {"done": "1"}).status_code == 302
    assert client.form_post(f"/action-items/{chair.id}/done", {"done": "1"}).status_code == 403
    db.session.expire_all()
    assert db.session.get(ActionItem, mine.id).done_at is not None
    assert db.session.get(ActionItem, named.id).done_at is not None
    assert db.session.get(ActionItem, chair.id).done_at is None
    # the visit page offers the button only on the manager's own items
    page = client.get(f"/visits/{visit.id}").get_data(as_text=True)
    assert page.count('action="/action-items/') == 2
    assert f'action="/action-items/{chair.id}/done"' not in page


def test_another_manager_cannot_mark_items_of_an_outlet_not_theirs(client, factory, login_as, db):
    from lms.errors import NotAllowed
    from lms.visits import services as visits

    trainee, e = _enrolled(factory)
    other, _ = _enrolled(factory)
    mentor = factory.user("mentor", region="3171")
    visit = factory.visit(mentor, trainee.managed_outlet, actions=(("Isi buku kas", "Pengelola", _today()),))
    with pytest.raises(NotAllowed):
        visits.set_action_done(other, visit.action_items[0])
    login_as(other)
    assert client.form_post(f"/action-items/{visit.action_items[0].id}/done", {"done": "1"}).status_code == 404


@pytest.mark.parametrize("owner,mine", [("Pengelola", True), ("pengelola e-Warong", True), ("PENGELOLA.", True),
                                        ("Ibu Siti Rahmawati", True), ("Bu siti  rahmawati", True),
                                        ("Siti", False), ("Ketua KUBE", False), ("pendamping", False), ("", False)])
def test_which_items_are_the_managers(app, owner, mine):
    from types import SimpleNamespace

    from lms.visits.services import is_manager_task

    assert is_manager_task(owner, SimpleNamespace(full_name="Siti Rahmawati")) is mine


# --- 6. ranges ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind,data,field,message", [
    ("report", {"turnover": "100.000.000.001"}, "turnover", "Rp 100.000.000.000"),
    ("report", {"operating_expenses": "9" * 30}, "operating_expenses", "Rp 100.000.000.000"),
    ("report", {"month": "1999-12"}, "month", "1 Jan 2000"),
    ("report", {"month": "0001-01"}, "month", "1 Jan 2000"),
    ("licence", {"issued_on": "1999-12-31"}, "issued_on", "1 Jan 2000"),
    ("licence", {"issued_on": "9999-12-31"}, "issued_on", "masa depan"),
    ("financing", {"amount_requested": "1" + "0" * 15}, "amount_requested", "Rp 100.000.000.000"),
    ("financing", {"amount_approved": "200.000.000.000", "application_status": "approved",
                   "decided_on": "2018-07-01"}, "amount_approved", "Rp 100.000.000.000"),
    ("financing", {"applied_on": "1970-01-01"}, "applied_on", "1 Jan 2000"),
])
def test_form_ranges(client, factory, login_as, db, kind, data, field, message):
    trainee, e = _enrolled(factory)
    login_as(trainee)
    base = {"report": {"month": "2018-05", "turnover": "1.000", "cost_of_goods": "1", "operating_expenses": "1"},
            "licence": {"licence_type": "NIB", "number": "9120001234567", "issued_on": "2018-03-01",
                        "issuing_office": "OSS", "scan": (io.BytesIO(tiny_pdf()), "nib.pdf")},
            "financing": {"lender": "bank_dki", "product": "KUR", "amount_requested": "10.000.000",
                          "application_status": "submitted", "applied_on": "2018-06-01"}}[kind]
    r = client.form_post(f"/outlets/{trainee.managed_outlet.id}/evidence/{kind}/new", {**base, **data},
                         content_type="multipart/form-data")
    body = r.get_data(as_text=True)
    assert r.status_code == 422
    errors = re.search(rf'<ul class="errors" id="{field}-err">(.*?)</ul>', body, re.S)
    assert errors and message in errors.group(1), (errors.group(1) if errors else body[-3000:])
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Evidence)) == 0


def test_service_ranges(app, factory):
    trainee, e = _enrolled(factory)
    outlet = trainee.managed_outlet
    with pytest.raises(Invalid) as err:
        services.save_report(trainee, outlet, services.ReportInput(date(2018, 5, 1), 10**11 + 1, 0, 10**14))
    assert set(err.value.reasons) == {"turnover", "operating_expenses"}
    with pytest.raises(Invalid) as err:
        services.save_report(trainee, outlet, services.ReportInput(date(1999, 12, 1), 1, 1, 1))
    assert set(err.value.reasons) == {"month"}
    with pytest.raises(Invalid) as err:
        services.save_licence(trainee, outlet, services.LicenceInput("SKU", "1/SKU", date(1999, 1, 1), "Kel."),
                              CheckedUpload(tiny_pdf(), PDF, "sku.pdf"))
    assert set(err.value.reasons) == {"issued_on"}
    with pytest.raises(Invalid) as err:
        services.save_financing(trainee, outlet, services.FinancingInput(
            "bank_dki", "", "KUR", 10**12, 10**12, "approved", date(1990, 1, 1), date(2018, 1, 1), None), None)
    assert set(err.value.reasons) == {"amount_requested", "amount_approved", "applied_on"}
    # the bounds themselves are accepted
    services.save_report(trainee, outlet, services.ReportInput(date(2000, 1, 1), 0, 10**11, 10**11))


def test_stored_extreme_values_do_not_break_the_pages(client, factory, login_as, db):
    """Values from before the ranges (or typed into the database) still render everywhere."""
    trainee, e = _at_perizinan(factory)
    outlet = trainee.managed_outlet
    lic = _licence(trainee)
    rep = services.save_report(trainee, outlet, services.ReportInput(date(2018, 5, 1), 1, 1, 1))
    rep2 = services.save_report(trainee, outlet, services.ReportInput(date(2018, 6, 1), 1, 1, 1))
    fin = services.save_financing(trainee, outlet, services.FinancingInput(
        "bank_dki", "", "KUR", 10_000_000, 10_000_000, "approved", date(2018, 6, 1), date(2018, 7, 1), None), None)
    big = 2**63 - 1
    with transaction():
        db.session.execute(sa.update(Licence).where(Licence.id == lic.id).values(issued_on=date(1, 1, 1)))
        db.session.execute(sa.update(FinancialReport).where(FinancialReport.id == rep.id).values(
            month=date(9999, 12, 1), turnover=big, cost_of_goods=0, operating_expenses=0))
        db.session.execute(sa.update(FinancialReport).where(FinancialReport.id == rep2.id).values(
            month=date(1, 1, 1), turnover=0, cost_of_goods=big, operating_expenses=big))
        db.session.execute(sa.update(Financing).where(Financing.id == fin.id).values(
            amount_requested=big, amount_approved=big, applied_on=date(1, 1, 1), decided_on=date(9999, 12, 31),
            disbursed_on=date(9999, 12, 31)))
        services.refresh_for_outlets([outlet.id])
    login_as(trainee)
    for url in ("/home", "/progress", f"/outlets/{outlet.id}/reports", f"/evidence/{lic.id}", f"/evidence/{rep.id}",
                f"/evidence/{rep2.id}", f"/evidence/{fin.id}", f"/evidence/{rep.id}/edit", f"/evidence/{fin.id}/edit",
                f"/outlets/{outlet.id}/evidence/report/new"):
        assert client.get(url).status_code == 200, url
    assert "Rp 9.223.372.036.854.775.807" in client.get(f"/evidence/{rep.id}").get_data(as_text=True)
    client.form_post("/logout")
    login_as("coordinator", region="3171")
    for url in ("/review", f"/enrolments/{e.id}", f"/outlets/{outlet.id}/reports", f"/outlets/{outlet.id}/timeline",
                f"/evidence/{fin.id}", f"/evidence/{rep2.id}"):
        assert client.get(url).status_code == 200, url


def test_next_step_is_a_pure_reading_of_progress(app, factory):
    """The guide reads what the tracker shows: an ended enrolment has no action, a complete one points to certificates."""
    from lms.programme.models import EnrolmentStatus

    trainee, e = _enrolled(factory)
    with app.test_request_context():
        nxt = guide.next_step(e, services.progress_for(e), services.outlet_evidence(e.outlet_id), "id")
        assert nxt.kind == "no_sessions" and nxt.stage.stage.key == "pelatihan"
        with transaction():
            e.status = EnrolmentStatus.ENDED
        nxt = guide.next_step(e, services.progress_for(e), [], "id")
        assert nxt.kind == "ended" and nxt.action is None


def test_home_and_tracker_cost_a_fixed_number_of_queries(client, factory, login_as, count_queries):
    """More returned submissions, reports and action items do not mean more SQL statements."""
    trainee, e = _at_perizinan(factory)
    mentor = factory.user("mentor", region="3171")
    factory.assign_mentor(mentor, trainee.managed_outlet)
    coord = factory.user("coordinator", region="3171")
    login_as(trainee)

    def add(n: int, start: int) -> None:
        due = _today() + timedelta(days=3)
        factory.visit(mentor, trainee.managed_outlet,
                      actions=tuple((f"Tugas {start + i}", "Pengelola", due) for i in range(n)))
        for i in range(n):
            rep = services.save_report(trainee, trainee.managed_outlet,
                                       services.ReportInput(date(2010 + (start + i) // 12, (start + i) % 12 + 1, 1), 1, 1, 1))
            services.review(coord, rep, "return", f"Periksa lagi {start + i}")

    counts = []
    for n, start in ((1, 0), (8, 1)):
        add(n, start)
        for url in ("/home", "/progress"):
            client.get(url)  # warm up
        with count_queries() as home:
            body = client.get("/home").get_data(as_text=True)
        with count_queries() as tracker:
            client.get("/progress")
        assert f"Periksa lagi {start + n - 1}" in body and f"Tugas {start + n - 1}" in body
        counts.append((home.count, tracker.count))
    assert counts[0] == counts[1], counts
