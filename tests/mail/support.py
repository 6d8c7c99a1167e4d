"""Shared by the tests beside it."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import socket
import textwrap
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from docgen.job import load_job
from docgen.mail.run import MailReport, deliver_mail
from docgen.manifest import Outcome, write_manifest
from docgen.record import write_record
from docgen.roster import read_roster
from tests.conftest import write_xlsx

HEADER = ["Cognome", "Nome", "Codice fiscale", "Email"]


WORKERS = [
    ["D'Angelo", "Niccolò", "DNGNCL80A01I726X", "niccolo@example.org"],
    ["Lucà", "Mariù", "LCUMRA85C52D612Y", "mariu@example.org"],
    ["Bianchi", "Giulia", "BNCGLI90E41H501Z", "giulia@example.org"],
]


KEYS = [w[2] for w in WORKERS]


ADDRESSES = [w[3] for w in WORKERS]


MAIL = """
    [mail]
    from = "Formazione GOL <formazione@example.org>"
    reply_to = "arti.firenze@example.org"
    bcc = ["archivio@example.org"]
    to = "email"
    subject = "Documenti del corso {{ course.title }} – {{ nome }} {{ cognome }}"
    body = "mail/body.txt"
    html_body = "mail/body.html"
"""


BODY = "Gentile {{ nome }} {{ cognome }},\nin allegato: {{ documents | join(', ') }}.\n"


HTML_BODY = "<p>Gentile <b>{{ nome }} {{ cognome }}</b>, corso {{ course.title }}.</p>\n"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def document_bytes(seed: str, size: int = 30_000) -> bytes:
    """Binary content that differs per file, as a PDF or DOCX would."""
    blocks, counter = [], 0
    while sum(map(len, blocks)) < size:
        blocks.append(hashlib.sha256(f"{seed}/{counter}".encode()).digest())
        counter += 1
    return b"".join(blocks)[:size]


def write_documents(out: Path, rows: list[list[Any]], version: str = "1") -> None:
    """Each worker's attestato.pdf and lettera.docx, a batch elenco.pdf, and manifest.csv."""
    outcomes = []
    for number, row in enumerate(rows, start=2):
        key = row[2]
        for document, name in (("attestato", "attestato.pdf"), ("lettera", "lettera.docx")):
            path = out / key / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(document_bytes(f"{key}/{name}/{version}"))
            outcomes.append(Outcome(document, "ok", row=number, key=key, path=f"{key}/{name}",
                                    sha256=hashlib.sha256(path.read_bytes()).hexdigest()))
    (out / "elenco.pdf").write_bytes(document_bytes("elenco"))
    outcomes.append(Outcome("elenco", "ok", path="elenco.pdf",
                            sha256=hashlib.sha256((out / "elenco.pdf").read_bytes()).hexdigest()))
    write_manifest(out, outcomes, keep_others=False)


def make_mail_job(tmp_path: Path, *, mail: str = MAIL, smtp_port: int | None = None,
                  rows: list[list[Any]] | None = None, smtp_extra: str = "") -> tuple[Path, Path]:
    """A job with an e-mail column and [mail] table, and a build's output; returns (job, out)."""
    rows = WORKERS if rows is None else rows
    write_xlsx(tmp_path / "roster.xlsx", HEADER, rows)
    (tmp_path / "templates").mkdir(exist_ok=True)
    (tmp_path / "templates" / "attestato.html").write_text("<p>{{ nome }}</p>", encoding="utf-8")
    (tmp_path / "mail").mkdir(exist_ok=True)
    (tmp_path / "mail" / "body.txt").write_text(BODY, encoding="utf-8")
    (tmp_path / "mail" / "body.html").write_text(HTML_BODY, encoding="utf-8")
    smtp = ""
    if smtp_port is not None:
        smtp = f'[mail.smtp]\nhost = "127.0.0.1"\nport = {smtp_port}\nsecurity = "none"\ntimeout = 10\n'
    job = tmp_path / "job.toml"
    job.write_text(textwrap.dedent("""
        [job]
        id = "gol-2026"
        roster = "roster.xlsx"
        key = "codice_fiscale"

        [course]
        title = "Operatore del servizio clienti"

        [[document]]
        name = "attestato"
        template = "templates/attestato.html"
    """) + textwrap.dedent(mail) + smtp + smtp_extra, encoding="utf-8")
    out = tmp_path / "out"
    write_documents(out, rows)
    record_rows(job, out)
    return job, out


def record_rows(job: Path, out: Path) -> None:
    """Record the roster's rows as a build does (mail sends what the build made)."""
    loaded = load_job(job)
    roster = read_roster(loaded.roster, sheet=loaded.sheet, columns=loaded.columns)
    rows = {str(r.value(loaded.key)): r for r in roster.rows if r.value(loaded.key) is not None}
    write_record(out, [], rows)


class Mailbox:
    """An aiosmtpd handler that keeps what it receives; it can refuse addresses or drop the line."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.lost: list[Any] = []  # arrived, but the line dropped before the answer
        self.refuse: set[str] = set()
        self.drop_after: int | None = None  # drop the line once this many messages arrived
        self.drops_left: int | None = None  # None: keep dropping
        # Where the line drops: at MAIL (before the message is handed over: safe to retry), or
        # at DATA after the message arrived and before the answer (it may have been delivered).
        self.drop_at = "MAIL"
        self.delay = 0.0  # seconds before answering DATA (a slow server, to interrupt)

    def _drop(self, server: Any, stage: str) -> bool:
        if (self.drop_at != stage or self.drop_after is None
                or len(self.received) < self.drop_after
                or (self.drops_left is not None and self.drops_left <= 0)):
            return False
        if self.drops_left is not None:
            self.drops_left -= 1
        server.transport.close()
        return True

    async def handle_MAIL(self, server: Any, session: Any, envelope: Any, address: str,
                          mail_options: list[str]) -> str:
        if self._drop(server, "MAIL"):
            return "421 4.3.0 closing"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.delay:
            await asyncio.sleep(self.delay)
        if self._drop(server, "DATA"):
            self.lost.append(envelope)  # it arrived; the sender never hears so
            return "421 4.3.0 closing"
        self.received.append(envelope)
        return "250 OK"

    def messages(self) -> list[EmailMessage]:
        return [message_from_bytes(e.content, policy=default) for e in self.received]  # type: ignore[misc]

    def rcpts(self) -> list[list[str]]:
        return [list(e.rcpt_tos) for e in self.received]

    def to(self) -> list[str]:
        return [str(m["To"]) for m in self.messages()]


@pytest.fixture
def server() -> Iterator[tuple[Mailbox, int]]:
    """A real SMTP server on 127.0.0.1 and a random free port."""
    box, port = Mailbox(), free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, port
    finally:
        controller.stop()


def deliver(job: Path, out: Path, **options: Any) -> MailReport:
    return deliver_mail(load_job(job), out, environ={}, **options)


def attachments(message: EmailMessage) -> dict[str, bytes]:
    return {part.get_filename(): part.get_content() for part in message.iter_attachments()}


def log_lines(out: Path) -> list[dict[str, str]]:
    with (out / "mail" / "log.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def write_manifest_sha(out: Path, key: str, name: str) -> None:
    """Rewrite the manifest line of one file as a rebuild would."""
    path = out / "manifest.csv"
    text = path.read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    for row in rows:
        if row["path"] == f"{key}/{name}":
            row["sha256"] = hashlib.sha256((out / key / name).read_bytes()).hexdigest()
    outcomes = [Outcome(r["document"], r["status"], row=int(r["row"]) if r["row"] else None,  # type: ignore[arg-type]
                        key=r["key"] or None, path=r["path"], sha256=r["sha256"]) for r in rows]
    write_manifest(out, outcomes, keep_others=False)
