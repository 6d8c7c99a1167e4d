"""Decide every (row, document) of a valid job: due, skipped or failed, with its output path
and input digest; every row-level problem collected once.

``docgen check`` and ``docgen build`` share this, so they cannot drift apart.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from docgen.checks import check_columns, check_roster
from docgen.clock import build_date
from docgen.errors import DocgenError, DocgenWarning, RowError
from docgen.fingerprint import batch_inputs, digest, row_inputs
from docgen.job import DocumentSpec, Job
from docgen.names import collision_key, safe_relative_path, sanitize_value
from docgen.roster import Roster, Row
from docgen.templating import make_environment, row_context
from docgen.validate import ValidJob, validate_job

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
    left_out: tuple[int, ...] = ()  # a batch document: the rows left out for their errors


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

    @property
    def failures(self) -> list[RowError]:
        """Each row problem that fails documents, once, naming the documents it affects."""
        return [RowError(_short(p, hint=False), file=p.file, row=p.row, key=p.key,
                         field=p.field, document=p.document, hint=p.hint)
                for p in self.problems if isinstance(p, RowError) and p.document]


class Labeller:
    """How a clerk names a worker: ``[job] label`` over the row (``{{ cognome_e_nome }}``),
    else SURNAME Name from the cognome and nome fields, else the key."""

    def __init__(self, job: Job) -> None:
        self.template = make_environment(job.locale).from_string(job.label) if job.label else None

    def __call__(self, row: Row, key: str | None) -> str:
        if self.template is not None:
            try:
                fields = {k: "" if v is None else v for k, v in row.fields.items()}
                text = " ".join(self.template.render(fields).split())
            except Exception:  # a value the pattern cannot use: the key still names the row
                text = ""
            if text:
                return text
        surname, name = row.value("cognome"), row.value("nome")
        if surname and name:
            return f"{str(surname).upper()} {name}"
        return key or f"row {row.number}"


def make_plan(job: Job) -> Plan:
    """Everything short of rendering; raises UnusableError listing every fatal problem."""
    return _Planner(validate_job(job)).plan()


class _Planner:
    """Decides each item; collects every row-level problem once."""

    def __init__(self, valid: ValidJob) -> None:
        job = self.job = valid.job
        self.roster, self.fields, self.warnings = valid.roster, valid.fields, valid.warnings
        self.sealer = valid.sealer  # signs sealed documents' records (docgen/seal/settings.py)
        self.today = build_date()
        self.job_info = {"id": job.id, "locale": job.locale}
        self.filename_env = make_environment(job.locale, finalize=sanitize_value)
        self.problems: dict[str, DocgenError] = {}
        self.row_errors: dict[int, list[RowError]] = defaultdict(list)
        # The files a render reads are digested by the build (fingerprint.with_files).
        self.template_digests = {s.name: s.template.name for s in job.documents}
        env = make_environment(job.locale)
        self.whens = {s.name: env.compile_expression(s.when) for s in job.documents if s.when}
        self.patterns = {s.name: self.filename_env.from_string(s.filename_pattern)
                         for s in job.documents}
        self.course_digest = digest(job.course, job.locale, job.pdf_variant, job.metadata)
        self.labeller = Labeller(job)
        self.affects: dict[str, list[str]] = defaultdict(list)  # problem -> documents it fails

    def plan(self) -> Plan:
        for warning in [*self.warnings, *self.roster.notes]:
            self._note(warning)
        self._check_keys()
        self._check_data()
        items = [item for row in self.roster.rows for item in self._row_items(row)]
        items += [self._batch_item(spec)
                  for spec in self.job.documents if spec.scope == "batch"]
        items = self._fail_collisions(items)
        for name, documents in self.affects.items():
            self.problems[name].document = ", ".join(dict.fromkeys(documents))
        return Plan(self.job, self.roster, tuple(items), tuple(self.problems.values()))

    def _note(self, problem: DocgenError) -> str:
        name = f"{problem.severity}|{problem}"
        self.problems.setdefault(name, problem)
        return name

    def _affects(self, errors: list[RowError], document: str) -> None:
        for error in errors:
            self.affects[f"{error.severity}|{error}"].append(document)

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
        for cell in self.roster.cell_errors:  # too long, ambiguous: that row's cell alone fails
            self.row_errors[cell.row].append(self._row_error(
                cell.row, cell.message, field=cell.field, key=keys.get(cell.row), hint=cell.hint))

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
                self._affects(errors, spec.name)
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
            item_context = context
            if self.sealer is not None and spec.name in self.sealer.documents:
                item_context, inputs = self.sealer.seal(spec, key, context, inputs)
            items.append(Item(spec, "due", row=row, key=key, label=label, path=path,
                              inputs=inputs, context=item_context))
        return items

    def _label(self, row: Row, key: str | None) -> str:
        return self.labeller(row, key)

    def _batch_item(self, spec: DocumentSpec) -> Item:
        """Rows whose problems touch the fields this document reads (or the key) are left
        out; a row with a problem elsewhere (a birthplace the list does not print) stays."""
        used = self.fields[spec.name]
        read = frozenset(used.batch_attributes & set(self.roster.fields))
        needed = read - used.optional
        rows, left_out, included = [], [], []
        for row in self.roster.rows:
            errors = (self._blocking(row, read)
                      or self._empty(row, needed, self._key_of(row)))
            if errors:
                self._affects(errors, spec.name)
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
        used = self.fields[spec.name].all
        inputs = batch_inputs(self.template_digests[spec.name], spec, included,
                              self.course_digest, path, used & set(self.roster.fields),
                              self.today if "today" in used else None)
        return Item(spec, "due", path=path, message=message, inputs=inputs, context=context,
                    left_out=tuple(left_out))

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
                    self._affects([self._row_error(number, message, key=item.key, hint=hint)],
                                  item.document.name)
                error = RowError(message, file=self.roster.name, row=number, key=item.key,
                                 document=item.document.name, hint=hint)
                result[index] = Item(item.document, "failed", row=item.row, key=item.key,
                                     label=item.label, message=str(error))
        return result


def _short(error: DocgenError, *, hint: bool = True) -> str:
    """The message with its cell, without the row's place (the item's message adds it)."""
    cell = f" (cell {error.cell})" if error.cell else ""
    fix = f": {error.hint}" if error.hint and hint else ""
    return f"{error.message}{cell}{fix}"
