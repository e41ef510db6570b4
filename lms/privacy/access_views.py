"""Routes of the privacy blueprint (see blueprint.py)."""
from __future__ import annotations

from .blueprint import bp  # noqa: F401
