"""Who may export what: a coordinator sees only their region in every dataset and format, asking
for another region is a form error (422) and never a file; mentors and trainees get nothing."""
from __future__ import annotations

import csv
import io

import openpyxl
import pytest

from lms.errors import Invalid, NotAllowed
from lms.reports import services
from lms.reports.services import Filters
from tests.test_reports import build, plain_client

DATASETS = list(services.DATASETS)


def _text(r, fmt: str) -> str:  # type: ignore[no-untyped-def]
    """Every cell of a downloaded file as one text."""
    data = r.get_data()
    if fmt == "csv":
        return "\n".join("|".join(row) for row in csv.reader(io.StringIO(data.decode("utf-8-sig"))))
    ws = openpyxl.load_workbook(io.BytesIO(data)).active
    return "\n".join("|".join("" if c is None else str(c) for c in row) for row in ws.iter_rows(values_only=True))


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_a_3171_coordinator_never_gets_a_3172_row(app, factory, db, fmt):
    w = build(factory, db)
    coord = factory.user("coordinator", region="3171")
    db.session.commit()
    client = plain_client(app, coord)
    north = factory.region("3172")
    for dataset in DATASETS:
        r = client.get(f"/exports/download?dataset={dataset}&format={fmt}")
        assert r.status_code == 200, dataset
        text = _text(r, fmt)
        assert "Jakarta Pusat" in text, dataset  # the region's own rows are there
        for leak in ("Jakarta Utara", "Budi Wilayah Utara", w.budi.managed_outlet.code, "Pendamping Utara",
                     w.c_budi.serial):
            assert leak not in text, (dataset, leak)
        # asking for the other region is refused on the form, with no file
        r = client.get(f"/exports/download?dataset={dataset}&format={fmt}&region={north.id}")
        assert r.status_code == 422, dataset
        html = r.get_data(as_text=True)
        assert 'id="region-err"' in html and "Budi Wilayah Utara" not in html
        assert r.mimetype == "text/html"


def test_other_regions_kecamatan_and_cohort_are_refused_on_the_form(app, factory, db, client, login_as):
    north_cohort = factory.cohort(name="Angkatan Utara Saja", regions=("3172",))
    login_as("coordinator", region="3171")
    r = client.get(f"/exports/download?dataset=progress&kecamatan={factory.kecamatan('3172').id}")
    assert r.status_code == 422 and 'id="kecamatan-err"' in r.get_data(as_text=True)
    r = client.get(f"/exports/download?dataset=progress&cohort={north_cohort.id}")
    assert r.status_code == 422 and 'id="cohort-err"' in r.get_data(as_text=True)
    # their own region is fixed in the form
    html = client.get("/exports").get_data(as_text=True)
    assert f'<option selected value="{factory.region("3171").id}">Jakarta Pusat</option>' in html
    assert "Semua wilayah" not in html


def test_the_services_refuse_out_of_scope_filters_themselves(app, factory, db):
    """Defence in depth: the form is not the only guard."""
    coord = factory.user("coordinator", region="3171")
    north = factory.region("3172")
    north_cohort = factory.cohort(regions=("3172",))
    for dataset in DATASETS:
        for f, field in ((Filters(region_id=north.id), "region"),
                         (Filters(kecamatan_id=factory.kecamatan("3172").id), "kecamatan"),
                         (Filters(cohort_id=north_cohort.id), "cohort"),
                         (Filters(region_id=999_999), "region")):
            with pytest.raises(Invalid) as e:
                services.export(coord, dataset, f)
            assert field in e.value.reasons, (dataset, field)


@pytest.mark.parametrize("role", ["mentor", "trainee"])
def test_mentors_and_trainees_may_not_export(app, factory, db, client, login_as, role):
    user = factory.user(role, region="3171")
    for dataset in DATASETS:
        with pytest.raises(NotAllowed):
            services.export(user, dataset, Filters())
    login_as(user)
    assert client.get("/exports").status_code == 403
    assert client.get("/exports/download?dataset=progress&format=csv").status_code == 403
    html = client.get("/home").get_data(as_text=True)
    assert "Ekspor data" not in html and "/exports" not in html


def test_all_dki_coordinators_and_admins_get_every_region(app, factory, db):
    w = build(factory, db)
    for user in (factory.user("coordinator", region=None), w.admin):
        db.session.commit()
        text = _text(plain_client(app, user).get("/exports/download?dataset=progress&format=csv"), "csv")
        assert "Jakarta Pusat" in text and "Jakarta Utara" in text


def test_nav_link_for_those_who_may_export(client, factory, login_as):
    login_as("coordinator", region="3171")
    html = client.get("/home").get_data(as_text=True)
    assert 'href="/exports"' in html and "Ekspor data" in html
    assert 'href="/admin/audit"' not in html
