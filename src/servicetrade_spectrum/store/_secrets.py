"""Secrets at rest: MultiFernet over the keys in ``ST_SPECTRUM_SECRET_KEYS`` or a key file.

On first use a key is generated in ``{home}/secret.key`` (mode 0600). Rotation: put a new key
first in ``ST_SPECTRUM_SECRET_KEYS`` (old ones after it); every secret still decrypts, and
new writes use the new key. A key that cannot decrypt what is stored stops the program with
:class:`SecretKeyMismatch`, never a silent empty secret.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from servicetrade_spectrum.config import Settings

__all__ = ["SecretBox", "SecretKeyMismatch", "load_secret_box"]

KEY_FILE = "secret.key"


class SecretKeyMismatch(RuntimeError):
    """Stored secrets were encrypted with a key that is not configured."""


class SecretBox:
    def __init__(self, keys: list[bytes], source: str) -> None:
        if not keys:
            raise ValueError("at least one secret key is needed")
        self._fernet = MultiFernet([Fernet(key) for key in keys])
        self.source = source

    def encrypt(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode()

    def decrypt(self, token: str, *, what: str = "a stored secret") -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:
            raise SecretKeyMismatch(
                f"The secret key from {self.source} cannot decrypt {what}. Set "
                "ST_SPECTRUM_SECRET_KEYS to the key the secrets were stored with (a new key "
                "goes first, the old one after it), or re-enter the secret.") from exc

    def __repr__(self) -> str:
        return f"SecretBox(source={self.source!r})"


def _read_or_create_key_file(path: Path) -> bytes:
    if path.exists():
        return path.read_bytes().strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Fernet.generate_key()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


def load_secret_box(settings: Settings) -> SecretBox:
    if settings.secret_keys is not None:
        keys = [k.strip().encode() for k in settings.secret_keys.get_secret_value().split(",")
                if k.strip()]
        try:
            return SecretBox(keys, "ST_SPECTRUM_SECRET_KEYS")
        except ValueError as exc:
            raise SecretKeyMismatch(
                "ST_SPECTRUM_SECRET_KEYS must hold Fernet keys (32 url-safe base64 bytes), "
                "comma-separated") from exc
    path = settings.home / KEY_FILE
    return SecretBox([_read_or_create_key_file(path)], str(path))
