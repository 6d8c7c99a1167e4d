"""Validate a job as a whole before any row is planned: the roster can be read, every
template parses and its own references resolve, every field used has a column, and the
tools the job needs (LibreOffice) are there. Every fatal problem is reported at once."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from docgen.errors import (
    DocgenError,
    DocgenWarning,
    JobError,
    RosterError,
    TemplateError,
    UnusableError,
    sentences,
    suggest,
)
from docgen.fields import DocumentFields, course_problems, document_fields
from docgen.job import Job
from docgen.lint import template_problems
from docgen.roster import Roster, read_roster
from docgen.templating import BUILTINS

if TYPE_CHECKING:
    from docgen.seal.settings import Sealer


@dataclass(frozen=True)
class ValidJob:
    """A job whose roster and templates can be used: what planning starts from."""

    job: Job
    roster: Roster
    fields: Mapping[str, DocumentFields]
    warnings: tuple[DocgenError, ...] = ()
    sealer: Sealer | None = None  # signs the records of sealed documents


def validate_job(job: Job) -> ValidJob:
    """The job's roster and templates, read and checked; raises UnusableError listing every
    fatal problem."""
    problems: list[DocgenError] = []
    warnings: list[DocgenError] = []
    fields: dict[str, DocumentFields] = {}
    for spec in job.documents:
        try:
            fields[spec.name] = document_fields(spec, job)
            found = template_problems(spec, job.reading_folders(spec.template))
        except UnusableError as err:
            problems += err.problems
            continue
        except DocgenError as err:
            problems.append(err)
            continue
        problems += [p for p in found if p.severity == "error"]
        warnings += [p for p in found if p.severity == "warning"]
        problems += list(fields[spec.name].problems)
        problems += course_problems(job, fields[spec.name], spec.name)
    roster: Roster | None = None
    try:
        roster = read_job_roster(job, fields.values())
    except RosterError as err:
        problems.insert(0, err)
    if roster is not None:
        problems += _unknown_fields(job, roster, fields)
        problems += label_problems(job, roster)
        warnings += _absent_optional(job, roster, fields)
        if "per-site-field" in job.zip and job.group_field not in roster.fields:
            problems.append(missing_field(job.group_field, roster, job.path.name, None,
                                          "per-site-field bundle (zip_by)"))
    sealer = None
    if roster is not None:  # [job.seal] and {{ seal }}: checked here so check and build agree
        from docgen.seal.settings import plan_seal

        sealer = plan_seal(job, roster.fields, fields, problems)
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
    return ValidJob(job, roster, fields, tuple(warnings), sealer)


def read_job_roster(job: Job, fields: Iterable[DocumentFields]) -> Roster:
    """The job's roster, its header found by the fields the job reads (build and mail alike)."""
    expected = {job.key, *job.optional, *(n for used in fields for n in used.all)} - BUILTINS
    return read_roster(job.roster, sheet=job.sheet, columns=job.columns, expected=expected,
                       key=job.key, locale=job.locale, header_row=job.header_row)


def job_fields(job: Job) -> list[DocumentFields]:
    """The fields of each document that parses (the others are reported by check)."""
    found = []
    for spec in job.documents:
        with contextlib.suppress(DocgenError):
            found.append(document_fields(spec, job))
    return found


def _unknown_fields(job: Job, roster: Roster, fields: Mapping[str, DocumentFields]
                    ) -> list[DocgenError]:
    problems: list[DocgenError] = []
    known = set(roster.fields) | BUILTINS
    if job.key not in roster.fields:
        problems.append(missing_field(job.key, roster, job.path.name, None, "[job] key"))
    for spec in job.documents:
        used = fields.get(spec.name)
        if used is None:
            continue
        sources = [(used.template, spec.template.name, "template"),
                   (used.filename, job.path.name, "filename pattern"),
                   (used.when, job.path.name, "when")]
        if spec.scope == "batch":  # its fields are read on the rows: r.cognome
            sources = [(used.batch_attributes, spec.template.name, "template"), sources[1]]
        sources.append((used.properties, job.path.name, "title or [job.metadata]"))
        for names, file, where in sources:
            optional = used.optional if where == "template" else frozenset()
            problems += [missing_field(n, roster, file, spec.name, where)
                         for n in sorted(names - known - optional)]
    return problems


def _absent_optional(job: Job, roster: Roster, fields: Mapping[str, DocumentFields]
                     ) -> list[DocgenError]:
    """A field a template guards (``| default``, ``is defined``, ``{% if x %}``) and no
    column gives: the template copes, but it may be a typo."""
    found: list[DocgenError] = []
    known = set(roster.fields) | BUILTINS
    for spec in job.documents:
        used = fields.get(spec.name)
        for name in sorted(used.optional - known) if used else ():
            close = suggest(name, roster.fields, n=3)
            found.append(DocgenWarning(
                f"the template reads the field '{name}' only where it handles its absence, "
                f"and no column of {roster.name} gives it: it prints as if empty",
                file=spec.template.name, field=name, document=spec.name,
                hint=sentences(close, "Add the column, or remove the guard if it is a typo")))
    return found


def label_problems(job: Job, roster: Roster) -> list[DocgenError]:
    """The ``[job] label`` pattern parses and reads only fields the roster gives."""
    if not job.label:
        return []
    from jinja2 import TemplateSyntaxError

    from docgen.fields import names_used
    from docgen.templating import make_environment

    try:
        names = names_used(make_environment(job.locale), job.label)
    except TemplateSyntaxError as err:
        return [JobError(f"[job] label: template syntax error: {err.message}", file=job.path.name,
                         hint='write it like "{{ cognome }} {{ nome }}".')]
    return [missing_field(n, roster, job.path.name, None, "[job] label")
            for n in sorted(names - set(roster.fields) - BUILTINS)]


def missing_field(name: str, roster: Roster, file: str, document: str | None, where: str,
                  fix: str = "rename the column or fix the template, or map a header in "
                             "[job.columns]") -> TemplateError:
    """The one message for a name that ``where`` reads and no column gives, with the closest
    columns."""
    known = suggest(name, roster.fields, n=3) or (
        f"the roster's columns (header on {roster.header_place}) give: {', '.join(roster.fields)}")
    return TemplateError(
        f"the {where} uses the field '{name}', but no column of {roster.name} gives it",
        file=file, field=name, document=document,
        hint=sentences(known, f"{fix[0].upper()}{fix[1:]}"),
    )


