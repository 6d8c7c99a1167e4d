"""Rendering in worker processes: each template prepared once per process, chunks of one
template's documents, results fed back to the main process as they complete."""

from __future__ import annotations

import contextlib
import importlib
import itertools
import multiprocessing
import os
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from docgen.errors import describe
from docgen.files import atomic_write
from docgen.job import DocumentSpec, Job

CHUNK = 8  # documents per task sent to a worker process: amortises the round trip
# Workers start from a small server process rather than from the main process, which holds
# the whole plan: forked from it, each worker would carry (and count) that memory too.
START_METHOD = "forkserver"
EPOCH = "SOURCE_DATE_EPOCH"


class Renderer(Protocol):
    def render(self, context: dict[str, Any]) -> bytes: ...

    def render_many(self, contexts: list[dict[str, Any]]) -> list[bytes | Exception]:
        """One result per context, in order; a failure is returned, not raised."""
        ...


class Renderers:
    """Each template prepared once per process, on first use."""

    def __init__(self, job: Job) -> None:
        self.job = job
        self.specs = {d.name: d for d in job.documents}
        self._ready: dict[str, Renderer] = {}

    def get(self, name: str) -> Renderer:
        if name not in self._ready:
            self._ready[name] = _prepare(self.specs[name], self.job)
        return self._ready[name]


def _prepare(spec: DocumentSpec, job: Job) -> Renderer:
    if spec.kind == "docx":
        from docgen.render_docx import DocxRenderer

        return DocxRenderer(spec.template, job.locale)
    from docgen.render_pdf import PdfRenderer

    return PdfRenderer(spec.template, job.locale, pdf_variant=job.pdf_variant,
                       metadata=pdf_metadata(spec, job))


def pdf_metadata(spec: DocumentSpec, job: Job) -> dict[str, str]:
    """PDF properties as Jinja patterns over the row: the job's, the document's title, the
    language of the locale, and an identifier that stays the same from build to build."""
    metadata = dict(job.metadata)
    if spec.title:
        metadata["title"] = spec.title
    metadata["lang"] = job.locale.split("_")[0]
    per_row = "/{{ " + job.key + " }}" if spec.scope == "row" else ""
    metadata["identifier"] = "{{ job.id }}/" + spec.name + per_row
    return metadata


@dataclass(frozen=True)
class Task:
    """A due document, as sent to a worker: plain data that pickles."""

    index: int
    document: str
    context: dict[str, Any]
    target: Path


@dataclass(frozen=True)
class Done:
    index: int
    sha256: str = ""
    error: str = ""
    warnings: tuple[str, ...] = ()  # e.g. a reference the renderer refused to fetch


def render_results(renderers: Renderers, tasks: list[Task]) -> Iterator[tuple[Task, bytes | Exception]]:
    """Each document of a chunk rendered (one template's documents together, so a renderer can
    batch them); a failure in its place."""
    for name in dict.fromkeys(t.document for t in tasks):
        group = [t for t in tasks if t.document == name]
        try:
            results = renderers.get(name).render_many([t.context for t in group])
        except Exception as err:  # the template itself failed: every document of it fails
            results = [err] * len(group)
        yield from zip(group, results, strict=True)


def write_document(task: Task, result: bytes | Exception,
                   warnings: tuple[str, ...] | None = None) -> Done:
    """A rendered document written to its target, or its failure, as its ``Done``."""
    if isinstance(result, Exception):
        return Done(task.index, error=describe(result))
    try:
        # Flushed to disk once for the whole build (build.py), not once per document.
        return Done(task.index, sha256=atomic_write(task.target, result, durable=False),
                    warnings=getattr(result, "warnings", ()) if warnings is None else warnings)
    except OSError as err:
        return Done(task.index, error=f"cannot write {task.target}: {err.strerror}")


def render_chunk(renderers: Renderers, tasks: list[Task]) -> list[Done]:
    """Render and write a chunk; any failure becomes that document's message."""
    return [write_document(task, result) for task, result in render_results(renderers, tasks)]


_WORKER: Renderers | None = None


def _init_worker(job: Job, epoch: str | None) -> None:
    global _WORKER
    # A worker forked from the server has the server's environment, from whenever it started:
    # it takes the build's SOURCE_DATE_EPOCH (which dates the PDFs) from the build itself.
    if epoch is None:
        os.environ.pop(EPOCH, None)
    else:
        os.environ[EPOCH] = epoch
    _WORKER = Renderers(job)


def _warm_up() -> None:
    """Prepare every template of the job before the first chunk arrives; a template that
    fails here fails again, with its message, when its documents are rendered."""
    assert _WORKER is not None
    for name in _WORKER.specs:
        with contextlib.suppress(Exception):
            _WORKER.get(name)


def _run_chunk(tasks: list[Task]) -> list[Done]:
    assert _WORKER is not None
    return render_chunk(_WORKER, tasks)


def chunked(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    chunk: list[Task] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def default_jobs() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def by_template(job: Job, tasks: list[Task]) -> list[Task]:
    """The tasks in the job's order of documents, so chunks hold one template's documents
    and a renderer can batch them."""
    order = {d.name: n for n, d in enumerate(job.documents)}
    return sorted(tasks, key=lambda t: (order[t.document], t.index))


def start_pool(job: Job, jobs: int) -> _Pool | None:
    """Worker processes for ``job`` started now, importing the renderers and preparing the
    job's templates while the caller reads the roster and plans; None for ``jobs`` 1."""
    if jobs <= 1:
        return None
    pool = _Pool(job, jobs, _modules(job))
    pool.start()
    return pool


def _modules(job: Job) -> list[str]:
    kinds = {d.kind for d in job.documents}
    return (["docgen.render_docx", "docgen.fastdocx"] if "docx" in kinds else []) + (
        ["docgen.render_pdf"] if kinds - {"docx"} else [])


def run_tasks(job: Job, tasks: list[Task], jobs: int, stop: Callable[[], bool],
              pool: _Pool | None = None) -> Iterator[Done]:
    """Render in this process (``jobs`` 1) or in a pool fed a bounded number of chunks at a time,
    so memory stays flat however long the roster is; ``pool`` is one started beforehand."""
    tasks = by_template(job, tasks)
    if pool is None and (jobs <= 1 or len(tasks) < 2 * CHUNK):
        renderers = Renderers(job)
        for chunk in chunked(tasks, CHUNK):
            if stop():
                return
            yield from render_chunk(renderers, chunk)
        return
    pool = pool or _Pool(job, jobs, _modules(job))
    suspects: list[Task] = []
    yield from pool.run(chunked(tasks, CHUNK), stop, suspects)
    # A worker that died took the chunks it and its siblings held: each of those documents
    # is tried again alone, so only the one that kills its worker fails.
    for task in suspects:
        if stop():
            return
        yield from pool.run(iter([[task]]), stop, None)


class _Pool:
    """Worker processes, replaced after each round of about 1,000 documents per worker
    (WeasyPrint's memory creeps up over long runs, and max_tasks_per_child does not work
    with fork) and after a worker dies."""

    def __init__(self, job: Job, jobs: int, modules: list[str]) -> None:
        self.job, self.jobs = job, jobs
        method = START_METHOD if START_METHOD in multiprocessing.get_all_start_methods() \
            else "spawn"
        self.context = multiprocessing.get_context(method)
        if method == "forkserver":
            # Imported once in the server, so every (recycled) worker starts with them loaded.
            self.context.set_forkserver_preload(["docgen.workers", *modules])
        else:
            for module in modules:  # imported once here, inherited by every forked worker
                importlib.import_module(module)
        self.round_size = jobs * max(1, 1000 // CHUNK)
        self._started: ProcessPoolExecutor | None = None
        self._starting: threading.Thread | None = None

    def _executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.jobs, mp_context=self.context,
                                   initializer=_init_worker,
                                   initargs=(self.job, os.environ.get(EPOCH)))

    def start(self) -> None:
        """The first round's processes started now, each preparing the templates. From a
        thread: starting the first process waits for the server's imports (WeasyPrint); but
        never fork while another thread may hold a lock the child would inherit."""
        if self.context.get_start_method() == "fork":
            self._start()
            return
        self._starting = threading.Thread(target=self._start, name="docgen-pool-start",
                                          daemon=True)
        self._starting.start()

    def _start(self) -> None:
        self._started = self._executor()
        for _ in range(self.jobs):  # one task each: processes are spawned as tasks arrive
            self._started.submit(_warm_up)

    def _take(self) -> ProcessPoolExecutor:
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        executor, self._started = self._started or self._executor(), None
        return executor

    def close(self) -> None:
        """Stop processes started and never used (the build failed before rendering)."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._started is not None:
            self._started.shutdown(wait=True, cancel_futures=True)
            self._started = None

    def run(self, chunks: Iterator[list[Task]], stop: Callable[[], bool],
            suspects: list[Task] | None) -> Iterator[Done]:
        """Render every chunk; chunks lost to a dead worker go to ``suspects``, or fail when
        there are no suspects to collect (a document retried alone)."""
        while True:
            pending: dict[Future[list[Done]], list[Task]] = {}
            submitted, broken = 0, False
            with self._take() as pool:
                try:
                    for chunk in chunks:
                        try:
                            pending[pool.submit(_run_chunk, chunk)] = chunk
                        except BrokenExecutor:  # a worker died: the rest go to a new pool
                            chunks, broken = itertools.chain([chunk], chunks), True
                            break
                        submitted += 1
                        if len(pending) >= self.jobs * 3:
                            yield from _collect(pending, suspects)
                            if stop():
                                return
                        if submitted >= self.round_size:
                            break
                    while pending:
                        yield from _collect(pending, suspects)
                        if stop():
                            return
                finally:
                    for future in pending:
                        future.cancel()
            if submitted < self.round_size and not broken:
                return


def _collect(pending: dict[Future[list[Done]], list[Task]],
             suspects: list[Task] | None) -> Iterator[Done]:
    """The results of the chunks that finished first."""
    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
    for future in finished:
        chunk = pending.pop(future)
        try:
            yield from future.result()
        except Exception as err:  # BrokenProcessPool: the worker was killed or crashed
            if suspects is not None:
                suspects.extend(chunk)
            else:
                yield from (Done(t.index, error=f"the worker process rendering it died "
                                 f"({describe(err)}); nothing was written for it")
                            for t in chunk)
