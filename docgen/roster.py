"""The roster: an .xlsx or .csv sheet of workers, read into typed rows."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docgen.errors import RosterError
from docgen.names import field_name

_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_DECIMAL = re.compile(r"^-?(0|[1-9]\d*)[.,]\d+$")
_GROUPED = re.compile(r"^-?[1-9]\d{0,2}(\.\d{3})+,\d+$")  # 1.234,5 as Italian Excel writes it
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
# Characters XML cannot hold (a DOCX would break): stripped from values, with a warning.
_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# Sane limits: far above any real roster, low enough that a hostile file cannot exhaust memory.
MAX_ROWS = 100_000
MAX_COLUMNS = 500
MAX_CELL = 32_767  # Excel's own limit for a cell's text
MAX_CSV_BYTES = 100 * 1024 * 1024


@dataclass(frozen=True)
class Row:
    """One worker: the spreadsheet row number (as the sheet shows it) and the typed values."""

    number: int
    fields: Mapping[str, Any]

    def value(self, name: str) -> Any:
        return self.fields.get(name)


@dataclass(frozen=True)
class Roster:
    """A whole sheet: field names in column order, where each came from, and the rows."""

    path: Path
    fields: tuple[str, ...]
    headers: Mapping[str, str]
    columns: Mapping[str, str]  # field -> column letter, for cell references such as D17
    rows: tuple[Row, ...] = field(default=())
    cleaned: tuple[tuple[int, str], ...] = ()  # (row, field) cells whose control characters went

    @property
    def name(self) -> str:
        return self.path.name

    def cell(self, field_name: str, row: int) -> str:
        """``roster.xlsx!D17``: where a clerk finds a value."""
        return f"{self.name}!{self.columns.get(field_name, '?')}{row}"


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def read_roster(path: Path, *, sheet: str | None = None,
                columns: Mapping[str, str] | None = None) -> Roster:
    """Read the roster; raises RosterError when the sheet as a whole is unusable."""
    suffix = path.suffix.lower()
    if suffix == ".csv":
        records = _csv_records(path)
    else:
        records = _xlsx_records(path, sheet)
    return _typed_roster(path, records, columns or {})


def _xlsx_records(path: Path, sheet: str | None) -> Iterator[tuple[int, tuple[Any, ...]]]:
    import openpyxl

    from docgen.archives import office_problem

    if problem := office_problem(path, ".xlsx"):
        raise RosterError(problem, file=path.name)
    try:
        workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except FileNotFoundError:
        raise RosterError(f"roster not found: {path}") from None
    except Exception as err:  # openpyxl raises many kinds for a file that is not a workbook
        raise _unreadable(path, err) from err
    try:
        if sheet is None:
            worksheet = workbook.worksheets[0]
        elif sheet in workbook.sheetnames:
            worksheet = workbook[sheet]
        else:
            raise RosterError(f"no sheet named '{sheet}'", file=path.name,
                              hint=f"sheets: {', '.join(workbook.sheetnames)}")
        # Some writers store a wrong sheet size; read to the real end instead.
        if hasattr(worksheet, "reset_dimensions"):
            worksheet.reset_dimensions()
        yield from enumerate(worksheet.iter_rows(values_only=True), start=1)
    except RosterError:
        raise
    except Exception as err:  # the sheet's XML is parsed lazily, row by row
        raise _unreadable(path, err) from err
    finally:
        workbook.close()


def _unreadable(path: Path, err: BaseException) -> RosterError:
    causes = [err]
    while (cause := causes[-1].__cause__ or causes[-1].__context__) and len(causes) < 10:
        causes.append(cause)
    if any("Forbidden" in type(c).__name__ for c in causes):  # defusedxml refused the XML
        return RosterError("the workbook's XML declares entities (an entity-expansion attack?): "
                           "refused", file=path.name, hint="save it again from Excel or LibreOffice")
    return RosterError(f"cannot read the workbook ({type(err).__name__})", file=path.name,
                       hint="open it in Excel or LibreOffice and save it again as .xlsx")


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        # Italian Excel on Windows saves "CSV (delimitato)" in Windows-1252.
        return data.decode("cp1252", errors="replace")


def _csv_records(path: Path) -> Iterator[tuple[int, tuple[Any, ...]]]:
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise RosterError(f"the CSV is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB",
                              file=path.name, hint="split the roster")
        data = path.read_bytes()
        if b"\0" in data[:4096]:
            raise RosterError("this is not a text CSV file", file=path.name,
                              hint="export the sheet as CSV (UTF-8) from Excel or LibreOffice")
        text = _decode(data)
    except OSError as err:
        raise RosterError(f"cannot read the roster: {err.strerror}", file=path.name) from err
    sample = text[:20000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        dialect = csv.excel
        if first.count(";") > first.count(","):
            dialect = type("semicolon", (csv.excel,), {"delimiter": ";"})
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        # Record numbers, not physical lines: a spreadsheet shows a multi-line cell as one row.
        yield from ((n, tuple(r)) for n, r in enumerate(reader, start=1))
    except csv.Error as err:
        raise RosterError(f"malformed CSV near record {reader.line_num}: {err}",
                          file=path.name) from err


def _is_empty(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _typed_roster(path: Path, records: Iterable[tuple[int, tuple[Any, ...]]],
                  mapping: Mapping[str, str]) -> Roster:
    records = iter(records)
    header: tuple[Any, ...] | None = None
    for _, values in records:
        if not all(_is_empty(v) for v in values):
            header = values
            break
    if header is None:
        raise RosterError("the sheet is empty", file=path.name,
                          hint="put the column titles on the first row and one worker per row")
    if len(header) > MAX_COLUMNS:
        header = header[:MAX_COLUMNS] if all(_is_empty(v) for v in header[MAX_COLUMNS:]) else header
    if len(header) > MAX_COLUMNS:
        raise RosterError(f"the sheet has more than {MAX_COLUMNS} columns", file=path.name,
                          hint="keep only the columns the documents need")
    names, headers, letters = _field_names(path, header, mapping)
    raw_rows: list[tuple[int, list[Any]]] = []
    cleaned: list[tuple[int, str]] = []
    for number, values in records:
        if all(_is_empty(v) for v in values):
            continue
        if len(raw_rows) >= MAX_ROWS:
            raise RosterError(f"more than {MAX_ROWS} rows (limit reached at row {number})",
                              file=path.name, hint="split the roster into several jobs")
        cells = []
        for index, value in enumerate(values[: len(names)]):
            if isinstance(value, str):
                if len(value) > MAX_CELL:
                    raise RosterError(f"cell {column_letter(index)}{number} holds {len(value)} "
                                      f"characters (limit {MAX_CELL})", file=path.name,
                                      row=number)
                if _ILLEGAL.search(value):
                    value = _ILLEGAL.sub("", value)
                    if names[index]:
                        cleaned.append((number, names[index]))
            cells.append(_clean(value))
        cells += [None] * (len(names) - len(cells))
        raw_rows.append((number, cells))
    date_columns = _date_columns(names, raw_rows)
    rows = []
    for number, cells in raw_rows:
        fields = {}
        for index, name in enumerate(names):
            if name is None:
                continue
            value = cells[index]
            if index in date_columns and isinstance(value, str):
                value = _parse_dmy(value) or value
            fields[name] = value
        rows.append(Row(number=number, fields=fields))
    ordered = tuple(n for n in names if n is not None)
    return Roster(path=path, fields=ordered, headers=headers, columns=letters, rows=tuple(rows),
                  cleaned=tuple(cleaned))


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
        if not value:
            return None
        return _parse_number(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dt.datetime) and value.time() == dt.time(0):
        return value.date()
    return value


def _parse_number(text: str) -> Any:
    if _INT.match(text):
        return int(text)
    if _DECIMAL.match(text):
        number = float(text.replace(",", "."))
        return int(number) if number.is_integer() else number
    if _GROUPED.match(text):
        return float(text.replace(".", "").replace(",", "."))
    return text


def _parse_dmy(text: str) -> dt.date | None:
    match = _DMY.match(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def _date_columns(names: list[str | None], rows: list[tuple[int, list[Any]]]) -> set[int]:
    """Columns where most values are dates: their dd/mm/yyyy texts become dates too."""
    result = set()
    for index, name in enumerate(names):
        if name is None:
            continue
        values = [cells[index] for _, cells in rows if cells[index] is not None]
        dates = sum(isinstance(v, dt.date) or (isinstance(v, str) and bool(_DMY.match(v)))
                    for v in values)
        if values and dates * 2 >= len(values):
            result.add(index)
    return result
