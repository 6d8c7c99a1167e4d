"""Per-row planning (plan.py): a bad value fails only the documents that read it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from docgen.cli import cli
from tests.conftest import WORKERS


def test_build_fails_only_documents_touched_by_a_bad_value(make_job: Callable[..., Path],
                                                           tmp_path: Path) -> None:
    """A row-level data error fails the documents that use that field; others are written."""
    rows = [list(r) for r in WORKERS]
    rows[0][5] = 150  # hours: used by the attestato's 'when' and text, not by the lettera
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(make_job(rows=rows)), "--out", str(out),
                                      "-j", "1"])
    assert result.exit_code == 1
    assert "hours 150 is more than the course's 120 (cell roster.xlsx!F2)" in result.stderr
    assert not (out / "DNGNCL80A01I726W/attestato.pdf").exists()
    assert (out / "D'Angelo_Niccolò/lettera.docx").exists()
