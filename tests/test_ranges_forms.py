"""Every date and number field of every form carries a Range (lms/forms_common.py), so that a field
added tomorrow cannot forget one."""
from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path
from typing import Any

from lms import forms_common as fc

_NEEDS_RANGE = re.compile(r"Date|Month|Integer|Decimal|Float|Rupiah|Number|Amount|Count")


def _form_classes() -> list[type]:
    from wtforms.form import BaseForm, Form as WTForm

    root = Path(__file__).resolve().parent.parent / "lms"
    found = []
    for path in sorted(root.glob("*/forms.py")):
        module = importlib.import_module(f"lms.{path.parent.name}.forms")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, (WTForm, BaseForm)) and cls.__module__ == module.__name__:
                found.append(cls)
    return found


def _unbound_fields(form_cls: type, prefix: str = "") -> list[tuple[str, Any]]:
    from wtforms.fields.core import UnboundField

    out = []
    for name, ub in inspect.getmembers(form_cls, lambda v: isinstance(v, UnboundField)):
        out.extend(_expand(f"{prefix}{name}", ub))
    return out


def _expand(name: str, ub: Any) -> list[tuple[str, Any]]:
    from wtforms.fields import FieldList, FormField

    if issubclass(ub.field_class, FormField):
        return _unbound_fields(ub.args[0] if ub.args else ub.kwargs["form_class"], f"{name}.")
    if issubclass(ub.field_class, FieldList):
        return _expand(f"{name}[]", ub.args[0] if ub.args else ub.kwargs["unbound_field"])
    return [(name, ub)]


def test_every_date_and_number_field_has_a_range(app):  # type: ignore[no-untyped-def]
    """So that a field added tomorrow cannot forget: DateField, DateTimeField, IntegerField,
    DecimalField, MonthField, RupiahField (and anything named like them) carry a Range."""
    from wtforms.fields import DateField, DateTimeField, DecimalField, FloatField, IntegerField, TimeField
    from wtforms.meta import DefaultMeta

    class _Bare:
        meta = DefaultMeta()

    typed = (DateField, DateTimeField, DecimalField, FloatField, IntegerField, fc.RupiahField)
    checked, missing = [], []
    with app.test_request_context():
        classes = _form_classes()
        assert len(classes) >= 20, classes
        for cls in classes:
            for name, ub in _unbound_fields(cls):
                if not (issubclass(ub.field_class, typed) or _NEEDS_RANGE.search(ub.field_class.__name__)):
                    continue
                if issubclass(ub.field_class, TimeField):  # a time of day is bounded by its shape
                    continue
                field = ub.bind(_Bare(), name.replace(".", "-"))
                checked.append(f"{cls.__module__}.{cls.__name__}.{name}")
                if not fc.has_range(field):
                    missing.append(f"{cls.__module__}.{cls.__name__}.{name} ({ub.field_class.__name__})")
    assert len(checked) >= 10, checked
    assert not missing, "fields without a Range (lms/forms_common.py):\n" + "\n".join(missing)


def test_a_series_date_outside_the_session_range_is_a_form_message(client, factory, login_as, db):  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from lms.sessions.models import TrainingSession
    from tests.test_sessions import day_ahead, form_data

    login_as("coordinator", region="3171")
    cohort = factory.cohort(regions=("3171",))
    for extra in ("9999-12-31", "0001-01-01", f"{day_ahead(1).isoformat()}, 9999-12-31"):
        r = client.form_post("/sessions/new", form_data(cohort, factory.region("3171"), day_ahead(), extra_dates=extra))
        assert r.status_code == 422 and "Tanggal harus antara" in r.get_data(as_text=True), extra
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TrainingSession)) == 0


def test_an_absurd_schedule_month_is_the_fields_error(client, login_as):  # type: ignore[no-untyped-def]
    login_as("coordinator", region="3171")
    for url in ("/sessions?month=9999-12", "/sessions/calendar?month=0001-01"):
        r = client.get(url)
        assert r.status_code == 200 and "Tanggal harus antara" in r.get_data(as_text=True), url
