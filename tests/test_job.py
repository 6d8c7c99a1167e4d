"""The job file: valid jobs load, every mistake is named."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from docgen.errors import UnusableError
from docgen.job import load_job


def test_load_job_resolves_paths(make_job: Callable[..., Path]) -> None:
    """Paths are relative to the job file; kinds come from the template suffix."""
    job = load_job(make_job())
    assert job.roster == job.folder / "roster.xlsx"
    assert [(d.name, d.kind, d.scope) for d in job.documents] == [
        ("attestato", "pdf", "row"), ("lettera", "docx", "row"), ("elenco", "pdf", "batch")]
    assert job.course["hours"] == 120


def test_unknown_keys_are_named_with_a_suggestion(make_job: Callable[..., Path]) -> None:
    """A typo in the job file is reported by name, with the closest known key."""
    job = make_job(extra_job='optinal = ["x"]', documents="""
        [[document]]
        name = "a"
        template = "templates/attestato.html"
        filname = "x.pdf"
    """)
    with pytest.raises(UnusableError) as info:
        load_job(job)
    text = str(info.value)
    assert "unknown key 'optinal'" in text and "did you mean 'optional'" in text
    assert "unknown key 'filname'" in text and "did you mean 'filename'" in text


def test_all_problems_reported_together(make_job: Callable[..., Path]) -> None:
    """Missing template and duplicate names are both reported in one pass."""
    job = make_job(documents="""
        [[document]]
        name = "a"
        template = "templates/nope.html"
        [[document]]
        name = "b"
        template = "templates/attestato.html"
        [[document]]
        name = "b"
        template = "templates/attestato.html"
    """)
    with pytest.raises(UnusableError) as info:
        load_job(job)
    assert len(info.value.problems) == 2
    assert "template not found" in str(info.value)
    assert "'b' is used twice" in str(info.value)


def test_bad_toml_names_the_line(tmp_path: Path) -> None:
    """Broken TOML gives the parser's line, not a traceback."""
    path = tmp_path / "job.toml"
    path.write_text("[job]\nid = \n", encoding="utf-8")
    with pytest.raises(Exception, match="not valid TOML.*line 2"):
        load_job(path)


def test_only_unknown_document(make_job: Callable[..., Path]) -> None:
    """--only with a name that is not in the job suggests the closest."""
    with pytest.raises(UnusableError, match="did you mean 'lettera'"):
        load_job(make_job()).select(("letera",))


@pytest.mark.parametrize("value", ["0", '"3"', "true", "-1"])
def test_header_row_must_be_a_row_number(make_job: Callable[..., Path], value: str) -> None:
    """[job] header_row is a positive row number; anything else is named."""
    assert load_job(make_job(extra_job="header_row = 3")).header_row == 3
    with pytest.raises(UnusableError, match="header_row must be a row number"):
        load_job(make_job(extra_job=f"header_row = {value}"))
def test_a_spreadsheet_or_template_given_as_the_job_says_so(make_job: Callable[..., Path],
                                                            tmp_path: Path) -> None:
    """docgen build roster.xlsx, or a template as the job: one line saying what the file is
    and what to give instead, exit 2."""
    from click.testing import CliRunner

    from docgen.cli import cli

    make_job()
    for given, what, role in (
            ("roster.xlsx", "a spreadsheet", "the roster is named in it under [job] roster"),
            ("templates/attestato.html", "an HTML template",
             "templates are named in it under [[document]] template"),
            ("templates/lettera.docx", "a Word template", "[[document]] template")):
        result = CliRunner().invoke(cli, ["build", str(tmp_path / given)])
        assert result.exit_code == 2
        name = Path(given).name
        assert f"error: {name} is {what}, not a job file" in result.stderr
        assert "give the job file (.toml), e.g. docgen build input/job.toml" in result.stderr
        assert role in result.stderr and "utf-8" not in result.stderr
        assert "not valid TOML" not in result.stderr
    renamed = tmp_path / "elenco"
    renamed.write_bytes((tmp_path / "roster.xlsx").read_bytes())
    result = CliRunner().invoke(cli, ["check", str(renamed)])
    assert result.exit_code == 2 and "elenco is an office file (a zip archive)" in result.stdout


def test_roster_not_found_suggests_the_name_in_another_case(make_job: Callable[..., Path]
                                                            ) -> None:
    """A roster named Elenco_v2.xlsx in the job but elenco_v2.xlsx on disk: the message says
    only the case differs; a close name is suggested too."""
    job = make_job(roster_name="elenco_v2.xlsx")
    text = job.read_text(encoding="utf-8")
    job.write_text(text.replace('roster = "elenco_v2.xlsx"', 'roster = "Elenco_v2.xlsx"'),
                   encoding="utf-8")
    with pytest.raises(UnusableError) as caught:
        load_job(job)
    assert "roster not found" in str(caught.value)
    assert "did you mean 'elenco_v2.xlsx'? Only the case differs: fix [job] roster." \
        in str(caught.value)
    job.write_text(text.replace('roster = "elenco_v2.xlsx"', 'roster = "elenco_v3.xlsx"'),
                   encoding="utf-8")
    with pytest.raises(UnusableError) as caught:
        load_job(job)
    assert "did you mean 'elenco_v2.xlsx'? Fix [job] roster." in str(caught.value)


def test_unknown_document_key_is_placed_by_the_documents_name(make_job: Callable[..., Path]
                                                              ) -> None:
    """An unknown key in a [[document]] names the document, not its position."""
    job = make_job(documents="""
        [[document]]
        name = "attestato_frequenza"
        template = "templates/attestato.html"
        tempate = "x"
    """)
    with pytest.raises(UnusableError) as caught:
        load_job(job)
    assert "unknown key 'tempate' in [[document]] attestato_frequenza" in str(caught.value)
    assert "#1" not in str(caught.value)
