"""The seal as printed: a QR code (segno; level Q) as inline SVG for HTML, as PNG for Word."""

from __future__ import annotations

import io
from dataclasses import dataclass
from html import escape
from typing import Any

import segno
from segno import consts

from docgen.seal.payload import qr_text

ERROR_LEVEL = "q"  # ~25% of the code may be damaged or covered and it still reads
SIZE_MM = 34  # the printed code with its quiet zone; readable by phone cameras from 30 mm up
BORDER = 4  # the quiet zone in modules, as ISO/IEC 18004 asks
_MODES = {"byte": consts.MODE_BYTE, "alphanumeric": consts.MODE_ALPHANUMERIC}
_LABELS = {"it": ("Sigillo elettronico", "Codice documento", "Verifica"),
           "en": ("Electronic seal", "Document code", "Verify at")}


def make_qr(payload: str, url: str | None) -> segno.QRCode:
    segments = [(text, _MODES[mode]) for text, mode in qr_text(payload, url)]
    return segno.make(segments, error=ERROR_LEVEL, boost_error=False, micro=False)


@dataclass(frozen=True)
class SealMark:
    """``{{ seal }}`` in a template: plain data (it travels to worker processes) that prints
    itself as inline SVG plus the document code in HTML, and as an image in Word."""

    payload: str
    code: str  # the document id as printed
    url: str | None = None
    language: str = "it"

    def _labels(self) -> tuple[str, str, str]:
        return _LABELS.get(self.language, _LABELS["en"])

    def __html__(self) -> str:
        """Our own markup (segno's SVG, escaped texts): safe to insert unescaped."""
        svg = make_qr(self.payload, self.url).svg_inline(
            scale=1, border=BORDER, omitsize=True, svgclass="docgen-seal-qr", lineclass=None)
        title, code, verify = self._labels()
        svg = svg.replace("<svg ", f'<svg aria-label="{escape(title)}" '
                          'style="width:100%;height:100%" ', 1)
        where = (f'<div class="docgen-seal-url">{escape(verify)}: {escape(self.url)}</div>'
                 if self.url else "")
        return (f'<div class="docgen-seal" style="display:inline-block;text-align:center;'
                f'font-size:7pt;line-height:1.2">'
                f'<div style="width:{SIZE_MM}mm;height:{SIZE_MM}mm">{svg}</div>'
                f'<div class="docgen-seal-code">{escape(code)}: {escape(self.code)}</div>'
                f"{where}</div>")

    def __str__(self) -> str:
        return self.__html__()

    def png(self) -> bytes:
        """The code as PNG (segno writes it without Pillow), 10 pixels a module."""
        out = io.BytesIO()
        make_qr(self.payload, self.url).save(out, kind="png", scale=10, border=BORDER)
        return out.getvalue()

    def docx_image(self, template: Any) -> Any:
        """An inline image for docxtpl, ``SIZE_MM`` wide (docxtpl needs its DocxTemplate)."""
        from docx.shared import Mm
        from docxtpl import InlineImage

        return InlineImage(template, io.BytesIO(self.png()), width=Mm(SIZE_MM))


def docx_context(template: Any, context: dict[str, Any]) -> dict[str, Any]:
    """A Word document's context with ``{{ seal }}`` as an inline image; the payload also goes
    into the document's identifier property, from where the PDF converted from it gets it."""
    mark = context.get("seal")
    if not isinstance(mark, SealMark):
        return context
    template.init_docx()
    template.docx.core_properties.identifier = mark.payload
    return {**context, "seal": mark.docx_image(template)}
