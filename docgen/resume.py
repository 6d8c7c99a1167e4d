"""Incremental and resumable builds: what earlier (maybe interrupted) builds left behind.

A build appends each finished document to a journal beside the manifest; a build killed at
any moment (SIGKILL included) leaves the journal, and the next build trusts every journaled
document whose file is still intact and whose inputs have not changed.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable
from contextlib import suppress
from pathlib import Path
from typing import IO

from docgen.errors import DocgenError
from docgen.files import OutputFolder, relative_parts
from docgen.manifest import COLUMNS, Outcome, read_manifest, safe_cell, unsafe_cell
from docgen.plan import Item

JOURNAL = ".docgen-journal.csv"
_SHA = re.compile(r"^[0-9a-f]{64}$")
DONE = ("ok", "unchanged")


def remove_orphans(out: Path) -> int:
    """Delete temporary files a killed build left (they never replaced a document): only
    names docgen gives its temporaries, never through a link (files.OutputFolder)."""
    return OutputFolder(out).remove_temporaries()


def _inside(record: dict[str, str]) -> bool:
    """A line read back names a path inside the output folder (else it is ignored: never
    trusted, never deleted)."""
    try:
        relative_parts(record.get("path") or "")
    except DocgenError:
        return False
    return True


class Previous:
    """The documents earlier builds made here, by (document, key, path)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.folder = OutputFolder(out)
        self.records: dict[tuple[str, str, str], dict[str, str]] = {}
        for record in read_manifest(out) + _read_journal(self.folder):
            if (record.get("status") in (*DONE, "stale") and _SHA.match(record.get("sha256", ""))
                    and _inside(record)):
                self.records[(record["document"], record["key"], record["path"])] = record
        self.documents = {(r["document"], r["key"]) for r in self.records.values()}

    def unchanged(self, item: Item) -> dict[str, str] | None:
        """The earlier record if the document would come out the same and is still intact."""
        return self.intact(item.document.name, item.key or "", item.path, item.inputs)

    def intact(self, document: str, key: str, path: str, inputs: str) -> dict[str, str] | None:
        """The earlier record of ``path`` if made from the same ``inputs`` and not altered."""
        record = self.records.get((document, key, path))
        if (not record or record["status"] not in DONE or not inputs
                or record.get("inputs") != inputs):
            return None
        if self.folder.sha256(path) != record["sha256"]:
            return None  # missing, altered or replaced by a link since: make it again
        return record

    def existed(self, item: Item) -> bool:
        return (item.document.name, item.key or "") in self.documents

    def stale(self, outcomes: Iterable[Outcome], documents: set[str]) -> list[dict[str, str]]:
        """Earlier documents this build did not make again, whose files are still there."""
        current = {o.path for o in outcomes if o.status in DONE}
        return [r for r in self.records.values()
                if r["document"] in documents and r["path"] not in current
                and self.folder.is_file(r["path"])]


def _read_journal(folder: OutputFolder) -> list[dict[str, str]]:
    with folder.open_text(JOURNAL, "utf-8") as handle:
        if handle is None:
            return []
        # A line cut short by a kill has fewer fields or a bad hash: skipped.
        return [{k: unsafe_cell(v) for k, v in r.items()} for r in csv.DictReader(handle)
                if None not in r.values() and None not in r]


class Journal:
    """Appends each finished document; flushed per line so a killed process loses none."""

    def __init__(self, out: Path) -> None:
        self.path = out / JOURNAL
        self._opened = OutputFolder(out).append(JOURNAL)
        self.raw: IO[bytes] = self._opened.__enter__()
        new = self.raw.seek(0, os.SEEK_END) == 0
        self.handle = io.TextIOWrapper(self.raw, encoding="utf-8", newline="",
                                       write_through=True)
        self.writer = csv.DictWriter(self.handle, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            self.writer.writeheader()

    def add(self, outcome: Outcome) -> None:
        if outcome.status in DONE:
            try:
                self.writer.writerow({k: safe_cell(v) for k, v in outcome.as_record().items()})
                self.handle.flush()
            except OSError as err:  # disk full: say which file
                err.filename = err.filename or str(self.path)
                raise

    def close(self) -> None:
        try:
            self.handle.flush()
            os.fsync(self.handle.fileno())
        except OSError as err:
            err.filename = err.filename or str(self.path)
            raise
        finally:
            with suppress(OSError):  # the same disk-full error, already raised
                self.handle.close()


def prune(out: Path, records: Iterable[dict[str, str]]) -> list[str]:
    """Remove stale documents and the folders they leave empty."""
    folder = OutputFolder(out)
    return [record["path"] for record in records
            if _inside(record) and folder.remove(record["path"])]
