"""Nothing outside the output folder changes (files.py): real symlinks planted in it, paths
read back from a manifest, other programs' temporaries, names past the file system's limits."""

from __future__ import annotations

import csv
import errno
import hashlib
import os
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from docgen.cli import cli
from docgen.files import OutputFolder, temporary_name
from docgen.names import MAX_COMPONENT_BYTES
from tests.conftest import HEADER, WORKERS, numbered_workers
from tests.helpers import check_hashes, manifest


def tree_digest(root: Path) -> dict[str, str]:
    """Every file and link under ``root`` with its content's hash: what must never change."""
    found = {}
    for path in sorted(root.rglob("*")):
        name = str(path.relative_to(root))
        if path.is_symlink():
            found[name] = "link:" + os.readlink(path)
        elif path.is_file():
            found[name] = hashlib.sha256(path.read_bytes()).hexdigest()
        else:
            found[name] = "folder"
    return found


@pytest.fixture
def sentinel(tmp_path: Path) -> Path:
    """A folder outside the output folder, with files a symlink could redirect writes to."""
    root = tmp_path / "outside"
    (root / "folder").mkdir(parents=True)
    (root / "important.txt").write_text("do not touch\n", encoding="utf-8")
    (root / "folder" / "old.zip").write_bytes(b"PK not docgen's")
    (root / "folder" / "log.csv").write_text("a,b\n", encoding="utf-8")
    return root


def build(job: Path, out: Path, *extra: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1", "-q",
                                      *extra])
    return result.exit_code, result.output


@pytest.mark.parametrize(("name", "target"), [
    (".docgen.lock", "important.txt"),
    (".docgen-journal.jsonl", "folder/log.csv"),
    ("manifest.csv", "important.txt"),
    ("bundles", "folder"),
])
def test_symlinked_bookkeeping_stops_the_build(name: str, target: str, sentinel: Path,
                                               make_job: Callable[..., Path],
                                               tmp_path: Path) -> None:
    """A symlink as the lock, journal, manifest or bundles/ stops the build with exit 2 and a
    message naming it; nothing outside the output folder changes."""
    job, out = make_job(), tmp_path / "out"
    out.mkdir()
    (out / name).symlink_to(sentinel / target)
    before = tree_digest(sentinel)
    code, output = build(job, out, "--zip")
    assert code == 2, output
    assert f"{out / name} is a symbolic link" in output
    assert tree_digest(sentinel) == before


def test_symlinked_mail_folder_and_log_are_refused(sentinel: Path, make_job: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    """mail/ or mail/log.csv as a symlink: docgen mail stops with exit 2, the target untouched."""
    job, out = make_job(), tmp_path / "out"
    text = job.read_text(encoding="utf-8") + (
        '\n[mail]\nfrom = "Segreteria <segreteria@example.org>"\nto = "note"\n'
        'subject = "Documenti"\nbody = "Gentile {{ nome }}"\n')
    job.write_text(text, encoding="utf-8")
    assert build(job, out)[0] in (0, 1)
    before = tree_digest(sentinel)
    (out / "mail").symlink_to(sentinel / "folder")
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out), "--drafts"])
    assert result.exit_code == 2, result.output
    assert f"{out / 'mail'} is a symbolic link" in result.output
    (out / "mail").unlink()
    (out / "mail").mkdir()
    (out / "mail" / "log.csv").symlink_to(sentinel / "folder" / "log.csv")
    result = CliRunner().invoke(cli, ["mail", str(job), "--out", str(out), "--drafts"])
    assert result.exit_code == 2, result.output
    assert "log.csv is a symbolic link" in result.output
    assert tree_digest(sentinel) == before


def test_symlinked_row_folder_fails_only_that_row(sentinel: Path, make_job: Callable[..., Path],
                                                  tmp_path: Path) -> None:
    """A worker's folder that is a symlink (to another worker's folder, or outside) fails
    only that worker's documents, naming the link; the others are written, exit 1."""
    job, out = make_job(), tmp_path / "out"
    first, last = WORKERS[0][2], WORKERS[2][2]
    out.mkdir()
    (out / last).mkdir()
    (out / first).symlink_to(sentinel / "folder")
    before = tree_digest(sentinel)
    code, output = build(job, out)
    assert code == 1, output
    lines = manifest(out)
    failed = [line for line in lines if line["status"] == "failed"]
    assert {line["key"] for line in failed} == {first}
    assert all(f"{out / first} is a symbolic link" in line["message"] for line in failed)
    assert "attestato, row 2 (D'ANGELO Niccolò)" in failed[0]["message"]
    assert (out / last / "attestato.pdf").is_file()
    assert tree_digest(sentinel) == before
    check_hashes(out)


def test_symlink_swapped_for_a_document_is_not_followed(sentinel: Path,
                                                        make_job: Callable[..., Path],
                                                        tmp_path: Path) -> None:
    """A document replaced by a symlink to an outside file is made again as a real file;
    the outside file stays as it was."""
    job, out = make_job(), tmp_path / "out"
    assert build(job, out)[0] == 0
    document = out / WORKERS[0][2] / "attestato.pdf"
    document.unlink()
    document.symlink_to(sentinel / "important.txt")
    before = tree_digest(sentinel)
    code, output = build(job, out)
    assert code == 1 and f"{document} is a symbolic link" in output
    assert tree_digest(sentinel) == before


def _edit_manifest(out: Path, extra: list[dict[str, str]]) -> None:
    lines = manifest(out) + extra
    with (out / "manifest.csv").open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(lines[0]))
        writer.writeheader()
        writer.writerows(lines)


def test_manifest_paths_outside_are_never_pruned(sentinel: Path, make_job: Callable[..., Path],
                                                 tmp_path: Path) -> None:
    """Manifest lines with an absolute path, a climbing path or a path through a link are
    neither trusted nor deleted by --prune."""
    job, out = make_job(), tmp_path / "out"
    assert build(job, out)[0] == 0
    victim = sentinel / "important.txt"
    sha = hashlib.sha256(victim.read_bytes()).hexdigest()
    (out / "via").symlink_to(sentinel)
    rows = [{"row": "9", "key": "GONE", "document": "attestato", "status": "ok", "path": path,
             "sha256": sha, "message": "", "inputs": "x", "source": ""}
            for path in (str(victim), "../outside/important.txt", "via/important.txt")]
    _edit_manifest(out, rows)
    before = tree_digest(sentinel)
    code, output = build(job, out, "--prune")
    assert code == 0, output
    assert tree_digest(sentinel) == before
    assert not any(line["key"] == "GONE" for line in manifest(out))


def test_orphan_clean_up_touches_only_docgen_temporaries(make_job: Callable[..., Path],
                                                         tmp_path: Path) -> None:
    """--out on an existing folder: other programs' .tmp files stay; docgen's own
    temporaries (.docgen-<hex>.tmp) left by a killed run go."""
    job, out = make_job(), tmp_path / "out"
    (out / "notes").mkdir(parents=True)
    theirs = [out / ".notes.tmp", out / "notes" / ".draft.docx.abc123.tmp", out / "x.tmp"]
    for path in theirs:
        path.write_text("someone else's", encoding="utf-8")
    ours = out / "notes" / temporary_name()
    ours.write_bytes(b"half a pdf")
    assert build(job, out)[0] == 0
    assert all(p.read_text(encoding="utf-8") == "someone else's" for p in theirs)
    assert not ours.exists()


def test_long_cjk_names_are_shortened_not_fatal(make_job: Callable[..., Path],
                                                tmp_path: Path) -> None:
    """A surname of 90 CJK characters (270 bytes) gives documents and bundles whose every
    name fits in 255 bytes, shortened the same way each run; exit 0."""
    surname = "黄" * 90
    rows = [[surname, "Wei", *WORKERS[0][2:]], *WORKERS[1:]]
    documents = """
        [[document]]
        name = "attestato"
        template = "templates/attestato.html"
        filename = "{{ cognome }}_{{ nome }}/{{ cognome }}.pdf"
    """
    job, out = make_job(rows=rows, header=HEADER, documents=documents), tmp_path / "out"
    code, output = build(job, out, "--zip")
    assert code == 0, output
    names = [p.name for p in out.rglob("*")]
    assert all(len(n.encode("utf-8")) <= MAX_COMPONENT_BYTES for n in names)
    bundles = sorted(p.name for p in (out / "bundles" / "per-worker").iterdir())
    assert any(n.startswith("黄黄黄") and n.endswith(".zip") for n in bundles)
    first = sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf"))
    assert build(job, out, "--force")[0] == 0
    assert sorted(str(p.relative_to(out)) for p in out.rglob("*.pdf")) == first
    check_hashes(out)


def test_output_folder_refuses_paths_that_leave_it(tmp_path: Path) -> None:
    """The one write function refuses absolute and climbing paths and never writes through
    a link, even one in the middle of the path."""
    folder = OutputFolder(tmp_path / "out")
    folder.create()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "out" / "a").symlink_to(tmp_path / "elsewhere")
    for bad in ("/etc/x", "../x", "a/../../x", "a/b.pdf"):
        with pytest.raises(Exception, match="not inside|symbolic link"):
            folder.write(bad, b"data")
    assert not list((tmp_path / "elsewhere").iterdir())
    assert folder.write("b/c.pdf", b"data") == hashlib.sha256(b"data").hexdigest()
    assert folder.read_bytes("b/c.pdf") == b"data"


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real 600 kB tmpfs (root only; elsewhere the test is skipped, see the next test)."""
    mount = tmp_path / "disk"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mount)],
                          capture_output=True)
    if done.returncode != 0:
        pytest.skip("mount -t tmpfs is not allowed here")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def test_disk_full_names_it_and_the_rerun_finishes(small_disk: Path, make_job: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    """The disk fills up mid-build (a real size-limited tmpfs): the message says to free space
    and run again, never 'unexpected'; after making room the same command finishes and
    every document is intact."""
    rows = numbered_workers(40)
    job, out = make_job(rows=rows), small_disk / "out"
    code, output = build(job, out, "--zip")
    assert code in (1, 2), output
    assert "free space and run again" in output
    assert "unexpected" not in output and "Traceback" not in output
    for pdf in out.rglob("*.pdf"):  # what was written is whole
        assert len(PdfReader(pdf).pages) >= 1
    subprocess.run(["mount", "-o", "remount,size=50m", str(small_disk)], check=True)
    code, output = build(job, out, "--zip")
    assert code == 0, output
    check_hashes(out)
    assert not list(out.rglob(".docgen-*.tmp"))


def test_disk_full_at_the_write_function(monkeypatch: pytest.MonkeyPatch,
                                         make_job: Callable[..., Path], tmp_path: Path) -> None:
    """ENOSPC injected at OutputFolder.write (the one write function) after three documents:
    each failure says to free space, the rest of the batch and the re-run finish."""
    job, out = make_job(), tmp_path / "out"
    real = OutputFolder.write
    calls = {"n": 0}

    def full(self: OutputFolder, relative: str, data: bytes, *, durable: bool = True) -> str:
        calls["n"] += 1
        if relative.endswith(".docx"):
            raise OSError(errno.ENOSPC, "No space left on device", relative)
        return real(self, relative, data, durable=durable)

    monkeypatch.setattr(OutputFolder, "write", full)
    code, output = build(job, out)
    assert code == 1, output
    assert ("failed: lettera, row 2 (D'ANGELO Niccolò): no space left on the device of "
            f"{out}") in output
    assert "free space and run again" in output
    monkeypatch.setattr(OutputFolder, "write", real)
    assert build(job, out)[0] == 0
    check_hashes(out)


def test_read_only_folder_gives_a_hint(tmp_path: Path, make_job: Callable[..., Path]) -> None:
    """A read-only output folder (a read-only tmpfs) stops with exit 2, naming the folder and
    what to do, not an unexpected OSError."""
    mount = tmp_path / "ro"
    mount.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=100k", "tmpfs", str(mount)],
                      capture_output=True).returncode != 0:
        pytest.skip("mount -t tmpfs is not allowed here")
    try:
        code, output = build(make_job(), mount)
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)
    assert code == 2, output
    assert f"the output folder {mount} is read-only" in output
    assert "choose a writable folder with --out" in output
    assert "unexpected" not in output


def test_hard_linked_journal_is_refused(sentinel: Path, make_job: Callable[..., Path],
                                        tmp_path: Path) -> None:
    """A journal that is a hard link to another file (O_NOFOLLOW cannot see it) is refused
    before anything is appended; the other file is unchanged."""
    job, out = make_job(), tmp_path / "out"
    out.mkdir()
    os.link(sentinel / "folder" / "log.csv", out / ".docgen-journal.jsonl")
    before = tree_digest(sentinel)
    code, output = build(job, out)
    assert code == 2, output
    assert "is a hard link to another file" in output
    assert tree_digest(sentinel) == before
