"""Reading xlsx and csv rosters into typed rows."""

from __future__ import annotations

import datetime as dt
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
