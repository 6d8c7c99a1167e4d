"""A due document as a task (plain data that pickles), rendered by the job's renderers (each
template prepared once per process) and written through the one document write path: the
same in a local worker process (workers.py) and on a cluster's worker (cluster.py)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from docgen.errors import DocgenError, LimitError, describe
from docgen.files import OutputFolder
from docgen.job import DocumentSpec, Job
from docgen.limits import TimeLimitExceeded, memory_error, time_error, time_limit
from docgen.thumbnails import store_thumbnail


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

    def reset(self) -> None:
        """Forget the prepared templates (after a document was stopped half-way)."""
        self._ready.clear()

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
                       metadata=pdf_metadata(spec, job), max_pages=job.limits.pages,
                       max_pixels=job.limits.image_pixels,
                       folders=job.reading_folders(spec.template))


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
    path: str  # relative to the output folder
    out: Path  # the output folder


@dataclass(frozen=True)
class Done:
    index: int
    sha256: str = ""
    error: str = ""
    warnings: tuple[str, ...] = ()  # e.g. a reference the renderer refused to fetch
    reads: tuple[str, ...] = ()  # files the renderer read besides the template (CSS, images, fonts)


def render_results(renderers: Renderers, tasks: Iterable[Task]
                   ) -> Iterator[tuple[Task, bytes | Exception]]:
    """Each document rendered within the job's time limit, or its failure in its place (here
    or on a cluster's worker)."""
    limits = renderers.job.limits
    for task in tasks:
        try:
            renderer = renderers.get(task.document)  # prepared once, outside the time limit
            with time_limit(limits.seconds):
                [result] = renderer.render_many([task.context])
        except TimeLimitExceeded:
            result = time_error(limits.seconds)
        except Exception as err:  # the template itself failed
            result = err
        if isinstance(result, MemoryError):
            result = memory_error(limits.memory_mb)
        if isinstance(result, LimitError):
            # A document stopped half-way may leave its renderer's state behind.
            renderers.reset()
        yield task, result


def write_document(task: Task, result: bytes | Exception, warnings: tuple[str, ...] = (),
                   reads: tuple[str, ...] = ()) -> Done:
    """A rendered document written into the output folder (the one write path), or its
    failure, as its ``Done``."""
    if isinstance(result, Exception):
        return Done(task.index, error=failure_text(result))
    folder = OutputFolder(task.out)
    try:
        # Flushed to disk once, before the manifest (build.py), not one fsync per document.
        sha256 = folder.write(task.path, result, durable=False)
    except DocgenError as err:  # a symlink in the row's path: this document only
        return Done(task.index, error=str(err))
    except OSError as err:
        return Done(task.index, error=str(folder.unwritable(err, task.out / task.path)))
    if task.path.endswith(".pdf"):  # the report's thumbnail, made here in parallel
        store_thumbnail(folder, sha256, result)
    return Done(task.index, sha256=sha256, warnings=warnings or getattr(result, "warnings", ()),
                reads=reads or getattr(result, "reads", ()))


def render_chunk(renderers: Renderers, tasks: list[Task]) -> list[Done]:
    """Render and write a chunk; any failure becomes that document's message."""
    return [write_document(task, result) for task, result in render_results(renderers, tasks)]


def failure_text(err: BaseException) -> str:
    """A failed render's reason, whole: docgen's own errors as they format themselves,
    others as their type and message (Jinja's SecurityError, a bug in a filter)."""
    if isinstance(err, DocgenError):
        return str(err)
    return describe(err)


def chunked(tasks: Iterable[Task], size: int) -> Iterator[list[Task]]:
    """``tasks`` in lists of ``size`` (the last one shorter)."""
    chunk: list[Task] = []
    for task in tasks:
        chunk.append(task)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def by_template(job: Job, tasks: Iterable[Task]) -> list[Task]:
    """Tasks ordered by document, then row: chunks then hold one template's documents, so a
    renderer can batch them."""
    order = {d.name: n for n, d in enumerate(job.documents)}
    return sorted(tasks, key=lambda t: (order[t.document], t.index))
