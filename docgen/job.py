"""The job file: TOML in, frozen dataclasses out, every mistake named."""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from docgen.errors import DocgenError, JobError, UnusableError

DocumentKind = Literal["pdf", "docx"]
Scope = Literal["row", "batch"]

TEMPLATE_KINDS: dict[str, DocumentKind] = {".html": "pdf", ".htm": "pdf", ".docx": "docx"}
ROSTER_SUFFIXES = (".xlsx", ".xlsm", ".csv")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

# Known keys per table; later features add theirs here, so a typo is always caught.
JOB_KEYS = {"id", "locale", "roster", "sheet", "key", "optional", "columns", "checks",
            "pdf_variant", "metadata", "zip", "zip_by", "cluster"}
DOCUMENT_KEYS = {"name", "template", "filename", "when", "scope", "pdf", "title"}
# PDF/A-3u: archival (AgID guidelines prefer PDF/A), Unicode text, and attachments allowed.
DEFAULT_PDF_VARIANT = "pdf/a-3u"
PDF_VARIANTS = ("pdf/a-1b", "pdf/a-2b", "pdf/a-2u", "pdf/a-3b", "pdf/a-3u")
METADATA_KEYS = {"title", "author", "subject", "keywords", "date"}
ZIP_MODES = ("per-worker", "per-site-field", "batch")
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
    pdf: bool = False  # a Word document also converted to PDF (LibreOffice)
    title: str | None = None  # PDF title, a Jinja pattern over the row

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
    pdf_variant: str | None = DEFAULT_PDF_VARIANT  # None: plain PDF
    metadata: Mapping[str, str] = field(default_factory=dict)  # PDF properties, Jinja patterns
    zip: tuple[str, ...] = ()  # bundle modes written after a build
    zip_by: str | None = None  # the column per-site-field bundles group by
    cluster: str | None = None  # a Dask scheduler's address: render there (see cluster.py)

    @property
    def group_field(self) -> str:
        """The column per-site-field bundles group by."""
        return self.zip_by or "sede"

    @property
    def converts_pdf(self) -> bool:
        return any(d.pdf for d in self.documents)

    def with_options(self, *, pdf: bool = False, zip_modes: tuple[str, ...] = (),
                     cluster: str | None = None) -> Job:
        """The job as ``--pdf``, ``--zip`` and ``--cluster`` change it."""
        documents = tuple(replace(d, pdf=d.pdf or (pdf and d.kind == "docx"))
                          for d in self.documents)
        return replace(self, documents=documents, zip=tuple(dict.fromkeys(self.zip + zip_modes)),
                       cluster=cluster or self.cluster)

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
        return replace(self, documents=tuple(d for d in self.documents if d.name in names))


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


def check_keys(
    path: Path, table: Mapping[str, Any], known: set[str], where: str, problems: list[DocgenError]
) -> None:
    """Every key of ``table`` not in ``known`` is a problem naming it, with the closest key."""
    problems.extend(_unknown(path, "key", k, known, where) for k in table if k not in known)


def _build_job(path: Path, data: dict[str, Any], problems: list[DocgenError]) -> Job | None:
    folder = path.parent
    check_keys(path, data, TOP_KEYS, "the job file", problems)
    section = data.get("job")
    if not isinstance(section, dict):
        problems.append(JobError("missing [job] table", file=path.name, hint="see the README"))
        return None
    check_keys(path, section, JOB_KEYS, "[job]", problems)

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

        check_keys(path, checks, CHECK_KEYS, "[job.checks]", problems)
    else:
        problems.append(JobError("[job.checks] must be a table", file=path.name))
        checks = {}
    pdf_variant = _pdf_variant(path, section.get("pdf_variant", DEFAULT_PDF_VARIANT), problems)
    metadata = section.get("metadata", {})
    if not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        problems.append(JobError("[job.metadata] maps PDF properties to texts", file=path.name))
        metadata = {}
    check_keys(path, metadata, METADATA_KEYS, "[job.metadata]", problems)
    zip_modes = _zip_modes(path, section.get("zip", []), problems)
    zip_by = section.get("zip_by")
    if zip_by is not None and not isinstance(zip_by, str):
        problems.append(JobError("[job] zip_by must be a field name", file=path.name))
        zip_by = None
    cluster = text("cluster")
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
        course=course, documents=documents, mail=mail, checks=checks, pdf_variant=pdf_variant,
        metadata=metadata, zip=zip_modes, zip_by=zip_by, cluster=cluster,
    )


def _pdf_variant(path: Path, value: Any, problems: list[DocgenError]) -> str | None:
    if isinstance(value, str) and value.lower() == "none":
        return None
    if value not in PDF_VARIANTS:
        close = difflib.get_close_matches(str(value), PDF_VARIANTS, n=1)
        problems.append(JobError(
            f"pdf_variant {value!r} is not supported", file=path.name,
            hint=(f"did you mean '{close[0]}'? " if close else "")
            + f"use one of {', '.join(PDF_VARIANTS)}, or \"none\" for plain PDF"))
        return DEFAULT_PDF_VARIANT
    return str(value)


def zip_modes(value: Any) -> tuple[str, ...] | None:
    """``"batch"`` or ``["per-worker", "batch"]`` as a tuple; None if not valid modes."""
    modes = [value] if isinstance(value, str) else value
    if not isinstance(modes, list) or not all(m in ZIP_MODES for m in modes):
        return None
    return tuple(modes)


def _zip_modes(path: Path, value: Any, problems: list[DocgenError]) -> tuple[str, ...]:
    modes = zip_modes(value)
    if modes is None:
        problems.append(JobError(f"zip must be one or more of {', '.join(ZIP_MODES)}",
                                 file=path.name))
        return ()
    return modes


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
        check_keys(path, entry, DOCUMENT_KEYS, where, problems)
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
        pdf = entry.get("pdf", False)
        if not isinstance(pdf, bool) or (pdf and kind != "docx"):
            problems.append(JobError("pdf = true is for Word (.docx) documents; HTML templates "
                                     "always give PDF", file=path.name, document=name))
            pdf = False
        title = entry.get("title")
        if title is not None and not isinstance(title, str):
            problems.append(JobError("title must be a text", file=path.name, document=name))
            title = None
        specs.append(DocumentSpec(
            name=name, template=template_path, kind=kind, scope=scope,
            filename=entry.get("filename"), when=entry.get("when"), pdf=pdf, title=title,
        ))
    return tuple(specs)
