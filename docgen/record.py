"""What a build read, kept beside the manifest for the next run and for ``docgen mail``:
``.docgen-inputs.json`` in the output folder.

- ``documents``: each document's output path -> the set of files its render read (the
  template, its includes, stylesheets, images, fonts), as names relative to the job file's
  folder with their sha256; identical sets are stored once under ``files``.
- ``rows``: each key -> the row number and the values the build made that worker's documents
  from, so mail sends what the build made (a row edited since is refused).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docgen import __version__
from docgen.errors import DocgenError
from docgen.files import OutputFolder
from docgen.fingerprint import canonical, digest
from docgen.manifest import Outcome
from docgen.roster import Row

RECORD = ".docgen-inputs.json"
FORMAT = 1


def row_values(row: Row) -> dict[str, Any]:
    """A row's values as the record keeps them (JSON: dates as ISO text)."""
    return json.loads(json.dumps(canonical(dict(row.fields)), ensure_ascii=False, default=str))


@dataclass
class Record:
    """A build's record; empty when there is none (a first build, or an older docgen's)."""

    documents: dict[str, dict[str, str]] = field(default_factory=dict)
    rows: dict[str, dict[str, Any]] = field(default_factory=dict)
    found: bool = False

    def files(self, path: str) -> dict[str, str] | None:
        """The files the document at ``path`` was made from, or None if not recorded."""
        return self.documents.get(path)


def read_record(out: Path) -> Record:
    """The record of the last build in ``out``; an unreadable one counts as none (every
    document is then made again, which is safe)."""
    try:
        data = json.loads(OutputFolder(out).read_bytes(RECORD).decode("utf-8"))
        sets = data["files"]
        documents = {path: dict(sets[ref]) for path, ref in data["documents"].items()}
        rows = {str(k): dict(v) for k, v in data["rows"].items()}
    except (OSError, DocgenError, ValueError, KeyError, TypeError, AttributeError):
        return Record()
    if data.get("format") != FORMAT:
        return Record()
    return Record(documents, rows, found=True)


def write_record(out: Path, outcomes: Iterable[Outcome], rows: Mapping[str, Row],
                 kept: Mapping[str, Mapping[str, str]] | None = None) -> Path:
    """Write the record of this build atomically: the files of every document made or left
    unchanged (plus ``kept``: documents an ``--only`` build did not touch) and every row."""
    documents: dict[str, Mapping[str, str]] = dict(kept or {})
    for outcome in outcomes:
        if outcome.status in ("ok", "unchanged") and outcome.path:
            documents[outcome.path] = outcome.files
    sets: dict[str, dict[str, str]] = {}
    refs: dict[str, str] = {}
    for path, files in sorted(documents.items()):
        ref = digest(sorted(files.items()))[:16]
        sets.setdefault(ref, dict(sorted(files.items())))
        refs[path] = ref
    data = {"format": FORMAT, "docgen": __version__, "files": sets, "documents": refs,
            "rows": {key: {"row": row.number, "fields": row_values(row)}
                     for key, row in sorted(rows.items())}}
    OutputFolder(out).write(RECORD, json.dumps(data, ensure_ascii=False, indent=1,
                                               sort_keys=True).encode())
    return out / RECORD
