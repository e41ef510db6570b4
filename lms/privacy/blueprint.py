"""The ``privacy`` blueprint; its routes live in the *_views modules, imported by views.py."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("privacy", __name__)
