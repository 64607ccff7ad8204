"""AES-256-GCM for personal fields. A ciphertext names its key version and is bound to its table, column and row
(associated data), so a value copied to another row or column does not decrypt."""
from __future__ import annotations

import base64
import os
import threading

from . import keys
from .db import Tx

PREFIX = "enc:v"
_data_keys: dict[int, bytes] = {}
_lock = threading.Lock()


class Undecryptable(Exception):
    """The value was tampered with, moved to another row, or its key version is gone."""


def is_encrypted(value: object) -> bool:
    return isinstance(value, str) and value.startswith(PREFIX)


def current_version(tx: Tx) -> int:
    version = tx.value("SELECT max(version) FROM encryption_keys WHERE version > 0")
    return version if version is not None else create_version(tx)


def create_version(tx: Tx) -> int:
    """A new data key, wrapped by the master key; the newest version encrypts from now on."""
    plain, wrapped = keys.provider().new_data_key()
    version = tx.value(
        "INSERT INTO encryption_keys (version, wrapped_key, provider) "
        "SELECT COALESCE(max(version), 0) + 1, :w, :p FROM encryption_keys WHERE version > 0 RETURNING version",
        w=wrapped, p=keys.provider().name)
    with _lock:
        _data_keys[version] = plain
    return version


def _key(tx: Tx, version: int) -> bytes:
    with _lock:
        if version in _data_keys:
            return _data_keys[version]
    wrapped = tx.value("SELECT wrapped_key FROM encryption_keys WHERE version = :v", v=version)
    if wrapped is None:
        raise Undecryptable(f"no key version {version}")
    plain = keys.provider().unwrap(wrapped)
    with _lock:
        _data_keys[version] = plain
    return plain


def _aad(table: str, column: str, row_id: str) -> bytes:
    return f"{table}:{column}:{row_id}".encode()


def encrypt(tx: Tx, value: str | None, table: str, column: str, row_id: str, version: int | None = None) -> str | None:
    if value is None:
        return None
    version = version or current_version(tx)
    nonce = os.urandom(12)
    sealed = keys.aesgcm()(_key(tx, version)).encrypt(nonce, value.encode(), _aad(table, column, row_id))
    return f"{PREFIX}{version}:{base64.b64encode(nonce + sealed).decode()}"


def decrypt(tx: Tx, value: str | None, table: str, column: str, row_id: str) -> str | None:
    if value is None or not is_encrypted(value):
        return value  # rows written before encryption are read as they are, and rotated later
    version_text, _, body = value[len(PREFIX):].partition(":")
    version, raw = int(version_text), base64.b64decode(body)
    from cryptography.exceptions import InvalidTag  # with AESGCM: imported by the first value that needs it

    try:
        return keys.aesgcm()(_key(tx, version)).decrypt(raw[:12], raw[12:], _aad(table, column, row_id)).decode()
    except InvalidTag:
        raise Undecryptable(f"{table}.{column} of {row_id} does not decrypt") from None


INDEX_VERSION = 0  # the blind-index key: its own row, never rotated (rotating it would mean re-indexing)


def blind_index(tx: Tx, value: str) -> str:
    """HMAC-SHA256 of the normalised value under the index key: equal inputs, equal outputs, nothing readable."""
    import hmac

    key = _key(tx, INDEX_VERSION) if tx.value("SELECT 1 FROM encryption_keys WHERE version = 0") else _index_key(tx)
    return hmac.new(key, value.strip().lower().encode(), "sha256").hexdigest()


def _index_key(tx: Tx) -> bytes:
    plain, wrapped = keys.provider().new_data_key()
    tx.execute("INSERT INTO encryption_keys (version, wrapped_key, provider) VALUES (0, :w, :p)"
               " ON CONFLICT (version) DO NOTHING", w=wrapped, p=keys.provider().name)
    return _key(tx, INDEX_VERSION)


def search_tokens(tx: Tx, *texts: str | None) -> list[str]:
    """Blind indexes of each word of the texts, and of each e-mail whole and by its two parts."""
    import re

    words: set[str] = set()
    for text in texts:
        for part in (text or "").lower().split():
            if "@" in part:
                local, _, domain = part.partition("@")
                words |= {part, local, domain}
            words |= {w for w in re.split(r"[^\w]+", part) if w}
    return sorted(blind_index(tx, w) for w in words)


def version_of(value: str) -> int | None:
    return int(value[len(PREFIX):].split(":", 1)[0]) if is_encrypted(value) else None
