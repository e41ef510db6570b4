"""WSGI entry for the dashboard throughput benchmark only (``gunicorn tests.bench_wsgi:app``).

The real application from ``create_app()`` (configured by the LMS_* environment, as in
production) plus ONE bare route, ``/_bench/bare``, that returns "ok": the yardstick the
dashboard's throughput is compared with, served by the same workers, through the same
request hooks. Never imported by the application itself.
"""
from __future__ import annotations

from lms import create_app
from lms.permissions import PUBLIC, rule

app = create_app()


@app.get("/_bench/bare")
@rule(PUBLIC)
def _bench_bare() -> str:
    return "ok"
