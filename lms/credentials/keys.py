"""The issuer's Ed25519 key, and the Multikey / multibase encodings the credentials use.

The key is a PEM (PKCS#8) file named by ``CREDENTIAL_KEY_FILE``; unset, ``instance/credential-key.pem``,
made on first use (mode 0600, created exclusively, so two workers starting at once end up with the
same key). In production the file is made once, kept with the instance's other secrets and backed
up: a lost key means the credentials already handed out can no longer be checked against the
published profile.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from flask import current_app

#: multicodec prefix of an Ed25519 public key (0xed, as an unsigned varint)
ED25519_PUB = b"\xed\x01"
#: multicodec prefix of an Ed25519 private key (0x1300)
ED25519_PRIV = b"\x80\x26"

_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {c: i for i, c in enumerate(_B58)}

_lock = threading.Lock()
_keys: dict[str, Ed25519PrivateKey] = {}


class KeyFileError(RuntimeError):
    """The configured key file is not an Ed25519 private key in PEM."""


# --- base58btc (multibase "z") -------------------------------------------------------------------

def b58encode(data: bytes) -> str:
    n = int.from_bytes(data, "big")
    out = []
    while n:
        n, r = divmod(n, 58)
        out.append(_B58[r])
    pad = len(data) - len(data.lstrip(b"\0"))
    return "1" * pad + "".join(reversed(out))


def b58decode(text: str) -> bytes:
    n = 0
    for c in text:
        if c not in _B58_INDEX:
            raise ValueError("not base58btc")
        n = n * 58 + _B58_INDEX[c]
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    pad = len(text) - len(text.lstrip("1"))
    return b"\0" * pad + body


# --- the key ----------------------------------------------------------------------------------

def key_file() -> Path:
    configured = current_app.config.get("CREDENTIAL_KEY_FILE")
    return Path(configured) if configured else Path(current_app.instance_path) / "credential-key.pem"


def _create(path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first: theirs is the key
        return
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
        f.flush()
        os.fsync(f.fileno())
    current_app.logger.warning("made a new credential signing key at %s: keep it and back it up", path)


def issuer_key() -> Ed25519PrivateKey:
    """The signing key (read once per process and file)."""
    path = key_file()
    name = str(path)
    with _lock:
        key = _keys.get(name)
        if key is None:
            if not path.exists():
                _create(path)
            try:
                loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
            except (ValueError, TypeError) as e:
                raise KeyFileError(f"{path}: not a PEM private key without a password") from e
            if not isinstance(loaded, Ed25519PrivateKey):
                raise KeyFileError(f"{path}: not an Ed25519 key")
            key = _keys[name] = loaded
    return key


def public_key_multibase(key: Ed25519PrivateKey | Ed25519PublicKey | None = None) -> str:
    """``z6Mk…``: the Multikey encoding of the public key."""
    key = key if key is not None else issuer_key()
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "z" + b58encode(ED25519_PUB + raw)


def public_key_from_multibase(value: str) -> Ed25519PublicKey:
    if not value.startswith("z"):
        raise ValueError("not a base58btc multibase value")
    raw = b58decode(value[1:])
    if len(raw) != 34 or not raw.startswith(ED25519_PUB):
        raise ValueError("not an Ed25519 Multikey")
    return Ed25519PublicKey.from_public_bytes(raw[2:])
