"""CSV exports that open safely in Excel and LibreOffice.

``safe_cell`` neutralises text that a spreadsheet would run as a formula (CSV/formula
injection): a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
a single quote in front. Numbers are written as numbers (``-6.2`` is a latitude, not a formula).
``csv_stream`` yields the file piece by piece, UTF-8 with a byte-order mark so that Excel
reads the accents right; pass it a generator of rows and nothing is held in memory.
"""
from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence

#: first characters a spreadsheet treats as the start of a formula (or that hide one)
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"


def safe_cell(value: Any) -> str:
    """One cell as text, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    text = str(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


def csv_stream(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text in chunks: the BOM and header first, then one chunk per row (CRLF line ends)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")

    def take() -> str:
        text = buf.getvalue()
        buf.seek(0)
        buf.truncate(0)
        return text

    writer.writerow([safe_cell(h) for h in header])
    yield BOM + take()
    for row in rows:
        writer.writerow([safe_cell(v) for v in row])
        yield take()
