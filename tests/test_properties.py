"""Property-based: whatever lands in a roster cell, each row renders or fails with a clear
message, and the batch goes on."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
import textwrap
from pathlib import Path

from docx import Document
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from docgen.build import build
from docgen.errors import UnusableError
from docgen.job import load_job
from tests.conftest import HTML_TEMPLATE, fiscal_code, write_docx_template
from tests.helpers import manifest

HEADER = ["Cognome", "Nome", "Codice fiscale", "Data di nascita", "Sede", "Ore frequentate",
          "Esito esame", "Note"]

cell = st.one_of(
    st.none(),
    st.text(max_size=40),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=300),
    st.text(alphabet="\x00\x01\x07\x0b\x1b\x7f\u200b\ufeff{}%#<>&'\"/\\.", max_size=30),
    st.integers(min_value=-10**12, max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.dates(min_value=dt.date(1000, 1, 1)).map(lambda d: d.strftime("%d/%m/%Y")),
    st.sampled_from(["{{ 7*7 }}", "{% for x in range(10**9) %}x{% endfor %}", "../../etc",
                     "CON", "=1+1", "idoneo", "120", "72,5", "1.234,5", "\u202eevil"]),
)
row = st.lists(cell, min_size=len(HEADER), max_size=len(HEADER))


def write_job(folder: Path, rows: list[list[object]]) -> Path:
    templates = folder / "templates"
    templates.mkdir()
    (templates / "attestato.html").write_text(HTML_TEMPLATE, encoding="utf-8")
    write_docx_template(templates / "lettera.docx")
    with (folder / "roster.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, delimiter=";")
        writer.writerow(HEADER)
        # A valid first row keeps the roster usable; the others are arbitrary.
        writer.writerow(["Rossi", "Mario", fiscal_code(1), "01/01/1980", "Siena", 100, "idoneo",
                         ""])
        writer.writerows(["" if v is None else v for v in r] for r in rows)
    job = folder / "job.toml"
    job.write_text(textwrap.dedent("""
        [job]
        id = "props"
        roster = "roster.csv"
        key = "codice_fiscale"
        optional = ["note"]
        [course]
        title = "Corso"
        code = "X"
        hours = 120
        units = [{ code = "UC 1", title = "Uno" }]
        [[document]]
        name = "attestato"
        template = "templates/attestato.html"
        filename = "{{ cognome }}_{{ nome }}_{{ codice_fiscale }}/attestato.pdf"
        [[document]]
        name = "lettera"
        template = "templates/lettera.docx"
        filename = "{{ cognome }} {{ nome }} {{ sede }}/lettera.docx"
    """), encoding="utf-8")
    return job


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(row, min_size=1, max_size=3))
def test_any_cell_renders_or_fails_clearly(rows: list[list[object]]) -> None:
    """Every row gets one outcome per document; failures say where; written files open."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        job_file = write_job(folder, rows)
        out = folder / "out"
        try:
            report = build(load_job(job_file), out, jobs=1)
        except UnusableError as err:
            # Only the sheet as a whole may be refused, and then with a clear message.
            assert err.problems and all(str(p) for p in err.problems)
            assert not out.exists()
            return
        assert report.exit_code in (0, 1)
        lines = manifest(out)
        numbers = {line["row"] for line in lines}
        assert "2" in numbers and len(lines) == 2 * len(numbers)
        for line in lines:
            assert (out / line["path"]).resolve().is_relative_to(out.resolve())
            if line["status"] == "failed":
                assert line["message"].startswith(f"roster.csv row {line['row']}")
            elif line["status"] == "ok" and line["path"].endswith(".pdf"):
                assert len(PdfReader(out / line["path"]).pages) >= 1
            elif line["status"] == "ok":
                Document(str(out / line["path"]))
        first = [line for line in lines if line["row"] == "2"]
        assert all(line["status"] == "ok" for line in first), first
