"""The append-only audit log: recording (services.py), the admins' viewer (views.py, browse.py).

``bp`` (the viewer's blueprint) is imported on first use: the models are imported early by
lms/models.py, and the views need most of the application.
"""
from __future__ import annotations

from typing import Any


def __getattr__(name: str) -> Any:
    if name == "bp":
        from .views import bp

        return bp
    raise AttributeError(name)
