"""Load and validate a job, then decide every (row, document): due, skipped or failed.

``docgen check`` and ``docgen build`` share this, so they cannot drift apart.
"""

from __future__ import annotations

import difflib
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from docgen.checks import check_columns, check_roster
from docgen.errors import DocgenError, DocgenWarning, RosterError, RowError, TemplateError, UnusableError
from docgen.fingerprint import batch_inputs, digest, folder_digest, row_inputs
from docgen.job import DocumentSpec, Job
from docgen.names import collision_key, safe_relative_path, sanitize_value
from docgen.roster import Roster, Row, read_roster
from docgen.template_checks import template_problems
from docgen.templates import DocumentFields, document_fields
from docgen.templating import BUILTINS, build_date, make_environment, row_context

ItemStatus = Literal["due", "skipped", "failed"]


@dataclass(frozen=True)
class Item:
    """One document to make (or not) for one row, or once for the batch."""

    document: DocumentSpec
    status: ItemStatus
    row: Row | None = None
    key: str | None = None
    label: str = ""  # how a clerk names the worker: ROSSI Mario
    path: str = ""
    message: str = ""
    inputs: str = ""  # digest of what the document is made from, for incremental builds
    context: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Plan:
    job: Job
    roster: Roster
    items: tuple[Item, ...]
    problems: tuple[DocgenError, ...] = ()  # row-level errors and warnings, each once

    @property
    def due(self) -> list[Item]:
        return [i for i in self.items if i.status == "due"]

    @property
    def failed(self) -> list[Item]:
        return [i for i in self.items if i.status == "failed"]

    @property
    def warnings(self) -> list[DocgenError]:
        return [p for p in self.problems if p.severity == "warning"]


def make_plan(job: Job) -> Plan:
    """Everything short of rendering; raises UnusableError listing every fatal problem."""
    problems: list[DocgenError] = []
    warnings: list[DocgenError] = []
    roster: Roster | None = None
    try:
        roster = read_roster(job.roster, sheet=job.sheet, columns=job.columns)
    except RosterError as err:
        problems.append(err)
    fields: dict[str, DocumentFields] = {}
    for spec in job.documents:
        try:
            fields[spec.name] = document_fields(spec, job)
            found = template_problems(spec)
        except DocgenError as err:
            problems.append(err)
            continue
        problems += [p for p in found if p.severity == "error"]
        warnings += [p for p in found if p.severity == "warning"]
    if roster is not None:
        problems += _unknown_fields(job, roster, fields)
        if "per-site-field" in job.zip and job.group_field not in roster.fields:
            problems.append(_missing(job.group_field, roster, job.path.name, None,
                                     "per-site-field bundle (zip_by)"))
    if job.converts_pdf:
        from docgen.convert import export_filter, find_soffice

        try:
            if not job.cluster:  # on a cluster, the workers' LibreOffice converts
                find_soffice()
            export_filter(job.pdf_variant)
        except DocgenError as err:
            problems.append(err)
    if problems or roster is None:
        raise UnusableError(problems)
    return _Planner(job, roster, fields).plan(warnings)


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
        if spec.scope == "batch":  # its fields are read on the rows: r.cognome
            sources = [(used.batch_attributes, spec.template.name, "template"), sources[1]]
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


class _Planner:
    """Decides each item; collects every row-level problem once."""

    def __init__(self, job: Job, roster: Roster, fields: Mapping[str, DocumentFields]) -> None:
        self.job, self.roster, self.fields = job, roster, fields
        self.today = build_date()
        self.job_info = {"id": job.id, "locale": job.locale}
        self.filename_env = make_environment(job.locale, finalize=sanitize_value)
        self.problems: dict[str, DocgenError] = {}
        self.row_errors: dict[int, list[RowError]] = defaultdict(list)
        self.template_digests = {s.name: folder_digest(s.template) for s in job.documents}
        env = make_environment(job.locale)
        self.whens = {s.name: env.compile_expression(s.when) for s in job.documents if s.when}
        self.patterns = {s.name: self.filename_env.from_string(s.filename_pattern)
                         for s in job.documents}
        self.course_digest = digest(job.course)

    def plan(self, warnings: list[DocgenError]) -> Plan:
        for warning in warnings:
            self._note(warning)
        self._check_keys()
        self._check_data()
        items = [item for row in self.roster.rows for item in self._row_items(row)]
        failed_rows = {i.row.number for i in items if i.status == "failed" and i.row}
        items += [self._batch_item(spec, failed_rows)
                  for spec in self.job.documents if spec.scope == "batch"]
        items = self._fail_collisions(items)
        return Plan(self.job, self.roster, tuple(items), tuple(self.problems.values()))

    def _note(self, problem: DocgenError) -> None:
        self.problems.setdefault(f"{problem.severity}|{problem}", problem)

    def _row_error(self, row: int, message: str, *, field: str | None = None,
                   key: str | None = None, hint: str | None = None) -> RowError:
        cell = self.roster.cell(field, row) if field in self.roster.columns else None
        error = RowError(message, file=self.roster.name, row=row, key=key, field=field,
                         cell=cell, hint=hint)
        self._note(error)
        return error

    def _key_of(self, row: Row) -> str | None:
        value = row.value(self.job.key)
        return None if value is None else str(value)

    def _check_keys(self) -> None:
        """Rows whose key is empty or shared fail all their documents."""
        by_key: dict[str, list[int]] = defaultdict(list)
        key = self.job.key
        for row in self.roster.rows:
            if (value := self._key_of(row)) is None:
                self.row_errors[row.number].append(self._row_error(
                    row.number, f"the key field '{key}' is empty", field=key,
                    hint="fill it in: it identifies the worker"))
            else:
                by_key[value].append(row.number)
        for value, numbers in by_key.items():
            for number in numbers if len(numbers) > 1 else ():
                others = ", ".join(str(n) for n in numbers if n != number)
                self.row_errors[number].append(self._row_error(
                    number, f"the key '{value}' is also on row {others}", field=key, key=value,
                    hint="each key must be unique: correct or remove the duplicate"))

    def _check_data(self) -> None:
        columns = check_columns(self.job.checks, self.roster.fields)
        keys = {r.number: self._key_of(r) for r in self.roster.rows}
        for issue in check_roster(self.roster, columns, self.job.course, self.today):
            if issue.severity == "warning":
                cell = self.roster.cell(issue.field, issue.row)
                self._note(DocgenWarning(issue.message, file=self.roster.name, row=issue.row,
                                         key=keys.get(issue.row), field=issue.field, cell=cell,
                                         hint=issue.fix))
            else:
                self.row_errors[issue.row].append(self._row_error(
                    issue.row, issue.message, field=issue.field, key=keys.get(issue.row),
                    hint=issue.fix))

    def _blocking(self, row: Row, names: frozenset[str]) -> list[RowError]:
        """The row's errors that touch a document reading ``names`` (the key touches all)."""
        return [e for e in self.row_errors.get(row.number, ())
                if e.field == self.job.key or e.field in names]

    def _empty(self, row: Row, names: frozenset[str], key: str | None) -> list[RowError]:
        return [self._row_error(row.number, f"the field '{n}' is empty", field=n, key=key,
                                hint="fill it in, or list it in [job] optional")
                for n in sorted(names) if n in self.roster.columns
                and n not in self.job.optional and row.value(n) is None]

    def _row_items(self, row: Row) -> list[Item]:
        key = self._key_of(row)
        label = self._label(row, key)
        context = row_context(row.fields, number=row.number, course=self.job.course,
                              job=self.job_info, today=self.today)
        items = []
        for spec in (s for s in self.job.documents if s.scope == "row"):
            used = self.fields[spec.name]

            def fail(errors: list[RowError], spec: DocumentSpec = spec) -> Item:
                message = "; ".join(_short(e) for e in errors)
                full = RowError(message, file=self.roster.name, row=row.number, key=key,
                                document=spec.name)
                return Item(spec, "failed", row=row, key=key, label=label, message=str(full))

            if errors := self._blocking(row, used.all):
                items.append(fail(errors))
                continue
            if spec.when:
                if errors := self._empty(row, used.when, key):
                    items.append(fail(errors))
                    continue
                try:
                    due = bool(self.whens[spec.name](**context))
                except Exception as err:  # a roster value of the wrong type for the expression
                    items.append(fail([self._row_error(
                        row.number, f"'when' ({spec.when}) fails on this row: {err}", key=key,
                        field=min(used.when, default=None),
                        hint=f"check the values of {', '.join(sorted(used.when))}")]))
                    continue
                if not due:
                    items.append(Item(spec, "skipped", row=row, key=key, label=label,
                                      message=f"not due: 'when' is false ({spec.when})"))
                    continue
            if errors := self._empty(row, used.per_row, key):
                items.append(fail(errors))
                continue
            try:
                path = self._output_path(spec, {**context, "__key__": key})
            except Exception as err:
                items.append(fail([self._row_error(
                    row.number, f"the filename pattern fails on this row: {err}", key=key)]))
                continue
            inputs = row_inputs(self.template_digests[spec.name], spec, row, self.course_digest,
                                path, self.today if "today" in used.all else None)
            items.append(Item(spec, "due", row=row, key=key, label=label, path=path,
                              inputs=inputs, context=context))
        return items

    def _label(self, row: Row, key: str | None) -> str:
        surname, name = row.value("cognome"), row.value("nome")
        if surname and name:
            return f"{str(surname).upper()} {name}"
        return key or f"row {row.number}"

    def _batch_item(self, spec: DocumentSpec, failed_rows: set[int]) -> Item:
        needed = frozenset(self.fields[spec.name].batch_attributes & set(self.roster.fields))
        rows, left_out, included = [], [], []
        for row in self.roster.rows:
            if (row.number in failed_rows or self._blocking(row, needed)
                    or self._empty(row, needed, self._key_of(row))):
                left_out.append(row.number)
            else:
                included.append(row)
                rows.append(row_context(row.fields, number=row.number, course=self.job.course,
                                        job=self.job_info, today=self.today))
        context = {"rows": rows, "course": self.job.course, "job": self.job_info,
                   "today": self.today, "row": None}
        try:
            path = self._output_path(spec, context)
        except Exception as err:
            return Item(spec, "failed", message=f"the filename pattern fails: {err}")
        message = ""
        if left_out:
            message = (f"{len(left_out)} row(s) with errors left out: "
                       f"{', '.join(str(n) for n in left_out)}")
        inputs = batch_inputs(self.template_digests[spec.name], spec, included,
                              self.course_digest, path)
        return Item(spec, "due", path=path, message=message, inputs=inputs, context=context)

    def _output_path(self, spec: DocumentSpec, context: Mapping[str, Any]) -> str:
        rendered = self.patterns[spec.name].render(context)
        relative = safe_relative_path(rendered)
        if not relative.lower().endswith(spec.suffix):
            relative += spec.suffix
        return relative

    def _fail_collisions(self, items: list[Item]) -> list[Item]:
        """Two items that would write one file both fail: never a silent overwrite."""
        owners: dict[str, list[int]] = defaultdict(list)
        for index, item in enumerate(items):
            if item.status == "due":
                owners[collision_key(item.path)].append(index)
        result = list(items)
        for indexes in (i for i in owners.values() if len(i) > 1):
            for index in indexes:
                item = items[index]
                others = ", ".join(f"row {items[i].row.number}" if items[i].row
                                   else items[i].document.name for i in indexes if i != index)
                number = item.row.number if item.row else None
                message = f"would write the same file '{item.path}' as {others}"
                hint = "make the filename pattern unique, e.g. add {{ codice_fiscale }}"
                if number is not None:
                    self._row_error(number, message, key=item.key, hint=hint)
                error = RowError(message, file=self.roster.name, row=number, key=item.key,
                                 document=item.document.name, hint=hint)
                result[index] = Item(item.document, "failed", row=item.row, key=item.key,
                                     label=item.label, message=str(error))
        return result


def _short(error: RowError) -> str:
    """The message with its cell, without the row's place (the item's message adds it)."""
    cell = f" (cell {error.cell})" if error.cell else ""
    hint = f": {error.hint}" if error.hint else ""
    return f"{error.message}{cell}{hint}"
