"""Ask before an irreversible or wide action, without JavaScript.

The first POST (or a GET link) to an action's URL renders a confirm page that lists what will happen;
the form on that page posts again with ``confirmed=1``. A view acts only when ``is_confirmed()`` is true.
Template and convention: templates/macros/confirm.html.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from flask import render_template, request


def is_confirmed() -> bool:
    """True only for a POST whose form carries ``confirmed=1`` (the CSRF check is the view's form's job)."""
    return request.method == "POST" and request.form.get("confirmed") == "1"


def render_confirm(*, action_url: str, title: str, consequences: Iterable[Any], button_label: str,
                   cancel_url: str, hidden: Mapping[str, Any] | None = None, danger: bool = True,
                   intro: str | None = None, status: int = 200) -> tuple[str, int]:
    """The whole confirm page (templates/confirm.html), ready to return from a view."""
    return render_template("confirm.html", action_url=action_url, title=title, consequences=list(consequences),
                           button_label=button_label, cancel_url=cancel_url, hidden=dict(hidden or {}),
                           danger=danger, intro=intro), status
