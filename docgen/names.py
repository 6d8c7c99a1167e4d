"""Names: spreadsheet headers to field names, and values to safe file names."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import PurePosixPath

_NON_WORD = re.compile(r"[^a-z0-9]+")
# Characters Windows refuses in file names, plus both path separators.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*]')
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_RESERVED = {"con", "prn", "aux", "nul"} | {f"{p}{n}" for p in ("com", "lpt") for n in range(10)}
# Leaves room for the folder, a suffix and a temporary name within 255 bytes.
MAX_SEGMENT = 100
# File systems count bytes, not characters: 255 bytes a component (ext4, XFS, APFS; NTFS 255
# UTF-16 units), 90 CJK characters are 270 bytes. A name docgen makes stays within
# MAX_NAME_BYTES, leaving room for what is added after it (an extension, ``-2``); temporary
# files have a short name of their own (files.temporary_name), whatever the target's.
MAX_COMPONENT_BYTES = 255
MAX_NAME_BYTES = 200
# A relative path, so that the output folder in front stays far below PATH_MAX (4096).
MAX_PATH_BYTES = 1024
_FOLDER_BYTES = 60  # each folder of a path over MAX_PATH_BYTES is shortened to this


def strip_accents(text: str) -> str:
    """``Niccolò D'Angelo`` -> ``Niccolo D'Angelo``."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def field_name(header: str) -> str:
    """Header text to a field name usable in templates: ``Data di nascita`` -> ``data_di_nascita``."""
    name = _NON_WORD.sub("_", strip_accents(str(header)).lower()).strip("_")
    if name and name[0].isdigit():
        name = f"f_{name}"
    return name


def sanitize_segment(value: str) -> str:
    """One path segment that is safe on Linux, macOS and Windows and cannot climb folders."""
    text = unicodedata.normalize("NFC", str(value))
    text = _CONTROL.sub("", text)
    text = _FORBIDDEN.sub("_", text)
    # Leading dots hide a file (and spell ..); trailing dots and spaces vanish on Windows.
    text = text.strip().strip(". ")
    if text.split(".", 1)[0].strip().lower() in _RESERVED:
        text = f"_{text}"
    if len(text) > MAX_SEGMENT:
        stem, dot, suffix = text.rpartition(".")
        if dot and 0 < len(suffix) <= 5:
            text = stem[: MAX_SEGMENT - len(suffix) - 1].rstrip(". ") + "." + suffix
        else:
            text = text[:MAX_SEGMENT].rstrip(". ")
    return shorten(text) or "_"


def shorten(text: str, limit: int = MAX_NAME_BYTES) -> str:
    """``text`` within ``limit`` bytes of UTF-8: unchanged if it fits, else its readable start,
    ``~`` and a short hash of the whole (so two long names stay apart), and its extension."""
    if len(text.encode("utf-8")) <= limit:
        return text
    stem, dot, suffix = text.rpartition(".")
    tail = f".{suffix}" if dot and 0 < len(suffix) <= 5 and suffix.isalnum() else ""
    base = stem if tail else text
    mark = "~" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:8]
    room = limit - len(mark) - len(tail.encode("utf-8"))
    start = base.encode("utf-8")[:room].decode("utf-8", "ignore").rstrip(". ")
    return f"{start}{mark}{tail}"


def sanitize_value(value: object) -> str:
    """A value inserted into a filename pattern: never a separator, never ``..``."""
    return sanitize_segment(str(value))


def safe_relative_path(rendered: str) -> str:
    """A rendered filename pattern as a relative POSIX path that stays inside its folder.

    Separators written in the pattern itself make sub-folders; every segment is sanitised,
    and ``..`` or an absolute path can never climb out.
    """
    segments = [s for s in re.split(r"[\\/]+", rendered) if s.strip() not in ("", ".")]
    parts = [sanitize_segment(s) for s in segments]
    if not parts:
        return "_"
    if len("/".join(parts).encode("utf-8")) > MAX_PATH_BYTES:
        parts = [shorten(p, _FOLDER_BYTES) for p in parts[:-1]] + parts[-1:]
    if len("/".join(parts).encode("utf-8")) > MAX_PATH_BYTES:
        raise ValueError(f"the path has {len(parts)} folders and is longer than "
                         f"{MAX_PATH_BYTES} bytes even shortened: use fewer folders")
    return str(PurePosixPath(*parts))


def collision_key(relative_path: str) -> str:
    """Paths that the same file system would treat as one file (Windows and macOS ignore case)."""
    return unicodedata.normalize("NFC", relative_path).casefold()
