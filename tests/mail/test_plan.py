"""Who gets what (mail/plan.py): addresses, nothing to send, size limits, dry runs."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from docgen.manifest import Outcome, write_manifest
from tests.conftest import write_xlsx
from tests.mail.support import (
    ADDRESSES,
    HEADER,
    KEYS,
    MAIL,
    WORKERS,
    Mailbox,
    attachments,
    deliver,
    document_bytes,
    make_mail_job,
    record_rows,
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


def test_roster_edited_after_the_build_is_refused(tmp_path: Path,
                                                  server: tuple[Mailbox, int]) -> None:
    """A worker whose row changed since the build (a new address) is refused with 'run docgen
    build first'; the others go; after the build records the row, it goes to the new address."""
    box, port = server
    job, out = make_mail_job(tmp_path, smtp_port=port)
    rows = [list(w) for w in WORKERS]
    rows[1][3] = "nuova@example.org"
    write_xlsx(tmp_path / "roster.xlsx", HEADER, rows)
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["sent", "failed", "sent"]
    assert "the roster row changed since the build (email)" in report.deliveries[1].message
    assert "run docgen build first" in report.deliveries[1].message
    assert box.to() == [ADDRESSES[0], ADDRESSES[2]]
    record_rows(job, out)  # what docgen build does
    assert [d.status for d in deliver(job, out).deliveries] == ["skipped", "sent", "skipped"]
    assert box.to()[-1] == "nuova@example.org"


@pytest.mark.parametrize("cell", ["luca@example.org, altro@example.org",
                                  "luca@example.org;altro@example.org"])
def test_several_addresses_in_one_cell_are_an_error_everywhere(
        tmp_path: Path, server: tuple[Mailbox, int], cell: str) -> None:
    """check, build and mail give one verdict on two addresses in one cell: an error naming
    the cell, exit 1; mail sends that worker nothing."""
    from click.testing import CliRunner

    from docgen.cli import cli

    box, port = server
    rows = [WORKERS[0], [*WORKERS[1][:3], cell], WORKERS[2]]
    job, out = make_mail_job(tmp_path, smtp_port=port, rows=rows,
                             smtp_extra="\n[job.checks]\nfiscal_code = false\n")
    runner = CliRunner()
    expected = "several e-mail addresses in one cell (luca@example.org, altro@example.org)"
    checked = runner.invoke(cli, ["check", str(job)])
    assert checked.exit_code == 1 and expected in checked.stdout
    built = runner.invoke(cli, ["build", str(job), "--out", str(tmp_path / "built"), "-j", "1"])
    assert built.exit_code == 1 and "3 ok, 0 skipped, 0 failed" in built.stdout
    assert expected in built.stderr and "roster.xlsx row 3" in built.stderr
    assert "docgen mail will refuse this worker" in built.stderr
    report = deliver(job, out)
    assert [d.status for d in report.deliveries] == ["sent", "failed", "sent"]
    assert expected in report.deliveries[1].message and "(cell roster.xlsx!D3)" in \
        report.deliveries[1].message
    assert report.exit_code == 1
    assert box.to() == [ADDRESSES[0], ADDRESSES[2]]


def test_optional_empty_address_is_delivered_by_hand(tmp_path: Path,
                                                     server: tuple[Mailbox, int]) -> None:
    """With email optional, a worker without one is 'no address: deliver by hand', listed in
    the summary, and the run exits 0."""
    from click.testing import CliRunner

    from docgen.cli import cli

    box, port = server
    rows = [WORKERS[0], [*WORKERS[1][:3], None], WORKERS[2]]
    job, out = make_mail_job(tmp_path, smtp_port=port, rows=rows)
    text = job.read_text(encoding="utf-8").replace('key = "codice_fiscale"',
                                                   'key = "codice_fiscale"\noptional = ["email"]')
    job.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out)], env={})
    assert result.exit_code == 0, result.stderr
    assert f"by hand: row 3 ({KEYS[1]}): no address: deliver by hand" in result.stderr
    assert "2 sent, 1 to deliver by hand" in result.stdout
    assert box.to() == [ADDRESSES[0], ADDRESSES[2]]
