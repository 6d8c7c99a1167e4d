"""Incremental builds, stale documents, and resuming after a build is killed."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from click.testing import CliRunner
from docx import Document
from pypdf import PdfReader

from docgen.cli import cli
from docgen.resume import JOURNAL
from tests.conftest import WORKERS, numbered_workers
from tests.helpers import check_hashes, kill_when, kill_when_journaled, manifest, start_build


def build(job: Path, out: Path, *extra: str) -> tuple[int, str, list[dict[str, str]]]:
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1", *extra])
    return result.exit_code, result.stdout, manifest(out)


def statuses(lines: list[dict[str, str]]) -> list[tuple[str, str, str]]:
    return [(line["row"], line["document"], line["status"]) for line in lines]


def test_rerun_leaves_unchanged_documents_alone(make_job: Callable[..., Path],
                                                tmp_path: Path) -> None:
    """A second build with the same inputs rewrites nothing and says so."""
    job, out = make_job(), tmp_path / "out"
    build(job, out)
    mtimes = {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")}
    code, stdout, lines = build(job, out)
    assert code == 0
    assert stdout.startswith("0 ok, 4 unchanged, 3 skipped, 0 failed")
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")} == mtimes
    assert all(line["inputs"] for line in lines if line["status"] == "unchanged")
    check_hashes(out)


def test_changed_row_and_altered_file_are_regenerated(make_job: Callable[..., Path],
                                                      tmp_path: Path) -> None:
    """Only the row whose values changed, and a file altered on disk, are made again."""
    out = tmp_path / "out"
    build(make_job(), out)
    rows = [list(r) for r in WORKERS]
    rows[2][5] = 119
    job = make_job(rows=rows)
    (out / "elenco.pdf").write_bytes(b"tampered")
    code, stdout, lines = build(job, out)
    assert code == 0
    assert ("4", "attestato", "ok") in statuses(lines)
    assert ("2", "attestato", "unchanged") in statuses(lines)
    assert ("", "elenco", "ok") in statuses(lines)
    assert "2 document(s) regenerated: BIANCHI Giulia, attestato; elenco" in stdout
    check_hashes(out)


def test_force_and_missing_files(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """--force makes everything again; a deleted document is made again without it."""
    job, out = make_job(), tmp_path / "out"
    build(job, out)
    (out / "DNGNCL80A01I726W/attestato.pdf").unlink()
    _, _, lines = build(job, out)
    assert ("2", "attestato", "ok") in statuses(lines)
    assert (out / "DNGNCL80A01I726W/attestato.pdf").exists()
    _, stdout, lines = build(job, out, "--force")
    assert stdout.startswith("4 ok, 3 skipped")


def test_template_change_regenerates_its_documents(make_job: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    """Editing a template (or a file beside it) makes its documents again."""
    out = tmp_path / "out"
    build(make_job(), out)
    job = make_job(html="<p>Attestato per {{ nome }} {{ cognome }}</p>")
    _, _, lines = build(job, out)
    assert [s for s in statuses(lines) if s[1] == "attestato"] == [
        ("2", "attestato", "ok"), ("3", "attestato", "skipped"), ("4", "attestato", "ok")]
    assert ("2", "lettera", "unchanged") in statuses(lines)


def test_removed_worker_is_stale_until_pruned(make_job: Callable[..., Path],
                                              tmp_path: Path) -> None:
    """Documents of a worker no longer on the roster are reported, never deleted silently."""
    out = tmp_path / "out"
    build(make_job(), out)
    job = make_job(rows=WORKERS[1:])
    code, stdout, lines = build(job, out)
    assert code == 0
    stale = [(line["key"], line["path"]) for line in lines if line["status"] == "stale"]
    assert stale == [("DNGNCL80A01I726W", "DNGNCL80A01I726W/attestato.pdf"),
                     ("DNGNCL80A01I726W", "D'Angelo_Niccolò/lettera.docx")]
    assert "2 stale document(s)" in stdout
    assert (out / "DNGNCL80A01I726W/attestato.pdf").exists()
    code, stdout, lines = build(job, out, "--prune")
    assert "2 stale document(s) removed" in stdout
    assert not (out / "DNGNCL80A01I726W").exists()
    assert not any(line["status"] == "stale" for line in lines)


def test_killed_build_resumes_without_loss(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """SIGKILL in the middle of a real build: no half-written file, and the next run
    trusts what was finished and makes only the rest."""
    rows = numbered_workers(60)
    job, out = make_job(rows=rows), tmp_path / "out"
    kill_when_journaled(start_build(job, out, "-j", "1"), out, 20, seconds=120)
    journal = out / JOURNAL
    assert not (out / "manifest.csv").exists()
    for pdf in out.rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) == 1  # complete, or not there at all
    for docx in out.rglob("*.docx"):
        Document(str(docx))
    finished = journal.read_text(encoding="utf-8").count("\n") - 1

    code, _stdout, lines = build(job, out)
    assert code == 0
    counts = {s: sum(line["status"] == s for line in lines) for s in ("ok", "unchanged")}
    assert counts["unchanged"] >= finished - 1 and counts["ok"] + counts["unchanged"] == 121
    assert not list(out.rglob(".*.tmp")) and not journal.exists()
    check_hashes(out)


def test_second_build_into_the_same_folder_is_refused(make_job: Callable[..., Path],
                                                      tmp_path: Path) -> None:
    """While one build writes a folder, another one stops with a clear error (exit 2)."""
    import fcntl

    job, out = make_job(), tmp_path / "out"
    out.mkdir()
    with (out / ".docgen.lock").open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)  # as a running build holds it
        result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out)])
    assert result.exit_code == 2
    assert "another docgen build is running on" in result.stderr
    assert not (out / "manifest.csv").exists()
    assert build(job, out)[0] == 0


def test_journal_survives_two_kills_the_first_before_its_first_line(
        make_job: Callable[..., Path], tmp_path: Path) -> None:
    """kill -9 before the journal's first line, then again mid-build: every complete line
    is trusted by the next build, which makes only the rest."""
    from docgen.resume import read_journal

    rows = numbered_workers(40)
    job, out = make_job(rows=rows), tmp_path / "out"
    journal = out / JOURNAL
    first = start_build(job, out, "-j", "1")
    kill_when(first, lambda: journal.exists() and journal.stat().st_size == 0, poll=0.005)
    assert journal.read_bytes() == b""
    second = start_build(job, out, "-j", "1")
    kill_when(second, lambda: journal.exists() and journal.read_bytes().count(b"\n") > 8,
              poll=0.005)
    trusted = read_journal(journal)
    assert len(trusted) >= 8
    code, _stdout, lines = build(job, out)
    assert code == 0
    unchanged = {line["path"] for line in lines if line["status"] == "unchanged"}
    assert {line["path"] for line in trusted} <= unchanged
    assert sum(line["status"] in ("ok", "unchanged") for line in lines) == 81
    check_hashes(out)


def test_journal_line_cut_short_is_skipped_and_the_next_starts_afresh(tmp_path: Path) -> None:
    """A line cut by a kill is ignored; lines appended after it are read back whole."""
    from docgen.manifest import Outcome
    from docgen.resume import Journal, journal_line, read_journal

    done = Outcome("attestato", "ok", row=2, key="'=1+1", path="a/b.pdf", sha256="0" * 64,
                   inputs="x", files={"t.html": "1" * 64})
    (tmp_path / JOURNAL).write_bytes(journal_line(done) + journal_line(done)[:30])
    journal = Journal(tmp_path)
    journal.add(Outcome("attestato", "ok", row=3, key="K", path="c.pdf", sha256="2" * 64))
    journal.close()
    lines = read_journal(tmp_path / JOURNAL)
    assert [(line["key"], line["path"]) for line in lines] == [("'=1+1", "a/b.pdf"), ("K", "c.pdf")]
    assert lines[0]["files"] == {"t.html": "1" * 64}
