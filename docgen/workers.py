"""Rendering on this machine: worker processes started from a forkserver (before planning),
fed chunks of one template's documents (tasks.py), results fed back to the main process as
they complete; a watchdog for workers stuck where their own timer cannot reach."""

from __future__ import annotations

import contextlib
import importlib
import itertools
import multiprocessing
import multiprocessing.forkserver
import os
import threading
import time
from collections.abc import Callable, Collection, Iterator
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Future, ProcessPoolExecutor, wait

from docgen.clock import epoch_setting, set_epoch
from docgen.errors import describe
from docgen.job import Job, Limits
from docgen.lifecycle import (
    STOPPING,
    die_with_parent,
    ignore_interrupts,
    name_main_process,
    pool_server,
)
from docgen.limits import default_workers, limit_image_pixels, limit_memory, time_error
from docgen.tasks import Done, Renderers, Task, by_template, chunked, render_chunk

CHUNK = 8  # documents per task sent to a worker process: amortises the round trip
# Workers start from a small server process rather than from the main process, which holds
# the whole plan: forked from it, each worker would carry (and count) that memory too.
START_METHOD = "forkserver"
# The main process's watchdog allows a chunk this much beyond its documents' time limits
# before it kills the workers (the in-worker timer cannot interrupt a stuck C call).
GRACE_SECONDS = 15
_POLL = 1.0  # seconds between the watchdog's looks


_WORKER: Renderers | None = None


def _init_worker(job: Job, parent: int, epoch: str | None) -> None:
    global _WORKER
    # The forkserver (or the main process, forked) dies: so do we, also when it died already.
    die_with_parent(parent or pool_server())
    ignore_interrupts()
    # Forked from the server, a worker has the environment the server started with (an
    # earlier build of this process, perhaps): it takes the build's SOURCE_DATE_EPOCH, which
    # dates the PDFs and zips, from the build.
    set_epoch(epoch)
    limit_memory(job.limits.memory_mb)
    limit_image_pixels(job.limits.image_pixels)
    _WORKER = Renderers(job)


def _warm_up() -> None:
    """Every template of the job prepared before the first chunk arrives (a pool started
    early, while the main process plans); a template that fails here fails again, with its
    message, when its documents are rendered."""
    assert _WORKER is not None
    for name in _WORKER.specs:
        with contextlib.suppress(Exception):
            _WORKER.get(name)


def _run_chunk(tasks: list[Task]) -> list[Done]:
    assert _WORKER is not None
    return render_chunk(_WORKER, tasks)


def default_jobs(limits: Limits | None = None) -> int:
    """One worker per core, as many as the available memory holds at ``memory_mb`` each."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") \
        else os.cpu_count() or 1
    return default_workers(cores, (limits or Limits()).memory_mb)


class Local:
    """Rendering on this machine (the other place is ``cluster.Cluster``): ``jobs`` worker
    processes, or this process for ``jobs`` 1. ``early``: the workers start now, importing
    the renderers and preparing the job's templates while the caller reads the roster and
    plans; a pool that was not started early starts when there is enough to render."""

    convert = None  # LibreOffice runs on this machine: postbuild converts as it does locally

    def __init__(self, job: Job, jobs: int, *, early: bool = False) -> None:
        self.job, self.jobs = job, jobs
        self.pool: _Pool | None = None
        if early and jobs > 1:
            self.pool = _Pool(job, jobs, preload_modules({d.kind for d in job.documents}))
            self.pool.start()

    def run(self, tasks: list[Task], stop: Callable[[], bool]) -> Iterator[Done]:
        return run_tasks(self.job, tasks, self.jobs, stop, pool=self.pool)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


def run_tasks(job: Job, tasks: list[Task], jobs: int, stop: Callable[[], bool],
              pool: _Pool | None = None) -> Iterator[Done]:
    """Render in this process (``jobs`` 1) or in a pool fed a bounded number of chunks at a time,
    so memory stays flat however long the roster is; ``pool``: one started beforehand, used
    however few the tasks (its workers are ready)."""
    if not tasks:  # nothing due (a re-run): workers started early are stopped, not waited for
        return
    tasks = by_template(job, tasks)
    if pool is None and (jobs <= 1 or len(tasks) < 2 * CHUNK):
        # In this process: the time, page, pixel and sandbox limits hold; memory_mb is not
        # set on the main process (it holds the plan), a MemoryError still fails one document.
        limit_image_pixels(job.limits.image_pixels)
        renderers = Renderers(job)
        for chunk in chunked(tasks, CHUNK):
            if stop():
                return
            yield from render_chunk(renderers, chunk)
        return
    pool = pool or _Pool(job, jobs, preload_modules({d.kind for d in job.documents}))
    suspects: list[Task] = []
    yield from pool.run(chunked(tasks, CHUNK), stop, suspects)
    # A worker that died took the chunks it and its siblings held: each of those documents
    # is tried again alone, so only the one that kills its worker fails.
    for task in suspects:
        if stop():
            return
        yield from pool.run(iter([[task]]), stop, None)


def preload_modules(kinds: Collection[str]) -> list[str]:
    """The renderer modules the documents of ``kinds`` (pdf, docx) need in every worker."""
    return (["docgen.render_docx", "docgen.fastdocx"] if "docx" in kinds else []) + (
        ["docgen.render_pdf", "pypdfium2"] if set(kinds) - {"docx"} else [])


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
            # Imported once in the server, so every (recycled) worker starts with them loaded;
            # docgen.lifeline makes the server itself die with the main process.
            self.context.set_forkserver_preload(["docgen.lifeline", "docgen.workers", *modules])
            name_main_process()
        else:
            for module in modules:  # imported once here, inherited by every forked worker
                importlib.import_module(module)
        self.round_size = jobs * max(1, 1000 // CHUNK)
        self.parent = os.getpid() if method == "fork" else 0
        self.timed_out = False  # the watchdog killed the workers of the last pool
        self._started: ProcessPoolExecutor | None = None  # the first round's, started early
        self._starting: threading.Thread | None = None

    def _executor(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.jobs, mp_context=self.context, initializer=_init_worker,
                                   initargs=(self.job, self.parent, epoch_setting()))

    def start(self) -> None:
        """The first round's workers started now, each preparing the templates.

        Starting a worker waits for the server's imports (WeasyPrint: about half a second),
        so the workers are started from a thread while the caller plans. The server itself
        is started here, from the main thread: Linux sends the parent-death signal
        (``docgen.lifeline``) when the thread that started a process ends, not its process.
        Forked workers (no forkserver) are started here too, for the same reason."""
        if self.parent:
            self._start()
            return
        multiprocessing.forkserver.ensure_running()
        self._starting = threading.Thread(target=self._start, name="docgen-pool-start",
                                          daemon=True)
        self._starting.start()

    def _start(self) -> None:
        executor = self._executor()
        try:
            for _ in range(self.jobs):  # a worker is spawned per task while none is idle
                executor.submit(_warm_up)
        except Exception:  # no traceback from this thread: the pool is started again when
            _kill_workers(executor)  # the documents are due, where the error is reported
            executor.shutdown(wait=False, cancel_futures=True)
            return
        self._started = executor

    def _take(self) -> ProcessPoolExecutor:
        """The pool started early (waiting for its start to be under way), or a new one."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        executor, self._started = self._started or self._executor(), None
        return executor

    def close(self) -> None:
        """Stop workers started and never used (nothing was due, or the job was unusable)."""
        if self._starting is not None:
            self._starting.join()
            self._starting = None
        if self._started is not None:
            _kill_workers(self._started)  # not waited for: they may still be importing
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
                            yield from self._collect(pool, pending, suspects)
                            if stop():
                                return
                        if submitted >= self.round_size:
                            break
                    while pending:
                        yield from self._collect(pool, pending, suspects)
                        if stop():
                            return
                finally:
                    if pending or STOPPING.is_set():
                        # Stopped (a signal, --fail-fast): the documents in hand are dropped.
                        # Killed rather than cancelled: Python 3.11's pool fails on a cancelled
                        # future once it finds its worker gone.
                        _kill_workers(pool)
            if submitted < self.round_size and not broken:
                return


    def _collect(self, pool: ProcessPoolExecutor, pending: dict[Future[list[Done]], list[Task]],
                 suspects: list[Task] | None) -> Iterator[Done]:
        """The results of the chunks that finished first. The watchdog: when nothing finishes
        for longer than a chunk's documents may take, a worker is stuck where its own timer
        cannot reach (inside a C library): the workers are killed and replaced, and the
        documents they held retried alone, so only the stuck one fails."""
        seconds = self.job.limits.seconds
        allowance = max(len(c) for c in pending.values()) * seconds + GRACE_SECONDS
        started = time.monotonic()
        while True:
            finished, _ = wait(pending, timeout=_POLL, return_when=FIRST_COMPLETED)
            if finished:
                break
            if time.monotonic() - started > allowance:
                self.timed_out = True
                _kill_workers(pool)
                finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                break
        for future in finished:
            chunk = pending.pop(future)
            try:
                yield from future.result()
            except Exception as err:  # BrokenProcessPool: the worker was killed or crashed
                if suspects is not None:
                    suspects.extend(chunk)
                elif self.timed_out:
                    yield from (Done(t.index, error=str(time_error(seconds))) for t in chunk)
                else:
                    yield from (Done(t.index, error=f"the worker process rendering it died "
                                     f"({describe(err)}); nothing was written for it")
                                for t in chunk)
        if not pending:
            self.timed_out = False


def _kill_workers(pool: ProcessPoolExecutor) -> None:
    """Kill the pool's worker processes now (shutdown would wait for their documents)."""
    processes = getattr(pool, "_processes", None) or {}  # no public handle on them
    for process in list(processes.values()):
        if process.is_alive():
            process.kill()
