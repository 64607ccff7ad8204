"""Master keys that wrap the data keys: AWS KMS in the cloud (moto's KMS in tests), a key file on the local stack."""
from __future__ import annotations

import os
import threading
from pathlib import Path

from billing.config import settings


def aesgcm() -> type:
    """cryptography's AESGCM class, imported on first use (here and by billing.ports.crypto): tens of ms of a cold
    start, which functions that never seal or open a personal field do not pay."""
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    return AESGCM


class LocalKeyFile:
    """A 256-bit master key in a file (created on first use, mode 0600). For the embedded stack only."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = "local"

    def _master(self) -> bytes:
        if not self.path.exists():
            # Several processes (the stack's workers) may start at once: the key is written to a file of this
            # process's own, then linked into place, so no process ever reads a half-written key or a second one.
            self.path.parent.mkdir(parents=True, exist_ok=True)
            draft = self.path.with_name(f".{self.path.name}.{os.getpid()}")
            fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(aesgcm().generate_key(bit_length=256))
            try:
                os.link(draft, self.path)
            except FileExistsError:
                pass  # another process won: use its key
            finally:
                draft.unlink(missing_ok=True)
        key = self.path.read_bytes()
        if len(key) != 32:
            raise ValueError(f"{self.path} is not a 256-bit key ({len(key)} bytes)")
        return key

    def new_data_key(self) -> tuple[bytes, bytes]:
        """(plaintext, wrapped) 256-bit data key."""
        cipher = aesgcm()
        key, nonce = cipher.generate_key(bit_length=256), os.urandom(12)
        return key, nonce + cipher(self._master()).encrypt(nonce, key, b"billing-data-key")

    def unwrap(self, wrapped: bytes) -> bytes:
        return aesgcm()(self._master()).decrypt(wrapped[:12], wrapped[12:], b"billing-data-key")


class Kms:
    def __init__(self, key_id: str, endpoint_url: str | None, region: str) -> None:
        import boto3

        self.key_id = key_id
        self.name = f"kms:{key_id}"
        self.client = boto3.client("kms", endpoint_url=endpoint_url, region_name=region)

    def new_data_key(self) -> tuple[bytes, bytes]:
        reply = self.client.generate_data_key(KeyId=self.key_id, KeySpec="AES_256",
                                              EncryptionContext={"purpose": "billing-data-key"})
        return reply["Plaintext"], reply["CiphertextBlob"]

    def unwrap(self, wrapped: bytes) -> bytes:
        return self.client.decrypt(CiphertextBlob=wrapped, KeyId=self.key_id,
                                   EncryptionContext={"purpose": "billing-data-key"})["Plaintext"]


_provider = None
_lock = threading.Lock()


def provider():
    global _provider
    with _lock:
        if _provider is None:
            cfg = settings()
            if cfg.kms_key_id:
                _provider = Kms(cfg.kms_key_id, cfg.kms_endpoint_url, cfg.aws_region)
            else:
                _provider = LocalKeyFile(Path(cfg.local_key_file))
        return _provider
