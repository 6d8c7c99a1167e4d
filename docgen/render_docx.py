"""DOCX template -> DOCX bytes, with docxtpl (through the fast path when the template allows)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from docgen.templating import make_environment, render_each


def _template(data: bytes) -> Any:
    from docxtpl import DocxTemplate

    return DocxTemplate(io.BytesIO(data))


def render_plain(data: bytes, env: Any, context: dict[str, Any]) -> bytes:
    """The straightforward docxtpl route, with the zip rewritten with fixed timestamps so
    the same inputs give the same bytes."""
    from docgen.zipfiles import Member, write_zip

    # docxtpl cannot render one template object twice: a fresh one per document.
    template = _template(data)
    if context.get("seal"):  # {{ seal }} as an inline image, which needs the DocxTemplate
        from docgen.seal.qr import docx_context

        context = docx_context(template, context)
    # docxtpl renders footnotes once per section (a value holding "{{" would be rendered
    # again) and skips endnotes and comments: docgen renders all three, once.
    template.render_footnotes = lambda *args, **kwargs: None
    template.render(context, jinja_env=env, autoescape=True)
    render_notes(template, context, env)
    out = io.BytesIO()
    template.save(out)
    with zipfile.ZipFile(out) as archive:
        return write_zip([Member.deflate(i.filename, archive.read(i.filename))
                          for i in archive.infolist()])


def render_notes(template: Any, context: dict[str, Any], env: Any) -> None:
    """Fill the footnotes, endnotes and comments of a docxtpl template being rendered."""
    from docx.oxml.parser import parse_xml

    from docgen.sources import note_parts

    for _, part in note_parts(template.docx.part.package):
        blob = part.blob.decode("utf-8") if isinstance(part.blob, bytes) else part.blob
        xml = template.render_xml_part(template.patch_xml(blob), part, context, env)
        if hasattr(part, "_element"):  # an XmlPart (comments): written from its element
            part._element = parse_xml(xml.encode("utf-8"))
        else:
            part._blob = xml.encode("utf-8")


class DocxRenderer:
    """One DOCX template, read once; renders a context to a finished .docx."""

    def __init__(self, path: Path, locale: str) -> None:
        from docgen.fastdocx import PreparedDocx, Unsupported

        self.path = path
        self.data = path.read_bytes()
        self.env = make_environment(locale, autoescape=True)
        self.fast: PreparedDocx | None = None
        try:
            self.fast = PreparedDocx(self.data, self.env)
        except Unsupported:
            self.fast = None  # rendered the plain way, document by document

    def render(self, context: dict[str, Any]) -> bytes:
        if self.fast is not None:
            return self.fast.render(context)
        return render_plain(self.data, self.env, context)

    def render_many(self, contexts: list[dict[str, Any]]) -> list[bytes | Exception]:
        """One result per context; a failure is returned in its place."""
        return render_each(self.render, contexts)
