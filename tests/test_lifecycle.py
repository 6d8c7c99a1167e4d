"""Process lifecycle (lifecycle.py): real signals to a real `docgen build` process tree.
SIGINT and SIGTERM stop it cleanly (130, 143) keeping what is done; after SIGKILL no process
it started survives; the same command run again finishes."""

from __future__ import annotations

import signal
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import psutil
import pytest

from docgen.resume import JOURNAL
from tests.conftest import numbered_workers
from tests.helpers import check_hashes, manifest, start_build


def journaled(out: Path) -> int:
    try:
        return max(0, (out / JOURNAL).read_text(encoding="utf-8").count("\n") - 1)
    except OSError:
        return 0


def wait_for(condition: Callable[[], bool], process: subprocess.Popen[str],
             seconds: float = 180) -> None:
    # The condition is evaluated once per turn: a process tree that changes between two
    # looks (LibreOffice's launcher handing over to soffice.bin) must not fail the test.
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, f"the build ended first: {process.communicate()}"
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting")


def command(process: psutil.Process) -> str:
    """A process's command line; empty once it has gone (LibreOffice's launcher hands over to
    soffice.bin and exits while we look)."""
    try:
        return " ".join(process.cmdline())
    except psutil.Error:
        return ""


def alive(processes: list[psutil.Process]) -> list[str]:
    """The processes of ``processes`` still running (a zombie has exited)."""
    left = []
    for process in processes:
        try:
            if process.is_running() and process.status() != psutil.STATUS_ZOMBIE:
                left.append(f"{process.pid} {' '.join(process.cmdline())[:120]}")
        except psutil.NoSuchProcess:
            continue
    return left


def assert_all_gone(processes: list[psutil.Process], seconds: float = 8) -> None:
    deadline = time.monotonic() + seconds
    while alive(processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(processes), alive(processes)


def rerun_finishes(job: Path, out: Path, *extra: str) -> list[dict[str, str]]:
    process = start_build(job, out, *extra)
    _, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    check_hashes(out)
    return manifest(out)


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_stop_signal_keeps_finished_documents(signum: int, code: int,
                                              make_job: Callable[..., Path],
                                              tmp_path: Path) -> None:
    """SIGINT or SIGTERM mid-build: workers stop, the finished documents are kept, the message
    says how many and what to do, exit 130 or 143, no click 'Aborted!'; no process it started
    is left, and the same command finishes the rest."""
    job, out = make_job(rows=numbered_workers(60)), tmp_path / "out"
    process = start_build(job, out, "-j", "2")
    wait_for(lambda: journaled(out) > 10, process)
    tree = psutil.Process(process.pid).children(recursive=True)
    assert tree, "the build runs workers"
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code, stderr
    assert "Aborted!" not in stderr and "Traceback" not in stderr
    assert "documents written; run the same command again to finish" in stderr
    written = int(stderr.split("interrupted: ", 1)[1].split(" ", 1)[0])
    assert written >= 10
    assert_all_gone(tree)
    lines = rerun_finishes(job, out, "-j", "2")
    assert sum(line["status"] == "unchanged" for line in lines) >= written
    assert sum(line["status"] in ("ok", "unchanged") for line in lines) == 121  # elenco too


def test_sigkill_leaves_no_worker_behind(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """kill -9 of the main process: its forkserver, workers and resource tracker notice and
    exit within seconds; the next build trusts the journal and finishes."""
    job, out = make_job(rows=numbered_workers(60)), tmp_path / "out"
    process = start_build(job, out, "-j", "2")
    wait_for(lambda: journaled(out) > 10, process)
    tree = psutil.Process(process.pid).children(recursive=True)
    assert len(tree) >= 3, [p.cmdline() for p in tree]  # forkserver, workers, tracker
    process.kill()
    process.communicate()
    assert_all_gone(tree)
    lines = rerun_finishes(job, out, "-j", "2")
    assert sum(line["status"] == "unchanged" for line in lines) >= 10


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL])
def test_signal_while_the_early_workers_start(signum: int, make_job: Callable[..., Path],
                                              tmp_path: Path) -> None:
    """The workers' server starts before the roster is read: a signal that comes while it
    imports and the plan is made stops everything it started too (SIGINT: exit 130, nothing
    written yet or the documents kept), and the same command then finishes."""
    job, out = make_job(rows=numbered_workers(99)), tmp_path / "out"
    process = start_build(job, out, "-j", "2")

    def started() -> list[psutil.Process]:
        try:
            return psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []

    wait_for(lambda: any("forkserver" in command(p) for p in started()), process, seconds=60)
    tree = started()
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    if signum == signal.SIGINT:
        assert process.returncode == 130, stderr
        assert "run the same command again to finish" in stderr and "Traceback" not in stderr
    assert_all_gone(tree + started())
    rerun_finishes(job, out, "-j", "2")


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGKILL])
def test_signal_during_conversion_stops_libreoffice(signum: int, make_job: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    """SIGTERM or kill -9 while LibreOffice converts: soffice and everything it started stop
    too (they run in a session of their own, out of reach of a parent-death signal); SIGTERM
    exits 143 with the count; the next run finishes."""
    documents = """
        [[document]]
        name = "lettera"
        template = "templates/lettera.docx"
        pdf = true
    """
    job, out = make_job(rows=numbered_workers(30), documents=documents), tmp_path / "out"
    process = start_build(job, out, "-j", "1")

    def soffice() -> list[psutil.Process]:
        try:
            found = psutil.Process(process.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            return []
        return [p for p in found if "soffice" in command(p)]

    wait_for(lambda: bool(soffice()), process)
    time.sleep(1)
    tree = psutil.Process(process.pid).children(recursive=True)
    assert any("soffice" in command(p) for p in tree)
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    if signum == signal.SIGTERM:
        assert process.returncode == 143, stderr
        assert "documents written; run the same command again to finish" in stderr
        assert "Traceback" not in stderr
    assert_all_gone(tree, seconds=10)
    rerun_finishes(job, out, "-j", "1")
