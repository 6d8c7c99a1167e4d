"""Per-row planning (plan.py): a bad value fails only the documents that read it."""

from __future__ import annotations

import csv
import datetime as dt
import textwrap
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from docgen.cli import cli
from tests.conftest import WORKERS, fiscal_code
from tests.helpers import pdf_text


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


def _rows(count: int) -> list[list[object]]:
    return [[f"Cognome{i}", "Nome", fiscal_code(i), dt.date(1980, 1, 1), "Siena", 100, "idoneo",
             None] for i in range(count)]


def test_batch_leaves_out_only_rows_whose_problems_touch_it(make_job: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    """The list leaves out rows with an empty field it prints (sede, cognome), keeps a row
    whose only problem is a field it does not print (a birth date), and the summary says
    which rows; each row problem is one line naming the documents it fails."""
    rows = _rows(6)
    rows[1][3] = None  # row 3: birth date, read by the attestato only
    rows[2][4] = None  # row 4: sede, read by the list only
    rows[3][0] = None  # row 5: cognome, read by all three
    rows[4][4] = None  # row 6: sede
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(make_job(rows=rows)), "--out", str(out),
                                      "-j", "1"])
    assert result.exit_code == 1
    assert "elenco: 3 rows left out (rows 4, 5, 6): see manifest.csv" in result.stdout
    text = pdf_text(out / "elenco.pdf")
    assert "Cognome1" in text and "Cognome0" in text
    assert "Cognome2" not in text and "Cognome4" not in text
    errors = result.stderr.splitlines()
    assert [line for line in errors if "row 3 " in line] == [
        f"failed: roster.xlsx row 3 ({fiscal_code(1)}): the field 'data_di_nascita' is empty "
        "(cell roster.xlsx!D3) [attestato]. fill it in, or list it in [job] optional"]
    row5 = [line for line in errors if "row 5 " in line]
    assert len(row5) == 1 and row5[0].endswith(
        "the field 'cognome' is empty (cell roster.xlsx!A5) [attestato, lettera, elenco]. "
        "fill it in, or list it in [job] optional")
    assert len([line for line in errors if "row 4 " in line]) == 1
    assert "[elenco]" in next(line for line in errors if "row 4 " in line)


def test_label_names_the_worker(tmp_path: Path) -> None:
    """[job] label names the worker in the summary, the per-worker bundles and mail's lines;
    without it and without cognome/nome a bundle is named by the key once."""
    from tests.conftest import write_xlsx

    (tmp_path / "templates").mkdir()
    (tmp_path / "templates/attestato.html").write_text(
        "<html><body><p>{{ cognome_e_nome }}</p></body></html>", encoding="utf-8")
    key = fiscal_code(7)
    write_xlsx(tmp_path / "roster.xlsx", ["Cognome e Nome", "Codice fiscale", "Email"],
               [["GIARDI Paola", key, "paola@example.org"]])
    job = tmp_path / "job.toml"
    body = textwrap.dedent("""
        [job]
        id = "etichette"
        roster = "roster.xlsx"
        key = "codice_fiscale"
        zip = ["per-worker"]
        {label}

        [[document]]
        name = "attestato"
        template = "templates/attestato.html"

        [mail]
        from = "Formazione <formazione@example.org>"
        subject = "Documenti"
        body = "In allegato."
    """)
    job.write_text(body.replace("{label}", ""), encoding="utf-8")
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"]).exit_code == 0
    assert [p.name for p in (out / "bundles/per-worker").iterdir()] == [f"{key}.zip"]
    job.write_text(body.replace("{label}", 'label = "{{ cognome_e_nome }}"'), encoding="utf-8")
    result = runner.invoke(cli, ["build", str(job), "--out", str(out), "-j", "1", "--force",
                                 "--prune"])
    assert result.exit_code == 0, result.stderr
    assert "1 document(s) regenerated: GIARDI Paola, attestato" in result.stdout
    assert sorted(p.name for p in (out / "bundles/per-worker").iterdir()) == [
        f"GIARDI Paola_{key}.zip"]
    mail = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--dry-run"])
    assert mail.exit_code == 0, mail.stderr
    assert mail.stdout.splitlines()[0].split("\t")[1] == f"row 2 ({key}, GIARDI Paola)"
    drafts = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--drafts"])
    assert drafts.exit_code == 0, drafts.stderr
    with (out / "mail/log.csv").open(encoding="utf-8-sig", newline="") as handle:
        [logged] = list(csv.DictReader(handle))
    assert (logged["key"], logged["label"], logged["status"]) == (key, "GIARDI Paola", "draft")
