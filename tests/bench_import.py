"""Import benchmark (``make bench``): how long does a coordinator wait for a big spreadsheet?

A file of ``--rows`` outlets with their managers (default 5,000, spread over the five cities),
as CSV and as XLSX, into a freshly migrated SQLite file and, when reachable, PostgreSQL
(LMS_BENCH_PG_URL, default postgresql://postgres@127.0.0.1:5432/lms_bench_import, created and
emptied by this run). For each: the preview (parse + validate, nothing written), the confirm
(one transaction: outlets, accounts, set-up links, enrolments, summaries) and the same file
again (every row unchanged). Informational: the issue sets no target; the figures go in the notes.

Run: ``python -m tests.bench import`` (``--rows N``, ``--no-pg``).
"""
from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path
from typing import Any

PG_DEFAULT = "postgresql://postgres@127.0.0.1:5432/lms_bench_import"
CITIES = [("3171", "Gambir"), ("3172", "Koja"), ("3173", "Tambora"), ("3174", "Tebet"), ("3175", "Cakung")]


def _files(n: int) -> dict[str, bytes]:
    from tests.test_import import HEADER, csv_bytes, row, xlsx_bytes

    rows = [row(i, code=f"EW-B{i:05d}", kec=CITIES[i % 5][1], phone=f"0812{i:08d}") for i in range(1, n + 1)]
    return {"csv": csv_bytes([HEADER] + rows, delimiter=";", bom=True), "xlsx": xlsx_bytes(HEADER, rows)}


def _fresh_pg(url: str) -> str | None:
    import sqlalchemy as sa

    target = sa.engine.make_url(url)
    admin = sa.create_engine(target.set(database="postgres").render_as_string(hide_password=False)
                             .replace("postgresql://", "postgresql+psycopg://", 1), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)')
            conn.exec_driver_sql(f'CREATE DATABASE "{target.database}"')
    except sa.exc.OperationalError as e:
        print(f"  PostgreSQL not reachable ({str(e).splitlines()[0]}); skipped")
        return None
    finally:
        admin.dispose()
    return url


def _run_one(url: str, instance: Path, kind: str, data: bytes, n: int) -> dict[str, float]:
    from flask_migrate import upgrade

    from lms import create_app
    from lms.extensions import db
    from lms.imports import services
    from lms.permissions import SYSTEM
    from tests.factories import Factory

    app = create_app({"TESTING": True, "DATABASE_URL": url, "INSTANCE_PATH": str(instance),
                      "BASE_URL": "https://lms.dinsos.example.go.id"})
    with app.app_context():
        upgrade()
        cohort = Factory(db).cohort(regions=tuple(code for code, _k in CITIES))
        name = f"bench.{kind}"
        t0 = time.perf_counter()
        preview = services.preview_import(SYSTEM, data, name, cohort_id=cohort.id)
        t1 = time.perf_counter()
        assert preview.ok, "the benchmark file should be clean"
        result = services.apply_import(SYSTEM, data, name, cohort_id=cohort.id)
        t2 = time.perf_counter()
        assert result.counts["new_outlets"] == n
        again = services.apply_import(SYSTEM, data, name, cohort_id=cohort.id)
        t3 = time.perf_counter()
        assert again.counts["unchanged"] == n
        db.session.remove()
        db.engine.dispose()
    return {"preview": t1 - t0, "confirm": t2 - t1, "again": t3 - t2}


def main(argv: list[str]) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.bench import", description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=5000, help="rows in the file (default 5000)")
    p.add_argument("--no-pg", action="store_true", help="SQLite only")
    args = p.parse_args(argv)
    files = _files(args.rows)
    print(f"Import benchmark: {args.rows:,} outlets and managers; CSV {len(files['csv']) / 1e6:.1f} MB, "
          f"XLSX {len(files['xlsx']) / 1e6:.1f} MB", flush=True)
    results: list[tuple[str, str, dict[str, float]]] = []
    with tempfile.TemporaryDirectory(prefix="lms-bench-import-") as tmp:
        for kind, data in files.items():
            db_file = Path(tmp) / f"{kind}.sqlite3"
            results.append(("sqlite", kind, _run_one(f"sqlite:///{db_file}", Path(tmp) / "instance", kind, data,
                                                     args.rows)))
            print(f"  sqlite {kind}: done", flush=True)
        if not args.no_pg:
            for kind, data in files.items():
                url = _fresh_pg(os.environ.get("LMS_BENCH_PG_URL", PG_DEFAULT))
                if url is None:
                    break
                results.append(("postgresql", kind, _run_one(url, Path(tmp) / "instance", kind, data, args.rows)))
                print(f"  postgresql {kind}: done", flush=True)
    print(f"\n  {'database':<12}{'file':<6}{'preview s':>11}{'confirm s':>11}{'same file again s':>19}")
    for db_kind, kind, r in results:
        print(f"  {db_kind:<12}{kind:<6}{r['preview']:>11.1f}{r['confirm']:>11.1f}{r['again']:>19.1f}")
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main(sys.argv[1:]))
