"""Certificates: Bimtek attendance and 7 PAS completion, as verifiable PDFs (GitHub issue #6)."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask

log = logging.getLogger(__name__)


def load_designs(app: Flask) -> None:
    """Validate every design in certificates/ and keep them by kind; raise DesignError on any problem."""
    from .designs import load_dir

    root = Path(app.root_path).parent
    directory = app.config.get("CERTIFICATE_DESIGNS_DIR") or str(root / "certificates")
    signatories: Any = app.config.get("CERTIFICATE_SIGNATORIES") or None
    app.extensions["lms.certificate_designs"] = load_dir(directory, signatories)


def warn_if_slow_fonts(app: Flask) -> None:
    import ctypes.util

    if ctypes.util.find_library("harfbuzz-subset") is None:
        app.logger.warning(
            "libharfbuzz-subset is missing: WeasyPrint will subset fonts with fontTools, which makes "
            "certificates several times slower to render. Install Debian's libharfbuzz-subset0 (make sysdeps).")


def init_app(app: Flask) -> None:
    from .branding_views import bp as branding_bp
    from .jobs import worker_command

    app.cli.add_command(worker_command)
    app.register_blueprint(branding_bp)  # the admins' branding pages (/admin/branding)
