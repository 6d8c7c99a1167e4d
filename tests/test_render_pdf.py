"""PDF renderer: same output as WeasyPrint's straightforward route, failures kept, metadata."""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from PIL import Image
from pypdf import PdfReader

from docgen import render_pdf
from docgen.errors import RenderError
from docgen.render_pdf import FolderFetcher, PdfRenderer, Rendered, subsetting_backend

PAGE = """\
<!doctype html>
<html lang="it"><head><meta charset="utf-8"><title>Attestato – {{ cognome }}</title>
<link rel="stylesheet" href="style.css">
<style>h1 { font-weight: bold } .nota { font-style: italic }</style>
</head><body>
<img src="{{ logo }}" alt="">
<h1>ATTESTATO</h1>
<p>Si attesta che {{ nome }} {{ cognome }} ha frequentato il corso.</p>
{% for n in range(paragraphs) %}<p class="nota">Paragrafo {{ n }}: {{ nome }}.</p>{% endfor %}
</body></html>
"""
STYLE = '@page { size: A5; margin: 1cm } body { font-family: "DejaVu Sans", sans-serif }\n'


def _template(folder: Path, style: str = STYLE) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "style.css").write_text(style, encoding="utf-8")
    Image.new("RGB", (40, 20), "navy").save(folder / "logo.png")
    (folder / "page.html").write_text(PAGE, encoding="utf-8")
    return folder / "page.html"


def _context(**fields: Any) -> dict[str, Any]:
    return {"nome": "Niccolò", "cognome": "D'Angelo", "logo": "logo.png", "paragraphs": 2} | fields


def _seen(pdf: bytes) -> tuple[list[str], int, list[tuple[float, ...]], list[str]]:
    """Text per page, page count, page sizes and embedded font names (subset prefix dropped)."""
    reader = PdfReader(io.BytesIO(pdf))
    fonts = set()
    for page in reader.pages:
        for font in page["/Resources"].get("/Font", {}).values():
            fonts.add(str(font.get_object()["/BaseFont"]).split("+")[-1])
    return ([p.extract_text() for p in reader.pages], len(reader.pages),
            [tuple(float(x) for x in p.mediabox) for p in reader.pages], sorted(fonts))


def _straightforward(renderer: PdfRenderer, context: dict[str, Any]) -> bytes:
    import weasyprint

    html = renderer.template.render(context)
    return bytes(weasyprint.HTML(string=html, base_url=renderer.base_url,
                                 url_fetcher=FolderFetcher(renderer.folder)).write_pdf())


def test_same_text_pages_size_and_fonts_as_the_straightforward_route(tmp_path: Path) -> None:
    """Reused fonts, stylesheets and images change nothing a reader sees, over many rows."""
    renderer = PdfRenderer(_template(tmp_path / "t"), "it_IT", pdf_variant=None)
    contexts = [_context(), _context(nome="Giulia", paragraphs=40), _context(cognome="Lucà")]
    results = renderer.render_many(contexts)
    for context, result in zip(contexts, results, strict=True):
        assert isinstance(result, bytes)
        assert _seen(result) == _seen(_straightforward(renderer, context))
    assert _seen(results[1])[1] > 1  # the long one spans pages
    assert _seen(results[0])[2][0] == pytest.approx((0, 0, 419.53, 595.28), abs=0.1)  # A5


def test_missing_image_fails_every_document(tmp_path: Path) -> None:
    """WeasyPrint caches a missing image; every document using it must still fail."""
    renderer = PdfRenderer(_template(tmp_path / "t"), "it_IT")
    results = renderer.render_many([_context(logo="nope.png"), _context(),
                                    _context(logo="nope.png")])
    assert isinstance(results[0], RenderError) and "nope.png" in str(results[0])
    assert isinstance(results[1], bytes)
    assert isinstance(results[2], RenderError)


def test_file_outside_the_template_folder_is_refused(tmp_path: Path) -> None:
    """A roster value cannot make WeasyPrint read files outside the allowed folders: the
    refusal fails that document (never a certificate without its image); a folder given as
    allowed is read."""
    Image.new("RGB", (4, 4), "red").save(tmp_path / "secret.png")
    renderer = PdfRenderer(_template(tmp_path / "t"), "it_IT")
    result = renderer.render_many([_context(logo="../secret.png")])[0]
    assert isinstance(result, RenderError), result
    assert "refused" in str(result) and "secret.png" in str(result)
    allowed = PdfRenderer(_template(tmp_path / "u"), "it_IT", folders=(tmp_path,))
    result = allowed.render_many([_context(logo="../secret.png")])[0]
    assert isinstance(result, Rendered), result
    page = PdfReader(io.BytesIO(result)).pages[0]
    assert len(page.images) == 1


def test_stylesheet_errors_fail_every_document(tmp_path: Path) -> None:
    """A stylesheet parsed once still fails each document whose CSS import is missing."""
    renderer = PdfRenderer(_template(tmp_path / "t", '@import url("gone.css");\n' + STYLE),
                           "it_IT")
    results = renderer.render_many([_context(), _context()])
    assert all(isinstance(r, RenderError) and "gone.css" in str(r) for r in results)


def test_same_inputs_give_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two renders by two renderers are byte-identical, PDF/A identifier included."""
    monkeypatch.delenv("SOURCE_DATE_EPOCH", raising=False)
    path = _template(tmp_path / "t")
    first = PdfRenderer(path, "it_IT", pdf_variant="pdf/a-3u").render(_context())
    assert PdfRenderer(path, "it_IT", pdf_variant="pdf/a-3u").render(_context()) == first


def test_metadata_dates_and_pdfa_markers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Job metadata (rendered per row) overrides the HTML's; dates from SOURCE_DATE_EPOCH."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1781481600")  # 2026-06-15
    renderer = PdfRenderer(_template(tmp_path / "t"), "it_IT", pdf_variant="pdf/a-3u", metadata={
        "title": "Attestato di {{ nome }} {{ cognome }}", "author": "Formazione Valdelsa",
        "subject": "Frequenza", "keywords": "GOL, attestato", "lang": "it-IT",
        "identifier": "GOL-{{ cognome }}"})
    reader = PdfReader(io.BytesIO(renderer.render(_context())))
    info = reader.metadata
    assert info is not None
    assert info.title == "Attestato di Niccolò D'Angelo"
    assert info.author == "Formazione Valdelsa" and info.subject == "Frequenza"
    assert info["/Keywords"] == "GOL, attestato"
    assert info["/CreationDate"].startswith("D:20260615")
    assert reader.trailer["/Root"]["/Lang"] == "it-IT"
    assert reader.trailer["/ID"][0] == "GOL-D'Angelo"
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data()
    assert b'pdfaid:part="3"' in xmp and b'pdfaid:conformance="U"' in xmp
    assert reader.trailer["/Root"]["/OutputIntents"][0]["/S"] == "/GTS_PDFA1"


def test_plain_pdf_has_no_pdfa_marker(tmp_path: Path) -> None:
    """pdf_variant None gives a plain PDF; the HTML <title> is the title."""
    reader = PdfReader(io.BytesIO(PdfRenderer(_template(tmp_path / "t"), "it_IT")
                                  .render(_context())))
    assert "/Metadata" not in reader.trailer["/Root"]
    assert reader.metadata is not None and reader.metadata.title == "Attestato – D'Angelo"


def test_bad_options_are_refused(tmp_path: Path) -> None:
    """Unknown metadata keys and PDF variants are errors, not silently ignored."""
    path = _template(tmp_path / "t")
    with pytest.raises(ValueError, match="colour"):
        PdfRenderer(path, "it_IT", metadata={"colour": "blue"})
    with pytest.raises(ValueError, match="pdf/z"):
        PdfRenderer(path, "it_IT", pdf_variant="pdf/z")


def test_subsetting_backend_and_warning(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """HarfBuzz subsetting is installed here; without it docgen warns."""
    assert subsetting_backend() == "harfbuzz"
    monkeypatch.setattr(render_pdf, "subsetting_backend", lambda: "fonttools")
    with pytest.warns(render_pdf.SubsettingWarning, match="libharfbuzz-subset0"):
        PdfRenderer(_template(tmp_path / "t"), "it_IT")


@pytest.mark.parametrize("args", [["--help"], ["check", "JOB"]])
def test_help_and_check_do_not_import_weasyprint(make_job: Any, args: list[str]) -> None:
    """Start-up stays short: WeasyPrint is imported only to render."""
    args = [str(make_job()) if a == "JOB" else a for a in args]
    code = ("import atexit, sys\n"
            "atexit.register(lambda: print('weasyprint' in sys.modules, file=sys.stderr))\n"
            f"sys.argv = ['docgen', *{args!r}]\n"
            "from docgen.cli import main\nmain()\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stderr.strip().splitlines()[-1] == "False", result.stderr
