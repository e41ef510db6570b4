"""Reading spreadsheets as coordinators make them: encodings, separators, headers, Excel dates, junk."""
from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest

from lms.imports import parse
from lms.imports.parse import FileProblem
from tests.test_import import HEADER, csv_bytes, row, xlsx_bytes


@pytest.fixture(autouse=True)
def _ctx(app):  # type: ignore[no-untyped-def]
    """Messages are translated strings: an app context is needed."""
    yield


def _cells(sheet: parse.Sheet, index: int = 0) -> dict:
    return sheet.rows[index][1]


# --- encodings and separators ------------------------------------------------------------------

@pytest.mark.parametrize("bom", [False, True])
@pytest.mark.parametrize("delimiter", [",", ";", "\t"])
def test_csv_with_or_without_bom_and_any_separator(bom, delimiter):
    data = csv_bytes([HEADER, row(1, name="e-Warong Jaya, Sejahtera"), row(2)], delimiter=delimiter, bom=bom)
    sheet = parse.read(data)
    assert sheet.kind == "csv" and sheet.delimiter == delimiter and sheet.encoding_note == ""
    assert [n for n, _ in sheet.rows] == [2, 3]
    assert _cells(sheet)["code"] == "EW-3171-001"
    assert _cells(sheet)["name"] == "e-Warong Jaya, Sejahtera"  # a quoted separator stays in the cell
    assert sheet.headers["code"] == "Kode e-Warong"  # the BOM is not part of the first header


def test_semicolon_file_whose_cells_contain_commas():
    data = ("Kode e-Warong;Nama e-Warong;Alamat;Kecamatan;Nama Pengelola;Email\n"
            "EW-1;Warung Ibu, Bapak;Jl. Kenari 1, RT 2, RW 3;Senen;Ani;ani@uji.example\n").encode()
    sheet = parse.read(data)
    assert sheet.delimiter == ";"
    assert _cells(sheet)["address"] == "Jl. Kenari 1, RT 2, RW 3"


def test_excel_separator_hint_is_not_a_row():
    data = b"sep=;\r\n" + csv_bytes([HEADER, row(1)], delimiter=";")
    sheet = parse.read(data)
    assert sheet.header_row == 1 and [n for n, _ in sheet.rows] == [2]


def test_windows_1252_is_read_and_mentioned():
    data = csv_bytes([HEADER, row(1, manager="André Sitompul")], encoding="cp1252")
    sheet = parse.read(data)
    assert _cells(sheet)["manager_name"] == "André Sitompul"
    assert "Windows-1252" in sheet.encoding_note


def test_utf16_from_excel_unicode_text():
    data = "\r\n".join("\t".join(r) for r in [HEADER, row(1)]).encode("utf-16")  # with its BOM
    sheet = parse.read(data)
    assert sheet.delimiter == "\t" and _cells(sheet)["email"] == "pengelola1@uji.example"


# --- headers -----------------------------------------------------------------------------------

def test_headers_match_ignoring_case_spacing_and_punctuation():
    header = ["  KODE_OUTLET ", "nama   E-WARONG", "Kec.", "Nama Pengurus", "E_MAIL", "No.HP", "tgl. bergabung",
              "Kabupaten / Kota", "Catatan", "WA"]
    data = csv_bytes([header, ["ew-9", "Melati", "Gambir", "Ani", "a@uji.example", "0812", "1/1/2018",
                               "Jakarta Pusat", "lunas", "0813"]])
    sheet = parse.read(data)
    assert sheet.headers == {"code": "KODE_OUTLET", "name": "nama E-WARONG", "kecamatan": "Kec.",
                             "manager_name": "Nama Pengurus", "email": "E_MAIL", "manager_phone": "No.HP",
                             "joined_on": "tgl. bergabung", "region": "Kabupaten / Kota"}
    ignored = {c.header: c.note for c in sheet.ignored}
    assert set(ignored) == {"Catatan", "WA"}
    assert "tidak dikenal" in ignored["Catatan"]
    assert "No.HP" in ignored["WA"]  # a second column for the same field is not silently mixed in
    assert "lunas" not in _cells(sheet).values()


def test_title_rows_above_the_header_keep_spreadsheet_row_numbers():
    data = csv_bytes([["DAFTAR E-WARONG JAKARTA PUSAT 2018"], [], HEADER, row(1), [], ["", ""], row(2),
                      ["", "", "", "", "", "", "", "", "", "", "", "Jumlah: 2"]])
    sheet = parse.read(data)
    assert sheet.header_row == 3
    # blank rows are skipped, and a row with only an ignored/unknown cell is not an outlet
    assert [n for n, _ in sheet.rows] == [4, 7]


def test_missing_required_column_names_it():
    header = [h for h in HEADER if h != "Email"]
    with pytest.raises(FileProblem) as e:
        parse.read(csv_bytes([header, row(1)[:len(header)]]))
    msg = str(e.value)
    assert "Kolom wajib tidak ditemukan" in msg and "\"Email\"" in msg and "E-mail Pengelola" in msg
    assert "\"Kode e-Warong\"" in msg.split("Judul kolom di berkas:")[1]  # what the file does have


def test_header_only_file_and_empty_file():
    with pytest.raises(FileProblem, match="Tidak ada baris data"):
        parse.read(csv_bytes([HEADER]))
    with pytest.raises(FileProblem, match="Berkas kosong"):
        parse.read(b"")
    with pytest.raises(FileProblem, match="tidak berisi data"):
        parse.read(b"\r\n;;;\r\n")


# --- not a spreadsheet, too big, too long --------------------------------------------------------

@pytest.mark.parametrize("data,message", [
    (b"%PDF-1.4\n1 0 obj<<>>endobj\n%%EOF\n", "PDF"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 500, "Excel lama"),
    (b"\x89PNG\r\n\x1a\n" + b"\x00" * 50, "gambar"),
    (bytes(range(256)) * 20, "bukan CSV atau XLSX"),
    (b"Kode e-Warong,Nama\x00 e-Warong\n", "bukan CSV atau XLSX"),
    (b"PK\x03\x04 this is not really a zip", "XLSX rusak"),
])
def test_files_that_are_not_spreadsheets_are_refused(data, message):
    with pytest.raises(FileProblem, match=message):
        parse.read(data)


def test_a_zip_that_is_not_a_workbook():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("content.xml", "<office:document/>")
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
    with pytest.raises(FileProblem, match="bukan XLSX"):
        parse.read(buf.getvalue())


def test_a_broken_workbook_is_a_file_problem_not_a_crash():
    good = xlsx_bytes(HEADER, [row(1)])
    src = zipfile.ZipFile(io.BytesIO(good))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for item in src.infolist():
            content = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                content = content[: len(content) // 2]  # truncated XML
            z.writestr(item, content)
    with pytest.raises(FileProblem, match="XLSX rusak"):
        parse.read(buf.getvalue())


def test_size_and_row_limits():
    with pytest.raises(FileProblem, match="terlalu besar"):
        parse.read(b"a" * (parse.MAX_BYTES + 1))
    short = ["Kode", "Nama Outlet", "Kec", "Pengelola", "Email"]
    lines = [",".join(short)] + [f"K{i},N,Gambir,P,p{i}@x.id" for i in range(parse.MAX_ROWS + 1)]
    data = "\n".join(lines).encode()
    assert len(data) < parse.MAX_BYTES
    with pytest.raises(FileProblem, match="lebih dari 20.000 baris"):
        parse.read(data)
    # exactly the limit is fine
    assert len(parse.read("\n".join(lines[:-1]).encode()).rows) == parse.MAX_ROWS


# --- XLSX ----------------------------------------------------------------------------------------

def test_xlsx_real_dates_serial_numbers_and_numeric_cells():
    rows = [row(1, phone=81234567890, joined=datetime(2018, 4, 10)),
            row(2, phone=6281234567891.0, joined=43101, code=1234)]
    sheet = parse.read(xlsx_bytes(HEADER, rows, blank_rows_before=1))
    assert sheet.kind == "xlsx" and sheet.header_row == 2
    assert [n for n, _ in sheet.rows] == [3, 4]
    first, second = _cells(sheet, 0), _cells(sheet, 1)
    assert first["joined_on"] == datetime(2018, 4, 10)
    assert parse.parse_date(first["joined_on"]) == date(2018, 4, 10)
    assert parse.parse_date(second["joined_on"]) == date(2018, 1, 1)
    assert parse.cell_text(first["manager_phone"]) == "81234567890"
    assert parse.cell_text(second["manager_phone"]) == "6281234567891"
    assert parse.cell_text(second["code"]) == "1234"


def test_xlsx_only_the_first_sheet_is_read():
    data = xlsx_bytes(HEADER, [row(1)], extra_sheet=[HEADER, row(2), row(3)])
    assert len(parse.read(data).rows) == 1


# --- values --------------------------------------------------------------------------------------

@pytest.mark.parametrize("value,expected", [
    (43101, date(2018, 1, 1)),
    (43101.75, date(2018, 1, 1)),
    ("43101", date(2018, 1, 1)),
    (datetime(2018, 4, 10, 8, 30), date(2018, 4, 10)),
    (date(2018, 4, 10), date(2018, 4, 10)),
    ("10/04/2018", date(2018, 4, 10)),
    ("1/4/2018", date(2018, 4, 1)),
    ("10-04-2018", date(2018, 4, 10)),
    ("10.04.2018", date(2018, 4, 10)),
    ("10/04/18", date(2018, 4, 10)),
    ("2018-04-10", date(2018, 4, 10)),
    ("2018-04-10 00:00:00", date(2018, 4, 10)),
    ("1 Januari 2018", date(2018, 1, 1)),
    ("17 agustus 2018", date(2018, 8, 17)),
    ("10 Apr 2018", date(2018, 4, 10)),
    ("5-Mei-2019", date(2019, 5, 5)),
    ("  3  Desember  2020 ", date(2020, 12, 3)),
    ("", None),
    (None, None),
])
def test_dates_as_spreadsheets_write_them(value, expected):
    assert parse.parse_date(value) == expected


@pytest.mark.parametrize("value", ["31/02/2018", "04/13/2018", "kemarin", "10 Bulan 2018", "12/2018", True, 0,
                                   -5, 99999999])
def test_dates_that_are_not_dates(value):
    with pytest.raises(parse.BadDate):
        parse.parse_date(value)


@pytest.mark.parametrize("raw,name", [
    ("Tanah Abang", "Tanah Abang"),
    ("  KEC.  tanah   ABANG ", "Tanah Abang"),
    ("Kecamatan Gambir", "Gambir"),
    ("kec gambir", "Gambir"),
    ("Kec.Kebon Jeruk", "Kebon Jeruk"),
    ("Kep. Seribu Utara", "Kepulauan Seribu Utara"),
    ("KELAPA\u00a0GADING", "Kelapa Gading"),
])
def test_kecamatan_names_with_odd_spacing_case_and_prefix(raw, name):
    assert parse.kecamatan_key(raw) == parse.kecamatan_key(name)


@pytest.mark.parametrize("raw,name", [
    ("Kota Adm. Jakarta Pusat", "Jakarta Pusat"),
    ("JAKPUS", "Jakarta Pusat"),
    ("kota administrasi jakarta utara", "Jakarta Utara"),
    ("Kab. Adm. Kepulauan Seribu", "Kepulauan Seribu"),
    ("Kabupaten Administrasi Kepulauan Seribu", "Kepulauan Seribu"),
    ("Jaksel", "Jakarta Selatan"),
])
def test_region_names(raw, name):
    assert parse.region_key(raw) == parse.region_key(name)
