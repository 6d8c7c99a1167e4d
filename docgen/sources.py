"""Templates as Jinja sources: the text docgen renders (a Word document's parts, after
docxtpl's repairs), the templates it includes, and where a syntax error is."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta

from docgen.errors import TemplateError
from docgen.job import DocumentSpec


def docx_source(path: Path) -> str:
    """The Jinja source docxtpl will render: body, headers and footers, after its repairs
    (tags split across Word runs joined, typographic quotes inside tags straightened)."""
    from docgen.archives import office_problem

    if problem := office_problem(path, ".docx"):
        raise TemplateError(problem, file=path.name)
    try:
        from docxtpl import DocxTemplate

        template = DocxTemplate(io.BytesIO(path.read_bytes()))
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


def template_source(spec: DocumentSpec) -> str:
    """The Jinja source of a template, as docgen will render it."""
    if spec.kind == "docx":
        return docx_source(spec.template)
    try:
        return spec.template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TemplateError(f"cannot read the template: {err}", file=spec.template.name,
                            document=spec.name) from err


def template_sources(spec: DocumentSpec, env: Any) -> list[tuple[Path, str]]:
    """The template and every template it includes, imports or extends by name (their
    fields count too); a named one that is missing is fatal."""
    found: list[tuple[Path, str]] = []
    queue = [(spec.template, template_source(spec))]
    seen = {spec.template.resolve()}
    folder = spec.template.parent.resolve()
    while queue:
        path, source = queue.pop(0)
        found.append((path, source))
        if spec.kind == "docx":
            break
        try:
            tree = env.parse(source)
        except TemplateSyntaxError:
            continue  # reported with its place by the caller
        for name in sorted(n for n in meta.find_referenced_templates(tree) if n):
            target = (folder / name).resolve()
            if target in seen:
                continue
            seen.add(target)
            if not target.is_relative_to(folder) or not target.is_file():
                raise TemplateError(f"missing file: the included template {name}",
                                    file=path.name, document=spec.name,
                                    hint="put it in the template's folder, or fix the name")
            queue.append((target, template_source(replace(spec, template=target))))
    return found


_BLOCK_TAG = re.compile(r"\{%-?\s*(\w+)")
_OPENERS = {"if", "for", "macro", "call", "filter", "with", "block", "raw", "autoescape"}


def syntax_error(spec: DocumentSpec, source: str, err: TemplateSyntaxError) -> TemplateError:
    """A Jinja syntax error with its place: the line of an HTML template, the paragraph of a
    Word template. A block never closed is placed where it opens, not at the template's end."""
    lines = (re.sub(r"<w:p([ >])", r"\n<w:p\1", source) if spec.kind == "docx"
             else source).splitlines()
    lineno = err.lineno
    message = err.message or "invalid tag"
    if message.startswith("Unexpected end of template") and (opened := _unclosed(lines)):
        lineno, tag = opened
        message = f"the {{% {tag} %}} block is never closed (no {{% end{tag} %}})"
    place = None
    if lineno:
        if spec.kind == "pdf":
            place = f"line {lineno}"
        else:
            text = re.sub(r"<[^>]+>", "", lines[lineno - 1]) if lineno <= len(lines) else ""
            place = f"paragraph “{text.strip()[:80]}”" if text.strip() else None
    return TemplateError(
        f"template syntax error: {message}", file=spec.template.name, document=spec.name,
        cell=place, hint="fix the tag; every {{ needs }} and every {% if %} its {% endif %}",
    )


def _unclosed(lines: list[str]) -> tuple[int, str] | None:
    """(line, tag) of the innermost block opened and never closed."""
    stack: list[tuple[int, str]] = []
    for number, line in enumerate(lines, start=1):
        for tag in _BLOCK_TAG.findall(line):
            if tag in _OPENERS:
                stack.append((number, tag))
            elif tag.startswith("end") and stack and stack[-1][1] == tag[3:]:
                stack.pop()
    return stack[-1] if stack else None
