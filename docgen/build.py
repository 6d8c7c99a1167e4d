"""Build: render every due document of a plan, write it atomically, record the outcome."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from docgen.files import exclusive, inside, sync_to_disk
from docgen.job import Job
from docgen.manifest import Outcome, Report, write_manifest
from docgen.workers import Done, Task, default_jobs, pdf_metadata, run_tasks, start_pool

if TYPE_CHECKING:  # imported when building: `rendering` starts the workers before them
    from docgen.plan import Item, Plan

OnOutcome = Callable[[Outcome], None]
LOCK = ".docgen.lock"  # two builds into one folder at once would overwrite each other
__all__ = ["build", "default_jobs", "pdf_metadata", "rendering"]


class Renderer(Protocol):
    """Where a build's documents are rendered: ``run`` yields each one's ``Done`` once its
    file is written; ``convert`` is None when LibreOffice runs on this machine."""

    convert: Callable[..., None] | None

    def run(self, tasks: list[Task], stop: Callable[[], bool]) -> Iterator[Done]: ...

    def close(self) -> None: ...


class _Local:
    """Worker processes on this machine, started at once (see workers.start_pool)."""

    convert = None

    def __init__(self, job: Job, jobs: int) -> None:
        self.job, self.jobs = job, jobs
        self.pool = start_pool(job, jobs)

    def run(self, tasks: list[Task], stop: Callable[[], bool]) -> Iterator[Done]:
        return run_tasks(self.job, tasks, self.jobs, stop, pool=self.pool)

    def close(self) -> None:
        if self.pool is not None:
            self.pool.close()


@contextmanager
def rendering(job: Job, jobs: int) -> Iterator[Renderer]:
    """The one place that chooses where documents are rendered: on the Dask cluster the job
    names, or in ``jobs`` processes here. Open it before planning: the workers' imports and
    template preparation then overlap reading the roster."""
    if job.cluster:
        from docgen.cluster import Cluster

        renderer: Renderer = Cluster(job, job.cluster)
    else:
        renderer = _Local(job, jobs)
    try:
        yield renderer
    finally:
        renderer.close()


def build(job: Job, out: Path, *, plan: Plan | None = None, jobs: int = 1,
          fail_fast: bool = False, partial: bool = False, force: bool = False,
          prune_stale: bool = False, on_outcome: OnOutcome | None = None,
          renderer: Renderer | None = None) -> Report:
    """Make every due document of ``job`` in ``out`` and write manifest.csv.

    Documents whose inputs are unchanged since an earlier build and whose files are intact
    are left alone (``unchanged``) unless ``force``. ``partial`` (``--only``) keeps the
    previous manifest's lines of the other documents. Earlier documents no longer due are
    reported as ``stale``, or removed with ``prune_stale``.
    """
    if renderer is None:
        with rendering(job, jobs) as opened:
            return build(job, out, plan=plan, jobs=jobs, fail_fast=fail_fast, partial=partial,
                         force=force, prune_stale=prune_stale, on_outcome=on_outcome,
                         renderer=opened)
    from docgen.plan import make_plan

    plan = plan or make_plan(job)
    out.mkdir(parents=True, exist_ok=True)
    with exclusive(out / LOCK, "docgen build"):
        return _build(job, out, plan, renderer, jobs=jobs, fail_fast=fail_fast,
                      partial=partial, force=force, prune_stale=prune_stale,
                      on_outcome=on_outcome)


def _build(job: Job, out: Path, plan: Plan, renderer: Renderer, *, jobs: int, fail_fast: bool,
           partial: bool, force: bool, prune_stale: bool, on_outcome: OnOutcome | None
           ) -> Report:
    from docgen.delivery import bundle_documents, convert_documents
    from docgen.resume import JOURNAL, Journal, Previous, prune, remove_orphans

    remove_orphans(out)
    previous = Previous(out)
    journal = Journal(out)
    outcomes: dict[int, Outcome] = {}
    report = Report()

    def note(outcome: Outcome) -> None:
        journal.add(outcome)
        if on_outcome:
            on_outcome(outcome)

    failures = 0

    def record(index: int, outcome: Outcome) -> None:
        nonlocal failures
        outcomes[index] = outcome
        failures += outcome.status == "failed"
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
        return fail_fast and failures > 0

    try:
        for done in renderer.run(tasks, stop):
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
                                         on_outcome=note, processes=jobs,
                                         convert=renderer.convert)
    finally:
        journal.close()
    if job.zip:
        rows = {i.key: i.row for i in plan.items if i.row is not None and i.key}
        groups = {k: _text(r.value(job.group_field)) for k, r in rows.items()}
        ordered += bundle_documents(job, out, ordered, groups, previous)
    stale = previous.stale(ordered, {d.name for d in job.documents})
    if prune_stale:
        report.pruned = prune(out, stale)
    else:
        ordered += [Outcome(document=r["document"], status="stale", key=r["key"] or None,
                            path=r["path"], sha256=r["sha256"], inputs=r.get("inputs", ""),
                            message="made by an earlier build and no longer due; "
                                    "docgen build --prune removes it") for r in stale]
    sync_to_disk(out)  # every document on disk before the manifest lists it
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
