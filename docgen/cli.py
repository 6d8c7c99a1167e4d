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
from docgen.lifecycle import Interrupted, stop_on_signals

DEFAULT_JOB = Path("input/job.toml")
RESEND_ALL = "*"  # plain --resend: what --resend KEY... does for every worker
EXIT_UNUSABLE = 2


class DocgenGroup(click.Group):
    """Turns every DocgenError into a clear message and its exit code, in one place."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            with stop_on_signals():
                return super().invoke(ctx)
        except Interrupted as stopped:  # SIGINT or SIGTERM: finished documents are kept
            if ctx.invoked_subcommand == "build":
                click.echo(f"interrupted: {stopped.written} documents written; run the same "
                           "command again to finish", err=True)
            else:  # e.g. mail before its first message: nothing was sent
                click.echo(f"interrupted ({stopped.name}) before anything was done; run the "
                           "same command again", err=True)
            ctx.exit(stopped.exit_code)
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
              help="Worker processes [default: all cores, as memory allows].")
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
      docgen build --cluster tcp://10.0.0.5:8786
      docgen build --pdf --zip
    """
    from docgen.job import ZIP_MODES
    from docgen.route import rendering

    job = _load(job_file, only)
    if pdf or zip_bundles or cluster:
        job = job.with_options(pdf=pdf, zip_modes=(job.zip or ZIP_MODES) if zip_bundles else (),
                               cluster=cluster)
    # The workers start first: their imports and templates get ready while the roster is read
    # and the plan made (a cluster is reached first, so an unreachable one writes nothing).
    with rendering(job, jobs, early=True) as route:
        from docgen.build import build as run_build
        from docgen.plan import make_plan

        plan = make_plan(job)
        folder = out or Path("output") / job.id
        if not quiet:
            for warning in plan.warnings:
                click.echo(f"warning: {warning}", err=True)
        conversions = sum(1 for i in plan.due if i.document.pdf)
        with _progress(len(plan.items) + conversions, quiet) as advance:
            report = run_build(job, folder, plan=plan, jobs=jobs, fail_fast=fail_fast,
                               partial=bool(only), force=force, prune_stale=prune,
                               on_outcome=advance, route=route)
    if not quiet:
        seen = dict.fromkeys((o.document, w) for o in report.outcomes for w in o.warnings)
        for document, warning in seen:
            click.echo(f"warning: {document}: {warning}", err=True)
    # A row problem once, naming the documents it fails; then what failed while rendering.
    for problem in plan.failures:
        click.echo(f"failed: {problem}", err=True)
    planned = {(i.document.name, i.row.number) for i in plan.failed if i.row}
    for outcome in report.failed:
        if (outcome.document, outcome.row) in planned:
            continue
        click.echo(f"failed: {outcome.message}" if outcome.row else
                   f"failed: {outcome.document}: {outcome.message}", err=True)
    for problem in report.undeliverable:
        click.echo(f"error: {problem}", err=True)
    if not quiet:
        _summary(report, folder)
    sys.exit(report.exit_code)


def _summary(report: Any, folder: Path) -> None:
    failed_rows = report.failed_rows
    rows = f" (rows {', '.join(map(str, failed_rows))})" if failed_rows else ""
    unchanged = f", {report.count('unchanged')} unchanged" if report.count("unchanged") else ""
    click.echo(f"{report.count('ok')} ok{unchanged}, {report.count('skipped')} skipped, "
               f"{report.count('failed')} failed{rows} -> {folder}/")
    for document, rows in report.left_out.items():
        click.echo(f"{document}: {len(rows)} row{'s' if len(rows) != 1 else ''} left out "
                   f"(row{'s' if len(rows) != 1 else ''} {', '.join(map(str, rows))}): "
                   f"see manifest.csv")
    if report.regenerated:
        shown = "; ".join(report.regenerated[:10])
        more = f" and {len(report.regenerated) - 10} more" if len(report.regenerated) > 10 else ""
        click.echo(f"{len(report.regenerated)} document(s) regenerated: {shown}{more}")
    if report.stale:
        click.echo(f"{len(report.stale)} stale document(s) from earlier builds, no longer due "
                   f"(listed in the manifest; docgen build --prune removes them)")
    if report.pruned:
        click.echo(f"{len(report.pruned)} stale document(s) removed")
    extras = [(report.converted, "PDF(s) converted from Word documents"),
              (report.bundled, "zip bundle(s) written in bundles/")]
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
    from docgen.check import check_job, format_json, format_table

    result = check_job(job_file)
    if output == "json":
        click.echo(format_json(result))
        sys.exit(result.exit_code)
    if result.problems:
        click.echo(format_table(result.problems))
    if result.mail_only:
        click.echo("unusable for docgen mail: fix the problems above before mailing "
                   "(build would run).")
    elif result.unusable:
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
    from docgen.fields import template_fields

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
@click.option("--resend", multiple=True, is_flag=False, flag_value=RESEND_ALL, metavar="[KEY]",
              help="Send again what the mail log shows as sent (or as maybe delivered): "
                   "alone, to everyone; with a KEY, to that worker only (repeatable).")
@click.option("--dry-run", is_flag=True, help="List who would get what; send and write nothing.")
@click.option("--quiet", "-q", is_flag=True, help="Print nothing but errors.")
def mail(job_file: Path, out: Path | None, mode: str | None, office: str | None,
         resend: tuple[str, ...], dry_run: bool, quiet: bool) -> None:
    """E-mail each worker their documents of the last build, or write .eml drafts.

    The SMTP login comes only from DOCGEN_SMTP_USER and DOCGEN_SMTP_PASSWORD. A re-run
    sends only to workers whose documents changed or who were not reached.

    \b
    Examples:
      docgen mail --dry-run
      docgen mail --drafts
      DOCGEN_SMTP_USER=segreteria DOCGEN_SMTP_PASSWORD=... docgen mail --send
      docgen mail --to-office ufficio.firenze@example.org
      docgen mail --send --resend RSSMRA80A01H501U
    """
    from docgen.mail.run import deliver_mail

    job = _load(job_file)
    folder = out or Path("output") / job.id
    live = not quiet and not dry_run and sys.stderr.isatty()
    again: bool | frozenset[str] = RESEND_ALL in resend or frozenset(resend)
    report = deliver_mail(job, folder, mode=mode, office=office, resend=again,  # type: ignore[arg-type]
                          dry_run=dry_run, on_delivery=lambda d: live and click.echo(
                              f"{d.status}: {d.who} {', '.join(d.recipients)}", err=True))
    for delivery in report.failed + report.uncertain:
        click.echo(f"{delivery.status}: {delivery.who}: {delivery.message}", err=True)
    for delivery in (d for d in report.deliveries if d.status == "by hand"):
        click.echo(f"by hand: {delivery.who}: {delivery.message}", err=True)
    if dry_run:
        for d in report.deliveries:
            click.echo("\t".join([d.status, d.who, ", ".join(d.recipients), ", ".join(d.files),
                                  d.subject or d.message]))
    if not quiet:
        labels = {"sent": "sent", "draft": "drafted", "planned": "to send", "skipped": "skipped",
                  "by hand": "to deliver by hand", "uncertain": "may have been delivered"}
        parts = [f"{report.count(s)} {label}" for s, label in labels.items() if report.count(s)]
        why = report.reasons()
        if report.count("draft"):  # drafts: always how many are new and how many unchanged
            why = {"new": why.pop("new", 0), **why, "unchanged": why.get("unchanged", 0)}
        reasons = f" ({', '.join(f'{n} {r}' for r, n in why.items())})" if why else ""
        click.echo(f"{', '.join(parts) or 'nothing to do'}{reasons}, {len(report.failed)} failed "
                   f"-> {folder / 'mail'}/")
    if report.stopped:
        click.echo(f"interrupted ({report.stopped_name}): the message in flight was finished "
                   "and logged; run docgen mail again to send the rest", err=True)
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
    from docgen.lint import repair_docx

    repaired = repair_docx(source, target)
    click.echo(f"{repaired} tag(s) repaired -> {target}")


# --- preview and init: each parses, calls one core function, prints what it returns --------

@cli.command()
@click.argument("job_file", metavar="[JOB]", default=DEFAULT_JOB,
                type=click.Path(path_type=Path, dir_okay=False))
@click.option("--row", type=int, help="The row as the spreadsheet shows it (first worker: 2).")
@click.option("--key", help="The worker's key (e.g. the codice fiscale).")
@click.option("--open", "open_images", is_flag=True, help="Open the images with the desktop's viewer.")
def preview(job_file: Path, row: int | None, key: str | None, open_images: bool) -> None:
    """Render one row's documents into a temporary folder and print their first pages as PNG.

    Nothing is written into the output folder. Word documents need LibreOffice for an image.

    \b
    Examples:
      docgen preview --row 14
      docgen preview input/job.toml --key RSSMRA80A01H501U --open
    """
    from docgen.preview import preview as run_preview

    if (row is None) == (key is None):
        raise click.UsageError("give --row N or --key K (one of the two)")
    result = run_preview(_load(job_file), row=row, key=key, open_images=open_images)
    click.echo(f"row {result.row} ({result.label}) -> {result.folder}/", err=True)
    for page in result.pages:
        if page.image:
            click.echo(f"{page.document}: {page.image}")
        elif page.file:
            click.echo(f"{page.document}: {page.file}")
        if page.message or page.status != "rendered":
            click.echo(f"{page.document}: {page.status}: {page.message}".rstrip(": "), err=True)
    if result.opened:
        click.echo(result.opened, err=True)
    sys.exit(result.exit_code)


@cli.command()
@click.argument("folder", metavar="[FOLDER]", default=Path("."),
                type=click.Path(path_type=Path, file_okay=False, exists=True))
def init(folder: Path) -> None:
    """Write FOLDER/job.toml from the roster and templates found in FOLDER (default: here).

    Looks in FOLDER and its input/ and templates/ folders; reports what is left to fill in.
    An existing job.toml is never overwritten.

    \b
    Examples:
      docgen init
      docgen init corso-magazzino/
    """
    from docgen.scaffold import init_job

    result = init_job(folder)
    click.echo(result.report)
    sys.exit(result.exit_code)


# --- the seal: keys, verify, revoke (docgen/seal/) ------------------------------------------
@cli.group()
def keys() -> None:
    """Make and publish the keys that seal documents (a new key per year).

    \b
    Examples:
      docgen keys new ente-2026 --dir keys/
      docgen keys publish --dir verifica/
    """


@keys.command("new")
@click.argument("name")
@click.option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False),
              default=Path("keys"), show_default=True, help="Folder for NAME.key and NAME.pub.json.")
@click.option("--issuer", help="Who issues with this key, for NAME.pub.json [default: NAME].")
def keys_new(name: str, folder: Path, issuer: str | None) -> None:
    """Create an Ed25519 key pair: NAME.key (private, mode 0600) and NAME.pub.json.

    Never overwrites a key; refuses a folder inside an output folder.

    \b
    Examples:
      docgen keys new ente-2026 --dir keys/ --issuer "Formazione Valdelsa"
    """
    from docgen.seal.keys import new_key

    private, public = new_key(name, folder, issuer)
    click.echo(f"{private}\n{public}")


@keys.command("publish")
@click.option("--dir", "folder", type=click.Path(path_type=Path, file_okay=False),
              default=Path("verifica"), show_default=True, help="Folder for the page.")
@click.option("--keys", "source", type=click.Path(exists=True, path_type=Path),
              help="Public keys: a folder or a .pub.json [default: the folder of the job's key].")
@click.option("--job", "job_file", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_JOB, show_default=True, help="The job whose key folder to use.")
def keys_publish(folder: Path, source: Path | None, job_file: Path) -> None:
    """Write the verification page: index.html, keys.json and revoked.json.

    Put the folder's files at the job's [job.seal] url; no server code is needed.

    \b
    Examples:
      docgen keys publish --dir verifica/
    """
    from docgen.seal.publish import publish_page

    for path in publish_page(folder, source, job_file):
        click.echo(path)


@cli.command()
@click.argument("paths", metavar="PATH...", nargs=-1, required=True,
                type=click.Path(path_type=Path))
@click.option("--keys", "source", type=click.Path(exists=True, path_type=Path),
              help="Public keys: a folder or a .pub.json/keys.json [default: the job's].")
@click.option("--manifest", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Also check each file's sha256 against this build's manifest.csv.")
@click.option("--job", "job_file", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_JOB, show_default=True, help="The job whose keys to use.")
def verify(paths: tuple[Path, ...], source: Path | None, manifest: Path | None,
           job_file: Path) -> None:
    """Check the seal of each PDF (or of every PDF under a folder).

    One line per file: valid, or INVALID with the reason. Exit 0 all valid, 1 any
    invalid, 2 unusable input.

    \b
    Examples:
      docgen verify output/gol-paycare-2026
      docgen verify attestato.pdf --keys verifica/keys.json
      docgen verify output/gol-paycare-2026 --manifest output/gol-paycare-2026/manifest.csv
    """
    from docgen.seal.verify import verify_paths

    report = verify_paths(list(paths), source, manifest, job_file,
                          on_verdict=lambda v: click.echo(v.line))
    counts = {s: sum(v.status == s for v in report.verdicts) for s in ("valid", "INVALID")}
    unsealed = len(report.verdicts) - sum(counts.values())
    click.echo(f"{counts['valid']} valid, {counts['INVALID']} invalid"
               + (f", {unsealed} without a seal" if unsealed else ""))
    sys.exit(report.exit_code)


@cli.command()
@click.argument("document_id")
@click.option("--reason", required=True, help="Why the document is withdrawn (shown by verify).")
@click.option("--key", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Private key to sign the list with [default: the job's].")
@click.option("--job", "job_file", type=click.Path(path_type=Path, dir_okay=False),
              default=DEFAULT_JOB, show_default=True, help="The job whose key to use.")
def revoke(document_id: str, reason: str, key: Path | None, job_file: Path) -> None:
    """Revoke a sealed document: add its code to revoked.json beside the key, signed.

    Publish the page again (docgen keys publish) so readers see it.

    \b
    Examples:
      docgen revoke 1A2B-3C4D-5E6F-7A8B --reason "issued by mistake"
    """
    from docgen.seal.revoke import revoke_document

    click.echo(revoke_document(document_id, reason, key, job_file))


def main() -> None:
    cli(prog_name="docgen")
