"""The [mail] table (mail/config.py): every mistake named, credentials only from the environment."""

from __future__ import annotations

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
from docgen.mail.run import deliver_mail
from tests.mail.support import MAIL, Mailbox, free_port, make_mail_job

pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


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


def test_office_message_in_the_jobs_language(tmp_path: Path) -> None:
    """--to-office drafts an Italian subject and body for an it_IT job, English for en_GB,
    and the job's office_subject/office_body when given; the .eml is read back."""
    from email import message_from_bytes
    from email.policy import default

    job, out = make_mail_job(tmp_path)
    runner = CliRunner()

    def office_draft() -> Any:
        result = runner.invoke(cli, ["mail", str(job), "--out", str(out), "--drafts",
                                     "--to-office", "ufficio@example.org", "--resend"])
        assert result.exit_code == 0, result.stderr
        [eml] = (out / "mail").glob("office*.eml")
        return message_from_bytes(eml.read_bytes(), policy=default)

    message = office_draft()
    assert message["Subject"] == "gol-2026: 7 documenti"
    assert message.get_body(("plain",)).get_content().startswith(
        "In allegato i 7 documenti di gol-2026, in un unico file zip.")
    text = job.read_text(encoding="utf-8")
    job.write_text(text.replace('key = "codice_fiscale"', 'key = "codice_fiscale"\nlocale = "en_GB"'),
                   encoding="utf-8")
    assert office_draft()["Subject"] == "gol-2026: 7 documents"
    job.write_text(text.replace('html_body = "mail/body.html"',
                                'html_body = "mail/body.html"\noffice_subject = "Attestati '
                                '{{ job.id }}"\noffice_body = "Buongiorno, ecco i documenti."'),
                   encoding="utf-8")
    message = office_draft()
    assert message["Subject"] == "Attestati gol-2026"
    assert message.get_body(("plain",)).get_content().strip() == "Buongiorno, ecco i documenti."
