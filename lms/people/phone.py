"""Indonesian phone numbers, stored in E.164 form (+62…)."""
from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s\-().]")


def normalize_phone(raw: str | None) -> str | None:
    """Return ``+62…`` for an Indonesian number written as 08…, 8…, 62…, +62… or 021-…

    Returns None for an empty value; raises ValueError for something that is not an
    Indonesian number.
    """
    if raw is None:
        return None
    value = str(raw).strip()
    # a number that went through a spreadsheet as a float; checked before the dots are
    # dropped as separators, or "81234567890.0" would gain a digit
    if re.fullmatch(r"\+?\d+\.0", value):
        value = value[:-2]
    value = _SEPARATORS.sub("", value)
    if not value:
        return None
    if value.startswith("+"):
        if not value.startswith("+62"):
            raise ValueError("bukan nomor Indonesia")
        digits = value[3:]
    elif value.startswith("0062"):
        digits = value[4:]
    elif value.startswith("62"):
        digits = value[2:]
    elif value.startswith("0"):
        digits = value[1:]
    elif value.startswith("8"):
        digits = value  # a mobile number whose leading 0 a spreadsheet dropped
    else:
        raise ValueError("format nomor tidak dikenal")
    if not digits.isdigit() or digits.startswith("0"):
        raise ValueError("format nomor tidak dikenal")
    # mobile numbers 8xx: 9–12 digits after 62; landlines (area code + number): 8–11
    if digits.startswith("8"):
        if not 9 <= len(digits) <= 12:
            raise ValueError("panjang nomor HP tidak sesuai")
    elif not 8 <= len(digits) <= 11:
        raise ValueError("panjang nomor telepon tidak sesuai")
    return "+62" + digits


def display_phone(e164: str | None) -> str:
    """+6281234567890 → 0812-3456-7890 (as Indonesians write it)."""
    if not e164:
        return ""
    local = "0" + e164[3:] if e164.startswith("+62") else e164
    if local.startswith("08") and len(local) >= 10:
        return f"{local[:4]}-{local[4:8]}-{local[8:]}"
    return local


def whatsapp_digits(e164: str | None) -> str | None:
    """+6281234567890 → "6281234567890", the digits a ``https://wa.me/…`` link wants.

    Accepts anything ``normalize_phone`` accepts (stored numbers are already +62…).
    Returns None for an empty or unreadable number, and for landlines (021-…), which
    cannot hold a WhatsApp account the way a mobile number does.
    """
    try:
        number = normalize_phone(e164)
    except ValueError:
        return None
    if number is None or not number.startswith("+628"):
        return None
    return number[1:]


def tel_uri(e164: str | None) -> str | None:
    """+6281234567890 → "tel:+6281234567890" (None when there is no readable number)."""
    try:
        number = normalize_phone(e164)
    except ValueError:
        return None
    return f"tel:{number}" if number else None
