"""docgen check (check.py): every problem at once, grouped, with cells; JSON; exit codes."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from docgen.cli import cli
from tests.conftest import HEADER, WORKERS


def test_check_reports_every_problem_with_cells(make_job: Callable[..., Path]) -> None:
    """check lists all row problems at once, grouped by file, with cells and fixes; exit 1."""
    rows = [list(r) for r in WORKERS]
    rows[0][2] = "DNGNCL80A01I726X"
    rows[1][5] = 150
    rows[2][3] = None
    result = CliRunner().invoke(cli, ["check", str(make_job(rows=rows))])
    assert result.exit_code == 1
    out = result.stdout
    assert "roster.xlsx: 3 errors\n" in out
    assert "C2  row 2 (DNGNCL80A01I726X): codice fiscale" in out
    assert "F3  row 3 (LCUMRA85C52D612B): hours 150 is more than the course's 120" in out
    assert "D4  row 4 (BNCGLI90E41H501M): the field 'data_di_nascita' is empty" in out
    assert "fix: fill it in, or list it in [job] optional" in out


def test_check_json(make_job: Callable[..., Path]) -> None:
    """--format json gives the same problems for programs."""
    rows = [list(r) for r in WORKERS]
    rows[1][5] = 150
    result = CliRunner().invoke(cli, ["check", str(make_job(rows=rows)), "--format", "json"])
    data = json.loads(result.stdout)
    assert result.exit_code == 1 and data["exit_code"] == 1
    problem, = [p for p in data["problems"] if p["severity"] == "error"]
    assert problem["cell"] == "roster.xlsx!F3" and problem["row"] == 3
    assert problem["field"] == "ore_frequentate" and problem["severity"] == "error"


def test_check_unusable_lists_all_fatal_problems(make_job: Callable[..., Path]) -> None:
    """Unknown fields in two places are both reported; exit 2."""
    html = "<p>{{ nome }} {{ cognme }} {{ data_nascita }}</p>"
    result = CliRunner().invoke(cli, ["check", str(make_job(html=html))])
    assert result.exit_code == 2
    assert "'cognme'" in result.stdout and "'data_nascita'" in result.stdout
    assert "did you mean 'cognome'" in result.stdout


MAIL_OK = """
    [mail]
    from = "Formazione GOL <formazione@example.org>"
    to = "email"
    subject = "Documenti del corso {{ course.title }} – {{ nome }} {{ cognome }}"
    body = "Gentile {{ nome }},\\nin allegato i suoi documenti."
"""


def _mail_job(make_job: Callable[..., Path], mail: str, emails: list[str | None]) -> Path:
    """The standard job with an Email column and a [mail] table."""
    rows = [[*r, e] for r, e in zip(WORKERS, emails, strict=True)]
    job = make_job(rows=rows, header=[*HEADER, "Email"])
    job.write_text(job.read_text(encoding="utf-8") + textwrap.dedent(mail), encoding="utf-8")
    return job


EMAILS = ["niccolo@example.org", "mariu@example.org", "giulia@example.org"]


def test_check_reads_the_mail_table(make_job: Callable[..., Path]) -> None:
    """A clean [mail] passes; a misspelt key (subjet), a to no column gives and an unknown
    field in the body are each fatal at check (exit 2), with suggestions, before any build."""
    assert CliRunner().invoke(cli, ["check", str(_mail_job(make_job, MAIL_OK, EMAILS))]
                              ).exit_code == 0
    typo = MAIL_OK.replace("subject =", "subjet =")
    result = CliRunner().invoke(cli, ["check", str(_mail_job(make_job, typo, EMAILS))])
    assert result.exit_code == 2
    assert "unknown key 'subjet' in [mail]" in result.stdout
    assert "fix: did you mean 'subject'?" in result.stdout
    assert "[mail] subject is missing" in result.stdout
    assert result.stdout.splitlines()[-1] == ("unusable for docgen mail: fix the problems "
                                              "above before mailing (build would run).")
    assert "mail/body.txt" not in result.stdout  # the subject is no file
    wrong = MAIL_OK.replace('to = "email"', 'to = "e_mail"').replace("{{ nome }},", "{{ nom }},")
    result = CliRunner().invoke(cli, ["check", str(_mail_job(make_job, wrong, EMAILS))])
    assert result.exit_code == 2
    assert "[mail] to = 'e_mail', but no column of roster.xlsx gives that field" in result.stdout
    assert "did you mean 'email'?" in result.stdout
    assert "the [mail] body uses the field 'nom', but no column of roster.xlsx gives it" \
        in result.stdout
    assert "did you mean 'nome'" in result.stdout
    course = MAIL_OK.replace("{{ course.title }}", "{{ course.titolo }}")
    result = CliRunner().invoke(cli, ["check", str(_mail_job(make_job, course, EMAILS))])
    assert result.exit_code == 2
    assert "the [mail] subject reads course.titolo, but [course] has no 'titolo'" in result.stdout
    filtered = MAIL_OK.replace("{{ nome }},", "{{ nome | uper }},")
    result = CliRunner().invoke(cli, ["check", str(_mail_job(make_job, filtered, EMAILS))])
    assert result.exit_code == 2
    assert "[mail] body: unknown filter 'uper' (line 1)" in result.stdout
    assert "the filters that exist, closest first: upper," in result.stdout


def test_check_reports_workers_mail_cannot_reach(make_job: Callable[..., Path]) -> None:
    """A worker without an address is a warning; an address that is not one, in the [mail]
    to column, is a row error (exit 1), naming cell and 'mail'."""
    mail = MAIL_OK.replace('to = "email"', 'to = "pec"')
    job = make_job(rows=[[*r, e] for r, e in zip(WORKERS, [EMAILS[0], None, "giulia@pec"],
                                                   strict=True)],
                   header=[*HEADER, "PEC"])
    job.write_text(job.read_text(encoding="utf-8") + textwrap.dedent(mail), encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 1, result.stdout
    assert "row 3 (LCUMRA85C52D612B): no e-mail address: docgen mail cannot send" in result.stdout
    assert "I4  row 4 (BNCGLI90E41H501M): not an e-mail address: giulia@pec [mail]" \
        in result.stdout
