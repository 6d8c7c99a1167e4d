"""docgen check (check.py): every problem at once, grouped, with cells; JSON; exit codes."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner

from docgen.cli import cli
from tests.conftest import WORKERS


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
