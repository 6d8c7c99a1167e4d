"""The job file: TOML in, frozen dataclasses out, every mistake named."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from docgen.errors import DocgenError, JobError, UnusableError

DocumentKind = Literal["pdf", "docx"]
Scope = Literal["row", "batch"]

TEMPLATE_KINDS: dict[str, DocumentKind] = {".html": "pdf", ".htm": "pdf", ".docx": "docx"}
ROSTER_SUFFIXES = (".xlsx", ".xlsm", ".csv")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

# Known keys per table; later features add theirs here, so a typo is always caught.
JOB_KEYS = {"id", "locale", "roster", "sheet", "key", "optional", "columns", "checks"}
DOCUMENT_KEYS = {"name", "template", "filename", "when", "scope"}
TOP_KEYS = {"job", "course", "document", "mail"}


@dataclass(frozen=True)
class DocumentSpec:
    """One ``[[document]]`` entry: what to render, for whom, under which name."""

    name: str
    template: Path
    kind: DocumentKind
    scope: Scope = "row"
    filename: str | None = None
    when: str | None = None

    @property
    def suffix(self) -> str:
        return f".{self.kind}"

    @property
    def filename_pattern(self) -> str:
        """The pattern in force: the job's, or ``<key>/<name>.<ext>`` (``<name>.<ext>`` for batch)."""
        if self.filename:
            return self.filename
        if self.scope == "batch":
            return f"{self.name}{self.suffix}"
        return "{{ __key__ }}/" + f"{self.name}{self.suffix}"


@dataclass(frozen=True)
class Job:
    """A whole job file, with paths resolved against the job file's folder."""

    path: Path
    id: str
    locale: str
    roster: Path
    key: str
    sheet: str | None = None
    optional: frozenset[str] = frozenset()
    columns: Mapping[str, str] = field(default_factory=dict)
    course: Mapping[str, Any] = field(default_factory=dict)
    documents: tuple[DocumentSpec, ...] = ()
    mail: Mapping[str, Any] = field(default_factory=dict)  # the raw [mail] table; see mail.py
    checks: Mapping[str, Any] = field(default_factory=dict)  # [job.checks]; see checks.py

    @property
    def folder(self) -> Path:
        return self.path.parent

    def select(self, names: tuple[str, ...]) -> Job:
        """The same job restricted to the named documents (``--only``)."""
        if not names:
            return self
        known = {d.name for d in self.documents}
        unknown = [n for n in names if n not in known]
        if unknown:
            raise UnusableError(
                [_unknown(self.path, "document", n, known, "--only") for n in unknown]
            )
        docs = tuple(d for d in self.documents if d.name in names)
        return Job(**{**self.__dict__, "documents": docs})


def _unknown(path: Path, what: str, name: str, known: set[str], where: str) -> JobError:
    close = difflib.get_close_matches(name, sorted(known), n=1)
    hint = f"did you mean '{close[0]}'?" if close else f"known: {', '.join(sorted(known))}"
    return JobError(f"unknown {what} '{name}' in {where}", file=path.name, hint=hint)


def load_job(path: Path) -> Job:
    """Read and validate a job file; all problems are reported together."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        raise JobError(
            f"job file not found: {path}", hint="give the path of a job .toml file"
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise JobError(f"cannot read the job file: {err}", file=str(path)) from err
    except tomllib.TOMLDecodeError as err:
        raise JobError(
            f"not valid TOML: {err}", file=path.name, hint="check quotes and brackets on that line"
        ) from err
    problems: list[DocgenError] = []
    job = _build_job(path.resolve(), data, problems)
    if problems or job is None:
        raise UnusableError(problems)
    return job


def _check_keys(
    path: Path, table: Mapping[str, Any], known: set[str], where: str, problems: list[DocgenError]
) -> None:
    problems.extend(_unknown(path, "key", k, known, where) for k in table if k not in known)


def _build_job(path: Path, data: dict[str, Any], problems: list[DocgenError]) -> Job | None:
    folder = path.parent
    _check_keys(path, data, TOP_KEYS, "the job file", problems)
    section = data.get("job")
    if not isinstance(section, dict):
        problems.append(JobError("missing [job] table", file=path.name, hint="see the README"))
        return None
    _check_keys(path, section, JOB_KEYS, "[job]", problems)

    def text(name: str, default: str | None = None) -> str | None:
        value = section.get(name, default)
        if value is None or (isinstance(value, str) and value.strip()):
            return value.strip() if isinstance(value, str) else value
        problems.append(JobError(f"[job] {name} must be a non-empty text", file=path.name))
        return None

    job_id, locale, roster, key = text("id"), text("locale", "it_IT"), text("roster"), text("key")
    sheet = text("sheet")
    for name in ("id", "roster", "key"):
        if name not in section:
            problems.append(JobError(f"[job] {name} is missing", file=path.name))
    if locale:
        locale = _check_locale(path, locale, problems)
    roster_path = (folder / roster) if roster else None
    if roster_path is not None:
        if roster_path.suffix.lower() not in ROSTER_SUFFIXES:
            problems.append(JobError(
                f"roster '{roster}' is not a spreadsheet docgen reads",
                file=path.name, hint="save it as .xlsx or .csv",
            ))
        elif not roster_path.is_file():
            problems.append(JobError(f"roster not found: {roster_path}", file=path.name))

    optional = section.get("optional", [])
    if not (isinstance(optional, list) and all(isinstance(o, str) for o in optional)):
        problems.append(JobError("[job] optional must be a list of field names", file=path.name))
        optional = []
    columns = section.get("columns", {})
    if not (isinstance(columns, dict) and all(isinstance(v, str) for v in columns.values())):
        problems.append(JobError('[job.columns] maps header text to a field name: "Cod. Fiscale" = '
                                 '"codice_fiscale"', file=path.name))
        columns = {}
    course = data.get("course", {})
    if not isinstance(course, dict):
        problems.append(JobError("[course] must be a table", file=path.name))
        course = {}

    checks = section.get("checks", {})
    if isinstance(checks, dict):
        from docgen.checks import CHECK_KEYS

        _check_keys(path, checks, CHECK_KEYS, "[job.checks]", problems)
    else:
        problems.append(JobError("[job.checks] must be a table", file=path.name))
        checks = {}
    mail = data.get("mail", {})
    if not isinstance(mail, dict):
        problems.append(JobError("[mail] must be a table", file=path.name))
        mail = {}
    documents = _build_documents(path, data.get("document"), problems)
    if problems:
        return None
    return Job(
        path=path, id=job_id or "", locale=locale or "it_IT", roster=roster_path or folder,
        key=key or "", sheet=sheet, optional=frozenset(optional), columns=dict(columns),
        course=course, documents=documents, mail=mail, checks=checks,
    )


def _check_locale(path: Path, locale: str, problems: list[DocgenError]) -> str:
    from babel import Locale, UnknownLocaleError

    try:
        Locale.parse(locale)
    except (ValueError, UnknownLocaleError):
        problems.append(JobError(f"unknown locale '{locale}'", file=path.name,
                                 hint="use a code such as it_IT"))
    return locale


def _build_documents(path: Path, entries: Any, problems: list[DocgenError]) -> tuple[DocumentSpec, ...]:
    if not entries:
        problems.append(JobError("no [[document]] entries", file=path.name,
                                 hint="add at least one [[document]] with name and template"))
        return ()
    if not isinstance(entries, list):
        problems.append(JobError("document must be written [[document]]", file=path.name))
        return ()
    specs: list[DocumentSpec] = []
    seen: set[str] = set()
    for number, entry in enumerate(entries, start=1):
        where = f"[[document]] #{number}"
        if not isinstance(entry, dict):
            problems.append(JobError(f"{where} is not a table", file=path.name))
            continue
        _check_keys(path, entry, DOCUMENT_KEYS, where, problems)
        name = entry.get("name")
        if not isinstance(name, str) or not _NAME.match(name):
            problems.append(JobError(f"{where}: name must be a word such as attestato_frequenza",
                                     file=path.name))
            continue
        if name in seen:
            problems.append(JobError(f"document name '{name}' is used twice", file=path.name))
        seen.add(name)
        template = entry.get("template")
        if not isinstance(template, str) or not template:
            problems.append(JobError(f"{where} ({name}): template is missing", file=path.name))
            continue
        template_path = (path.parent / template).resolve()
        kind = TEMPLATE_KINDS.get(template_path.suffix.lower())
        if kind is None:
            problems.append(JobError(
                f"template '{template}' must be .html (PDF) or .docx (Word)",
                file=path.name, document=name))
            continue
        if not template_path.is_file():
            problems.append(JobError(f"template not found: {template_path}", file=path.name,
                                     document=name))
            continue
        scope = entry.get("scope", "row")
        if scope not in ("row", "batch"):
            problems.append(JobError(f"scope must be 'row' or 'batch', not {scope!r}",
                                     file=path.name, document=name))
            continue
        for opt in ("filename", "when"):
            if opt in entry and not (isinstance(entry[opt], str) and entry[opt].strip()):
                problems.append(JobError(f"{opt} must be a non-empty text", file=path.name,
                                         document=name))
        if scope == "batch" and "when" in entry:
            problems.append(JobError("a batch document cannot have 'when'", file=path.name,
                                     document=name, hint="filter rows inside the template"))
        specs.append(DocumentSpec(
            name=name, template=template_path, kind=kind, scope=scope,
            filename=entry.get("filename"), when=entry.get("when"),
        ))
    return tuple(specs)
