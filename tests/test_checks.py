"""Data checks: every mistake in one pass, with the cell, the problem and the fix."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from docx import Document

from docgen.checks import check_columns, check_roster
from docgen.cli import cli
from docgen.lint import word_damage
from docgen.roster import read_roster
from tests.conftest import WORKERS, write_xlsx
from tests.helpers import docx_text

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


def test_check_reports_every_problem_with_cells(make_job: Callable[..., Path]) -> None:
    """check lists all row problems at once, grouped by file, with cells and fixes; exit 1."""
    rows = [list(r) for r in WORKERS]
    rows[0][2] = "DNGNCL80A01I726X"
    rows[1][5] = 150
    rows[2][3] = None
    result = CliRunner().invoke(cli, ["check", str(make_job(rows=rows))])
    assert result.exit_code == 1
    out = result.stdout
    assert "roster.xlsx: 3 errors\n" in out
    assert "C2  row 2 (DNGNCL80A01I726X): codice fiscale" in out
    assert "F3  row 3 (LCUMRA85C52D612B): hours 150 is more than the course's 120" in out
    assert "D4  row 4 (BNCGLI90E41H501M): the field 'data_di_nascita' is empty" in out
    assert "fix: fill it in, or list it in [job] optional" in out


def test_check_json(make_job: Callable[..., Path]) -> None:
    """--format json gives the same problems for programs."""
    rows = [list(r) for r in WORKERS]
    rows[1][5] = 150
    result = CliRunner().invoke(cli, ["check", str(make_job(rows=rows)), "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["exit_code"] == 1
    problem, = [p for p in data["problems"] if p["severity"] == "error"]
    assert problem["cell"] == "roster.xlsx!F3" and problem["row"] == 3
    assert problem["field"] == "ore_frequentate" and problem["severity"] == "error"


def test_check_unusable_lists_all_fatal_problems(make_job: Callable[..., Path]) -> None:
    """Unknown fields in two places are both reported; exit 2."""
    html = "<p>{{ nome }} {{ cognme }} {{ data_nascita }}</p>"
    result = CliRunner().invoke(cli, ["check", str(make_job(html=html))])
    assert result.exit_code == 2
    assert "'cognme'" in result.stdout and "'data_nascita'" in result.stdout
    assert "did you mean 'cognome'" in result.stdout


def test_build_fails_only_documents_touched_by_a_bad_value(make_job: Callable[..., Path],
                                                           tmp_path: Path) -> None:
    """A row-level data error fails the documents that use that field; others are written."""
    rows = [list(r) for r in WORKERS]
    rows[0][5] = 150  # hours: used by the attestato's 'when' and text, not by the lettera
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(make_job(rows=rows)), "--out", str(out),
                                      "-j", "1"])
    assert result.exit_code == 1
    assert "hours 150 is more than the course's 120 (cell roster.xlsx!F2)" in result.stderr
    assert not (out / "DNGNCL80A01I726W/attestato.pdf").exists()
    assert (out / "D'Angelo_Niccolò/lettera.docx").exists()


def test_word_damage_found_and_fixed(tmp_path: Path) -> None:
    """Split tags and curly quotes are reported by check and repaired by fix-template."""
    from tests.conftest import write_docx_template

    source = write_docx_template(tmp_path / "lettera.docx")
    damage = [problem for _, problem in word_damage(source)]
    assert damage == ["the tag {{ nome }} is split by Word into 2 pieces",
                      "the tag {% if esito_esame == “idoneo” %} has Word's typographic quotes"]
    target = tmp_path / "fixed.docx"
    result = CliRunner().invoke(cli, ["fix-template", str(source), str(target)])
    assert result.exit_code == 0 and "2 tag(s) repaired" in result.stdout
    assert word_damage(target) == []
    paragraph = Document(str(target)).paragraphs[1]
    assert paragraph.runs[1].text == "{{ nome }}" and paragraph.runs[1].bold
    assert "{% if esito_esame == \"idoneo\" %}" in docx_text(target)


def test_syntax_errors_name_their_place(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A broken HTML tag names its line; an unclosed Word block names the paragraph where it
    opens, not the end of the document; exit 2."""
    html = "<html>\n<body>\n<p>{{ nome }</p>\n</body></html>"
    job = make_job(html=html)
    document = Document(str(tmp_path / "templates/lettera.docx"))
    document.add_paragraph("Note finali {% if note %}senza chiusura")
    document.add_paragraph("Ultimo paragrafo")
    document.save(str(tmp_path / "templates/lettera.docx"))
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 2
    assert "line 3  template syntax error: unexpected '}'" in result.stdout
    assert ("paragraph “Note finali {% if note %}senza chiusura”: template syntax error: "
            "the {% if %} block is never closed (no {% endif %})") in result.stdout
    build = CliRunner().invoke(cli, ["build", str(job), "--out", str(tmp_path / "out")])
    assert build.exit_code == 2
    assert "error: attestato.html (line 3): template syntax error" in build.stderr
    assert not (tmp_path / "out").exists()
