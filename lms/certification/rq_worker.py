"""The RQ worker class of ``flask --app lms worker`` (imported by that command only: the app servers never load RQ's
worker)."""
from __future__ import annotations

from typing import Any

from rq import Worker
from rq.worker import WorkerStatus


class LmsWorker(Worker):
    """RQ's Worker, which forks a work horse for each job, except for the jobs of :attr:`inline_queues`, which it
    runs itself (as RQ's SimpleWorker does).

    A bulk certificate chunk renders in a horse of its own: under its CPU-time limit, its memory returned when it
    ends. A notifications run, many times a minute on a Bimtek morning and a few milliseconds of work, does not
    pay for a fork: about 60 ms of CPU each instead of 13, on the CPU the app servers share, right after the
    commit whose page they are drawing."""

    #: set by the worker command before it starts (a WorkerPool's processes are forked with them): the queues run
    #: inline, and the app they run in
    inline_queues: frozenset[str] = frozenset()
    app: Any = None

    def execute_job(self, job: Any, queue: Any) -> None:
        if queue.name not in self.inline_queues:
            super().execute_job(job, queue)
            return
        self.prepare_execution(job)
        with self.app.app_context():  # (a context, and a database session, of the job's own: gone when it ends)
            self.perform_job(job, queue)
        self.set_state(WorkerStatus.IDLE)
