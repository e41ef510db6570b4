"""lms.ops.heap: the long-lived objects of a process leave the garbage collector's full passes."""
from __future__ import annotations

import gc
import weakref

from lms.ops.heap import settle


class _Node:
    def __init__(self) -> None:
        self.me = self  # a reference cycle: only the cyclic collector frees it


def test_settle_collects_first_then_freezes_what_is_left():
    garbage = _Node()
    gone = weakref.ref(garbage)
    del garbage
    kept = _Node()
    try:
        frozen = settle()
        assert gone() is None  # collected, not frozen for the life of the process
        assert frozen == gc.get_freeze_count() > 1000
        assert not gc.is_finalized(kept) and kept.me is kept
        # what is made afterwards is collected as before
        later = _Node()
        later_ref = weakref.ref(later)
        del later
        gc.collect()
        assert later_ref() is None
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_every_template_is_compiled_before_the_first_request(app):
    """lms/ops/warm.py: a new worker compiles the app's templates at start, not in the first request of
    each kind it serves. Every template compiles (a syntax error would be logged and counted out)."""
    from lms.ops.warm import compile_templates

    names = app.jinja_env.list_templates()
    assert len(names) > 100 and "visits/visit_form.html" in names
    assert compile_templates(app) == len(names)
    cached = {key[1] for key in app.jinja_env.cache.keys()}
    assert set(names) <= cached


def test_a_template_that_does_not_compile_is_logged_not_fatal(app, caplog):
    from jinja2 import ChoiceLoader, DictLoader

    from lms.ops.warm import compile_templates

    env = app.jinja_env
    original = env.loader  # a broken template in front of the app's own, for this test only
    env.loader = ChoiceLoader([DictLoader({"rusak.html": "{% if %}"}), original])
    env.cache.clear()
    try:
        with caplog.at_level("ERROR", logger="lms.ops.warm"):
            n = compile_templates(app)
        assert n == len(env.list_templates()) - 1
        assert "rusak.html does not compile" in caplog.text
    finally:
        env.loader = original
        env.cache.clear()


_LANGUAGES_PROBE = r"""
import pickle, sys
from datetime import datetime, timezone

import babel.core, babel.localedata
from lms import create_app

app = create_app()
if sys.argv[1] == "warm":
    from lms.ops.warm import load_languages
    print("loaded", load_languages(app))

reads = []
real_load = pickle.load
def counting_load(f, *a, **k):
    reads.append(getattr(f, "name", "?"))
    return real_load(f, *a, **k)
babel.core.pickle.load = babel.localedata.pickle.load = counting_load

from flask_babel import force_locale, format_date, format_datetime
from lms.i18n import _catalogue, wib_date
with app.test_request_context("/"):
    for lang in ("id", "en"):
        with force_locale(lang):
            wib_date(datetime.now(timezone.utc)); format_datetime(datetime.now(timezone.utc), "short")
            _catalogue().ugettext("Beranda")
print("reads", len(reads))
"""


def test_the_languages_are_loaded_before_the_first_request(tmp_path):
    """lms/ops/warm.py: babel's locale data (read from pickled files the first time a process formats a
    date in a language) is loaded at start, not in some person's first page. A fresh process that
    formats dates in both languages after load_languages reads no locale file; without it, it reads
    several (the probe tells them apart, so the test fails if the warm-up stops loading them)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = tmp_path / "probe.py"
    script.write_text(_LANGUAGES_PROBE, encoding="utf-8")
    env = {**os.environ, "LMS_SECRET_KEY": "x", "LMS_DATABASE_URL": f"sqlite:///{tmp_path / 'p.db'}",
           "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    out = {}
    for mode in ("cold", "warm"):
        done = subprocess.run([sys.executable, str(script), mode], capture_output=True, text=True, env=env,
                              timeout=120)
        assert done.returncode == 0, done.stderr[-2000:]
        out[mode] = done.stdout
    assert "loaded ['id', 'en']" in out["warm"]
    assert "reads 0" in out["warm"]
    assert "reads 0" not in out["cold"]
