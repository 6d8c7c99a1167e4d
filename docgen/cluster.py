"""Rendering on a Dask distributed cluster: templates sent to every worker once, documents
rendered there in chunks, their bytes and sha256 sent back for the build to write here."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import shutil
import tempfile
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from docgen.clock import epoch_setting, set_epoch
from docgen.errors import ClusterError, ConversionError, DocgenError, UnusableError, describe
from docgen.files import OutputFolder, inside
from docgen.job import Job
from docgen.limits import limit_image_pixels
from docgen.tasks import (
    Done,
    Renderers,
    Task,
    by_template,
    chunked,
    failure_text,
    render_results,
    write_document,
)

try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # docgen[cluster] is not installed: Cluster() says how to install it
    WorkerPlugin = object  # type: ignore[assignment,misc]

INSTALL = "pip install 'docgen[cluster]'"
CHUNK_MIN, CHUNK_MAX = 50, 200  # documents per task: amortise the scheduler's ~1 ms per task
IN_FLIGHT = 2  # chunks per worker thread: one rendering, one waiting, so no worker idles
CONNECT_TIMEOUT = 10  # seconds to reach the scheduler
WORKERS_TIMEOUT = 30  # seconds to wait for a first worker

OnDone = Callable[[Path, "Path | Exception"], None]


# --- on the workers -------------------------------------------------------------------------

_STAGED: dict[str, _Staged] = {}
# WeasyPrint's stylesheet cache swaps a module-level name while a document renders, so one
# worker process renders one chunk at a time, whatever its number of threads.
_RENDER_LOCK = threading.Lock()


class _Staged:
    """A build's templates unpacked on one worker, and its renderers, prepared on first use."""

    def __init__(self, root: Path, job: Job, epoch: str | None) -> None:
        self.root = root
        self.epoch = epoch
        documents = tuple(replace(d, template=root / d.template) for d in job.documents)
        # The job's own folder is the staging root: templates read only what was sent.
        self.renderers = Renderers(replace(job, documents=documents, path=root / "job.toml",
                                           assets=tuple(root / a for a in job.assets)))
        limit_image_pixels(job.limits.image_pixels)  # as in a local worker

    def warm_up(self) -> None:
        """Import the renderers and prepare every template while the client still plans; the
        first chunk waits for it (the lock). A template that fails here fails again, with its
        message, when its documents are rendered."""
        with _RENDER_LOCK, _epoch(self.epoch):
            for name in self.renderers.specs:
                with contextlib.suppress(Exception):
                    self.renderers.get(name)


class _Templates(WorkerPlugin):
    """Carries a build's template files as bytes to every worker, also to those that join or
    are restarted later; unpacked into the worker's own folder, removed when the build ends."""

    def __init__(self, key: str, files: dict[str, bytes], job: Job, epoch: str | None) -> None:
        self.key, self.files, self.job, self.epoch = key, files, job, epoch

    def setup(self, worker: Any) -> None:
        root = Path(tempfile.mkdtemp(prefix="docgen-templates-", dir=worker.local_directory))
        for relative, data in self.files.items():
            target = inside(root, relative)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        staged = _STAGED[self.key] = _Staged(root, self.job, self.epoch)
        # Not in setup itself: it runs in the worker's event loop, which must keep answering.
        threading.Thread(target=staged.warm_up, name="docgen-warm-up", daemon=True).start()

    def teardown(self, worker: Any) -> None:
        staged = _STAGED.pop(self.key, None)
        if staged is not None:
            shutil.rmtree(staged.root, ignore_errors=True)


@dataclass(frozen=True)
class _Rendered:
    """One document as a worker sends it back: its bytes and their sha256, or its failure."""

    index: int
    data: bytes = b""
    sha256: str = ""
    warnings: tuple[str, ...] = ()
    error: str = ""
    reads: tuple[str, ...] = ()  # files the render read, relative to the staging root


@contextmanager
def _epoch(value: str | None) -> Iterator[None]:
    """The client's SOURCE_DATE_EPOCH (or none) while rendering, so PDF dates match a local build."""
    before = epoch_setting()
    set_epoch(value)
    try:
        yield
    finally:
        set_epoch(before)


def render_on_worker(key: str, tasks: list[Task]) -> list[_Rendered]:
    """Render a chunk on a worker: bytes and sha256 of each document, or its failure."""
    staged = _STAGED.get(key)
    if staged is None:
        raise ClusterError("this worker has not received the build's templates")
    results = []
    with _RENDER_LOCK, _epoch(staged.epoch):
        for task, result in render_results(staged.renderers, tasks):
            if isinstance(result, Exception):
                results.append(_Rendered(task.index, error=failure_text(result)))
            else:
                data = bytes(result)
                reads = tuple(Path(r).relative_to(staged.root).as_posix()
                              for r in getattr(result, "reads", ())
                              if Path(r).is_relative_to(staged.root))
                results.append(_Rendered(task.index, data, hashlib.sha256(data).hexdigest(),
                                         tuple(getattr(result, "warnings", ())), reads=reads))
    return results


def soffice_on_worker() -> str:
    """The LibreOffice program of this worker, or "" when it has none."""
    from docgen.convert import find_soffice

    try:
        return str(find_soffice())
    except DocgenError:
        return ""


def convert_on_worker(documents: list[tuple[int, bytes]], pdf_variant: str | None
                      ) -> list[tuple[int, bytes, str, str]]:
    """DOCX bytes in, PDF bytes out, with this worker's LibreOffice: (index, pdf, error, hint)."""
    from docgen.convert import convert_to_pdf

    with tempfile.TemporaryDirectory(prefix="docgen-convert-") as folder:
        sources = [Path(folder) / f"{index:06d}.docx" for index, _ in documents]
        for source, (_, data) in zip(sources, documents, strict=True):
            source.write_bytes(data)
        try:
            results = convert_to_pdf(sources, pdf_variant=pdf_variant, workdir=Path(folder))
        except DocgenError as err:  # no LibreOffice here: every document says so
            results = dict.fromkeys(sources, err)
        out = []
        for source, (index, _) in zip(sources, documents, strict=True):
            result = results[source]
            if isinstance(result, Exception):
                message = getattr(result, "message", str(result))
                out.append((index, b"", message, getattr(result, "hint", None) or ""))
            else:
                out.append((index, result.read_bytes(), "", ""))
    return out


# --- on the client --------------------------------------------------------------------------


def chunk_size(documents: int, threads: int) -> int:
    """50-200 documents a task, fewer when the build is too small to give every thread work."""
    size = min(CHUNK_MAX, max(CHUNK_MIN, math.ceil(documents / (4 * max(1, threads)))))
    return max(1, min(size, math.ceil(documents / max(1, threads))))


def _folder_files(folder: Path, name: str, files: dict[str, bytes]) -> None:
    """The files of ``folder`` a render may read, as ``name/relative`` (never one that
    resolves outside the folder, which the renderer would refuse)."""
    for path in sorted(folder.rglob("*")):
        if (path.is_file() and not path.name.startswith(".") and path.suffix.lower() != ".docx"
                and path.resolve().is_relative_to(folder)):
            files[f"{name}/{path.relative_to(folder).as_posix()}"] = path.read_bytes()


def template_files(job: Job) -> tuple[dict[str, bytes], Job, dict[str, Path]]:
    """What the workers need of the job's templates, as bytes by relative path; the job with
    its template and asset paths relative to where the workers unpack them; and each staged
    folder's name -> the folder here (to name the files a render read as a local build
    does). An HTML template gets the files of its folder, a Word template goes alone, and
    the ``[job] assets`` folders go whole; other files under the job file's folder are not
    sent (see the README)."""
    folders: dict[Path, str] = {}
    files: dict[str, bytes] = {}
    origins: dict[str, Path] = {}
    assets = []
    for number, asset in enumerate(job.assets):
        name = origins_name = f"assets-{number}"
        _folder_files(asset.resolve(), name, files)
        origins[origins_name] = asset.resolve()
        assets.append(Path(name))
    documents = []
    for spec in job.documents:
        folder = spec.template.parent.resolve()
        if spec.kind == "docx":
            name = f"docx-{len(documents)}"
            files[f"{name}/{spec.template.name}"] = spec.template.read_bytes()
            documents.append(replace(spec, template=Path(name) / spec.template.name))
            continue
        if folder not in folders:
            name = folders[folder] = f"html-{len(folders)}"
            _folder_files(folder, name, files)
            origins[name] = folder
        relative = spec.template.resolve().relative_to(folder)
        documents.append(replace(spec, template=Path(folders[folder]) / relative))
    # The workers need the templates and the job's rendering settings, nothing else of it.
    return files, replace(job, documents=tuple(documents), mail={}, assets=tuple(assets)), origins


def _client_epoch(job: Job) -> str | None:
    """SOURCE_DATE_EPOCH as the client has it; without it and without a fixed date, the PDFs'
    date is the client's today, not each worker's."""
    epoch = epoch_setting()
    if epoch or job.metadata.get("date"):
        return epoch
    today = dt.datetime.combine(dt.date.today(), dt.time(), dt.UTC)
    return str(int(today.timestamp()))


class Cluster:
    """A build's connection to a Dask scheduler, with its templates on every worker."""

    convert: Callable[..., None] | None

    def __init__(self, job: Job, address: str) -> None:
        try:
            import distributed
        except ImportError:
            raise UnusableError([ClusterError(
                "docgen build --cluster needs Dask distributed, which is not installed",
                hint=f"install it with: {INSTALL}")]) from None
        self.address = address
        self.job = job
        try:
            self.client = distributed.Client(address, timeout=CONNECT_TIMEOUT,
                                             set_as_default=False)
        except (OSError, TimeoutError, ValueError) as err:
            raise UnusableError([ClusterError(
                f"cannot reach the Dask scheduler at {address} ({describe(err)})",
                hint="start it with `dask scheduler`, check the address and that its port is "
                     "open to this machine, or build without --cluster")]) from None
        self.token = uuid.uuid4().hex[:12]
        self.plugin = f"docgen-templates-{self.token}"
        try:
            self._wait_for_workers()
            files, staged_job, self.origins = template_files(job)
            self.client.register_plugin(_Templates(self.token, files, staged_job,
                                                   _client_epoch(job)), name=self.plugin)
        except BaseException:
            self.client.close()
            raise
        self.convert = self._convert
        self._count = 0

    def _wait_for_workers(self) -> None:
        try:
            self.client.wait_for_workers(1, timeout=WORKERS_TIMEOUT)
        except TimeoutError:
            raise UnusableError([ClusterError(
                f"the Dask scheduler at {self.address} has no workers "
                f"(none joined within {WORKERS_TIMEOUT} s)",
                hint="start workers with `dask worker " + self.address + "` on machines "
                     "with docgen installed")]) from None

    def close(self) -> None:
        """Remove the templates from the workers and disconnect."""
        try:
            if self.client.status == "running":
                self.client.unregister_worker_plugin(self.plugin)
        except Exception:  # the workers remove their folder when they stop anyway
            pass
        finally:
            self.client.close()

    def _threads(self) -> int:
        return sum(self.client.nthreads().values()) or 1

    def _key(self, what: str) -> str:
        self._count += 1
        return f"docgen-{what}-{self.token}-{self._count}"

    def local(self, staged: str) -> str:
        """A file a worker's render read (relative to its staging root), named as here."""
        name, _, rest = staged.partition("/")
        return str(self.origins[name] / rest) if name in self.origins else staged

    def run(self, tasks: list[Task], stop: Callable[[], bool]) -> Iterator[Done]:
        """Render ``tasks`` on the cluster, a bounded number of chunks in flight; yields each
        document's ``Done`` once its file is written here."""
        tasks = by_template(self.job, tasks)
        threads = self._threads()
        suspects: list[Task] = []
        chunks = chunked(tasks, chunk_size(len(tasks), threads))
        yield from self._render(chunks, stop, suspects, IN_FLIGHT * threads)
        # Dask gave up on a chunk whose workers kept dying (allowed-failures): each of its
        # documents is tried again alone, one at a time, so only the one that kills fails.
        yield from self._render(([t] for t in suspects), stop, None, 1)

    def _render(self, chunks: Iterator[list[Task]], stop: Callable[[], bool],
                suspects: list[Task] | None, window: int) -> Iterator[Done]:
        for chunk, outcome in self._map(render_on_worker, chunks, stop, window,
                                        lambda chunk: (self.token, chunk)):
            if isinstance(outcome, BaseException):
                from distributed import KilledWorker

                if isinstance(outcome, KilledWorker) and suspects is not None:
                    suspects.extend(chunk)
                    continue
                why = (f"the worker process rendering it died ({describe(outcome)})"
                       if isinstance(outcome, KilledWorker)
                       else f"rendering on the cluster failed ({describe(outcome)})")
                yield from (Done(t.index, error=f"{why}; nothing was written for it")
                            for t in chunk)
                continue
            by_index = {t.index: t for t in chunk}
            for rendered in outcome:
                yield _write(by_index[rendered.index], rendered,
                             tuple(self.local(r) for r in rendered.reads))

    def _map(self, function: Callable[..., Any], chunks: Iterator[Any], stop: Callable[[], bool],
             window: int, arguments: Callable[[Any], tuple[Any, ...]],
             **options: Any) -> Iterator[tuple[Any, Any]]:
        """(chunk, result or exception) as tasks finish, at most ``window`` in flight."""
        from distributed import as_completed

        pending: dict[Any, Any] = {}
        finished = as_completed(loop=self.client.loop)

        def submit() -> None:
            chunk = next(chunks, None)
            if chunk is not None:
                future = self.client.submit(function, *arguments(chunk),
                                            key=self._key(function.__name__), **options)
                pending[future] = chunk
                finished.add(future)

        try:
            for _ in range(max(1, window)):
                submit()
            for future in finished:
                chunk = pending.pop(future)
                try:
                    outcome = future.result()
                except CancelledError:
                    raise self._lost() from None
                except Exception as err:
                    if self.client.status != "running":
                        raise self._lost() from None
                    outcome = err
                del future  # its result leaves the cluster's memory
                yield chunk, outcome
                if stop():
                    return
                submit()
        finally:
            for future in pending:
                future.cancel()

    def _lost(self) -> ClusterError:
        return ClusterError(
            f"lost the connection to the Dask scheduler at {self.address}",
            hint="the documents finished so far are kept: run the build again to make the rest")

    def _convert(self, files: Sequence[Path], *, pdf_variant: str | None, on_done: OnDone,
                 out: Path) -> None:
        """A PDF beside each DOCX of the output folder ``out``, converted by the LibreOffice
        of the workers that have one."""
        from docgen.convert import BATCH_SIZE, INSTALL_HINT

        folder = OutputFolder(out)

        programs = self.client.run(soffice_on_worker, on_error="return")
        able = [worker for worker, program in programs.items() if isinstance(program, str)
                and program]
        if not able:
            for path in files:
                on_done(path, ConversionError(
                    f"LibreOffice is not installed on any worker of the cluster at "
                    f"{self.address} ({len(programs)} worker(s))", file=str(path),
                    hint=INSTALL_HINT + ", on the workers"))
            return
        paths = list(files)
        size = max(1, min(BATCH_SIZE, math.ceil(len(paths) / len(able))))
        batches = (list(range(i, min(i + size, len(paths)))) for i in range(0, len(paths), size))

        def arguments(batch: list[int]) -> tuple[Any, ...]:
            return ([(i, folder.read_bytes(paths[i].relative_to(out).as_posix())) for i in batch],
                    pdf_variant)

        for batch, outcome in self._map(convert_on_worker, batches, lambda: False,
                                        IN_FLIGHT * len(able), arguments, workers=able,
                                        allow_other_workers=False):
            if isinstance(outcome, BaseException):
                for i in batch:
                    on_done(paths[i], ConversionError(
                        f"converting on the cluster failed ({describe(outcome)})",
                        file=str(paths[i])))
                continue
            for index, pdf, message, hint in outcome:
                source = paths[index]
                if message:
                    on_done(source, ConversionError(message, file=str(source), hint=hint or None))
                    continue
                target = source.with_suffix(".pdf")
                try:
                    folder.write(target.relative_to(out).as_posix(), pdf)
                except (OSError, DocgenError) as err:
                    on_done(source, ConversionError(f"cannot write {target.name}: "
                                                    f"{getattr(err, 'strerror', None) or err}",
                                                    file=str(source)))
                    continue
                on_done(source, target)


def _write(task: Task, rendered: _Rendered, reads: tuple[str, ...]) -> Done:
    """A worker's document written here, through the same write path as a local build's."""
    if rendered.error:
        return Done(task.index, error=rendered.error)
    if hashlib.sha256(rendered.data).hexdigest() != rendered.sha256:
        return Done(task.index, error="the document's bytes changed on their way from the "
                                      "cluster (sha256 differs); nothing was written for it")
    return write_document(task, rendered.data, rendered.warnings, reads)
