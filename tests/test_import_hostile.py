"""Spreadsheets that are small on disk but costly to read are refused quickly.

The work is bounded by what is read (rows, blank ones included; cells; XML elements; unpacked
bytes), not by what is kept: a file of a million blank rows keeps nothing and used to take
minutes. The time limits below are ten times what the refusals take here.
"""
from __future__ import annotations

import time

import pytest

from lms.imports import parse
from lms.imports.parse import FileProblem
from tests import hostile_files as hostile
from tests.test_import import HEADER, csv_bytes, row, xlsx_bytes


@pytest.fixture(autouse=True)
def _ctx(app):  # type: ignore[no-untyped-def]
    yield


@pytest.mark.parametrize("make,message", [
    (hostile.row_far_below, "lebih dari 25.000 baris, termasuk baris kosong"),
    (lambda: hostile.styled_blank_rows(200_000), "lebih dari 25.000 baris, termasuk baris kosong"),
    (lambda: hostile.repeated_rows(1_000_000), "lebih dari 25.000 baris, termasuk baris kosong"),
    (lambda: hostile.wide_row(1_000_000), "terlalu banyak sel"),
    (lambda: hostile.many_shared_strings(1_000_000), "terlalu rumit"),
    (lambda: hostile.xlsx_with_sheet(b" " * (40 * 1024 * 1024)), "terlalu besar untuk dibaca"),
], ids=["row-far-below", "styled-blank-rows", "repeated-rows", "wide-row", "shared-strings", "padding"])
def test_small_workbooks_that_unpack_to_a_lot_of_work_are_refused_quickly(make, message):
    data = make()
    assert len(data) < parse.MAX_BYTES
    started = time.perf_counter()
    with pytest.raises(FileProblem, match=message):
        parse.read(data)
    assert time.perf_counter() - started < 5


def test_rows_read_are_counted_blank_ones_included_csv_too():
    limit = parse.MAX_READ_ROWS
    assert limit == parse.MAX_ROWS + 5_000
    lines = [",".join(HEADER)] + [""] * (limit - 2) + [",".join(row(1))]
    sheet = parse.read("\n".join(lines).encode())
    assert [n for n, _cells in sheet.rows] == [limit]  # the last row that is read at all
    with pytest.raises(FileProblem, match="lebih dari 25.000 baris, termasuk baris kosong"):
        parse.read("\n".join(lines[:-1] + ["", lines[-1]]).encode())
    blank = b"\n" * (parse.MAX_BYTES - 1000)  # five million blank lines
    started = time.perf_counter()
    with pytest.raises(FileProblem, match="termasuk baris kosong"):
        parse.read(b",".join(h.encode() for h in HEADER) + blank + b"x")
    assert time.perf_counter() - started < 5


def test_a_workbook_with_blank_rows_inside_the_limit_is_still_read():
    data = hostile.xlsx_with_sheet(b'<row r="3"/><row r="4" s="1" customFormat="1"/>'
                                   b'<row r="20000"><c r="A20000" t="inlineStr"><is><t>EW-X</t></is></c></row>')
    sheet = parse.read(data)
    assert [n for n, _cells in sheet.rows] == [2, 20000]


def test_an_ordinary_workbook_passes_the_checks():
    data = xlsx_bytes(HEADER, [row(i) for i in range(1, 301)], extra_sheet=[HEADER, row(1)])
    assert len(parse.read(data).rows) == 300
    sample = csv_bytes([HEADER, row(1)])
    assert len(parse.read(sample).rows) == 1
