"""Reading xlsx and csv rosters into typed rows."""

from __future__ import annotations

import datetime as dt
import re
import zipfile
from pathlib import Path

import pytest

from docgen.errors import RosterError
from docgen.roster import read_roster
from tests.conftest import write_xlsx


def test_xlsx_types_and_row_numbers(tmp_path: Path) -> None:
    """Header on the first non-empty row; row numbers as the sheet shows them; types kept."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Cognome", "Data di nascita", "Ore", "CAP"], [
        [" Rossi ", dt.datetime(1975, 3, 12), 72.0, "05100"],
        [None, None, None, None],
        ["Verdi", "01/02/1980", 97.5, "53035"],
    ], first_row=3)
    roster = read_roster(path)
    assert roster.fields == ("cognome", "data_di_nascita", "ore", "cap")
    first, second = roster.rows
    assert (first.number, second.number) == (4, 6)
    assert first.fields["cognome"] == "Rossi"
    assert first.fields["data_di_nascita"] == dt.date(1975, 3, 12)
    assert second.fields["data_di_nascita"] == dt.date(1980, 2, 1)
    assert first.fields["ore"] == 72 and isinstance(first.fields["ore"], int)
    assert second.fields["ore"] == 97.5
    assert first.fields["cap"] == "05100"
    assert roster.cell("ore", 6) == "r.xlsx!C6"


def test_csv_semicolon_bom_crlf_decimal_comma(tmp_path: Path) -> None:
    """Italian Excel CSV: semicolons, BOM, CRLF, decimal comma, dates as text."""
    path = tmp_path / "r.csv"
    path.write_bytes("\ufeffCognome;Nome;Ore frequentate;Data di nascita\r\n"
                     "D'Angelo;Niccolò;72,5;12/03/1975\r\n;;;\r\nLucà;Mariù;84;01/01/1990\r\n"
                     .encode())
    roster = read_roster(path)
    assert roster.fields == ("cognome", "nome", "ore_frequentate", "data_di_nascita")
    assert [r.number for r in roster.rows] == [2, 4]
    assert roster.rows[0].fields == {"cognome": "D'Angelo", "nome": "Niccolò",
                                     "ore_frequentate": 72.5,
                                     "data_di_nascita": dt.date(1975, 3, 12)}


def test_csv_comma_and_windows_1252(tmp_path: Path) -> None:
    """Comma-separated, saved by Excel on Windows in cp1252."""
    path = tmp_path / "r.csv"
    path.write_bytes("Cognome,Nome\nLucà,Niccolò\n".encode("cp1252"))
    assert read_roster(path).rows[0].fields == {"cognome": "Lucà", "nome": "Niccolò"}


def test_columns_mapping(tmp_path: Path) -> None:
    """[job.columns] maps a header to a chosen field name."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Cod. Fiscale"], [["RSSMRA80A01H501U"]])
    roster = read_roster(path, columns={"Cod. Fiscale": "codice_fiscale"})
    assert roster.fields == ("codice_fiscale",)


def test_duplicate_field_names_are_fatal(tmp_path: Path) -> None:
    """Two headers giving one field name: the columns are named."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Nome", "NOME "], [["a", "b"]])
    with pytest.raises(RosterError, match="columns A .*and B .*both give the field 'nome'"):
        read_roster(path)


def test_missing_sheet_lists_sheets(tmp_path: Path) -> None:
    """A wrong sheet name lists the sheets there are."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Nome"], [["a"]])
    with pytest.raises(RosterError, match="no sheet named 'Foglio1'.*Lavoratori"):
        read_roster(path, sheet="Foglio1")


def test_not_a_workbook(tmp_path: Path) -> None:
    """A file that is not a workbook gives one clear line."""
    path = tmp_path / "r.xlsx"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    with pytest.raises(RosterError, match="this is a PNG image, not .xlsx"):
        read_roster(path)


def test_empty_sheet(tmp_path: Path) -> None:
    """An empty sheet says how a roster should look."""
    path = tmp_path / "r.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(RosterError, match="the sheet is empty"):
        read_roster(path)


FIELDS = {"cognome", "nome", "codice_fiscale"}


def test_header_found_by_the_fields_the_job_reads(tmp_path: Path) -> None:
    """A title above the header: the header is the row naming the expected fields."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Elenco partecipanti"], [
        [], ["Cognome", "Nome", "Codice fiscale"], ["Rossi", "Mario", "RSSMRA80A01H501U"]])
    roster = read_roster(path, expected=FIELDS)
    assert roster.fields == ("cognome", "nome", "codice_fiscale")
    assert (roster.header_row, roster.sheet) == (3, "Lavoratori")
    assert [r.number for r in roster.rows] == [4]
    assert [n.message for n in roster.notes] == ["header on row 3 of sheet Lavoratori"]
    assert read_roster(path).fields == ("elenco_partecipanti",)  # without expected: as before


def test_header_row_forced(tmp_path: Path) -> None:
    """header_row picks the header even where another row matches better."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Cognome", "Nome"], [["Cognome", "Nome esteso"],
                                                                 ["Rossi", "Mario"]])
    roster = read_roster(path, expected={"cognome", "nome"}, header_row=2)
    assert roster.fields == ("cognome", "nome_esteso") and roster.rows[0].number == 3
    with pytest.raises(RosterError, match="header_row = 9, but row 9 is empty"):
        read_roster(path, header_row=9)


def test_totals_and_notes_rows_need_the_key(tmp_path: Path) -> None:
    """With the key: totals and notes rows are set apart, a keyless worker stays a row."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Cognome", "Codice fiscale", "Ore"], [
        ["Rossi", "RSSMRA80A01H501U", 80], ["Verdi", None, 70], [None, None, 150],
        ["N.B. ore aggiornate al 12/03"], ["Totali", None, 150], ["Firma del direttore"]])
    roster = read_roster(path, key="codice_fiscale")
    assert [r.number for r in roster.rows] == [2, 3]  # Verdi has no key: the plan says so
    assert [n.message for n in roster.notes] == [
        "row 4 looks like a totals row (only numbers, no key): ignored",
        "row 6 looks like a totals row: ignored",
        "rows 5, 7 are below the end of the table (the totals on row 4): ignored"]
    assert len(read_roster(path).rows) == 6  # without the key: every row, as before


@pytest.mark.parametrize(("text", "locale", "value"), [
    ("1.072", "it_IT", 1072), ("1.072,5", "it_IT", 1072.5), ("72,5", "it_IT", 72.5),
    ("72.5", "it_IT", 72.5), ("1.234.567", "it_IT", 1234567), ("1,072", "en_US", 1072),
    ("1.072", "en_US", 1.072), ("1.072", None, 1.072), ("05100", "it_IT", "05100"),
])
def test_numbers_as_the_locale_writes_them(tmp_path: Path, text: str, locale: str | None,
                                           value: object) -> None:
    """Thousands separators read as the job's locale writes them; leading zeros stay text."""
    path = tmp_path / "r.csv"
    path.write_text(f"Nome;Importo\nMario;{text}\n", encoding="utf-8")
    found = read_roster(path, locale=locale).rows[0].fields["importo"]
    assert found == value and type(found) is type(value)


def test_ambiguous_thousands_fail_their_cell(tmp_path: Path) -> None:
    """1.072 under 72.5 in an Italian column could be either: that cell is reported."""
    path = tmp_path / "r.csv"
    path.write_text("Nome;Ore\nMario;72.5\nGiulia;1.072\n", encoding="utf-8")
    roster = read_roster(path, locale="it_IT")
    assert roster.rows[1].fields["ore"] == "1.072"
    (error,) = roster.cell_errors
    assert (error.row, error.field) == (3, "ore")
    assert "'1.072' could be 1072" in error.message and "B2 (72.5)" in error.message


def test_dates_parsed_cell_by_cell(tmp_path: Path) -> None:
    """In a date column every text date is read on its own; a two-digit year stays text."""
    path = tmp_path / "r.csv"
    path.write_text("Data di nascita;Note\n12-03-1975;12/03/1975\n1975-03-12;x\n12.03.1975;y\n"
                    "12/03/75;z\n", encoding="utf-8")
    rows = read_roster(path).rows
    assert [r.fields["data_di_nascita"] for r in rows] == [dt.date(1975, 3, 12)] * 3 + ["12/03/75"]
    assert rows[0].fields["note"] == "12/03/1975"  # a text column keeps its text


def test_excel_escapes(tmp_path: Path) -> None:
    """_xHHHH_ decoded (surrogate pairs joined), then control characters stripped."""
    path = write_xlsx(tmp_path / "r.xlsx", ["Nome"], [["_x0001_Maria_x000B_"],
                                                     ["_xD83D__xDE00_ ok"], ["_x005F_x0041_"]])
    roster = read_roster(path)
    assert [r.fields["nome"] for r in roster.rows] == ["Maria", "\U0001F600 ok", "_x0041_"]
    assert roster.cleaned == ((2, "nome"),)


def test_csv_nul_is_stripped_binary_refused(tmp_path: Path) -> None:
    """One NUL in a CSV is a control character like others; a binary file is still refused."""
    path = tmp_path / "r.csv"
    path.write_bytes(b"Cognome;Nome\nRossi;Ma\x00rio\n")
    roster = read_roster(path)
    assert roster.rows[0].fields["nome"] == "Mario" and roster.cleaned == ((2, "nome"),)
    path.write_bytes(b"Cognome;Nome\n\x00\x01\x02\x03garbage\x00\n")
    with pytest.raises(RosterError, match="not a text CSV file"):
        read_roster(path)


def test_oversized_cells_fail_their_row(tmp_path: Path) -> None:
    """A cell over 32,767 characters (xlsx or CSV) is a cell error; the roster stays usable."""
    written = write_xlsx(tmp_path / "w.xlsx", ["Nome", "Note"], [["Mario", "PLACEHOLDER"],
                                                                ["Giulia", "ok"]])
    path = tmp_path / "r.xlsx"  # openpyxl cuts long cells; other programs do not
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            target.writestr(item, data.replace(b"PLACEHOLDER", b"x" * 100_000))
    roster = read_roster(path)
    assert [r.fields["note"] for r in roster.rows] == [None, "ok"]
    assert [(e.row, e.field, e.message) for e in roster.cell_errors] == [
        (2, "note", "cell B2 holds 100000 characters (limit 32767)")]
    csv_path = tmp_path / "r.csv"
    csv_path.write_text("Nome;Note\nMario;" + "y" * 1_000_000 + "\nGiulia;ok\n", encoding="utf-8")
    assert read_roster(csv_path).cell_errors[0].message == (
        "cell B2 holds 1000000 characters (limit 32767)")


def test_unclosed_quote_is_named(tmp_path: Path) -> None:
    """A quote that never closes swallows the rest of the file: said plainly, not a long cell."""
    path = tmp_path / "r.csv"
    path.write_text('Nome;Note\nMario;"inizio\n' + "Giulia;ok\n" * 5000, encoding="utf-8")
    with pytest.raises(RosterError, match=r"cell B2 opens a quote .* that never closes"):
        read_roster(path)


def test_autofilter_found_in_the_sheet_without_a_defined_name(tmp_path: Path) -> None:
    """Without Excel's _FilterDatabase name, the sheet's own <autoFilter> ends the data."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "Lavoratori"
    for row in (["Nome", "Codice fiscale"], ["Mario", "RSSMRA80A01H501U"],
                ["Giulia", "BNCGLI90E41H501M"], [], ["Aggiornato al 12/03/2026"]):
        sheet.append(row)
    sheet.auto_filter.ref = "A1:B3"
    written = tmp_path / "w.xlsx"
    book.save(written)
    path = tmp_path / "r.xlsx"
    with zipfile.ZipFile(written) as source, zipfile.ZipFile(path, "w") as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/workbook.xml":
                data = re.sub(rb"<definedNames>.*</definedNames>", b"", data)
            target.writestr(item, data)
    roster = read_roster(path, expected={"nome"}, key="codice_fiscale")
    assert [r.number for r in roster.rows] == [2, 3]
    assert [n.message for n in roster.notes] == [
        "row 5 is below the end of the autofilter (A1:B3): ignored"]
