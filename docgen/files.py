"""The output folder, the one way docgen touches it: every file docgen creates, appends,
locks, renames or deletes there is reached from the folder without following a symlink.

Each path is walked one component at a time from a descriptor of the output folder
(``os.open(..., dir_fd=...)`` with ``O_NOFOLLOW | O_DIRECTORY``), so a symlink planted in the
folder, even one swapped in while docgen runs, can never redirect a write or a deletion: it is
refused with a message naming it. Writes are atomic: a temporary file in the same folder,
fsynced, then renamed; temporaries have a name only docgen writes (``.docgen-<hex>.tmp``), so
clean-up never touches anyone else's files.
"""

from __future__ import annotations

import errno
import hashlib
import os
import re
import secrets
import stat
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path, PurePosixPath
from typing import IO

from docgen.errors import ContainmentError, DocgenError

TEMPORARY_PATTERN = re.compile(r"^\.docgen-[0-9a-f]{16}\.tmp$")
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC
# Without dir_fd (Windows) each component is checked with lstat instead: same refusals,
# without the protection against a link swapped in between the check and the write.
_DIR_FD = os.open in os.supports_dir_fd and os.stat in os.supports_dir_fd
_UNWRITABLE = (errno.EROFS, errno.EACCES, errno.EPERM)


def temporary_name() -> str:
    """A name only docgen gives, fixed in length: it fits beside any target name."""
    return f".docgen-{secrets.token_hex(8)}.tmp"


def relative_parts(relative: str) -> tuple[str, ...]:
    """The components of a path inside the output folder; anything that could leave it
    (absolute, ``..``, a drive, an empty or NUL-carrying name) is refused."""
    text = str(relative)
    posix = PurePosixPath(text)
    parts = tuple(p for p in text.split("/") if p not in ("", "."))
    if (not parts or posix.is_absolute() or text.startswith("\\") or ":" in parts[0]
            or any(p == ".." or "\x00" in p or "\\" in p for p in parts)):
        raise ContainmentError(f"the path {text!r} is not inside the output folder",
                               hint="docgen never reads or deletes it; remove that line from "
                                    "manifest.csv, or delete the manifest and build again")
    return parts


class OutputFolder:
    """An output folder (``root`` itself may be a link the clerk made; nothing below it may)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"OutputFolder({str(self.root)!r})"

    # --- walking ---------------------------------------------------------------------------

    def create(self) -> None:
        """The folder itself, with a clear message when it cannot be made."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise self.unwritable(err, self.root) from err

    def unwritable(self, err: OSError, path: Path) -> DocgenError:
        """``err`` met writing ``path``, as a message with what to do."""
        if err.errno in _UNWRITABLE:
            what = "is read-only" if err.errno == errno.EROFS else "cannot be written by this user"
            return DocgenError(f"the output folder {self.root} {what} ({err.strerror}: {path})",
                               hint="choose a writable folder with --out, or ask for write access")
        if err.errno == errno.ENOSPC:
            return DocgenError(f"no space left on the device of {self.root} (writing {path})",
                               hint="free space and run again: the documents already written "
                                    "are kept and the next run makes only the rest")
        return DocgenError(f"cannot write {path}: {err.strerror}")

    def _refuse(self, parts: tuple[str, ...]) -> ContainmentError:
        shown = self.root / PurePosixPath(*parts)
        return ContainmentError(f"{shown} is a symbolic link: docgen never writes through one",
                                hint="remove the link (docgen makes real files and folders "
                                     "in the output folder), or choose another --out")

    def _root_fd(self) -> int:
        return os.open(self.root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)

    def _folder(self, parts: tuple[str, ...], *, create: bool) -> int:
        """A descriptor of the folder ``parts`` below the root, no component followed."""
        fd = self._root_fd()
        try:
            for number, part in enumerate(parts):
                try:
                    child = os.open(part, _DIR_FLAGS, dir_fd=fd)
                except FileNotFoundError:
                    if not create:
                        raise
                    with suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                    child = self._child(fd, parts[:number + 1])
                except OSError as err:
                    raise self._why(fd, parts[:number + 1], err) from err
                os.close(fd)
                fd = child
            return fd
        except BaseException:
            os.close(fd)
            raise

    def _child(self, fd: int, parts: tuple[str, ...]) -> int:
        try:
            return os.open(parts[-1], _DIR_FLAGS, dir_fd=fd)
        except OSError as err:
            raise self._why(fd, parts, err) from err

    def _why(self, fd: int, parts: tuple[str, ...], err: OSError) -> Exception:
        """A symlink met on the way, named; anything else as it is."""
        with suppress(OSError):
            if stat.S_ISLNK(os.lstat(parts[-1], dir_fd=fd).st_mode):
                return self._refuse(parts)
        return err

    @contextmanager
    def _at(self, relative: str, *, create: bool) -> Iterator[tuple[int | None, str, Path]]:
        """(folder descriptor, name, full path) of ``relative``; the descriptor is None
        where the platform has no dir_fd (then the name is the full path)."""
        parts = relative_parts(relative)
        full = self.root.joinpath(*parts)
        if not _DIR_FD:
            self._check_links(parts)
            if create:
                full.parent.mkdir(parents=True, exist_ok=True)
            yield None, str(full), full
            return
        fd = self._folder(parts[:-1], create=create)
        try:
            yield fd, parts[-1], full
        finally:
            os.close(fd)

    def _check_links(self, parts: tuple[str, ...]) -> None:
        for number in range(1, len(parts) + 1):
            if self.root.joinpath(*parts[:number]).is_symlink():
                raise self._refuse(parts[:number])

    def _open(self, relative: str, flags: int, *, create: bool = False) -> tuple[int, Path]:
        with self._at(relative, create=create) as (fd, name, full):
            try:
                opened = os.open(name, flags | _NOFOLLOW | _CLOEXEC, 0o666, dir_fd=fd)
            except OSError as err:
                if err.errno == errno.ELOOP:  # O_NOFOLLOW met a link as the last component
                    raise self._refuse(relative_parts(relative)) from err
                raise
            if not stat.S_ISREG(os.fstat(opened).st_mode):
                os.close(opened)
                raise ContainmentError(f"{full} is not a regular file", hint="move it away")
            return opened, full

    # --- writing ---------------------------------------------------------------------------

    def write(self, relative: str, data: bytes, *, durable: bool = True) -> str:
        """Write ``data`` at ``relative`` through a temporary file in the same folder, fsynced,
        then renamed over it; return its sha256. A symlink on the way is refused.

        ``durable`` False leaves the flush to disk to one ``sync`` for many files (a build's
        documents): the rename is atomic either way, so a killed process never leaves a
        half-written file, and a file lost to a power cut before the sync fails its sha256
        on the next run, which makes it again."""
        with self._at(relative, create=True) as (fd, name, full):
            if fd is None:  # no dir_fd: the name is a full path
                folder, target = full.parent, full.name
            else:
                folder, target = None, name
            self._not_a_link(fd, target, relative)
            temporary = temporary_name() if fd is not None else str(folder / temporary_name())
            handle = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
                             | _CLOEXEC, 0o666, dir_fd=fd)
            try:
                with os.fdopen(handle, "wb") as stream:
                    stream.write(data)
                    stream.flush()
                    if durable:
                        os.fsync(stream.fileno())
                os.replace(temporary, target if fd is not None else str(full),
                           src_dir_fd=fd, dst_dir_fd=fd)
            except BaseException as err:
                with suppress(OSError):
                    os.unlink(temporary, dir_fd=fd)
                if isinstance(err, OSError):
                    err.filename = str(full)  # the file meant, not the temporary (or none)
                raise
        return hashlib.sha256(data).hexdigest()

    def sync(self) -> None:
        """Flush every file written on the folder's file system to disk in one call (Linux
        syncfs; elsewhere sync): one journal commit instead of an fsync per document."""
        if not hasattr(os, "sync"):  # Windows: no such call, files are flushed by the OS
            return
        import ctypes

        fd = self._root_fd()
        try:
            syncfs = getattr(ctypes.CDLL(None, use_errno=True), "syncfs", None)
            if syncfs is None or syncfs(fd) != 0:
                os.sync()
        finally:
            os.close(fd)

    def _not_a_link(self, fd: int | None, name: str, relative: str) -> None:
        try:
            mode = os.lstat(name, dir_fd=fd).st_mode if fd is not None \
                else os.lstat(self.root / relative).st_mode
        except FileNotFoundError:
            return
        if stat.S_ISLNK(mode):
            raise self._refuse(relative_parts(relative))
        if stat.S_ISDIR(mode):
            raise ContainmentError(f"{self.root / relative} is a folder, where docgen writes a "
                                   "file", hint="move the folder away")

    @contextmanager
    def append(self, relative: str) -> Iterator[IO[bytes]]:
        """``relative`` opened for appending (and reading), created if missing."""
        fd, full = self._open(relative, os.O_RDWR | os.O_APPEND | os.O_CREAT, create=True)
        if os.fstat(fd).st_nlink > 1:  # appending would change the other name's file too
            os.close(fd)
            raise ContainmentError(f"{full} is a hard link to another file: docgen never "
                                   "appends to one", hint="remove it; docgen makes it again")
        with os.fdopen(fd, "a+b") as handle:
            yield handle

    @contextmanager
    def lock(self, relative: str, what: str) -> Iterator[None]:
        """One ``what`` at a time on this folder: a second one stops with a clear error instead
        of writing the same files (an advisory lock; the file is never truncated)."""
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks in the standard library
            yield
            return
        try:
            fd, full = self._open(relative, os.O_RDWR | os.O_CREAT, create=True)
        except OSError as err:
            raise self.unwritable(err, self.root / relative) from err
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                raise DocgenError(f"another {what} is running on {full.parent}",
                                  hint="wait for it to finish, then run again") from None
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    def remove(self, relative: str) -> bool:
        """Delete the regular file at ``relative`` (never a link, never through one) and the
        folders it leaves empty; False if there was none."""
        parts = relative_parts(relative)
        try:
            with self._at(relative, create=False) as (fd, name, _):
                if not stat.S_ISREG(os.lstat(name, dir_fd=fd).st_mode):
                    return False
                os.unlink(name, dir_fd=fd)
        except FileNotFoundError:
            return False
        for depth in range(len(parts) - 1, 0, -1):
            try:
                with self._at("/".join(parts[:depth]), create=False) as (fd, name, _):
                    os.rmdir(name, dir_fd=fd)
            except OSError:
                break  # not empty (or not ours to remove): stop climbing
        return True

    def remove_temporaries(self) -> int:
        """Delete the temporary files a killed run left (they never replaced a document):
        only names docgen gives, never following a link."""
        removed = 0
        if not self.root.is_dir():
            return 0
        if not _DIR_FD:
            for path in self.root.rglob(".docgen-*.tmp"):
                if TEMPORARY_PATTERN.match(path.name) and path.is_file() \
                        and not path.is_symlink():
                    path.unlink(missing_ok=True)
                    removed += 1
            return removed
        for _, _, names, fd in os.fwalk(self.root, follow_symlinks=False):
            for name in names:
                if TEMPORARY_PATTERN.match(name):
                    with suppress(OSError):
                        if stat.S_ISREG(os.lstat(name, dir_fd=fd).st_mode):
                            os.unlink(name, dir_fd=fd)
                            removed += 1
        return removed

    # --- reading ---------------------------------------------------------------------------

    def read_bytes(self, relative: str) -> bytes:
        """The bytes of the regular file at ``relative``, reached without following a link."""
        fd, _ = self._open(relative, os.O_RDONLY)
        with os.fdopen(fd, "rb") as handle:
            return handle.read()

    @contextmanager
    def open_text(self, relative: str, encoding: str) -> Iterator[IO[str] | None]:
        """``relative`` opened as text (CSV: no newline translation), or None if missing."""
        try:
            fd, _ = self._open(relative, os.O_RDONLY)
        except FileNotFoundError:
            yield None
            return
        with os.fdopen(fd, encoding=encoding, newline="") as handle:
            yield handle

    def is_file(self, relative: str) -> bool:
        """A regular file at ``relative``, reached without a link; False for any path that
        leaves the folder."""
        try:
            fd, _ = self._open(relative, os.O_RDONLY)
        except (OSError, DocgenError):
            return False
        os.close(fd)
        return True

    def sha256(self, relative: str) -> str | None:
        """The sha256 of the file at ``relative``, or None if it is missing, a link, or outside."""
        try:
            fd, _ = self._open(relative, os.O_RDONLY)
        except (OSError, DocgenError):
            return None
        digest = hashlib.sha256()
        with os.fdopen(fd, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    def files(self, relative: str) -> list[str]:
        """Names of the regular files in the folder ``relative`` (none if it is missing)."""
        parts = relative_parts(relative)
        try:
            fd = self._folder(parts, create=False) if _DIR_FD else None
        except FileNotFoundError:
            return []
        if fd is None:
            folder = self.root.joinpath(*parts)
            self._check_links(parts)
            return sorted(p.name for p in folder.iterdir() if p.is_file()
                          and not p.is_symlink()) if folder.is_dir() else []
        try:
            return sorted(n for n in os.listdir(fd)
                          if stat.S_ISREG(os.lstat(n, dir_fd=fd).st_mode))
        finally:
            os.close(fd)


def atomic_write(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` atomically (a file the clerk named, e.g. fix-template's
    copy); return its sha256."""
    path.parent.mkdir(parents=True, exist_ok=True)
    return OutputFolder(path.parent).write(path.name, data)


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def inside(folder: Path, relative: str) -> Path:
    """``folder/relative`` for reading, refusing a path that leaves ``folder`` or passes a link."""
    try:
        parts = relative_parts(relative)
    except ContainmentError as err:
        raise ValueError(f"path {relative!r} leaves the output folder") from err
    for number in range(1, len(parts) + 1):
        if folder.joinpath(*parts[:number]).is_symlink():
            raise ValueError(f"path {relative!r} passes the symbolic link "
                             f"{folder.joinpath(*parts[:number])}")
    return folder.joinpath(*parts)
