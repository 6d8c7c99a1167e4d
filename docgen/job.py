"""The job file: TOML in, frozen dataclasses out, every mistake named."""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from docgen.errors import DocgenError, JobError, UnusableError, suggest

DocumentKind = Literal["pdf", "docx"]
Scope = Literal["row", "batch"]

TEMPLATE_KINDS: dict[str, DocumentKind] = {".html": "pdf", ".htm": "pdf", ".docx": "docx"}
ROSTER_SUFFIXES = (".xlsx", ".xlsm", ".csv")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")

# Known keys per table; later features add theirs here, so a typo is always caught.
JOB_KEYS = {"id", "locale", "roster", "sheet", "key", "optional", "columns", "checks",
            "pdf_variant", "metadata", "zip", "zip_by", "header_row", "seal",
            "label", "assets", "limits", "cluster"}
DOCUMENT_KEYS = {"name", "template", "filename", "when", "scope", "pdf", "title"}
# PDF/A-3u: archival (AgID guidelines prefer PDF/A), Unicode text, and attachments allowed.
DEFAULT_PDF_VARIANT = "pdf/a-3u"
PDF_VARIANTS = ("pdf/a-1b", "pdf/a-2b", "pdf/a-2u", "pdf/a-3b", "pdf/a-3u")
METADATA_KEYS = frozenset({"title", "author", "subject", "keywords", "date"})  # [job.metadata]
ZIP_MODES = ("per-worker", "per-site-field", "batch")
# [job.checks]: which column holds what; checks.py gives each its meaning and default columns.
CHECK_KEYS = frozenset({"fiscal_code", "email", "birth_date", "sex", "hours", "numeric"})
TOP_KEYS = {"job", "course", "document", "mail"}
# [job.limits], per document: a real certificate never reaches them, a hostile template always
# does. A contract: keep the names.
LIMIT_KEYS = frozenset({"seconds", "pages", "memory_mb", "image_pixels"})


@dataclass(frozen=True)
class Limits:
    """``[job.limits]``: what one document may take."""

    seconds: int = 60  # wall-clock time to render one document
    pages: int = 200  # pages of one document
    memory_mb: int = 1024  # memory of one worker process
    image_pixels: int = 40_000_000  # pixels of one image (Pillow's decompression-bomb guard)


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
    header_row: int | None = None  # the roster's header row; None: found by the fields used
    seal: Mapping[str, Any] = field(default_factory=dict)  # the raw [job.seal]; see seal/settings.py
    label: str | None = None  # how a worker is named in summaries, bundles, mail: Jinja over the row
    assets: tuple[Path, ...] = ()  # more folders templates may read files from
    limits: Limits = field(default_factory=Limits)  # [job.limits]
    cluster: str | None = None  # a Dask scheduler's address: render there (see cluster.py)

    def reading_folders(self, template: Path) -> tuple[Path, ...]:
        """Where a template may read files: its own folder, the job file's, the assets."""
        return tuple(dict.fromkeys(p.resolve() for p in (template.parent, self.folder,
                                                         *self.assets)))

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
        seal = self.seal
        if isinstance(seal, Mapping) and isinstance(seal.get("documents"), list):
            # the sealed ones among those left (seal/settings.py checks the table)
            seal = {**seal, "documents": [d for d in seal["documents"] if d in names]}
        return replace(self, documents=tuple(d for d in self.documents if d.name in names),
                       seal=seal)


def _unknown(path: Path, what: str, name: str, known: set[str], where: str) -> JobError:
    hint = suggest(name, known) or f"known: {', '.join(sorted(known))}"
    return JobError(f"unknown {what} '{name}' in {where}", file=path.name, hint=hint)


def load_job(path: Path) -> Job:
    """Read and validate a job file; all problems are reported together."""
    path = Path(path)
    if problem := _not_a_job(path):
        raise problem
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


_OTHER_FILES = {".xlsx": "a spreadsheet", ".xlsm": "a spreadsheet", ".xls": "a spreadsheet",
                ".ods": "a spreadsheet", ".csv": "a spreadsheet", ".html": "an HTML template",
                ".htm": "an HTML template", ".docx": "a Word template", ".doc": "a Word document",
                ".odt": "a text document", ".pdf": "a PDF"}


def _not_a_job(path: Path) -> JobError | None:
    """A spreadsheet or a template given where the job file goes: say what it is."""
    what = _OTHER_FILES.get(path.suffix.lower())
    if what is None and path.is_file():
        with path.open("rb") as handle:
            head = handle.read(4)
        what = "an office file (a zip archive)" if head.startswith(b"PK\x03\x04") else None
    if what is None:
        return None
    role = ("the roster is named in it under [job] roster" if "spreadsheet" in what
            else "templates are named in it under [[document]] template")
    return JobError(f"{path.name} is {what}, not a job file", file=None,
                    hint=f"give the job file (.toml), e.g. docgen build input/job.toml: {role}.")


def _roster_hint(path: Path) -> str:
    """A did-you-mean for a roster not found: the same name in another case, or a close one."""
    try:
        names = [p.name for p in path.parent.iterdir() if p.suffix.lower() in ROSTER_SUFFIXES]
    except OSError:
        return "check the path in [job] roster."
    same = [n for n in names if n.casefold() == path.name.casefold()]
    if same:
        return f"did you mean '{same[0]}'? Only the case differs: fix [job] roster."
    close = suggest(path.name, names)
    return f"{close} Fix [job] roster." if close else "check the path in [job] roster."


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
    cluster = text("cluster")
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
            problems.append(JobError(f"roster not found: {roster_path}", file=path.name,
                                     hint=_roster_hint(roster_path)))

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
    limits = _limits(path, section.get("limits", {}), problems)
    header_row = section.get("header_row")
    if header_row is not None and (isinstance(header_row, bool) or not isinstance(header_row, int)
                                   or header_row < 1):
        problems.append(JobError("[job] header_row must be a row number such as 3",
                                 file=path.name))
        header_row = None
    label = section.get("label")
    if label is not None and not (isinstance(label, str) and label.strip()):
        problems.append(JobError("[job] label must be a pattern such as \"{{ cognome_e_nome }}\"",
                                 file=path.name))
        label = None
    assets = section.get("assets", [])
    if not (isinstance(assets, list) and all(isinstance(a, str) for a in assets)):
        problems.append(JobError('[job] assets must be a list of folders, e.g. ["../loghi"]',
                                 file=path.name))
        assets = []
    asset_paths = tuple((folder / a).resolve() for a in assets)
    for asset, asset_path in zip(assets, asset_paths, strict=True):
        if not asset_path.is_dir():
            problems.append(JobError(f"[job] assets: folder not found: {asset_path}",
                                     file=path.name, hint=f"create it, or fix '{asset}'."))
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
        metadata=metadata, zip=zip_modes, zip_by=zip_by, header_row=header_row,
        seal=section.get("seal", {}),
        label=label, assets=asset_paths, limits=limits, cluster=cluster,
    )


def _limits(path: Path, table: Any, problems: list[DocgenError]) -> Limits:
    if not isinstance(table, dict):
        problems.append(JobError("[job.limits] must be a table", file=path.name))
        return Limits()
    check_keys(path, table, set(LIMIT_KEYS), "[job.limits]", problems)
    values = {}
    for key in LIMIT_KEYS & set(table):
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            problems.append(JobError(f"[job.limits] {key} must be a whole number above 0",
                                     file=path.name, hint=f"the default is {getattr(Limits, key)}"))
        else:
            values[key] = value
    return Limits(**values)


def _pdf_variant(path: Path, value: Any, problems: list[DocgenError]) -> str | None:
    if isinstance(value, str) and value.lower() == "none":
        return None
    if value not in PDF_VARIANTS:
        close = suggest(str(value), PDF_VARIANTS)
        problems.append(JobError(
            f"pdf_variant {value!r} is not supported", file=path.name,
            hint=(f"{close} " if close else "")
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
        name = entry.get("name")
        if isinstance(name, str) and _NAME.match(name):
            where = f"[[document]] {name}"  # placed by the name the clerk wrote
        check_keys(path, entry, DOCUMENT_KEYS, where, problems)
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
