"""Rosters as offices make them (tests/data/office, see make.py there), built and read back."""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from docgen.cli import cli
from tests.helpers import check_hashes, manifest, pdf_text

OFFICE = Path(__file__).parent / "data" / "office"
HTML = """\
<!doctype html><html lang="it"><head><meta charset="utf-8">
<style>body { font-family: "DejaVu Sans", sans-serif }</style></head><body>
<p>Si attesta che {{ nome }} {{ cognome }}, nato/a il {{ data_di_nascita | date('long') }},
C.F. {{ codice_fiscale }}, ha frequentato {{ ore_frequentate | number }} ore.</p>
<p>Esito: {{ esito_esame }}</p>
</body></html>
"""
DOCUMENTS = """
    [[document]]
    name = "attestato"
    template = "templates/attestato.html"

    [[document]]
    name = "elenco"
    template = "templates/elenco.html"
    scope = "batch"
"""


def build(make_job: Callable[..., Path], tmp_path: Path, fixture: str, *, html: str = HTML,
          documents: str = DOCUMENTS, extra_job: str = "") -> tuple[object, Path]:
    """A job over the office-made roster ``fixture``, built for real; returns (result, out)."""
    job = make_job(roster_name=fixture, html=html, documents=documents, extra_job=extra_job)
    shutil.copy(OFFICE / fixture, tmp_path / fixture)  # over the roster make_job wrote
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"])
    return result, out


def statuses(out: Path) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for line in manifest(out):
        found.setdefault(line["status"], []).append(line["row"])
    return found


def text_of(out: Path, key: str) -> str:
    return " ".join(pdf_text(out / key / "attestato.pdf").split())


def test_title_and_empty_row_above_the_header(make_job: Callable[..., Path],
                                              tmp_path: Path) -> None:
    """A merged title and an empty row above the header: every worker built, the header's row said."""
    result, out = build(make_job, tmp_path, "title_rows.xlsx")
    assert result.exit_code == 0, result.output
    assert "warning: title_rows.xlsx: header on row 3 of sheet Lavoratori" in result.stderr
    assert statuses(out) == {"ok": ["4", "5", "6", "7", "8", ""]}
    assert "Mario Rossi, nato/a il 12 marzo 1975, C.F. ROSMAR75C12H500O" in text_of(
        out, "ROSMAR75C12H500O")
    listing = pdf_text(out / "elenco.pdf")
    assert "Verdi" in listing and "Elenco partecipanti" not in listing
    check_hashes(out)


def test_header_merged_over_two_rows(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Titles merged down over two rows and a group title over two columns read as one header."""
    result, out = build(make_job, tmp_path, "two_row_header.xlsx")
    assert result.exit_code == 0, result.output
    assert "header on rows 3-4 of sheet Lavoratori" in result.stderr
    assert "ha frequentato 110 ore. Esito: idoneo" in text_of(out, "ROSMAR75C12H500O")
    assert len(statuses(out)["ok"]) == 5


def test_header_row_set_in_the_job(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """[job] header_row chooses the header row; an empty row given as the header is fatal."""
    result, out = build(make_job, tmp_path, "title_rows.xlsx", extra_job="header_row = 3")
    assert result.exit_code == 0, result.output
    assert len(statuses(out)["ok"]) == 6
    result, _ = build(make_job, tmp_path, "title_rows.xlsx", extra_job="header_row = 2")
    assert result.exit_code == 2
    assert "[job] header_row = 2, but row 2 is empty" in result.stderr


def test_totals_row_is_a_warning_not_a_failed_worker(make_job: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    """A "Totale" row with SUM and a signature line under it: warnings, every worker built, exit 0."""
    result, out = build(make_job, tmp_path, "totals.xlsx")
    assert result.exit_code == 0, result.output
    assert "row 16 looks like a totals row: ignored" in result.stderr
    assert "row 18 is below the end of the table (the totals on row 16): ignored" in result.stderr
    assert "failed" not in statuses(out) and len(statuses(out)["ok"]) == 15
    assert "852" not in result.output and "1256" not in pdf_text(out / "elenco.pdf")
    assert result.stdout.startswith("15 ok, 0 skipped, 0 failed")


def test_calc_table_ends_the_data(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A LibreOffice database range (saved as the Excel table 'Elenco'): the note under it is no
    worker."""
    result, out = build(make_job, tmp_path, "calc_table.xlsx")
    assert result.exit_code == 0, result.output
    assert "row 9 is below the end of table 'Elenco' (A3:G8): ignored" in result.stderr
    assert statuses(out) == {"ok": ["4", "5", "6", "7", "8", ""]}


def test_excel_table_with_totals_row(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """An Excel table with a totals row: the totals row and the note below are set apart."""
    result, out = build(make_job, tmp_path, "excel_table.xlsx")
    assert result.exit_code == 0, result.output
    assert "row 5 looks like a totals row: ignored" in result.stderr
    assert "row 7 is below the end of table 'Tabella1' (A1:G5): ignored" in result.stderr
    assert statuses(out) == {"ok": ["2", "3", "4", ""]}


def test_worker_added_below_the_autofilter(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A worker typed under the autofilter's range is still built, with a warning; the note is not."""
    result, out = build(make_job, tmp_path, "autofilter.xlsx")
    assert result.exit_code == 0, result.output
    assert ("row 5 is below the end of the autofilter (A1:G4) but has a key: read as a worker"
            in result.stderr)
    assert "row 7 is below the end of the autofilter (A1:G4): ignored" in result.stderr
    assert statuses(out) == {"ok": ["2", "3", "4", "5", ""]}
    assert "Mariù Lucà" in text_of(out, "LUCMAR85L44H503X")


def test_one_cognome_e_nome_column(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A roster with one "Cognome e Nome" column builds with a template that prints it."""
    html = "<p>Si attesta che {{ cognome_e_nome }}, C.F. {{ codice_fiscale }}.</p>"
    documents = '[[document]]\nname = "attestato"\ntemplate = "templates/attestato.html"\n'
    result, out = build(make_job, tmp_path, "cognome_e_nome.xlsx", html=html,
                        documents=documents)
    assert result.exit_code == 0, result.output
    assert "Si attesta che D'ANGELO Niccolò, C.F. DANNIC68S30H502V" in text_of(
        out, "DANNIC68S30H502V")


def test_mixed_text_dates(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Each text date is read on its own; a two-digit year fails its row alone, as it always did."""
    result, out = build(make_job, tmp_path, "mixed_dates.xlsx")
    assert result.exit_code == 1, result.output
    assert "nato/a il 12 marzo 1975" in text_of(out, "ROSMAR75C12H500O")  # 12-03-1975
    assert "nato/a il 1° gennaio 1980" in text_of(out, "BIAGIU80A41H501U")  # 01.01.1980
    assert "nato/a il 30 novembre 1968" in text_of(out, "DANNIC68S30H502V")  # 1968-11-30
    assert "nato/a il 4 luglio 1985" in text_of(out, "LUCMAR85L44H503X")  # 04/07/1985
    assert "'21/05/90' is not a date" in result.stderr
    assert statuses(out)["failed"] == ["7"]


def test_excel_escapes_decoded_then_cleaned(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Excel's _xHHHH_ escapes become the characters they stand for, then control characters go."""
    result, out = build(make_job, tmp_path, "escapes.xlsx")
    assert result.exit_code == 0, result.output
    rossi = text_of(out, "ROSMAR75C12H500O")
    assert "Si attesta che Maria Grazia Rossi" in rossi and "_x0" not in rossi
    assert "Giulia_x000B_ Bianchi" in text_of(out, "BIAGIU80A41H501U")  # an escaped underscore
    assert "escapes.xlsx row 2 (ROSMAR75C12H500O): control characters" in result.stderr


def test_italian_excel_csv(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """';', Windows-1252, a title line above the header, thousands written with dots."""
    html = HTML.replace("</body>", "<p>Importo: {{ importo | number }} euro</p></body>")
    result, out = build(make_job, tmp_path, "italian_excel.csv", html=html)
    assert result.exit_code == 0, result.output
    assert "warning: italian_excel.csv: header on row 3" in result.stderr
    assert "Importo: 1.375 euro" in text_of(out, "ROSMAR75C12H500O")
    assert "Importo: 1.200,5 euro" in text_of(out, "VERANN90E61H504Q")
    assert "Niccolò D'Angelo" in text_of(out, "DANNIC68S30H502V")


def test_csv_with_a_nul_byte(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A NUL byte in a CSV is stripped like any control character, with the same warning."""
    result, out = build(make_job, tmp_path, "nul.csv")
    assert result.exit_code == 0, result.output
    assert "Si attesta che Giulia Bianchi" in text_of(out, "BIAGIU80A41H501U")
    assert "nul.csv row 3 (BIAGIU80A41H501U): control characters" in result.stderr


def test_oversized_cell_fails_its_row_only(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A 40,000-character CSV cell fails that worker, naming the cell and its size; exit 1."""
    result, out = build(make_job, tmp_path, "big_cell.csv")
    assert result.exit_code == 1, result.output
    assert ("big_cell.csv row 3 (BIAGIU80A41H501U): cell G3 holds 40000 characters "
            "(limit 32767)") in result.stderr
    assert statuses(out)["failed"] == ["3"]
    assert "Mario Rossi" in text_of(out, "ROSMAR75C12H500O")
    assert "field larger than field limit" not in result.output


@pytest.mark.parametrize("fixture", ["title_rows.xlsx", "totals.xlsx", "italian_excel.csv"])
def test_check_says_what_build_does(make_job: Callable[..., Path], tmp_path: Path,
                                    fixture: str) -> None:
    """check reads the roster as build does: the same warnings, nothing would fail."""
    job = make_job(roster_name=fixture, html=HTML, documents=DOCUMENTS)
    shutil.copy(OFFICE / fixture, tmp_path / fixture)
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 0, result.output
    assert "0 would fail" in result.output
    assert ("header on row 3" in result.output) == (fixture != "totals.xlsx")
    assert ("row 16 looks like a totals row" in result.output) == (fixture == "totals.xlsx")


def test_mail_skips_the_totals_row(tmp_path: Path) -> None:
    """mail reads the roster as build did: a totals row is not a worker with no documents."""
    from tests.conftest import write_xlsx

    write_xlsx(tmp_path / "roster.xlsx", ["Nome", "Codice fiscale", "Email", "Ore"], [
        ["Mario", "ROSMAR75C12H500O", "mario@example.org", 80],
        ["Giulia", "BIAGIU80A41H501U", "giulia@example.org", 90],
        ["Totale", None, None, 170]])
    (tmp_path / "attestato.html").write_text("<p>{{ nome }}</p>", encoding="utf-8")
    (tmp_path / "body.txt").write_text("Gentile {{ nome }}", encoding="utf-8")
    job = tmp_path / "job.toml"
    job.write_text(textwrap.dedent("""
        [job]
        id = "gol"
        roster = "roster.xlsx"
        key = "codice_fiscale"
        [[document]]
        name = "attestato"
        template = "attestato.html"
        [mail]
        from = "formazione@example.org"
        to = "email"
        subject = "Attestato"
        body = "body.txt"
    """), encoding="utf-8")
    out = tmp_path / "out"
    built = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"])
    assert built.exit_code == 0, built.output
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.output
    lines = [line.split("\t") for line in result.stdout.splitlines() if "\t" in line]
    assert [line[1] for line in lines] == ["row 2 (ROSMAR75C12H500O)", "row 3 (BIAGIU80A41H501U)"]
    assert "0 failed" in result.stdout


def test_worker_without_key_is_still_an_error(make_job: Callable[..., Path],
                                              tmp_path: Path) -> None:
    """A worker with a name and hours but no key fails (exit 1); the totals row under it does not."""
    from tests.conftest import WORKERS

    rows = [list(w) for w in WORKERS]
    rows[1][2] = None
    rows.append(["Totale", None, None, None, None, sum(w[5] for w in WORKERS), None, None])
    job = make_job(rows=rows)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"])
    assert result.exit_code == 1, result.output
    assert "roster.xlsx row 3: the key field 'codice_fiscale' is empty" in result.stderr
    assert "row 5 looks like a totals row: ignored" in result.stderr
    assert {line["row"] for line in manifest(out) if line["status"] == "failed"} == {"3"}
