"""Template problems (lint.py, sources.py): Word damage found and repaired, syntax errors placed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from docx import Document

from docgen.cli import cli
from docgen.lint import word_damage
from tests.conftest import HTML_TEMPLATE, WORKERS
from tests.helpers import docx_text, manifest


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


def _logo_page(reference: str) -> str:
    return HTML_TEMPLATE.replace("<h1>", f'<img src="{reference}" style="width:2cm"><h1>')


def _images(pdf: Path) -> int:
    from pypdf import PdfReader

    return sum(len(page.images) for page in PdfReader(pdf).pages)


def test_logo_in_a_sibling_folder_is_in_the_pdf(make_job: Callable[..., Path],
                                               tmp_path: Path) -> None:
    """A logo in a folder beside the templates (under the job file's folder) is read: the
    certificate's PDF carries the image."""
    from PIL import Image

    (tmp_path / "loghi").mkdir()
    Image.new("RGB", (40, 20), "red").save(tmp_path / "loghi/regione.png")
    job = make_job(html=_logo_page("../loghi/regione.png"))
    check = CliRunner().invoke(cli, ["check", str(job)])
    assert check.exit_code == 0, check.stdout
    out = tmp_path / "out"
    build = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"])
    assert build.exit_code == 0, build.stderr
    assert _images(out / "DNGNCL80A01I726W/attestato.pdf") == 1


def test_assets_folder_outside_the_job_folder(tmp_path: Path, make_job: Callable[..., Path]
                                              ) -> None:
    """A folder listed in [job] assets may be read; without it the same reference is refused,
    and a missing logo too: both fatal at check (exit 2), naming template and reference."""
    from PIL import Image

    shared = tmp_path.parent / f"{tmp_path.name}-condivisi"
    shared.mkdir()
    Image.new("RGB", (40, 20), "blue").save(shared / "ue.png")
    reference = f"../../{shared.name}/ue.png"
    job = make_job(html=_logo_page(reference))
    refused = CliRunner().invoke(cli, ["check", str(job)])
    assert refused.exit_code == 2
    assert ("attestato.html: 1 error" in refused.stdout
            and f"refused (outside the template's folder, the job's folder and [job] assets): "
                f"{reference}" in refused.stdout)
    assert "list its folder in [job] assets" in refused.stdout
    job = make_job(html=_logo_page(reference), extra_job=f'assets = ["../{shared.name}"]')
    assert CliRunner().invoke(cli, ["check", str(job)]).exit_code == 0
    out = tmp_path / "out"
    assert CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"]).exit_code == 0
    assert _images(out / "DNGNCL80A01I726W/attestato.pdf") == 1
    job = make_job(html=_logo_page("../loghi/manca.png"))
    missing = CliRunner().invoke(cli, ["check", str(job)])
    assert missing.exit_code == 2
    assert "missing file: ../loghi/manca.png" in missing.stdout
    build = CliRunner().invoke(cli, ["build", str(job), "--out", str(tmp_path / "out2")])
    assert build.exit_code == 2 and not (tmp_path / "out2").exists()


def test_reference_from_a_roster_value_fails_that_row(make_job: Callable[..., Path],
                                                      tmp_path: Path) -> None:
    """An image a roster value names outside the allowed folders is refused and fails that
    row's document only; nothing outside is read."""
    from PIL import Image

    Image.new("RGB", (4, 4), "red").save(tmp_path.parent / f"{tmp_path.name}-secret.png")
    rows = [list(r) for r in WORKERS]
    rows[0][7] = f"../../{tmp_path.name}-secret.png"
    html = HTML_TEMPLATE.replace("<h1>", '{% if note %}<img src="{{ note }}">{% endif %}<h1>')
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(make_job(rows=rows, html=html)), "--out",
                                      str(out), "-j", "1"])
    assert result.exit_code == 1
    lines = {(r["row"], r["document"]): r for r in manifest(out)}
    assert lines[("2", "attestato")]["status"] == "failed"
    assert "refused" in lines[("2", "attestato")]["message"]
    assert lines[("4", "attestato")]["status"] == "ok"
