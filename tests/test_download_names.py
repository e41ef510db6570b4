"""Every download is named in the interface language: sertifikat-….pdf in Indonesian,
certificate-….pdf in English; the ZIP of a bulk run, exports, the visits CSV, the audit log,
the import template, evidence files, visit photos and calendar files alike."""
from __future__ import annotations

import contextvars
import re

import pytest
from flask.testing import FlaskClient

from lms.i18n import LANG_COOKIE, file_name


def _client(app, user, lang):  # type: ignore[no-untyped-def]
    """Flask's own client (streamed exports are read after the request), signed in, in ``lang``."""
    c = FlaskClient(app, use_cookies=True)
    with c.session_transaction() as sess:
        sess["_user_id"] = user.session_token
        sess["_fresh"] = True
    c.set_cookie(LANG_COOKIE, lang)
    return c


def _name(client, url):  # type: ignore[no-untyped-def]
    # in a fresh context, as in production: the test's app context (and flask-babel's locale cached
    # in its `g`) must not carry over into the request
    return contextvars.Context().run(_fetch_name, client, url)


def _fetch_name(client, url):  # type: ignore[no-untyped-def]
    with client.get(url) as resp:
        assert resp.status_code == 200, (url, resp.status_code)
        resp.get_data()
        disposition = resp.headers.get("Content-Disposition", "")
    m = re.search(r'filename="?([^";]+)"?', disposition)
    assert m, (url, disposition)
    return m.group(1)


@pytest.mark.parametrize("lang", ["id", "en"])
def test_every_download_is_named_in_the_interface_language(app, factory, lang):
    w = factory.world()
    admin = w.users["admin"]
    client = _client(app, admin, lang)
    serial = w.certificate.serial.replace("/", "-")
    photo = w.photo
    expected = {
        f"/certificates/{w.certificate.id}/pdf": {"id": f"sertifikat-{serial}.pdf", "en": f"certificate-{serial}.pdf"},
        f"/certificates/jobs/{w.job.id}/zip": {"id": f"sertifikat-bimtek-{w.job.id}.zip",
                                               "en": f"certificates-bimtek-{w.job.id}.zip"},
        "/exports/download?dataset=certificates&format=csv&start=2018-04-01&end=2018-04-30":
            {"id": "sertifikat-20180401-20180430.csv", "en": "certificates-20180401-20180430.csv"},
        "/exports/download?dataset=attendance&format=xlsx&start=2018-04-01&end=2018-04-30":
            {"id": "kehadiran-20180401-20180430.xlsx", "en": "attendance-20180401-20180430.xlsx"},
        "/visits/export?start=2018-04-01&end=2018-04-30":
            {"id": "kunjungan-20180401-20180430.csv", "en": "visits-20180401-20180430.csv"},
        "/import/outlets/template.csv": {"id": "templat-impor-e-warong.csv", "en": "e-warong-import-template.csv"},
        f"/evidence/{w.evidence.id}/file?unduh=1": {"id": f"bukti-{w.evidence.id}.pdf",
                                                    "en": f"evidence-{w.evidence.id}.pdf"},
        f"/visit-photos/{photo.id}": {"id": f"foto-kunjungan-{photo.visit_id}-{photo.id}.png",
                                      "en": f"visit-photo-{photo.visit_id}-{photo.id}.png"},
        f"/sessions/{w.upcoming.id}/calendar.ics": {"id": f"bimtek-{w.upcoming.id}.ics",
                                                    "en": f"bimtek-{w.upcoming.id}.ics"},
    }
    for url, names in expected.items():
        assert _name(client, url) == names[lang], url
    audit = _name(client, "/admin/audit/export?format=csv")
    assert audit.startswith({"id": "log-audit-", "en": "audit-log-"}[lang]) and audit.endswith(".csv")
    progress = _name(client, f"/exports/download?dataset=progress&format=csv&cohort={w.cohort.id}")
    assert progress.startswith({"id": "kemajuan-", "en": "progress-"}[lang])


def test_a_file_name_keeps_only_safe_characters(app):
    with app.test_request_context():
        assert file_name("sertifikat", "BIMTEK/2018/00001", ext="pdf") == "sertifikat-BIMTEK-2018-00001.pdf"
        assert file_name("bukti", 'a"b\r\nc d', ext="pdf") == "bukti-a-b-c-d.pdf"
        assert file_name("Café/../x", ext="csv") == "Caf-..-x.csv"
