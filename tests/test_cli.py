"""The command line end to end: exit codes, stderr messages, stdout data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from docgen.cli import cli
from tests.conftest import HEADER, WORKERS
from tests.helpers import manifest


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, list(args))


def test_build_summary_and_exit_0(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A clean build exits 0 and prints the counts and the folder on stdout."""
    out = tmp_path / "out"
    result = invoke("build", str(make_job()), "--out", str(out), "--jobs", "1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == f"4 ok, 3 skipped, 0 failed -> {out}/"
    assert "error" not in result.stderr and "failed" not in result.stderr


def test_build_failing_row_exits_1(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A failing row exits 1, names row, key, field and document on stderr; others written."""
    rows = [list(r) for r in WORKERS]
    rows[0][3] = None
    out = tmp_path / "out"
    result = invoke("build", str(make_job(rows=rows)), "--out", str(out), "-j", "1")
    assert result.exit_code == 1
    assert ("failed: roster.xlsx row 2 (DNGNCL80A01I726W): the field 'data_di_nascita' is "
            "empty (cell roster.xlsx!D2)") in result.stderr
    assert "[attestato]" in result.stderr
    assert "failed (rows 2)" in result.stdout
    assert (out / "BNCGLI90E41H501M/attestato.pdf").exists()
    assert "Traceback" not in result.output


def test_build_missing_column_exits_2_and_writes_nothing(make_job: Callable[..., Path],
                                                         tmp_path: Path) -> None:
    """A column the templates need is missing: exit 2, a suggestion, no output folder."""
    header = [h if h != "Codice fiscale" else "Codice fiscal" for h in HEADER]
    out = tmp_path / "out"
    result = invoke("build", str(make_job(header=header)), "--out", str(out))
    assert result.exit_code == 2
    assert "the [job] key uses the field 'codice_fiscale'" in result.stderr
    assert "did you mean 'codice_fiscal'" in result.stderr
    assert "nothing was written" in result.stderr
    assert not out.exists()


def test_missing_job_file_exits_2(tmp_path: Path) -> None:
    """A job file that does not exist: one line, exit 2."""
    result = invoke("build", str(tmp_path / "nope.toml"))
    assert result.exit_code == 2
    assert "job file not found" in result.stderr and "Traceback" not in result.output


def test_check_reports_row_problems_and_writes_nothing(make_job: Callable[..., Path],
                                                       tmp_path: Path) -> None:
    """check lists every row problem, exits 1, and writes no file."""
    rows = [list(r) for r in WORKERS]
    rows[0][3] = None
    rows[2][2] = rows[1][2]
    job = make_job(rows=rows)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = invoke("check", str(job))
    assert result.exit_code == 1
    assert "row 2" in result.stdout and "row 3" in result.stdout and "row 4" in result.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == before


def test_check_clean_exits_0(make_job: Callable[..., Path]) -> None:
    """A clean job checks with exit 0 and a one-line summary."""
    result = invoke("check", str(make_job()))
    assert result.exit_code == 0
    assert result.stdout.splitlines()[-1] == "3 rows: 4 documents due, 3 skipped, 0 would fail"
    assert "error" not in result.stdout


def test_fields_html_and_docx(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """fields prints a template's fields one per line on stdout, DOCX included."""
    make_job()
    html = invoke("fields", str(tmp_path / "templates/attestato.html"))
    assert html.stdout.splitlines() == ["codice_fiscale", "cognome", "data_di_nascita", "nome",
                                        "note", "ore_frequentate", "course.hours", "course.title"]
    docx = invoke("fields", str(tmp_path / "templates/lettera.docx"))
    assert docx.stdout.splitlines() == ["codice_fiscale", "cognome", "esito_esame", "nome",
                                        "course.code", "course.units", "course.units[].code",
                                        "course.units[].title"]
    batch = invoke("fields", str(tmp_path / "templates/elenco.html"))
    assert batch.stdout.splitlines() == ["cognome", "nome", "sede"]


def test_batch_template_fields_follow_rows(tmp_path: Path) -> None:
    """In a batch template, fields are what the rows are read for, through loops, groupby
    and attribute filters; namespaces and course loops are not fields."""
    template = tmp_path / "elenco.html"
    template.write_text(
        "{% set ns = namespace(n=0) %}"
        "{% for g in rows | sort(attribute='cognome,nome') | groupby('sede') %}{{ g.grouper }}"
        "{% for w in g.list %}{% set ns.n = ns.n + 1 %}{{ ns.n }} {{ w.codice_fiscale }}"
        "{% endfor %}{% endfor %}"
        "{% for m in course.measures %}{{ m.name }}{% endfor %}"
        "{{ rows | selectattr('esito_esame', 'equalto', 'idoneo') | list | length }}"
        "{{ rows | sum(attribute='ore') }}", encoding="utf-8")
    result = invoke("fields", str(template))
    assert result.stdout.splitlines() == ["codice_fiscale", "cognome", "esito_esame", "nome",
                                          "ore", "sede", "course.measures",
                                          "course.measures[].name"]


def test_batch_template_unknown_field(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A typo in a field read on the rows of a batch template is fatal, with a suggestion."""
    job = make_job()
    elenco = tmp_path / "templates/elenco.html"
    elenco.write_text(elenco.read_text(encoding="utf-8").replace("r.cognome", "r.cognme"),
                      encoding="utf-8")
    result = invoke("build", str(job), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert "elenco.html: the template uses the field 'cognme'" in result.stderr
    assert "did you mean 'cognome'" in result.stderr


def test_only_builds_one_document(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """--only NAME builds just that document."""
    out = tmp_path / "out"
    result = invoke("build", str(make_job()), "--out", str(out), "--only", "elenco")
    assert result.exit_code == 0
    assert [line["document"] for line in manifest(out)] == ["elenco"]


def test_quiet_prints_nothing(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """--quiet silences the summary and the warnings."""
    result = invoke("build", str(make_job()), "--out", str(tmp_path / "o"), "-q", "-j", "1")
    assert result.exit_code == 0 and result.stdout == "" and result.stderr == ""


def test_every_command_has_help_and_is_in_the_readme() -> None:
    """Each command documents itself and appears in the README."""
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    for name, command in cli.commands.items():
        assert command.help and "Examples" in command.help, name
        assert f"docgen {name}" in readme, name


def test_included_templates_count(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Fields read in an {% include %}d template are checked and listed; a missing include
    is fatal before anything is written."""
    html = "<p>{{ nome }}</p>{% include 'parts/firma.html' %}"
    job = make_job(html=html)
    (tmp_path / "templates/parts").mkdir()
    (tmp_path / "templates/parts/firma.html").write_text("<p>{{ cogome }}</p>", encoding="utf-8")
    result = invoke("check", str(job))
    assert result.exit_code == 2
    assert "the template uses the field 'cogome'" in result.stdout
    assert invoke("fields", str(tmp_path / "templates/attestato.html")).stdout.splitlines() == [
        "cogome", "nome"]
    (tmp_path / "templates/parts/firma.html").unlink()
    result = invoke("check", str(job))
    assert result.exit_code == 2
    assert "missing file: the included template parts/firma.html" in result.stdout


def test_fail_fast_stops_at_the_first_failure(make_job: Callable[..., Path],
                                              tmp_path: Path) -> None:
    """With --fail-fast a failure stops the build: exit 1, nothing more rendered."""
    rows = [list(r) for r in WORKERS]
    rows[0][3] = None  # row 2: no birth date
    out = tmp_path / "out"
    result = invoke("build", str(make_job(rows=rows)), "--out", str(out), "--fail-fast", "-j", "1")
    assert result.exit_code == 1
    assert "failed: roster.xlsx row 2" in result.stderr
    assert not list(out.rglob("*.pdf")) and not list(out.rglob("*.docx"))
    assert {line["status"] for line in manifest(out)} <= {"failed", "skipped"}
    complete = invoke("build", str(make_job(rows=rows)), "--out", str(tmp_path / "all"), "-j", "1")
    assert complete.exit_code == 1 and list((tmp_path / "all").rglob("*.pdf"))
