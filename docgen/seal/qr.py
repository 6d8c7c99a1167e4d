"""The seal as printed: a QR code (level Q) as a PNG image, in HTML and in Word alike.

Encoded with zxing-cpp (zint's encoder, in C++; docgen verify reads the codes back with the
same library): about 1 ms a code against segno's 12 ms of pure Python, most of which went
on choosing the mask. zint picks the segment modes itself (the payload's Base45 goes in
alphanumeric mode) and the mask as ISO/IEC 18004 describes.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from functools import cached_property
from html import escape
from typing import Any

from docgen.seal.payload import qr_text

ERROR_LEVEL = "Q"  # ~25% of the code may be damaged or covered and it still reads
SIZE_MM = 30  # the printed code with its quiet zone: the smallest size phone cameras read well
MODULE_MM = 0.41  # a larger code (a URL in it) grows instead of its modules shrinking
BORDER = 4  # the quiet zone in modules, as ISO/IEC 18004 asks (zint adds exactly this)
WORD_PIXELS = 5  # pixels a module in Word, which smooths images: sharp at the printed size
HTML_PIXELS = 2  # in PDFs the image is drawn unsmoothed (/Interpolate false), so 2 suffice
_LABELS = {"it": ("Sigillo elettronico", "Codice documento", "Verifica"),
           "en": ("Electronic seal", "Document code", "Verify at")}


@dataclass(frozen=True)
class QrCode:
    """An encoded QR code: its version, error level, and its modules (quiet zone included)
    as 8-bit grey rows, 0 dark and 255 light."""

    version: int
    error: str
    modules: int  # modules a side, with the quiet zone
    grey: bytes

    def png(self, pixels: int, *, bilevel: bool) -> bytes:
        """The code as PNG, ``pixels`` a module; ``bilevel``: 1 bit a pixel (Word), else 8-bit
        grey (WeasyPrint turns a 1-bit image into RGB before compressing it again)."""
        from PIL import Image

        picture = Image.frombytes("L", (self.modules, self.modules), self.grey)
        size = self.modules * pixels
        picture = picture.resize((size, size), Image.Resampling.NEAREST)
        if bilevel:
            picture = picture.convert("1", dither=Image.Dither.NONE)
        out = io.BytesIO()
        picture.save(out, "PNG")
        return out.getvalue()


def make_qr(payload: str, url: str | None) -> QrCode:
    import zxingcpp

    text = "".join(part for part, _ in qr_text(payload, url))
    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ERROR_LEVEL)
    bare = code.to_image(scale=1, add_quiet_zones=False).shape[0]
    image = code.to_image(scale=1, add_quiet_zones=True)
    return QrCode(version=(bare - 17) // 4, error=str(code.ec_level), modules=image.shape[0],
                  grey=memoryview(image).tobytes())


def size_mm(code: QrCode) -> float:
    """The printed width: 30 mm, or more when the code has so many modules that they would
    be smaller than ``MODULE_MM``."""
    return max(SIZE_MM, round(code.modules * MODULE_MM, 1))


@dataclass(frozen=True)
class SealMark:
    """``{{ seal }}`` in a template: plain data (it travels to worker processes) that prints
    itself as an image plus the document code in HTML, and as an image in Word."""

    payload: str
    code: str  # the document id as printed
    url: str | None = None
    language: str = "it"

    @cached_property
    def _qr(self) -> QrCode:
        """The QR code, encoded once per document; private, so a template (sandboxed) cannot
        reach it."""
        return make_qr(self.payload, self.url)

    def _labels(self) -> tuple[str, str, str]:
        return _LABELS.get(self.language, _LABELS["en"])

    def __html__(self) -> str:
        """Our own markup (a data: URI, escaped texts): safe to insert unescaped. A PNG rather
        than SVG: WeasyPrint draws a few hundred SVG rectangles far slower than one image."""
        code = self._qr
        size = size_mm(code)
        title, label, verify = self._labels()
        png = code.png(HTML_PIXELS, bilevel=False)
        source = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        where = (f'<div class="docgen-seal-url">{escape(verify)}: {escape(self.url)}</div>'
                 if self.url else "")
        return (f'<div class="docgen-seal" style="display:inline-block;text-align:center;'
                f'font-size:7pt;line-height:1.2">'
                f'<img class="docgen-seal-qr" src="{source}" alt="{escape(title)}" '
                f'style="display:block;width:{size}mm;height:{size}mm;'
                f'image-rendering:pixelated">'
                f'<div class="docgen-seal-code">{escape(label)}: {escape(self.code)}</div>'
                f"{where}</div>")

    def __str__(self) -> str:
        return self.__html__()

    def png(self) -> bytes:
        """The code as Word shows it."""
        return self._qr.png(WORD_PIXELS, bilevel=True)

    def docx_image(self, template: Any) -> Any:
        """An inline image for docxtpl, ``SIZE_MM`` wide, with the document code on the line
        below (docxtpl needs its DocxTemplate to add the image to the document)."""
        from docx.shared import Mm
        from docxtpl import InlineImage

        caption = self.caption_xml()

        class SealImage(InlineImage):  # type: ignore[misc]
            def _insert_image(self) -> str:
                return str(super()._insert_image()) + caption

        return SealImage(template, io.BytesIO(self.png()), width=Mm(self.width_mm()))

    def width_mm(self) -> float:
        return size_mm(self._qr)

    def caption_xml(self) -> str:
        """Word markup after the image: docxtpl's markup ends inside an open <w:t>, so a line
        break, then the document code."""
        caption = f"{self._labels()[1]}: {self.code}"
        return ('</w:t></w:r><w:r><w:rPr><w:color w:val="5C6F82"/><w:sz w:val="15"/></w:rPr>'
                f'<w:br/><w:t xml:space="preserve">{escape(caption)}')

    def word_xml(self, rid: str) -> str:
        """The image (relationship ``rid``) and its caption as Word markup, the same docxtpl's
        InlineImage gives, for the fast path that adds the image part itself."""
        from docx.oxml.shape import CT_Inline
        from docx.shared import Mm

        size = Mm(self.width_mm())
        pic = CT_Inline.new_pic_inline(1, rid, "docgen-seal.png", size, size).xml
        return (f'</w:t></w:r><w:r><w:drawing>{pic}</w:drawing></w:r><w:r>'
                f'<w:t xml:space="preserve">{self.caption_xml()}')


def docx_context(template: Any, context: dict[str, Any]) -> dict[str, Any]:
    """A Word document's context with ``{{ seal }}`` as an inline image; the payload also goes
    into the document's identifier property, from where the PDF converted from it gets it."""
    mark = context.get("seal")
    if not isinstance(mark, SealMark):
        return context
    template.init_docx()
    render_properties = template.render_properties

    def with_identifier(*args: Any, **kwargs: Any) -> None:
        render_properties(*args, **kwargs)
        # Set on the element: python-docx refuses texts over 255 characters in its setter.
        core = template.docx.core_properties._element
        core.get_or_add_identifier().text = mark.payload

    template.render_properties = with_identifier  # after docxtpl renders the properties
    return {**context, "seal": mark.docx_image(template)}
