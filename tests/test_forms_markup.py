"""Shared markup helpers give valid HTML: required selects, ids of hidden fields and buttons,
machine-readable times. (The crawl in tests/test_markup.py checks every page with vnu and axe.)"""
from __future__ import annotations

from datetime import datetime, timezone

from wtforms import HiddenField, SelectField, SubmitField
from wtforms.validators import DataRequired

from lms.forms_common import Form, options
from lms.i18n import machine_datetime


class _Form(Form):
    class Meta:
        csrf = False

    kind = SelectField("Jenis", validators=[DataRequired()])
    cohort = SelectField("Angkatan", validators=[DataRequired()])
    target = SelectField("Penerima", validators=[DataRequired()])
    token = HiddenField()
    submit = SubmitField("Simpan")


def _render(app, source: str, form: Form) -> str:
    return app.jinja_env.from_string('{% from "macros/forms.html" import field %}' + source).render(f=form)


def test_a_required_select_is_required_only_with_an_empty_first_option(app):
    with app.test_request_context():
        form = _Form()
        form.kind.choices = options([("NIB", "NIB"), ("IUMK", "IUMK")])
        form.cohort.choices = options([("", "Pilih angkatan"), ("1", "Angkatan 1")])
        form.target.choices = {"Wilayah": options([("r1", "Jakarta Pusat")])}
        html = _render(app, "{{ field(f.kind) }}|{{ field(f.cohort) }}|{{ field(f.target) }}", form)
    kind, cohort, target = html.split("|")
    assert "<select" in kind and "required" not in kind
    assert "required" in cohort
    assert "<optgroup" in target and "required" not in target


def test_hidden_fields_and_buttons_have_no_id_so_two_forms_can_share_a_page(app):
    with app.test_request_context():
        html = _render(app, "{{ f.token() }}{{ f.submit() }}{{ f.token() }}{{ f.submit() }}", _Form())
    assert "id=" not in html and html.count('name="submit"') == 2


def test_time_attributes_are_whole_seconds():
    at = datetime(2026, 12, 6, 7, 31, 12, 655037, tzinfo=timezone.utc)
    assert machine_datetime(at) == "2026-12-06T07:31:12+00:00"
    assert machine_datetime(None) == ""


def test_the_list_select_writes_what_wtforms_select_writes(app):
    """ListSelect (the dashboard's filters) skips html_params per option; its HTML is WTForms' own."""
    from wtforms.fields.choices import SelectChoice
    from wtforms.widgets import Select

    from lms.forms_common import ListSelect

    class Pair(Form):
        class Meta:
            csrf = False

        plain = SelectField("A")
        fast = SelectField("A", widget=ListSelect())

    pairs = [("", "Semua"), ("7", 'Kebon "Jeruk" <Barat> & co'), ("8", "Tanah Abang"), (True, "ya"), ("9", "")]
    with app.test_request_context("/?plain=8&fast=8"):
        from flask import request

        form = Pair(request.args)
        for f in (form.plain, form.fast):
            f.choices = options(pairs)
        form.validate()
        assert form.fast.widget.__class__ is ListSelect and form.plain.widget.__class__ is Select
        assert str(form.fast()).replace('name="fast"', "").replace('id="fast"', "") == \
            str(form.plain()).replace('name="plain"', "").replace('id="plain"', "")
        assert '<option selected value="8">Tanah Abang<' in str(form.fast())
        # an option with attributes of its own goes through WTForms' way
        form.fast.choices = [SelectChoice("1", "Satu", render_kw={"disabled": True})]
        assert str(form.fast()) == str(Select()(form.fast))


def test_html_params_writes_what_wtforms_writes():
    """lms.forms_common.html_params replaces WTForms' own (for speed): the same text for every kind of
    value, and WTForms' widgets and labels use it."""
    import importlib.util

    import wtforms.widgets
    import wtforms.widgets.core
    from flask_babel import lazy_gettext
    from markupsafe import Markup

    from lms.forms_common import html_params

    # WTForms' own function, loaded afresh from its source (the imported module now points at ours)
    spec = importlib.util.find_spec("wtforms.widgets.core")
    original = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(original)
    assert original.html_params is not html_params

    cases = [
        {},
        {"id": "x", "name": "x", "type": "text", "value": ""},
        {"value": 'Kebon "Jeruk" <Barat> & co', "placeholder": "it's"},
        {"required": True, "disabled": False, "checked": True, "readonly": False},
        {"min": 1, "max": 600, "step": 5, "value": 0, "size": 1.5},
        {"class_": "btn", "for_": "f", "data_visit_form": "1", "aria_describedby": "a-desc a-err",
         "data_x_y": True},
        {"value": Markup('<b title="a">x</b>'), "title": Markup("a &amp; b")},
        {"placeholder": lazy_gettext("mis. Pengelola")},
        {"value": None, "label": "\u202eevil\u202c", "onclick": "alert('x')"},
    ]
    for kw in cases:
        assert html_params(**kw) == original.html_params(**kw), kw
        assert isinstance(html_params(**kw), Markup)
    assert wtforms.widgets.core.html_params is html_params and wtforms.widgets.html_params is html_params
    assert wtforms.widgets.core.Input.html_params is html_params
    assert wtforms.widgets.core.Button.html_params is html_params
