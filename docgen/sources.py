"""Templates as Jinja sources: the text docgen renders (a Word document's parts, after
docxtpl's repairs), the templates it includes, and where a syntax error is."""

from __future__ import annotations

import io
import re
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple

from jinja2 import TemplateSyntaxError, meta

from docgen.errors import DocgenError, TemplateError, by_closeness, sentences
from docgen.job import DocumentSpec


class Source(NamedTuple):
    """One text docgen renders: a template file, or one part of a Word document."""

    path: Path
    text: str
    part: str = ""


# The parts of a Word document docgen fills besides the body, headers and footers (docxtpl
# itself renders footnotes only; render_docx fills the others too).
NOTE_PARTS = {"footnotes+xml": "footnotes", "endnotes+xml": "endnotes", "comments+xml": "comments"}
_PARAGRAPH = re.compile(r"<w:p([ >])")
# The core properties docxtpl renders (title, author ...), one line each in the source.
CORE_PROPERTIES = ("author", "comments", "identifier", "language", "subject", "title")


def note_parts(package: Any) -> list[tuple[str, Any]]:
    """(part label, part) of a document's footnotes, endnotes and comments."""
    found = []
    for part in package.parts:
        for suffix, label in NOTE_PARTS.items():
            if part.content_type.endswith(f".{suffix}"):
                found.append((label, part))
    return found


def _open_docx(path: Path) -> Any:
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
    return template


def docx_parts(path: Path) -> list[tuple[str, str]]:
    """(part, Jinja source) of every part docgen fills: the body (text boxes included), the
    headers and footers of every section, footnotes, endnotes, comments and the core
    properties, after docxtpl's repairs (split tags joined, typographic quotes straightened),
    with a line per paragraph as rendering has them, so line numbers point at paragraphs."""
    template = _open_docx(path)

    def marked(xml: str) -> str:
        return _PARAGRAPH.sub(r"\n<w:p\1", template.patch_xml(xml))

    parts = [("body", marked(template.get_xml()))]
    for uri, label in ((template.HEADER_URI, "header"), (template.FOOTER_URI, "footer")):
        for _, part in template.get_headers_footers(uri):
            parts.append((label, marked(template.get_part_xml(part))))
    for label, part in note_parts(template.docx.part.package):
        blob = part.blob.decode("utf-8") if isinstance(part.blob, bytes) else part.blob
        parts.append((label, marked(blob)))
    core = template.docx.core_properties
    properties = "\n".join(getattr(core, name) or "" for name in CORE_PROPERTIES)
    if "{" in properties:
        parts.append(("properties", properties))
    return parts


def docx_source(path: Path) -> str:
    """The Jinja source docgen renders for a Word template, every part joined."""
    return "\n".join(source for _, source in docx_parts(path))


def template_source(spec: DocumentSpec) -> str:
    """The Jinja source of a template, as docgen will render it."""
    if spec.kind == "docx":
        return docx_source(spec.template)
    try:
        return spec.template.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise TemplateError(f"cannot read the template: {err}", file=spec.template.name,
                            document=spec.name) from err


def template_sources(spec: DocumentSpec, env: Any) -> list[Source]:
    """The template (each part of a Word document) and every template it includes, imports
    or extends by name (their fields count too); a named one that is missing is fatal."""
    if spec.kind == "docx":
        return [Source(spec.template, text, part) for part, text in docx_parts(spec.template)]
    found: list[Source] = []
    queue = [(spec.template, template_source(spec))]
    seen = {spec.template.resolve()}
    folder = spec.template.parent.resolve()
    while queue:
        path, source = queue.pop(0)
        found.append(Source(path, source))
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


_ANY_TAG = re.compile(r"\{[{%#].*?[}%#]\}")
_MAX_ERRORS = 20


def _place(spec: DocumentSpec, lines: list[str], lineno: int | None, part: str) -> str | None:
    """``line 3`` of an HTML template; ``footnotes, paragraph “...”`` of a Word template."""
    if not lineno:
        return None
    if spec.kind == "pdf":
        return f"line {lineno}"
    text = re.sub(r"<[^>]+>", "", lines[lineno - 1]) if lineno <= len(lines) else ""
    where = f"{part}, " if part and part != "body" else ""
    return f"{where}paragraph “{text.strip()[:80]}”" if text.strip() else (part or None)


def _syntax_hint(message: str) -> str:
    if "never closed" in message:
        return "close the block where it should end, or remove its opening tag."
    if "unknown tag" in message:
        return sentences("check the tag's name: Jinja knows if, elif, else, for, set, with, "
                         "include, macro, and Word templates also {%p if %}, {%tr for %}, "
                         "{%tc %}, {%r %}")
    if "unexpected" in message and ("}" in message or "%" in message):
        return "close every {{ with }} and every {% with %}."
    if "Expected an expression" in message or "expected token 'name'" in message:
        return "the tag lacks a name or an expression: write e.g. {{ nome }} or {% if note %}."
    return "fix the tag; every {{ needs }} and every {% if %} its {% endif %}."


def syntax_error(spec: DocumentSpec, source: str, err: TemplateSyntaxError,
                 part: str = "") -> TemplateError:
    """A Jinja syntax error with its place: the line of an HTML template, the part and
    paragraph of a Word template. A block never closed is placed where it opens, not at the
    template's end."""
    return _syntax_error(spec, source.splitlines(), err, part)[0]


def _syntax_error(spec: DocumentSpec, lines: list[str], err: TemplateSyntaxError,
                  part: str) -> tuple[TemplateError, int | None]:
    lineno = err.lineno
    message = err.message or "invalid tag"
    if message.startswith("Unexpected end of template") and (opened := _unclosed(lines)):
        lineno, tag = opened
        message = f"the {{% {tag} %}} block is never closed (no {{% end{tag} %}})"
    error = TemplateError(f"template syntax error: {message}", file=spec.template.name,
                          document=spec.name, cell=_place(spec, lines, lineno, part),
                          hint=_syntax_hint(message))
    return error, lineno


def template_errors(spec: DocumentSpec, source: Source, env: Any) -> list[DocgenError]:
    """Every syntax error of one source (not only the first: after each, the tags of its line
    are set aside and the rest parsed again), then every unknown filter and test (the only
    errors of a source that parses)."""
    lines = source.text.splitlines()
    errors: list[DocgenError] = []
    named = replace(spec, template=source.path)
    tree = None
    for _ in range(_MAX_ERRORS):
        try:
            tree = env.parse("\n".join(lines))
            break
        except TemplateSyntaxError as err:
            error, lineno = _syntax_error(named, lines, err, source.part)
            if str(error) not in {str(e) for e in errors}:
                errors.append(error)
            if not lineno or lineno > len(lines) or not _ANY_TAG.search(lines[lineno - 1]):
                break
            lines[lineno - 1] = _ANY_TAG.sub("", lines[lineno - 1])
    if tree is not None:
        errors += _unknown_names(named, tree, lines, env, source.part)
    return errors


def unknown_names(tree: Any, env: Any) -> list[tuple[str, str, int, str]]:
    """(kind, name, line, hint) of every filter or test ``env`` does not know, the hint
    listing those that exist, closest first."""
    from jinja2 import nodes

    found = []
    for kind, node_type, known in (("filter", nodes.Filter, env.filters),
                                   ("test", nodes.Test, env.tests)):
        for node in tree.find_all(node_type):
            if node.name in known:
                continue
            closest = by_closeness(node.name, known)
            more = f", and {len(closest) - 12} more" if len(closest) > 12 else ""
            found.append((kind, node.name, node.lineno,
                          f"the {kind}s that exist, closest first: "
                          f"{', '.join(closest[:12])}{more}."))
    return found


def _unknown_names(spec: DocumentSpec, tree: Any, lines: list[str], env: Any,
                   part: str) -> list[DocgenError]:
    """A filter or test Jinja does not know: fatal, placed, with those that exist."""
    return [TemplateError(f"unknown {kind} '{name}'", file=spec.template.name,
                          document=spec.name, cell=_place(spec, lines, line, part), hint=hint)
            for kind, name, line, hint in unknown_names(tree, env)]


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
