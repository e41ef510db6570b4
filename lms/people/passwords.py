"""Password policy and hashing (scrypt through werkzeug)."""
from __future__ import annotations

import functools
from pathlib import Path

from flask import current_app
from flask_babel import gettext as _
from werkzeug.security import check_password_hash, generate_password_hash

MIN_LENGTH = 8
MAX_LENGTH = 128


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
    local = email.split("@")[0].lower() if email else ""
    if lowered in common_passwords():
        problems.append(_("Kata sandi ini terlalu umum dan mudah ditebak. Pilih yang lain."))
    elif (local and lowered == local) or (email and lowered == email.lower()) or (
        full_name and lowered.replace(" ", "") == full_name.lower().replace(" ", "")
    ):
        problems.append(_("Kata sandi tidak boleh sama dengan e-mail atau nama Anda."))
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
