"""The summary spreadsheet (riepilogo.xlsx / summary.xlsx): the report's table for Excel."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from functools import cache
from typing import Any

from docgen.overview.labels import labels_for
from docgen.overview.page import href
from docgen.overview.table import File, Overview

# Excel's own "Good", "Bad" and "Neutral" cell colours, plus grey and blue.
FILLS = {"ok": "C6EFCE", "unchanged": "DDEBF7", "skipped": "EDEDED", "failed": "FFC7CE",
         "stale": "FFEB9C"}
FONTS = {"ok": "006100", "unchanged": "1F4E78", "skipped": "595959", "failed": "9C0006",
         "stale": "9C5700"}


def sheet_bytes(overview: Overview) -> bytes:
    """The workbook: workers (one line each, one column per file kind of each document),
    batch documents and bundles, warnings."""
    from openpyxl import Workbook

    words = labels_for(overview.locale)
    book = Workbook()
    workers = book.active
    workers.title = words["sheet_workers"]
    columns = _file_columns(overview)
    header = [words["row"], words["worker"], words["key"],
              *(f"{doc} ({kind.upper()})" if kind and len([c for c in columns if c[0] == doc]) > 1
                else doc for doc, kind in columns), words["problems"]]
    _header(workers, header)
    for number, line in enumerate(overview.lines, start=2):
        files = {_column(columns, f): f for fs in line.files.values() for f in fs}
        _append(workers, number, [line.row, line.label, line.key])
        for index, column in enumerate(columns, start=4):
            if file := files.get(column):
                _status(workers.cell(number, index), file, words)
        problems = [f"{f.document}: {f.message}" for f in line.failed] + [
            f"{words['fix']}: {fix}" for fix in line.fixes]
        if problems:
            _set(workers.cell(number, len(header)), "\n".join(problems))
    _finish(workers, [6, 28, 20, *[18] * len(columns), 80])

    batch = book.create_sheet(words["sheet_batch"])
    _header(batch, [words["document"], words["status"], words["file"], words["message"]])
    for number, file in enumerate((*overview.batch, *overview.bundles), start=2):
        _append(batch, number, [file.document, None, file.path, file.message])
        _status(batch.cell(number, 2), file, words)
    _finish(batch, [24, 14, 50, 60])
    if overview.warnings:
        warnings = book.create_sheet(words["sheet_warnings"])
        _header(warnings, [words["message"]])
        for number, warning in enumerate(overview.warnings, start=2):
            _append(warnings, number, [warning])
        _finish(warnings, [140])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _file_columns(overview: Overview) -> list[tuple[str, str]]:
    """(document, kind) per column: a Word document converted to PDF gets two columns."""
    kinds: dict[str, set[str]] = {doc: set() for doc in overview.columns}
    for line in overview.lines:
        for doc, files in line.files.items():
            kinds[doc] |= {f.kind for f in files if f.kind}
    order = {"docx": 0, "pdf": 1}
    return [(doc, kind) for doc, found in kinds.items()
            for kind in sorted(found or {""}, key=lambda k: (order.get(k, 2), k))]


def _column(columns: Sequence[tuple[str, str]], file: File) -> tuple[str, str]:
    """A file's column; one never written (skipped, failed) goes to its document's first."""
    if (file.document, file.kind) in columns:
        return (file.document, file.kind)
    return next(c for c in columns if c[0] == file.document)


def _header(sheet: Any, names: Sequence[str]) -> None:
    from openpyxl.styles import Font, PatternFill

    _append(sheet, 1, names)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="D9D9D9")


def _status(cell: Any, file: File, words: Mapping[str, str]) -> None:
    _set(cell, words.get(file.status, file.status))
    fill, font = _look(file.status, file.exists)
    cell.fill, cell.font = fill, font
    if file.exists:
        cell.hyperlink = href(file.path)  # relative: resolved from the workbook's folder


@cache
def _look(status: str, linked: bool) -> tuple[Any, Any]:
    """The fill and font of a status cell, made once (a workbook of 10,000 rows has 40,000)."""
    from openpyxl.styles import Font, PatternFill

    colour = FONTS.get(status, "000000")
    return (PatternFill("solid", fgColor=FILLS.get(status, "FFFFFF")),
            Font(color=colour, underline="single") if linked else Font(color=colour))


def _finish(sheet: Any, widths: Sequence[int]) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    sheet.freeze_panes = "C2" if sheet.max_column > 3 else "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if isinstance(cell.value, str) and "\n" in cell.value:
                cell.alignment = Alignment(wrap_text=True, vertical="top")


def _append(sheet: Any, number: int, values: Sequence[Any]) -> None:
    """Write ``values`` on row ``number`` (counted by the caller: openpyxl's max_row walks
    every cell, so asking it per line took quadratic time)."""
    for index, value in enumerate(values, start=1):
        if value is not None:
            _set(sheet.cell(number, index), value)


def _text(value: Any) -> Any:
    """Text without characters a workbook cannot hold; numbers and None as they are."""
    if not isinstance(value, str):
        return value
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    return ILLEGAL_CHARACTERS_RE.sub("", value)


def _set(cell: Any, value: Any) -> None:
    """Text stays text: openpyxl would store ``=1+1`` as a formula Excel then runs."""
    cell.value = _text(value)
    if isinstance(value, str):
        cell.data_type = "s"
