"""Spreadsheet import of outlets and their managers (CSV/XLSX): preview, confirm, and a CLI twin."""
from flask import Blueprint

bp = Blueprint("imports", __name__)

from . import views  # noqa: E402,F401
