"""The DOCX fast path gives the document docxtpl's plain route gives."""

from __future__ import annotations

import datetime as dt
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest
from docx import Document

from docgen import fastdocx
from docgen.render_docx import DocxRenderer, render_plain
from tests.conftest import write_docx_template
from tests.helpers import docx_text

COURSE = {"code": "GOL-P5-2026", "title": "Operatore", "units": [
    {"code": "UC 1", "title": "Accoglienza & ascolto"},
    {"code": "UC 2", "title": "Gestione <reclami>"},
]}


def _context(**fields: Any) -> dict[str, Any]:
    base = {"nome": "Niccolò", "cognome": "D'Angelo", "codice_fiscale": "DNGNCL80A01I726X",
            "esito_esame": "idoneo", "course": COURSE, "row": 2, "today": dt.date(2026, 6, 15)}
    return base | fields


def _write_rich_template(path: Path) -> Path:
    """Header and footer tags, a {%p if %} paragraph and a tag in the core properties."""
    doc = Document()
    doc.core_properties.title = "Lettera – {{ cognome }}"
    section = doc.sections[0]
    section.header.paragraphs[0].text = "Progetto {{ course.code }}"
    section.footer.paragraphs[0].text = "C.F. {{ codice_fiscale }}"
    doc.add_paragraph("{%p if esito_esame == 'idoneo' %}")
    doc.add_paragraph("Idoneo: {{ nome }}")
    doc.add_paragraph("{%p endif %}")
    doc.add_paragraph("Fine.")
    doc.save(path)
    return path


def _parts(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


@pytest.mark.parametrize("writer", [write_docx_template, _write_rich_template])
@pytest.mark.parametrize("fields", [{}, {"esito_esame": "non idoneo", "nome": "A & <B>"},
                                    {"nome": "Anna\nMaria\tTab"}])
def test_fast_path_gives_docxtpls_xml(tmp_path: Path, writer: Any, fields: dict[str, Any]) -> None:
    """Body, headers and footers are byte for byte the XML docxtpl writes."""
    renderer = DocxRenderer(writer(tmp_path / "t.docx"), "it_IT")
    assert renderer.fast is not None
    context = _context(**fields)
    fast = _parts(renderer.render(context))
    plain = _parts(render_plain(renderer.data, renderer.env, context))
    assert fast.keys() == plain.keys()
    for name in fast:
        if name == "word/document.xml" or name.startswith(("word/header", "word/footer")):
            assert fast[name] == plain[name], name


def test_fast_path_text_as_a_reader_sees_it(tmp_path: Path) -> None:
    """Split tags, typographic quotes in tags, {%tr for %} rows and headers render."""
    renderer = DocxRenderer(write_docx_template(tmp_path / "t.docx"), "it_IT")
    out = tmp_path / "out.docx"
    out.write_bytes(renderer.render(_context()))
    text = docx_text(out)
    assert "Gentile Niccolò D'Angelo, C.F. DNGNCL80A01I726X." in text
    assert "Esito: idoneo." in text
    assert "Accoglienza & ascolto" in text and "Gestione <reclami>" in text
    assert "Progetto GOL-P5-2026" in text
    assert "{{" not in text and "{%" not in text


def test_core_properties_are_rendered(tmp_path: Path) -> None:
    """A tag in the document title is rendered per document, as docxtpl does."""
    renderer = DocxRenderer(_write_rich_template(tmp_path / "t.docx"), "it_IT")
    out = tmp_path / "out.docx"
    out.write_bytes(renderer.render(_context(cognome="Rossi")))
    assert Document(str(out)).core_properties.title == "Lettera – Rossi"


def test_same_inputs_give_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two renders (even by two renderers) are byte-identical: fixed zip timestamps."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    path = _write_rich_template(tmp_path / "t.docx")
    first = DocxRenderer(path, "it_IT").render(_context())
    assert DocxRenderer(path, "it_IT").render(_context()) == first
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1781481600")
    with zipfile.ZipFile(io.BytesIO(DocxRenderer(path, "it_IT").render(_context()))) as archive:
        assert {i.date_time[:3] for i in archive.infolist()} == {(2026, 6, 15)}


def test_unsupported_template_takes_the_plain_route(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """When the fast path refuses a template, documents still render, the plain way."""
    def refuse(document: Any) -> None:
        raise fastdocx.Unsupported("tags in footnotes")

    monkeypatch.setattr(fastdocx, "_refuse_unsupported", refuse)
    renderer = DocxRenderer(write_docx_template(tmp_path / "t.docx"), "it_IT")
    assert renderer.fast is None
    out = tmp_path / "out.docx"
    out.write_bytes(renderer.render(_context()))
    assert "Gentile Niccolò D'Angelo" in docx_text(out)


def test_failing_context_fails_alone(tmp_path: Path) -> None:
    """A context missing a field gives its exception in place; the others render."""
    renderer = DocxRenderer(write_docx_template(tmp_path / "t.docx"), "it_IT")
    broken = _context()
    del broken["cognome"]
    results = renderer.render_many([_context(), broken, _context(nome="Giulia")])
    assert isinstance(results[0], bytes) and isinstance(results[2], bytes)
    assert isinstance(results[1], Exception) and "cognome" in str(results[1])


def test_notes_and_comments_match_the_plain_route(tmp_path: Path) -> None:
    """Footnotes and endnotes (a Writer-made document) and comments (python-docx) come out of
    the fast path as from the plain route, filled once, values escaped."""
    from tests.test_sources import OFFICE, _rich_letter

    context = _context(nome="A & <B>", sede="Siena", ore_frequentate=3, matricola="M-1")
    for template, members in ((OFFICE / "lettera_nota.docx", ("word/footnotes.xml",
                                                             "word/endnotes.xml")),
                              (_rich_letter(tmp_path / "r.docx"), ("word/comments.xml",))):
        renderer = DocxRenderer(template, "it_IT")
        assert renderer.fast is not None
        fast = _parts(renderer.render(context))
        plain = _parts(render_plain(renderer.data, renderer.env, context))
        for member in (*members, "word/document.xml"):
            assert fast[member] == plain[member], member
            assert b"{{" not in fast[member]
    assert b"Verificato per D'Angelo" in fast["word/comments.xml"]


def _write_sealed_template(path: Path) -> Path:
    doc = Document()
    doc.add_paragraph("Lettera per {{ nome }}")
    doc.add_paragraph("{{ seal }}")
    doc.save(path)
    return path


def test_a_sealed_letter_on_the_fast_path_is_docxtpls(tmp_path: Path) -> None:
    """The seal's image and caption give docxtpl's body XML (but for the image's relationship
    id and its file name, which the fast path fixes), and a newline in a value still becomes a line break."""
    import re

    from docgen.seal.qr import SealMark

    renderer = DocxRenderer(_write_sealed_template(tmp_path / "t.docx"), "it_IT")
    assert renderer.fast is not None
    context = _context(nome="Anna\nMaria", seal=SealMark(payload="DG1:ABC123", code="1234-5678"))
    fast = _parts(renderer.render(context))["word/document.xml"]
    plain = _parts(render_plain(renderer.data, renderer.env, context))["word/document.xml"]
    plain = re.sub(rb'r:embed="rId\d+"', b'r:embed="rIdDocgenSeal"', plain)
    assert plain.replace(b'name="image.png"', b'name="docgen-seal.png"') == fast
    assert b"<w:br/>" in fast
