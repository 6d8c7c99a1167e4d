"""DOCX -> PDF with a real LibreOffice: batched, private profile, timeouts, PDF/A."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from docgen.archives import external_targets, without_external
from docgen.clock import build_moment
from docgen.errors import (
    ConversionError,
    ConversionTimeoutError,
    DocgenError,
    LibreOfficeMissingError,
    PdfVariantError,
)
from docgen.files import OutputFolder, atomic_write
from docgen.job import PDF_VARIANTS
from docgen.lifecycle import STOPPING, Interrupted, unwatch_group, watch_group
from docgen.pdfstamps import normalise_pdf

INSTALL_HINT = (
    "install LibreOffice (Debian/Ubuntu: apt-get install libreoffice-writer-nogui; "
    "macOS: brew install --cask libreoffice) or set DOCGEN_SOFFICE to the soffice program"
)
# Forcing the Word import filter makes a corrupt file fail instead of becoming a PDF of its bytes.
_IMPORT_FILTERS = {".docx": "MS Word 2007 XML", ".docm": "MS Word 2007 XML VBA", ".doc": "MS Word 97"}
# Files per LibreOffice process: bounds the work a hang throws away and how long a caller waits
# between progress reports.
BATCH_SIZE = 40
_POLL_SECONDS = 0.1
_FALLBACKS = (
    "/Applications/LibreOffice.app/Contents/MacOS/soffice",
    r"C:\Program Files\LibreOffice\program\soffice.exe",
)

OnDone = Callable[[Path, "Path | Exception"], None]






def find_soffice() -> Path:
    """The LibreOffice program: ``DOCGEN_SOFFICE``, else soffice/libreoffice on PATH."""
    configured = os.environ.get("DOCGEN_SOFFICE")
    if configured:
        path = Path(configured).expanduser()
        if path.is_file() and os.access(path, os.X_OK):
            return path
        found = shutil.which(configured)
        if found:
            return Path(found)
        raise LibreOfficeMissingError(
            f"DOCGEN_SOFFICE is {configured!r}, which is not an executable program", hint=INSTALL_HINT
        )
    for name in ("soffice", "libreoffice"):
        found = shutil.which(name)
        if found:
            return Path(found)
    for candidate in _FALLBACKS:
        if Path(candidate).is_file():
            return Path(candidate)
    raise LibreOfficeMissingError(
        "LibreOffice is needed to make PDFs from Word templates and was not found", hint=INSTALL_HINT
    )


def export_filter(pdf_variant: str | None) -> str:
    """The ``--convert-to`` argument for a PDF variant (None: plain PDF)."""
    if pdf_variant is None or pdf_variant.strip().lower() in ("", "none"):
        return "pdf:writer_pdf_Export"
    variant = pdf_variant.strip().lower()
    if variant not in PDF_VARIANTS:
        raise PdfVariantError(
            f"pdf_variant {pdf_variant!r} is not one LibreOffice can export",
            hint=f"use one of {', '.join(PDF_VARIANTS)} or none",
        )
    # LibreOffice's SelectPdfVersion is the part (pdf/a-2u -> 2): it writes conformance level
    # B only, so a "u" level gets the B level of the same part.
    options = {"SelectPdfVersion": {"type": "long", "value": variant[len("pdf/a-")]}}
    return "pdf:writer_pdf_Export:" + json.dumps(options, separators=(",", ":"))


@dataclass(frozen=True)
class _Conversion:
    """One document to convert: where it is, its private copy, and where LibreOffice writes."""

    source: Path
    staged: Path
    produced: Path

    @property
    def target(self) -> Path:
        """The PDF next to the DOCX."""
        return self.source.with_suffix(".pdf")


@dataclass(frozen=True)
class _Run:
    """How a LibreOffice process ended."""

    timed_out: bool
    returncode: int
    stderr: str


class _Converter:
    """One call's LibreOffice program, profile, filter and time limits."""

    def __init__(self, soffice: Path, work: Path, convert_to: str, timeout: float,
                 startup_timeout: float, out: OutputFolder | None = None) -> None:
        self.out = out
        self.soffice = soffice
        self.pdfa = "SelectPdfVersion" in convert_to
        self.profile = work / "profile"
        self.outdir = work / "out"
        self.convert_to = convert_to
        self.timeout = timeout
        self.startup_timeout = startup_timeout

    def command(self, batch: Sequence[_Conversion]) -> list[str]:
        """The LibreOffice command line converting ``batch`` (all of one import filter)."""
        command = [
            str(self.soffice),
            f"-env:UserInstallation={self.profile.as_uri()}",
            "--headless", "--norestore", "--nologo", "--nodefault", "--nolockcheck",
        ]
        import_filter = _IMPORT_FILTERS.get(batch[0].source.suffix.lower())
        if import_filter:
            command.append(f"--infilter={import_filter}")
        command += ["--convert-to", self.convert_to, "--outdir", str(self.outdir)]
        return command + [str(job.staged) for job in batch]

    def run(self, batch: Sequence[_Conversion]) -> _Run:
        """Run one LibreOffice process over ``batch``; kill its whole process group when it stalls.

        The process may take ``startup_timeout + timeout`` seconds for its first PDF and
        ``timeout`` seconds for each next one, so a hang is caught after one document's allowance.
        """
        log = self.outdir.parent / "stderr.log"
        with log.open("wb") as stderr:
            process = subprocess.Popen(
                self.command(batch),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=stderr,
                # A group of its own: soffice starts soffice.bin, and a timeout must stop both.
                start_new_session=True,
                env=_environment(),
            )
        # Out of reach of a parent-death signal (a session of its own): the watcher kills
        # the group if docgen dies first, even by SIGKILL.
        watch_group(process.pid)
        try:
            timed_out = self._wait(process, batch)
        except BaseException:
            _kill_group(process)
            process.wait()
            raise
        finally:
            unwatch_group(process.pid)
        if timed_out:
            # The killed process leaves its lock behind; the next process reuses the profile.
            (self.profile / ".lock").unlink(missing_ok=True)
        text = log.read_text("utf-8", "replace")
        return _Run(timed_out=timed_out, returncode=process.returncode, stderr=text)

    def _wait(self, process: subprocess.Popen[bytes], batch: Sequence[_Conversion]) -> bool:
        """Wait for ``process`` while it makes progress; kill it and return True when it stalls."""
        deadline = time.monotonic() + self.startup_timeout + self.timeout
        produced = 0
        while True:
            try:
                process.wait(timeout=_POLL_SECONDS)
                return False
            except subprocess.TimeoutExpired:
                pass
            if STOPPING.is_set():  # SIGINT or SIGTERM to docgen: stop now, keep what is done
                raise Interrupted(signal.SIGTERM)
            now = time.monotonic()
            count = sum(1 for job in batch if job.produced.exists())
            if count > produced:
                produced, deadline = count, now + self.timeout
            elif now >= deadline:
                _kill_group(process)
                process.wait()
                return True

    def convert(self, batch: Sequence[_Conversion],
                report: Callable[[_Conversion, Path | Exception], None]) -> None:
        """Convert ``batch``; after a hang or crash, retry the unfinished ones in smaller batches."""
        outcome = self.run(batch)
        unfinished = []
        for job in batch:
            if _complete_pdf(job.produced):
                report(job, self.install(job))
            else:
                unfinished.append(job)
        if not unfinished:
            return
        for job in unfinished:
            # A killed process may leave a truncated PDF; a retry must not mistake it for its own.
            job.produced.unlink(missing_ok=True)
        if outcome.timed_out or outcome.returncode != 0:
            if len(batch) == 1:
                report(batch[0], self.failure(batch[0], outcome))
                return
            # LibreOffice converts in argument order: the first unfinished file is the suspect.
            self.convert(unfinished[:1], report)
            if unfinished[1:]:
                self.convert(unfinished[1:], report)
            return
        for job in unfinished:
            report(job, ConversionError(
                "LibreOffice could not read this file (corrupt, or not a Word document)",
                file=str(job.source),
            ))

    def install(self, job: _Conversion) -> Path | Exception:
        """Move the produced PDF next to its DOCX atomically, once it is what was asked for."""
        try:
            data = job.produced.read_bytes()
            job.produced.unlink()
        except OSError as err:
            return ConversionError(f"cannot read LibreOffice's PDF: {err.strerror}", file=str(job.source))
        # LibreOffice before 7.4 ignores JSON filter options and silently writes a plain PDF.
        if self.pdfa and b"pdfaid:part" not in data:
            return ConversionError("LibreOffice wrote a plain PDF instead of PDF/A",
                                   file=str(job.source), hint="LibreOffice 7.4 or newer is needed for PDF/A")
        try:  # the same DOCX must give the same bytes: the manifest's sha256 is relied on
            seed = hashlib.sha256(job.staged.read_bytes()).hexdigest()
            data = normalise_pdf(data, seed, build_moment(), pdfa=self.pdfa)
        except ConversionError as err:
            return ConversionError(err.message, file=str(job.source))
        except Exception as err:  # pikepdf cannot read what LibreOffice wrote
            return ConversionError(f"cannot normalise LibreOffice's PDF: {err}", file=str(job.source))
        try:
            if self.out is not None:
                self.out.write(job.target.relative_to(self.out.root).as_posix(), data)
            else:
                atomic_write(job.target, data)
        except DocgenError as err:
            return ConversionError(str(err), file=str(job.source))
        except OSError as err:
            return ConversionError(f"cannot write {job.target.name}: {err.strerror}", file=str(job.source))
        return job.target

    def failure(self, job: _Conversion, outcome: _Run) -> ConversionError:
        """The error for a single-file process that hung or crashed."""
        if outcome.timed_out:
            limit = self.startup_timeout + self.timeout
            return ConversionTimeoutError(
                f"LibreOffice did not finish converting to PDF within {limit:g} seconds and was stopped",
                file=str(job.source),
            )
        detail = outcome.stderr.strip().splitlines()[-1:] or ["no message"]
        return ConversionError(
            f"LibreOffice stopped with exit code {outcome.returncode} ({detail[0]})",
            file=str(job.source),
        )


def convert_to_pdf(
    docx_files: Sequence[Path],
    *,
    pdf_variant: str | None = "pdf/a-3u",
    timeout: float = 60.0,
    startup_timeout: float = 60.0,
    on_done: OnDone | None = None,
    batch_size: int = BATCH_SIZE,
    soffice: Path | None = None,
    workdir: Path | None = None,
    out: Path | None = None,
) -> dict[Path, Path | Exception]:
    """Convert each DOCX to a PDF next to it (same stem); map each DOCX to its PDF or its error.

    One LibreOffice process converts up to ``batch_size`` files, with a private profile folder
    removed afterwards. A process that makes no progress for ``timeout`` seconds per document
    (plus ``startup_timeout`` for its first) is killed; the files it left are retried, the stuck
    one alone, so only that one fails. Errors in the result are ``ConversionError``.

    With ``out`` (the output folder the files are in), each DOCX is read and each PDF written
    through it, never through a symlink. LibreOffice gets a copy of each DOCX whose external
    relationships (linked images, OLE objects, frames: ``TargetMode="External"``) point
    nowhere, so it fetches nothing from the network or from other files.
    """
    convert_to = export_filter(pdf_variant)
    program = soffice or find_soffice()
    sources = list(dict.fromkeys(Path(p) for p in docx_files))
    results: dict[Path, Path | Exception] = {}

    def report(job: _Conversion, result: Path | Exception) -> None:
        results[job.source] = result
        if on_done is not None:
            on_done(job.source, result)

    work = Path(tempfile.mkdtemp(prefix="docgen-convert-", dir=workdir)).resolve()
    try:
        folder = OutputFolder(out) if out is not None else None
        converter = _Converter(program, work, convert_to, timeout, startup_timeout, folder)
        jobs = _stage(sources, work, report, folder)
        for batch in _batches(jobs, max(1, batch_size)):
            if STOPPING.is_set():
                raise Interrupted(signal.SIGTERM)
            converter.convert(batch, report)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return {source: results[source] for source in sources}


def _stage(sources: Sequence[Path], work: Path, report: Callable[[_Conversion, Path | Exception], None],
           folder: OutputFolder | None = None) -> list[_Conversion]:
    """Copy each DOCX under a unique numbered name, so equal names in other folders never collide."""
    (work / "in").mkdir()
    (work / "out").mkdir()
    jobs = []
    for number, source in enumerate(sources):
        staged = work / "in" / f"{number:06d}{source.suffix.lower()}"
        job = _Conversion(source=source, staged=staged, produced=work / "out" / f"{number:06d}.pdf")
        try:
            data = folder.read_bytes(source.relative_to(folder.root).as_posix()) \
                if folder is not None else source.read_bytes()
            staged.write_bytes(without_external(data) if _has_external(data) else data)
        except DocgenError as err:
            report(job, ConversionError(str(err), file=str(source)))
            continue
        except OSError as err:
            report(job, ConversionError(f"cannot read the file to convert: {err.strerror}",
                                        file=str(source)))
            continue
        jobs.append(job)
    return jobs


def _has_external(data: bytes) -> bool:
    try:
        return bool(external_targets(data))
    except (zipfile.BadZipFile, SyntaxError, ValueError, KeyError, EOFError):
        return False  # not a zip, or damaged: LibreOffice's import filter reports it


def _batches(jobs: Sequence[_Conversion], size: int) -> list[list[_Conversion]]:
    """Jobs grouped by import filter, in chunks of at most ``size``."""
    groups: dict[str | None, list[_Conversion]] = {}
    for job in jobs:
        groups.setdefault(_IMPORT_FILTERS.get(job.source.suffix.lower()), []).append(job)
    return [group[i:i + size] for group in groups.values() for i in range(0, len(group), size)]


def _complete_pdf(path: Path) -> bool:
    """A PDF LibreOffice finished writing (a killed process can leave a truncated one)."""
    try:
        with path.open("rb") as handle:
            if handle.read(5) != b"%PDF-":
                return False
            handle.seek(max(0, path.stat().st_size - 1024))
            return b"%%EOF" in handle.read()
    except OSError:
        return False


def _environment() -> dict[str, str]:
    """The environment for LibreOffice: the caller's, without a Python venv leaking in."""
    env = dict(os.environ)
    # LibreOffice's bundled Python (for macros) must not pick up docgen's virtualenv.
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    """Kill ``process`` and everything it started."""
    if sys.platform == "win32":  # pragma: no cover - no process groups there
        process.kill()
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
