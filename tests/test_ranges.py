"""Numbers and dates have ranges: the shared fields and validators (lms/forms_common.py), the display
filters that never fail on extreme stored values, every form's date/number fields bounded, and absurd
input giving a form message instead of a 500."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from werkzeug.datastructures import MultiDict
from wtforms.validators import Optional

from lms import forms_common as fc
from lms.errors import Invalid


@pytest.fixture
def ctx(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        yield


class _Sample(fc.Form):
    class Meta:
        csrf = False

    day = fc.BoundedDateField("Hari", [Optional()])
    at = fc.BoundedDateTimeLocalField("Jam", [Optional()], format=["%Y-%m-%dT%H:%M"])
    seats = fc.BoundedIntegerField("Kursi", [Optional()], min=1, max=500)
    share = fc.BoundedDecimalField("Porsi", [Optional()], min=0, max=100)
    amount = fc.RupiahField("Jumlah", [Optional()])


def _errors(**data: str) -> dict[str, list[str]]:
    form = _Sample(formdata=MultiDict(data))
    form.validate()
    return form.errors


def test_default_bounds_are_documented_values(ctx):  # type: ignore[no-untyped-def]
    assert fc.DATE_MIN == date(2000, 1, 1)
    assert fc.date_max(date(2026, 3, 1)) == date(2031, 3, 1)
    assert fc.date_max(date(2024, 2, 29)) == date(2029, 2, 28)
    assert (fc.MONEY_MIN, fc.MONEY_MAX, fc.COUNT_MIN, fc.COUNT_MAX) == (0, 10**12, 0, 100_000)


@pytest.mark.parametrize("field,value,message", [
    ("day", "9999-12-31", "Tanggal harus antara 1 Jan 2000"),
    ("day", "0001-01-01", "Tanggal harus antara 1 Jan 2000"),
    ("day", "1999-12-31", "Tanggal harus antara 1 Jan 2000"),
    ("at", "9999-12-31T23:59", "Tanggal harus antara"),
    ("at", "0001-01-01T00:00", "Tanggal harus antara"),
    ("seats", "0", "Isi angka antara 1 dan 500"),
    ("seats", str(10**30), "Isi angka antara 1 dan 500"),
    ("seats", "1e309", "bilangan bulat"),
    ("share", "NaN", "Isi angka antara 0 dan 100"),
    ("share", "Infinity", "Isi angka antara 0 dan 100"),
    ("share", "-1", "Isi angka antara 0 dan 100"),
    ("amount", str(10**30), "Jumlah paling banyak Rp 1.000.000.000.000"),
    ("amount", "-" + str(10**30), "Jumlah paling sedikit -Rp 1.000.000.000.000"),
])
def test_bounded_fields_refuse_absurd_values_with_a_message(ctx, field, value, message):  # type: ignore[no-untyped-def]
    errors = _errors(**{field: value})
    assert any(message in m for m in errors.get(field, [])), errors


def test_bounded_fields_accept_ordinary_values(ctx):  # type: ignore[no-untyped-def]
    assert _errors(day="2018-04-10", at="2018-04-10T08:00", seats="40", share="12.5",
                   amount="Rp 1.500.000") == {}
    # a date bound covers its whole day, also for a datetime on the last allowed day
    last = fc.date_max()
    assert _errors(at=f"{last.isoformat()}T23:59") == {}


def test_an_explicit_range_replaces_the_default(ctx):  # type: ignore[no-untyped-def]
    field = fc.BoundedDateField("x", [fc.Range(date(2018, 1, 1), date(2018, 12, 31))]).bind(_Sample(), "x")
    assert sum(isinstance(v, fc.Range) for v in field.validators) == 1


def test_check_range_for_services(ctx):  # type: ignore[no-untyped-def]
    reasons: dict[str, list[str]] = {}
    assert fc.check_range(date(2018, 4, 10), fc.DATE_MIN, fc.date_max, "on", reasons)
    assert fc.check_range(None, fc.DATE_MIN, fc.date_max, "on", reasons)
    assert not fc.check_range(date(9999, 1, 1), fc.DATE_MIN, fc.date_max, "on", reasons)
    assert not fc.check_range(10**13, fc.MONEY_MIN, fc.MONEY_MAX, "amount", reasons, kind="money")
    assert not fc.check_range(Decimal("NaN"), 0, 10, "share", reasons)
    assert not fc.check_range(float("inf"), 0, 10, "share", reasons)
    assert set(reasons) == {"on", "amount", "share"}
    assert reasons["amount"] == ["Jumlah harus antara Rp 0 dan Rp 1.000.000.000.000."]
    err = Invalid(reasons)
    assert "Tanggal harus antara 1 Jan 2000" in str(err)


def test_range_messages_follow_the_interface_language(app):  # type: ignore[no-untyped-def]
    with app.test_request_context(headers={"Cookie": "lms_lang=en"}):
        msg = fc.out_of_range(date(9999, 1, 1), fc.DATE_MIN, date(2030, 1, 1))
    assert msg is not None and "2000" in msg and "2030" in msg


# --- display: stored values at the ends of the calendar and of the numbers never raise ---------

EXTREMES = [None, datetime(1, 1, 1), datetime(9999, 12, 31, 23, 59, 59, 999999), datetime.max, datetime.min,
            date(1, 1, 1), date(9999, 12, 31), date.max]
NUMBERS = [0, 10**30, -10**30, 10**400, 2**63 - 1, Decimal("NaN"), Decimal("Infinity"), Decimal("1e400"),
           float("inf"), float("nan"), 2.5]


def _filters(app):  # type: ignore[no-untyped-def]
    env = app.jinja_env.filters
    return {"dates": [env[n] for n in ("wib", "wib_date", "wib_time", "wib_minute", "wib_month")],
            "numbers": [env[n] for n in ("rupiah", "num")]}


def test_date_filters_never_raise_on_extreme_values(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        time_only = {app.jinja_env.filters["wib_time"], app.jinja_env.filters["wib_minute"]}
        for f in _filters(app)["dates"]:
            for v in EXTREMES:
                if f in time_only and type(v) is date:  # noqa: E721  (they show times of datetimes)
                    continue
                text = f(v)
                assert isinstance(text, str) and text, (f, v)
        # what cannot be moved to WIB shows as stored, in UTC
        assert app.jinja_env.filters["wib"](datetime(9999, 12, 31, 23, 0)) == "9999-12-31 23.00 UTC"
        assert app.jinja_env.filters["wib"](datetime(2018, 4, 10, 1, 0)).endswith("08.00.00 WIB")


def test_number_filters_never_raise_on_extreme_values(app):  # type: ignore[no-untyped-def]
    with app.test_request_context():
        for f in _filters(app)["numbers"]:
            for v in NUMBERS:
                text = f(v)
                assert isinstance(text, str) and text, (f, v)
        env = app.jinja_env.filters
        assert env["rupiah"](Decimal("NaN")) == "–" and env["num"](float("nan")) == "–"
        assert env["num"](10**400).startswith("10.000.000")
        assert env["rupiah"](1_500_000) == "Rp 1.500.000" and env["num"](2.5) == "2,5"


def test_session_when_survives_the_end_of_the_calendar(app):  # type: ignore[no-untyped-def]
    from types import SimpleNamespace

    s = SimpleNamespace(starts_at=datetime(9999, 12, 31, 20, 0), ends_at=datetime(9999, 12, 31, 23, 0))
    with app.test_request_context():
        assert app.jinja_env.filters["session_when"](s) == "9999-12-31 20.00 UTC – 9999-12-31 23.00 UTC"



def test_to_wib_never_overflows_at_the_end_of_the_calendar():  # type: ignore[no-untyped-def]
    from datetime import timezone

    from lms.i18n import WIB, to_wib

    assert to_wib(datetime(9999, 12, 31, 23, 0, tzinfo=timezone.utc)) == datetime.max.replace(tzinfo=WIB)
    assert to_wib(datetime(2018, 4, 10, 1, 0, tzinfo=timezone.utc)).hour == 8
    assert to_wib(datetime(1, 1, 1)).year == 1


def test_a_range_checks_every_date_of_a_field_holding_several(ctx):  # type: ignore[no-untyped-def]
    from wtforms import StringField

    class DatesField(StringField):
        def process_formdata(self, valuelist):  # type: ignore[no-untyped-def]
            self.data = valuelist[0]
            self.dates = [date.fromisoformat(p) for p in self.data.split(",")]

    class F(fc.Form):
        class Meta:
            csrf = False

        days = DatesField("Hari", [Optional(), fc.DateRange()])

    form = F(formdata=MultiDict({"days": "2018-04-10,9999-12-31"}))
    assert not form.validate() and "Tanggal harus antara" in form.errors["days"][0]
    assert F(formdata=MultiDict({"days": "2018-04-10,2018-04-11"})).validate()
