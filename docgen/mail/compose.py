"""A message from a pending delivery: subject and bodies rendered (sandboxed, strict Jinja),
attachments read back and checked against the build, the MIME message assembled."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import mimetypes
from collections.abc import Sequence
from email.message import EmailMessage
from email.policy import SMTP, default
from email.utils import format_datetime
from pathlib import Path

from docgen.errors import DocgenError, describe
from docgen.files import OutputFolder
from docgen.job import Job
from docgen.mail.config import MailConfig
from docgen.mail.log import LogEntry
from docgen.mail.plan import Attachment, Delivery, Pending
from docgen.templating import make_environment

# Bodies 7-bit clean (quoted-printable), for relays without 8BITMIME.
BUILD_POLICY = default.clone(cte_type="7bit")
# Python before 3.13 drops the space between two encoded words when it folds a header, so an
# accented subject would arrive as "clienti –Mariù"; lines up to RFC 5322's 998 need no folding.
WIRE_POLICY = SMTP.clone(max_line_length=998)
# A draft's content digest (addresses, texts, attachments, Message-ID; not its Date): a draft
# whose digest is unchanged is not written again.
DRAFT_HEADER = "X-Docgen-Draft"


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
        return item.delivery("planned", item.why, subject=subject)

    def fingerprint(self, item: Pending) -> str:
        """What a draft says, digested: equal digests, equal drafts (but for the Date)."""
        c = self.config
        parts = [c.sender, item.to, c.reply_to, c.bcc, item.message_id, *self.texts(item),
                 [(a.name, a.sha256) for a in item.attachments]]
        text = json.dumps(parts, ensure_ascii=False, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:32]

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
        data = OutputFolder(self.out).read_bytes(attachment.path)
        if hashlib.sha256(data).hexdigest() != attachment.sha256:
            raise DocgenError(f"{attachment.path} changed while mailing: run docgen build, then mail again")
        return data


def entry(item: Pending, status: str, recipients: Sequence[str]) -> LogEntry:
    return LogEntry(time=dt.datetime.now().astimezone().isoformat(timespec="seconds"),
                    key=item.key or "", message_id=item.message_id, recipients=tuple(recipients),
                    files=tuple(a.name for a in item.attachments),
                    sha256=item.shas, status=status, label=item.name)
