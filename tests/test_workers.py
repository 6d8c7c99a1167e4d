"""Worker processes (workers.py): renderers really preloaded in the forkserver, workers
started before planning."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from docgen.build import build
from docgen.cli import cli
from docgen.job import load_job
from docgen.plan import make_plan
from docgen.route import rendering
from docgen.workers import Local
from tests.conftest import WORKERS
from tests.helpers import check_hashes, manifest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(("kinds", "expected"), [
    ("pdf", ["docgen.render_pdf", "weasyprint"]),
    ("docx", ["docgen.render_docx", "docgen.fastdocx"]),
])
def test_forkserver_preloads_the_renderers(kinds: str, expected: list[str], tmp_path: Path) -> None:
    """A worker starts with the renderer modules already imported: the forkserver swallows an
    ImportError in its preload list, so a wrong name would silently cost every worker its
    start-up time."""
    code = textwrap.dedent(f"""
        import sys
        from concurrent.futures import ProcessPoolExecutor
        from docgen.workers import _Pool, preload_modules

        def loaded(names):
            return [n for n in names if n in sys.modules]

        if __name__ == "__main__":
            pool = _Pool(None, 1, preload_modules({{{kinds!r}}}))
            with ProcessPoolExecutor(1, mp_context=pool.context) as executor:
                print(",".join(executor.submit(loaded, {expected!r}).result()))
    """)
    # A script file, not -c: the workers import the function they run from it.
    script = tmp_path / "probe.py"
    script.write_text(code, encoding="utf-8")
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                            cwd=ROOT, timeout=120, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().split(",") == expected


def _workers() -> set[int]:
    """The pool's worker processes: the children of this process's forkserver (other tests'
    processes, a browser's say, come and go beside them)."""
    found = set()
    for child in psutil.Process().children():
        try:
            if any("multiprocessing.forkserver" in part for part in child.cmdline()):
                found |= {p.pid for p in child.children()}
        except psutil.Error:  # gone meanwhile
            continue
    return found


def _until(condition: Callable[[], bool], seconds: float = 60) -> bool:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.05)
    return condition()


def test_workers_started_before_planning_give_the_same_bytes(make_job: Callable[..., Path],
                                                             tmp_path: Path) -> None:
    """`rendering(..., early=True)` starts the workers at once: they exist before the plan
    does, render what a single process renders byte for byte (manifest and sha256), and
    are gone when the route closes."""
    job = load_job(make_job())
    build(job, tmp_path / "one", jobs=1)
    before = _workers()
    with rendering(job, 2, early=True) as route:
        assert _until(lambda: len(_workers() - before) == 2)  # before make_plan ran
        report = build(job, tmp_path / "two", plan=make_plan(job), jobs=2, route=route)
    assert report.exit_code == 0 and report.count("ok") == 4
    assert manifest(tmp_path / "two") == manifest(tmp_path / "one")
    check_hashes(tmp_path / "two")
    assert _until(lambda: not _workers() - before, 30)


def test_an_unusable_job_stops_the_started_workers(make_job: Callable[..., Path],
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
    assert _until(lambda: not _workers() - before, 30)


def test_each_build_dates_its_pdfs_with_its_own_source_date_epoch(
        make_job: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's server outlives a build (it is started once per process): workers forked
    from it take the SOURCE_DATE_EPOCH of the build that uses them, not the server's."""
    job = load_job(make_job())
    dates = []
    for n, epoch in enumerate(("1767225600", "1798761600")):  # 2026-01-01, 2027-01-01
        monkeypatch.setenv("SOURCE_DATE_EPOCH", epoch)
        with rendering(job, 2, early=True) as route:
            build(job, tmp_path / str(n), jobs=2, route=route)
        pdf = next((tmp_path / str(n)).rglob("attestato.pdf"))
        dates.append(str(PdfReader(pdf).metadata["/CreationDate"])[2:10])
    assert dates == ["20260101", "20270101"]


def test_nothing_due_leaves_the_early_workers_unused(make_job: Callable[..., Path]) -> None:
    """A re-run with nothing to render never takes the pool started early, so closing it
    stops its workers at once instead of waiting for their imports and templates."""
    job = load_job(make_job())
    with rendering(job, 2, early=True) as route:
        assert isinstance(route, Local) and route.pool is not None
        assert list(route.run([], lambda: False)) == []
        if route.pool._starting is not None:
            route.pool._starting.join()
        assert route.pool._started is not None  # still the early one: never used


def test_workers_that_cannot_start_early_leave_no_traceback(
        make_job: Callable[..., Path], monkeypatch: pytest.MonkeyPatch,
        capfd: pytest.CaptureFixture[str]) -> None:
    """Spawning fails in the starting thread (no processes left): nothing is printed from that
    thread, the half-made pool is shut down, and the pool is made again when documents are
    due, where its error is reported like any other."""
    import errno

    from docgen.workers import _Pool

    shut: list[bool] = []

    class Unspawnable:
        def __init__(self) -> None:
            self._processes: dict[int, object] = {}  # what _kill_workers looks at

        def submit(self, *args: object) -> None:
            raise OSError(errno.EAGAIN, "Resource temporarily unavailable")

        def shutdown(self, wait: bool = True, cancel_futures: bool = False) -> None:
            shut.append(cancel_futures)

    pool = _Pool(load_job(make_job()), 2, [])
    monkeypatch.setattr(pool, "_executor", Unspawnable)
    pool.start()
    assert pool._starting is not None
    pool._starting.join()
    assert pool._started is None and shut == [True]
    assert "Traceback" not in capfd.readouterr().err
