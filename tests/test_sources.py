"""Templates as Jinja sources (sources.py): every part of a Word document is read by check
and filled by build; syntax errors are all reported, each at its part and paragraph."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from docx import Document
from docx.oxml.parser import parse_xml

from docgen.cli import cli
from tests.conftest import HEADER, WORKERS
from tests.helpers import manifest

OFFICE = Path(__file__).parent / "data" / "office-templates"
LETTER = """
    [[document]]
    name = "lettera"
    template = "templates/lettera.docx"
"""


def _invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def _part_text(docx: Path, member: str) -> str:
    """The text of one part of a Word document, as Word shows it."""
    with zipfile.ZipFile(docx) as archive:
        xml = archive.read(member).decode("utf-8")
    return re.sub(r"<[^>]+>", "", xml)


def _writer_letter(tmp_path: Path) -> None:
    (tmp_path / "templates").mkdir(exist_ok=True)
    shutil.copy(OFFICE / "lettera_nota.docx", tmp_path / "templates/lettera.docx")


def test_field_only_in_a_writer_footnote_is_checked(make_job: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    """A field used only in a footnote of a LibreOffice Writer document is listed by fields
    and demanded by check (exit 2, nothing built)."""
    _writer_letter(tmp_path)
    job = make_job(documents=LETTER)
    fields = _invoke("fields", str(tmp_path / "templates/lettera.docx"))
    assert "matricola" in fields.stdout.splitlines()
    assert "course.code" in fields.stdout.splitlines()  # read in the endnote
    result = _invoke("check", str(job))
    assert result.exit_code == 2
    assert "lettera.docx: 1 error" in result.stdout
    assert "the template uses the field 'matricola', but no column of roster.xlsx gives it" \
        in result.stdout
    build = _invoke("build", str(job), "--out", str(tmp_path / "out"))
    assert build.exit_code == 2 and not (tmp_path / "out").exists()


def test_writer_footnote_and_endnote_are_filled(make_job: Callable[..., Path],
                                                tmp_path: Path) -> None:
    """Build fills the footnote and the endnote of the Writer document; a value that looks
    like a tag prints as written."""
    _writer_letter(tmp_path)
    rows = [[*r, f"M-{n}"] for n, r in enumerate(WORKERS)]
    rows[1][-1] = "{{ 7*7 }}"
    job = make_job(documents=LETTER, header=[*HEADER, "Matricola"], rows=rows)
    out = tmp_path / "out"
    result = _invoke("build", str(job), "--out", str(out), "-j", "1")
    assert result.exit_code == 0, result.stderr
    lines = {line["row"]: line for line in manifest(out) if line["document"] == "lettera"}
    first = out / lines["2"]["path"]
    assert "Matricola del corso: M-0." in _part_text(first, "word/footnotes.xml")
    assert "Progetto GOL-P5-2026." in _part_text(first, "word/endnotes.xml")
    assert "{{" not in _part_text(first, "word/footnotes.xml").replace("{{ 7*7 }}", "")
    second = out / lines["3"]["path"]
    assert "Matricola del corso: {{ 7*7 }}." in _part_text(second, "word/footnotes.xml")


def _rich_letter(path: Path) -> Path:
    """python-docx: a text box, a second section with its own header, and a comment, each
    with a field no other part uses."""
    doc = Document()
    doc.add_paragraph("Gentile {{ nome }},")
    box = doc.add_paragraph()
    box._p.append(parse_xml(
        '<w:r xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" '
        'xmlns:v="urn:schemas-microsoft-com:vml"><w:pict><v:shape style="width:200pt;'
        'height:40pt"><v:textbox><w:txbxContent><w:p><w:r><w:t>Sede: {{ sede }}</w:t>'
        '</w:r></w:p></w:txbxContent></v:textbox></v:shape></w:pict></w:r>'))
    run = doc.add_paragraph("Esito ").add_run("{{ esito_esame }}")
    doc.add_comment(runs=[run], text="Verificato per {{ cognome }}", author="Segreteria")
    section = doc.add_section()
    section.header.is_linked_to_previous = False
    section.header.paragraphs[0].text = "Ore: {{ ore_frequentate }}"
    doc.add_paragraph("Seconda sezione.")
    doc.save(str(path))
    return path


def test_text_box_second_header_and_comment(make_job: Callable[..., Path],
                                            tmp_path: Path) -> None:
    """Fields in a text box, in the header of a second section and in a comment are listed,
    checked (a typo there is fatal) and filled."""
    (tmp_path / "templates").mkdir(exist_ok=True)
    template = _rich_letter(tmp_path / "templates/lettera.docx")
    fields = _invoke("fields", str(template)).stdout.splitlines()
    assert fields == ["cognome", "esito_esame", "nome", "ore_frequentate", "sede"]
    job = make_job(documents=LETTER)
    out = tmp_path / "out"
    result = _invoke("build", str(job), "--out", str(out), "-j", "1")
    assert result.exit_code == 0, result.stderr
    line = next(r for r in manifest(out) if r["document"] == "lettera" and r["row"] == "2")
    document = out / line["path"]
    assert "Sede: Monteriggioni (SI)" in _part_text(document, "word/document.xml")
    assert "Verificato per D'Angelo" in _part_text(document, "word/comments.xml")
    assert Document(str(document)).sections[1].header.paragraphs[0].text == "Ore: 110"
    # The same letter with a typo in the second section's header: fatal at check.
    with zipfile.ZipFile(template) as archive:
        parts = {i.filename: archive.read(i.filename) for i in archive.infolist()}
    header = next(n for n, d in parts.items() if b"ore_frequentate" in d and "header" in n)
    parts[header] = parts[header].replace(b"ore_frequentate", b"ore_frequentat")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in parts.items():
            archive.writestr(name, data)
    template.write_bytes(buffer.getvalue())
    check = _invoke("check", str(job))
    assert check.exit_code == 2
    assert "the field 'ore_frequentat'" in check.stdout
    assert "did you mean 'ore_frequentate'?" in check.stdout


def test_every_syntax_error_is_placed(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Several syntax errors in one Word template are all reported, each with its part and
    paragraph (an unclosed {{ runs into the next paragraph, as docxtpl joins them)."""
    (tmp_path / "templates").mkdir(exist_ok=True)
    doc = Document()
    doc.add_paragraph("Gentile {{ nome }")
    doc.add_paragraph("Corretto {{ cognome }}.")
    doc.add_paragraph("Sede {{ sede | }}")
    doc.sections[0].footer.paragraphs[0].text = "Pagina {% if %}"
    doc.save(str(tmp_path / "templates/lettera.docx"))
    job = make_job(documents=LETTER)
    result = _invoke("check", str(job))
    assert result.exit_code == 2
    assert "lettera.docx: 3 errors" in result.stdout
    assert ("paragraph “Gentile {{ nome }Corretto {{ cognome }}.”: template syntax error: "
            "unexpected '}'") in result.stdout
    assert "fix: close every {{ with }} and every {% with %}." in result.stdout
    assert "paragraph “Sede {{ sede | }}”: template syntax error" in result.stdout
    assert "footer, paragraph “Pagina {% if %}”: template syntax error" in result.stdout
    assert "the tag lacks a name or an expression" in result.stdout


def test_unknown_filter_lists_the_filters_that_exist(make_job: Callable[..., Path],
                                                     tmp_path: Path) -> None:
    """An unknown filter is fatal at check, placed on its line, with the filters that exist
    (closest first); the template's other errors (a course typo) are reported with it."""
    html = ("<html><body>\n<p>{{ data_di_nascita | data('long') }}</p>\n"
            "<p>{{ ore_frequentate | numbr }}</p>\n<p>{% if nome is nonempty %}x{% endif %}</p>"
            "\n<p>{{ course.titel }}</p></body></html>")
    job = make_job(html=html)
    result = _invoke("check", str(job))
    assert result.exit_code == 2
    assert "line 2  unknown filter 'data'" in result.stdout
    assert "fix: the filters that exist, closest first: date," in result.stdout
    assert "line 3  unknown filter 'numbr'" in result.stdout
    assert "the filters that exist, closest first: number," in result.stdout
    assert "unknown test 'nonempty'" in result.stdout
    assert "every {{ needs" not in result.stdout
    assert "reads course.titel, but [course] has no 'titel'" in result.stdout  # found too
