"""Reading the coordinators' spreadsheets: CSV or XLSX, exactly as they come.

No database here: bytes in, a :class:`Sheet` out (the columns recognised, the ignored
ones and every non-blank data row with its spreadsheet row number), or a
:class:`FileProblem` whose message says what is wrong with the file as a whole.

- The kind is decided by the content, never by the name: an XLSX is a zip holding
  ``xl/workbook.xml``; anything else must be text (UTF-8 with or without BOM, UTF-16 with
  BOM, or else Windows-1252, which the preview then mentions).
- CSV separators: comma, semicolon or tab, chosen by which one splits the header line into
  the most known columns (Excel's ``sep=;`` first line is honoured and not counted as a row).
- Headers match case-insensitively, ignoring spaces and punctuation, against several
  aliases per field; the header row may sit below a few title rows.
- Row numbers are the spreadsheet's own (the header of a plain file is row 1).

The value helpers (:func:`cell_text`, :func:`parse_date`, :func:`kecamatan_key`,
:func:`region_key`) turn cells into clean values for the validation in services.py.
"""
from __future__ import annotations

import csv
import io
import logging
import re
import unicodedata
import warnings
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, Iterable, Iterator, Sequence

from flask_babel import gettext as _

from ..i18n import number as format_number

#: largest file accepted, bytes
MAX_BYTES = 5 * 1024 * 1024
#: most data rows in one file
MAX_ROWS = 20_000
#: columns read from a sheet (anything to the right is not looked at)
MAX_COLUMNS = 100
#: rows searched for the header line (title rows above it are skipped)
HEADER_SEARCH_ROWS = 10
#: rows read at most, blank ones included: reading stops and the file is refused past this row number
MAX_READ_ROWS = MAX_ROWS + 5_000

# An XLSX is a zip of XML parts; a small one can unpack to far more work than any real sheet.
# The limits below are about twice what a full 20,000-row sheet needs (14 MB of sheet XML,
# 0.7 million XML elements, 0.22 million cells), so refusing a hostile file costs no more than
# reading the largest real one. They are checked on the zip directory and by one fast pass
# over the unpacked XML before the workbook is opened.
#: unpacked bytes of all parts together
MAX_UNPACKED_BYTES = 64 * 1024 * 1024
#: unpacked bytes of one part
MAX_PART_BYTES = 32 * 1024 * 1024
#: parts in the zip
MAX_PARTS = 1_000
#: XML elements in all parts together
MAX_XML_ELEMENTS = 1_500_000
#: cells (<c> elements) in one worksheet
MAX_CELLS = 500_000

CSV, XLSX = "csv", "xlsx"
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class FieldSpec:
    key: str
    #: the header the template uses (and messages name when the column is missing)
    label: str
    aliases: tuple[str, ...]
    required: bool = False


#: the columns of one row: one outlet (e-Warong) and its current manager (pengelola)
FIELDS: tuple[FieldSpec, ...] = (
    FieldSpec("code", "Kode e-Warong", ("Kode e-Warong", "Kode", "Kode Outlet", "Kode eWarong", "ID e-Warong"),
              required=True),
    FieldSpec("name", "Nama e-Warong", ("Nama e-Warong", "Nama eWarong", "Nama Outlet", "e-Warong"), required=True),
    FieldSpec("kube_name", "Nama KUBE", ("Nama KUBE", "KUBE")),
    FieldSpec("address", "Alamat", ("Alamat", "Alamat e-Warong")),
    FieldSpec("kelurahan", "Kelurahan", ("Kelurahan", "Kel")),
    FieldSpec("kecamatan", "Kecamatan", ("Kecamatan", "Kec"), required=True),
    FieldSpec("region", "Wilayah", ("Wilayah", "Kota", "Kabupaten/Kota", "Kota/Kabupaten", "Kota Administrasi")),
    FieldSpec("outlet_phone", "No Telp e-Warong", ("No Telp e-Warong", "Telepon e-Warong", "No Telepon e-Warong",
                                                   "Telp e-Warong")),
    FieldSpec("manager_name", "Nama Pengelola", ("Nama Pengelola", "Pengelola", "Nama Pengurus"), required=True),
    FieldSpec("email", "Email", ("Email", "E-mail", "Email Pengelola", "E-mail Pengelola", "Alamat Email"),
              required=True),
    FieldSpec("manager_phone", "No HP", ("No HP", "No. HP", "Nomor HP", "HP", "No HP Pengelola", "WA", "No WA",
                                         "Nomor WA", "No WhatsApp")),
    FieldSpec("joined_on", "Tanggal Bergabung", ("Tanggal Bergabung", "Tgl Bergabung", "Tanggal Gabung")),
)
FIELD_BY_KEY = {f.key: f for f in FIELDS}


def header_key(text: Any) -> str:
    """'No. HP ' → 'nohp': case, spaces and punctuation do not matter."""
    value = unicodedata.normalize("NFKC", str(text or "")).casefold()
    return re.sub(r"[\W_]+", "", value)


_ALIASES: dict[str, str] = {header_key(a): f.key for f in FIELDS for a in f.aliases}


class FileProblem(Exception):
    """The file as a whole cannot be imported; the message says why (Indonesian, for the form)."""


@dataclass
class Column:
    index: int
    #: the header as written in the file
    header: str
    #: the field it feeds, or None when ignored
    field: str | None
    #: why an ignored column is ignored (unknown, or a second column for the same field)
    note: str = ""


@dataclass
class Sheet:
    kind: str
    columns: list[Column]
    #: (spreadsheet row number, {field: raw cell value}) of every non-blank data row
    rows: list[tuple[int, dict[str, Any]]]
    header_row: int
    encoding_note: str = ""
    delimiter: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """field → the header as written in the file."""
        return {c.field: c.header for c in self.columns if c.field}

    @property
    def ignored(self) -> list[Column]:
        return [c for c in self.columns if c.field is None and c.header]


# --- reading ---------------------------------------------------------------------------------

def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{max(1, n // 1024)} KB"


def read(data: bytes, max_bytes: int = MAX_BYTES) -> Sheet:
    """The sheet in ``data`` (CSV or XLSX, decided by content). Raises FileProblem."""
    if not data:
        raise FileProblem(_("Berkas kosong."))
    if len(data) > max_bytes:
        raise FileProblem(_("Berkas terlalu besar (maksimal %(size)s). Pecah menjadi beberapa berkas.",
                            size=_size(max_bytes)))
    if data.startswith(b"PK\x03\x04"):
        return _xlsx_sheet(data)
    _refuse_known_binaries(data)
    text, note = _decode(data)
    first_line = text.split("\n", 1)[0].rstrip("\r")
    hint = re.fullmatch(r"(?i)sep=([,;\t])\s*", first_line)
    if hint:
        # Excel's separator hint: not a row of the sheet (Excel does not show it)
        delimiter = hint[1]
        text = text.split("\n", 1)[1] if "\n" in text else ""
    else:
        delimiter = _guess_delimiter(text)
    sheet = _sheet(CSV, _csv_rows(text, delimiter))
    sheet.encoding_note, sheet.delimiter = note, delimiter
    return sheet


def _refuse_known_binaries(data: bytes) -> None:
    head = data[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise FileProblem(_("Format Excel lama (.xls) atau berkas berkata sandi tidak bisa dibaca. "
                            "Simpan sebagai .xlsx (Excel Workbook) atau CSV, tanpa kata sandi, lalu unggah lagi."))
    if head.startswith(b"%PDF"):
        raise FileProblem(_("Ini berkas PDF, bukan spreadsheet. Unggah berkas CSV atau XLSX."))
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        raise FileProblem(_("Ini berkas gambar, bukan spreadsheet. Unggah berkas CSV atau XLSX."))


def _not_a_spreadsheet() -> FileProblem:
    return FileProblem(_("Berkas ini bukan CSV atau XLSX yang bisa dibaca. Simpan spreadsheet sebagai .xlsx "
                         "atau CSV (UTF-8) lalu unggah lagi."))


_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _decode(data: bytes) -> tuple[str, str]:
    """Text and a note for the preview when it was not UTF-8."""
    note = ""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise _not_a_spreadsheet() from None
    elif b"\x00" in data:
        raise _not_a_spreadsheet()
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = data.decode("cp1252")
            except UnicodeDecodeError:
                raise _not_a_spreadsheet() from None
            note = _("Berkas ini tidak ber-encoding UTF-8; dibaca sebagai Windows-1252. Periksa huruf beraksen "
                     "di pratinjau, atau simpan ulang sebagai \"CSV UTF-8\".")
    text = text.lstrip("\ufeff")
    if _CONTROL.search(text):
        raise _not_a_spreadsheet()
    return text, note


def _guess_delimiter(text: str) -> str:
    """The separator that splits the header line into the most known columns (then: the most columns)."""
    sample = [ln for ln in text.splitlines()[:HEADER_SEARCH_ROWS] if ln.strip()]
    best, best_score = ",", (-1, -1)
    for delimiter in (",", ";", "\t"):
        score = (-1, -1)
        for line in sample:
            try:
                cells = next(csv.reader([line], delimiter=delimiter))
            except (csv.Error, StopIteration):
                continue
            known = sum(1 for c in cells if header_key(c) in _ALIASES)
            score = max(score, (known, len(cells)))
        if score > best_score:
            best, best_score = delimiter, score
    return best


def _csv_rows(text: str, delimiter: str) -> Iterator[tuple[int, list[Any]]]:
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    number = 0
    try:
        for cells in reader:
            number += 1
            yield number, cells[:MAX_COLUMNS]
    except csv.Error as e:
        raise FileProblem(_("Baris %(row)d tidak bisa dibaca sebagai CSV (%(detail)s).", row=number + 1,
                            detail=str(e))) from None


def _broken_xlsx() -> FileProblem:
    return FileProblem(_("Berkas XLSX rusak atau tidak lengkap. Simpan ulang dari Excel lalu unggah lagi."))


def _too_many_rows() -> FileProblem:
    return FileProblem(_("Berkas ini berisi lebih dari %(max)s baris, termasuk baris kosong. Hapus baris kosong di "
                         "bawah data, atau pecah menjadi beberapa berkas, lalu unggah lagi.",
                         max=format_number(MAX_READ_ROWS)))


_ROW_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?row[\s/>]")
_CELL_TAG = re.compile(rb"<(?:[A-Za-z_][\w.-]*:)?c[\s/>]")
_CHUNK = 1024 * 1024


def _inspect_parts(archive: zipfile.ZipFile) -> None:
    """Refuse a workbook whose parts would cost far more to read than any real import file.

    Sizes come from the zip directory (reading never unpacks more than a part declares:
    zipfile stops there and the checksum fails). Then one pass over the unpacked XML counts
    elements, worksheet rows and cells with C-speed scans, before openpyxl parses anything.
    """
    infos = archive.infolist()
    if len(infos) > MAX_PARTS:
        raise FileProblem(_("Berkas XLSX ini terlalu rumit untuk dibaca. Salin lembar data e-Warong ke berkas baru "
                            "(tanpa gambar atau lembar lain), simpan, lalu unggah lagi."))
    if (any(i.file_size > MAX_PART_BYTES for i in infos)
            or sum(i.file_size for i in infos) > MAX_UNPACKED_BYTES):
        raise FileProblem(_("Isi berkas XLSX ini terlalu besar untuk dibaca. Salin lembar data e-Warong ke berkas "
                            "baru, simpan, lalu unggah lagi."))
    elements = 0
    for info in infos:
        if not info.filename.endswith((".xml", ".rels")):
            continue  # images and binary parts are not parsed
        sheet = info.filename.startswith("xl/worksheets/")
        rows = cells = 0
        carry = b""
        with archive.open(info) as part:
            while True:
                chunk = part.read(_CHUNK)
                if not chunk and not carry:
                    break
                text = carry + chunk
                cut = text.rfind(b"<") if chunk else len(text)
                if cut <= 0 or len(text) - cut > 4096:
                    cut = len(text)  # no tag start to keep for the next round (or an absurd one)
                text, carry = text[:cut], text[cut:]
                elements += text.count(b"<") - text.count(b"</")
                if sheet:
                    rows += len(_ROW_TAG.findall(text))
                    cells += len(_CELL_TAG.findall(text))
                    if rows > MAX_READ_ROWS:
                        raise _too_many_rows()
                    if cells > MAX_CELLS:
                        raise FileProblem(_("Lembar kerja ini berisi terlalu banyak sel (lebih dari %(max)s). Hapus "
                                            "kolom dan baris yang tidak dipakai, atau pecah menjadi beberapa berkas.",
                                            max=format_number(MAX_CELLS)))
                if elements > MAX_XML_ELEMENTS:
                    raise FileProblem(_("Berkas XLSX ini terlalu rumit untuk dibaca. Salin lembar data e-Warong ke "
                                        "berkas baru (tanpa gambar atau lembar lain), simpan, lalu unggah lagi."))
                if not chunk:
                    break


def _xlsx_sheet(data: bytes) -> Sheet:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        names = set(archive.namelist())
    except (zipfile.BadZipFile, ValueError, OSError):
        raise _broken_xlsx() from None
    if "xl/workbook.xml" not in names:
        raise FileProblem(_("Berkas ZIP ini bukan XLSX (mis. ODS atau DOCX). Simpan sebagai .xlsx atau CSV "
                            "lalu unggah lagi."))
    try:
        _inspect_parts(archive)
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, RuntimeError, zlib.error):
        raise _broken_xlsx() from None  # a bad checksum, unknown compression, a password
    from openpyxl import load_workbook

    try:
        with warnings.catch_warnings():
            # openpyxl warns about features it drops (data validation, default styles): harmless here
            warnings.simplefilter("ignore")
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
            try:
                if not wb.worksheets:
                    raise FileProblem(_("Berkas XLSX ini tidak berisi lembar kerja."))
                ws = wb.worksheets[0]
                ws.reset_dimensions()  # do not trust the stored size: read what is there
                rows = ((n, list(values)) for n, values in
                        enumerate(ws.iter_rows(max_col=MAX_COLUMNS, values_only=True), start=1))
                return _sheet(XLSX, rows)
            finally:
                wb.close()
    except FileProblem:
        raise
    except Exception:  # noqa: BLE001 - whatever breaks inside a corrupt or hostile workbook is the file's problem
        log.warning("unreadable XLSX upload", exc_info=True)
        raise FileProblem(_("Berkas XLSX rusak atau tidak bisa dibaca. Simpan ulang dari Excel lalu unggah lagi.")) \
            from None


def _blank(values: Sequence[Any]) -> bool:
    if values.count(None) == len(values):  # the common case, at C speed
        return True
    return all(v is None or (isinstance(v, str) and not v.strip()) for v in values)


def _bounded(rows: Iterable[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    """Rows as read, refused past MAX_READ_ROWS: the work is bounded by rows read, blank ones included."""
    for number, values in rows:
        if number > MAX_READ_ROWS:
            raise _too_many_rows()
        yield number, values


def _sheet(kind: str, rows: Iterable[tuple[int, list[Any]]]) -> Sheet:
    it = _bounded(rows)
    # the header: the first of the first non-blank rows that names two known columns (else the first)
    candidates: list[tuple[int, list[Any]]] = []
    header: tuple[int, list[Any]] | None = None
    for number, values in it:
        if _blank(values):
            continue
        candidates.append((number, values))
        if sum(1 for v in values if header_key(v) in _ALIASES) >= 2:
            header = (number, values)
            break
        if len(candidates) >= HEADER_SEARCH_ROWS:
            break
    if header is None:
        if not candidates:
            raise FileProblem(_("Berkas ini tidak berisi data."))
        header = candidates[0]
        # rows after a header-less first row are data: put back what was read past it
        pending = candidates[1:]
    else:
        pending = []
    header_row, header_values = header
    columns = _columns(header_values)
    _check_required(columns)
    wanted = [(c.index, c.field) for c in columns if c.field]
    data_rows: list[tuple[int, dict[str, Any]]] = []

    def take(number: int, values: list[Any]) -> None:
        if _blank(values):
            return
        cells = {f: (values[i] if i < len(values) else None) for i, f in wanted}
        if all(v is None or (isinstance(v, str) and not v.strip()) for v in cells.values()):
            return  # something only in ignored columns (a note, a total): not an outlet
        if len(data_rows) >= MAX_ROWS:
            raise FileProblem(_("Berkas berisi lebih dari %(max)s baris data. Pecah menjadi beberapa berkas.",
                                max=format_number(MAX_ROWS)))
        data_rows.append((number, cells))

    for number, values in pending:
        take(number, values)
    for number, values in it:
        take(number, values)
    if not data_rows:
        raise FileProblem(_("Tidak ada baris data di bawah judul kolom (baris %(row)d).", row=header_row))
    return Sheet(kind=kind, columns=columns, rows=data_rows, header_row=header_row)


def _columns(values: Sequence[Any]) -> list[Column]:
    columns: list[Column] = []
    seen: dict[str, str] = {}
    for i, raw in enumerate(values):
        header = " ".join(cell_text(raw).split())
        if not header:
            continue
        key = _ALIASES.get(header_key(header))
        if key is None:
            columns.append(Column(i, header, None, _("kolom tidak dikenal")))
        elif key in seen:
            columns.append(Column(i, header, None, _("sudah ada kolom \"%(first)s\"", first=seen[key])))
        else:
            seen[key] = header
            columns.append(Column(i, header, key))
    return columns


def _check_required(columns: list[Column]) -> None:
    present = {c.field for c in columns if c.field}
    missing = [f for f in FIELDS if f.required and f.key not in present]
    if not missing:
        return
    names = "; ".join(_("\"%(label)s\" (atau: %(aliases)s)", label=f.label,
                        aliases=", ".join(a for a in f.aliases if a != f.label) or "–") for f in missing)
    found = ", ".join(f"\"{c.header}\"" for c in columns) or "–"
    raise FileProblem(_("Kolom wajib tidak ditemukan: %(names)s. Judul kolom di berkas: %(found)s.",
                        names=names, found=found))


# --- cell values -----------------------------------------------------------------------------

def cell_text(value: Any) -> str:
    """A cell as trimmed text: 81234567890.0 → '81234567890', a date → '2018-04-10'."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == datetime.min.time() else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    return str(value).replace("\u00a0", " ").strip()


def shorten(text: str, limit: int = 60) -> str:
    """A cell quoted in a message, cut to a readable length."""
    return text if len(text) <= limit else text[:limit - 1] + "…"


def one_line(value: Any) -> str:
    """Text with every run of spaces (and line breaks) made one space."""
    return " ".join(cell_text(value).split())


MONTHS = {
    "januari": 1, "jan": 1, "january": 1,
    "februari": 2, "feb": 2, "pebruari": 2, "peb": 2, "february": 2,
    "maret": 3, "mar": 3, "march": 3,
    "april": 4, "apr": 4,
    "mei": 5, "may": 5,
    "juni": 6, "jun": 6, "june": 6,
    "juli": 7, "jul": 7, "july": 7,
    "agustus": 8, "agu": 8, "agt": 8, "ags": 8, "aug": 8, "august": 8,
    "september": 9, "sep": 9, "sept": 9,
    "oktober": 10, "okt": 10, "oct": 10, "october": 10,
    "november": 11, "nov": 11, "nop": 11, "nopember": 11,
    "desember": 12, "des": 12, "dec": 12, "december": 12,
}
#: Excel's 1900 date system: serial 1 is 1900-01-01, counted from 1899-12-30 (Excel's leap-year bug included)
EXCEL_EPOCH = date(1899, 12, 30)
MIN_YEAR, MAX_YEAR = 2000, 2100


class BadDate(ValueError):
    pass


def _excel_serial(n: float) -> date:
    if not 1 <= n < 2_958_466:  # up to 9999-12-31
        raise BadDate(_("Angka tanggal Excel %(n)s tidak masuk akal.", n=cell_text(n)))
    return EXCEL_EPOCH + timedelta(days=int(n))


def _make(year: int, month: int, day: int, raw: str) -> date:
    if year < 100:
        year += 2000
    try:
        return date(year, month, day)
    except ValueError:
        raise BadDate(_("Tanggal \"%(raw)s\" tidak ada di kalender (ditulis sebagai hari/bulan/tahun?).",
                        raw=raw)) from None


def parse_date(value: Any) -> date | None:
    """A date from a cell: a real date cell, an Excel serial number, or text as Indonesians write it.

    Text forms: 10/04/2018, 10-04-2018, 10.04.2018 (day first), 2018-04-10, "10 April 2018",
    "10 Apr 2018". Returns None for an empty cell; raises BadDate otherwise.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, bool):
        raise BadDate(_("Tanggal tidak dikenal."))
    if isinstance(value, (int, float)):
        return _excel_serial(value)
    raw = shorten(" ".join(str(value).split()))
    if not raw:
        return None
    if re.fullmatch(r"\d{1,7}(\.\d+)?", raw):
        return _excel_serial(float(raw))
    m = re.fullmatch(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?", raw)
    if m:
        return _make(int(m[1]), int(m[2]), int(m[3]), raw)
    m = re.fullmatch(r"(\d{1,2})[-/.](\d{1,2})[-/.](\d{4}|\d{2})(?: \d{1,2}:\d{2}(?::\d{2})?)?", raw)
    if m:
        return _make(int(m[3]), int(m[2]), int(m[1]), raw)
    m = re.fullmatch(r"(\d{1,2})[ \-/.]+([A-Za-z]+)\.?[ \-/.,]+(\d{4}|\d{2})", raw)
    if m and m[2].casefold() in MONTHS:
        return _make(int(m[3]), MONTHS[m[2].casefold()], int(m[1]), raw)
    raise BadDate(_("Tanggal \"%(raw)s\" tidak dikenal. Tulis sebagai HH/BB/TTTT, misalnya 10/04/2018.", raw=raw))


_KEC_PREFIX = re.compile(r"^(kecamatan|kec)\b\.?\s*")


def kecamatan_key(value: Any) -> str:
    """'  KEC.  Tanah   abang ' → 'tanahabang' (case, spaces, punctuation and a Kec./Kecamatan prefix ignored)."""
    text = " ".join(unicodedata.normalize("NFKC", cell_text(value)).casefold().split())
    text = _KEC_PREFIX.sub("", text)
    text = re.sub(r"^kep\b\.?\s*", "kepulauan ", text)
    return re.sub(r"[\W_]+", "", text)


_REGION_PREFIX = re.compile(r"^(provinsi\s+)?(dki\s+)?((kota|kabupaten|kab)\s*)?(administrasi|adm)?\s*")
REGION_SHORT = {"jakpus": "jakartapusat", "jakut": "jakartautara", "jakbar": "jakartabarat",
                "jaksel": "jakartaselatan", "jaktim": "jakartatimur", "pulauseribu": "kepulauanseribu",
                "kepseribu": "kepulauanseribu"}


def region_key(value: Any) -> str:
    """'Kota Adm. Jakarta Pusat' → 'jakartapusat'; 'Jakpus' too."""
    text = " ".join(re.sub(r"[.,]", " ", unicodedata.normalize("NFKC", cell_text(value)).casefold()).split())
    text = _REGION_PREFIX.sub("", text)
    key = re.sub(r"[\W_]+", "", text)
    return REGION_SHORT.get(key, key)
