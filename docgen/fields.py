"""Templates as sources: what each reads (fields, course entries) and where a syntax error is."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError, meta

from docgen.errors import TemplateError
from docgen.job import TEMPLATE_KINDS, DocumentSpec, Job
from docgen.templating import (
    BUILTINS,
    attributes_used,
    course_entries,
    expression_source,
    make_environment,
    names_used,
)


@dataclass(frozen=True)
class DocumentFields:
    """Which names a document reads, and from where."""

    template: frozenset[str]
    filename: frozenset[str]
    when: frozenset[str]
    batch_attributes: frozenset[str] = frozenset()

    @property
    def per_row(self) -> frozenset[str]:
        return self.template | self.filename

    @property
    def all(self) -> frozenset[str]:
        return self.template | self.filename | self.when | self.batch_attributes


def template_source(spec: DocumentSpec) -> str:
    """The Jinja source of a template, as docgen will render it."""
    if spec.kind == "docx":
        from docgen.render_docx import docx_source

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


def document_fields(spec: DocumentSpec, job: Job) -> DocumentFields:
    """Parse the template, the filename pattern and ``when``; a syntax error is fatal."""
    env = make_environment(job.locale)
    template_names: set[str] = set()
    attributes: set[str] = set()
    for part, source in template_sources(spec, env):
        try:
            template_names |= names_used(env, source)
            if spec.scope == "batch":
                attributes |= attributes_used(env, source)
        except TemplateSyntaxError as err:
            raise syntax_error(replace(spec, template=part), source, err) from err
    job_file = job.path.name
    try:
        filename_names = names_used(env, spec.filename_pattern) - {"__key__"}
    except TemplateSyntaxError as err:
        raise TemplateError(f"filename pattern: {err.message}", file=job_file,
                            document=spec.name) from err
    when_names: set[str] = set()
    if spec.when:
        try:
            when_names = names_used(env, expression_source(spec.when))
        except TemplateSyntaxError as err:
            raise TemplateError(f"'when' is not a valid expression: {err.message}",
                                file=job_file, document=spec.name,
                                hint="write it as in the README, e.g. esito_esame == 'idoneo'"
                                ) from err
    return DocumentFields(frozenset(template_names), frozenset(filename_names),
                          frozenset(when_names), frozenset(attributes))


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


def template_fields(path: Path) -> list[str]:
    """What ``docgen fields`` prints: roster fields a template reads, then its course entries."""
    kind = TEMPLATE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise TemplateError("a template must be .html or .docx", file=path.name)
    spec = DocumentSpec(name=path.stem, template=path.resolve(), kind=kind)
    env = make_environment("it_IT")
    names: set[str] = set()
    courses: set[str] = set()
    for part, source in template_sources(spec, env):
        try:
            names |= names_used(env, source)
            names |= attributes_used(env, source)
            courses |= course_entries(env, source)
        except TemplateSyntaxError as err:
            raise syntax_error(replace(spec, template=part), source, err) from err
    return sorted(names - BUILTINS) + sorted(courses)
