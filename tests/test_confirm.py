"""The shared no-JS confirm mechanism (templates/macros/confirm.html, lms/confirm.py)."""
from __future__ import annotations

import re

from flask import render_template_string
from markupsafe import Markup

from lms.confirm import is_confirmed, render_confirm


def test_macro_lists_consequences_and_posts_hidden_fields_with_confirmed(app) -> None:
    with app.test_request_context("/x"):
        html = render_template_string(
            '{% from "macros/confirm.html" import confirm_form %}'
            "{{ confirm_form('/do', 'Hapus semua?', ['Satu <b>', m], 'Ya, hapus', '/back',"
            " hidden={'ids': [1, 2], 'reason': 'x\"y', 'none': None}) }}", m=Markup("<em>dua</em>"))
    assert '<h1 id="confirm-title">Hapus semua?</h1>' in html
    assert "<li>Satu &lt;b&gt;</li>" in html and "<li><em>dua</em></li>" in html
    assert 'action="/do"' in html and 'href="/back"' in html
    assert re.search(r'name="csrf_token" value="[^"]+"', html)
    assert html.count('name="ids"') == 2 and 'value="1"' in html and 'value="2"' in html
    assert 'name="reason" value="x&#34;y"' in html
    assert 'name="none"' not in html
    assert '<input type="hidden" name="confirmed" value="1">' in html
    assert "btn-danger" in html


def test_macro_primary_button_and_heading_level(app) -> None:
    with app.test_request_context("/x"):
        html = render_template_string(
            '{% from "macros/confirm.html" import confirm_form %}'
            "{{ confirm_form('/do', 'Lanjut?', [], 'Ya', '/back', danger=false, heading_level=2) }}")
    assert "<h2 " in html and "btn-primary" in html and "btn-danger" not in html


def test_is_confirmed_only_for_post_with_confirmed_1(app) -> None:
    with app.test_request_context("/x", method="POST", data={"confirmed": "1"}):
        assert is_confirmed()
    with app.test_request_context("/x", method="POST", data={"confirmed": "yes"}):
        assert not is_confirmed()
    with app.test_request_context("/x", method="POST", data={}):
        assert not is_confirmed()
    with app.test_request_context("/x?confirmed=1", method="GET"):
        assert not is_confirmed()


def test_render_confirm_is_a_whole_page(app) -> None:
    with app.test_request_context("/x"):
        html, status = render_confirm(action_url="/do", title="Tandai semua hadir?", consequences=["a"],
                                      button_label="Ya", cancel_url="/back", hidden={"k": "v"})
    assert status == 200
    assert "<title>Tandai semua hadir?" in html and html.count("<h1") == 1
    assert 'name="k" value="v"' in html
