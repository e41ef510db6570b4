"""Cursor pagination with a stable order, and the list arguments every list shares.

A list is read in one of two stable orders:

* by ``id`` (the default): new rows get higher ids, so rows inserted while a client pages never
  push others across a page boundary: no row comes twice, none present at the start is skipped;
* by ``(updated_at, id)`` when ``updated_since`` is given (incremental sync): every row changed
  since then comes once, oldest change first; a row changed again while the client pages moves
  to the end and comes again with its new content, which is what a sync wants.

The cursor is opaque to clients (base64url of the last row's sort key and the order's name);
``limit`` is 1–200 (default 50). The body carries ``next`` (the next page's URL, null on the last
page) and the ``Link`` header the same URL with ``rel="next"``.
"""
from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Callable, Sequence

import marshmallow as ma
import sqlalchemy as sa
from flask import request, url_for
from flask_babel import gettext as _

from .auth import ApiProblem

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
BY_ID = "id"
BY_UPDATED = "updated"


class ListArgs(ma.Schema):
    """The arguments every list takes."""

    limit = ma.fields.Integer(load_default=DEFAULT_LIMIT, validate=ma.validate.Range(1, MAX_LIMIT),
                              metadata={"description": "Rows per page, 1–200 (default 50)."})
    cursor = ma.fields.String(validate=ma.validate.Length(max=200),
                              metadata={"description": "The `next_cursor` of the previous page (opaque)."})
    updated_since = ma.fields.AwareDateTime(
        default_timezone=timezone.utc,
        metadata={"description": "ISO 8601; only rows changed at or after this time, oldest change first "
                                 "(a time without offset is UTC). For incremental sync."})


@dataclass
class Page:
    items: list[Any]
    next_cursor: str | None

    def body(self, items: list[Any]) -> dict[str, Any]:
        nxt = None
        if self.next_cursor:
            args = request.args.to_dict()
            args["cursor"] = self.next_cursor
            nxt = url_for(request.endpoint, **(request.view_args or {}), **args, _external=True)  # type: ignore[arg-type]
        return {"items": items, "next": nxt, "next_cursor": self.next_cursor}


def _encode(order: str, values: list[Any]) -> str:
    raw = json.dumps([order, *values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _bad_cursor() -> ApiProblem:
    return ApiProblem(422, slug="validation", errors=[{"field": "cursor", "in": "query",
                                                        "detail": _("Cursor tidak dikenal; mulai lagi tanpa cursor.")}])


def _decode(cursor: str, order: str) -> list[Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
    except (ValueError, TypeError):
        raise _bad_cursor() from None
    if not isinstance(data, list) or not data or data[0] != order:
        raise _bad_cursor()
    values = data[1:]
    if order == BY_ID:
        if len(values) != 1 or not isinstance(values[0], int) or isinstance(values[0], bool) \
                or not 0 <= values[0] < 2**63:
            raise _bad_cursor()
        return values
    if len(values) != 2 or not isinstance(values[0], str) or not isinstance(values[1], int) \
            or isinstance(values[1], bool) or not 0 <= values[1] < 2**63:
        raise _bad_cursor()
    try:
        at = datetime.fromisoformat(values[0])
    except ValueError:
        raise _bad_cursor() from None
    if at.tzinfo is None:
        raise _bad_cursor()
    return [at, values[1]]


def paginate(query: sa.Select[Any], model: Any, args: dict[str, Any], *,
             options: Sequence[Any] = (), unique: bool = False, rows_of_columns: bool = False,
             after: Callable[[list[Any]], None] | None = None) -> Page:
    """One page of ``query`` (already filtered by the rulebook's scope) in a stable order.

    ``model`` must have ``id`` and ``updated_at``. One query for the rows (plus what ``options``
    load eagerly), whatever the size of the table. With ``rows_of_columns`` the query selects named
    columns (which must include ``id`` and ``updated_at``) and the page holds rows: lists that only
    present read just their columns, a fraction of the cost of building ORM objects."""
    from ..extensions import db

    limit = int(args.get("limit") or DEFAULT_LIMIT)
    since = args.get("updated_since")
    order = BY_UPDATED if since is not None else BY_ID
    q = query
    if since is not None:
        q = q.where(model.updated_at >= since)
    cursor = args.get("cursor")
    if cursor:
        values = _decode(cursor, order)
        if order == BY_ID:
            q = q.where(model.id > values[0])
        else:
            at, last_id = values
            q = q.where(sa.or_(model.updated_at > at, sa.and_(model.updated_at == at, model.id > last_id)))
    q = q.order_by(model.updated_at, model.id) if order == BY_UPDATED else q.order_by(model.id)
    if rows_of_columns:
        rows = list(db.session.execute(q.limit(limit + 1)).all())
    else:
        result = db.session.scalars(q.options(*options).limit(limit + 1))
        rows = list(result.unique() if unique else result)
    more = len(rows) > limit
    rows = rows[:limit]
    nxt = None
    if more and rows:
        last = rows[-1]
        nxt = _encode(order, [last.id] if order == BY_ID else [last.updated_at.isoformat(), last.id])
    if after is not None:
        after(rows)
    return Page(rows, nxt)


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The documented body of a list: ``items``, ``next`` and ``next_cursor``."""
    return type(name, (ma.Schema,), {
        "items": ma.fields.List(ma.fields.Nested(item), required=True),
        "next": ma.fields.String(required=True, allow_none=True,
                                 metadata={"description": "The next page's URL; null on the last page."}),
        "next_cursor": ma.fields.String(required=True, allow_none=True,
                                        metadata={"description": "The cursor of the next page; null on the last."}),
    })


def paginate_rows(rows: Sequence[Any], args: dict[str, Any]) -> Page:
    """``paginate`` for a short list a service already returned (cohorts): the same orders and cursors."""
    limit = int(args.get("limit") or DEFAULT_LIMIT)
    since = args.get("updated_since")
    order = BY_UPDATED if since is not None else BY_ID
    key: Callable[[Any], Any] = (lambda r: (r.updated_at, r.id)) if order == BY_UPDATED else (lambda r: r.id)
    items = sorted((r for r in rows if since is None or r.updated_at >= since), key=key)
    cursor = args.get("cursor")
    if cursor:
        values = _decode(cursor, order)
        last = values[0] if order == BY_ID else tuple(values)
        items = [r for r in items if key(r) > last]
    more = len(items) > limit
    items = items[:limit]
    nxt = None
    if more and items:
        last_row = items[-1]
        nxt = _encode(order, [last_row.id] if order == BY_ID else [last_row.updated_at.isoformat(), last_row.id])
    return Page(items, nxt)
