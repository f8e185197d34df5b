"""Vault: envelope encryption round trip, and every way opening must fail."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from bot.images.vault import Vault, VaultError, load_or_create_master_key
from tests.imagefactory import make_image


@pytest.fixture
def master_key(tmp_path: Path) -> bytes:
    return load_or_create_master_key(tmp_path / "master.key")


@pytest.fixture
def vault(tmp_path: Path, master_key: bytes) -> Vault:
    return Vault(master_key, tmp_path / "vault")


@pytest.mark.parametrize("fmt", ["JPEG", "PNG"])
def test_round_trip_and_only_ciphertext_on_disk(vault: Vault, tmp_path: Path, fmt: str) -> None:
    data = make_image(200, 150, fmt=fmt)
    wrapped = vault.seal("img-1", "rep-1", data)
    assert len(wrapped) == 40
    assert vault.open("img-1", "rep-1", wrapped) == data
    files = list((tmp_path / "vault").iterdir())
    assert [file.name for file in files] == ["img-1"]
    stored = files[0].read_bytes()
    assert data not in stored and data[:64] not in stored and data[-64:] not in stored
    assert b"\xff\xd8\xff" not in stored[:16] and b"\x89PNG" not in stored


def test_each_image_gets_its_own_key(vault: Vault) -> None:
    data = make_image(50, 50)
    assert vault.seal("a", "r", data) != vault.seal("b", "r", data)


def test_wrong_master_key_fails(vault: Vault, tmp_path: Path) -> None:
    wrapped = vault.seal("img-1", "rep-1", b"picture")
    other = Vault(os.urandom(32), tmp_path / "vault")
    with pytest.raises(VaultError):
        other.open("img-1", "rep-1", wrapped)


def test_wrong_ids_fail(vault: Vault, tmp_path: Path) -> None:
    wrapped = vault.seal("img-1", "rep-1", b"picture")
    with pytest.raises(VaultError):
        vault.open("img-1", "rep-2", wrapped)
    (tmp_path / "vault" / "img-2").write_bytes((tmp_path / "vault" / "img-1").read_bytes())
    with pytest.raises(VaultError):
        vault.open("img-2", "rep-1", wrapped)
    with pytest.raises(VaultError):
        vault.open("../master.key", "rep-1", wrapped)


def test_tampered_ciphertext_fails(vault: Vault, tmp_path: Path) -> None:
    wrapped = vault.seal("img-1", "rep-1", b"picture bytes")
    path = tmp_path / "vault" / "img-1"
    blob = bytearray(path.read_bytes())
    blob[-5] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(VaultError):
        vault.open("img-1", "rep-1", wrapped)
    with pytest.raises(VaultError):
        vault.open("img-1", "rep-1", wrapped[:-1] + bytes([wrapped[-1] ^ 1]))


def test_destroy_removes_the_ciphertext(vault: Vault) -> None:
    wrapped = vault.seal("img-1", "rep-1", b"picture")
    vault.destroy("img-1")
    vault.destroy("img-1")
    with pytest.raises(VaultError):
        vault.open("img-1", "rep-1", wrapped)


def test_master_key_file_is_private_and_stable(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    key = load_or_create_master_key(path)
    assert len(key) == 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_or_create_master_key(path) == key


def test_master_key_file_is_refused_when_unsafe(tmp_path: Path) -> None:
    path = tmp_path / "master.key"
    load_or_create_master_key(path)
    path.chmod(0o644)
    with pytest.raises(VaultError, match="readable by others"):
        load_or_create_master_key(path)
    path.chmod(0o600)
    path.write_bytes(b"short")
    with pytest.raises(VaultError, match="expected 32"):
        load_or_create_master_key(path)
