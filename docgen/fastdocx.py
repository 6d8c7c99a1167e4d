"""DOCX fast path: a Word template prepared once, then per document only its XML rendered.

docxtpl re-opens the template, re-parses every part and re-runs its regex repairs
(``patch_xml``) on every document; that is most of its cost. Here the template is opened
once with docxtpl itself, its repaired body, headers and footers are compiled to Jinja
templates once, and every unchanged zip member is kept compressed. A document then costs a
Jinja render of each part, docxtpl's own post-processing of the result (``\\n<w:p``
handling, ``{_{`` escapes, ``resolve_listing``, ``fix_tables``, the ``docPr`` ids) and a
zip write: the same XML ``DocxTemplate.render`` gives.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from typing import Any

from lxml import etree

from docgen.sources import note_parts
from docgen.zipfiles import Member, write_zip

_PARAGRAPH = re.compile(r"<w:p([ >])")
_MARKED_PARAGRAPH = re.compile(r"\n<w:p([ >])")
_JINJA_MARK = re.compile(r"\{[{%#]|[}%#]\}")
_CORE_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")
_DOCPR = "{http://schemas.openxmlformats.org/drawingml/2006/wordprocessingDrawing}docPr"


# What resolve_listing changes: a tab, newline, \a or \f in a run's text (a self-closing
# <w:t/> lets its pattern run on into the next text, so it also takes that route). Newlines
# elsewhere (the seal's drawing markup is indented) leave its output as it was.
_LISTING = re.compile(r"<w:t(?: [^>]*)?>[^<]*[\t\n\a\f]|<w:t(?: [^>]*)?/>")
# {{ seal }}: one image part and relationship added to the template once, its PNG per document.
_SEAL_RID = "rIdDocgenSeal"
_SEAL_MEDIA = "word/media/docgen-seal.png"
_IMAGE_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/image"


class Unsupported(Exception):
    """The template uses something only the plain docxtpl route handles."""


@dataclass
class _Part:
    """A header, footer, footnotes, endnotes or comments part: its member name and compiled
    template; ``reparse``: written back through python-docx's parser, as docxtpl does."""

    name: str
    template: Any
    reparse: bool = True


class PreparedDocx:
    """One template, patched and compiled once; ``render`` gives one document's bytes."""

    def __init__(self, data: bytes, env: Any) -> None:
        from docx.oxml.parser import parse_xml
        from docxtpl import DocxTemplate

        self._parse = parse_xml
        self._tpl = DocxTemplate(io.BytesIO(data))
        self._tpl.init_docx()
        document = self._tpl.docx
        _refuse_unsupported(document)
        self.env = env
        # docxtpl sets autoescape on the environment it is given; so do we.
        env.autoescape = True
        self._root = document.element
        self._document_name = str(document.part.partname).lstrip("/")
        self._body = env.from_string(self._marked(self._tpl.get_xml()))
        self._parts: list[_Part] = []
        for uri in (self._tpl.HEADER_URI, self._tpl.FOOTER_URI):
            for _, part in self._tpl.get_headers_footers(uri):
                source = self._marked(self._tpl.get_part_xml(part))
                self._parts.append(_Part(str(part.partname).lstrip("/"),
                                         env.from_string(source)))
        for _, part in note_parts(document.part.package):
            blob = part.blob.decode("utf-8") if isinstance(part.blob, bytes) else part.blob
            # Footnotes and endnotes are plain parts (their text written as rendered);
            # comments are parsed by python-docx, which writes them back from the tree.
            self._parts.append(_Part(str(part.partname).lstrip("/"),
                                     env.from_string(self._marked(blob)),
                                     reparse=hasattr(part, "_element")))
        self._core, self._core_name, self._core_templates = _core_properties(document, env)
        self._core_part = _core_part(document)
        self._data = data
        self._sealed: list[Member | str] | None = None  # members with the seal's image part
        rendered = {self._document_name, *(p.name for p in self._parts)}
        if self._core_templates:
            rendered.add(self._core_name)
        self._members: list[Member | str] = []
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for info in archive.infolist():
                if info.filename in rendered:
                    self._members.append(info.filename)
                else:
                    self._members.append(Member.deflate(info.filename,
                                                        archive.read(info.filename)))

    def _marked(self, xml: str) -> str:
        """docxtpl's repairs, then the line break it puts before each paragraph while
        rendering (so Jinja error line numbers point at paragraphs)."""
        return _PARAGRAPH.sub(r"\n<w:p\1", self._tpl.patch_xml(xml))

    def _finish(self, xml: str) -> str:
        """What ``DocxTemplate.render_xml_part`` does to Jinja's output."""
        xml = _MARKED_PARAGRAPH.sub(r"<w:p\1", xml)
        xml = (xml.replace("{_{", "{{").replace("}_}", "}}")
               .replace("{_%", "{%").replace("%_}", "%}"))
        # resolve_listing only turns tabs, newlines, \a and \f inside text into Word markup;
        # without any of them its dozens of regular expressions per paragraph change nothing.
        if not _LISTING.search(xml):
            return xml
        return str(self._tpl.resolve_listing(xml))

    def render(self, context: dict[str, Any]) -> bytes:
        from markupsafe import Markup

        from docgen.seal.qr import SealMark

        mark = context.get("seal")
        if isinstance(mark, SealMark):
            context = {**context, "seal": Markup(mark.word_xml(_SEAL_RID))}
        parts = {self._document_name: self._render_body(context)}
        for part in self._parts:
            xml = self._finish(part.template.render(context))
            # docxtpl re-parses the rendered part with python-docx, which drops blank text.
            parts[part.name] = (_serialize(self._parse(xml.encode("utf-8"))) if part.reparse
                                else xml.encode("utf-8"))
        if self._core_templates:
            for name, template in self._core_templates.items():
                setattr(self._core, name, template.render(context))
            parts[self._core_name] = _serialize(self._core._element)
        if not isinstance(mark, SealMark):
            return write_zip([Member.deflate(m, parts[m]) if isinstance(m, str) else m
                              for m in self._members])
        # The payload in the identifier property (the converted PDF's XMP takes it from
        # there), set on the element: python-docx refuses texts over 255 characters.
        core_name, core = self._core_part
        core.get_or_add_identifier().text = mark.payload
        parts[core_name] = _serialize(core)
        parts[_SEAL_MEDIA] = mark.png()
        members = []
        for member in self._seal_members():
            name = member if isinstance(member, str) else member.name.decode("utf-8")
            members.append(Member.deflate(name, parts[name]) if name in parts else member)
        return write_zip(members)

    def _seal_members(self) -> list[Member | str]:
        """The template's members with the seal's image relationship and part added (once)."""
        if self._sealed is None:
            rels_name = "word/_rels/" + self._document_name.rsplit("/", 1)[-1] + ".rels"
            with zipfile.ZipFile(io.BytesIO(self._data)) as archive:
                rels = archive.read(rels_name).decode("utf-8")
                types = archive.read("[Content_Types].xml").decode("utf-8")
            rels = rels.replace("</Relationships>", f'<Relationship Id="{_SEAL_RID}" '
                                f'Type="{_IMAGE_REL}" Target="media/docgen-seal.png"/>'
                                "</Relationships>")
            if 'Extension="png"' not in types:
                types = types.replace("<Default ", '<Default Extension="png" '
                                      'ContentType="image/png"/><Default ', 1)
            fixed = {rels_name: rels.encode("utf-8"), "[Content_Types].xml": types.encode("utf-8")}
            core_name = self._core_part[0]
            members: list[Member | str] = []
            for member in self._members:
                name = member if isinstance(member, str) else member.name.decode("utf-8")
                if name in fixed:
                    members.append(Member.deflate(name, fixed[name]))
                elif name == core_name:
                    members.append(name)
                else:
                    members.append(member)
            self._sealed = [*members, _SEAL_MEDIA]
        return self._sealed

    def _render_body(self, context: dict[str, Any]) -> bytes:
        tree = self._tpl.fix_tables(self._finish(self._body.render(context)))
        # docxtpl renumbers drawing ids from 1001 in every document, to avoid collisions.
        for number, element in enumerate(tree.iter(_DOCPR), start=1001):
            element.attrib["id"] = str(number)
        self._root.replace(self._root.body, tree)
        return _serialize(self._root)


def _serialize(element: Any) -> bytes:
    """As python-docx writes an XML part."""
    return bytes(etree.tostring(element, encoding="UTF-8", standalone=True))


def _refuse_unsupported(document: Any) -> None:
    """Notes in another encoding than UTF-8 (rare, and only docxtpl's own decoding knows
    them) take the plain route."""
    for _, part in note_parts(document.part.package):
        if isinstance(part.blob, bytes):
            try:
                part.blob.decode("utf-8")
            except UnicodeDecodeError:
                raise Unsupported("notes not in UTF-8") from None


def _core_part(document: Any) -> tuple[str, Any]:
    """The core properties part's member name and element (a sealed document sets its
    identifier)."""
    package = document.part.package
    part = next(rel.target_part for rel in package.rels.values()
                if rel.reltype.endswith("/core-properties"))
    return str(part.partname).lstrip("/"), part.core_properties._element


def _core_properties(document: Any, env: Any) -> tuple[Any, str, dict[str, Any]]:
    """The core properties docxtpl renders (title, author, ...), compiled; none when no
    property has a tag, so the part is copied unchanged."""
    package = document.part.package
    part = next((rel.target_part for rel in package.rels.values()
                 if rel.reltype.endswith("/core-properties")), None)
    if part is None:
        return None, "", {}
    core = part.core_properties
    templates = {name: env.from_string(getattr(core, name)) for name in _CORE_PROPERTIES}
    if not any(_JINJA_MARK.search(getattr(core, name)) for name in _CORE_PROPERTIES):
        return None, "", {}
    return core, str(part.partname).lstrip("/"), templates
