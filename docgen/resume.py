"""Incremental and resumable builds: what earlier (maybe interrupted) builds left behind.

A build appends each finished document to a journal beside the manifest; a build killed at
any moment (SIGKILL included) leaves the journal, and the next build trusts every journaled
document whose file is still intact and whose inputs have not changed.

The journal is JSON lines, each line describing itself (``"journal": "docgen"``, its format,
every manifest column and the files the render read): there is no header to lose, a line cut
short by a kill does not parse and is ignored, and the next line starts on a fresh line.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import IO, Any

from docgen.errors import DocgenError
from docgen.files import OutputFolder, relative_parts
from docgen.fingerprint import FileDigests, with_files
from docgen.manifest import COLUMNS, Outcome, read_manifest
from docgen.plan import Item
from docgen.record import read_record

JOURNAL = ".docgen-journal.jsonl"
_OLD_JOURNAL = ".docgen-journal.csv"  # docgen before the self-describing journal
_JOURNAL_FORMAT = 1
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
        record = read_record(out)
        # What each document's render read, by path: from the last finished build's record,
        # then from the journal of a build killed since.
        self.files: dict[str, dict[str, str]] = dict(record.documents)
        journal = read_journal(out / JOURNAL)
        for line in journal:
            self.files[line["path"]] = line.pop("files")
        for line in read_manifest(out) + journal:
            if (line.get("status") in (*DONE, "stale") and _SHA.match(line.get("sha256", ""))
                    and _inside(line)):
                self.records[(line["document"], line["key"], line["path"])] = line
        self.documents = {(r["document"], r["key"]) for r in self.records.values()}

    def unchanged(self, item: Item, digests: FileDigests) -> tuple[dict[str, str], dict[str, str]] | None:
        """The earlier record and the files it was made from, if the document would come out
        the same (same plan inputs, and every file its render read has the same digest) and
        its file is still intact."""
        files = self.files.get(item.path)
        if files is None:  # never recorded what it read: make it again
            return None
        current = {name: digests.sha(name) for name in files}
        earlier = self.intact(item.document.name, item.key or "", item.path,
                              with_files(item.inputs, current))
        return (earlier, current) if earlier else None

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


def read_journal(path: Path) -> list[dict[str, Any]]:
    """Every complete, self-describing line of a journal (a line cut short is skipped)."""
    try:
        text = OutputFolder(path.parent).read_bytes(path.name).decode("utf-8", "replace")
    except (OSError, DocgenError):
        return []
    lines = []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if (isinstance(line, dict) and line.get("journal") == "docgen"
                and line.get("format") == _JOURNAL_FORMAT
                and all(isinstance(line.get(c), str) for c in COLUMNS)
                and isinstance(line.get("files"), dict)):
            lines.append({**{c: line[c] for c in COLUMNS}, "files": line["files"]})
    return lines


class Journal:
    """Appends each finished document as one self-describing line, flushed as written, so a
    process killed at any moment loses at most the line it was writing."""

    def __init__(self, out: Path) -> None:
        self.path = out / JOURNAL
        folder = OutputFolder(out)
        folder.remove(_OLD_JOURNAL)
        self._opened = folder.append(JOURNAL)
        self.handle: IO[bytes] = self._opened.__enter__()
        if self.handle.seek(0, os.SEEK_END) > 0:
            self.handle.seek(-1, os.SEEK_END)
            if self.handle.read(1) != b"\n":  # a line cut short by a kill: start afresh
                self.handle.write(b"\n")

    def add(self, outcome: Outcome) -> None:
        if outcome.status in DONE:
            try:
                self.handle.write(journal_line(outcome))
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


def journal_line(outcome: Outcome, files: Mapping[str, str] | None = None) -> bytes:
    """One journal line: the outcome's manifest columns and the files it was made from."""
    line = {"journal": "docgen", "format": _JOURNAL_FORMAT, **outcome.as_record(),
            "files": dict(outcome.files if files is None else files)}
    return json.dumps(line, ensure_ascii=False, sort_keys=True).encode("utf-8") + b"\n"


def prune(out: Path, records: Iterable[dict[str, str]]) -> list[str]:
    """Remove stale documents and the folders they leave empty."""
    folder = OutputFolder(out)
    return [record["path"] for record in records
            if _inside(record) and folder.remove(record["path"])]
