"""Template problems (lint.py, sources.py): Word damage found and repaired, syntax errors placed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from docx import Document

from docgen.cli import cli
from docgen.lint import word_damage
from tests.helpers import docx_text


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
