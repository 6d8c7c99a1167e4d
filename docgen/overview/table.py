"""What a build left in its folder, as one line per worker: the table both the report page and
the summary spreadsheet show."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from docgen.manifest import BUNDLE_DOCUMENT


@dataclass(frozen=True)
class File:
    """One manifest line: a document's status and, when written, its file."""

    document: str
    status: str
    path: str = ""
    sha256: str = ""
    message: str = ""

    @property
    def kind(self) -> str:
        """pdf, docx or zip (lower case), or "" when nothing was written."""
        return PurePosixPath(self.path).suffix.lstrip(".").lower() if self.path else ""

    @property
    def exists(self) -> bool:
        """A file the clerk can open: made now, left unchanged, or stale from an earlier build."""
        return bool(self.path) and self.status in ("ok", "unchanged", "stale")


@dataclass
class Line:
    """One worker (one roster row): their documents by column, and the cells to fix."""

    row: int | None
    key: str
    label: str
    files: dict[str, list[File]] = field(default_factory=dict)
    fixes: list[str] = field(default_factory=list)  # roster.xlsx!D14: the field ... is empty

    @property
    def statuses(self) -> list[str]:
        return sorted({f.status for files in self.files.values() for f in files})

    @property
    def failed(self) -> list[File]:
        return [f for files in self.files.values() for f in files if f.status == "failed"]


@dataclass(frozen=True)
class Overview:
    job_id: str
    locale: str
    made: dt.datetime
    columns: tuple[str, ...]  # per-row document names, in the job's order
    lines: tuple[Line, ...]
    batch: tuple[File, ...]  # batch documents
    bundles: tuple[File, ...]  # zip bundles
    warnings: tuple[str, ...]
    counts: Mapping[str, int]

    @property
    def failed(self) -> list[tuple[Line, File]]:
        return [(line, f) for line in self.lines for f in line.failed]


def make_overview(*, job_id: str, locale: str, documents: Sequence[str],
                  records: Iterable[Mapping[str, str]], labels: Mapping[int, str],
                  fixes: Mapping[int, Sequence[str]], warnings: Sequence[str],
                  made: dt.datetime) -> Overview:
    """The table from the manifest's lines (``records``); ``labels`` and ``fixes`` by row number.

    A line is one roster row; a stale document of a worker no longer on the roster has no row
    and gets a line of its own, by key.
    """
    by_row: dict[int, Line] = {}
    by_key: dict[str, Line] = {}
    batch: list[File] = []
    bundles: list[File] = []
    columns = list(documents)
    counts: Counter[str] = Counter()
    for record in records:
        status = record.get("status", "")
        counts[status] += 1
        file = File(record.get("document", ""), status, record.get("path", ""),
                    record.get("sha256", ""), record.get("message", ""))
        row_text, key = record.get("row", ""), record.get("key", "")
        if not row_text and not key:
            (bundles if file.document == BUNDLE_DOCUMENT else batch).append(file)
            continue
        row = int(row_text) if row_text.isdigit() else None
        line = by_row.get(row) if row is not None else by_key.get(key)
        if line is None:
            label = labels.get(row, "") if row is not None else ""
            line = Line(row, key, label or key or f"row {row}", fixes=list(fixes.get(row, ()))
                        if row is not None else [])
            if row is not None:
                by_row[row] = line
            by_key.setdefault(key, line)
        if file.document not in columns:
            columns.append(file.document)  # kept from an earlier build (--only)
        line.files.setdefault(file.document, []).append(file)
    bundles.sort(key=lambda f: f.path)
    lines = sorted({id(v): v for v in (*by_row.values(), *by_key.values())}.values(),
                   key=lambda line: (line.row is None, line.row or 0, line.key))
    return Overview(job_id=job_id, locale=locale, made=made, columns=tuple(columns),
                    lines=tuple(lines), batch=tuple(batch), bundles=tuple(bundles), warnings=tuple(warnings),
                    counts=dict(counts))
