"""Benchmark: docgen build against the naive loops, on the shipped example's templates.

    python bench/run.py            # make bench: ~10 minutes on 2 cores
    python bench/run.py --quick    # make bench-quick: small sizes, ~2 minutes
    python bench/run.py --pdf-10k  # also PDFs at 10,000 rows (about half an hour)

Writes bench/results/results.csv and results.md. Naive loops run in this process and time
the loop only; docgen runs as `docgen build --jobs 2` subprocesses and is timed whole (start-up,
roster, plan, rendering, manifest). Peak memory is the sum of RSS over the process tree,
polled every 50 ms; CPU is user + system time of the whole process tree, which other
programs on the machine do not inflate as they do wall time. "workers at" is when the
build's first child process (the pool's server) appeared. The cluster route runs
`docgen build --cluster` against a local Dask cluster of 2 single-threaded worker processes
started beforehand (its start-up is reported apart); its peak RSS and CPU are the client's.
"""

from __future__ import annotations

import argparse
import csv
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.make_example_roster import fictional_workers, write_roster  # noqa: E402

PDF_DOCS = ("attestato_frequenza",)
DOCX_DOCS = ("lettera_qualifica", "allegato_accordo")
DOCGEN = [sys.executable, "-m", "docgen"]


@dataclass
class Result:
    kind: str
    route: str
    rows: int
    documents: int
    seconds: float
    peak_rss_mb: float
    workers_at: float | None = None  # seconds from the command to its first child process
    cpu_seconds: float = 0.0  # user + system CPU of the whole process tree: load-independent

    @property
    def per_second(self) -> float:
        return self.documents / self.seconds if self.seconds else 0.0


@contextmanager
def peak_rss(pid: int, start: float | None = None, children: list[float] | None = None,
             cpu: dict[int, float] | None = None) -> Iterator[Callable[[], float]]:
    """Peak of the summed RSS of ``pid`` and all its descendants, in MB; with ``start``, the
    seconds from ``start`` to its first child process are appended to ``children``; ``cpu``
    gets each process's last seen user + system time (the pool's workers are not children
    the build waits for, so the kernel's accounting of children misses them)."""
    peak = 0
    done = threading.Event()

    def poll() -> None:
        nonlocal peak
        while not done.is_set():
            try:
                root = psutil.Process(pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                return
            if start is not None and children is not None and len(procs) > 1 and not children:
                children.append(time.perf_counter() - start)
            total = 0
            for proc in procs:
                with suppress(psutil.NoSuchProcess):
                    total += proc.memory_info().rss
                    if cpu is not None:
                        times = proc.cpu_times()
                        cpu[proc.pid] = times.user + times.system
            peak = max(peak, total)
            done.wait(0.05 if start is None else 0.02)

    thread = threading.Thread(target=poll, daemon=True)
    thread.start()
    try:
        yield lambda: peak / 2**20
    finally:
        done.set()
        thread.join()


def write_job(folder: Path, rows: int, *, delivery: bool = False) -> Path:
    """The example job over a roster of ``rows`` fictional workers; without ``delivery``,
    rendering only (no LibreOffice PDFs, no bundles), so each kind is timed on its own."""
    folder.mkdir(parents=True, exist_ok=True)
    write_roster(fictional_workers(rows), folder / "roster.xlsx")
    text = (ROOT / "input" / "job.toml").read_text(encoding="utf-8")
    text = text.replace('"../templates/', f'"{(ROOT / "templates").as_posix()}/')
    text = text.replace('"mail/body', f'"{(ROOT / "input" / "mail").as_posix()}/body')
    text = text.replace('"keys/', f'"{(ROOT / "input" / "keys").as_posix()}/')  # the seal's key
    if not delivery:
        text = "\n".join(line for line in text.splitlines()
                         if not line.startswith(("pdf = true", "zip = ")))
    (folder / "job.toml").write_text(text, encoding="utf-8")
    return folder / "job.toml"


def due_contexts(job_file: Path, names: tuple[str, ...]) -> list[tuple[str, dict[str, Any]]]:
    """(document, Jinja context) of every due document, as docgen plans them."""
    from docgen.job import load_job
    from docgen.plan import make_plan

    plan = make_plan(load_job(job_file))
    return [(i.document.name, dict(i.context or {})) for i in plan.items
            if i.status == "due" and i.document.name in names]


def naive_docx(items: list[tuple[str, dict[str, Any]]], out: Path) -> None:
    from docxtpl import DocxTemplate

    from docgen.seal.qr import docx_context
    from docgen.templating import make_environment

    env = make_environment("it_IT", autoescape=True)
    for n, (name, context) in enumerate(items):
        template = DocxTemplate(ROOT / "templates" / f"{name}.docx")
        context = docx_context(template, context)  # a sealed letter's code image, as docgen does
        template.render(context, jinja_env=env, autoescape=True)
        template.save(out / f"{n}.docx")


def naive_pdf(items: list[tuple[str, dict[str, Any]]], out: Path) -> None:
    import weasyprint

    from docgen.templating import make_environment

    folder = ROOT / "templates"
    env = make_environment("it_IT", folder=folder, autoescape=True)
    for n, (name, context) in enumerate(items):
        html = env.get_template(f"{name}.html").render(context)
        weasyprint.HTML(string=html, base_url=folder.as_uri() + "/").write_pdf(out / f"{n}.pdf")


def run_naive(kind: str, job_file: Path, rows: int, scratch: Path) -> Result:
    names = PDF_DOCS if kind == "PDF" else DOCX_DOCS
    items = due_contexts(job_file, names)
    out = Path(tempfile.mkdtemp(dir=scratch))
    loop = naive_pdf if kind == "PDF" else naive_docx
    with peak_rss(psutil.Process().pid) as peak:
        cpu = _cpu(resource.RUSAGE_SELF)
        start = time.perf_counter()
        loop(items, out)
        seconds = time.perf_counter() - start
        cpu = _cpu(resource.RUSAGE_SELF) - cpu
    shutil.rmtree(out)
    return Result(kind, "naive loop (1 process)", rows, len(items), seconds, peak(),
                  cpu_seconds=cpu)


def _cpu(who: int) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_docgen(kind: str, job_file: Path, rows: int, scratch: Path, jobs: int = 2,
               cluster: str | None = None) -> Result:
    names = {"PDF": PDF_DOCS, "DOCX": DOCX_DOCS}.get(kind, ())
    out = Path(tempfile.mkdtemp(dir=scratch))
    args = [*DOCGEN, "build", str(job_file), "--out", str(out), "--jobs", str(jobs), "--quiet"]
    args += ["--cluster", cluster] if cluster else []
    for name in names:
        args += ["--only", name]
    start = time.perf_counter()
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    children: list[float] = []
    times: dict[int, float] = {}
    with peak_rss(proc.pid, start, children, times) as peak:
        _, err = proc.communicate()
    seconds = time.perf_counter() - start
    cpu = sum(times.values())
    if proc.returncode not in (0, 1):
        raise SystemExit(f"docgen build failed ({proc.returncode}): {err.decode()[-2000:]}")
    with (out / "manifest.csv").open(encoding="utf-8-sig") as handle:
        documents = sum(1 for line in csv.DictReader(handle) if line["status"] == "ok")
    shutil.rmtree(out)
    route = "docgen build --cluster (2 workers)" if cluster else f"docgen build --jobs {jobs}"
    return Result(kind, route, rows, documents, seconds, peak(),
                  None if cluster or not children else children[0], cpu)


def run_convert(job_file: Path, rows: int, scratch: Path, processes: int = 2) -> Result:
    """LibreOffice alone: the Word letters of a build converted by ``processes`` LibreOffice
    processes in batches, as docgen build --pdf does."""
    from concurrent.futures import ThreadPoolExecutor

    from docgen.convert import convert_to_pdf

    out = Path(tempfile.mkdtemp(dir=scratch))
    subprocess.run([*DOCGEN, "build", str(job_file), "--out", str(out), "--quiet", "--only",
                    DOCX_DOCS[0]], cwd=ROOT, check=False, stdout=subprocess.DEVNULL)
    files = sorted(out.rglob("*.docx"))
    shares = [files[i::processes] for i in range(processes)]
    with peak_rss(psutil.Process().pid) as peak:
        cpu = _cpu(resource.RUSAGE_CHILDREN)  # the LibreOffice processes, each waited for
        start = time.perf_counter()
        with ThreadPoolExecutor(processes) as pool:
            results = [r for future in [pool.submit(convert_to_pdf, share) for share in shares]
                       for r in future.result().values()]
        seconds = time.perf_counter() - start
        cpu = _cpu(resource.RUSAGE_CHILDREN) - cpu
    shutil.rmtree(out)
    made = sum(1 for r in results if not isinstance(r, Exception))
    return Result("DOCX->PDF", f"LibreOffice batches, {processes} processes", rows, made,
                  seconds, peak(), cpu_seconds=cpu)


@contextmanager
def local_cluster() -> Iterator[str]:
    """A Dask cluster on 127.0.0.1: a scheduler and 2 single-threaded worker processes."""
    from distributed import LocalCluster

    start = time.perf_counter()
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None) as cluster:
        print(f"local Dask cluster of 2 workers started in {time.perf_counter() - start:.1f} s",
              file=sys.stderr, flush=True)
        yield cluster.scheduler_address


def report(results: list[Result], folder: Path) -> str:
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "results.csv").open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, [*asdict(results[0]), "per_second"])
        writer.writeheader()
        for r in results:
            writer.writerow(asdict(r) | {"per_second": round(r.per_second, 1)})
    lines = ["| kind | route | rows | documents | seconds | docs/s | vs naive | peak RSS (MB) "
             "| workers at (s) | CPU ms/doc |", "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    naive = {(r.kind, r.rows): r for r in results if r.route.startswith("naive")}
    # Larger sizes are compared with the naive loop's rate at its (smaller) sample, marked *:
    # the naive loop is not run at 1,000 rows and more.
    sampled = {r.kind: r for r in naive.values()}
    for r in results:
        base = naive.get((r.kind, r.rows))
        ratio = f"{r.per_second / base.per_second:.1f}x" if base and base is not r else ""
        if not base and r.kind in sampled and not r.route.startswith("naive"):
            ratio = f"{r.per_second / sampled[r.kind].per_second:.1f}x*"
        started = "" if r.workers_at is None else f"{r.workers_at:.2f}"
        lines.append(f"| {r.kind} | {r.route} | {r.rows:,} | {r.documents:,} | {r.seconds:.1f} | "
                     f"{r.per_second:.1f} | {ratio} | {r.peak_rss_mb:.0f} | {started} | "
                     f"{1000 * r.cpu_seconds / max(1, r.documents):.0f} |")
    table = "\n".join(lines) + "\n"
    (folder / "results.md").write_text(table, encoding="utf-8")
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes only (~2 minutes)")
    parser.add_argument("--medium", action="store_true",
                        help="the 100-PDF and 1,000/10,000-row DOCX figures, no 1,000-row PDFs")
    parser.add_argument("--pdf-10k", action="store_true", help="also PDFs at 10,000 rows")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    parser.add_argument("--no-cluster", action="store_true", help="skip the Dask cluster route")
    options = parser.parse_args()
    pdf_sample, docx_sample = (24, 120) if options.quick else (110, 540)
    docx_sizes = (1_000,) if options.quick else (1_000, 10_000)
    pdf_sizes = (() if options.quick or options.medium else (1_000, 10_000) if options.pdf_10k
                 else (1_000,))
    if options.medium:
        docx_sample = 120
    results: list[Result] = []

    def record(result: Result) -> None:
        results.append(result)
        started = "" if result.workers_at is None else f" workers at {result.workers_at:.2f} s"
        print(f"{result.kind:5} {result.route:24} {result.rows:>6} rows {result.documents:>6} docs "
              f"{result.seconds:7.1f} s {result.per_second:7.1f}/s {result.peak_rss_mb:5.0f} MB"
              f"{started} CPU {result.cpu_seconds:.1f} s (load {os.getloadavg()[0]:.1f})",
              file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="docgen-bench-") as tmp:
        scratch = Path(tmp)
        example = run_docgen("whole job", write_job(scratch / "example", 53), 53, scratch)
        example.route = "docgen build --jobs 2 (cold)"
        record(example)
        delivered = run_docgen("whole job + PDF/zip", ROOT / "input" / "job.toml", 53, scratch)
        delivered.route = "docgen build --jobs 2 (cold)"
        record(delivered)
        jobs = {n: write_job(scratch / f"rows-{n}", n)
                for n in {pdf_sample, docx_sample, *docx_sizes, *pdf_sizes}}
        # Interleaved on the shared samples: naive, then docgen, kind by kind.
        record(run_naive("PDF", jobs[pdf_sample], pdf_sample, scratch))
        record(run_docgen("PDF", jobs[pdf_sample], pdf_sample, scratch))
        record(run_naive("DOCX", jobs[docx_sample], docx_sample, scratch))
        record(run_docgen("DOCX", jobs[docx_sample], docx_sample, scratch))
        for rows in docx_sizes:
            record(run_docgen("DOCX", jobs[rows], rows, scratch))
        for rows in pdf_sizes:
            record(run_docgen("PDF", jobs[rows], rows, scratch))
        record(run_convert(ROOT / "input" / "job.toml", 53, scratch))
        if not options.no_cluster:
            with local_cluster() as address:
                record(run_docgen("PDF", jobs[pdf_sample], pdf_sample, scratch, cluster=address))
                for rows in docx_sizes[:1]:
                    record(run_docgen("DOCX", jobs[rows], rows, scratch, cluster=address))
                for rows in pdf_sizes[:1]:
                    record(run_docgen("PDF", jobs[rows], rows, scratch, cluster=address))
    table = report(results, options.out)
    print(table)


if __name__ == "__main__":
    main()
