"""``[job.seal]``: which documents are sealed, with which key, carrying which printed fields;
and the per-document ``{{ seal }}`` value the plan gives each sealed document."""

from __future__ import annotations

import datetime as dt
import difflib
import hashlib
import os
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docgen.errors import DocgenError, JobError, TemplateError, suggest
from docgen.fingerprint import digest
from docgen.job import DocumentSpec, Job, check_keys
from docgen.seal.keys import SigningKey, load_signing_key
from docgen.seal.payload import FORMAT, Record, format_code, seal_text
from docgen.seal.qr import SealMark
from docgen.templating import format_date, format_number, make_environment

SEAL_KEYS = {"key", "issuer", "fields", "url", "documents"}
KEY_ENV = "DOCGEN_SEAL_KEY"  # overrides [job.seal] key: the key can live off the job's folder
NAME = "seal"  # what templates write: {{ seal }}
DOCUMENT_ID_BYTES = 8
DIGEST_BYTES = 8


@dataclass(frozen=True)
class SealSettings:
    """``[job.seal]`` checked: paths resolved, documents chosen."""

    key: Path
    issuer: str  # a Jinja pattern over course and job
    fields: tuple[str, ...]
    documents: tuple[str, ...]
    url: str | None = None


def key_path(job: Job, raw: Mapping[str, Any] | None = None) -> Path | None:
    """The private key in force: DOCGEN_SEAL_KEY, else [job.seal] key beside the job file."""
    if env := os.environ.get(KEY_ENV, "").strip():
        return Path(env).expanduser().resolve()
    value = (raw if raw is not None else job.seal).get("key")
    return (job.folder / value).resolve() if isinstance(value, str) and value.strip() else None


def gives_pdf(spec: DocumentSpec) -> bool:
    return spec.kind == "pdf" or spec.pdf


def seal_settings(job: Job, problems: list[DocgenError]) -> SealSettings | None:
    """``[job.seal]`` validated, or None when the job seals nothing; problems are appended."""
    raw = job.seal
    if not raw:
        return None
    where, file = "[job.seal]", job.path.name
    if not isinstance(raw, Mapping):
        problems.append(JobError(f"{where} must be a table", file=file))
        return None
    before = len(problems)
    check_keys(job.path, raw, SEAL_KEYS, where, problems)
    key = key_path(job, raw)
    if key is None:
        problems.append(JobError(f"{where} key is missing", file=file, hint=(
            f"name the private key file (docgen keys new NAME), or set {KEY_ENV}")))
    issuer = raw.get("issuer")
    if not (isinstance(issuer, str) and issuer.strip()):
        problems.append(JobError(f"{where} issuer must be a non-empty text", file=file,
                                 hint='e.g. issuer = "{{ course.provider.name }}"'))
    fields = raw.get("fields")
    if not (isinstance(fields, list) and fields and all(isinstance(f, str) for f in fields)):
        problems.append(JobError(f"{where} fields must be a list of field names", file=file,
                                 hint='e.g. fields = ["cognome", "nome", "codice_fiscale"]'))
        fields = []
    url = raw.get("url")
    if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
        problems.append(JobError(f"{where} url must be an https:// address", file=file))
    by_name = {d.name: d for d in job.documents}
    documents = raw.get("documents")
    if documents is None:
        documents = [d.name for d in job.documents if d.scope == "row" and gives_pdf(d)]
    elif not (isinstance(documents, list) and all(isinstance(d, str) for d in documents)):
        problems.append(JobError(f"{where} documents must be a list of document names",
                                 file=file))
        documents = []
    for name in documents:
        spec = by_name.get(name)
        if spec is None:
            problems.append(JobError(f"{where} documents names '{name}', which is not a "
                                     "[[document]] of the job", file=file,
                                     hint=suggest(name, by_name)))
        elif spec.scope == "batch":
            problems.append(JobError("a batch document cannot be sealed (a seal is one "
                                     "worker's)", file=file, document=name))
    if len(problems) > before or key is None:
        return None
    return SealSettings(key=key, issuer=str(issuer), fields=tuple(fields),
                        documents=tuple(documents), url=url)


def plan_seal(job: Job, roster_fields: list[str], used: MutableMapping[str, Any],
              problems: list[DocgenError]) -> Sealer | None:
    """Everything about the seal that ``check`` must catch before anything is written: the
    settings, the key, the issuer, the sealed fields, ``{{ seal }}`` where (and only where)
    a document is sealed. ``used`` (each document's fields) gains the sealed fields, so an
    empty one fails that row's document like any field the template prints."""
    settings = seal_settings(job, problems)
    if settings is None and job.seal:
        return None  # [job.seal] itself is wrong: which documents are sealed is not known
    sealed = set(settings.documents) if settings else set()
    for spec in job.documents:
        fields = used.get(spec.name)
        if fields is None:
            continue
        if spec.name in sealed and NAME not in fields.template:
            problems.append(TemplateError(
                "the document is sealed but its template has no {{ seal }}", file=spec.template.name,
                document=spec.name, hint="put {{ seal }} where the QR code goes (or leave the "
                "document out of [job.seal] documents)"))
        elif spec.name not in sealed and NAME in fields.template:
            problems.append(TemplateError(
                "the template uses {{ seal }} but the document is not sealed",
                file=spec.template.name, document=spec.name,
                hint="add [job.seal] to the job file, and the document to its documents"))
    if settings is None:
        return None
    missing = [f for f in settings.fields if f not in roster_fields]
    for name in missing:
        close = difflib.get_close_matches(name, roster_fields, n=2)
        problems.append(JobError(f"[job.seal] fields names '{name}', which no column gives",
                                 file=job.path.name, field=name,
                                 hint=f"did you mean {' or '.join(map(repr, close))}?" if close
                                 else f"the roster's columns give: {', '.join(roster_fields)}"))
    try:
        key = load_signing_key(settings.key)
        issuer = make_environment(job.locale).from_string(settings.issuer).render(
            course=job.course, job={"id": job.id, "locale": job.locale}).strip()
    except DocgenError as err:
        problems.append(err)
        return None
    except Exception as err:  # a Jinja error in the issuer pattern
        problems.append(JobError(f"[job.seal] issuer fails: {err}", file=job.path.name))
        return None
    if missing:
        return None
    for name in settings.documents:
        if name in used:
            used[name] = replace(used[name], template=used[name].template | set(settings.fields))
    return Sealer(job, settings, key, issuer)


class Sealer:
    """Signs each sealed document's record while the build is planned (in the main process:
    the private key never travels to the rendering workers)."""

    def __init__(self, job: Job, settings: SealSettings, key: SigningKey, issuer: str) -> None:
        self.job, self.settings, self.key, self.issuer = job, settings, key, issuer
        self.documents = frozenset(settings.documents)
        self.language = job.locale.split("_")[0]
        # Changing the key, issuer, fields or URL makes the sealed documents again.
        self.fingerprint = digest(FORMAT, key.kid.hex(), issuer, settings.fields, settings.url)

    def document_id(self, document: str, key: str | None) -> bytes:
        """Stable across rebuilds: the same job id, document and row key give the same id."""
        text = "\0".join((self.job.id, document, key or ""))
        return hashlib.sha256(text.encode("utf-8")).digest()[:DOCUMENT_ID_BYTES]

    def printed(self, value: Any) -> str:
        """A field as templates print it: text as is, dates short (12/03/1975), numbers in
        the locale (1.234,5)."""
        if isinstance(value, dt.date):
            return format_date(value, locale=self.job.locale)
        if isinstance(value, int | float) and not isinstance(value, bool):
            return format_number(value, locale=self.job.locale)
        return str(value).strip()

    def seal(self, spec: DocumentSpec, key: str | None, context: Mapping[str, Any],
             inputs: str) -> tuple[dict[str, Any], str]:
        """The document's context with ``seal`` added, and its inputs digest with the seal's
        settings added (the record carries the first bytes of that digest)."""
        inputs = digest(inputs, self.fingerprint)
        record = Record(kid=self.key.kid, document_id=self.document_id(spec.name, key),
                        document=spec.name, issuer=self.issuer, issued=context["today"],
                        fields=tuple(self.printed(context[f]) for f in self.settings.fields),
                        digest=bytes.fromhex(inputs)[:DIGEST_BYTES])
        mark = SealMark(payload=seal_text(record, self.key.sign),
                        code=format_code(record.document_id), url=self.settings.url,
                        language=self.language)
        return {**context, NAME: mark}, inputs


def job_key(job_path: Path) -> Path:
    """The private key a job signs with: DOCGEN_SEAL_KEY, else its [job.seal] key."""
    from docgen.job import load_job

    if env := os.environ.get(KEY_ENV, "").strip():
        return Path(env).expanduser().resolve()
    if not job_path.is_file():
        raise JobError(f"no keys given, and no job file at {job_path} to take them from",
                       hint="give --keys (a folder of .pub.json files, or a published "
                            f"keys.json), --key, --job JOB, or set {KEY_ENV}")
    job = load_job(job_path)
    path = key_path(job)
    if path is None:
        raise JobError("the job has no [job.seal] key", file=job.path.name,
                       hint=f"give the key with --key or --keys, or set {KEY_ENV}")
    return path


def job_fields(job_path: Path) -> tuple[str, ...]:
    """The sealed fields' names, to name a field in a message; none when the job is unusable."""
    from docgen.job import load_job

    try:
        fields = load_job(job_path).seal.get("fields", ())
    except DocgenError:
        return ()
    return tuple(f for f in fields if isinstance(f, str)) if isinstance(fields, list) else ()
