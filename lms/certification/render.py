"""Certificate PDFs: one function that turns a design and plain data into PDF bytes.

No Flask and no database here: the render runs in worker processes (a small process pool
in the web process, or an RQ work horse) that receive a design path and a dict of texts.

Safety: the Jinja environment autoescapes every value; the URL fetcher serves only the
design folder's own files and ``data:`` URIs (no other file, no network, no redirects);
CSS is passed as a pre-parsed stylesheet, never interpolated into the HTML; and a render
has a CPU-time limit.

Speed: WeasyPrint is imported once per process, and each design's FontConfiguration and
parsed CSS are made once per process and reused for every certificate.
"""
from __future__ import annotations

import contextlib
import ctypes.util
import logging
import mimetypes
import os
import signal
import threading
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator
from urllib.parse import unquote, urlsplit

import segno
from weasyprint import CSS, HTML
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from . import signing  # pyHanko too is imported once, before the render processes fork
from .designs import Design, parse, template_env

log = logging.getLogger(__name__)

#: default CPU seconds one certificate may take to render
DEFAULT_TIME_LIMIT = 20.0


class RenderError(Exception):
    """The certificate could not be rendered; the message says why (shown to coordinators)."""


class RenderTimeout(RenderError):
    pass


class RefusedURL(ValueError):
    """The renderer asked for something outside the design folder."""


def harfbuzz_subset_available() -> bool:
    """WeasyPrint subsets fonts with libharfbuzz-subset; without it, with slow fontTools."""
    return ctypes.util.find_library("harfbuzz-subset") is not None


# --- the URL fetcher ------------------------------------------------------------------------

class DesignFetcher(URLFetcher):
    """Serves the design folder's own files and ``data:`` URIs; refuses everything else."""

    def __init__(self, root: Path | str):
        super().__init__(allowed_protocols={"file", "data"}, allow_redirects=False, fail_on_errors=True)
        self.root = Path(root).resolve()
        #: URLs refused during this fetcher's life (for tests and logs)
        self.refused: list[str] = []

    def _refuse(self, url: str, why: str) -> RefusedURL:
        self.refused.append(url)
        log.warning("certificate render refused %s (%s)", url[:200], why)
        return RefusedURL(f"refused {url[:120]}: {why}")

    def fetch(self, url: str, headers: Any = None) -> URLFetcherResponse:  # type: ignore[override]
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme == "data":
            return super().fetch(url, headers)
        if scheme != "file":
            raise self._refuse(url, "only the design's own files and data: URIs may be used")
        if parts.netloc not in ("", "localhost"):
            raise self._refuse(url, "remote file host")
        try:
            target = Path(unquote(parts.path)).resolve(strict=True)
        except (OSError, RuntimeError):
            raise self._refuse(url, "no such file in the design folder") from None
        if not target.is_relative_to(self.root) or not target.is_file():
            raise self._refuse(url, "outside the design folder")
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return URLFetcherResponse(target.as_uri(), body=target.read_bytes(), headers={"Content-Type": mime})


# --- per-process caches ----------------------------------------------------------------------

@dataclass
class _Prepared:
    design: Design
    template: Any
    css: CSS
    font_config: FontConfiguration
    fetcher: DesignFetcher


_prepared: dict[str, _Prepared] = {}
_prepared_lock = threading.Lock()


def prepare(design: Design | str) -> _Prepared:
    """The design's template, parsed CSS and font configuration, made once per process."""
    key = str(design.path if isinstance(design, Design) else Path(design).resolve())
    prep = _prepared.get(key)
    if prep is not None:
        return prep
    with _prepared_lock:
        prep = _prepared.get(key)
        if prep is None:
            d = design if isinstance(design, Design) else parse(Path(key))
            fetcher = DesignFetcher(d.path)
            font_config = FontConfiguration()
            css = CSS(string=(d.path / "style.css").read_text(encoding="utf-8"), base_url=d.path.as_uri() + "/",
                      url_fetcher=fetcher, font_config=font_config)
            template = template_env(str(d.path)).get_template("template.html")
            prep = _Prepared(d, template, css, font_config, fetcher)
            _prepared[key] = prep
    return prep


def qr_data_uri(url: str) -> str:
    """The QR code of ``url`` as an SVG ``data:`` URI (vector: sharp at any print size)."""
    return segno.make(url, error="m", micro=False).svg_data_uri(dark="#14213d", border=0, xmldecl=False,
                                                                 nl=False)


def html_for(design: Design | str, context: dict[str, Any]) -> str:
    prep = prepare(design)
    values = dict(context)
    values["qr"] = qr_data_uri(context["verify_url"])
    return str(prep.template.render(**values))


@contextlib.contextmanager
def cpu_time_limit(seconds: float | None) -> Iterator[None]:
    """Raise RenderTimeout when the block uses more than ``seconds`` of CPU time.

    Uses SIGVTALRM (process CPU time), so it does not disturb RQ's own SIGALRM job timeout.
    Signals work only in the main thread; elsewhere the caller's wall-clock limit applies.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    message = f"rendering took more than {seconds:g} s of CPU time"
    expired = False

    def _expired(signum: int, frame: Any) -> None:
        nonlocal expired
        expired = True
        # An exception raised inside a finaliser or garbage-collector callback is swallowed
        # ("Exception ignored in …"); try again a moment later, outside it.
        name = frame.f_code.co_name if frame is not None else ""
        if name == "__del__" or name.endswith("gced") or "callback" in name:
            signal.setitimer(signal.ITIMER_VIRTUAL, 0.001)
            return
        raise RenderTimeout(message)

    previous = signal.signal(signal.SIGVTALRM, _expired)
    signal.setitimer(signal.ITIMER_VIRTUAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        signal.signal(signal.SIGVTALRM, previous)
    if expired:  # the block finished, but past its limit: still a timeout
        raise RenderTimeout(message)


def render_pdf(design: Design | str, context: dict[str, Any], time_limit: float | None = DEFAULT_TIME_LIMIT,
               *, archival: bool = True) -> bytes:
    """The certificate PDF for ``context`` (plain texts: see certificates/README.md).

    ``archival``: PDF/A-3b, tagged, with ``context["credential_json"]`` attached, and signed when
    ``context["signing"]`` names the key (signing.py); False only for the benchmark's plain PDF."""
    prep = prepare(design)
    try:
        with cpu_time_limit(time_limit):
            html = html_for(prep.design, context)
            document = HTML(string=html, base_url=prep.design.path.as_uri() + "/", url_fetcher=prep.fetcher)
            options = signing.pdf_options(context, prep.fetcher) if archival else {}
            pdf = bytes(document.write_pdf(stylesheets=[prep.css], font_config=prep.font_config, **options))
            return signing.sign_rendered(pdf, context) if archival else pdf
    except RenderError:
        raise
    except FatalURLFetchingError as e:  # a BaseException in WeasyPrint: turn it into an ordinary error
        raise RenderError(f"the design asked for a forbidden or missing resource: {e.__cause__ or e}") from None
    except Exception as e:
        raise RenderError(f"{type(e).__name__}: {e}") from None


# --- a process pool for rendering -----------------------------------------------------------

def _worker_init() -> None:
    # The parent handles Ctrl-C; workers just stop with it.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _render_task(design_path: str, context: dict[str, Any], time_limit: float | None) -> bytes:
    return render_pdf(design_path, context, time_limit)


class RenderPool:
    """A few render processes (forkserver: WeasyPrint is imported once, before the fork).

    Every ``max_tasks_per_child`` × ``processes`` renders the pool's executor is retired (it
    finishes what it has, then its processes exit) and a fresh one takes new work: WeasyPrint
    keeps some native memory per render, so render processes must not live for ever. (Not
    ProcessPoolExecutor's own max_tasks_per_child: on Python 3.11 it can hang the pool.)
    """

    def __init__(self, processes: int, max_tasks_per_child: int | None = None):
        import multiprocessing

        self._ctx = multiprocessing.get_context("forkserver")
        self._ctx.set_forkserver_preload(["lms.certification.render"])
        self.processes = processes
        self._per_executor = max_tasks_per_child * processes if max_tasks_per_child else None
        self._lock = threading.Lock()
        self._submitted = 0
        self._executor = self._new_executor()

    def _new_executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.processes, mp_context=self._ctx, initializer=_worker_init)

    def submit(self, design_path: str, context: dict[str, Any], time_limit: float | None) -> Future[bytes]:
        with self._lock:
            if self._per_executor is not None and self._submitted >= self._per_executor:
                retired, self._executor = self._executor, self._new_executor()
                retired.shutdown(wait=False)  # its queued renders still complete
                self._submitted = 0
            self._submitted += 1
            return self._executor.submit(_render_task, design_path, context, time_limit)

    def process_ids(self) -> list[int]:
        return [p.pid for p in list(getattr(self._executor, "_processes", {}).values())]

    def kill(self) -> None:
        """Stop at once, even with a render stuck (used when the wall-clock limit passes)."""
        for p in list(getattr(self._executor, "_processes", {}).values()):
            with contextlib.suppress(Exception):
                p.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)


_pool: RenderPool | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()


def pool(processes: int = 2, max_tasks_per_child: int | None = None) -> RenderPool:
    """This process's render pool (made on first use)."""
    global _pool, _pool_pid
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool = RenderPool(processes, max_tasks_per_child)
            _pool_pid = os.getpid()
            import atexit

            atexit.register(shutdown_pool)
        return _pool


def reset_pool() -> None:
    """Throw the pool away (a render hung or a worker died); the next call makes a new one."""
    global _pool
    with _pool_lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.kill()
        _pool = None


def shutdown_pool() -> None:
    global _pool
    with _pool_lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.shutdown()
        _pool = None
