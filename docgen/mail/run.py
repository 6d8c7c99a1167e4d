"""``docgen mail``: each worker's documents of a build, as .eml drafts or over SMTP, never
sent twice. The orchestration; composing, planning, sending and the log have modules of their own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal

from docgen.errors import DocgenError, JobError, UnusableError, describe, signal_exit_code
from docgen.files import OutputFolder
from docgen.job import Job
from docgen.mail.compose import DRAFT_HEADER, WIRE_POLICY, Composer, entry
from docgen.mail.config import load_mail_config, smtp_credentials
from docgen.mail.interrupt import Stop
from docgen.mail.log import MAIL_FOLDER, append_log, mail_lock, read_log
from docgen.mail.plan import (
    Delivery,
    MailItem,
    OnDelivery,
    Resend,
    Status,
    office_items,
    worker_items,
)
from docgen.manifest import read_manifest
from docgen.names import sanitize_segment

Mode = Literal["drafts", "send"]


@dataclass
class MailReport:
    """Every message's fate, their counts and the exit code they mean."""

    deliveries: list[Delivery] = field(default_factory=list)
    stopped: int | None = None  # the signal (SIGINT, SIGTERM) that stopped mailing
    stopped_name: str = ""

    def count(self, status: Status) -> int:
        return sum(1 for d in self.deliveries if d.status == status)

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == "failed"]

    @property
    def uncertain(self) -> list[Delivery]:
        """Messages an earlier (or this) run handed over without hearing back."""
        return [d for d in self.deliveries if d.status == "uncertain"]

    def reasons(self) -> Counter[str]:
        """Why the messages that go (or would) go: new, not reached, documents changed..."""
        return Counter(d.reason for d in self.deliveries
                       if d.status in ("sent", "draft", "planned") and d.reason)

    @property
    def exit_code(self) -> int:
        if self.stopped:
            return signal_exit_code(self.stopped)
        return 1 if self.failed or self.uncertain else 0



def deliver_mail(job: Job, out: Path, *, mode: Mode | None = None, office: str | None = None,
                 resend: Resend = False, dry_run: bool = False, on_delivery: OnDelivery | None = None,
                 environ: Mapping[str, str] | None = None) -> MailReport:
    """Draft or send each worker's ok documents of the build in ``out`` (or, with ``office``, one
    zip of the whole batch to that address); skips what the mail log shows as already sent,
    or as handed to the server without an answer (``resend``: True for everything, or the
    keys of the workers to send again).

    ``mode`` defaults to ``send`` when ``[mail.smtp]`` is set, else ``drafts``. Fatal problems
    (config, no build, server unreachable) raise before anything is sent.
    """
    from docgen.mail.send import send_all

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

    def plan() -> list[MailItem]:
        log = read_log(out)
        if office is not None:
            return office_items(job, config, out, records, log, office, resend, dry_run=dry_run)
        return worker_items(job, config, out, records, log, resend)

    composer = Composer(job, config, out)
    if dry_run:
        for item in plan():
            emit(item if isinstance(item, Delivery) else composer.planned(item))
        return report
    stop = Stop()
    with stop.catching(), mail_lock(out):
        items = plan()
        if mode == "drafts":
            write_drafts(items, composer, out, emit, stop)
        else:
            assert config.smtp is not None
            send_all(items, composer, config, credentials, out, emit, stop)
    report.stopped, report.stopped_name = stop.signum, stop.name
    return report


def write_drafts(items: Sequence[MailItem], composer: Composer, out: Path,
                 emit: OnDelivery, stop: Stop | None = None) -> None:
    """One .eml per message in ``mail/``, written atomically and logged as a draft; a draft
    already there with the same content is left alone and not logged again (``unchanged``)."""
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
        if stop is not None and stop.signum:
            emit(item.delivery("failed", f"not written: interrupted ({stop.name})"))
            continue
        try:
            fingerprint = composer.fingerprint(item)
            if _draft_fingerprint(out, relative) == fingerprint:
                emit(replace(item.delivery("draft", "unchanged", path=relative), reason="unchanged"))
                continue
            message = composer.message(item, draft=True)
            message[DRAFT_HEADER] = fingerprint
            OutputFolder(out).write(relative, message.as_bytes(policy=WIRE_POLICY))
        except Exception as err:  # this message fails; the others go on
            emit(item.delivery("failed", f"cannot make the message: {describe(err)}"))
            continue
        append_log(out, entry(item, "draft", item.to))
        emit(item.delivery("draft", item.why, path=relative))


def _draft_fingerprint(out: Path, relative: str) -> str | None:
    """The fingerprint header of the draft at ``relative``, or None (read without following
    a link, as everything under the output folder)."""
    from email import message_from_bytes
    from email.policy import default

    try:
        value = message_from_bytes(OutputFolder(out).read_bytes(relative),
                                   policy=default).get(DRAFT_HEADER)
    except (OSError, DocgenError):
        return None
    return str(value) if value else None
