"""``docgen init``: a commented job.toml from a folder holding a roster and templates, and a
report of what is left to fill in."""

from __future__ import annotations

import difflib
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import TemplateSyntaxError

from docgen.course_shape import Shape, course_toml, placeholder_count, read_course
from docgen.errors import DocgenError, JobError
from docgen.fields import attributes_used, names_used
from docgen.job import ROSTER_SUFFIXES, TEMPLATE_KINDS, DocumentKind, DocumentSpec
from docgen.names import strip_accents
from docgen.roster import Roster, read_roster
from docgen.sources import template_sources
from docgen.templating import BUILTINS, make_environment

JOB_FILE = "job.toml"
ROSTER_FOLDERS = (".", "input")
TEMPLATE_FOLDERS = (".", "templates")
# Field names of a key column, best first; a unique column named like these becomes the key.
KEY_NAMES = ("codice_fiscale", "cod_fiscale", "codicefiscale", "cf", "c_f", "matricola",
             "numero_matricola", "id", "identificativo", "codice")


@dataclass(frozen=True)
class TemplateNeeds:
    """A template found in the folder and the roster fields it reads."""

    path: Path
    name: str
    kind: DocumentKind
    batch: bool
    fields: frozenset[str]
    sealed: bool = False  # writes {{ seal }}: the job needs [job.seal]


@dataclass
class Init:
    """What ``docgen init`` did: the job file, and its report for the clerk."""

    job_path: Path
    lines: list[str] = field(default_factory=list)
    todo: list[str] = field(default_factory=list)
    exit_code: int = 0

    @property
    def report(self) -> str:
        left = ["left to fill in:", *(f"  - {t}" for t in self.todo)] if self.todo else []
        return "\n".join([*self.lines, *left])


def init_job(folder: Path) -> Init:
    """Write ``folder/job.toml``; then check it as ``docgen check`` does and report the rest."""
    from docgen.check import check_job, format_table

    target = folder / JOB_FILE
    if target.exists():
        raise JobError(f"{target} already exists", file=JOB_FILE,
                       hint="docgen init never overwrites a job file: edit it, or move it away "
                            "and run docgen init again")
    shape = Shape()
    templates, broken = _templates(folder, shape)
    needed = frozenset().union(*(t.fields for t in templates))
    roster_path, header_row, roster = _roster(folder, needed)
    result = Init(target)
    result.todo += broken
    key = pick_key(roster)
    text = job_text(folder, roster_path, header_row, roster, templates, shape, key, result)
    target.write_text(text, encoding="utf-8")
    result.lines.insert(0, f"wrote {target}")
    check = check_job(target)
    if check.problems:
        result.lines += ["", "docgen check says:", format_table(check.problems)]
    else:
        counts = check.counts
        result.lines += ["", f"docgen check: {counts['rows']} rows, {counts['due']} documents "
                             f"due, {counts['skipped']} skipped, {counts['failed']} would fail"]
    result.exit_code = 1 if check.exit_code else 0  # written, but check wants more
    return result


def _candidates(folder: Path, subfolders: Sequence[str], suffixes: Sequence[str]) -> list[Path]:
    found: list[Path] = []
    for sub in subfolders:
        place = folder / sub
        if place.is_dir():
            found += sorted(p for p in place.iterdir() if p.is_file()
                            and p.suffix.lower() in suffixes and not p.name.startswith(("~$", ".")))
    return found


def _templates(folder: Path, shape: Shape) -> tuple[list[TemplateNeeds], list[str]]:
    env = make_environment("it_IT")
    templates: list[TemplateNeeds] = []
    broken: list[str] = []
    names: set[str] = set()
    for path in _candidates(folder, TEMPLATE_FOLDERS, tuple(TEMPLATE_KINDS)):
        name = _document_name(path.stem, names)
        spec = DocumentSpec(name=name, template=path.resolve(), kind=TEMPLATE_KINDS[path.suffix.lower()])
        try:
            used: set[str] = set()
            attributes: set[str] = set()
            for source in template_sources(spec, env):
                used |= names_used(env, source.text)
                attributes |= attributes_used(env, source.text)
                read_course(env, source.text, shape)
        except (DocgenError, TemplateSyntaxError) as err:
            broken.append(f"{path.name} cannot be read ({err}): fix it, then add its "
                          "[[document]] by hand")
            continue
        batch = "rows" in used
        fields = (attributes | used) - BUILTINS if batch else used - BUILTINS
        templates.append(TemplateNeeds(path, name, spec.kind, batch, frozenset(fields),
                                       sealed="seal" in used))
    if not templates:
        raise DocgenError(f"no template (.html or .docx) in {folder} or its templates/ folder",
                          hint="put the Word or HTML templates there, then run docgen init again")
    return templates, broken


def _document_name(stem: str, taken: set[str]) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "_", strip_accents(stem)).strip("_") or "documento"
    if not re.match(r"^[A-Za-z_]", name):
        name = f"d_{name}"
    unique, number = name, 2
    while unique in taken:
        unique, number = f"{name}_{number}", number + 1
    taken.add(unique)
    return unique


def _roster(folder: Path, needed: frozenset[str]) -> tuple[Path, int, Roster]:
    """The roster whose header matches the templates best, its header row and its rows."""
    rosters = _candidates(folder, ROSTER_FOLDERS, ROSTER_SUFFIXES)
    if not rosters:
        raise DocgenError(f"no roster (.xlsx or .csv) in {folder} or its input/ folder",
                          hint="put the spreadsheet of the workers there, then run docgen "
                               "init again")
    best: tuple[int, Path, Roster] | None = None
    for path in rosters:
        roster = read_roster(path, expected=needed)  # the header found as build finds it
        score = len(set(roster.fields) & needed)
        if best is None or score > best[0]:
            best = (score, path, roster)
    assert best is not None
    return best[1], best[2].header_row, best[2]


def pick_key(roster: Roster) -> str | None:
    """A column named like a key (codice fiscale, matricola, id) whose values are all there and
    all different."""
    def rank(name: str) -> int:
        if name in KEY_NAMES:
            return KEY_NAMES.index(name)
        if "fiscale" in name:
            return 0
        if "matricola" in name:
            return 5
        return 8 if name.startswith("id_") or name.endswith("_id") else -1

    for name in sorted((n for n in roster.fields if rank(n) >= 0), key=rank):
        values = [row.value(name) for row in roster.rows]
        if values and None not in values and len({str(v) for v in values}) == len(values):
            return name
    return None


def job_text(folder: Path, roster_path: Path, header_row: int, roster: Roster,
             templates: Sequence[TemplateNeeds], shape: Shape, key: str | None,
             result: Init) -> str:
    """The job file, commented; what it cannot know goes to ``result.todo``."""
    relative = roster_path.relative_to(folder).as_posix()
    fields = set(roster.fields)
    needed = set().union(*(t.fields for t in templates))
    empty = {n: sum(1 for r in roster.rows if r.value(n) is None) for n in roster.fields}
    optional = sorted(n for n in needed & fields if roster.rows and empty[n] * 2 >= len(roster.rows))
    lines = ["# docgen job, written by `docgen init`: check every TODO, then run `docgen check`.",
             "# Paths are relative to this file's folder.", "", "[job]",
             f"id = {_toml(_job_id(folder))}",
             'locale = "it_IT"                 # dates and numbers in Italian; labels in Italian',
             f"roster = {_toml(relative)}"]
    result.lines.append(f"roster: {relative}, header on row {header_row}, "
                        f"{len(roster.rows)} workers")
    if header_row != 1:
        lines.append(f"header_row = {header_row}                   # rows above it are a title")
    if key:
        lines.append(f"key = {_toml(key)}        # unique per worker: names the worker's files")
    else:
        lines.append('key = "TODO"                     # TODO: the column that identifies a worker')
        result.todo.append("[job] key: no column named like codice fiscale, matricola or id has "
                           f"a different value on every row; columns: {', '.join(roster.fields)}")
    if optional:
        lines.append(f"optional = {_toml(optional)}   # mostly empty: blanks print as nothing")
    result.lines.append("columns: " + ", ".join(f"{roster.headers[n]} -> {n}"
                                               for n in roster.fields))
    lines += _seal(folder, templates, roster, key, result)
    suggestions = _columns(templates, roster, result)
    if suggestions:
        lines += ["", "[job.columns]                    # TODO: header text -> the field a "
                  "template reads, if the column holds it"]
        lines += [f"# {_toml(h)} = {_toml(f)}" for h, f in suggestions]
    lines += ["", "# [course] is given to every template as `course`: these are the entries the",
              "# templates read. TODO: replace every placeholder with the course's real values.",
              *_course(shape, roster)]
    placeholders = placeholder_count(shape)
    if placeholders:
        result.todo.append(f"[course]: {placeholders} placeholder(s) marked TODO in {JOB_FILE}")
    result.lines.append("templates:")
    pattern = None  # a folder per worker named as a clerk looks for it: Rossi_Mario_<key>/
    if key and {"cognome", "nome"} <= fields:
        pattern = "{{ cognome }}_{{ nome }}_{{ " + key + " }}/"
    for template in templates:
        lines += ["", "[[document]]", f"name = {_toml(template.name)}",
                  f"template = {_toml(template.path.relative_to(folder.resolve()).as_posix())}"]
        suffix = ".pdf" if template.kind == "pdf" else ".docx"
        if template.batch:
            lines.append('scope = "batch"                  # one document for the whole roster')
        elif pattern:
            lines.append(f"filename = {_toml(pattern + template.name + suffix)}")
        if not template.batch:
            lines.append('# when = "..."                   # optional: make it only where true')
        if template.kind == "docx":
            lines.append("# pdf = true                     # optional: also a PDF (LibreOffice)")
        missing = sorted(template.fields - fields)
        what = "PDF" if template.kind == "pdf" else "Word"
        scope = "for the whole roster" if template.batch else "for each worker"
        result.lines.append(f"  {template.path.name}: {what} {scope}; reads "
                            f"{', '.join(sorted(template.fields)) or 'no roster field'}"
                            + (f"; no column for {', '.join(missing)}" if missing else ""))
    return "\n".join(lines) + "\n"


def _seal(folder: Path, templates: Sequence[TemplateNeeds], roster: Roster, key: str | None,
          result: Init) -> list[str]:
    """``[job.seal]`` for templates that print ``{{ seal }}``: an existing key under keys/ or
    input/keys/, else a placeholder and the command that makes one (never a key made here)."""
    sealed = [t.name for t in templates if t.sealed and not t.batch]
    if not sealed:
        return []
    keys = sorted(p for place in ("keys", "input/keys") if (folder / place).is_dir()
                  for p in (folder / place).glob("*.key"))
    if keys:
        key_file = keys[0].relative_to(folder).as_posix()
    else:
        key_file = f"keys/{_job_id(folder)}.key"
        result.todo.append(f"[job.seal] key: make it with `docgen keys new {_job_id(folder)} "
                           "--dir keys` (keep it secret, outside the output folder)")
    printed = [f for f in ("cognome", "nome", "codice_fiscale") if f in roster.fields] or (
        [key] if key else [])
    result.todo.append("[job.seal] issuer: the office that issues the documents")
    return ["", "[job.seal]                       # {{ seal }}: a signed QR code docgen verify checks",
            f"key = {_toml(key_file)}",
            'issuer = "TODO: the issuing office"   # TODO: who signs, e.g. "{{ course.provider.name }}"',
            f"fields = {_toml(printed)}   # printed data the seal carries",
            f"documents = {_toml(sealed)}"]


def _columns(templates: Sequence[TemplateNeeds], roster: Roster, result: Init
             ) -> list[tuple[str, str]]:
    """Fields no column gives: the closest columns, as commented [job.columns] lines."""
    suggestions = []
    for template in templates:
        for name in sorted(template.fields - set(roster.fields)):
            close = difflib.get_close_matches(name, roster.fields, n=3, cutoff=0.6)
            hint = (f"closest: {', '.join(repr(roster.headers[c]) for c in close)}" if close
                    else "no column is close")
            result.todo.append(f"{template.path.name} reads '{name}', which no column gives "
                               f"({hint}): add the column, or map a header in [job.columns]")
            if close and (roster.headers[close[0]], name) not in suggestions:
                suggestions.append((roster.headers[close[0]], name))
    return suggestions


def _course(shape: Shape, roster: Roster) -> list[str]:
    from docgen.checks import check_columns

    hours_column = check_columns({}, roster.fields).hours
    done = [r.value(hours_column) for r in roster.rows] if hours_column else []
    most = max((v for v in done if isinstance(v, int | float)), default=None)
    # course.hours is what check compares each worker's hours with: never below them.
    return course_toml(shape, math.ceil(most) if most else 1)


def _toml(value: Any) -> str:
    """A TOML value: strings with JSON's escapes, which TOML's basic strings share."""
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def _job_id(folder: Path) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", strip_accents(folder.resolve().name).lower()).strip("-")
    return slug or "job"
