"""docgen mail end to end (mail/run.py, mail/compose.py, the CLI): drafts, exit codes, summaries."""

from __future__ import annotations

from email import message_from_bytes
from email.policy import default
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from docgen.cli import cli
from docgen.names import strip_accents
from tests.conftest import HEADER as BUILD_HEADER
from tests.conftest import WORKERS as BUILD_WORKERS
from tests.mail.support import (
    ADDRESSES,
    KEYS,
    Mailbox,
    attachments,
    deliver,
    free_port,
    log_lines,
    make_mail_job,
)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


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


def test_unchanged_drafts_are_neither_rewritten_nor_logged(tmp_path: Path) -> None:
    """A second drafts run with nothing changed rewrites no .eml and logs nothing
    ('0 new, 3 unchanged'); a worker whose document changed gets a new draft."""
    from tests.mail.support import write_manifest_sha

    job, out = make_mail_job(tmp_path)
    runner = CliRunner()
    first = runner.invoke(cli, ["mail", str(job), "--out", str(out)])
    assert first.stdout.startswith("3 drafted (3 new, 0 unchanged), 0 failed"), first.output
    drafts = {p: p.stat().st_mtime_ns for p in (out / "mail").glob("*.eml")}
    logged = len(log_lines(out))
    second = runner.invoke(cli, ["mail", str(job), "--out", str(out)])
    assert second.exit_code == 0
    assert second.stdout.startswith("3 drafted (0 new, 3 unchanged), 0 failed"), second.output
    assert {p: p.stat().st_mtime_ns for p in (out / "mail").glob("*.eml")} == drafts
    assert len(log_lines(out)) == logged
    (out / KEYS[2] / "attestato.pdf").write_bytes(b"%PDF- rebuilt")
    write_manifest_sha(out, KEYS[2], "attestato.pdf")
    third = runner.invoke(cli, ["mail", str(job), "--out", str(out)])
    assert third.stdout.startswith("3 drafted (1 new, 2 unchanged)"), third.stdout
    changed = message_from_bytes((out / "mail" / f"{KEYS[2]}.eml").read_bytes(), policy=default)
    assert attachments(changed)["attestato.pdf"] == b"%PDF- rebuilt"
    assert len(log_lines(out)) == logged + 1


def test_cli_resend_takes_keys(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """--resend KEY sends that worker again, plain --resend everyone; an unknown key is an
    error before anything is sent."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    runner = CliRunner(env={"DOCGEN_SMTP_USER": None, "DOCGEN_SMTP_PASSWORD": None})
    assert runner.invoke(cli, ["mail", str(job), "--out", str(out)]).exit_code == 0
    one = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--resend", KEYS[1]])
    assert one.exit_code == 0 and one.stdout.startswith("1 sent, 2 skipped (1 resend)")
    assert box.to() == [*ADDRESSES, ADDRESSES[1]]
    unknown = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--resend", "NOPE"])
    assert unknown.exit_code == 2 and "--resend NOPE: no worker has this codice_fiscale" in \
        unknown.stderr
    every = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--resend"])
    assert every.exit_code == 0 and every.stdout.startswith("3 sent (3 resend)")
    assert len(box.received) == 7


def test_forced_rebuild_leaves_nothing_to_send(make_job: Any, tmp_path: Path,
                                               server: tuple[Mailbox, int]) -> None:
    """Real build (HTML PDFs, DOCX and their LibreOffice PDFs), real sending; build --force
    makes every file again with the same bytes, so mail --dry-run has nothing to send."""
    box, port = server
    rows = [[*row, f"{strip_accents(row[1]).lower()}@example.org"] for row in BUILD_WORKERS]
    documents = """
        [[document]]
        name = "attestato"
        template = "templates/attestato.html"

        [[document]]
        name = "lettera"
        template = "templates/lettera.docx"
        pdf = true

        [[document]]
        name = "elenco"
        template = "templates/elenco.html"
        scope = "batch"
    """
    job = make_job(rows=rows, header=[*BUILD_HEADER, "E-mail"], documents=documents)
    with job.open("a", encoding="utf-8") as handle:
        handle.write('\n[mail]\nfrom = "formazione@example.org"\nto = "E-mail"\n'
                     'subject = "Documenti {{ nome }}"\nbody = "Gentile {{ nome }}"\n'
                     f'[mail.smtp]\nhost = "127.0.0.1"\nport = {port}\nsecurity = "none"\n')
    out = tmp_path / "out"
    runner = CliRunner(env={"DOCGEN_SMTP_USER": None, "DOCGEN_SMTP_PASSWORD": None})
    assert runner.invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"]).exit_code == 0
    sent = runner.invoke(cli, ["mail", str(job), "--out", str(out)])
    assert sent.exit_code == 0 and sent.stdout.startswith("3 sent"), sent.output
    forced = runner.invoke(cli, ["build", str(job), "--out", str(out), "-j", "1", "--force"])
    assert forced.exit_code == 0 and "0 unchanged" not in forced.stdout
    assert "3 PDF(s) converted" in forced.stdout
    dry = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--dry-run"])
    assert dry.exit_code == 0
    assert [line.split("\t")[0] for line in dry.stdout.splitlines()[:3]] == ["skipped"] * 3
    assert "planned" not in dry.stdout and len(box.received) == 3
