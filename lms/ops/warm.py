"""What a long-running process does once it has built the app, before it serves: compile every
template, load the languages' locale data and catalogues, then freeze what it holds out of the
garbage collector's full passes (lms/ops/heap.py).

Jinja compiles a template (with the macros and includes it pulls in) the first time a process
renders it, and keeps it. A new app server worker (at start, and after every GUNICORN_MAX_REQUESTS
restart) otherwise pays that in the first request of each kind it serves: 30-60 ms for the visit
form with its macros, a stall the person on the phone sees and the load benchmark measured. All the
app's templates (about 140) compile in about a second of the worker's start-up instead.

Babel reads its locale data (CLDR, pickled: the global data, each language and its parents) the first
time a process formats a date or a number in that language, and Flask-Babel reads a language's
message catalogue the first time a page is shown in it: together 30-40 ms of the first page with a
date in each worker, again landing on somebody's request.
"""
from __future__ import annotations

import logging
from datetime import datetime, timezone

from flask import Flask

from .heap import settle

log = logging.getLogger(__name__)


def compile_templates(app: Flask) -> int:
    """Load every template of the app into its Jinja environment's cache; the number compiled. A
    template that does not compile is logged and left for its page to report, as it would be anyway."""
    env = app.jinja_env
    compiled = 0
    for name in env.list_templates():
        try:
            env.get_template(name)
        except Exception:
            log.exception("template %s does not compile", name)
        else:
            compiled += 1
    return compiled


def load_languages(app: Flask) -> list[str]:
    """Read each of the app's languages' locale data and message catalogue now, by formatting a moment
    in each of the date, time and number formats the pages use; the languages loaded."""
    from babel.core import get_global
    from flask_babel import force_locale, format_date, format_datetime, format_decimal, format_time

    from ..i18n import _catalogue

    get_global("zone_aliases")  # CLDR's global data (time zones, currencies, plural rules …)
    moment = datetime.now(timezone.utc)
    loaded = []
    with app.test_request_context("/"):
        for lang in app.config["LANGUAGES"]:
            with force_locale(lang):
                _catalogue().ugettext("Beranda")
                for fmt in ("short", "medium", "long", "full"):
                    format_date(moment, fmt)
                    format_datetime(moment, fmt)
                    format_time(moment, fmt)
                format_date(moment, "MMMM yyyy")
                format_decimal(1234.5)
            loaded.append(lang)
    return loaded


def ready_to_serve(app: Flask | None) -> None:
    """Called by gunicorn.conf.py's ``post_worker_init`` and the RQ worker command."""
    if isinstance(app, Flask):
        compile_templates(app)
        try:
            load_languages(app)
        except Exception:  # a broken catalogue is for its pages to report, as it would be anyway
            log.exception("the languages' data could not be loaded before serving")
    settle()
