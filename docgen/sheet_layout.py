"""Where the table sits on the sheet: which row is the header, and where the workers end."""

from __future__ import annotations

import posixpath
import re
import zipfile
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from docgen.errors import RosterError

SCAN_ROWS = 30  # the header is looked for among the sheet's first non-empty rows
_TOTAL = re.compile(r"^\s*(sub)?(totale|totali|total|totals|tot\.|somma|sum|media|average)\b",
                    re.IGNORECASE)
_NOTE = re.compile(r"^\s*(note?|nota|n\.\s?b\.|legenda|firma|il coordinatore|il direttore|"
                   r"aggiornato)\b", re.IGNORECASE)
_REF = re.compile(r"^\$?([A-Z]{1,3})\$?(\d+):\$?([A-Z]{1,3})\$?(\d+)$")
_AUTOFILTER = re.compile(rb'<(?:\w+:)?autoFilter\b[^>]*?\bref="([A-Z$]+\d+:[A-Z$]+\d+)"')
_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_R_ID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"

Record = tuple[int, tuple[Any, ...]]


@dataclass(frozen=True)
class DataRange:
    """An Excel table or a sheet's autofilter: its header row and its last data row."""

    what: str  # "table 'Tabella1'" or "the autofilter"
    ref: str  # A3:G8
    header_row: int
    last_row: int  # the last worker row: a table's totals row is after it
    totals_row: int | None = None


@dataclass(frozen=True)
class Header:
    """The header as read: its cells, its first row and how many rows it spans."""

    cells: tuple[Any, ...]
    row: int
    rows: int = 1

    @property
    def last_row(self) -> int:
        return self.row + self.rows - 1

    def where(self, place: str | None) -> str:
        """``header on row 3 of sheet Lavoratori``, or ``on rows 3-4`` for a two-row header."""
        rows = f"row {self.row}" if self.rows == 1 else f"rows {self.row}-{self.last_row}"
        return f"header on {rows} of {place}" if place else f"header on {rows}"


def find_header(records: Sequence[Record], expected: Collection[str] | None,
                field_of: Callable[[str], str], *, forced: int | None = None,
                data_range: DataRange | None = None, file: str = "") -> Header | None:
    """The header among ``records`` (the sheet's first non-empty rows), or None if there are
    none: ``[job] header_row`` if given; without ``expected``, the first row; else an Excel
    table's or autofilter's header row, else the row (or two rows, as a merged header makes
    them) naming most ``expected`` fields."""
    by_number = dict(records)
    if forced is not None:
        if forced not in by_number:
            raise RosterError(f"[job] header_row = {forced}, but row {forced} is empty", file=file,
                              hint="give the number of the row that holds the column titles")
        return Header(by_number[forced], forced)
    if not records:
        return None
    first = Header(records[0][1], records[0][0])
    if not expected:
        return first
    if data_range is not None and data_range.header_row in by_number:
        return Header(by_number[data_range.header_row], data_range.header_row)
    wanted = set(expected)

    def score(cells: Sequence[Any]) -> int:
        return len(wanted & {field_of(str(c).strip()) for c in cells if not _blank(c)})

    best, best_score = first, score(first.cells)
    for number, cells in records[:SCAN_ROWS]:
        if (found := score(cells)) > best_score:
            best, best_score = Header(cells, number), found
    for number, cells in records[:SCAN_ROWS]:  # a header merged over two rows
        below = by_number.get(number + 1)
        if below is None:
            continue
        for joined in (_fill_down(cells, below), _group_titles(cells, below)):
            if (found := score(joined)) > best_score:
                best, best_score = Header(joined, number, rows=2), found
    return best


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _fill_down(upper: Sequence[Any], lower: Sequence[Any]) -> tuple[Any, ...]:
    """Titles merged down over two rows sit in the upper row; the others in the lower."""
    width = max(len(upper), len(lower))
    up, low = _pad(upper, width), _pad(lower, width)
    return tuple(low[i] if not _blank(low[i]) else up[i] for i in range(width))


def _group_titles(upper: Sequence[Any], lower: Sequence[Any]) -> tuple[Any, ...]:
    """A group title merged across columns ("Ore" over "previste", "frequentate") prefixes
    the titles under it: ``Ore previste``."""
    width = max(len(upper), len(lower))
    up, low = _pad(upper, width), _pad(lower, width)
    result, group = [], None
    for index in range(width):
        if not _blank(up[index]):
            group = str(up[index]).strip()
        if _blank(low[index]):
            result.append(up[index])
        else:
            result.append(f"{group} {str(low[index]).strip()}" if group else low[index])
    return tuple(result)


def _pad(values: Sequence[Any], width: int) -> list[Any]:
    return list(values) + [None] * (width - len(values))


def not_a_worker(cells: Sequence[Any], ended: bool) -> str | None:
    """Why a row without a key is not a worker ("a totals row"), or None if it may be one.

    ``ended``: the row is below the end of the table (an Excel range, or a totals row above).
    """
    present = [c for c in cells if not _blank(c)]
    if any(isinstance(c, str) and _TOTAL.match(c) for c in present):
        return "looks like a totals row"
    if present and all(isinstance(c, int | float) and not isinstance(c, bool) for c in present):
        return "looks like a totals row (only numbers, no key)"
    if ended:
        return "is below the end of the table"
    if len(present) == 1 and isinstance(present[0], str) and _NOTE.match(present[0]):
        return "looks like a note, not a worker"
    return None


def data_range(path: Path, sheet: str) -> DataRange | None:
    """The sheet's Excel table (the first, if several) or its autofilter, read from the
    workbook's XML: openpyxl's read-only mode, which big rosters need, does not load them."""
    from defusedxml import ElementTree

    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            workbook = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = _targets(archive, "xl/workbook.xml", names)
            sheets = workbook.findall(f"{_MAIN}sheets/{_MAIN}sheet")
            index = next((i for i, s in enumerate(sheets) if s.get("name") == sheet), None)
            if index is None or (part := rels.get(sheets[index].get(_R_ID, ""))) is None:
                return None
            for rel_id, target in _targets(archive, part, names).items():
                if target.startswith("xl/tables/") and rel_id and target in names:
                    table = ElementTree.fromstring(archive.read(target))
                    found = _table_range(table)
                    if found is not None:
                        return found
            return _autofilter(archive, part, workbook, index)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, SyntaxError):
        return None  # no range: the rows say where the table ends


def _targets(archive: zipfile.ZipFile, part: str, names: set[str]) -> dict[str, str]:
    """A part's relationships: id -> the target's path inside the archive."""
    folder, base = posixpath.split(part)
    rels = posixpath.join(folder, "_rels", base + ".rels")
    if rels not in names:
        return {}
    from defusedxml import ElementTree

    result = {}
    for rel in ElementTree.fromstring(archive.read(rels)).iter(f"{_RELS}Relationship"):
        target = rel.get("Target", "")
        if rel.get("TargetMode") == "External":
            continue
        path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(
            posixpath.join(folder, target))
        result[rel.get("Id", "")] = path
    return result


def _table_range(table: Any) -> DataRange | None:
    ref = _parse_ref(table.get("ref", ""))
    if ref is None or table.get("headerRowCount", "1") == "0":
        return None
    first, last = ref
    totals = int(table.get("totalsRowCount", "0") or 0)
    if last - totals <= first:
        return None  # a table of titles only says nothing about where the data ends
    name = table.get("displayName") or table.get("name") or "?"
    return DataRange(f"table '{name}'", table.get("ref", ""), first, last - totals,
                     last if totals else None)


def _autofilter(archive: zipfile.ZipFile, part: str, workbook: Any, index: int
                ) -> DataRange | None:
    for name in workbook.iter(f"{_MAIN}definedName"):  # Excel names the autofilter's range
        if name.get("name") == "_xlnm._FilterDatabase" and name.get("localSheetId") == str(index):
            ref = (name.text or "").rpartition("!")[2]
            if (rows := _parse_ref(ref)) is not None:
                return _filter_range(ref, rows)
    tail = b""
    with archive.open(part) as handle:  # else the sheet's <autoFilter>, after its rows
        while chunk := handle.read(1 << 20):
            window = tail + chunk
            if match := _AUTOFILTER.search(window):
                ref = match.group(1).decode()
                rows = _parse_ref(ref)
                return _filter_range(ref, rows) if rows else None
            tail = window[-512:]
    return None


def _filter_range(ref: str, rows: tuple[int, int]) -> DataRange | None:
    # An autofilter over the titles alone (as some programs set it) does not end the data.
    return DataRange("the autofilter", ref.replace("$", ""), *rows) if rows[1] > rows[0] else None


def _parse_ref(ref: str) -> tuple[int, int] | None:
    match = _REF.match(ref.strip())
    return (int(match.group(2)), int(match.group(4))) if match else None
