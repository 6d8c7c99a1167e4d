"""Fixtures that build real rosters, templates and job files in tmp_path."""

from __future__ import annotations

import datetime as dt
import textwrap
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from docx import Document

HEADER = ["Cognome", "Nome", "Codice fiscale", "Data di nascita", "Sede", "Ore frequentate",
          "Esito esame", "Note"]
WORKERS = [
    ["D'Angelo", "Niccolò", "DNGNCL80A01I726W", dt.date(1980, 1, 1), "Monteriggioni (SI)", 110,
     "idoneo", None],
    ["Lucà", "Mariù", "LCUMRA85C52D612B", dt.date(1985, 3, 12), "Sesto Fiorentino (FI)", 72.5,
     "assente", "part-time"],
    ["Bianchi", "Giulia", "BNCGLI90E41H501M", dt.date(1990, 5, 1), "Monteriggioni (SI)", 120,
     "non idoneo", None],
]



def fiscal_code(number: int) -> str:
    """A valid codice fiscale for fictional worker ``number`` (0-99), born 01/01/1980."""
    from stdnum.it.codicefiscale import calc_check_digit

    body = f"RSSMRA80A01H5{number:02d}"
    return body + calc_check_digit(body)


def numbered_workers(count: int) -> list[list[Any]]:
    """``count`` fictional workers in HEADER's columns (Cognome0 ... ), each due both the
    certificate and the letter: the roster of the tests that need many documents."""
    return [[f"Cognome{i}", "Nome", fiscal_code(i), "01/01/1980", "Siena", 100, "idoneo", None]
            for i in range(count)]


HTML_TEMPLATE = """\
<!doctype html>
<html lang="it"><head><meta charset="utf-8">
<style>@page { size: A4; margin: 2cm } body { font-family: "DejaVu Sans", sans-serif }</style>
</head><body>
<h1>ATTESTATO DI FREQUENZA</h1>
<p>Si attesta che {{ nome }} {{ cognome }}, nato/a il {{ data_di_nascita | date('long') }},
C.F. {{ codice_fiscale }}, ha frequentato {{ ore_frequentate | number }} ore su {{ course.hours }}
del corso {{ course.title }}.</p>
{% if note %}<p>Note: {{ note }}</p>{% endif %}
</body></html>
"""

BATCH_TEMPLATE = """\
<!doctype html>
<html lang="it"><head><meta charset="utf-8"></head><body>
<h1>Elenco lavoratori</h1>
<table>{% for r in rows %}<tr><td>{{ loop.index }}</td><td>{{ r.cognome }}</td>
<td>{{ r.nome }}</td><td>{{ r.sede }}</td></tr>{% endfor %}</table>
</body></html>
"""


def write_xlsx(path: Path, header: Sequence[Any], rows: Sequence[Sequence[Any]],
               sheet: str = "Lavoratori", first_row: int = 1) -> Path:
    """A real workbook as Excel would save it."""
    from openpyxl import Workbook

    book = Workbook()
    ws = book.active
    ws.title = sheet
    for _ in range(first_row - 1):
        ws.append([])
    ws.append(list(header))
    for row in rows:
        ws.append(list(row))
    book.save(path)
    return path


def write_docx_template(path: Path) -> Path:
    """A Word template with a tag split across runs (as Word does after spell-check),
    a table, and a tag in the header."""
    doc = Document()
    doc.sections[0].header.paragraphs[0].text = "Progetto {{ course.code }}"
    doc.add_heading("Lettera di qualifica", level=1)
    paragraph = doc.add_paragraph("Gentile ")
    paragraph.add_run("{{ no").bold = True
    paragraph.add_run("me }} ")
    paragraph.add_run("{{ cognome }}, C.F. {{ codice_fiscale }}.")
    doc.add_paragraph("{% if esito_esame == “idoneo” %}Esito: idoneo.{% endif %}")
    table = doc.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "{%tr for u in course.units %}"
    table.cell(1, 0).text = "{{ u.code }}"
    table.cell(1, 1).text = "{{ u.title }}"
    table.add_row().cells[0].text = "{%tr endfor %}"
    doc.save(path)
    return path


@pytest.fixture
def make_job(tmp_path: Path) -> Callable[..., Path]:
    """Write a job with a roster and templates in tmp_path; returns the job file."""

    def make(rows: Sequence[Sequence[Any]] = WORKERS, header: Sequence[Any] = HEADER,
             documents: str | None = None, extra_job: str = "", html: str = HTML_TEMPLATE,
             roster_name: str = "roster.xlsx") -> Path:
        templates = tmp_path / "templates"
        templates.mkdir(exist_ok=True)
        (templates / "attestato.html").write_text(html, encoding="utf-8")
        (templates / "elenco.html").write_text(BATCH_TEMPLATE, encoding="utf-8")
        if not (templates / "lettera.docx").exists():  # rewriting changes its zip timestamps
            write_docx_template(templates / "lettera.docx")
        if roster_name.endswith(".xlsx"):
            write_xlsx(tmp_path / roster_name, header, rows)
        if documents is None:
            documents = """
                [[document]]
                name = "attestato"
                template = "templates/attestato.html"
                when = "ore_frequentate >= 0.7 * course.hours"

                [[document]]
                name = "lettera"
                template = "templates/lettera.docx"
                filename = "{{ cognome }}_{{ nome }}/lettera.docx"
                when = "esito_esame == 'idoneo'"

                [[document]]
                name = "elenco"
                template = "templates/elenco.html"
                scope = "batch"
            """
        job = tmp_path / "job.toml"
        job.write_text(textwrap.dedent(f"""
            [job]
            id = "test-job"
            locale = "it_IT"
            roster = "{roster_name}"
            key = "codice_fiscale"
            optional = ["note"]
            {extra_job}

            [course]
            title = "Operatore del servizio clienti"
            code = "GOL-P5-2026"
            hours = 120
            start = 2026-03-02
            units = [{{ code = "UC 1", title = "Accoglienza & ascolto" }},
                     {{ code = "UC 2", title = "Gestione <reclami>" }}]
        """) + textwrap.dedent(documents), encoding="utf-8")
        return job

    return make
