"""Atomic writes: a killed run never leaves a half-written file."""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from docgen.errors import DocgenError


def atomic_write(path: Path, data: bytes, *, durable: bool = True) -> str:
    """Write ``data`` to ``path`` through a temporary file in the same folder; return its sha256.

    ``durable`` False leaves the flush to disk to one ``sync_to_disk`` for many files: the
    rename is atomic either way, so a killed process never leaves a half-written file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name[:40]}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            if durable:
                os.fsync(handle.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return hashlib.sha256(data).hexdigest()


def sync_to_disk(folder: Path) -> None:
    """Flush every file written on ``folder``'s file system to disk in one call (Linux syncfs;
    elsewhere sync): one journal commit instead of an fsync per document."""
    if not hasattr(os, "sync"):  # Windows: files are flushed when closed by the OS
        return
    import ctypes

    fd = os.open(folder, os.O_RDONLY)
    try:
        syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
        if syncfs is None or syncfs(fd) != 0:
            os.sync()
    finally:
        os.close(fd)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(folder: Path, relative: str) -> Path:
    """``folder/relative``, refusing anything that would resolve outside ``folder``."""
    base = folder.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base) or target == base:
        raise ValueError(f"path {relative!r} leaves the output folder")
    return target


@contextmanager
def exclusive(lock: Path, what: str) -> Iterator[None]:
    """One ``what`` at a time on a folder: a second one stops with a clear error instead of
    writing the same files (advisory lock; Windows has none in the standard library)."""
    try:
        import fcntl
    except ImportError:
        yield
        return
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise DocgenError(f"another {what} is running on {lock.parent}",
                              hint="wait for it to finish, then run again") from None
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
