"""Certificate benchmark (``make bench``): how fast and how lean is rendering 253 certificates?

1. Our renderer vs bare WeasyPrint on the same 253 HTML pages, side by side in one run
   (alternating, so all see the same machine load). Bare WeasyPrint is what one writes
   without care: ``HTML(string=…).write_pdf(stylesheets=[CSS(filename=style.css)])``, which
   parses the stylesheet and loads the fonts for every certificate. Target: ours ≤ 1.1× bare.
   Alongside, the certificate as it is stored: PDF/A-3b, tagged, the credential attached and
   signed (PAdES B-B, lms/certification/signing.py). Target: signed ≤ 1.2× our plain PDF.
2. A whole bulk run (issue + render + store, 253 certificates) rendered in one process vs
   the in-process worker with a pool of two render processes: the gain from both cores.
3. Memory: resident size of one process every 100 renders over 1,000 renders.

Run: ``python -m tests.bench certificates`` (or ``make bench``). Options: --n, --renders.
"""
from __future__ import annotations

import argparse
import ctypes.util
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def rss_mb(pid: int | None = None) -> float:
    with open(f"/proc/{pid or os.getpid()}/statm") as f:
        pages = int(f.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def _app(tmp: Path):  # type: ignore[no-untyped-def]
    from flask_migrate import upgrade

    from lms import create_app

    app = create_app({"TESTING": True, "DATABASE_URL": f"sqlite:///{tmp / 'bench.sqlite3'}",
                      "INSTANCE_PATH": str(tmp / "instance"), "BASE_URL": "https://lms.dinsos.example.go.id"})
    return app, upgrade


def _world(n: int) -> tuple[Any, Any, list[Any]]:
    """Two finished Bimtek sessions (10 and 11 April 2018) with the same n managers present."""
    from lms.extensions import db
    from tests.factories import Factory

    f = Factory(db)
    cohort = f.cohort(name="e-Warong DKI Jakarta 2018 (bench)")
    a = f.session(cohort=cohort, title="Bimtek e-Warong DKI Jakarta, hari 1", capacity=1000)
    b = f.session(cohort=cohort, title="Bimtek e-Warong DKI Jakarta, hari 2", capacity=1000)
    people = []
    for i in range(n):
        region = ("3171", "3172", "3173", "3174", "3175")[i % 5]
        u = f.user("trainee", region=region, full_name=f"Pengelola e-Warong Nomor {i + 1:03d}")
        f.register(a, u)
        f.register(b, u)
        people.append(u)
    return a, b, people


def bench(n: int = 253, renders: int = 1000) -> dict[str, Any]:
    from weasyprint import CSS, HTML

    from lms.certification import jobs, render, services
    from lms.certification.models import CertificateJob
    from lms.extensions import db
    from lms.permissions import SYSTEM

    out: dict[str, Any] = {"harfbuzz_subset": ctypes.util.find_library("harfbuzz-subset") is not None,
                           "cores": os.cpu_count()}
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        app, upgrade = _app(tmp)
        with app.app_context():
            upgrade()
            t = time.perf_counter()
            session_a, session_b, people = _world(n)
            out["setup_s"] = time.perf_counter() - t
            design = services.design_for("bimtek")

            # --- 1. side by side, one process ---------------------------------------------------
            t = time.perf_counter()
            certs = [services.issue_for_session(SYSTEM, design, session_a, u).certificate for u in people]
            out["issue_s"] = time.perf_counter() - t
            contexts = [services.render_context(c) for c in certs]
            t = time.perf_counter()
            signed_contexts = [jobs.render_context(c) for c in certs]  # makes each credential (lms.credentials)
            out["credentials_s"] = time.perf_counter() - t
            html_pages = [render.html_for(design, ctx) for ctx in contexts]
            style = str(design.path / "style.css")
            base = design.path.as_uri() + "/"

            def ours(i: int) -> bytes:
                return render.render_pdf(design, contexts[i], archival=False)

            def signed(i: int) -> bytes:
                return render.render_pdf(design, signed_contexts[i])

            def bare(i: int) -> bytes:
                return HTML(string=html_pages[i], base_url=base).write_pdf(stylesheets=[CSS(filename=style)])

            for i in range(3):  # warm all up (imports, font caches, the signing key)
                ours(i), bare(i), signed(i)
            t_ours: list[float] = []
            t_bare: list[float] = []
            t_signed: list[float] = []
            cpu: dict[Any, list[float]] = {ours: [], bare: [], signed: []}  # CPU time: less shaken by other load
            order = [(ours, t_ours), (bare, t_bare), (signed, t_signed)]
            for i in range(n):
                for fn, times in order[i % 3:] + order[:i % 3]:
                    s, c = time.perf_counter(), time.process_time()
                    fn(i)
                    times.append(time.perf_counter() - s)
                    cpu[fn].append(time.process_time() - c)
            out["cpu_median_ms"] = {fn.__name__: statistics.median(v) * 1000 for fn, v in cpu.items()}
            out["ours_s"], out["bare_s"], out["signed_s"] = sum(t_ours), sum(t_bare), sum(t_signed)
            out["ratio"] = out["ours_s"] / out["bare_s"]
            out["signed_ratio"] = out["signed_s"] / out["ours_s"]
            out["ours_median_ms"] = statistics.median(t_ours) * 1000
            out["bare_median_ms"] = statistics.median(t_bare) * 1000
            out["signed_median_ms"] = statistics.median(t_signed) * 1000
            out["sizes"] = (len(ours(0)), len(signed(0)))

            # --- 2. a whole bulk run: one process vs a pool of two ---------------------------------
            db.session.commit()
            coordinator = SYSTEM
            runs = {}
            for label, session, processes in (("1 process", session_a, 0), ("pool of 2", session_b, 2)):
                app.config["CERTIFICATE_RENDER_PROCESSES"] = processes
                if processes:
                    render.pool(processes).submit(str(design.path), signed_contexts[0], 20).result()  # start the pool
                t = time.perf_counter()
                job = _run(services, jobs, design, session, people, coordinator)
                runs[label] = time.perf_counter() - t
                job_row = db.session.get(CertificateJob, job)
                assert job_row is not None and job_row.done == n and job_row.failed == 0, (
                    label, job_row.done, job_row.failed, [i.error for i in job_row.items if i.error][:3])
            out["bulk_1_s"] = runs["1 process"]
            out["bulk_2_s"] = runs["pool of 2"]
            out["bulk_speedup"] = runs["1 process"] / runs["pool of 2"]
            render.shutdown_pool()

            # --- 3. memory over many renders -------------------------------------------------------
            # a) the way the app renders: a pool of two processes, each replaced after
            #    CERTIFICATE_RENDER_MAX_TASKS_PER_CHILD certificates; the web process renders nothing
            per_child = app.config["CERTIFICATE_RENDER_MAX_TASKS_PER_CHILD"]
            pool = render.RenderPool(2, per_child)
            pool_samples = []
            for i in range(0, renders, 100):
                futures = [pool.submit(str(design.path), signed_contexts[k % n], 20)
                           for k in range(i, min(renders, i + 100))]
                for fut in futures:
                    fut.result()
                children: list[float] = []
                for _try in range(20):  # a render process may be between being replaced and its successor
                    try:
                        children = [rss_mb(pid) for pid in pool.process_ids()]
                    except FileNotFoundError:
                        children = []
                    if children:
                        break
                    pool.submit(str(design.path), signed_contexts[0], 20).result()
                pool_samples.append((min(renders, i + 100), rss_mb(), max(children) if children else 0.0))
            pool.shutdown()
            out["pool_rss"] = pool_samples
            out["per_child"] = per_child
            # b) one process rendering all of them (no recycling), to show what recycling is for
            samples = [(0, rss_mb())]
            for i in range(1, renders + 1):
                render.render_pdf(design, signed_contexts[i % n])
                if i % 100 == 0:
                    samples.append((i, rss_mb()))
            out["rss"] = samples
            db.session.remove()
            db.engine.dispose()
    return out


def _run(services: Any, jobs: Any, design: Any, session: Any, people: list[Any], actor: Any) -> int:
    """A bulk run for ``session`` through the in-process worker, as the web app does it; wait for it."""
    from lms.extensions import db

    candidates = services.session_candidates(actor, design, session)
    if not any(c.eligible and not c.issued for c in candidates):
        # session A: certificates were issued for the side-by-side test; drop their PDFs so the run renders them
        from lms.certification.models import Certificate

        db.session.execute(db.update(Certificate).where(Certificate.session_id == session.id)
                           .values(pdf_path=None, pdf_sha256=None, pdf_size=None, rendered_at=None))
        db.session.commit()
        candidates = [services.Candidate(holder=c.holder, subject_id=c.subject_id, outlet=c.outlet, eligible=True,
                                         reason=None) for c in candidates if c.eligible]
    job = services._start_job(actor, design, candidates, scope="session", title=session.title, session_id=session.id,
                              cohort_id=session.cohort_id, region_id=session.region_id, ip=None)
    job_id = int(job.id)
    jobs.WORKER.join()
    db.session.commit()  # end this thread's read snapshot: see what the worker wrote
    return job_id


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench certificates", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=253, help="certificates (default 253, the 2018 managers)")
    p.add_argument("--renders", type=int, default=1000, help="renders for the memory check (default 1000)")
    args = p.parse_args(argv)
    print(f"Certificates benchmark: {args.n} certificates, {args.renders} renders for memory", flush=True)
    r = bench(args.n, args.renders)
    print(f"  cores: {r['cores']}; libharfbuzz-subset: {'yes' if r['harfbuzz_subset'] else 'NO (slow fontTools subsetting)'}")
    print(f"  setup {r['setup_s']:.1f} s; issuing {args.n} certificates (numbers, audit): {r['issue_s']:.2f} s")
    print(f"  1. side by side, one process, {args.n} PDFs each:")
    print(f"     ours   {r['ours_s']:7.2f} s  (median {r['ours_median_ms']:.0f} ms; a plain PDF)")
    print(f"     bare   {r['bare_s']:7.2f} s  (median {r['bare_median_ms']:.0f} ms)")
    verdict = "OK" if r["ratio"] <= 1.1 else "OVER TARGET"
    print(f"     ours / bare = {r['ratio']:.2f}x  (target <= 1.10x: {verdict})")
    print(f"     stored: PDF/A-3b, tagged, credential attached, signed (PAdES B-B), {args.n} PDFs:")
    print(f"     signed {r['signed_s']:7.2f} s  (median {r['signed_median_ms']:.0f} ms); "
          f"{r['sizes'][0] / 1024:.0f} KB plain, {r['sizes'][1] / 1024:.0f} KB signed")
    c = r["cpu_median_ms"]
    print(f"     CPU time, median: ours {c['ours']:.0f} ms, bare {c['bare']:.0f} ms, signed {c['signed']:.0f} ms "
          f"(signed / ours {c['signed'] / c['ours']:.2f}x)")
    signed_verdict = "OK" if r["signed_ratio"] <= 1.2 else "OVER TARGET"
    print(f"     signed / ours = {r['signed_ratio']:.2f}x  (target <= 1.20x: {signed_verdict}); "
          f"making {args.n} credentials first: {r['credentials_s']:.2f} s")
    print(f"  2. bulk run (issue + render + store) of {args.n}:")
    print(f"     one process  {r['bulk_1_s']:7.2f} s  ({args.n / r['bulk_1_s']:.1f} certificates/s)")
    print(f"     pool of 2    {r['bulk_2_s']:7.2f} s  ({args.n / r['bulk_2_s']:.1f} certificates/s)")
    print(f"     speed-up from the second core: {r['bulk_speedup']:.2f}x")
    print(f"  3. resident memory over {args.renders} renders (MB, every 100):")
    pool_rss = r["pool_rss"]
    print(f"     as the app renders (pool of 2, a render process replaced every {r['per_child']} certificates):")
    print("       web process   " + " ".join(f"{web:4.0f}" for _i, web, _c in pool_rss))
    print("       render proc.  " + " ".join(f"{child:4.0f}" for _i, _w, child in pool_rss))
    rss = r["rss"]
    print("     one process, never replaced (for comparison):")
    print("       " + " ".join(f"{m:4.0f}" for _i, m in rss))
    growth = rss[-1][1] - rss[1][1] if len(rss) > 2 else 0.0
    print(f"       growth after the first 100: {growth:+.1f} MB (native memory WeasyPrint/Pango keep per render)")
    return 0 if r["ratio"] <= 1.1 and r["signed_ratio"] <= 1.2 else 1


if __name__ == "__main__":
    sys.exit(main())
