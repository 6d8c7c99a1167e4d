"""What ``docgen check`` finds, as a table for people or JSON for programs."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docgen.errors import DocgenError, DocgenWarning, RowError, UnusableError
from docgen.job import Job
from docgen.roster import Roster, read_roster


@dataclass
class CheckResult:
    """Every problem of a job, with the counts of a build that would follow."""

    problems: list[DocgenError] = field(default_factory=list)
    unusable: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    mail_only: bool = False  # only [mail] is unusable: build would run, mail would not

    @property
    def exit_code(self) -> int:
        if self.unusable:
            return 2
        return 1 if any(p.severity == "error" for p in self.problems) else 0


def check_job(job_path: Path) -> CheckResult:
    """Load and plan the job as ``build`` would, and read its [mail] table as ``mail`` would;
    collect what is wrong instead of raising."""
    from docgen.job import load_job
    from docgen.plan import make_plan

    try:
        job = load_job(job_path)
    except UnusableError as err:
        return CheckResult(list(err.problems), unusable=True)
    except DocgenError as err:
        return CheckResult([err], unusable=True)
    try:
        plan = make_plan(job)
    except UnusableError as err:
        return CheckResult(list(err.problems) + mail_problems(job, None), unusable=True)
    except DocgenError as err:
        return CheckResult([err, *mail_problems(job, None)], unusable=True)
    if fatal := mail_problems(job, plan.roster):
        return CheckResult(list(plan.problems) + fatal, unusable=True, mail_only=True)
    due = len(plan.due)
    counts = {"rows": len(plan.roster.rows), "due": due, "failed": len(plan.failed),
              "skipped": len(plan.items) - due - len(plan.failed)}
    return CheckResult(list(plan.problems) + mail_rows(job, plan.roster), counts=counts)


def mail_problems(job: Job, roster: Roster | None) -> list[DocgenError]:
    """What ``docgen mail`` would refuse before sending anything: the [mail] table's keys and
    values, its ``to`` field, the names and course entries its texts read."""
    if not job.mail:
        return []
    from docgen.mail.config import load_mail_config, mail_texts
    from docgen.mail.plan import field_problems

    problems: list[DocgenError] = []
    try:
        load_mail_config(job)
    except UnusableError as err:
        problems += err.problems
    if roster is None:
        try:
            roster = read_roster(job.roster, sheet=job.sheet, columns=job.columns)
        except DocgenError:
            return problems  # the roster's own problem is reported by the plan
    to = job.mail.get("to")
    to = to.strip() if isinstance(to, str) and to.strip() else "email"
    return problems + field_problems(job, roster, to, mail_texts(job))


def mail_rows(job: Job, roster: Roster) -> list[DocgenError]:
    """Workers ``docgen mail`` cannot reach: no address (a warning: they get their documents
    by hand), or one that is not an address (an error, unless the roster checks already
    report that column)."""
    if not job.mail:
        return []
    from docgen.checks import check_columns
    from docgen.mail.config import is_address, load_mail_config, split_addresses
    from docgen.names import field_name

    config = load_mail_config(job)
    to = next(c for c in (config.to_field, field_name(config.to_field)) if c in roster.fields)
    checked = check_columns(job.checks, roster.fields).email == to
    found: list[DocgenError] = []
    for row in roster.rows:
        key = row.value(job.key)
        addresses = split_addresses(row.value(to))
        cell = roster.cell(to, row.number)
        if not addresses:
            found.append(DocgenWarning(
                "no e-mail address: docgen mail cannot send this worker's documents",
                file=roster.name, row=row.number, key=None if key is None else str(key),
                field=to, cell=cell, document="mail", hint="fill it in, or deliver by hand."))
        elif not checked and (bad := [a for a in addresses if not is_address(a)]):
            found.append(RowError(
                f"not an e-mail address: {', '.join(bad)}", file=roster.name, row=row.number,
                key=None if key is None else str(key), field=to, cell=cell, document="mail",
                hint="fix the address, or deliver by hand."))
    return found


def _place(problem: DocgenError) -> str:
    if problem.cell and problem.file and problem.cell.startswith(f"{problem.file}!"):
        return problem.cell.split("!", 1)[1]
    return problem.cell or ""


def format_table(problems: Sequence[DocgenError]) -> str:
    """Problems grouped by file: place, severity, what is wrong, and the fix."""
    groups: dict[str, list[DocgenError]] = defaultdict(list)
    for problem in problems:
        groups[problem.file or "job"].append(problem)
    lines: list[str] = []
    for file, group in groups.items():
        errors = sum(p.severity == "error" for p in group)
        warnings = len(group) - errors
        counts = ", ".join(f"{n} {word}{'s' if n != 1 else ''}"
                           for n, word in ((errors, "error"), (warnings, "warning")) if n)
        lines.append(f"{file}: {counts}")
        # Short places (cells such as D17, lines) make a column; long ones lead the text.
        width = max((len(_place(p)) for p in group if len(_place(p)) <= 12), default=0)
        for problem in sorted(group, key=lambda p: (p.row or 0, p.severity)):
            place = _place(problem)
            who = f"row {problem.row}" + (f" ({problem.key})" if problem.key else "") \
                if problem.row is not None else ""
            doc = f" [{problem.document}]" if problem.document else ""
            column = f"{place:<{width}}  " if len(place) <= 12 and width else ""
            head = f"  {problem.severity:<8}{column}"
            text = f"{who}: {problem.message}{doc}" if who else f"{problem.message}{doc}"
            if len(place) > 12:
                text = f"{place}: {text}"
            # One line per problem, so it can be searched and copied; the terminal wraps it.
            lines.append(head + text)
            if problem.hint:
                lines.append(" " * len(head) + f"fix: {problem.hint}")
    return "\n".join(lines)


def format_json(result: CheckResult) -> str:
    return json.dumps({"exit_code": result.exit_code, "counts": result.counts,
                       "problems": [p.as_dict() for p in result.problems]},
                      ensure_ascii=False, indent=2)
