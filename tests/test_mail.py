"""E-mail: .eml drafts and sending to a real SMTP server on loopback (aiosmtpd), never twice."""

from __future__ import annotations

import csv
import hashlib
import io
import socket
import textwrap
import zipfile
from collections.abc import Iterator
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from click.testing import CliRunner

from docgen.cli import cli
from docgen.errors import UnusableError
from docgen.job import load_job
from docgen.mail.config import load_mail_config
from docgen.mail.run import MailReport, deliver_mail
from docgen.manifest import Outcome, write_manifest
from docgen.names import strip_accents
from tests.conftest import HEADER as BUILD_HEADER
from tests.conftest import WORKERS as BUILD_WORKERS
from tests.conftest import write_xlsx

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

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
    return job, out


class Mailbox:
    """An aiosmtpd handler that keeps what it receives; it can refuse addresses or drop the line."""

    def __init__(self) -> None:
        self.received: list[Any] = []
        self.refuse: set[str] = set()
        self.drop_after: int | None = None  # close the connection at DATA once this many arrived
        self.drops_left: int | None = None  # None: keep dropping

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.drop_after is not None and len(self.received) >= self.drop_after and (
                self.drops_left is None or self.drops_left > 0):
            if self.drops_left is not None:
                self.drops_left -= 1
            server.transport.close()
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


def test_send_each_worker_their_own_documents(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """Each worker gets one message: right recipient, accented subject, byte-identical files."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["sent"] * 3 and report.exit_code == 0
    assert len(box.received) == 3
    for envelope, message, (surname, name, key, address) in zip(
            box.received, box.messages(), WORKERS, strict=True):
        assert envelope.rcpt_tos == [address, "archivio@example.org"]
        assert envelope.mail_from == "formazione@example.org"
        assert message["To"] == address and "Bcc" not in message
        assert message["Reply-To"] == "arti.firenze@example.org"
        assert message["Subject"] == f"Documenti del corso Operatore del servizio clienti – {name} {surname}"
        assert b"=?utf-8?" in envelope.content.split(b"\r\n\r\n")[0]  # encoded, not raw 8-bit
        assert message["Message-ID"].endswith("@example.org>")
        files = attachments(message)
        assert files == {"attestato.pdf": (out / key / "attestato.pdf").read_bytes(),
                         "lettera.docx": (out / key / "lettera.docx").read_bytes()}
        text = message.get_body(("plain",)).get_content()
        assert f"Gentile {name} {surname}" in text and "attestato.pdf, lettera.docx" in text
        escaped = f"<b>{name} {surname}</b>".replace("'", "&#39;")  # autoescaped
        assert escaped in message.get_body(("html",)).get_content()
    lines = log_lines(out)
    assert [line["key"] for line in lines] == KEYS and {line["status"] for line in lines} == {"sent"}
    first = lines[0]
    assert first["sha256"].split() == [hashlib.sha256((out / KEYS[0] / f).read_bytes()).hexdigest()
                                       for f in ("attestato.pdf", "lettera.docx")]
    assert first["message_id"] == box.messages()[0]["Message-ID"]


def test_rerun_never_sends_twice_only_changes(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """A re-run sends nothing; changed documents go again to that worker only; --resend forces."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    deliver(job, out)
    again = deliver(job, out)
    assert [d.status for d in again.deliveries] == ["skipped"] * 3
    assert "already sent" in again.deliveries[0].message and len(box.received) == 3
    (out / KEYS[1] / "attestato.pdf").write_bytes(b"%PDF edited after the build")
    edited = deliver(job, out)
    assert [d.status for d in edited.deliveries] == ["skipped", "failed", "skipped"]
    assert "changed since the build" in edited.deliveries[1].message and len(box.received) == 3
    write_manifest_sha(out, KEYS[1], "attestato.pdf")  # as a rebuild would record it
    changed = deliver(job, out)
    assert [d.status for d in changed.deliveries] == ["skipped", "sent", "skipped"]
    assert changed.deliveries[1].message == "documents changed"
    assert box.to()[3:] == [ADDRESSES[1]]
    forced = deliver(job, out, resend=True)
    assert [d.status for d in forced.deliveries] == ["sent"] * 3 and len(box.received) == 7
    assert len({m["Message-ID"] for m in box.messages()}) == 7


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


def test_refused_recipient_fails_alone(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """A refused address fails that worker; the others are sent; a re-run sends only to them."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    box.refuse = {ADDRESSES[1]}
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["sent", "failed", "sent"]
    assert report.exit_code == 1
    assert "refused mariu@example.org (550 5.1.1 mailbox unavailable)" in report.failed[0].message
    archive = "archivio@example.org"
    assert box.rcpts() == [[ADDRESSES[0], archive], [ADDRESSES[2], archive]]  # no archive-only copy
    box.refuse = set()
    rerun = deliver(job, out)
    assert [d.status for d in rerun.deliveries] == ["skipped", "sent", "skipped"]
    assert rerun.deliveries[1].message == "new"
    assert box.rcpts()[2:] == [[ADDRESSES[1], archive]]


def test_dropped_connection_stops_then_resumes(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """A server that keeps dropping: one reconnect, then the rest are reported unsent;
    a re-run sends only those, and nobody gets a message twice."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    box.drop_after = 1
    first = deliver(job, out)
    assert [d.status for d in first.deliveries] == ["sent", "failed", "failed"]
    assert "dropped twice" in first.deliveries[1].message
    assert "run again to send the rest" in first.deliveries[2].message
    box.drop_after = None
    second = deliver(job, out)
    assert [d.status for d in second.deliveries] == ["skipped", "sent", "sent"]
    assert sorted(box.to()) == sorted(ADDRESSES)


def test_dropped_once_reconnects_and_goes_on(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """One dropped connection mid-batch: docgen reconnects and sends everything, once."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    box.drop_after, box.drops_left = 1, 1
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["sent"] * 3
    assert box.to() == ADDRESSES


def test_killed_run_resumes_with_the_rest(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """A run killed after the first message: the log has it, so the re-run sends only the rest."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)

    def kill(delivery: Any) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        deliver(job, out, on_delivery=kill)
    assert box.to() == ADDRESSES[:1]
    rerun = deliver(job, out)
    assert [d.status for d in rerun.deliveries] == ["skipped", "sent", "sent"]
    assert box.to() == ADDRESSES


def test_credentials_come_from_the_environment(tmp_path: Path) -> None:
    """The login is read from DOCGEN_SMTP_USER/PASSWORD; without it the server refuses;
    a password in the job file is refused by name."""
    box, port = Mailbox(), free_port()

    def authenticate(server: Any, session: Any, envelope: Any, mechanism: str, auth: Any) -> AuthResult:
        return AuthResult(success=(auth.login, auth.password) == (b"segreteria", b"s3gr3t0!"))

    controller = Controller(box, hostname="127.0.0.1", port=port, authenticator=authenticate,
                            auth_require_tls=False, auth_required=True)
    controller.start()
    try:
        job, out = make_mail_job(tmp_path, smtp_port=port)
        without = deliver_mail(load_job(job), out, environ={})
        assert [d.status for d in without.deliveries] == ["failed"] * 3 and not box.received
        assert "530" in without.deliveries[0].message
        environ = {"DOCGEN_SMTP_USER": "segreteria", "DOCGEN_SMTP_PASSWORD": "s3gr3t0!"}
        report = deliver_mail(load_job(job), out, environ=environ)
        assert [d.status for d in report.deliveries] == ["sent"] * 3 and len(box.received) == 3
    finally:
        controller.stop()
    half = {"DOCGEN_SMTP_USER": "segreteria"}
    with pytest.raises(UnusableError, match="DOCGEN_SMTP_PASSWORD is not set"):
        deliver_mail(load_job(job), out, environ=half)
    job, out = make_mail_job(tmp_path, smtp_port=port, smtp_extra='password = "s3gr3t0!"\n')
    with pytest.raises(UnusableError, match="the login never goes in the job file") as caught:
        load_mail_config(load_job(job))
    assert "DOCGEN_SMTP_PASSWORD" in str(caught.value)


def test_password_never_sent_unencrypted_to_a_remote_host(tmp_path: Path) -> None:
    """security = "none" with a login is refused unless the server is on this machine."""
    job, out = make_mail_job(tmp_path, mail=MAIL + '[mail.smtp]\nhost = "smtp.example.org"\n'
                             'security = "none"\n')
    environ = {"DOCGEN_SMTP_USER": "u", "DOCGEN_SMTP_PASSWORD": "p"}
    with pytest.raises(UnusableError, match="unencrypted"):
        deliver_mail(load_job(job), out, environ=environ)


def test_drafts_open_with_the_right_parts(tmp_path: Path) -> None:
    """Without [mail.smtp], one .eml per worker: text, HTML alternative, attachments, Bcc kept."""
    job, out = make_mail_job(tmp_path)
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["draft"] * 3
    assert sorted(p.name for p in (out / "mail").glob("*.eml")) == sorted(f"{k}.eml" for k in KEYS)
    message = message_from_bytes((out / "mail" / f"{KEYS[1]}.eml").read_bytes(), policy=default)
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(message.iter_parts())
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    assert message["To"] == ADDRESSES[1] and message["Bcc"] == "archivio@example.org"
    assert message["Subject"].endswith("– Mariù Lucà") and message["X-Unsent"] == "1"
    assert attachments(message) == {name: (out / KEYS[1] / name).read_bytes()
                                    for name in ("attestato.pdf", "lettera.docx")}
    types = [p.get_content_type() for p in message.iter_attachments()]
    assert types == ["application/pdf",
                     "application/vnd.openxmlformats-officedocument.wordprocessingml.document"]
    assert {line["status"] for line in log_lines(out)} == {"draft"}
    assert [d.status for d in deliver(job, out).deliveries] == ["draft"] * 3  # drafts are not sends


def test_dry_run_sends_and_writes_nothing(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """--dry-run lists who would get what, with the rendered subject; nothing sent or written."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    report = deliver(job, out, dry_run=True)
    assert [d.status for d in report.deliveries] == ["planned"] * 3
    assert report.deliveries[0].files == ("attestato.pdf", "lettera.docx")
    assert report.deliveries[0].subject.endswith("– Niccolò D'Angelo")
    assert not box.received and not (out / "mail").exists()


def test_missing_address_and_nothing_to_send(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """No address fails that worker (cell named); a worker with no documents is skipped."""
    box, port = server
    rows = [[*WORKERS[0][:3], None], WORKERS[1], [*WORKERS[2][:3], "giulia@"]]
    job, out = make_mail_job(tmp_path, smtp_port=port, rows=rows)
    outcomes = [Outcome("attestato", "ok", row=3, key=KEYS[1], path=f"{KEYS[1]}/attestato.pdf",
                        sha256=hashlib.sha256((out / KEYS[1] / "attestato.pdf").read_bytes()).hexdigest()),
                Outcome("attestato", "ok", row=2, key=KEYS[0], path=f"{KEYS[0]}/attestato.pdf",
                        sha256=hashlib.sha256((out / KEYS[0] / "attestato.pdf").read_bytes()).hexdigest()),
                Outcome("attestato", "ok", row=4, key=KEYS[2], path=f"{KEYS[2]}/attestato.pdf",
                        sha256=hashlib.sha256((out / KEYS[2] / "attestato.pdf").read_bytes()).hexdigest()),
                Outcome("lettera", "skipped", row=3, key=KEYS[1])]
    write_manifest(out, outcomes, keep_others=False)
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["failed", "sent", "failed"]
    assert "no e-mail address (cell roster.xlsx!D2)" in report.deliveries[0].message
    assert "not an e-mail address: giulia@ (cell roster.xlsx!D4)" in report.deliveries[2].message
    assert box.to() == [ADDRESSES[1]]
    assert attachments(box.messages()[0]).keys() == {"attestato.pdf"}
    write_manifest(out, [Outcome("attestato", "skipped", row=3, key=KEYS[1])], keep_others=False)
    nothing = deliver(job, out, resend=True)
    assert nothing.deliveries[1].status == "skipped"
    assert nothing.deliveries[1].message == "no documents for this worker in this build"


def test_attachments_over_the_limit_fail(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """max_attachment_mb: a worker whose files are larger is reported, nothing is sent to them."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port, mail=MAIL + "max_attachment_mb = 0.1\n")
    (out / KEYS[2] / "lettera.docx").write_bytes(document_bytes("big", 90_000))
    write_manifest_sha(out, KEYS[2], "lettera.docx")
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["sent", "sent", "failed"]
    assert "attachments are 0.1 MB, over max_attachment_mb = 0.1" in report.deliveries[2].message
    assert box.to() == ADDRESSES[:2]


def test_office_gets_one_zip_of_the_batch(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """--to-office: one message, a zip with every ok file byte for byte; a re-run skips it."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    planned = deliver(job, out, office="ufficio@example.org", dry_run=True)
    assert planned.deliveries[0].status == "planned" and not (out / "mail").exists()
    report = deliver(job, out, office="ufficio@example.org")
    assert [d.status for d in report.deliveries] == ["sent"] and box.to() == ["ufficio@example.org"]
    files = attachments(box.messages()[0])
    assert list(files) == ["gol-2026.zip"]
    assert files["gol-2026.zip"] == (out / "mail" / "gol-2026.zip").read_bytes()  # kept for the clerk
    with zipfile.ZipFile(io.BytesIO(files["gol-2026.zip"])) as archive:
        assert len(archive.namelist()) == 7
        for name in archive.namelist():
            assert archive.read(name) == (out / name).read_bytes()
    assert box.messages()[0]["Subject"] == "gol-2026: 7 documents"
    assert deliver(job, out, office="ufficio@example.org").deliveries[0].status == "skipped"


@pytest.mark.parametrize(("mail", "expected"), [
    (MAIL + 'subjet = "x"\n', "unknown key 'subjet' in [mail]. did you mean 'subject'?"),
    (MAIL + '[mail.smtp]\nhost = "h"\nsecurity = "starttsl"\n',
     "security must be one of starttls, ssl, none, not 'starttsl'. did you mean 'starttls'?"),
    (MAIL + '[mail.smtp]\nhots = "h"\n', "unknown key 'hots' in [mail.smtp]. did you mean 'host'?"),
    (MAIL.replace('to = "email"', 'to = "emial"'), "did you mean 'email'?"),
    (MAIL.replace("mail/body.txt", "mail/corpo.txt"), "[mail] body: template not found"),
    (MAIL.replace("{{ nome }} {{ cognome }}", "{{ nome }} {{ cogome }}"),
     "[mail] subject uses the field 'cogome'"),
    (MAIL.replace("Formazione GOL <formazione@example.org>", "formazione"),
     "[mail] from: not an e-mail address: 'formazione'"),
    (MAIL.replace("{{ course.title }}", "{{ course.title }"), "[mail] subject: template syntax error"),
])
def test_config_mistakes_are_named(tmp_path: Path, mail: str, expected: str) -> None:
    """Every mistake in [mail] is named, with a suggestion where there is one; exit 2 in the CLI."""
    job, out = make_mail_job(tmp_path, mail=mail)
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out), "--dry-run"])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "Traceback" not in result.output


def test_cli_send_exit_codes_and_summary(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """The CLI exits 1 when a recipient is refused, 0 on the re-run that sends the rest."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    box.refuse = {ADDRESSES[0]}
    runner = CliRunner(env={"DOCGEN_SMTP_USER": None, "DOCGEN_SMTP_PASSWORD": None})
    result = runner.invoke(cli, ["mail", str(job), "--out", str(out)])
    assert result.exit_code == 1
    assert result.stderr.startswith(f"failed: row 2 ({KEYS[0]}): the server refused niccolo@example.org")
    assert result.stdout == f"2 sent (2 new), 1 failed -> {out / 'mail'}/\n"
    box.refuse = set()
    result = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--send"])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout == f"1 sent, 2 skipped (1 new), 0 failed -> {out / 'mail'}/\n"


def test_cli_dry_run_lists_who_gets_what(tmp_path: Path) -> None:
    """--dry-run prints one line per worker on stdout: status, who, address, files, subject."""
    job, out = make_mail_job(tmp_path)
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out), "--dry-run"])
    assert result.exit_code == 0, result.stderr
    first = result.stdout.splitlines()[0].split("\t")
    assert first == ["planned", f"row 2 ({KEYS[0]})", ADDRESSES[0], "attestato.pdf, lettera.docx",
                     "Documenti del corso Operatore del servizio clienti – Niccolò D'Angelo"]
    assert not (out / "mail").exists()


def test_cli_send_without_smtp_or_build_exits_2(tmp_path: Path) -> None:
    """--send without [mail.smtp], or mail before any build: exit 2 and a hint."""
    job, out = make_mail_job(tmp_path)
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out), "--send"])
    assert result.exit_code == 2 and "needs a [mail.smtp] table" in result.stderr
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(tmp_path / "none")])
    assert result.exit_code == 2 and "run docgen build first" in result.stderr


def test_cli_unreachable_server_exits_2(tmp_path: Path) -> None:
    """Nothing listens on the port: one line naming host and port, exit 2, nothing logged."""
    job, out = make_mail_job(tmp_path, smtp_port=free_port())
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out)])
    assert result.exit_code == 2
    assert "cannot connect to 127.0.0.1:" in result.stderr and "Traceback" not in result.output
    assert not (out / "mail" / "log.csv").exists()


def test_real_build_then_drafts(make_job: Any, tmp_path: Path) -> None:
    """docgen build on a real job, then docgen mail: drafts carry exactly the built files."""
    rows = [[*row, f"{strip_accents(row[1]).lower()}@example.org"] for row in BUILD_WORKERS]
    job = make_job(rows=rows, header=[*BUILD_HEADER, "E-mail"])
    with job.open("a", encoding="utf-8") as handle:
        handle.write('\n[mail]\nfrom = "formazione@example.org"\nto = "E-mail"\n'
                     'subject = "Attestato {{ nome }}"\nbody = "Gentile {{ nome }}"\n')
    out = tmp_path / "out"
    runner = CliRunner()
    assert runner.invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"]).exit_code == 0
    result = runner.invoke(cli, ["mail", str(job), "--out", str(out)])
    assert result.exit_code == 0, result.stderr
    assert result.stdout.startswith("2 drafted, 1 skipped")
    key = BUILD_WORKERS[0][2]
    message = message_from_bytes((out / "mail" / f"{key}.eml").read_bytes(), policy=default)
    assert message["Subject"] == "Attestato Niccolò" and message["To"] == "niccolo@example.org"
    files = attachments(message)
    assert files == {"attestato.pdf": (out / key / "attestato.pdf").read_bytes(),
                     "lettera.docx": (out / "D'Angelo_Niccolò/lettera.docx").read_bytes()}


def test_log_is_safe_for_excel_and_survives_a_cut_line(tmp_path: Path) -> None:
    """Formula-like cells are neutralised and read back intact; a line cut by a kill is ignored
    and the next line starts afresh."""
    from docgen.mail.log import LogEntry, append_log, log_path, read_log

    first = LogEntry("2026-03-02T10:00:00+01:00", "=HYPERLINK(1)", "<a@example.org>",
                     ("-x@example.org", "y@example.org"), ("attestato.pdf",), ("ab" * 32,), "sent")
    append_log(tmp_path, first)
    assert "'=HYPERLINK(1)" in log_path(tmp_path).read_text(encoding="utf-8-sig")
    with log_path(tmp_path).open("ab") as handle:
        handle.write(b"2026-03-02T10:01:00+01:00,KEY2,<b@example.org>,z@example.org,a.pdf,cd")
    assert read_log(tmp_path) == [first]
    second = LogEntry("2026-03-02T10:02:00+01:00", "KEY3", "<c@example.org>", ("w@example.org",),
                      ("a.pdf",), ("ef" * 32,), "sent")
    append_log(tmp_path, second)
    assert read_log(tmp_path) == [first, second]


def test_two_runs_at_once_are_refused(tmp_path: Path) -> None:
    """While one docgen mail holds the output folder, another stops before sending anything."""
    from docgen.errors import DocgenError
    from docgen.mail.log import mail_lock

    job, out = make_mail_job(tmp_path)
    with mail_lock(out), pytest.raises(DocgenError, match="another docgen mail is running"):
        deliver(job, out)
    assert [d.status for d in deliver(job, out).deliveries] == ["draft"] * 3
