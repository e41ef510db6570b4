"""Exports that open safely in Excel and LibreOffice: streamed CSV and XLSX.

``safe_cell`` neutralises text that a spreadsheet would run as a formula (CSV/formula
injection): a cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return gets
a single quote in front. Numbers are written as numbers (``-6.2`` is a latitude, not a formula).

``csv_stream`` yields the file piece by piece, UTF-8 with a byte-order mark so that Excel
reads the accents right. ``xlsx_stream`` writes a real Office Open XML workbook (one sheet,
bold frozen header, numbers as numbers, dates as dates, text as inline strings passed through
``safe_cell``) with :mod:`zipfile` into a small buffer that is drained after every batch of
rows, so it yields compressed pieces as it goes. Pass either a generator of rows and nothing
is held in memory: 100,000 rows cost no more than 100.

``download`` wraps either stream in a Flask response that is sent as it is produced.
"""
from __future__ import annotations

import csv
import io
import math
import re
import zipfile
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any, Iterable, Iterator, Sequence
from xml.sax.saxutils import escape

#: first characters a spreadsheet treats as the start of a formula (or that hide one)
DANGEROUS_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
BOM = "\ufeff"

CSV_MIMETYPE = "text/csv"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {"csv": CSV_MIMETYPE, "xlsx": XLSX_MIMETYPE}

#: CSV text is handed on in pieces of about this many characters (not one tiny piece per row)
CSV_CHUNK = 32 * 1024
#: rows written to the XLSX sheet between two drains of the zip buffer
XLSX_BATCH = 500
#: Excel refuses longer cells (it "repairs" the file and drops the rest)
XLSX_MAX_CELL = 32767
#: integers beyond this lose digits as spreadsheet numbers (doubles): they are written as text
XLSX_MAX_EXACT_INT = 10**15 - 1
#: characters XML 1.0 forbids (and lone surrogates); removed from text before it is written
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def safe_cell(value: Any) -> str:
    """One cell as text, safe to open in a spreadsheet."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, (int, float, Decimal)):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, (date, time)):
        return value.isoformat()
    text = str(value)
    if text.startswith(DANGEROUS_PREFIXES):
        return "'" + text
    return text


# --- CSV ----------------------------------------------------------------------------------------

def csv_stream(header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[str]:
    """The CSV text in chunks: the BOM and header first, then rows (CRLF line ends) in pieces of ~32 KB."""
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
        if buf.tell() >= CSV_CHUNK:
            yield take()
    rest = take()
    if rest:
        yield rest


# --- XLSX ---------------------------------------------------------------------------------------

#: styles.xml cellXfs indexes
_STYLE_HEADER, _STYLE_DATE, _STYLE_DATETIME, _STYLE_TIME = 1, 2, 3, 4
_EXCEL_EPOCH = datetime(1899, 12, 30)

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/styles.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
    '</Types>')
_ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" '
    'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" '
    'Target="xl/workbook.xml"/>'
    '</Relationships>')
_WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<bookViews><workbookView/></bookViews>'
    '<sheets><sheet name="{name}" sheetId="1" r:id="rId1"/></sheets>'
    '</workbook>')
_WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" '
    'Target="worksheets/sheet1.xml"/>'
    '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" '
    'Target="styles.xml"/>'
    '</Relationships>')
_STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="3">'
    '<numFmt numFmtId="164" formatCode="yyyy\\-mm\\-dd"/>'
    '<numFmt numFmtId="165" formatCode="yyyy\\-mm\\-dd\\ hh:mm:ss"/>'
    '<numFmt numFmtId="166" formatCode="hh:mm"/>'
    '</numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="5">'
    '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="166" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs>'
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    '</styleSheet>')
_SHEET_HEAD = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheetViews><sheetView workbookViewId="0">'
    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
    '</sheetView></sheetViews>'
    '<sheetFormatPr defaultRowHeight="15"/>'
    '{cols}<sheetData>')
_SHEET_TAIL = '</sheetData></worksheet>'


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    n = index + 1
    while n:
        n, rem = divmod(n - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def sheet_title(name: str) -> str:
    """A valid worksheet name: at most 31 characters, none of []:*?/\\, not empty."""
    cleaned = re.sub(r"\s+", " ", _SHEET_NAME_BAD.sub(" ", _XML_ILLEGAL.sub("", str(name)))).strip().strip("'")
    return cleaned[:31] or "Data"


def _xml_text(value: Any) -> str:
    """Text for an inline string: illegal characters removed, neutralised, escaped (CR kept as &#13;)."""
    # neutralised after the removal: "\x00=1+1" would otherwise reach the sheet as "=1+1"
    text = safe_cell(_XML_ILLEGAL.sub("", str(value)))
    if len(text) > XLSX_MAX_CELL:
        text = text[:XLSX_MAX_CELL - 1] + "…"
    text = escape(text)
    return text.replace("\r", "&#13;") if "\r" in text else text


def _serial(value: datetime | date) -> float:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            from .i18n import to_wib

            value = to_wib(value).replace(tzinfo=None)
        delta = value - _EXCEL_EPOCH
        return delta.days + (delta.seconds + delta.microseconds / 1e6) / 86400
    return float((value - _EXCEL_EPOCH.date()).days)


def _cell(ref: str, value: Any, header: bool = False) -> str:
    if value is None or value == "":
        return ""
    if header or type(value) is str:  # text, the common case, first
        style = f' s="{_STYLE_HEADER}"' if header else ""
        return f'<c r="{ref}" t="inlineStr"{style}><is><t xml:space="preserve">{_xml_text(value)}</t></is></c>'
    if isinstance(value, bool):
        return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'
    if isinstance(value, int) and abs(value) <= XLSX_MAX_EXACT_INT:
        return f'<c r="{ref}" t="n"><v>{value}</v></c>'
    if isinstance(value, float) and math.isfinite(value):
        return f'<c r="{ref}" t="n"><v>{value!r}</v></c>'
    if isinstance(value, Decimal) and value.is_finite():
        return f'<c r="{ref}" t="n"><v>{value}</v></c>'
    if isinstance(value, datetime):
        return f'<c r="{ref}" s="{_STYLE_DATETIME}"><v>{_serial(value)!r}</v></c>'
    if isinstance(value, date):
        return f'<c r="{ref}" s="{_STYLE_DATE}"><v>{int(_serial(value))}</v></c>'
    if isinstance(value, time):
        fraction = (value.hour * 3600 + value.minute * 60 + value.second) / 86400
        return f'<c r="{ref}" s="{_STYLE_TIME}"><v>{fraction!r}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{_xml_text(value)}</t></is></c>'


def _row(number: int, values: Sequence[Any], letters: list[str], header: bool = False) -> str:
    while len(letters) < len(values):
        letters.append(column_letter(len(letters)))
    cells = "".join(_cell(f"{letters[i]}{number}", v, header) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


class _Drain:
    """A write-only, non-seekable buffer: zipfile writes into it, the generator empties it."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        out = b"".join(self._parts)
        self._parts.clear()
        return out


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=datetime.now().timetuple()[:6])
    info.compress_type = zipfile.ZIP_DEFLATED
    info.external_attr = 0o600 << 16
    return info


def xlsx_stream(sheet_name: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Iterator[bytes]:
    """An .xlsx workbook of one sheet, yielded as compressed pieces while ``rows`` is read.

    Text goes through ``safe_cell``; ints, floats and Decimals are numbers; dates and datetimes
    (naive WIB; aware ones are shifted to WIB) are real date cells; the header row is bold and frozen.
    """
    drain = _Drain()
    with zipfile.ZipFile(drain, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as zf:
        for name, text in (("[Content_Types].xml", _CONTENT_TYPES), ("_rels/.rels", _ROOT_RELS),
                           ("xl/workbook.xml", _WORKBOOK.format(name=escape(sheet_title(sheet_name),
                                                                              {'"': "&quot;"}))),
                           ("xl/_rels/workbook.xml.rels", _WORKBOOK_RELS), ("xl/styles.xml", _STYLES)):
            zf.writestr(_entry(name), text)
        yield drain.take()
        letters: list[str] = []
        widths = "".join(f'<col min="{i}" max="{i}" width="{min(60, max(10, len(str(h)) + 4))}" customWidth="1"/>'
                         for i, h in enumerate(header, 1))
        cols = f"<cols>{widths}</cols>" if header else ""
        with zf.open(_entry("xl/worksheets/sheet1.xml"), "w", force_zip64=True) as sheet:
            sheet.write((_SHEET_HEAD.format(cols=cols) + _row(1, header, letters, header=True)).encode("utf-8"))
            batch: list[str] = []
            number = 1
            for row in rows:
                number += 1
                batch.append(_row(number, row, letters))
                if len(batch) >= XLSX_BATCH:
                    sheet.write("".join(batch).encode("utf-8"))
                    batch.clear()
                    chunk = drain.take()
                    if chunk:
                        yield chunk
            sheet.write(("".join(batch) + _SHEET_TAIL).encode("utf-8"))
    yield drain.take()


# --- responses ----------------------------------------------------------------------------------

def download(fmt: str, filename: str, sheet_name: str, header: Sequence[Any], rows: Iterable[Sequence[Any]]) -> Any:
    """A streamed attachment response: ``fmt`` is csv or xlsx, ``filename`` has no extension."""
    from flask import Response, stream_with_context

    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r}")
    body = csv_stream(header, rows) if fmt == "csv" else xlsx_stream(sheet_name, header, rows)
    safe_name = re.sub(r"[^A-Za-z0-9._-]+", "-", filename).strip("-") or "ekspor"
    return Response(stream_with_context(body), mimetype=FORMATS[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{safe_name}.{fmt}"',
                             "Cache-Control": "private, no-store"})
