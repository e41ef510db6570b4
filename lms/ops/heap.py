"""The garbage collector in a long-running process (an app server's worker, the RQ worker).

CPython's cyclic collector now and then makes a full pass over every object the process holds. A
worker of this app holds about 200,000 objects once it has built the app (modules, SQLAlchemy's
mappers, Babel's locale data, Jinja's environment), nearly all of them for as long as it lives, and
a full pass over them took 115–150 ms on the benchmark machine: the one request that happened to
trigger it waited that long (a visit page after its photo upload, a dashboard).

:func:`settle` collects once and moves what is left to the permanent generation (``gc.freeze``),
which later passes skip: they then walk only what was made since, a few thousand objects. The
frozen objects are the app's own furniture, kept anyway; memory freed afterwards is collected as
before. Called (through lms/ops/warm.py) where a process has finished starting and is about to serve
(gunicorn.conf.py's ``post_worker_init``, the RQ worker command), never in ``create_app``: tests and scripts build
many apps in one process and must be able to drop them.
"""
from __future__ import annotations

import gc


def settle() -> int:
    """Collect, then freeze what survives; the number of objects now frozen."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
