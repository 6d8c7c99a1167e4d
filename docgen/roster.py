"""The roster: an .xlsx or .csv sheet of workers, read into typed rows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Collection, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from itertools import chain
from pathlib import Path
from typing import Any

from docgen.cell_values import (
    Ambiguous,
    decimal_use,
    decode_xstring,
    is_date_column,
    parse_date,
    read_number,
    separators,
)
from docgen.errors import DocgenWarning, RosterError
from docgen.names import field_name
from docgen.sheet_files import MAX_CELL, Record, column_letter, csv_records, xlsx_records
from docgen.sheet_layout import SCAN_ROWS, DataRange, data_range, find_header, not_a_worker

# Characters XML cannot hold (a DOCX would break): stripped from values, with a warning.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Sane limits: far above any real roster, low enough that a hostile file cannot exhaust memory.
MAX_ROWS = 100_000
MAX_COLUMNS = 500


@dataclass(frozen=True)
class Row:
    """One worker: the spreadsheet row number (as the sheet shows it) and the typed values."""

    number: int
    fields: Mapping[str, Any]

    def value(self, name: str) -> Any:
        return self.fields.get(name)


@dataclass(frozen=True)
class CellError:
    """A cell its row cannot use (the rest of the roster can): its place and what is wrong."""

    row: int
    field: str
    message: str
    hint: str


@dataclass(frozen=True)
class Roster:
    """A whole sheet: field names in column order, where each came from, and the rows."""

    path: Path
    fields: tuple[str, ...]
    headers: Mapping[str, str]
    columns: Mapping[str, str]  # field -> column letter, for cell references such as D17
    rows: tuple[Row, ...] = field(default=())
    cleaned: tuple[tuple[int, str], ...] = ()  # (row, field) cells whose control characters went
    header_row: int = 1  # where the header is, as the sheet numbers its rows
    sheet: str | None = None  # the worksheet read (None for a CSV)
    notes: tuple[DocgenWarning, ...] = ()  # what was read differently: header row, totals rows
    cell_errors: tuple[CellError, ...] = ()  # cells unusable in their row: too long, ambiguous

    @property
    def header_place(self) -> str:
        """``row 3 of sheet Lavoratori``: where the column titles were read."""
        where = f"sheet {self.sheet}" if self.sheet else self.name
        return f"row {self.header_row} of {where}"

    @property
    def name(self) -> str:
        return self.path.name

    def cell(self, field_name: str, row: int) -> str:
        """``roster.xlsx!D17``: where a clerk finds a value."""
        return f"{self.name}!{self.columns.get(field_name, '?')}{row}"


def read_roster(path: Path, *, sheet: str | None = None,
                columns: Mapping[str, str] | None = None, expected: Collection[str] | None = None,
                key: str | None = None, locale: str | None = None,
                header_row: int | None = None) -> Roster:
    """Read the roster; raises RosterError when the sheet as a whole is unusable.

    ``expected``: the field names the job reads, which find the header row; ``key``: the key
    field, which tells a totals or notes row from a worker; ``locale``: how numbers written as
    text are read (1.072 is 1072 in it_IT); ``header_row`` forces the header's row.
    """
    options = _Options(columns or {}, expected, key, locale, header_row)
    if path.suffix.lower() == ".csv":
        return _typed_roster(path, csv_records(path), options, None, None)
    title, records = xlsx_records(path, sheet)
    return _typed_roster(path, records, options, title, data_range(path, title))


@dataclass(frozen=True)
class _Options:
    mapping: Mapping[str, str]
    expected: Collection[str] | None
    key: str | None
    locale: str | None
    header_row: int | None


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _typed_roster(path: Path, records: Iterable[Record], options: _Options, title: str | None,
                  table: DataRange | None) -> Roster:
    records = iter(records)
    xlsx = title is not None
    scanned: list[Record] = []
    for number, values in records:  # the first rows, where the header is looked for
        if not all(_is_empty(v) for v in values):
            scanned.append((number, tuple(_text(v, xlsx) for v in values)))
        if len(scanned) > SCAN_ROWS and number > (options.header_row or 0) and (
                table is None or number > table.header_row):
            break
    folded = {str(k).strip().casefold(): v for k, v in options.mapping.items()}
    header = find_header(scanned, options.expected,
                         lambda text: folded.get(text.casefold()) or field_name(text),
                         forced=options.header_row, data_range=table, file=path.name)
    if header is None:
        raise RosterError("the sheet is empty", file=path.name,
                          hint="put the column titles on the first row and one worker per row")
    cells = header.cells
    if len(cells) > MAX_COLUMNS:
        cells = cells[:MAX_COLUMNS] if all(_is_empty(v) for v in cells[MAX_COLUMNS:]) else cells
    if len(cells) > MAX_COLUMNS:
        raise RosterError(f"the sheet has more than {MAX_COLUMNS} columns", file=path.name,
                          hint="keep only the columns the documents need")
    names, headers, letters = _field_names(path, cells, options.mapping)
    notes: list[DocgenWarning] = []
    if (header.row != 1 or header.rows != 1) and options.header_row is None:
        notes.append(DocgenWarning(header.where(f"sheet {title}" if title else None),
                                   file=path.name,
                                   hint="rows above it are ignored; set [job] header_row to "
                                   "choose another"))
    reader = _Rows(path, names, options, table)
    rest = ((n, v) for n, v in scanned if n > header.last_row)
    for number, values in chain(rest, ((n, tuple(_text(v, xlsx) for v in values))
                                       for n, values in records)):
        reader.add(number, values)
    reader.finish()
    rows = tuple(reader.typed())  # typing finds the ambiguous cells: before cell_errors
    return Roster(path=path, fields=tuple(n for n in names if n is not None), headers=headers,
                  columns=letters, rows=rows, cleaned=tuple(reader.cleaned),
                  header_row=header.row, sheet=title, notes=tuple(notes + reader.notes),
                  cell_errors=tuple(reader.errors))


def _text(value: Any, xlsx: bool) -> Any:
    """A cell as read: Excel's _xHHHH_ escapes decoded (a CSV has none)."""
    return decode_xstring(value) if xlsx and isinstance(value, str) else value


class _Rows:
    """The rows under the header: cleaned, totals and notes set apart, then typed by column."""

    def __init__(self, path: Path, names: list[str | None], options: _Options,
                 table: DataRange | None) -> None:
        self.path, self.names, self.table = path, names, table
        self.locale = options.locale
        self.key = names.index(options.key) if options.key in names else None
        self.raw: list[tuple[int, list[Any]]] = []
        self.cleaned: list[tuple[int, str]] = []
        self.notes: list[DocgenWarning] = []
        self.errors: list[CellError] = []
        self.ended: str | None = None  # what ended the table: a totals row above
        self.below: dict[tuple[str, bool], list[int]] = {}  # (end, has a key) -> rows

    def note(self, message: str, hint: str | None = None) -> None:
        # The row is in the message, as a clerk reads it: row 16 looks like a totals row.
        self.notes.append(DocgenWarning(message, file=self.path.name, hint=hint))

    def add(self, number: int, values: tuple[Any, ...]) -> None:
        if all(_is_empty(v) for v in values):
            return
        if len(self.raw) >= MAX_ROWS:
            raise RosterError(f"more than {MAX_ROWS} rows (limit reached at row {number})",
                              file=self.path.name, hint="split the roster into several jobs")
        cells = [self._cell(number, index, value)
                 for index, value in enumerate(values[: len(self.names)])]
        cells += [None] * (len(self.names) - len(cells))
        if self.key is not None and not self._is_worker(number, cells, self.key):
            return
        self.raw.append((number, cells))

    def _cell(self, number: int, index: int, value: Any) -> Any:
        name = self.names[index]
        if name is None:
            return None  # an untitled column is not data a template can name
        if isinstance(value, str):
            if len(value) > MAX_CELL:
                self.errors.append(CellError(
                    number, name, f"cell {column_letter(index)}{number} holds {len(value)} "
                    f"characters (limit {MAX_CELL})", "shorten it: no document field is that "
                    "long"))
                return None
            if _ILLEGAL.search(value):
                value = _ILLEGAL.sub("", value)
                self.cleaned.append((number, name))
        return _clean(value)

    def _is_worker(self, number: int, cells: list[Any], key: int) -> bool:
        """Rows without a key that are plainly not workers are set apart, with a warning."""
        past = self.table is not None and number > self.table.last_row
        end = (f"{self.table.what} ({self.table.ref})" if past and self.table
               else f"the table (the totals on row {self.ended})" if self.ended else None)
        if cells[key] is not None:
            if past:
                self.below.setdefault((end or "", True), []).append(number)
            return True
        reason = not_a_worker(cells, ended=end is not None)
        if reason is None:
            return True  # a worker whose key is missing: the plan reports it
        if reason.startswith("is below"):
            self.below.setdefault((end or "", False), []).append(number)
        else:
            self.note(f"row {number} {reason}: ignored", "give it a key if it is a worker")
            if "totals" in reason and self.ended is None:
                self.ended = str(number)
        return False

    def finish(self) -> None:
        """One warning per group of rows below the table, however many rows it holds."""
        for (end, keyed), numbers in self.below.items():
            one = len(numbers) == 1
            rows = f"row {numbers[0]} is" if one else f"rows {_ranges(numbers)} are"
            if not keyed:
                self.note(f"{rows} below the end of {end}: ignored")
            else:
                read = "has a key: read as a worker" if one else "have a key: read as workers"
                self.note(f"{rows} below the end of {end} but {read}",
                          "extend the table over them if they belong to it, or delete them")

    def typed(self) -> Iterator[Row]:
        """Each column's texts read as dates or numbers, every cell on its own."""
        columns = [[cells[i] for _, cells in self.raw] for i in range(len(self.names))]
        for index, name in enumerate(self.names):
            if name is None:
                continue
            dates = is_date_column(name, columns[index])
            elsewhere = next((f"{column_letter(index)}{number} ({cells[index]})"
                              for number, cells in self.raw if isinstance(cells[index], str)
                              and decimal_use(cells[index], self.locale)), None)
            for position, (number, cells) in enumerate(self.raw):
                value = cells[index]
                if not isinstance(value, str):
                    continue
                if dates and (day := parse_date(value)) is not None:
                    value = day
                else:
                    value = read_number(value, self.locale, elsewhere)
                if isinstance(value, Ambiguous):
                    self.errors.append(self._ambiguous(number, index, value))
                    value = value.text
                columns[index][position] = value
        for position, (number, _) in enumerate(self.raw):
            yield Row(number=number, fields={name: columns[i][position]
                                             for i, name in enumerate(self.names) if name})

    def _ambiguous(self, number: int, index: int, value: Ambiguous) -> CellError:
        group = (separators(self.locale) or ("", "."))[1]
        return CellError(
            number, self.names[index] or "", f"'{value.text}' could be {value.grouped} "
            f"('{group}' separating thousands, as {self.locale} writes) or a decimal, as "
            f"{value.other} writes it", f"write {value.grouped} without the '{group}', or use "
            "one decimal mark in the whole column")


def _ranges(numbers: list[int]) -> str:
    """[18, 19, 20, 23] -> ``18-20, 23``."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(f"{a}-{b}" if b > a else str(a) for a, b in spans)


def _field_names(path: Path, header: tuple[Any, ...], mapping: Mapping[str, str]
                 ) -> tuple[list[str | None], dict[str, str], dict[str, str]]:
    folded = {str(k).strip().casefold(): v for k, v in mapping.items()}
    names: list[str | None] = []
    headers: dict[str, str] = {}
    letters: dict[str, str] = {}
    for index, cell in enumerate(header):
        letter = column_letter(index)
        text = "" if cell is None else str(cell).strip()
        if not text:
            names.append(None)  # an untitled column is not data a template can name
            continue
        name = folded.get(text.casefold()) or field_name(text)
        if not name:
            name = f"column_{letter.lower()}"
        if name in headers:
            raise RosterError(
                f"columns {letters[name]} ('{headers[name]}') and {letter} ('{text}') "
                f"both give the field '{name}'", file=path.name, row=None,
                hint="rename one of the two column titles, or map one in [job.columns]",
            )
        names.append(name)
        headers[name] = text
        letters[name] = letter
    return names, headers, letters


def _clean(value: Any) -> Any:
    """Spreadsheet cell to a Python value: strings stripped, whole numbers whole, dates as dates."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value
