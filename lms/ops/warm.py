"""What a long-running process does once it has built the app, before it serves: compile every
template, then freeze what it holds out of the garbage collector's full passes (lms/ops/heap.py).

Jinja compiles a template (with the macros and includes it pulls in) the first time a process
renders it, and keeps it. A new app server worker (at start, and after every GUNICORN_MAX_REQUESTS
restart) otherwise pays that in the first request of each kind it serves: 30-60 ms for the visit
form with its macros, a stall the person on the phone sees and the load benchmark measured. All the
app's templates (about 140) compile in about a second of the worker's start-up instead.
"""
from __future__ import annotations

import logging

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


def ready_to_serve(app: Flask | None) -> None:
    """Called by gunicorn.conf.py's ``post_worker_init`` and the RQ worker command."""
    if isinstance(app, Flask):
        compile_templates(app)
    settle()
