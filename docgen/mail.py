"""E-mail: each worker's documents of a build, as .eml drafts or over SMTP, never sent twice."""

from __future__ import annotations

import datetime as dt
import hashlib
import mimetypes
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime
from pathlib import Path
from typing import Literal

from docgen.errors import DocgenError, JobError, UnusableError, describe
from docgen.files import atomic_write, inside
from docgen.job import Job
from docgen.mail_config import MailConfig, load_mail_config, smtp_credentials
from docgen.mail_log import MAIL_FOLDER, LogEntry, append_log, mail_lock, read_log
from docgen.mail_plan import (
    Attachment,
    Delivery,
    Item,
    OnDelivery,
    Pending,
    Status,
    office_items,
    worker_items,
)
from docgen.manifest import read_manifest
from docgen.names import sanitize_segment
from docgen.templating import make_environment

__all__ = ["Attachment", "Delivery", "MailReport", "Pending", "deliver_mail"]

Mode = Literal["drafts", "send"]
# Bodies 7-bit clean (quoted-printable), for relays without 8BITMIME.
BUILD_POLICY = default.clone(cte_type="7bit")
# Python before 3.13 drops the space between two encoded words when it folds a header, so an
# accented subject would arrive as "clienti –Mariù"; lines up to RFC 5322's 998 need no folding.
WIRE_POLICY = SMTP.clone(max_line_length=998)


@dataclass
class MailReport:
    """Every message's fate, their counts and the exit code they mean."""

    deliveries: list[Delivery] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for d in self.deliveries if d.status == status)

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0



def deliver_mail(job: Job, out: Path, *, mode: Mode | None = None, office: str | None = None,
                 resend: bool = False, dry_run: bool = False, on_delivery: OnDelivery | None = None,
                 environ: Mapping[str, str] | None = None) -> MailReport:
    """Draft or send each worker's ok documents of the build in ``out`` (or, with ``office``, one
    zip of the whole batch to that address); skips what the mail log shows as already sent.

    ``mode`` defaults to ``send`` when ``[mail.smtp]`` is set, else ``drafts``. Fatal problems
    (config, no build, server unreachable) raise before anything is sent.
    """
    from docgen.mail_send import send_all

    config = load_mail_config(job)
    mode = mode or ("send" if config.smtp else "drafts")
    credentials = None
    if mode == "send":
        if config.smtp is None:
            raise UnusableError([JobError("sending needs a [mail.smtp] table with the server's host",
                                          file=job.path.name, hint="or make drafts with --drafts")])
        credentials = smtp_credentials(config.smtp, environ)
    records = read_manifest(out)
    if not records:
        raise UnusableError([DocgenError(f"no manifest.csv in {out}",
                                         hint="run docgen build first, with the same --out")])
    report = MailReport()

    def emit(delivery: Delivery) -> None:
        report.deliveries.append(delivery)
        if on_delivery:
            on_delivery(delivery)

    def plan() -> list[Item]:
        log = read_log(out)
        if office is not None:
            return office_items(job, config, out, records, log, office, resend, dry_run=dry_run)
        return worker_items(job, config, out, records, log, resend)

    composer = Composer(job, config, out)
    if dry_run:
        for item in plan():
            emit(item if isinstance(item, Delivery) else composer.planned(item))
        return report
    with mail_lock(out):
        items = plan()
        if mode == "drafts":
            write_drafts(items, composer, out, emit)
        else:
            assert config.smtp is not None
            send_all(items, composer, config, credentials, out, emit)
    return report


class Composer:
    """Renders subject and bodies (sandboxed, strict Jinja) and assembles the MIME message."""

    def __init__(self, job: Job, config: MailConfig, out: Path) -> None:
        self.config, self.out = config, out
        text, html = make_environment(job.locale), make_environment(job.locale, autoescape=True)
        self.worker = (text.from_string(config.subject), text.from_string(config.body),
                       html.from_string(config.html_body) if config.html_body else None)
        self.office = (text.from_string(config.office_subject), text.from_string(config.office_body),
                       None)

    def texts(self, item: Pending) -> tuple[str, str, str | None]:
        subject, body, html = self.office if item.key is None else self.worker
        context = item.context
        # One line: a newline in a header would be a header injection.
        return (" ".join(subject.render(context).split()), body.render(context),
                html.render(context) if html else None)

    def planned(self, item: Pending) -> Delivery:
        try:
            subject = self.texts(item)[0]
        except Exception as err:  # a template that fails on this row: that message fails
            return item.delivery("failed", f"cannot make the message: {describe(err)}")
        return item.delivery("planned", item.reason, subject=subject)

    def message(self, item: Pending, *, draft: bool) -> EmailMessage:
        subject, body, html = self.texts(item)
        c = self.config
        message = EmailMessage(policy=BUILD_POLICY)
        message["From"] = c.sender
        message["To"] = ", ".join(item.to)
        if c.reply_to:
            message["Reply-To"] = ", ".join(c.reply_to)
        if c.bcc and draft:
            message["Bcc"] = ", ".join(c.bcc)  # for the mail client; sending puts it in the envelope only
        message["Subject"] = subject
        message["Date"] = format_datetime(dt.datetime.now().astimezone())
        message["Message-ID"] = item.message_id
        if draft:
            message["X-Unsent"] = "1"  # mail clients open the .eml as a message ready to send
        message.set_content(body)
        if html is not None:
            message.add_alternative(html, subtype="html")
        for attachment in item.attachments:
            data = self._read(attachment)
            kind = mimetypes.guess_type(attachment.name)[0] or "application/octet-stream"
            maintype, subtype = kind.split("/", 1)
            message.add_attachment(data, maintype=maintype, subtype=subtype, filename=attachment.name)
        return message

    def _read(self, attachment: Attachment) -> bytes:
        data = inside(self.out, attachment.path).read_bytes()
        if hashlib.sha256(data).hexdigest() != attachment.sha256:
            raise DocgenError(f"{attachment.path} changed while mailing: run docgen build, then mail again")
        return data


def entry(item: Pending, status: str, recipients: Sequence[str]) -> LogEntry:
    return LogEntry(time=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    key=item.key or "", message_id=item.message_id, recipients=tuple(recipients),
                    files=tuple(a.name for a in item.attachments),
                    sha256=item.shas, status=status)


def write_drafts(items: Sequence[Item], composer: Composer, out: Path,
                 emit: OnDelivery) -> None:
    """One .eml per message in ``mail/``, written atomically and logged as a draft."""
    used: set[str] = set()
    for item in items:
        if isinstance(item, Delivery):
            emit(item)
            continue
        stem = item.key if item.key is not None else f"office {item.to[0]}"
        name = sanitize_segment(f"{stem}.eml")
        if name.casefold() in used:
            name = sanitize_segment(f"{stem} row {item.row}.eml")
        used.add(name.casefold())
        relative = f"{MAIL_FOLDER}/{name}"
        try:
            data = composer.message(item, draft=True).as_bytes(policy=WIRE_POLICY)
            atomic_write(out / relative, data)
        except Exception as err:  # this message fails; the others go on
            emit(item.delivery("failed", f"cannot make the message: {describe(err)}"))
            continue
        append_log(out, entry(item, "draft", item.to))
        emit(item.delivery("draft", item.reason, path=relative))
