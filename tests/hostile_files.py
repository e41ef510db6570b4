"""Small files that would cost a lot to read: image bombs, spreadsheets of blank rows, zip bombs.

Each is built without ever holding its unpacked size in memory, so the tests stay light.
"""
from __future__ import annotations

import io
import struct
import zipfile
import zlib


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF)


def png_declaring(width: int, height: int, *, rgb: bool = True, complete: bool = True) -> bytes:
    """A valid PNG of one flat colour and the given size: a few KB on disk, width*height pixels decoded.

    ``complete=False`` writes only the start of the pixel data (a header that merely claims the size).
    """
    channels = 3 if rgb else 1
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2 if rgb else 0, 0, 0, 0)
    squeeze = zlib.compressobj(9)
    line = b"\x00" + b"\x7f" * (width * channels)  # filter byte, then the row's samples
    parts = []
    for _ in range(height if complete else 1):
        parts.append(squeeze.compress(line))
    parts.append(squeeze.flush())
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", ihdr) + _chunk(b"IDAT", b"".join(parts)) + _chunk(b"IEND", b"")


def xlsx_with_sheet(extra_rows: bytes, *, dimension: bytes = b"A1:Z1048576",
                    members: dict[str, bytes] | None = None) -> bytes:
    """A real one-row workbook (the import's header and one outlet) with ``extra_rows`` appended to its sheet data.

    ``members`` adds or replaces parts.
    """
    from tests.test_import import HEADER, row, xlsx_bytes

    src = zipfile.ZipFile(io.BytesIO(xlsx_bytes(HEADER, [row(1)])))
    contents = {name: src.read(name) for name in src.namelist()}
    sheet = contents["xl/worksheets/sheet1.xml"]
    sheet = sheet.replace(b'<dimension ref="A1:K2" />', b'<dimension ref="' + dimension + b'" />')
    contents["xl/worksheets/sheet1.xml"] = sheet.replace(b"</sheetData>", extra_rows + b"</sheetData>")
    contents.update(members or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, content in contents.items():
            z.writestr(name, content)
    return buf.getvalue()


def row_far_below() -> bytes:
    """One cell in the sheet's last row: the reader would walk a million blank rows to reach it."""
    return xlsx_with_sheet(b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t>x</t></is></c></row>')


def styled_blank_rows(last: int = 1_048_576) -> bytes:
    """Excel's way of writing formatted but empty rows, down to the sheet's end."""
    return xlsx_with_sheet(b"".join(b'<row r="%d" spans="1:26" s="1" customFormat="1"/>' % i
                                    for i in range(3, last + 1)))


def repeated_rows(count: int = 1_000_000) -> bytes:
    """The same row number over and over: the reader parses each one and hands none of them on."""
    return xlsx_with_sheet(b'<row r="2"/>' * count)


def wide_row(cells: int = 1_000_000) -> bytes:
    """One row of a million empty cells."""
    return xlsx_with_sheet(b'<row r="3">' + b"<c/>" * cells + b"</row>")


def many_shared_strings(count: int = 1_000_000) -> bytes:
    """A shared-strings part of a million empty strings (read whole before the first row)."""
    from tests.test_import import HEADER, row, xlsx_bytes

    sst = (b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="%d" uniqueCount="%d">'
           % (count, count)) + b"<si><t/></si>" * count + b"</sst>"
    src = zipfile.ZipFile(io.BytesIO(xlsx_bytes(HEADER, [row(1)])))
    types = src.read("[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>'))
    return xlsx_with_sheet(b"", members={"xl/sharedStrings.xml": sst, "[Content_Types].xml": types})
