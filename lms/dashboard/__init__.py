"""The coordinator dashboard: maintained summaries, charts and the drill-down list."""
from flask import Blueprint

bp = Blueprint("dashboard", __name__)

from . import views  # noqa: E402,F401
