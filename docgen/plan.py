"""Load and validate a job, then decide every (row, document): due, skipped or failed.

``docgen check`` and ``docgen build`` share this, so they cannot drift apart.
"""

from __future__ import annotations

import difflib
import re
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from jinja2 import TemplateSyntaxError

from docgen.errors import DocgenError, RosterError, RowError, TemplateError, UnusableError
from docgen.job import TEMPLATE_KINDS, DocumentSpec, Job
from docgen.names import collision_key, safe_relative_path, sanitize_value
from docgen.roster import Roster, Row, read_roster
from docgen.templating import (
    BUILTINS,
    attributes_used,
    build_date,
    course_entries,
    expression_source,
    make_environment,
    names_used,
    row_context,
)

ItemStatus = Literal["due", "skipped", "failed"]


@dataclass(frozen=True)
class Item:
    """One document to make (or not) for one row, or once for the batch."""

    document: DocumentSpec
    status: ItemStatus
    row: Row | None = None
    key: str | None = None
    path: str = ""
    message: str = ""
    context: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)


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


@dataclass(frozen=True)
class Plan:
    job: Job
    roster: Roster
    items: tuple[Item, ...]

    @property
    def due(self) -> list[Item]:
        return [i for i in self.items if i.status == "due"]

    @property
    def row_problems(self) -> list[Item]:
        return [i for i in self.items if i.status == "failed"]


def make_plan(job: Job) -> Plan:
    """Everything short of rendering; raises UnusableError listing every fatal problem."""
    problems: list[DocgenError] = []
    roster: Roster | None = None
    try:
        roster = read_roster(job.roster, sheet=job.sheet, columns=job.columns)
    except RosterError as err:
        problems.append(err)
    env = make_environment(job.locale)
    fields: dict[str, DocumentFields] = {}
    for spec in job.documents:
        try:
            fields[spec.name] = document_fields(spec, job)
        except DocgenError as err:
            problems.append(err)
    if roster is not None:
        problems += _unknown_fields(job, roster, fields)
    if problems or roster is None:
        raise UnusableError(problems)
    return Plan(job=job, roster=roster, items=tuple(_items(job, roster, fields, env)))


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


def document_fields(spec: DocumentSpec, job: Job) -> DocumentFields:
    """Parse the template, the filename pattern and ``when``; a syntax error is fatal."""
    env = make_environment(job.locale)
    source = template_source(spec)
    try:
        template_names = names_used(env, source)
        attributes = attributes_used(env, source) if spec.scope == "batch" else set()
    except TemplateSyntaxError as err:
        raise TemplateError(
            f"template syntax error: {err.message}{_syntax_place(spec, source, err.lineno)}",
            file=spec.template.name, document=spec.name,
            hint="fix the tag; every {{ needs }} and every {% if %} its {% endif %}",
        ) from err
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


def _syntax_place(spec: DocumentSpec, source: str, lineno: int | None) -> str:
    if not lineno:
        return ""
    if spec.kind == "pdf":
        return f" (line {lineno})"
    lines = re.sub(r"<w:p([ >])", r"\n<w:p\1", source).splitlines()
    text = re.sub(r"<[^>]+>", "", lines[lineno - 1]) if lineno <= len(lines) else ""
    return f" in the paragraph “{text.strip()[:80]}”" if text.strip() else ""


def _unknown_fields(job: Job, roster: Roster, fields: Mapping[str, DocumentFields]
                    ) -> list[DocgenError]:
    problems: list[DocgenError] = []
    known = set(roster.fields) | BUILTINS
    if job.key not in roster.fields:
        problems.append(_missing(job.key, roster, job.path.name, None, "[job] key"))
    for spec in job.documents:
        used = fields.get(spec.name)
        if used is None:
            continue
        sources = [(used.template, spec.template.name, "template"),
                   (used.filename, job.path.name, "filename pattern"),
                   (used.when, job.path.name, "when")]
        if spec.scope == "batch":
            sources = sources[1:2]
        for names, file, where in sources:
            problems += [_missing(n, roster, file, spec.name, where) for n in sorted(names - known)]
    return problems


def _missing(name: str, roster: Roster, file: str, document: str | None, where: str
             ) -> TemplateError:
    close = difflib.get_close_matches(name, roster.fields, n=3, cutoff=0.6)
    hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
            else f"the roster's columns give: {', '.join(roster.fields)}")
    return TemplateError(
        f"the {where} uses the field '{name}', but no column of {roster.name} gives it",
        file=file, field=name, document=document,
        hint=hint + " Rename the column or fix the template, or map a header in [job.columns]",
    )


def _key_problems(job: Job, roster: Roster) -> dict[int, str]:
    """Rows whose key is empty or shared, with the message for each."""
    by_key: dict[str, list[int]] = defaultdict(list)
    messages: dict[int, str] = {}
    for row in roster.rows:
        value = row.value(job.key)
        if value is None:
            messages[row.number] = (f"the key field '{job.key}' is empty "
                                    f"(cell {roster.cell(job.key, row.number)})")
        else:
            by_key[str(value)].append(row.number)
    for key, numbers in by_key.items():
        if len(numbers) > 1:
            for number in numbers:
                others = ", ".join(str(n) for n in numbers if n != number)
                messages[number] = f"the key '{key}' is also on row {others}; each key must be unique"
    return messages


def _empty(roster: Roster, row: Row, names: frozenset[str], optional: frozenset[str]) -> str | None:
    empty = [n for n in sorted(names) if n in roster.fields and n not in optional
             and row.value(n) is None]
    if not empty:
        return None
    cells = ", ".join(f"'{n}' (cell {roster.cell(n, row.number)})" for n in empty)
    return f"empty field {cells}: fill it in, or list it in [job] optional"


def _items(job: Job, roster: Roster, fields: Mapping[str, DocumentFields], env: Any) -> list[Item]:
    today = build_date()
    job_info = {"id": job.id, "locale": job.locale}
    key_problems = _key_problems(job, roster)
    filename_env = make_environment(job.locale, finalize=sanitize_value)
    items: list[Item] = []

    def fail(spec: DocumentSpec, row: Row | None, key: str | None, message: str) -> Item:
        error = RowError(message, file=roster.name, row=row.number if row else None, key=key,
                         document=spec.name)
        return Item(spec, "failed", row=row, key=key, message=str(error))

    row_specs = [s for s in job.documents if s.scope == "row"]
    whens = {s.name: env.compile_expression(s.when) for s in row_specs if s.when}
    for row in roster.rows:
        key = None if row.value(job.key) is None else str(row.value(job.key))
        context = row_context(row.fields, number=row.number, course=job.course, job=job_info,
                              today=today)
        for spec in row_specs:
            used = fields[spec.name]
            if row.number in key_problems:
                items.append(fail(spec, row, key, key_problems[row.number]))
                continue
            if spec.when:
                if message := _empty(roster, row, used.when, job.optional):
                    items.append(fail(spec, row, key, f"'when' cannot be decided: {message}"))
                    continue
                try:
                    due = bool(whens[spec.name](**context))
                except Exception as err:  # a roster value of the wrong type for the expression
                    items.append(fail(spec, row, key, f"'when' ({spec.when}) fails on this row: "
                                      f"{err}; check the values of {', '.join(sorted(used.when))}"))
                    continue
                if not due:
                    items.append(Item(spec, "skipped", row=row, key=key,
                                      message=f"not due: 'when' is false ({spec.when})"))
                    continue
            if message := _empty(roster, row, used.per_row, job.optional):
                items.append(fail(spec, row, key, message))
                continue
            try:
                path = _output_path(filename_env, spec, {**context, "__key__": key})
            except Exception as err:
                items.append(fail(spec, row, key, f"the filename pattern fails on this row: {err}"))
                continue
            items.append(Item(spec, "due", row=row, key=key, path=path, context=context))

    failed_rows = {i.row.number for i in items if i.status == "failed" and i.row}
    for spec in (s for s in job.documents if s.scope == "batch"):
        items.append(_batch_item(job, roster, spec, fields[spec.name], key_problems,
                                 failed_rows, filename_env, job_info, today))
    return _fail_collisions(items, roster)


def _batch_item(job: Job, roster: Roster, spec: DocumentSpec, used: DocumentFields,
                key_problems: Mapping[int, str], failed_rows: set[int], filename_env: Any,
                job_info: dict[str, str], today: Any) -> Item:
    needed = used.batch_attributes & set(roster.fields)
    rows, left_out = [], []
    for row in roster.rows:
        if row.number in key_problems or row.number in failed_rows or _empty(
                roster, row, frozenset(needed), job.optional):
            left_out.append(row.number)
        else:
            rows.append(row_context(row.fields, number=row.number, course=job.course,
                                    job=job_info, today=today))
    context = {"rows": rows, "course": job.course, "job": job_info, "today": today, "row": None}
    try:
        path = _output_path(filename_env, spec, context)
    except Exception as err:
        return Item(spec, "failed", message=f"the filename pattern fails: {err}")
    message = ""
    if left_out:
        message = (f"{len(left_out)} row(s) with errors left out: "
                   f"{', '.join(str(n) for n in left_out)}")
    return Item(spec, "due", path=path, message=message, context=context)


def _output_path(env: Any, spec: DocumentSpec, context: Mapping[str, Any]) -> str:
    relative = safe_relative_path(env.from_string(spec.filename_pattern).render(context))
    if not relative.lower().endswith(spec.suffix):
        relative += spec.suffix
    return relative


def _fail_collisions(items: list[Item], roster: Roster) -> list[Item]:
    """Two items that would write one file both fail: never a silent overwrite."""
    owners: dict[str, list[int]] = defaultdict(list)
    for index, item in enumerate(items):
        if item.status == "due":
            owners[collision_key(item.path)].append(index)
    result = list(items)
    for indexes in owners.values():
        if len(indexes) < 2:
            continue
        for index in indexes:
            item = items[index]
            others = [items[i] for i in indexes if i != index]
            names = ", ".join(f"row {o.row.number}" if o.row else o.document for o in others)
            error = RowError(f"would write the same file '{item.path}' as {names}",
                             file=roster.name, row=item.row.number if item.row else None,
                             key=item.key, document=item.document.name,
                             hint="make the filename pattern unique, e.g. add {{ codice_fiscale }}")
            result[index] = Item(item.document, "failed", row=item.row, key=item.key,
                                 path="", message=str(error))
    return result


def template_fields(path: Path) -> list[str]:
    """What ``docgen fields`` prints: roster fields a template reads, then its course entries."""
    kind = TEMPLATE_KINDS.get(path.suffix.lower())
    if kind is None:
        raise TemplateError("a template must be .html or .docx", file=path.name)
    spec = DocumentSpec(name=path.stem, template=path.resolve(), kind=kind)
    env = make_environment("it_IT")
    source = template_source(spec)
    try:
        names = names_used(env, source)
        if "rows" in names:
            names |= attributes_used(env, source)
        courses = course_entries(env, source)
    except TemplateSyntaxError as err:
        raise TemplateError(
            f"template syntax error: {err.message}{_syntax_place(spec, source, err.lineno)}",
            file=path.name) from err
    return sorted(names - BUILTINS) + sorted(courses)
