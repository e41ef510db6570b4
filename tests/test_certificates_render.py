"""Safety while rendering: the URL fetcher serves only the design folder and data: URIs."""
from __future__ import annotations

import http.server
import shutil
import threading
import urllib.request
from pathlib import Path

import pytest

from lms.certification import render
from lms.certification.designs import load_dir, sample_context

DESIGNS = Path(__file__).resolve().parents[1] / "certificates"


@pytest.fixture
def http_server():  # type: ignore[no-untyped-def]
    """A local HTTP server that counts the requests it gets."""
    hits: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            hits.append(self.path)
            self.send_response(302)
            self.send_header("Location", "file:///etc/passwd")
            self.end_headers()

        def log_message(self, *args) -> None:  # type: ignore[no-untyped-def]
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.hits = hits  # type: ignore[attr-defined]
    server.url = f"http://127.0.0.1:{server.server_port}"  # type: ignore[attr-defined]
    yield server
    server.shutdown()
    server.server_close()
    thread.join(5)


@pytest.mark.parametrize("url", [
    "file:///etc/passwd",
    "file://localhost/etc/hostname",
    "file://otherhost/etc/passwd",
    "http://127.0.0.1:9/x.png",
    "https://example.org/x.png",
    "ftp://example.org/x",
    "javascript:alert(1)",
])
def test_the_fetcher_refuses_anything_outside_the_design(url):
    fetcher = render.DesignFetcher(DESIGNS / "bimtek")
    with pytest.raises(render.RefusedURL):
        fetcher.fetch(url)
    assert fetcher.refused == [url]


def test_the_fetcher_refuses_paths_that_climb_out_or_links_that_point_out(tmp_path):
    design = tmp_path / "bimtek"
    shutil.copytree(DESIGNS / "bimtek", design)
    (design / "sneaky.svg").symlink_to("/etc/passwd")
    fetcher = render.DesignFetcher(design)
    depth = "/".join([".."] * (len(design.parts) + 2))
    for url in (design.as_uri() + f"/fonts/{depth}/etc/passwd",
                design.as_uri() + "/fonts/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
                (design / "sneaky.svg").as_uri(),
                (design / "nope.png").as_uri()):
        with pytest.raises(render.RefusedURL):
            fetcher.fetch(url)


def test_the_fetcher_serves_the_design_files_and_data_uris():
    fetcher = render.DesignFetcher(DESIGNS / "bimtek")
    font = fetcher.fetch((DESIGNS / "bimtek" / "fonts" / "EBGaramond12-Regular.ttf").as_uri())
    assert font.read()[:4] in (b"\x00\x01\x00\x00", b"OTTO", b"true")
    font.close()
    data = fetcher.fetch("data:text/plain;base64,aGFsbw==")
    assert data.read() == b"halo"
    data.close()
    assert not any(isinstance(h, urllib.request.HTTPRedirectHandler) for h in fetcher.handlers)


def _design_copy(tmp_path: Path, extra_html: str) -> Path:
    design = tmp_path / "bimtek"
    shutil.copytree(DESIGNS / "bimtek", design)
    tpl = design / "template.html"
    tpl.write_text(tpl.read_text().replace("</body>", extra_html + "\n</body>"))
    return design


@pytest.mark.parametrize("resource", ["http", "https", "file"])
def test_a_design_that_asks_for_an_outside_resource_fails_to_render_and_fetches_nothing(tmp_path, http_server,
                                                                                          resource):
    src = {"http": f"{http_server.url}/tracker.png",
           "https": f"https://127.0.0.1:{http_server.server_port}/tracker.png",
           "file": "file:///etc/passwd"}[resource]
    design = _design_copy(tmp_path, f'<img src="{src}" alt="">')
    ctx = sample_context(load_dir(DESIGNS)["bimtek"])
    with pytest.raises(render.RenderError) as e:
        render.render_pdf(str(design), ctx)
    assert "forbidden or missing resource" in str(e.value)
    assert http_server.hits == []


def test_user_values_are_escaped_never_markup(tmp_path):
    design = load_dir(DESIGNS)["bimtek"]
    ctx = sample_context(design)
    ctx["holder_name"] = '<img src="file:///etc/passwd">'
    ctx["outlet_name"] = '</p><link rel="stylesheet" href="http://127.0.0.1:9/x.css">'
    html = render.html_for(design, ctx)
    assert '<img src="file:///etc/passwd">' not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "<link" not in html
    pdf = render.render_pdf(design, ctx)
    import subprocess

    text = subprocess.run(["pdftotext", "-", "-"], input=pdf, capture_output=True, check=True).stdout.decode()
    assert '<img src="file:///etc/passwd">' in text


def test_css_is_a_parsed_stylesheet_not_part_of_the_html():
    design = load_dir(DESIGNS)["bimtek"]
    html = render.html_for(design, sample_context(design))
    assert "<style" not in html.lower() and "@font-face" not in html
    prep = render.prepare(design)
    assert prep.css is render.prepare(design).css  # parsed once per process
    assert prep.font_config is render.prepare(design).font_config


def test_the_render_pool_replaces_its_processes_without_hanging():
    """Render processes are retired every few renders (WeasyPrint keeps native memory per render)."""
    design = load_dir(DESIGNS)["bimtek"]
    pool = render.RenderPool(2, max_tasks_per_child=2)
    try:
        first = set()
        futures = []
        for i in range(12):
            futures.append(pool.submit(str(design.path), sample_context(design), 20))
            if i == 0:
                futures[0].result(timeout=60)
                first = set(pool.process_ids())
        assert all(f.result(timeout=60).startswith(b"%PDF") for f in futures)
        assert first and not first & set(pool.process_ids())
    finally:
        pool.shutdown()
