"""The dashboard's markup: what "Bersertifikat" counts is said on the page; chart links are named
by the text they show; the filters and the sections do not share ids."""
from __future__ import annotations

import re
from collections import Counter

from lms.certification import services as certification
from lms.permissions import SYSTEM


def test_certified_column_says_which_certificates_it_counts(client, login_as, factory):
    admin = login_as("admin")
    done = factory.completed_enrolment()
    certification.issue_for_enrolment(SYSTEM, certification.design_for("completion"), done)
    revoked = factory.completed_enrolment()
    cert = certification.issue_for_enrolment(SYSTEM, certification.design_for("completion"), revoked).certificate
    certification.revoke(admin, cert, "Salah penerbitan")
    factory.certificate()  # a Bimtek certificate: not a completion
    html = client.get("/dashboard").get_data(as_text=True)
    table = html.split('id="per-kecamatan"')[1].split("</section>")[0]
    assert 'aria-describedby="certified-note"' in table
    note = re.search(r'<p class="hint" id="certified-note">(.*?)</p>', table, re.S)
    assert note and "sertifikat kelulusan 7 PAS yang masih berlaku" in note.group(1)
    assert "Sertifikat Bimtek dan sertifikat yang dicabut tidak dihitung" in note.group(1)
    # the one active completion certificate is the only one counted
    kec = done.outlet.kecamatan.name
    assert revoked.outlet.kecamatan.name == kec
    row = re.search(rf'<tr><th scope="row">{re.escape(kec)}</th>((?:\s*<td class="num">\d+</td>)+)</tr>', table)
    assert row, table[:2000]
    assert re.findall(r">(\d+)<", row.group(1))[-1] == "1"


def test_chart_links_are_named_by_the_text_they_show(client, login_as, factory):
    login_as("coordinator", region="3171")
    factory.enrolment()
    html = client.get("/dashboard").get_data(as_text=True)
    links = re.findall(r'<a href="[^"]+" class="chart-link"([^>]*)>(.*?)</a>', html, re.S)
    assert len(links) >= 8  # the funnel's stages and the stuck chart's
    for attrs, body in links:
        assert "aria-label" not in attrs  # a label that differs from the visible text misleads speech input
        shown = re.findall(r"<text [^>]*>([^<]+)</text>", body)
        assert len(shown) == 2 and shown[1].strip(), body  # the label and the value


def test_dashboard_ids_are_unique(client, login_as, factory):
    login_as("admin")
    factory.enrolment()
    for url in ("/dashboard", "/dashboard/managers?stage=pelatihan"):
        html = client.get(url).get_data(as_text=True)
        ids = Counter(re.findall(r'\sid="([^"]+)"', html))
        assert not [i for i, n in ids.items() if n > 1], (url, ids.most_common(3))
