"""Reading real output back (PDF text, DOCX text, manifest lines) and real builds started and
killed."""

from __future__ import annotations

import csv
import hashlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from docx import Document
from pypdf import PdfReader


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def docx_text(path: Path) -> str:
    """Body paragraphs, table cells, headers and footers, as a reader sees them."""
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts)


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def check_hashes(folder: Path) -> None:
    """Every ok line's sha256 is the file's on disk."""
    for line in manifest(folder):
        if line["status"] == "ok":
            data = (folder / line["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == line["sha256"], line["path"]


def start_build(job: Path, out: Path, *extra: str) -> subprocess.Popen[str]:
    """``docgen build`` as a real process, on this checkout's code; its output in pipes."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    return subprocess.Popen([sys.executable, "-m", "docgen", "build", str(job), "--out", str(out),
                             "-q", *extra], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def kill_when(process: subprocess.Popen[str], ready: Callable[[], bool],
              seconds: float = 240, poll: float = 0.05) -> None:
    """SIGKILL ``process`` once ``ready()`` (it must not have finished first)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline and process.poll() is None and not ready():
        time.sleep(poll)
    assert process.poll() is None, "the build finished before it could be killed"
    process.send_signal(signal.SIGKILL)
    process.communicate()


def kill_when_journaled(process: subprocess.Popen[str], out: Path, lines: int,
                        seconds: float = 240) -> None:
    """SIGKILL the build once its journal holds more than ``lines`` lines."""
    from docgen.resume import JOURNAL

    journal = out / JOURNAL
    kill_when(process, lambda: journal.exists()
              and journal.read_text(encoding="utf-8").count("\n") > lines, seconds)
