"""``docgen mail``: each worker's documents of a build, as .eml drafts or over SMTP, never
sent twice. The orchestration; composing, planning, sending and the log have modules of their own."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from docgen.errors import DocgenError, JobError, UnusableError, describe
from docgen.files import OutputFolder
from docgen.job import Job
from docgen.mail.compose import WIRE_POLICY, Composer, entry
from docgen.mail.config import load_mail_config, smtp_credentials
from docgen.mail.log import MAIL_FOLDER, append_log, mail_lock, read_log
from docgen.mail.plan import Delivery, MailItem, OnDelivery, Status, office_items, worker_items
from docgen.manifest import read_manifest
from docgen.names import sanitize_segment

Mode = Literal["drafts", "send"]


@dataclass
class MailReport:
    """Every message's fate, their counts and the exit code they mean."""

    deliveries: list[Delivery] = field(default_factory=list)

    def count(self, status: Status) -> int:
        return sum(1 for d in self.deliveries if d.status == status)

    @property
    def failed(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.status == "failed"]

    def reasons(self) -> Counter[str]:
        """Why the messages that go (or would) go: new, not reached, documents changed..."""
        return Counter(d.reason for d in self.deliveries
                       if d.status in ("sent", "draft", "planned") and d.reason)

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
    with mail_lock(out):
        items = plan()
        if mode == "drafts":
            write_drafts(items, composer, out, emit)
        else:
            assert config.smtp is not None
            send_all(items, composer, config, credentials, out, emit)
    return report


def write_drafts(items: Sequence[MailItem], composer: Composer, out: Path,
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
            OutputFolder(out).write(relative, data)
        except Exception as err:  # this message fails; the others go on
            emit(item.delivery("failed", f"cannot make the message: {describe(err)}"))
            continue
        append_log(out, entry(item, "draft", item.to))
        emit(item.delivery("draft", item.why, path=relative))
