"""What the server and its workers do at start so that images and keys stay off disk and out of core dumps.

A core dump of a hashing worker holds the plaintext image it was decoding, and one of the server holds
keys and chats: both are switched off (RLIMIT_CORE 0 and, on Linux, PR_SET_DUMPABLE 0, which also stops
other processes of the same user reading this one's memory through /proc or ptrace). Files Haven
creates are private to its user (umask 077), and the data folder's modes are checked at start.
"""

from __future__ import annotations

import ctypes
import os
import resource
import stat
import sys
from pathlib import Path

PR_SET_DUMPABLE = 4
PR_GET_DUMPABLE = 3
# The embedded database and SQLite's companions, and the folder of ciphertext files.
DATA_FILES = ("haven.db", "haven.db-wal", "haven.db-shm")


class HardeningError(RuntimeError):
    """A file or folder Haven keeps private is open to others; the message says which and what to run."""


def forbid_core_dumps() -> None:
    """No core file for this process (or its children), and no reading its memory from outside."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if sys.platform.startswith("linux"):
        # The flag is reset to 1 by execve, so every process (each worker too) sets it for itself.
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)


def is_dumpable() -> bool:
    """Whether this process could still write a core dump (for tests and start-up checks)."""
    if resource.getrlimit(resource.RLIMIT_CORE) != (0, 0):
        return True
    if sys.platform.startswith("linux"):
        return bool(ctypes.CDLL(None, use_errno=True).prctl(PR_GET_DUMPABLE, 0, 0, 0, 0))
    return False


def private_umask() -> None:
    """Everything this process creates from now on is readable by its own user only."""
    os.umask(0o077)


def check_data_dir(data_dir: Path, *, fix: bool) -> list[str]:
    """The data folder (made 0700 if missing) and the database and vault in it must be private.

    With `fix` (development) modes that are too open are tightened and the fixes returned, so the
    caller can say what it did; otherwise (production) HardeningError names the first one.
    """
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fixed: list[str] = []
    candidates = [(data_dir, 0o700), (data_dir / "vault", 0o700)]
    candidates += [(data_dir / name, 0o600) for name in DATA_FILES]
    for path, wanted in candidates:
        try:
            mode = stat.S_IMODE(path.stat().st_mode)
        except FileNotFoundError:
            continue
        if not mode & 0o077:
            continue
        if not fix:
            raise HardeningError(f"{path} can be read by other users (mode {mode:o}); run chmod {wanted:o} {path}")
        path.chmod(mode & ~0o077)
        fixed.append(f"{path} was mode {mode:o}, now {mode & ~0o077:o}")
    return fixed


def check_key_location(key_file: Path, data_dir: Path, what: str) -> str | None:
    """A key kept with the data it protects protects nothing against a copy of the data volume.

    Refuses a key inside the data folder; returns a warning when it is on the same file system.
    """
    key, data = key_file.resolve(), data_dir.resolve()
    if key.is_relative_to(data):
        raise HardeningError(f"the {what} file {key_file} is inside HAVEN_DATA_DIR ({data_dir}): a copy of the data "
                             "would carry its key. Move it to another volume (for example /etc/haven) and set its "
                             "path in the environment.")
    try:
        same = key.parent.stat().st_dev == data.stat().st_dev
    except FileNotFoundError:
        return None
    if same:
        return (f"the {what} file {key_file} is on the same file system as HAVEN_DATA_DIR ({data_dir}); keep keys on "
                "another volume so a copy of the data does not carry them")
    return None
