"""What a build made, for the clerk: index.html (badges, thumbnails, a filter) and the summary
spreadsheet, both beside manifest.csv and never listed in it."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from docgen.files import OutputFolder
from docgen.job import Job
from docgen.manifest import Outcome, read_manifest
from docgen.overview.labels import labels_for, sheet_names
from docgen.overview.page import PAGE, page_html
from docgen.overview.sheet import sheet_bytes
from docgen.overview.table import Overview, make_overview
from docgen.plan import Plan
from docgen.thumbnails import Thumbnails

__all__ = ["PAGE", "overview_files", "write_overview"]
_LOG = logging.getLogger("docgen")


def overview_files(locale: str) -> tuple[str, str]:
    """The report page's and the spreadsheet's names in the output folder."""
    return PAGE, labels_for(locale)["sheet_file"]


def write_overview(job: Job, out: Path, plan: Plan, outcomes: Sequence[Outcome]) -> list[str]:
    """Write index.html and the spreadsheet from the manifest just written; return what could
    not be written. Never raises: the documents are made, and a report must not fail them."""
    problems = []
    try:
        overview = _overview(job, out, plan, outcomes)
    except Exception as err:  # a bug here must not turn a good build into a failed one
        problems.append(f"the report could not be made ({type(err).__name__}: {err})")
    else:
        page, sheet = overview_files(job.locale)
        folder = OutputFolder(out)
        thumbs = Thumbnails(out)
        for name, make in ((page, lambda: page_html(overview, _thumbs(overview, thumbs), sheet)
                            .encode("utf-8")),
                           (sheet, lambda: sheet_bytes(overview))):
            try:
                folder.write(name, make())
            except Exception as err:
                problems.append(f"{name} could not be written ({type(err).__name__}: {err})")
        thumbs.prune()
        for old in sheet_names() - {sheet}:  # written under the job's earlier locale
            try:
                folder.remove(old)
            except Exception as err:  # a link in its place: left alone, said
                problems.append(f"{old} was not removed ({err})")
    for problem in problems:
        _LOG.warning("warning: %s", problem)
    return problems


def _overview(job: Job, out: Path, plan: Plan, outcomes: Sequence[Outcome]) -> Overview:
    labels = {i.row.number: i.label for i in plan.items if i.row is not None}
    fixes: dict[int, list[str]] = defaultdict(list)
    for problem in plan.problems:
        if problem.severity == "error" and problem.row is not None:
            text = f"{problem.cell}: {problem.message}" if problem.cell else problem.message
            if text not in fixes[problem.row]:
                fixes[problem.row].append(text)
    warnings = [str(w) for w in plan.warnings]
    warnings += [f"{o.label}, {o.document}: {w}" if o.label else f"{o.document}: {w}"
                 for o in outcomes for w in o.warnings]
    return make_overview(
        job_id=job.id, locale=job.locale, records=read_manifest(out), labels=labels,
        documents=[d.name for d in job.documents if d.scope == "row"], fixes=fixes,
        warnings=list(dict.fromkeys(warnings)), made=dt.datetime.now())


def _thumbs(overview: Overview, thumbs: Thumbnails) -> dict[str, str]:
    """Thumbnails of every PDF the page shows, by path (the first PDF of each cell)."""
    found = {}
    files = [f for line in overview.lines for fs in line.files.values() for f in fs]
    for file in (*files, *overview.batch):
        if file.kind == "pdf" and file.exists and (image := thumbs.get(file.path, file.sha256)):
            found[file.path] = image
    return found
