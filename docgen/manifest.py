"""Outcomes of a build, their counts, and manifest.csv."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from docgen.files import OutputFolder

Status = Literal["ok", "unchanged", "skipped", "failed", "stale"]
MANIFEST = "manifest.csv"
BUNDLE_DOCUMENT = "bundle"  # the document name of the zip bundles' manifest lines
# The contract's seven columns first; later columns extend it: ``inputs`` is the digest of
# what the document was made from (incremental builds), ``source`` the file a PDF was
# converted from.
COLUMNS = ("row", "key", "document", "status", "path", "sha256", "message", "inputs", "source")
# A cell starting with these is a formula to Excel: prefix it so it stays text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Outcome:
    """What happened to one (row, document); ``row`` and ``key`` are None for batch documents."""

    document: str
    status: Status
    row: int | None = None
    key: str | None = None
    path: str = ""
    sha256: str = ""
    message: str = ""
    inputs: str = ""
    source: str = ""
    label: str = ""  # for the summary only: ROSSI Mario
    warnings: tuple[str, ...] = ()  # for the summary only; the message holds them too
    # The files its render read, recorded name -> sha256: kept in the journal and in
    # .docgen-inputs.json (record.py), not in the manifest.
    files: Mapping[str, str] = field(default_factory=dict)

    def as_record(self) -> dict[str, str]:
        return {
            "row": "" if self.row is None else str(self.row),
            "key": self.key or "",
            "document": self.document,
            "status": self.status,
            "path": self.path,
            "sha256": self.sha256,
            "message": self.message,
            "inputs": self.inputs,
            "source": self.source,
        }


@dataclass
class BuildReport:
    """What a build did: every outcome, their counts, and the exit code they mean."""

    outcomes: list[Outcome] = field(default_factory=list)
    regenerated: list[str] = field(default_factory=list)  # "ROSSI Mario, attestato_frequenza"
    pruned: list[str] = field(default_factory=list)  # paths removed by --prune
    left_out: dict[str, tuple[int, ...]] = field(default_factory=dict)  # batch document -> rows
    # Row problems no document failed for but that stop delivery (an unusable e-mail
    # address): reported, and the build exits 1 as check does.
    undeliverable: list[str] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for o in self.outcomes if o.status == status)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]

    @property
    def stale(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "stale"]

    @property
    def failed_rows(self) -> list[int]:
        return sorted({o.row for o in self.failed if o.row is not None})

    @property
    def converted(self) -> int:
        """PDFs LibreOffice made from Word documents in this build."""
        return sum(1 for o in self.outcomes if o.source and o.status == "ok")

    @property
    def bundled(self) -> int:
        """Zip bundles written in this build."""
        return sum(1 for o in self.outcomes if o.document == BUNDLE_DOCUMENT and o.status == "ok")

    @property
    def exit_code(self) -> int:
        return 1 if self.failed or self.undeliverable else 0


def safe_cell(value: str) -> str:
    """Neutralise CSV/formula injection: Excel must show the text, not run it. A value that
    starts with a quote gets one too, so ``unsafe_cell`` tells ``'=1`` and ``=1`` apart."""
    return "'" + value if value.startswith((*_FORMULA_START, "'")) else value


def unsafe_cell(value: str) -> str:
    """The value ``safe_cell`` was given, exactly, when docgen reads its own CSV files."""
    return value[1:] if value.startswith("'") else value


def manifest_text(records: Iterable[dict[str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    for record in records:
        writer.writerow({k: safe_cell(record.get(k, "")) for k in COLUMNS})
    return buffer.getvalue()


def read_manifest(folder: Path) -> list[dict[str, str]]:
    """The previous build's lines, or none."""
    if not folder.is_dir():
        return []
    with OutputFolder(folder).open_text(MANIFEST, "utf-8-sig") as handle:
        if handle is None:
            return []
        return [{k: unsafe_cell(v) if isinstance(v, str) else v for k, v in record.items()}
                for record in csv.DictReader(handle)]


def write_manifest(folder: Path, outcomes: Iterable[Outcome], *, keep_others: bool) -> Path:
    """Write manifest.csv atomically; with ``keep_others``, lines of documents not built
    this time (``--only``) are kept from the previous manifest."""
    outcomes = list(outcomes)
    built = {o.document for o in outcomes}
    kept = [r for r in read_manifest(folder) if r.get("document") not in built] if keep_others else []
    records = kept + [o.as_record() for o in outcomes]
    # UTF-8 with BOM so that Excel shows accented names right.
    OutputFolder(folder).write(MANIFEST, manifest_text(records).encode("utf-8-sig"))
    return folder / MANIFEST
