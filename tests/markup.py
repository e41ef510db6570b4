"""Markup checks for the browser tests: a bounded crawl of the pages a role can reach, the Nu HTML
checker (vnu.jar, one Java run for every page collected) and axe-core in Chromium.

The checkers come from the npm registry (tests/tools/package.json, installed by `make test` into
tests/tools/node_modules, which is not committed); vnu needs a Java runtime (Debian's
default-jre-headless, in the Makefile's TEST_DEB).
"""
from __future__ import annotations

import contextvars
import json
import shutil
import subprocess
from collections import deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, Iterable
from urllib.parse import urldefrag, urljoin, urlsplit

import pytest

TOOLS = Path(__file__).parent / "tools" / "node_modules"
AXE_JS = TOOLS / "axe-core" / "axe.min.js"
VNU_JAR = TOOLS / "vnu-jar" / "build" / "dist" / "vnu.jar"
#: axe impacts that fail the test
FAILING_IMPACTS = ("serious", "critical")


def require_tools() -> None:
    missing = [str(p.relative_to(Path(__file__).parent.parent)) for p in (AXE_JS, VNU_JAR) if not p.exists()]
    if missing:
        pytest.fail(f"missing {', '.join(missing)}: `make test` installs them "
                    "(or: npm ci --ignore-scripts --prefix tests/tools)")
    if not shutil.which("java"):
        pytest.fail("no `java` on PATH: the Nu HTML checker needs a Java runtime "
                    "(`make test` installs Debian's default-jre-headless)")


class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            href = dict(attrs).get("href")
            if href:
                self.hrefs.append(href)


def links(html: str) -> list[str]:
    p = _Links()
    p.feed(html)
    return p.hrefs


@dataclass
class Page:
    role: str
    url: str
    status: int
    html: str
    endpoint: str


@dataclass
class Crawl:
    pages: list[Page] = field(default_factory=list)
    #: endpoint -> number of URLs fetched, per role
    per_rule: dict[tuple[str, str], int] = field(default_factory=dict)


def crawl(app: Any, client: Any, role: str, seeds: Iterable[str], result: Crawl, *, per_rule: int = 3,
          skip_endpoints: Iterable[str] = ()) -> None:
    """Breadth-first over same-site links from ``seeds`` with a signed-in Flask test client (its
    cookies), keeping the HTML answers. At most ``per_rule`` URLs per URL rule; GET only."""
    adapter = app.url_map.bind("localhost")
    skip = set(skip_endpoints)
    queue: deque[str] = deque(seeds)
    seen: set[str] = set()
    while queue:
        url = queue.popleft()
        if url in seen:
            continue
        seen.add(url)
        parts = urlsplit(url)
        try:
            endpoint, _args = adapter.match(parts.path, method="GET")
        except Exception:  # noqa: BLE001 - unknown or POST-only URLs are not followed
            continue
        if endpoint == "static" or endpoint in skip:
            continue
        key = (role, endpoint)
        if result.per_rule.get(key, 0) >= per_rule:
            continue
        result.per_rule[key] = result.per_rule.get(key, 0) + 1
        status, location, html = contextvars.Context().run(_fetch, client, url)
        if status in (301, 302, 303, 307, 308):
            target = _local(urljoin(url, location))
            if target:
                queue.appendleft(target)
            continue
        if html is None:
            continue
        result.pages.append(Page(role, url, status, html, endpoint))
        if status != 200:
            continue
        for href in links(html):
            target = _local(urljoin(url, href))
            if target and target not in seen:
                queue.append(target)


def _fetch(client: Any, url: str) -> tuple[int, str, str | None]:
    """GET ``url`` as a request of its own, read and closed in the same context: a streamed download
    (stream_with_context) must end in the context it started in. The HTML, or None for other types."""
    from flask.testing import FlaskClient

    with FlaskClient.open(client, url, method="GET") as resp:
        html = resp.get_data(as_text=True) if resp.mimetype == "text/html" else None
        if html is None:
            resp.get_data()
        return resp.status_code, resp.headers.get("Location", ""), html


def _local(url: str) -> str | None:
    """The path and query of a same-site URL, or None for other sites and other schemes."""
    url, _frag = urldefrag(url)
    parts = urlsplit(url)
    if parts.scheme not in ("", "http", "https") or parts.netloc not in ("", "localhost"):
        return None
    if not parts.path.startswith("/"):
        return None
    return parts.path + (f"?{parts.query}" if parts.query else "")


def vnu(pages: list[Page], folder: Path) -> list[str]:
    """Every page through the Nu HTML checker in one Java run; the errors, one line each."""
    folder.mkdir(parents=True, exist_ok=True)
    names: dict[str, Page] = {}
    for i, p in enumerate(pages):
        path = folder / f"{p.role}-{i:04d}.html"
        path.write_text(p.html, encoding="utf-8")
        names[path.name] = p
    out = subprocess.run(
        ["java", "-Xss8m", "-jar", str(VNU_JAR), "--errors-only", "--no-langdetect", "--exit-zero-always",
         "--format", "json", "--stdout", "--html", str(folder)],
        capture_output=True, text=True, timeout=300, check=True)
    messages = json.loads(out.stdout)["messages"]
    errors = []
    for m in messages:
        if m.get("type") != "error" and m.get("subType") != "fatal":
            continue
        page = names.get(m.get("url", "").rsplit("/", 1)[-1])
        where = f"{page.role} {page.url}" if page else m.get("url", "?")
        errors.append(f"{where}:{m.get('lastLine', '?')}: {m.get('message')} | {m.get('extract', '').strip()[:160]}")
    return errors


def axe(page: Any, impacts: tuple[str, ...] = FAILING_IMPACTS) -> list[str]:
    """axe-core on the page loaded in ``page``: its violations of the given impacts, one line each."""
    page.add_script_tag(path=str(AXE_JS))
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                       nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [f"{v['impact']} {v['id']}: {v['help']} at {', '.join(v['nodes'])}"
            for v in result if v["impact"] in impacts]
