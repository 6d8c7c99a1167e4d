"""The command line: parse, call one core function, show progress and a summary, exit."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from docgen import __version__
from docgen.errors import DocgenError, UnusableError

DEFAULT_JOB = Path("input/job.toml")
EXIT_UNUSABLE = 2


class DocgenGroup(click.Group):
    """Turns every DocgenError into a clear message and its exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except DocgenError as err:
            _print_error(err)
            ctx.exit(err.exit_code)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except BrokenPipeError:  # docgen fields ... | head: the reader has gone, not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            ctx.exit(0)
        except Exception as err:
            if ctx.params.get("debug"):
                raise
            click.echo(f"error: unexpected {type(err).__name__}: {err} "
                       "(run with --debug to see the traceback)", err=True)
            ctx.exit(EXIT_UNUSABLE)


def _print_error(err: DocgenError) -> None:
    problems = err.problems if isinstance(err, UnusableError) else [err]
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if isinstance(err, UnusableError) and err.exit_code == EXIT_UNUSABLE:
        click.echo("nothing was written.", err=True)


@click.group(cls=DocgenGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="docgen")
@click.option("--debug", is_flag=True, help="Show tracebacks of unexpected errors.")
def cli(debug: bool) -> None:
    """Make every worker's certificates, letters and annexes from a roster and templates."""


def _load(job_path: Path, only: tuple[str, ...] = ()) -> Any:
    from docgen.job import load_job

    return load_job(job_path).select(only)


@contextmanager
def _progress(total: int, quiet: bool) -> Iterator[Callable[[Any], None]]:
    if quiet or not sys.stderr.isatty():
        yield lambda outcome: None
        return
    with click.progressbar(length=total, label="rendering", file=sys.stderr,
                           show_pos=True, show_eta=True) as bar:
        yield lambda outcome: bar.update(1)


@cli.command()
@click.argument("job_file", metavar="[JOB]", default=DEFAULT_JOB,
                type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder [default: output/<job id>/].")
@click.option("--only", multiple=True, metavar="NAME", help="Build only this document (repeatable).")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed document.")
@click.option("--force", is_flag=True, help="Make every document again, even unchanged ones.")
@click.option("--pdf", is_flag=True,
              help="Also convert every Word document to PDF (LibreOffice), as pdf = true does.")
@click.option("--zip", "zip_bundles", is_flag=True,
              help="Write zip bundles into bundles/: the job's zip modes, or all three.")
@click.option("--prune", is_flag=True,
              help="Remove documents of earlier builds that are no longer due.")
@click.option("--jobs", "-j", type=click.IntRange(min=1), default=None,
              help="Worker processes [default: all cores].")
@click.option("--cluster", metavar="ADDRESS", envvar="DOCGEN_CLUSTER",
              help="Render on the Dask cluster whose scheduler is at ADDRESS "
                   "(tcp://HOST:8786; also DOCGEN_CLUSTER or [job] cluster).")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def build(job_file: Path, out: Path | None, only: tuple[str, ...], fail_fast: bool, force: bool,
          pdf: bool, zip_bundles: bool, prune: bool, jobs: int | None, cluster: str | None,
          quiet: bool) -> None:
    """Render every due document of JOB (default: input/job.toml).

    A re-run makes again only the documents whose inputs changed or whose file is missing
    or altered; the others are left alone (unchanged).

    \b
    Examples:
      docgen build
      docgen build input/job.toml --out /tmp/attestati --only attestato_frequenza
      docgen build --force --jobs 2
      docgen build --pdf --zip
      docgen build --cluster tcp://10.0.0.5:8786
    """
    from docgen.build import build as run_build
    from docgen.build import default_jobs, rendering
    from docgen.job import ZIP_MODES

    job = _load(job_file, only)
    if pdf or zip_bundles or cluster:
        job = job.with_options(pdf=pdf, zip_modes=(job.zip or ZIP_MODES) if zip_bundles else (),
                               cluster=cluster)
    folder = out or Path("output") / job.id
    jobs = jobs or default_jobs()
    # The workers start first, so their imports overlap reading the roster and planning.
    with rendering(job, jobs) as renderer:
        from docgen.plan import make_plan

        plan = make_plan(job)
        if not quiet:
            for warning in plan.warnings:
                click.echo(f"warning: {warning}", err=True)
        conversions = sum(1 for i in plan.due if i.document.pdf)
        with _progress(len(plan.items) + conversions, quiet) as advance:
            report = run_build(job, folder, plan=plan, jobs=jobs, fail_fast=fail_fast,
                               partial=bool(only), force=force, prune_stale=prune,
                               on_outcome=advance, renderer=renderer)
    if not quiet:
        seen = dict.fromkeys((o.document, w) for o in report.outcomes for w in o.warnings)
        for document, warning in seen:
            click.echo(f"warning: {document}: {warning}", err=True)
    for outcome in report.failed:
        click.echo(f"failed: {outcome.message}" if outcome.row else
                   f"failed: {outcome.document}: {outcome.message}", err=True)
    if not quiet:
        _summary(report, folder)
    sys.exit(report.exit_code)


def _summary(report: Any, folder: Path) -> None:
    from docgen.delivery import BUNDLE_DOCUMENT

    failed_rows = report.failed_rows
    rows = f" (rows {', '.join(map(str, failed_rows))})" if failed_rows else ""
    unchanged = f", {report.count('unchanged')} unchanged" if report.count("unchanged") else ""
    click.echo(f"{report.count('ok')} ok{unchanged}, {report.count('skipped')} skipped, "
               f"{report.count('failed')} failed{rows} -> {folder}/")
    if report.regenerated:
        shown = "; ".join(report.regenerated[:10])
        more = f" and {len(report.regenerated) - 10} more" if len(report.regenerated) > 10 else ""
        click.echo(f"{len(report.regenerated)} document(s) regenerated: {shown}{more}")
    if report.stale:
        click.echo(f"{len(report.stale)} stale document(s) from earlier builds, no longer due "
                   f"(listed in the manifest; docgen build --prune removes them)")
    if report.pruned:
        click.echo(f"{len(report.pruned)} stale document(s) removed")
    extras = [(sum(1 for o in report.outcomes if o.source and o.status == "ok"),
               "PDF(s) converted from Word documents"),
              (sum(1 for o in report.outcomes if o.document == BUNDLE_DOCUMENT
                   and o.status == "ok"), "zip bundle(s) written in bundles/")]
    if any(n for n, _ in extras):
        click.echo("of which " + ", ".join(f"{n} {what}" for n, what in extras if n))


@cli.command()
@click.argument("job_file", metavar="[JOB]", default=DEFAULT_JOB,
                type=click.Path(path_type=Path, dir_okay=False))
@click.option("--format", "output", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="A table for people, or JSON for programs.")
def check(job_file: Path, output: str) -> None:
    """Validate JOB, its roster and templates; report every problem; write nothing.

    Exit 0 clean (warnings allowed), 1 row-level problems only, 2 unusable job.

    \b
    Examples:
      docgen check
      docgen check input/job.toml --format json
    """
    from docgen.report import check_job, format_json, format_table

    result = check_job(job_file)
    if output == "json":
        click.echo(format_json(result))
        sys.exit(result.exit_code)
    if result.problems:
        click.echo(format_table(result.problems))
    if result.unusable:
        click.echo("unusable: fix the problems above; nothing can be built.")
    else:
        c = result.counts
        click.echo(f"{c['rows']} rows: {c['due']} documents due, {c['skipped']} skipped, "
                   f"{c['failed']} would fail")
    sys.exit(result.exit_code)


@cli.command()
@click.argument("template", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def fields(template: Path) -> None:
    """Print the fields TEMPLATE uses, one per line (.html or .docx).

    Roster fields come first, then the course entries it reads (course.title ...).

    \b
    Examples:
      docgen fields templates/attestato_frequenza.html
    """
    from docgen.templates import template_fields

    for name in template_fields(template):
        click.echo(name)


@cli.command()
@click.argument("job_file", metavar="[JOB]", default=DEFAULT_JOB,
                type=click.Path(path_type=Path, dir_okay=False))
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False),
              help="Output folder of the build [default: output/<job id>/].")
@click.option("--drafts", "mode", flag_value="drafts",
              help="Write one .eml per message into <out>/mail/ [default without [mail.smtp]].")
@click.option("--send", "mode", flag_value="send",
              help="Send through the [mail.smtp] server [default when it is set].")
@click.option("--to-office", "office", metavar="ADDRESS",
              help="Instead: one message to ADDRESS with the whole batch in a zip.")
@click.option("--resend", is_flag=True, help="Send again what the mail log shows as sent.")
@click.option("--dry-run", is_flag=True, help="List who would get what; send and write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def mail(job_file: Path, out: Path | None, mode: str | None, office: str | None, resend: bool,
         dry_run: bool, quiet: bool) -> None:
    """E-mail each worker their documents of the last build, or write .eml drafts.

    The SMTP login comes only from DOCGEN_SMTP_USER and DOCGEN_SMTP_PASSWORD. A re-run
    sends only to workers whose documents changed or who were not reached.

    \b
    Examples:
      docgen mail --dry-run
      docgen mail --drafts
      DOCGEN_SMTP_USER=segreteria DOCGEN_SMTP_PASSWORD=... docgen mail --send
      docgen mail --to-office ufficio.firenze@example.org
    """
    from collections import Counter

    from docgen.mail import deliver_mail

    job = _load(job_file)
    folder = out or Path("output") / job.id
    live = not quiet and not dry_run and sys.stderr.isatty()
    report = deliver_mail(job, folder, mode=mode, office=office, resend=resend,  # type: ignore[arg-type]
                          dry_run=dry_run, on_delivery=lambda d: live and click.echo(
                              f"{d.status}: {d.who} {', '.join(d.recipients)}", err=True))
    for delivery in report.failed:
        click.echo(f"failed: {delivery.who}: {delivery.message}", err=True)
    if dry_run:
        for d in report.deliveries:
            click.echo("\t".join([d.status, d.who, ", ".join(d.recipients), ", ".join(d.files),
                                  d.subject or d.message]))
    if not quiet:
        labels = {"sent": "sent", "draft": "drafted", "planned": "to send", "skipped": "skipped"}
        parts = [f"{report.count(s)} {label}" for s, label in labels.items() if report.count(s)]
        why = Counter(d.message.split(";")[0] for d in report.deliveries
                      if d.status in ("sent", "draft", "planned"))
        reasons = f" ({', '.join(f'{n} {r}' for r, n in why.items())})" if why else ""
        click.echo(f"{', '.join(parts) or 'nothing to do'}{reasons}, {len(report.failed)} failed "
                   f"-> {folder / 'mail'}/")
    sys.exit(report.exit_code)


@cli.command("fix-template")
@click.argument("source", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("target", type=click.Path(dir_okay=False, path_type=Path))
def fix_template(source: Path, target: Path) -> None:
    """Write a repaired copy of a Word template: split tags joined, Word's quotes straightened.

    docgen repairs these when rendering anyway; the copy is for the clerk to keep.

    \b
    Examples:
      docgen fix-template templates/lettera_qualifica.docx lettera_qualifica_fixed.docx
    """
    from docgen.errors import TemplateError
    from docgen.render_docx import docx_source
    from docgen.template_checks import repair_docx

    if source.suffix.lower() != ".docx":
        raise TemplateError("fix-template works on .docx templates", file=source.name)
    docx_source(source)  # refuses what is not a readable Word document, with the reason
    repaired = repair_docx(source, target)
    click.echo(f"{repaired} tag(s) repaired -> {target}")


def main() -> None:
    cli(prog_name="docgen")
