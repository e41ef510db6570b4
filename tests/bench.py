"""``make bench``: run the benchmarks. ``python -m tests.bench [name …] [--options]`` runs only those named
(options go to each of them).

Each area registers its benchmark here as name -> "module:function" (the function takes argv
and returns an exit code). Keep this file a small dispatcher.
"""
from __future__ import annotations

import importlib
import logging
import sys

BENCHMARKS = {
    "api": "tests.bench_api:main",
    "certificates": "tests.bench_certificates:main",
    "dashboard": "tests.bench_dashboard:main",
    "import": "tests.bench_import:main",
    "load": "tests.bench_load:main",
    "notifications": "tests.bench_notifications:main",
}


def main(argv: list[str]) -> int:
    split = next((i for i, a in enumerate(argv) if a.startswith("-")), len(argv))
    names, options = argv[:split] or list(BENCHMARKS), argv[split:]
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        print(f"unknown benchmark(s): {', '.join(unknown)}; known: {', '.join(BENCHMARKS)}", file=sys.stderr)
        return 2
    # the apps measured in this process would write an access line per request to the terminal, inside
    # the timed requests and between the figures (the servers the benchmarks start log to their own files)
    logging.getLogger("lms.access").setLevel(logging.WARNING)
    status = 0
    for name in names:
        module, func = BENCHMARKS[name].split(":")
        status |= int(getattr(importlib.import_module(module), func)(options) or 0)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
