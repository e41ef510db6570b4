"""Importing outlets and their managers from a spreadsheet: a preview, then all or nothing.

One row is one outlet (e-Warong) with its current manager (pengelola). Outlets are matched
by code, managers by e-mail, so importing the same file again updates instead of
duplicating. :func:`preview_import` writes nothing; :func:`apply_import` validates the file
again against the database as it is *now* and writes every row in one transaction, or none.

Existing rows are read in a few batched queries (never one per row), and the whole import
is audited as one ``outlets.imported`` entry, so a 20,000-row file stays quick.

The functions live in modules named after their idea (common, planning, applying, links); this
module gathers their public names so callers keep one import: ``from lms.imports import services``.
"""
from __future__ import annotations

from ..errors import Invalid, NotAllowed  # noqa: F401
from ..extensions import db  # noqa: F401
from .applying import apply_import  # noqa: F401
from .common import (  # noqa: F401
    AUDIT_CODES, CHUNK, ERROR, MAX_LEN, NEW, PREVIEW_ROWS, UNCHANGED, UPDATED, ImportRejected, ImportResult,
    NewManager, PlannedRow, Preview, RowError, cohorts_for_import, max_bytes,
)
from .links import TEMPLATE_HEADER, setup_url, template_rows  # noqa: F401
from .planning import preview_import, read_sheet  # noqa: F401
