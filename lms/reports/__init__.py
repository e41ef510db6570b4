"""Exports of the programme's data (CSV and XLSX, streamed): the "Ekspor data" page.

The blueprint is ``reports`` (lms/reports/views.py); the datasets are in services.py.
"""
from __future__ import annotations

from .views import bp

__all__ = ["bp"]
