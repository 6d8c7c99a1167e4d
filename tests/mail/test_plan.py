"""Who gets what (mail/plan.py): addresses, nothing to send, size limits, dry runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from docgen.manifest import Outcome, write_manifest
from tests.mail.support import (
    ADDRESSES,
    KEYS,
    MAIL,
    WORKERS,
    Mailbox,
    attachments,
    deliver,
    document_bytes,
    make_mail_job,
    write_manifest_sha,
)

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


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
