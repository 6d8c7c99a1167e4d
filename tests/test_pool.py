"""The local worker pool started before planning: same bytes, and no process left behind."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner

from docgen.build import build, rendering
from docgen.cli import cli
from docgen.job import load_job
from docgen.plan import make_plan
from tests.conftest import WORKERS
from tests.helpers import check_hashes, manifest


@pytest.fixture(autouse=True)
def fixed_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")


def _workers() -> set[int]:
    """Worker processes: forked by the pool's server, itself a child of this process (which
    keeps it, and multiprocessing's resource tracker, for its lifetime)."""
    me = psutil.Process()
    return {p.pid for p in me.children(recursive=True) if p.ppid() != me.pid}


def test_pool_started_before_planning_gives_the_same_bytes(make_job: Callable[..., Path],
                                                           tmp_path: Path) -> None:
    """Workers started before the plan exists render the documents a single process renders,
    byte for byte (same manifest, sha256 included)."""
    job = load_job(make_job())
    build(job, tmp_path / "one", jobs=1)
    with rendering(job, 2) as renderer:
        plan = make_plan(job)
        report = build(job, tmp_path / "two", plan=plan, jobs=2, renderer=renderer)
    assert report.exit_code == 0
    assert manifest(tmp_path / "two") == manifest(tmp_path / "one")
    check_hashes(tmp_path / "two")


def test_unusable_job_stops_the_started_workers(make_job: Callable[..., Path],
                                                tmp_path: Path) -> None:
    """The workers start before the roster is read; when planning then finds the job
    unusable (exit 2), they are stopped and nothing is written."""
    header = ["Cognome", "Nome", "Codice fiscale", "Data di nascita", "Sede", "Ore frequentate",
              "Note"]  # no "Esito esame", which the letter's `when` reads
    job = make_job(rows=[row[:6] + row[7:] for row in WORKERS], header=header)
    before = _workers()
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(tmp_path / "out"),
                                      "-j", "2"])
    assert result.exit_code == 2
    assert "esito_esame" in result.stderr
    assert not (tmp_path / "out").exists()
    assert _workers() - before == set()
