"""Password policy and hashing (scrypt through werkzeug)."""
from __future__ import annotations

import functools
import re
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
MAX_LENGTH = 128


#: name parts and e-mail parts shorter than this may appear in a password ("Bu", "Li")
PERSONAL_MIN = 3


def personal_words(email: str = "", full_name: str = "") -> list[str]:
    """What a password must not contain: each part of the name of 3+ letters, the e-mail's local
    part, its parts between dots (with a letter) and its runs of letters, of 3+ characters each
    ("siti.ew3171009@…" → siti.ew3171009, siti, ew3171009)."""
    local = email.split("@")[0].casefold() if email else ""
    candidates = [local, *(p for p in re.split(r"[\W_]+", local) if re.search(r"[^\W\d_]", p)),
                  *re.findall(r"[^\W\d_]+", local), *re.findall(r"[^\W\d_]+", (full_name or "").casefold())]
    words: list[str] = []
    for word in candidates:
        if len(word) >= PERSONAL_MIN and word not in words:
            words.append(word)
    return words


@functools.cache
def common_passwords() -> frozenset[str]:
    path = Path(__file__).with_name("common_passwords.txt")
    return frozenset(line.strip().lower() for line in path.read_text(encoding="utf-8").splitlines() if line.strip())


def password_problems(password: str, *, email: str = "", full_name: str = "") -> list[str]:
    """Why ``password`` is not acceptable (empty list: fine)."""
    problems: list[str] = []
    if len(password) < MIN_LENGTH:
        problems.append(_("Kata sandi minimal %(n)d karakter.", n=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        problems.append(_("Kata sandi maksimal %(n)d karakter.", n=MAX_LENGTH))
    lowered = password.strip().lower()
    folded = password.casefold()
    personal = next((w for w in personal_words(email, full_name) if w in folded), None)
    if lowered in common_passwords():
        problems.append(_("Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain."))
    elif personal is not None:
        # a name or an e-mail is the first thing a guesser tries ("siti12345" for Siti)
        problems.append(_("Kata sandi tidak boleh memuat nama atau e-mail Anda (\"%(word)s\"). "
                          "Pilih kata sandi lain.", word=personal))
    elif len(set(password)) < 3:
        problems.append(_("Kata sandi terlalu mudah ditebak. Pilih yang lain."))
    return problems


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def verify_password(stored_hash: str | None, password: str) -> bool:
    if not stored_hash:
        return False
    return check_password_hash(stored_hash, password)


@functools.cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash("not-a-real-password", method=method)


def burn_time(password: str) -> None:
    """Spend the time of one hash check so unknown accounts are not told apart by timing."""
    check_password_hash(_dummy_hash(current_app.config["PASSWORD_HASH_METHOD"]), password)
