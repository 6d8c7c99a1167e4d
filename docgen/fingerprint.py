"""Digests of what a document is made from, so a re-run can leave unchanged documents alone."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from docgen import __version__
from docgen.job import DocumentSpec
from docgen.roster import Row

# A template folder larger than this is hashed by file sizes and times only.
_MAX_HASHED = 64 * 1024 * 1024


def _canonical(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): _canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_canonical(v) for v in value]
    return value


def digest(*parts: Any) -> str:
    text = json.dumps(_canonical(parts), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def _folder_digest(folder: Path, template: Path) -> str:
    """The template, and for HTML every file beside it but Word templates (stylesheets,
    images, fonts and included templates change the output); a Word template is self-contained."""
    hasher = hashlib.sha256()
    if template.suffix.lower() == ".docx":
        files = [template]
    else:
        files = sorted(p for p in folder.rglob("*") if p.is_file()
                       and p.suffix.lower() != ".docx" and not p.name.startswith("."))
    total = sum(p.stat().st_size for p in files)
    for path in files:
        hasher.update(str(path.relative_to(folder)).encode() + b"\0")
        if total <= _MAX_HASHED or path == template:
            hasher.update(path.read_bytes())
        else:
            stat = path.stat()
            hasher.update(f"{stat.st_size}:{stat.st_mtime_ns}".encode())
    return hasher.hexdigest()


def folder_digest(template: Path) -> str:
    return _folder_digest(template.parent.resolve(), template.resolve())


def row_inputs(template: str, spec: DocumentSpec, row: Row, course: str,
               path: str, today: dt.date | None) -> str:
    """Template files, the row's values and number, the course table's digest, docgen's
    version."""
    return digest(__version__, template, spec.name, spec.kind, row.number, dict(row.fields),
                  course, path, today)


def batch_inputs(template: str, spec: DocumentSpec, rows: Sequence[Row], course: str,
                 path: str) -> str:
    """Template files, every included row's number and values, the course, the version."""
    return digest(__version__, template, spec.name, spec.kind,
                  [(r.number, dict(r.fields)) for r in rows], course, path)
