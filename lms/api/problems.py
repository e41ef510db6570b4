"""Errors of the JSON API as RFC 9457 problem details (``application/problem+json``).

Every error under /api answers with ``type``, ``title``, ``status``, ``detail`` and ``instance``;
a validation error adds ``errors``: one ``{"field", "in", "detail"}`` per field and message. Titles
and details follow ``Accept-Language`` (Indonesian, the source language, or English).
"""
from __future__ import annotations

import re
from typing import Any, Iterable

from flask import Response, current_app, json, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

MEDIA_TYPE = "application/problem+json"

#: problem type slug → title. The type URI is the documentation page with the slug as fragment.
TITLES: dict[str, Any] = {
    "validation": _l("Isian tidak valid"),
    "unauthorized": _l("Perlu token API yang berlaku"),
    "insufficient-scope": _l("Cakupan token tidak cukup"),
    "forbidden": _l("Tidak diizinkan"),
    "not-found": _l("Tidak ditemukan"),
    "method-not-allowed": _l("Metode tidak diizinkan"),
    "too-large": _l("Kiriman terlalu besar"),
    "rate-limited": _l("Terlalu banyak permintaan"),
    "conflict": _l("Bentrok dengan permintaan lain"),
    "idempotency-mismatch": _l("Idempotency-Key sudah dipakai untuk isi yang lain"),
    "busy": _l("Sedang sibuk, coba lagi"),
    "server-error": _l("Kesalahan server"),
    "bad-request": _l("Permintaan tidak valid"),
    "unsupported-media-type": _l("Jenis isi tidak didukung"),
}

#: the problem type of an HTTP status without a more precise one
BY_STATUS = {400: "bad-request", 401: "unauthorized", 403: "forbidden", 404: "not-found", 405: "method-not-allowed",
             409: "conflict", 413: "too-large", 415: "unsupported-media-type", 422: "validation", 429: "rate-limited",
             500: "server-error", 503: "busy"}


def _default_detail(status: int) -> str:
    return {
        400: _("Permintaan ini tidak bisa dibaca."),
        401: _("Kirim token API di header Authorization: Bearer <token>."),
        403: _("Token ini tidak boleh melakukan tindakan ini."),
        404: _("Sumber ini tidak ada, atau token ini tidak boleh melihatnya."),
        405: _("Metode HTTP ini tidak tersedia untuk alamat ini."),
        413: _("Kiriman melebihi batas ukuran."),
        415: _("Jenis isi kiriman ini tidak didukung."),
        422: _("Periksa isian yang disebut di errors."),
        429: _("Tunggu sebentar sebelum mencoba lagi (lihat Retry-After)."),
        500: _("Terjadi kesalahan di server. Coba lagi nanti."),
        503: _("Basis data sedang sibuk. Coba lagi sebentar lagi."),
    }.get(status, _("Permintaan tidak bisa diproses."))


def type_uri(slug: str) -> str:
    try:
        base = url_for("api.docs", _external=True)
    except Exception:  # outside a request (documentation build)
        base = "/api/v1/docs"
    return f"{base}#problem-{slug}"


def problem(status: int, *, slug: str | None = None, detail: str | None = None,
            errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
            **extra: Any) -> Response:
    slug = slug or BY_STATUS.get(status, "bad-request" if status < 500 else "server-error")
    body: dict[str, Any] = {"type": type_uri(slug), "title": str(TITLES.get(slug, slug)), "status": status,
                            "detail": detail if detail is not None else _default_detail(status),
                            "instance": request.full_path.rstrip("?") if request else None}
    if errors:
        body["errors"] = errors
    body.update(extra)
    resp = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status, mimetype=MEDIA_TYPE)
    resp.headers["Content-Language"] = _lang()
    resp.headers["Cache-Control"] = "no-store"
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def _lang() -> str:
    from flask_babel import get_locale

    loc = get_locale()
    return loc.language if loc else "id"


# --- validation messages ---------------------------------------------------------------------------

def _messages() -> list[tuple[re.Pattern[str], Any]]:
    """marshmallow's and webargs' English messages, as translatable Indonesian (source language)."""
    return [
        (re.compile(r"^Missing data for required field\.$"), lambda m: _("Wajib diisi.")),
        (re.compile(r"^Not a valid integer\.$"), lambda m: _("Harus bilangan bulat.")),
        (re.compile(r"^Not a valid number\.$"), lambda m: _("Harus angka.")),
        (re.compile(r"^Not a valid string\.$"), lambda m: _("Harus teks.")),
        (re.compile(r"^Not a valid boolean\.$"), lambda m: _("Harus true atau false.")),
        (re.compile(r"^Not a valid (datetime|date|time)\.$"),
         lambda m: _("Bukan tanggal/waktu ISO 8601 yang sah (contoh 2026-01-31T08:00:00+07:00).")),
        (re.compile(r"^Not a valid list\.$"), lambda m: _("Harus daftar.")),
        (re.compile(r"^Not a valid mapping type\.$"), lambda m: _("Harus objek JSON.")),
        (re.compile(r"^Invalid input type\.$"), lambda m: _("Jenis isian tidak valid.")),
        (re.compile(r"^Invalid value\.$"), lambda m: _("Nilai tidak valid.")),
        (re.compile(r"^Unknown field\.$"), lambda m: _("Kolom tidak dikenal.")),
        (re.compile(r"^Field may not be null\.$"), lambda m: _("Tidak boleh null.")),
        (re.compile(r"^Not a valid UUID\.$"), lambda m: _("Bukan UUID yang sah.")),
        (re.compile(r"^Not a valid URL\.$"), lambda m: _("Bukan alamat web yang sah.")),
        (re.compile(r"^Not a valid email address\.$"), lambda m: _("Bukan alamat e-mail yang sah.")),
        (re.compile(r"^Number not valid\.$"), lambda m: _("Angka tidak valid.")),
        (re.compile(r"^Not a valid datetime\.$"), lambda m: _("Bukan tanggal/waktu ISO 8601 yang sah.")),
        (re.compile(r"^Not a valid aware datetime\.$"),
         lambda m: _("Bukan tanggal/waktu ISO 8601 yang sah.")),
        (re.compile(r"^Must be one of: (.*)\.$"), lambda m: _("Harus salah satu dari: %(choices)s.", choices=m[1])),
        (re.compile(r"^Must be greater than or equal to (\S+) and less than or equal to (\S+)\.$"),
         lambda m: _("Harus antara %(min)s dan %(max)s.", min=m[1], max=m[2])),
        (re.compile(r"^Must be greater than or equal to (\S+)\.$"),
         lambda m: _("Paling kecil %(min)s.", min=m[1])),
        (re.compile(r"^Must be less than or equal to (\S+)\.$"), lambda m: _("Paling besar %(max)s.", max=m[1])),
        (re.compile(r"^Longer than maximum length (\d+)\.$"), lambda m: _("Paling panjang %(n)s karakter.", n=m[1])),
        (re.compile(r"^Shorter than minimum length (\d+)\.$"), lambda m: _("Paling pendek %(n)s karakter.", n=m[1])),
        (re.compile(r"^Length must be between (\d+) and (\d+)\.$"),
         lambda m: _("Panjangnya antara %(min)s dan %(max)s karakter.", min=m[1], max=m[2])),
        (re.compile(r"^String does not match expected pattern\.$"), lambda m: _("Bentuknya tidak sesuai.")),
        (re.compile(r"^Invalid JSON body\.$"), lambda m: _("Isi JSON tidak bisa dibaca.")),
        (re.compile(r"^Not a valid file\.$"), lambda m: _("Kirim berkas sebagai bagian multipart/form-data.")),
    ]


def translate(message: str) -> str:
    for pattern, make in _messages():
        m = pattern.match(message)
        if m:
            return str(make(m))
    return message


def _flatten(where: str, messages: Any, prefix: str = "") -> Iterable[dict[str, str]]:
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix
            yield from _flatten(where, value, name)
    elif isinstance(messages, (list, tuple)):
        for m in messages:
            if isinstance(m, (dict, list, tuple)):
                yield from _flatten(where, m, prefix)
            else:
                yield {"field": prefix, "in": where, "detail": translate(str(m))}
    else:
        yield {"field": prefix, "in": where, "detail": translate(str(messages))}


#: webargs locations as OpenAPI's ``in``
_LOCATIONS = {"query": "query", "querystring": "query", "json": "body", "form": "body", "files": "body",
              "multipart": "body",
              "headers": "header", "view_args": "path", "path": "path"}


def webargs_errors(messages: dict[str, Any]) -> list[dict[str, str]]:
    """webargs' ``{"query": {"limit": ["…"]}}`` as a list of field errors."""
    out: list[dict[str, str]] = []
    for location, fields in (messages or {}).items():
        out.extend(_flatten(_LOCATIONS.get(location, location), fields))
    return out


def invalid_errors(reasons: dict[str, list[str]], where: str = "body") -> list[dict[str, str]]:
    """A service's ``Invalid(reasons)`` as field errors ("" is the request as a whole)."""
    return [{"field": name, "in": where, "detail": str(m)} for name, ms in reasons.items() for m in ms]
