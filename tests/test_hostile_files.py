"""Broken and hostile rosters: one clear line, exit 2, nothing written, no hang."""

from __future__ import annotations

import shutil
import tomllib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from docgen.cli import cli

BAD = Path(__file__).parent / "data" / "bad"
EXPECTED = tomllib.loads((BAD / "expected.toml").read_text(encoding="utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_bad_roster_is_refused_clearly(name: str, make_job: Callable[..., Path],
                                       tmp_path: Path) -> None:
    """Each corpus file gives its one-line message and exit 2; no output folder appears."""
    roster = tmp_path / ("bad" + Path(name).suffix)
    job = make_job(roster_name=roster.name)
    shutil.copy(BAD / name, roster)
    out = tmp_path / "out"
    for command in (["check", str(job)], ["build", str(job), "--out", str(out)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, (name, result.output)
        assert EXPECTED[name] in result.output, (name, result.output)
        assert "Traceback" not in result.output
        assert not out.exists()


def test_corpus_is_complete() -> None:
    """Every file in the corpus has its expected message."""
    files = {p.name for p in BAD.iterdir() if p.name != "expected.toml"}
    assert files == set(EXPECTED)
