"""Re-runs in the one-folder layout (job, roster, templates, CSS, logo and output/ together):
only what a document's render read, and the row values it uses, make it again."""

from __future__ import annotations

import io
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from docgen.cli import cli
from docgen.record import RECORD
from tests.conftest import HEADER, WORKERS, write_docx_template, write_xlsx
from tests.helpers import check_hashes, manifest, pdf_text

ATTESTATO = """<!doctype html><html lang="it"><head><meta charset="utf-8">
<link rel="stylesheet" href="style.css"></head><body><img src="logo.png" alt="logo">
<h1>Attestato</h1><p>{{ nome }} {{ cognome }}, {{ ore_frequentate }} ore.</p></body></html>
"""
RICEVUTA = """<!doctype html><html lang="it"><head><meta charset="utf-8"></head><body>
<p>Ricevuta: {{ nome }} {{ cognome }}</p></body></html>
"""
ELENCO = """<!doctype html><html lang="it"><head><meta charset="utf-8">
<link rel="stylesheet" href="style.css"></head><body><table>{% for r in rows %}
<tr><td>{{ r.cognome }}</td><td>{{ r.nome }}</td></tr>{% endfor %}</table></body></html>
"""
JOB = """
[job]
id = "gol"
roster = "roster.xlsx"
key = "codice_fiscale"
optional = ["note"]

[course]
title = "Operatore"
code = "GOL-1"
hours = 120
units = [{ code = "UC 1", title = "Accoglienza" }]

[[document]]
name = "attestato"
template = "attestato.html"

[[document]]
name = "ricevuta"
template = "ricevuta.html"

[[document]]
name = "lettera"
template = "lettera.docx"

[[document]]
name = "elenco"
template = "elenco.html"
scope = "batch"
"""


def png(colour: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), colour).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    """Everything in one folder, with output/ inside it, built once."""
    (tmp_path / "job.toml").write_text(textwrap.dedent(JOB), encoding="utf-8")
    write_xlsx(tmp_path / "roster.xlsx", HEADER, WORKERS)
    (tmp_path / "attestato.html").write_text(ATTESTATO, encoding="utf-8")
    (tmp_path / "ricevuta.html").write_text(RICEVUTA, encoding="utf-8")
    (tmp_path / "elenco.html").write_text(ELENCO, encoding="utf-8")
    (tmp_path / "style.css").write_text("h1 { color: navy }\n", encoding="utf-8")
    (tmp_path / "logo.png").write_bytes(png("red"))
    (tmp_path / "altro.html").write_text("<p>{{ nome }}</p>", encoding="utf-8")
    write_docx_template(tmp_path / "lettera.docx")
    assert build(tmp_path)[0] == 0
    return tmp_path


def build(folder: Path, *extra: str) -> tuple[int, str, dict[tuple[str, str], str]]:
    """Build into folder/output; (exit code, stdout, (key, document) -> status)."""
    result = CliRunner().invoke(cli, ["build", str(folder / "job.toml"), "--out",
                                      str(folder / "output"), "-j", "1", *extra])
    lines = manifest(folder / "output")
    return result.exit_code, result.stdout, {(r["key"], r["document"]): r["status"] for r in lines}


def made(statuses: dict[tuple[str, str], str]) -> set[tuple[str, str]]:
    return {k for k, s in statuses.items() if s == "ok"}


KEYS = [w[2] for w in WORKERS]


def test_second_build_changes_nothing(folder: Path) -> None:
    """A second build in the one-folder layout leaves every document alone."""
    code, stdout, statuses = build(folder)
    assert code == 0 and made(statuses) == set()
    assert stdout.startswith("0 ok, 10 unchanged")
    check_hashes(folder / "output")


def test_records_what_each_render_read(folder: Path) -> None:
    """The record lists the template, its stylesheet and image, and nothing else of the folder."""
    record = json.loads((folder / "output" / RECORD).read_text(encoding="utf-8"))
    files = {path: set(record["files"][ref]) for path, ref in record["documents"].items()}
    assert files[f"{KEYS[0]}/attestato.pdf"] == {"attestato.html", "style.css", "logo.png"}
    assert files[f"{KEYS[0]}/ricevuta.pdf"] == {"ricevuta.html"}
    assert files[f"{KEYS[0]}/lettera.docx"] == {"lettera.docx"}
    assert files["elenco.pdf"] == {"elenco.html", "style.css"}


def test_css_edited_rebuilds_only_the_documents_using_it(folder: Path) -> None:
    """Editing the stylesheet makes again the HTML documents that link it, nothing else."""
    (folder / "style.css").write_text("h1 { color: maroon }\n", encoding="utf-8")
    code, _, statuses = build(folder)
    assert code == 0
    assert made(statuses) == {(k, "attestato") for k in KEYS} | {("", "elenco")}
    assert made(build(folder)[2]) == set()


def test_image_edited_rebuilds_the_documents_showing_it(folder: Path) -> None:
    """A new logo makes again the documents that show it (a cached image still counts)."""
    (folder / "logo.png").write_bytes(png("blue"))
    assert made(build(folder)[2]) == {(k, "attestato") for k in KEYS}


def test_one_cell_rebuilds_that_worker_and_batches_reading_it(folder: Path) -> None:
    """A changed name makes again that worker's documents and the list that prints names; a
    changed number of hours only that worker's documents."""
    rows = [list(r) for r in WORKERS]
    rows[1][1] = "Maria"
    write_xlsx(folder / "roster.xlsx", HEADER, rows)
    code, stdout, statuses = build(folder)
    assert code == 0 and "4 document(s) regenerated" in stdout
    assert made(statuses) == {(KEYS[1], d) for d in ("attestato", "ricevuta", "lettera")} | {
        ("", "elenco")}
    assert "Maria" in pdf_text(folder / "output" / "elenco.pdf")
    rows[2][5] = 100
    write_xlsx(folder / "roster.xlsx", HEADER, rows)
    assert made(build(folder)[2]) == {(KEYS[2], d) for d in ("attestato", "ricevuta", "lettera")}


def test_unrelated_files_change_nothing(folder: Path) -> None:
    """Files no render read (another template, a note, the output's own files, the roster
    saved again with the same values, the job file reformatted) rebuild nothing."""
    (folder / "altro.html").write_text("<p>changed</p>", encoding="utf-8")
    (folder / "appunti.txt").write_text("da fare", encoding="utf-8")
    (folder / "output" / "copia.txt").write_text("x", encoding="utf-8")
    write_xlsx(folder / "roster.xlsx", HEADER, WORKERS)
    (folder / "job.toml").write_text("# commento\n" + textwrap.dedent(JOB), encoding="utf-8")
    code, stdout, statuses = build(folder)
    assert code == 0 and made(statuses) == set(), stdout


def test_force_rebuilds_everything(folder: Path) -> None:
    """--force makes every document again, with the same bytes."""
    before = {(r["path"]): r["sha256"] for r in manifest(folder / "output")}
    code, _, statuses = build(folder, "--force")
    assert code == 0 and len(made(statuses)) == 10
    assert {(r["path"]): r["sha256"] for r in manifest(folder / "output")} == before
