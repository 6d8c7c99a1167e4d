"""What a template reads (fields.py)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from docgen.cli import cli
from docgen.fields import names_used
from docgen.templating import make_environment
from tests.conftest import HTML_TEMPLATE, WORKERS
from tests.helpers import pdf_text


def test_names_used() -> None:
    """The names a template reads, without those it defines."""
    env = make_environment("it_IT")
    assert names_used(env, "{% set x = 1 %}{{ nome }} {{ x }} {{ course.title }}") == {
        "nome", "course"}


def test_guarded_fields_are_optional(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A field read only as `| default(...)`, under `is defined` or under an `if` on itself
    needs no column (check warns, with the closest column) and may be empty; the PDF shows
    the default."""
    html = HTML_TEMPLATE.replace(
        "</body>", "<p>Matricola: {{ matricola | default('non assegnata') }}</p>"
        "{% if telefono is defined %}<p>Tel. {{ telefono }}</p>{% endif %}"
        "{% if esito_esame %}<p>Esito: {{ esito_esame }}</p>{% endif %}</body>")
    rows = [list(r) for r in WORKERS]
    rows[0][6] = None  # esito_esame empty: guarded by its if in the attestato
    job = make_job(html=html, rows=rows, documents="""
        [[document]]
        name = "attestato"
        template = "templates/attestato.html"
    """)
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 0, result.stdout
    assert "reads the field 'matricola' only where it handles its absence" in result.stdout
    assert "reads the field 'telefono' only where it handles its absence" in result.stdout
    assert "esito_esame" not in result.stdout
    out = tmp_path / "out"
    build = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"])
    assert build.exit_code == 0, build.stderr
    text = pdf_text(out / "DNGNCL80A01I726W/attestato.pdf")
    assert "Matricola: non assegnata" in text and "Tel." not in text and "Esito" not in text
    assert "Esito: assente" in pdf_text(out / "LCUMRA85C52D612B/attestato.pdf")


def test_unguarded_use_is_still_required(make_job: Callable[..., Path]) -> None:
    """The same field printed once outside its guard is demanded as a column (exit 2)."""
    html = HTML_TEMPLATE.replace(
        "</body>", "{{ matricola | default('-') }} {{ matricola }}</body>")
    result = CliRunner().invoke(cli, ["check", str(make_job(html=html))])
    assert result.exit_code == 2
    assert "the template uses the field 'matricola', but no column" in result.stdout


def test_course_typo_is_fatal_with_a_suggestion(make_job: Callable[..., Path],
                                                tmp_path: Path) -> None:
    """course.signatary (for signatory), a nested course.provider.nam and u.titolo in a loop
    over course.units are each fatal at check and build, naming template and suggestion."""
    html = HTML_TEMPLATE.replace(
        "</body>", "<p>{{ course.signatary }} {{ course.provider.nam }}</p>"
        "{% for u in course.units %}{{ u.titolo }}{% endfor %}"
        "{% if course.note %}{{ course.note }}{% endif %}</body>")
    job = make_job(html=html)
    text = job.read_text(encoding="utf-8").replace(
        "[[document]]", 'signatory = "Dott.ssa Anna Neri"\nprovider = { name = "Formazione '
        'Valdelsa" }\n\n[[document]]', 1)
    job.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 2
    out = result.stdout
    assert "the template reads course.signatary, but [course] has no 'signatary'" in out
    assert "fix: did you mean 'signatory'? Add it to [course] in job.toml, or fix the " \
        "template." in out
    assert "reads course.provider.nam, but [course.provider] has no 'nam'" in out
    assert "did you mean 'name'?" in out
    assert "reads course.units[].titolo, but entry 1 of course.units has no 'titolo'" in out
    assert "did you mean 'title'?" in out
    assert "course.note" not in out  # guarded by its if
    build = CliRunner().invoke(cli, ["build", str(job), "--out", str(tmp_path / "out")])
    assert build.exit_code == 2 and not (tmp_path / "out").exists()
    assert "attestato.html: the template reads course.signatary" in build.stderr


def test_truth_tests_guard_a_read() -> None:
    """`x or '-'` and `not x` only test x for truth: guarded; `a or b` leaves b unguarded."""
    from docgen.fields import guarded_reads

    env = make_environment("it_IT")
    reads = guarded_reads(env, "{{ course.note or '-' }}{% if not tel %}x{% endif %}{{ a or b }}")
    assert reads == {("course", "note"): True, ("tel",): True, ("a",): True, ("b",): False}
    assert env.from_string("{{ course.note or '-' }}{% if not tel %}x{% endif %}").render(
        course={}) == "-x"
