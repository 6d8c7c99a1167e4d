"""Sending over SMTP (mail/send.py) to a real aiosmtpd server on loopback: each worker once,
never twice, drops and kills survived."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pytest

from tests.mail.support import (
    ADDRESSES,
    KEYS,
    WORKERS,
    Mailbox,
    attachments,
    deliver,
    log_lines,
    make_mail_job,
    write_manifest_sha,
)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


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
    logged = log_lines(out)
    # Each message is logged "sending" (before DATA), then "sent" (after the server's answer).
    assert [(line["key"], line["status"]) for line in logged] == [
        (key, status) for key in KEYS for status in ("sending", "sent")]
    assert [line["message_id"] for line in logged[::2]] == [line["message_id"] for line in logged[1::2]]
    lines = [line for line in logged if line["status"] == "sent"]
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
    assert box.messages()[0]["Subject"] == "gol-2026: 7 documenti"  # the job is it_IT
    assert deliver(job, out, office="ufficio@example.org").deliveries[0].status == "skipped"


def test_line_dropped_before_the_answer_is_never_resent_silently(
        tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """The message reached the server but the line dropped before its answer: that worker is
    reported 'may have been delivered (Message-ID ...)', is not sent again by re-runs, and
    --resend KEY sends it again once."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    box.drop_at, box.drop_after, box.drops_left = "DATA", 1, 1
    first = deliver(job, out)
    assert [d.status for d in first.deliveries] == ["sent", "uncertain", "sent"]
    message_id = first.deliveries[1].message_id
    assert f"may have been delivered (Message-ID {message_id})" in first.deliveries[1].message
    assert f"docgen mail --resend {KEYS[1]}" in first.deliveries[1].message
    assert first.exit_code == 1
    assert len(box.lost) == 1 and box.to() == [ADDRESSES[0], ADDRESSES[2]]
    again = deliver(job, out)
    assert [d.status for d in again.deliveries] == ["skipped", "uncertain", "skipped"]
    assert len(box.received) == 2
    resent = deliver(job, out, resend=frozenset({KEYS[1]}))
    assert [d.status for d in resent.deliveries] == ["skipped", "sent", "skipped"]
    assert resent.deliveries[1].reason == "resend"
    assert box.to() == [ADDRESSES[0], ADDRESSES[2], ADDRESSES[1]]
    assert [d.status for d in deliver(job, out).deliveries] == ["skipped"] * 3


def test_refused_at_data_is_not_a_maybe(tmp_path: Path, server: tuple[Mailbox, int]) -> None:
    """A server that answers 'no' to the message itself did not take it: logged refused, and
    the next run sends it normally."""
    from docgen.mail.log import read_log

    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    original = box.handle_DATA

    async def refuse(server: Any, session: Any, envelope: Any) -> str:
        return "554 5.6.0 message rejected"

    box.handle_DATA = refuse  # type: ignore[method-assign]
    first = deliver(job, out)
    assert [d.status for d in first.deliveries] == ["failed"] * 3
    assert {e.status for e in read_log(out)} == {"sending", "refused"}
    box.handle_DATA = original  # type: ignore[method-assign]
    assert [d.status for d in deliver(job, out).deliveries] == ["sent"] * 3
    assert box.to() == ADDRESSES
