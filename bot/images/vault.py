"""Keeps uploaded images encrypted at rest, each under its own key, so one deleted key destroys one image."""

from __future__ import annotations

import os
import re
import secrets
import stat
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.keywrap import InvalidUnwrap, aes_key_unwrap, aes_key_wrap

MASTER_KEY_BYTES = 32
_NONCE_BYTES = 12
_FORMAT = b"HVN1"  # a version prefix, so the file layout can change without guessing
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_WIPE_CHUNK = 1024 * 1024


class VaultError(Exception):
    """The vault cannot store or return an image: wrong key, wrong ids, or damaged data."""


def load_or_create_master_key(path: Path) -> bytes:
    """Read the master key, creating it (0600, never overwriting) if it does not exist yet."""
    return load_or_create_key(path, "master key")


def load_or_create_key(path: Path, what: str) -> bytes:
    """Read a 32-byte key file (the master key, the audit key), creating it 0600 if it does not exist yet."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key(path, what)
    key = secrets.token_bytes(MASTER_KEY_BYTES)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(key)
            file.flush()
            os.fsync(file.fileno())
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return key


def _read_key(path: Path, what: str) -> bytes:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise VaultError(f"{what} file {path} is readable by others (mode {mode:o}); run chmod 600 on it")
    key = path.read_bytes()
    if len(key) != MASTER_KEY_BYTES:
        raise VaultError(f"{what} file {path} holds {len(key)} bytes, expected {MASTER_KEY_BYTES}")
    return key


class Vault:
    """Envelope encryption of images: AES-256-GCM per image, the image key wrapped by the master key.

    `seal` returns the wrapped key for the caller to keep in the database; the vault keeps
    only ciphertext. An image is gone once either its wrapped key or its ciphertext file is
    destroyed: the purge should remove both, but either alone suffices.
    """

    def __init__(self, master_key: bytes, directory: Path) -> None:
        if len(master_key) != MASTER_KEY_BYTES:
            raise VaultError(f"master key must be {MASTER_KEY_BYTES} bytes")
        self._master_key = master_key
        self._directory = directory
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def seal(self, image_id: str, report_id: str, data: bytes) -> bytes:
        """Encrypt and store one image; return its wrapped key."""
        key = AESGCM.generate_key(bit_length=256)
        nonce = secrets.token_bytes(_NONCE_BYTES)
        ciphertext = AESGCM(key).encrypt(nonce, data, _associated_data(image_id, report_id))
        self._write_atomically(self._path(image_id), _FORMAT + nonce + ciphertext)
        return aes_key_wrap(self._master_key, key)

    def open(self, image_id: str, report_id: str, wrapped_key: bytes) -> bytes:
        """Return the plaintext image; VaultError if anything does not match."""
        try:
            blob = self._path(image_id).read_bytes()
        except FileNotFoundError:
            raise VaultError(f"no stored image {image_id}") from None
        if not blob.startswith(_FORMAT) or len(blob) < len(_FORMAT) + _NONCE_BYTES + 16:
            raise VaultError(f"stored image {image_id} is damaged")
        try:
            key = aes_key_unwrap(self._master_key, wrapped_key)
        except (InvalidUnwrap, ValueError):
            raise VaultError("the image key does not open with this master key") from None
        nonce = blob[len(_FORMAT) : len(_FORMAT) + _NONCE_BYTES]
        try:
            return AESGCM(key).decrypt(nonce, blob[len(_FORMAT) + _NONCE_BYTES :], _associated_data(image_id, report_id))
        except InvalidTag:
            raise VaultError(f"stored image {image_id} does not match its key or report, or was altered") from None

    def destroy(self, image_id: str) -> None:
        """Overwrite an image's ciphertext with zeros, then remove it; a second call is harmless.

        The deleted key already makes the ciphertext unreadable; the overwrite means the bytes do not
        linger in free blocks either (on file systems that write in place: copy-on-write ones and
        SSDs may keep old blocks whatever an application does). It writes the whole file, so call it
        off the event loop for large images.
        """
        path = self._path(image_id)
        try:
            fd = os.open(path, os.O_WRONLY)
        except FileNotFoundError:
            return
        try:
            remaining = os.fstat(fd).st_size
            zeros = bytes(min(remaining, _WIPE_CHUNK))
            while remaining > 0:
                remaining -= os.write(fd, zeros[:remaining])
            os.fsync(fd)
        finally:
            os.close(fd)
        path.unlink(missing_ok=True)

    def _path(self, image_id: str) -> Path:
        if not _SAFE_ID.fullmatch(image_id):
            raise VaultError("image ids may hold only letters, digits, '-' and '_'")
        return self._directory / image_id

    def _write_atomically(self, path: Path, blob: bytes) -> None:
        temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
        fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(blob)
                file.flush()
                os.fsync(file.fileno())
            os.replace(temporary, path)
        except BaseException:
            temporary.unlink(missing_ok=True)
            raise


def _associated_data(image_id: str, report_id: str) -> bytes:
    # Length-prefixed so ("ab", "c") and ("a", "bc") never bind to the same bytes.
    image = image_id.encode()
    report = report_id.encode()
    return _FORMAT + len(image).to_bytes(2, "big") + image + len(report).to_bytes(2, "big") + report
