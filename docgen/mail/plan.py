"""What to mail: per roster row, the build's ok files to attach, or why there is nothing to send."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from docgen.bundles import BUNDLES_FOLDER
from docgen.checks import SEVERAL_ADDRESSES_FIX, several_addresses
from docgen.clock import build_date
from docgen.errors import DocgenError, JobError, UnusableError, suggest
from docgen.fields import names_used
from docgen.files import inside, sha256_file
from docgen.job import Job
from docgen.mail.config import TEXT_KEYS, MailConfig, is_address, split_addresses
from docgen.mail.log import MAIL_FOLDER, LogEntry
from docgen.names import field_name, sanitize_segment
from docgen.plan import Labeller
from docgen.record import RECORD, read_record, row_values
from docgen.roster import Roster, Row
from docgen.templating import BUILTINS, make_environment, row_context
from docgen.validate import job_fields, missing_field, read_job_roster

# uncertain: an earlier run handed the message over and never heard back (see log.py);
# by hand: the worker has no address, on purpose (the address field is optional).
Status = Literal["sent", "draft", "planned", "skipped", "failed", "uncertain", "by hand"]
Resend = bool | frozenset[str]  # --resend: everything (True), or the workers with these keys
MAIL_NAMES = BUILTINS | {"documents"}  # what subject and body see besides the row's fields
_MB = 1024 * 1024


@dataclass(frozen=True)
class Attachment:
    """A file to attach, ``path`` relative to the output folder."""

    name: str
    path: str
    sha256: str
    size: int


@dataclass(frozen=True)
class Delivery:
    """What happened to one message, or would in a dry run; ``key`` is None for an office."""

    status: Status
    key: str | None = None
    row: int | None = None
    recipients: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    message: str = ""
    subject: str = ""
    message_id: str = ""
    path: str = ""
    reason: str = ""  # why it goes: new, not reached, documents changed, resend
    label: str = ""  # the worker by [job] label, when the job sets one

    @property
    def who(self) -> str:
        if self.key is None:
            return f"office {', '.join(self.recipients)}"
        if self.row is None:
            return self.key
        named = f", {self.label}" if self.label and self.label != self.key else ""
        return f"row {self.row} ({self.key}{named})" if self.key else f"row {self.row}"


@dataclass(frozen=True)
class Pending:
    """A message still to make: for whom, with which files, and why it goes now."""

    key: str | None
    row: int | None
    to: tuple[str, ...]
    attachments: tuple[Attachment, ...]
    context: Mapping[str, Any] = field(repr=False)
    reason: str
    message_id: str
    shas: tuple[str, ...]  # what the log keeps: the files' sha256s (inside the zip, for an office)
    note: str = ""  # said with the reason, e.g. the documents that failed in the build
    label: str = ""  # shown in messages when the job sets [job] label
    name: str = ""  # the worker as the log names them: [job] label, else SURNAME Name

    @property
    def why(self) -> str:
        return "; ".join(filter(None, (self.reason, self.note)))

    def delivery(self, status: Status, message: str = "", **more: Any) -> Delivery:
        return Delivery(status, key=self.key, row=self.row, recipients=self.to,
                        files=tuple(a.name for a in self.attachments), message=message,
                        message_id=self.message_id, reason=self.reason, label=self.label,
                        **more)


MailItem = Pending | Delivery
OnDelivery = Callable[[Delivery], None]


def uncertain_message(key: str | None, message_id: str, why: str = "") -> str:
    """What a worker whose message may have reached the server is told, and what to do."""
    again = f"docgen mail --resend {key}" if key else "docgen mail --to-office ... --resend"
    detail = f" ({why})" if why else ""
    return (f"may have been delivered (Message-ID {message_id}){detail}: ask the recipient or "
            f"the server's log, and only if it did not arrive run {again}")


def resends(resend: Resend, key: str) -> bool:
    return resend is True or (isinstance(resend, frozenset) and key in resend)


def message_id(config: MailConfig, job: Job, key: str | None, to: Sequence[str],
               shas: Sequence[str], sends: int) -> str:
    """The same message gets the same Message-ID, so a resend after a crash can be recognised."""
    digest = hashlib.sha256("\n".join([job.id, key or "", *to, *shas, str(sends)]).encode()).hexdigest()
    return f"<{digest[:32]}.docgen@{config.domain}>"


def _decide(log: Sequence[LogEntry], key: str, to: Sequence[str], shas: Sequence[str],
            resend: bool) -> tuple[str, int, LogEntry | None]:
    """Why this message goes (or the log line saying it went already, or may have), and how
    many went before. A message logged ``sending`` whose last line is still that may have
    reached the server: it counts as gone until ``--resend``."""
    mine = [e for e in log if e.key == key and (key or set(to) <= set(e.recipients))]
    last = {e.message_id: e for e in mine}  # each message's latest line
    sent = [e for e in mine if e.status == "sent"]
    open_ = [e for e in last.values() if e.status == "sending"]
    same_files = [e for e in sent if set(e.sha256) == set(shas)]
    same = [e for e in same_files if set(to) <= set(e.recipients)]
    maybe = [e for e in open_ if set(e.sha256) == set(shas) and set(to) <= set(e.recipients)]
    if (same or maybe) and not resend:
        return "", len(sent), (same or maybe)[-1]
    reason = ("resend" if same or maybe else "new" if not sent
              else "not reached" if same_files else "documents changed")
    return reason, len(sent), None


def _skipped(key: str | None, row: int | None, to: Sequence[str], files: Sequence[str],
             done: LogEntry) -> Delivery:
    if done.status == "sending":
        return Delivery("uncertain", key=key, row=row, recipients=tuple(to), files=tuple(files),
                        message_id=done.message_id,
                        message=uncertain_message(key, done.message_id,
                                                  f"handed to the server on {done.time}"))
    return Delivery("skipped", key=key, row=row, recipients=tuple(to), files=tuple(files),
                    message_id=done.message_id,
                    message=f"already sent on {done.time}; --resend sends again")


def worker_items(job: Job, config: MailConfig, out: Path, records: Sequence[Mapping[str, str]],
                 log: Sequence[LogEntry], resend: Resend) -> list[MailItem]:
    """One item per roster row: a message to make, or why there is none. Names and addresses
    are the build's: a row edited since the build is refused until the next build."""
    roster = read_job_roster(job, job_fields(job))  # the rows build made documents for
    texts = {name: getattr(config, name) for name in TEXT_KEYS}
    if problems := field_problems(job, roster, config.to_field, texts):
        raise UnusableError(problems)
    to_field = _to_field(job, config, roster)
    naming = Labeller(job)
    labeller = naming if job.label else None
    built = _built_rows(out)
    _check_resend_keys(job, roster, resend)
    by_key: dict[str, list[Mapping[str, str]]] = defaultdict(list)
    for record in records:
        if record.get("key"):
            by_key[record["key"]].append(record)
    job_info, today = {"id": job.id, "locale": job.locale}, build_date()
    items: list[MailItem] = []
    for row in roster.rows:
        value = row.value(job.key)
        key = None if value is None else str(value)
        lines = by_key.get(key or "", [])
        ok = _mailable(lines)
        failed = sorted({line.get("document", "") for line in lines if line.get("status") == "failed"})
        label = labeller(row, key) if labeller else ""
        fail = Delivery("failed", key=key or "", row=row.number, label=label)
        if key is None:
            items.append(replace(fail, message=f"the key field '{job.key}' is empty"))
            continue
        if lines and (changed := _changed_since_build(built.get(key), row)) is not None:
            items.append(replace(fail, message=changed))
            continue
        if not ok:
            if failed:
                items.append(replace(fail, message=f"no documents to send: {', '.join(failed)} failed "
                                     "in the build; fix them and build again"))
            elif not lines:
                items.append(replace(fail, message="not in this build's manifest.csv: "
                                     "run docgen build again"))
            else:
                items.append(Delivery("skipped", key=key, row=row.number, label=label,
                                      message="no documents for this worker in this build"))
            continue
        cell = roster.cell(to_field, row.number)
        address = row.value(to_field)
        if address is None and to_field in job.optional:
            items.append(Delivery("by hand", key=key, row=row.number,
                                  message="no address: deliver by hand"))
            continue
        to = split_addresses(address)
        bad = [a for a in to if not is_address(a)]
        several = several_addresses(str(address)) if address is not None else None
        if not to or bad or several:
            problem = (several if several else f"not an e-mail address: {', '.join(bad)}" if bad
                       else "no e-mail address")
            fix = (SEVERAL_ADDRESSES_FIX if several else "fix the roster, or deliver by hand"
                   if to else f"fix the roster, or list '{to_field}' in [job] optional to "
                   "deliver by hand")
            items.append(replace(fail, message=f"{problem} (cell {cell}): {fix}"))
            continue
        try:
            attachments = _attachments(out, ok, config.max_attachment_bytes)
        except DocgenError as err:
            items.append(replace(fail, recipients=tuple(to), message=str(err)))
            continue
        shas = [a.sha256 for a in attachments]
        reason, sends, done = _decide(log, key, to, shas, resends(resend, key))
        if done is not None:
            items.append(replace(_skipped(key, row.number, to, [a.name for a in attachments], done),
                                 label=label))
            continue
        note = f"without {', '.join(failed)} (failed in the build)" if failed else ""
        context = {**row_context(row.fields, number=row.number, course=job.course, job=job_info,
                                 today=today), "documents": [a.name for a in attachments]}
        items.append(Pending(key, row.number, tuple(to), attachments, context, reason,
                             message_id(config, job, key, to, shas, sends), tuple(shas), note,
                             label=label, name=naming(row, key)))
    return items


def _built_rows(out: Path) -> dict[str, dict[str, Any]]:
    """The rows the build in ``out`` made its documents from (record.py)."""
    record = read_record(out)
    if not record.found:
        raise UnusableError([DocgenError(
            f"no record of the build's rows in {out} ({RECORD})",
            hint="run docgen build first (a build by this version of docgen writes it)")])
    return record.rows


def _changed_since_build(built: Mapping[str, Any] | None, row: Row) -> str | None:
    """Why this worker cannot be mailed what the build made, or None."""
    if built is None:
        return "not in the last build: run docgen build first, then mail again"
    now, then = row_values(row), built.get("fields", {})
    changed = sorted(f for f in set(now) | set(then) if now.get(f) != then.get(f))
    if changed:
        return (f"the roster row changed since the build ({', '.join(changed)}): run docgen "
                "build first, so the documents and the message match the roster, then mail again")
    return None


def _check_resend_keys(job: Job, roster: Roster, resend: Resend) -> None:
    if not isinstance(resend, frozenset):
        return
    keys = {str(r.value(job.key)) for r in roster.rows if r.value(job.key) is not None}
    if unknown := sorted(resend - keys):
        raise UnusableError([DocgenError(
            f"--resend {k}: no worker has this {job.key}", file=roster.name,
            hint=suggest(k, keys) or "give the key as the manifest shows it") for k in unknown])


def office_items(job: Job, config: MailConfig, out: Path, records: Sequence[Mapping[str, str]],
                 log: Sequence[LogEntry], address: str, resend: Resend, *,
                 dry_run: bool) -> list[MailItem]:
    """One message to an office: the whole batch as one zip (made unless ``dry_run``)."""
    if not is_address(address):
        raise UnusableError([DocgenError(f"--to-office: not an e-mail address: {address!r}")])
    ok = sorted((r for r in records if _document(r)), key=lambda r: r["path"])
    if not ok:
        raise UnusableError([DocgenError(f"no documents in {out / 'manifest.csv'}",
                                         hint="run docgen build first")])
    name = sanitize_segment(f"{job.id}.zip")
    failed = Delivery("failed", recipients=(address,), files=(name,))
    try:
        for line in ok:
            _checked(out, line)
    except DocgenError as err:
        return [replace(failed, message=str(err))]
    # The documents' fingerprints, not the zip's: "the same documents" is what must not go twice.
    shas = tuple(r["sha256"] for r in ok)
    reason, sends, done = _decide(log, "", [address], shas, resend is True)
    if done is not None:
        return [_skipped(None, None, [address], [name], done)]
    zipped = Attachment(name, f"{MAIL_FOLDER}/{name}", "", 0)
    if not dry_run:
        try:
            zipped = _batch_zip(job, out, ok, config.max_attachment_bytes)
        except DocgenError as err:
            return [replace(failed, message=str(err))]
    context = {"course": job.course, "job": {"id": job.id, "locale": job.locale},
               "today": build_date(), "row": None, "documents": [r["path"] for r in ok]}
    return [Pending(None, None, (address,), (zipped,), context, reason,
                    message_id(config, job, None, [address], shas, sends), shas)]


def _batch_zip(job: Job, out: Path, lines: Sequence[Mapping[str, str]], limit: int) -> Attachment:
    """The batch bundle in ``mail/<job id>.zip`` (same documents, same bytes), within the limit."""
    from docgen.bundles import BundleEntry, make_bundles

    entries = [BundleEntry(key=r.get("key") or None, label=r.get("key") or "", path=r["path"],
                           group=None) for r in lines]
    [path] = make_bundles(out, entries, modes=["batch"], folder=MAIL_FOLDER,
                          batch_name=sanitize_segment(job.id))
    size = path.stat().st_size
    if size > limit:
        raise DocgenError(f"the zip is {size / _MB:.1f} MB, over max_attachment_mb = "
                          f"{round(limit / _MB, 3):g}", hint="send the bundles per site instead")
    relative = path.relative_to(out).as_posix()
    return Attachment(path.name, relative, sha256_file(path), size)


def _mailable(lines: Sequence[Mapping[str, str]]) -> list[Mapping[str, str]]:
    """A worker's documents to attach: a Word document converted to PDF goes as the PDF
    only (workers and offices expect PDF, not an editable file)."""
    converted = {line.get("source") for line in lines if _document(line) and line.get("source")}
    return [line for line in lines if _document(line) and line.get("path") not in converted]


def _document(line: Mapping[str, str]) -> bool:
    """An ok document of the build; zip bundles the build listed are not documents to mail."""
    path = line.get("path") or ""
    return (line.get("status") in ("ok", "unchanged") and bool(path)
            and not path.startswith(f"{BUNDLES_FOLDER}/"))


def _checked(out: Path, line: Mapping[str, str]) -> Path:
    """The file of a manifest line, if it is still the one the build wrote."""
    try:
        path = inside(out, line["path"])
    except ValueError as err:
        raise DocgenError(str(err)) from err
    if not path.is_file():
        raise DocgenError(f"{line['path']} is missing: run docgen build again")
    if sha256_file(path) != line.get("sha256"):
        raise DocgenError(f"{line['path']} changed since the build: run docgen build again")
    return path


def _attachments(out: Path, lines: Sequence[Mapping[str, str]], limit: int) -> tuple[Attachment, ...]:
    result: list[Attachment] = []
    names: set[str] = set()
    for line in lines:
        path = _checked(out, line)
        name = path.name
        if name.casefold() in names:  # two documents with one file name: tell them apart
            name = sanitize_segment(f"{line.get('document', '')}_{name}")
        names.add(name.casefold())
        result.append(Attachment(name, line["path"], line["sha256"], path.stat().st_size))
    total = sum(a.size for a in result)
    if total > limit:
        raise DocgenError(f"attachments are {total / _MB:.1f} MB, over max_attachment_mb = "
                          f"{round(limit / _MB, 3):g}", hint="raise the limit in [mail] or send them by hand")
    return tuple(result)


def _to_field(job: Job, config: MailConfig, roster: Roster) -> str:
    for candidate in (config.to_field, field_name(config.to_field)):
        if candidate in roster.fields:
            return candidate
    raise UnusableError([_to_problem(job, config.to_field, roster)])


def _to_problem(job: Job, to_field: str, roster: Roster) -> DocgenError:
    hint = (suggest(field_name(to_field), roster.fields)
            or "add a column with the workers' addresses")
    return JobError(f"[mail] to = '{to_field}', but no column of {roster.name} gives "
                    "that field", file=job.path.name, field=to_field, hint=hint)


def field_problems(job: Job, roster: Roster, to_field: str,
                   texts: Mapping[str, str | None]) -> list[DocgenError]:
    """What ``mail`` would refuse before sending, and ``check`` reports: a ``to`` no column
    gives, a name the subject or bodies (``texts``) read that is neither a field nor a
    builtin, a ``course.`` entry the [course] table lacks."""
    from docgen.fields import DocumentFields, course_problems, course_reads

    problems: list[DocgenError] = []
    if not any(c in roster.fields for c in (to_field, field_name(to_field))):
        problems.append(_to_problem(job, to_field, roster))
    env = make_environment(job.locale)
    known = set(roster.fields) | MAIL_NAMES
    reads: set[tuple[str, tuple[str, ...]]] = set()
    for name, source in texts.items():
        if not source:
            continue
        if not name.startswith("office"):  # the office message has no row
            problems += [missing_field(missing, roster, job.path.name, None, f"[mail] {name}",
                                       fix="rename the column or fix the text")
                         for missing in sorted(names_used(env, source) - known)]
        reads |= {(f"{job.path.name} [mail] {name}", p) for p in course_reads(env, source)}
    empty = DocumentFields(frozenset(), frozenset(), frozenset(), course=frozenset(reads))
    return problems + course_problems(job, empty, "mail")
