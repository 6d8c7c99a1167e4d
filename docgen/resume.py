"""Incremental and resumable builds: what earlier (maybe interrupted) builds left behind.

A build appends each finished document to a journal beside the manifest; a build killed at
any moment (SIGKILL included) leaves the journal, and the next build trusts every journaled
document whose file is still intact and whose inputs have not changed.
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from docgen.files import sha256_file
from docgen.manifest import COLUMNS, Outcome, read_manifest, safe_cell, unsafe_cell
from docgen.plan import Item

JOURNAL = ".docgen-journal.csv"
_TEMPORARY = re.compile(r"^\..+\.tmp$")
_SHA = re.compile(r"^[0-9a-f]{64}$")
DONE = ("ok", "unchanged")


def remove_orphans(out: Path) -> int:
    """Delete temporary files a killed build left (they never replaced a document)."""
    removed = 0
    for path in out.rglob(".*.tmp"):
        if path.is_file() and _TEMPORARY.match(path.name):
            path.unlink(missing_ok=True)
            removed += 1
    return removed


class Previous:
    """The documents earlier builds made here, by (document, key, path)."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.records: dict[tuple[str, str, str], dict[str, str]] = {}
        for record in read_manifest(out) + _read_journal(out / JOURNAL):
            if record.get("status") in (*DONE, "stale") and _SHA.match(record.get("sha256", "")):
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
        target = self.out / path
        if not target.is_file() or sha256_file(target) != record["sha256"]:
            return None  # missing or altered since: make it again
        return record

    def existed(self, item: Item) -> bool:
        return (item.document.name, item.key or "") in self.documents

    def stale(self, outcomes: Iterable[Outcome], documents: set[str]) -> list[dict[str, str]]:
        """Earlier documents this build did not make again, whose files are still there."""
        current = {o.path for o in outcomes if o.status in DONE}
        return [r for r in self.records.values()
                if r["document"] in documents and r["path"] not in current
                and (self.out / r["path"]).is_file()]


def _read_journal(path: Path) -> list[dict[str, str]]:
    if not path.is_file():
        return []
    with path.open(encoding="utf-8", newline="") as handle:
        # A line cut short by a kill has fewer fields or a bad hash: skipped.
        return [{k: unsafe_cell(v) for k, v in r.items()} for r in csv.DictReader(handle)
                if None not in r.values() and None not in r]


class Journal:
    """Appends each finished document; flushed per line so a killed process loses none."""

    def __init__(self, out: Path) -> None:
        self.path = out / JOURNAL
        new = not self.path.exists()
        self.handle: TextIO = self.path.open("a", encoding="utf-8", newline="")
        self.writer = csv.DictWriter(self.handle, fieldnames=COLUMNS, lineterminator="\n")
        if new:
            self.writer.writeheader()

    def add(self, outcome: Outcome) -> None:
        if outcome.status in DONE:
            self.writer.writerow({k: safe_cell(v) for k, v in outcome.as_record().items()})
            self.handle.flush()

    def close(self) -> None:
        self.handle.flush()
        os.fsync(self.handle.fileno())
        self.handle.close()


def prune(out: Path, records: Iterable[dict[str, str]]) -> list[str]:
    """Remove stale documents and the folders they leave empty."""
    removed = []
    for record in records:
        target = out / record["path"]
        target.unlink(missing_ok=True)
        removed.append(record["path"])
        folder = target.parent
        while folder != out and folder.is_dir() and not any(folder.iterdir()):
            folder.rmdir()
            folder = folder.parent
    return removed
