"""Names: spreadsheet headers to field names, and values to safe file names."""

from __future__ import annotations

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
    return text or "_"


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
    return str(PurePosixPath(*parts))


def collision_key(relative_path: str) -> str:
    """Paths that the same file system would treat as one file (Windows and macOS ignore case)."""
    return unicodedata.normalize("NFC", relative_path).casefold()
