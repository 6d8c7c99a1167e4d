"""Build: render every due document of a plan, write it atomically, record the outcome."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from docgen.checks import check_columns
from docgen.files import OutputFolder
from docgen.fingerprint import FileDigests, template_files, with_files
from docgen.job import Job
from docgen.lifecycle import Interrupted
from docgen.manifest import BuildReport, Outcome, write_manifest
from docgen.overview import write_overview
from docgen.plan import Item, Plan, make_plan
from docgen.postbuild import bundle_documents, convert_documents
from docgen.record import write_record
from docgen.resume import JOURNAL, Journal, Previous, prune, remove_orphans
from docgen.route import rendering
from docgen.tasks import Task
from docgen.workers import default_jobs

if TYPE_CHECKING:
    from docgen.route import Route

OnOutcome = Callable[[Outcome], None]
LOCK = ".docgen.lock"  # two builds into one folder at once would overwrite each other


def build(job: Job, out: Path, *, plan: Plan | None = None, jobs: int | None = None,
          fail_fast: bool = False, partial: bool = False, force: bool = False,
          prune_stale: bool = False, on_outcome: OnOutcome | None = None,
          route: Route | None = None) -> BuildReport:
    """Make every due document of ``job`` in ``out`` and write manifest.csv.

    Documents whose inputs are unchanged since an earlier build and whose files are intact
    are left alone (``unchanged``) unless ``force``. ``partial`` (``--only``) keeps the
    previous manifest's lines of the other documents. Earlier documents no longer due are
    reported as ``stale``, or removed with ``prune_stale``. ``jobs``: worker processes
    (default: one per core). ``route``: where to render, opened by the caller with
    ``rendering`` (before planning, so the workers start meanwhile); else opened here.
    """
    if route is None:
        with rendering(job, jobs) as opened:
            return build(job, out, plan=plan, jobs=jobs, fail_fast=fail_fast, partial=partial,
                         force=force, prune_stale=prune_stale, on_outcome=on_outcome,
                         route=opened)
    plan = plan or make_plan(job)
    folder = OutputFolder(out)
    folder.create()
    failed: list[Outcome] = []

    def seen(outcome: Outcome) -> None:
        if outcome.status == "failed":
            failed.append(outcome)
        if on_outcome:
            on_outcome(outcome)

    with folder.lock(LOCK, "docgen build"):
        try:
            report = _build(job, out, plan, route, jobs=jobs or default_jobs(job.limits),
                            fail_fast=fail_fast, partial=partial, force=force,
                            prune_stale=prune_stale, on_outcome=seen)
        except OSError as err:  # disk full, folder made read-only meanwhile: the journal
            # keeps what was finished, so the next run makes only the rest
            error = folder.unwritable(err, Path(err.filename) if err.filename else out)
            if failed:  # the report is lost with the build: say what had failed meanwhile
                shown = "; ".join(o.message for o in failed[:3])
                more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
                error.message += f" ({len(failed)} document(s) had failed: {shown}{more})"
            raise error from err
    report.undeliverable = undeliverable(plan)
    return report


def undeliverable(plan: Plan) -> list[str]:
    """The rows whose e-mail address check rejects (several in one cell, not an address):
    the documents are made, but docgen mail will refuse these workers."""
    column = check_columns(plan.job.checks, plan.roster.fields).email
    return [f"{p}; docgen mail will refuse this worker" for p in plan.problems
            if column and p.field == column and p.severity == "error"]


def _build(job: Job, out: Path, plan: Plan, route: Route, *, jobs: int,
           fail_fast: bool, partial: bool, force: bool, prune_stale: bool,
           on_outcome: OnOutcome | None) -> BuildReport:
    remove_orphans(out)
    previous = Previous(out)
    digests = FileDigests(job.folder)  # each file a render read, hashed once per build
    templates = {d.name: template_files(d, job.locale) for d in job.documents}
    journal = Journal(out)
    written = 0
    outcomes: dict[int, Outcome] = {}
    report = BuildReport(left_out={i.document.name: i.left_out for i in plan.items if i.left_out})

    def note(outcome: Outcome) -> None:
        nonlocal written
        written += outcome.status == "ok"
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
        elif not force and (earlier := previous.unchanged(item, digests)):
            record(index, _outcome(item, "unchanged", path=item.path, sha256=earlier[0]["sha256"],
                                   message=item.message, files=earlier[1]))
        else:
            tasks.append(Task(index, item.document.name, dict(item.context or {}), item.path,
                              out))

    def stop() -> bool:
        return fail_fast and failures > 0

    try:
        rendered = route.run(tasks, stop)
        for done in rendered:
            item = plan.items[done.index]
            if done.error:
                record(done.index, _outcome(item, "failed", message="; ".join(filter(None, (
                    f"{_place(item)}: {done.error}", item.message)))))
                continue
            warnings = "; ".join(f"warning: {w}" for w in done.warnings)
            files = digests.of([*templates[item.document.name], *done.reads])
            record(done.index, _outcome(item, "ok", path=item.path, sha256=done.sha256,
                                        message="; ".join(filter(None, (item.message, warnings))),
                                        warnings=done.warnings, files=files))
            if previous.existed(item):
                report.regenerated.append(f"{item.label}, {item.document.name}"
                                          if item.label else item.document.name)
        ordered = [outcomes[i] for i in sorted(outcomes)]
        if job.converts_pdf and not stop():
            ordered += convert_documents(job, out, ordered, previous, force=force,
                                         on_outcome=note, processes=jobs,
                                         convert=route.convert)
    except Interrupted as stopped:
        # Every finished document is in the journal, synced below: the next run trusts them.
        stopped.written = written
        raise
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
    OutputFolder(out).sync()  # the documents on disk before the manifest says they are
    write_manifest(out, ordered, keep_others=partial)
    rows = {i.key: i.row for i in plan.items if i.row is not None and i.key}
    kept = previous.files if partial else None
    write_record(out, ordered, rows, {p: f for p, f in (kept or {}).items()
                                      if p not in {o.path for o in ordered}})
    OutputFolder(out).remove(JOURNAL)  # the manifest now holds everything
    report.outcomes = ordered
    write_overview(job, out, plan, ordered)  # index.html and the spreadsheet; never raises
    return report


def _place(item: Item) -> str:
    """Where a failed render happened, as the clerk finds it: ``attestato_frequenza, row 7
    (ROSSI Mario)``; the manifest line carries the key."""
    if item.row is None:
        return item.document.name
    return f"{item.document.name}, row {item.row.number} ({item.label or item.key})"


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _outcome(item: Item, status: str, *, path: str = "", sha256: str = "",
             message: str = "", warnings: tuple[str, ...] = (),
             files: dict[str, str] | None = None) -> Outcome:
    """``files``: what the render read; the manifest's ``inputs`` then covers them too."""
    inputs = item.inputs if files is None else with_files(item.inputs, files)
    return Outcome(
        document=item.document.name, status=status,  # type: ignore[arg-type]
        row=item.row.number if item.row else None, key=item.key,
        path=path, sha256=sha256, message=message, inputs=inputs, label=item.label,
        warnings=warnings, files=files or {},
    )
