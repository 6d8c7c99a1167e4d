"""A sheet file's rows as (row number, cell values): .xlsx through openpyxl, .csv through csv,
and what makes either unreadable."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from docgen.errors import RosterError

MAX_CELL = 32_767  # Excel's own limit for a cell's text
MAX_CSV_BYTES = 100 * 1024 * 1024
_BINARY = re.compile(rb"[\x00-\x08\x0e-\x1f]")  # bytes no text file holds more than by accident

Record = tuple[int, tuple[Any, ...]]


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def xlsx_records(path: Path, sheet: str | None) -> tuple[str, Iterator[Record]]:
    """The sheet's title and its rows, read lazily (a big roster never sits in memory twice)."""
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
    if sheet is None and not workbook.worksheets:
        workbook.close()
        raise RosterError("the workbook has no worksheet", file=path.name,
                          hint="put the roster on a worksheet (not a chart sheet)")
    if sheet is None:
        worksheet = workbook.worksheets[0]
    elif sheet in workbook.sheetnames:
        worksheet = workbook[sheet]
    else:
        workbook.close()
        raise RosterError(f"no sheet named '{sheet}'", file=path.name,
                          hint=f"sheets: {', '.join(workbook.sheetnames)}")

    def rows() -> Iterator[Record]:
        try:
            # Some writers store a wrong sheet size; read to the real end instead.
            if hasattr(worksheet, "reset_dimensions"):
                worksheet.reset_dimensions()
            yield from enumerate(worksheet.iter_rows(values_only=True), start=1)
        except Exception as err:  # the sheet's XML is parsed lazily, row by row
            raise _unreadable(path, err) from err
        finally:
            workbook.close()

    return worksheet.title, rows()


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


def csv_records(path: Path) -> Iterator[Record]:
    """The records of a CSV as Excel or LibreOffice saves it (any of ; , tab, UTF-8 or cp1252)."""
    try:
        if path.stat().st_size > MAX_CSV_BYTES:
            raise RosterError(f"the CSV is larger than {MAX_CSV_BYTES // (1024 * 1024)} MB",
                              file=path.name, hint="split the roster")
        data = path.read_bytes()
    except OSError as err:
        raise RosterError(f"cannot read the roster: {err.strerror}", file=path.name) from err
    # A stray NUL in a damaged export is a control character like others (stripped, with a
    # warning); a file full of them is not text at all.
    if len(_BINARY.findall(data[:4096])) > max(2, len(data[:4096]) // 200):
        raise RosterError("this is not a text CSV file", file=path.name,
                          hint="export the sheet as CSV (UTF-8) from Excel or LibreOffice")
    text = _decode(data)
    sample = text[:20000]
    try:
        dialect: Any = csv.Sniffer().sniff(sample, delimiters=";,\t")
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        dialect = csv.excel
        if first.count(";") > first.count(","):
            dialect = type("semicolon", (csv.excel,), {"delimiter": ";"})
    # Oversized fields are read whole, so that only their row fails (MAX_CELL, below).
    csv.field_size_limit(max(csv.field_size_limit(), MAX_CSV_BYTES))
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    previous: Record | None = None
    try:
        # Record numbers, not physical lines: a spreadsheet shows a multi-line cell as one row.
        for record in ((n, tuple(r)) for n, r in enumerate(reader, start=1)):
            if previous is not None:
                yield previous
            previous = record
    except csv.Error as err:
        raise RosterError(f"malformed CSV near record {reader.line_num}: {err}",
                          file=path.name) from err
    if previous is not None:
        number, values = previous
        for index, value in enumerate(values):
            if len(value) > MAX_CELL and value.count("\n") > 1:
                raise RosterError(
                    f"cell {column_letter(index)}{number} opens a quote (\") that never closes: "
                    f"the rest of the file ({len(value)} characters) reads as one cell",
                    file=path.name, row=number,
                    hint="remove the stray quote, or save the sheet again as CSV")
        yield previous
