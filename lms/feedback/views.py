"""Session feedback and knowledge test pages. Thin: load, authorize, call a service."""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("feedback", __name__)
