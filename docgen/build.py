"""Build: render every due document of a plan, write it atomically, record the outcome."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from docgen.delivery import bundle_documents, convert_documents
from docgen.files import atomic_write, inside
from docgen.job import DocumentSpec, Job
from docgen.manifest import Outcome, Report, write_manifest
from docgen.plan import Item, Plan, make_plan
from docgen.resume import JOURNAL, Journal, Previous, prune, remove_orphans

OnOutcome = Callable[[Outcome], None]
CHUNK = 8  # documents per task sent to a worker process: amortises the round trip


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


def render_chunk(renderers: Renderers, tasks: list[Task]) -> list[Done]:
    """Render and write a chunk (one template's documents, so a renderer can batch them);
    any failure becomes that document's message."""
    done: list[Done] = []
    for name in dict.fromkeys(t.document for t in tasks):
        group = [t for t in tasks if t.document == name]
        try:
            results = renderers.get(name).render_many([t.context for t in group])
        except Exception as err:  # the template itself failed: every document of it fails
            results = [err] * len(group)
        for task, result in zip(group, results, strict=True):
            if isinstance(result, Exception):
                done.append(Done(task.index, error=describe(result)))
                continue
            try:
                done.append(Done(task.index, sha256=atomic_write(task.target, result),
                                 warnings=getattr(result, "warnings", ())))
            except OSError as err:
                done.append(Done(task.index, error=f"cannot write {task.target}: {err.strerror}"))
    return done


def describe(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


_WORKER: Renderers | None = None


def _init_worker(job: Job) -> None:
    global _WORKER
    _WORKER = Renderers(job)


def _run_chunk(tasks: list[Task]) -> list[Done]:
    assert _WORKER is not None
    return render_chunk(_WORKER, tasks)


def _chunks(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
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


def run_tasks(job: Job, tasks: list[Task], jobs: int, stop: Callable[[], bool]) -> Iterator[Done]:
    """Render in this process (``jobs`` 1) or in a pool fed a bounded number of chunks at a time,
    so memory stays flat however long the roster is."""
    # Chunks hold one template's documents, so a renderer can batch them.
    order = {d.name: n for n, d in enumerate(job.documents)}
    tasks = sorted(tasks, key=lambda t: (order[t.document], t.index))
    if jobs <= 1 or len(tasks) < 2 * CHUNK:
        renderers = Renderers(job)
        for chunk in _chunks(tasks, CHUNK):
            if stop():
                return
            yield from render_chunk(renderers, chunk)
        return
    import importlib

    # Imported once here, so every forked (and recycled) worker starts with them loaded.
    kinds = {d.kind for d in job.documents}
    for module in (["docgen.render_docx", "docgen.fastdocx"] if "docx" in kinds else []) + (
            ["docgen.render_pdf"] if kinds - {"docx"} else []):
        importlib.import_module(module)
    methods = multiprocessing.get_all_start_methods()
    context = multiprocessing.get_context("fork" if "fork" in methods else "spawn")
    # WeasyPrint's memory creeps up over long runs and max_tasks_per_child does not work
    # with fork: the pool is replaced after each round of about 1,000 documents per worker.
    round_size = jobs * max(1, 1000 // CHUNK)
    chunks = _chunks(tasks, CHUNK)
    while True:
        pending: set[Future[list[Done]]] = set()
        submitted = 0
        with ProcessPoolExecutor(jobs, mp_context=context, initializer=_init_worker,
                                 initargs=(job,)) as pool:
            try:
                for chunk in chunks:
                    pending.add(pool.submit(_run_chunk, chunk))
                    submitted += 1
                    if len(pending) >= jobs * 3:
                        finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                        for future in finished:
                            yield from future.result()
                        if stop():
                            return
                    if submitted >= round_size:
                        break
                while pending:
                    finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                    for future in finished:
                        yield from future.result()
                    if stop():
                        return
            finally:
                for future in pending:
                    future.cancel()
        if submitted < round_size:
            return


def build(job: Job, out: Path, *, plan: Plan | None = None, jobs: int = 1,
          fail_fast: bool = False, partial: bool = False, force: bool = False,
          prune_stale: bool = False, on_outcome: OnOutcome | None = None) -> Report:
    """Make every due document of ``job`` in ``out`` and write manifest.csv.

    Documents whose inputs are unchanged since an earlier build and whose files are intact
    are left alone (``unchanged``) unless ``force``. ``partial`` (``--only``) keeps the
    previous manifest's lines of the other documents. Earlier documents no longer due are
    reported as ``stale``, or removed with ``prune_stale``.
    """
    plan = plan or make_plan(job)
    out.mkdir(parents=True, exist_ok=True)
    remove_orphans(out)
    previous = Previous(out)
    journal = Journal(out)
    outcomes: dict[int, Outcome] = {}
    report = Report()

    def note(outcome: Outcome) -> None:
        journal.add(outcome)
        if on_outcome:
            on_outcome(outcome)

    def record(index: int, outcome: Outcome) -> None:
        outcomes[index] = outcome
        note(outcome)

    tasks = []
    for index, item in enumerate(plan.items):
        if item.status != "due":
            record(index, _outcome(item, item.status, message=item.message))
        elif not force and (earlier := previous.unchanged(item)):
            record(index, _outcome(item, "unchanged", path=item.path, sha256=earlier["sha256"],
                                   message=item.message))
        else:
            tasks.append(Task(index, item.document.name, dict(item.context or {}),
                              inside(out, item.path)))

    def stop() -> bool:
        return fail_fast and any(o.status == "failed" for o in outcomes.values())

    try:
        for done in run_tasks(job, tasks, jobs, stop):
            item = plan.items[done.index]
            if done.error:
                record(done.index, _outcome(item, "failed", message=f"{item.message} "
                                            f"{done.error}".strip()))
                continue
            warnings = "; ".join(f"warning: {w}" for w in done.warnings)
            record(done.index, _outcome(item, "ok", path=item.path, sha256=done.sha256,
                                        message="; ".join(filter(None, (item.message, warnings))),
                                        warnings=done.warnings))
            if previous.existed(item):
                report.regenerated.append(f"{item.label}, {item.document.name}"
                                          if item.label else item.document.name)
        ordered = [outcomes[i] for i in sorted(outcomes)]
        if job.converts_pdf and not stop():
            ordered += convert_documents(job, out, ordered, previous, force=force,
                                         on_outcome=note, processes=jobs)
    finally:
        journal.close()
    if job.zip:
        rows = {i.key: i.row for i in plan.items if i.row is not None and i.key}
        groups = {k: _text(r.value(job.group_field)) for k, r in rows.items()}
        ordered += bundle_documents(job, out, ordered, groups)
    stale = previous.stale(ordered, {d.name for d in job.documents})
    if prune_stale:
        report.pruned = prune(out, stale)
    else:
        ordered += [Outcome(document=r["document"], status="stale", key=r["key"] or None,
                            path=r["path"], sha256=r["sha256"], inputs=r.get("inputs", ""),
                            message="made by an earlier build and no longer due; "
                                    "docgen build --prune removes it") for r in stale]
    write_manifest(out, ordered, keep_others=partial)
    (out / JOURNAL).unlink(missing_ok=True)  # the manifest now holds everything
    report.outcomes = ordered
    return report


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _outcome(item: Item, status: str, *, path: str = "", sha256: str = "",
             message: str = "", warnings: tuple[str, ...] = ()) -> Outcome:
    return Outcome(
        document=item.document.name, status=status,  # type: ignore[arg-type]
        row=item.row.number if item.row else None, key=item.key,
        path=path, sha256=sha256, message=message, inputs=item.inputs, label=item.label,
        warnings=warnings,
    )
