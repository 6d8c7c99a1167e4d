"""Data checks on roster rows (checks.py): fiscal codes, e-mails, dates, hours, numbers."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from docgen.checks import check_columns, check_roster
from docgen.roster import read_roster
from tests.conftest import write_xlsx

HEADER = ["Cognome", "Nome", "Codice fiscale", "Sesso", "Data di nascita", "Email",
          "Ore frequentate", "Livello"]


GOOD = ["Rossi", "Maria", "RSSMRA80A41H501Y", "F", dt.date(1980, 1, 1), "maria@example.org",
        100, 3]


def issues_for(tmp_path: Path, *rows: list[object]) -> list[tuple[int, str, str, str]]:
    path = write_xlsx(tmp_path / "r.xlsx", HEADER, [GOOD] * 5 + list(rows))
    roster = read_roster(path)
    columns = check_columns({}, roster.fields)
    found = check_roster(roster, columns, {"hours": 120, "start": dt.date(2026, 3, 2)},
                         dt.date(2026, 3, 2))
    return [(i.row, i.field, i.severity, i.message) for i in found]


def with_(**changes: object) -> list[object]:
    row = list(GOOD)
    for name, value in changes.items():
        row[[h.lower().replace(" ", "_") for h in HEADER].index(name)] = value
    return row



def test_valid_rows_have_no_issues(tmp_path: Path) -> None:
    """A correct row, omocodia included, raises nothing."""
    omocode = "RSSMRA80A41H50MA"  # the last digit of the place code replaced: still valid
    from stdnum.it import codicefiscale

    omocode = omocode[:15] + codicefiscale.calc_check_digit(omocode[:15])
    assert issues_for(tmp_path, with_(codice_fiscale=omocode)) == []


def test_fiscal_code_check_character(tmp_path: Path) -> None:
    """A mistyped check character is an error that says what it should be."""
    (row, field, severity, message), = issues_for(tmp_path, with_(codice_fiscale="RSSMRA80A41H501X"))
    assert (row, field, severity) == (7, "codice_fiscale", "error")
    assert "wrong check character: 'X' where the code's other characters give 'Y'" in message


def test_fiscal_code_format_and_length(tmp_path: Path) -> None:
    """Wrong length and wrong shape are errors."""
    found = issues_for(tmp_path, with_(codice_fiscale="RSSMRA80A41"),
                       with_(codice_fiscale="1234567890ABCDEF"))
    assert "has 11 characters, not 16" in found[0][3]
    assert "is not a codice fiscale" in found[1][3]


def test_fiscal_code_disagrees_with_birth_date_and_sex(tmp_path: Path) -> None:
    """Birth date and sex that contradict the code are warnings."""
    found = issues_for(tmp_path, with_(data_di_nascita=dt.date(1981, 1, 1), sesso="M"))
    assert [(f, s) for _, f, s, _ in found] == [("data_di_nascita", "warning"),
                                                 ("sesso", "warning")]
    assert "disagrees with the codice fiscale (01/01/80)" in found[0][3]


def test_email_dates_hours_numbers(tmp_path: Path) -> None:
    """Bad e-mail, future or implausible birth dates, impossible hours, text among numbers."""
    found = issues_for(
        tmp_path,
        with_(email="maria@@example"),
        with_(data_di_nascita=dt.date(2027, 1, 1), codice_fiscale=None),
        with_(data_di_nascita=dt.date(2015, 1, 1), codice_fiscale=None),
        with_(ore_frequentate=130),
        with_(ore_frequentate=-2),
        with_(ore_frequentate="tanti"),
        with_(livello="tre"),
    )
    messages = {(row, field): message for row, field, _, message in found}
    assert "is not a valid e-mail address" in messages[(7, "email")]
    assert "is after the course start" in messages[(8, "data_di_nascita")]
    assert "gives an age of 11" in messages[(9, "data_di_nascita")]
    assert "more than the course's 120" in messages[(10, "ore_frequentate")]
    assert "is negative" in messages[(11, "ore_frequentate")]
    assert "'tanti' is not a number" in messages[(12, "ore_frequentate")]
    assert "text 'tre' in a column of numbers" in messages[(13, "livello")]


def test_excel_formula_errors(tmp_path: Path) -> None:
    """A cell showing #N/A or #REF! is an error, not a name to print."""
    found = issues_for(tmp_path, with_(cognome="#N/A"), with_(livello="#REF!"))
    assert [(row, field) for row, field, _, _ in found] == [(7, "cognome"), (8, "livello")]
    assert "the cell shows the Excel error #N/A: its formula failed" in found[0][3]


def test_checks_can_be_switched_off(tmp_path: Path) -> None:
    """[job.checks] names the columns; false switches a check off."""
    path = write_xlsx(tmp_path / "r.xlsx", HEADER, [with_(email="nope")])
    roster = read_roster(path)
    columns = check_columns({"email": False}, roster.fields)
    assert columns.email is None and columns.fiscal_code == "codice_fiscale"
    assert check_roster(roster, columns, {}, dt.date(2026, 1, 1)) == []


def test_control_characters_are_stripped_with_a_warning(tmp_path: Path) -> None:
    """Invisible control characters leave the value, and the clerk is told."""
    path = tmp_path / "r.csv"
    path.write_text("Cognome\nRos\x0bsi\n", encoding="utf-8")
    roster = read_roster(path)
    assert roster.rows[0].fields["cognome"] == "Rossi"
    found = check_roster(roster, check_columns({}, roster.fields), {}, dt.date(2026, 1, 1))
    assert [(i.row, i.field, i.severity) for i in found] == [(2, "cognome", "warning")]
