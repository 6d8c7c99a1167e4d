"""The summary spreadsheet of a build, read back with openpyxl as Excel would show it."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from openpyxl import load_workbook

from docgen.build import build
from docgen.job import load_job
from tests.test_report_page import HOSTILE, rows, write_job


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("summary")
    out = folder / "out"
    build(load_job(write_job(folder)), out, jobs=1)
    return out


def test_header_frozen_and_filtered(built: Path) -> None:
    """The first row holds the titles, stays in view, and carries Excel's filter buttons."""
    book = load_workbook(built / "riepilogo.xlsx")
    sheet = book["Lavoratori"]
    assert [c.value for c in sheet[1]] == ["Riga", "Lavoratore", "Chiave", "attestato",
                                           "Problemi"]
    assert sheet.freeze_panes == "C2"
    assert sheet.auto_filter.ref == "A1:E6"
    assert book.sheetnames == ["Lavoratori", "Documenti d'insieme"]


def test_statuses_coloured_and_linked(built: Path) -> None:
    """Each status is a coloured cell; a written file's cell links to it, relatively."""
    sheet = load_workbook(built / "riepilogo.xlsx")["Lavoratori"]
    lines = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    assert sorted(lines) == [2, 3, 4, 5, 6]
    made, skipped, failed = lines[2][3], lines[3][3], lines[5][3]
    assert (made.value, skipped.value, failed.value) == ("prodotto", "non dovuto", "errore")
    assert made.fill.fgColor.rgb.endswith("C6EFCE") and failed.fill.fgColor.rgb.endswith("FFC7CE")
    assert skipped.fill.fgColor.rgb.endswith("EDEDED")
    target = made.hyperlink.target
    assert not target.startswith(("/", "file:")) and (built / unquote(target)).is_file()
    assert unquote(target) == "D'Angelo_Niccolò #1/attestato.pdf"
    assert failed.hyperlink is None and skipped.hyperlink is None


def test_failures_with_messages_and_cells(built: Path) -> None:
    """A failed row's last column says what failed and which cell to fix."""
    sheet = load_workbook(built / "riepilogo.xlsx")["Lavoratori"]
    problems = {row[0].value: row[4].value for row in sheet.iter_rows(min_row=2)}
    assert "attestato: roster.xlsx row 5" in problems[5]
    assert "the field 'data_di_nascita' is empty" in problems[5]
    assert "Cella da correggere: roster.xlsx!D5" in problems[5]
    assert problems[2] is None


def test_values_that_look_like_formulas_stay_text(built: Path) -> None:
    """A name starting with = (or holding markup) is stored as text, never as a formula."""
    sheet = load_workbook(built / "riepilogo.xlsx")["Lavoratori"]
    label = next(row[1] for row in sheet.iter_rows(min_row=2) if row[0].value == 6)
    assert label.value == f"{HOSTILE.upper()} Anna" and label.data_type == "s"


def test_formula_label_is_text(tmp_path: Path) -> None:
    """A surname typed as an Excel formula is kept as the text it is."""
    job = write_job(tmp_path, workers=rows()[:3])
    book = load_workbook(tmp_path / "roster.xlsx")
    book.active["A2"] = '=HYPERLINK("http://example.org","x")'
    book.active["A2"].data_type = "s"  # text, as a CSV import or a quote-prefixed cell gives
    book.save(tmp_path / "roster.xlsx")
    out = tmp_path / "out"
    build(load_job(job), out, jobs=1)
    sheet = load_workbook(out / "riepilogo.xlsx")["Lavoratori"]
    cell = sheet["B2"]
    assert cell.data_type == "s" and cell.value.startswith('=HYPERLINK("HTTP://EXAMPLE.ORG"')


def test_batch_sheet_lists_batch_documents(built: Path) -> None:
    """The batch sheet lists the list of workers with its status, file and message (none here:
    the failed row's empty birth date is not a field the list reads, so it stays in)."""
    sheet = load_workbook(built / "riepilogo.xlsx")["Documenti d'insieme"]
    row = [c.value for c in sheet[2]]
    assert row[:3] == ["elenco", "prodotto", "elenco.pdf"]
    assert row[3] is None
    assert sheet["B2"].hyperlink.target == "elenco.pdf"
