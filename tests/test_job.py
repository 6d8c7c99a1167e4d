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
