"""Digests of what a document is made from, so a re-run can leave unchanged documents alone.

Two halves: what the plan knows before rendering (template name, row values, course, path,
docgen's version) and the files a render actually read (the template, its includes, every
stylesheet, image and font WeasyPrint fetched), each hashed once per build. Nothing else on
disk (the roster as a file, the job file, other templates, the output) counts."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Collection, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from docgen import __version__
from docgen.errors import DocgenError
from docgen.files import sha256_file
from docgen.job import DocumentSpec
from docgen.roster import Row

MISSING = "missing"  # the digest of a file that is not there (any change from it rebuilds)


def canonical(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Mapping):
        return {str(k): canonical(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [canonical(v) for v in value]
    return value


def digest(*parts: Any) -> str:
    """A short digest of JSON-able parts (dates as ISO text), stable across processes."""
    text = json.dumps(canonical(parts), sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


class FileDigests:
    """The sha256 of each file a document read, each file hashed once per build."""

    def __init__(self, base: Path) -> None:
        self.base = base.resolve()
        self._known: dict[Path, str] = {}
        # Most documents of a template read the same files: their names resolved once.
        self._sets: dict[tuple[str | Path, ...], dict[str, str]] = {}

    def name(self, path: str | Path) -> str:
        """How the file is recorded: relative to the job file's folder, POSIX slashes."""
        return Path(os.path.relpath(Path(path).resolve(), self.base)).as_posix()

    def sha(self, name: str) -> str:
        path = (self.base / name).resolve()
        if path not in self._known:
            try:
                self._known[path] = sha256_file(path)
            except OSError:
                self._known[path] = MISSING
        return self._known[path]

    def of(self, paths: Iterable[str | Path]) -> dict[str, str]:
        """Recorded name -> sha256 of every file in ``paths``."""
        key = tuple(paths)
        if key not in self._sets:
            names = sorted({self.name(p) for p in key})
            self._sets[key] = {name: self.sha(name) for name in names}
        return dict(self._sets[key])


def with_files(inputs: str, files: Mapping[str, str]) -> str:
    """A document's recorded digest: what the plan knows (row values, course, path...) and
    the digest of every file its render read."""
    return digest(inputs, sorted(files.items()))


def template_files(spec: DocumentSpec, locale: str) -> tuple[Path, ...]:
    """The template and every template it includes, imports or extends by name."""
    from docgen.sources import template_sources
    from docgen.templating import make_environment

    if spec.kind == "docx":  # a Word template includes nothing
        return (spec.template,)
    try:
        return tuple(dict.fromkeys(s.path for s in template_sources(spec, make_environment(locale))))
    except DocgenError:  # an unreadable template fails its documents; the file alone counts
        return (spec.template,)


def row_inputs(template: str, spec: DocumentSpec, row: Row, course: str,
               path: str, today: dt.date | None) -> str:
    """The template's name, the row's values and number, the course table's digest, the
    output path, docgen's version; the files a render reads are added by ``with_files``."""
    return digest(__version__, template, spec.name, spec.kind, spec.title, row.number,
                  dict(row.fields), course, path, today)


def batch_inputs(template: str, spec: DocumentSpec, rows: Sequence[Row], course: str,
                 path: str, fields: Collection[str] | None = None,
                 today: dt.date | None = None) -> str:
    """The template's name, every included row's number and the values of the ``fields``
    the template reads (all fields when None), the course, the path, ``today`` when it is
    read, the version."""
    chosen = sorted(fields) if fields is not None else None
    values = [(r.number, dict(r.fields) if chosen is None else
               {f: r.fields.get(f) for f in chosen}) for r in rows]
    return digest(__version__, template, spec.name, spec.kind, spec.title, values, course, path,
                  today)
