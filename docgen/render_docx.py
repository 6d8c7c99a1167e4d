"""DOCX template -> DOCX bytes, with docxtpl."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from docgen.errors import TemplateError
from docgen.templating import make_environment


def _template(data: bytes) -> Any:
    from docxtpl import DocxTemplate

    return DocxTemplate(io.BytesIO(data))


def docx_source(path: Path) -> str:
    """The Jinja source docxtpl will render: body, headers and footers, after its repairs
    (tags split across Word runs joined, typographic quotes inside tags straightened)."""
    try:
        template = _template(path.read_bytes())
        template.init_docx()
    except Exception as err:  # python-docx raises several kinds for a file that is not a .docx
        raise TemplateError(
            f"cannot open as a Word document ({type(err).__name__})", file=path.name,
            hint="save it again from Word or LibreOffice as .docx",
        ) from err
    parts = [template.patch_xml(template.get_xml())]
    for uri in (template.HEADER_URI, template.FOOTER_URI):
        for _, part in template.get_headers_footers(uri):
            parts.append(template.patch_xml(template.get_part_xml(part)))
    return "\n".join(parts)


class DocxRenderer:
    """One DOCX template, read once; renders a context to a finished .docx."""

    def __init__(self, path: Path, locale: str) -> None:
        self.path = path
        self.data = path.read_bytes()
        self.env = make_environment(locale, autoescape=True)

    def render(self, context: dict[str, Any]) -> bytes:
        # docxtpl cannot render one template object twice: a fresh one per document.
        template = _template(self.data)
        template.render(context, jinja_env=self.env, autoescape=True)
        out = io.BytesIO()
        template.save(out)
        return out.getvalue()

    def render_many(self, contexts: list[dict[str, Any]]) -> list[bytes | Exception]:
        """One result per context; a failure is returned in its place."""
        results: list[bytes | Exception] = []
        for context in contexts:
            try:
                results.append(self.render(context))
            except Exception as err:  # one row's failure must not stop the others
                results.append(err)
        return results
