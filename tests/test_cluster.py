"""docgen build --cluster on a real Dask cluster on 127.0.0.1: a scheduler and two workers as
subprocesses, workers killed, the client killed."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from docgen.build import build
from docgen.cli import cli
from docgen.job import load_job
from docgen.resume import JOURNAL
from tests.conftest import WORKERS
from tests.helpers import check_hashes, kill_when_journaled, manifest, pdf_text, start_build

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parent.parent
EPOCH = "1767225600"  # 2026-01-01: the client's, never set on the workers
PDF_ONLY = """
    [[document]]
    name = "attestato"
    template = "templates/attestato.html"
"""


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as handle:
        # A session of its own, so the teardown stops the nannies and their workers together.
        return subprocess.Popen([sys.executable, "-m", "dask", *args], env=env,
                                stdout=handle, stderr=subprocess.STDOUT, start_new_session=True)


def _stop(process: subprocess.Popen[bytes]) -> None:
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=10)
            return
        except subprocess.TimeoutExpired:
            continue


def _cluster(folder: Path, *, workers: int, worker_env: dict[str, str] | None = None
             ) -> Iterator[str]:
    """A scheduler and ``workers`` single-threaded workers on 127.0.0.1; yields the address."""
    env = {k: v for k, v in os.environ.items() if k != "SOURCE_DATE_EPOCH"}
    env["PYTHONPATH"] = str(ROOT)
    folder.mkdir(parents=True, exist_ok=True)
    info = folder / "scheduler.json"
    processes = [_start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
                         "--scheduler-file", str(info)], env, folder / "scheduler.log")]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        processes.append(_start(["worker", address, "--host", "127.0.0.1", "--nworkers",
                                 str(workers), "--nthreads", "1", "--no-dashboard",
                                 "--local-directory", str(folder / "workers")],
                                {**env, **(worker_env or {})}, folder / "workers.log"))
        with distributed.Client(address, timeout=30, set_as_default=False) as client:
            client.wait_for_workers(workers, timeout=60)
        yield address
    finally:
        for process in reversed(processes):
            _stop(process)


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A scheduler and two workers on loopback for the whole module, always stopped."""
    yield from _cluster(tmp_path_factory.mktemp("cluster"), workers=2)


@pytest.fixture(autouse=True)
def fixed_epoch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)


def _code(number: int) -> str:
    """A valid codice fiscale for fictional worker ``number`` (0-999)."""
    from stdnum.it.codicefiscale import calc_check_digit

    body = f"RSSMRA80A01H{number:03d}"
    return body + calc_check_digit(body)


def _rows(count: int) -> list[list[object]]:
    return [[f"Cognome{i}", "Nome", _code(i), "01/01/1980", "Siena", 100, "idoneo", None]
            for i in range(count)]


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, ["build", *args])
    return result.exit_code, result.stdout, result.stderr


def _worker_pids(address: str) -> dict[str, int]:
    with distributed.Client(address, timeout=30, set_as_default=False) as client:
        return client.run(os.getpid)


def test_cluster_build_equals_local_build(make_job: Callable[..., Path], tmp_path: Path,
                                          cluster: str) -> None:
    """PDF, Word and batch documents made on the cluster: the manifest (statuses, messages,
    sha256, inputs) and every file are those of a local build of the same job."""
    job = make_job(rows=WORKERS + _rows(20))
    code, stdout, stderr = _run(str(job), "--out", str(tmp_path / "local"), "-j", "1")
    assert code == 0, stderr
    code, stdout, stderr = _run(str(job), "--out", str(tmp_path / "remote"), "--cluster", cluster)
    assert code == 0, stderr
    assert "ok" in stdout and "failed" in stdout
    local, remote = manifest(tmp_path / "local"), manifest(tmp_path / "remote")
    assert remote == local
    assert {line["status"] for line in remote} == {"ok", "skipped"}
    check_hashes(tmp_path / "remote")
    for line in local:
        if line["path"]:
            assert ((tmp_path / "remote" / line["path"]).read_bytes()
                    == (tmp_path / "local" / line["path"]).read_bytes())
    assert "Cognome19" in pdf_text(tmp_path / f"remote/{_code(19)}/attestato.pdf")
    assert not list((tmp_path / "remote").rglob(".*.tmp"))


def _rendered_on(address: str) -> int:
    """How many docgen tasks the scheduler at ``address`` has seen through their states."""
    def count(dask_scheduler: object) -> int:
        return sum(sum(p.state_counts.values()) for name, p in
                   dask_scheduler.task_prefixes.items()  # type: ignore[attr-defined]
                   if name.startswith("docgen"))

    with distributed.Client(address, timeout=30, set_as_default=False) as client:
        return int(client.run_on_scheduler(count))


def test_cluster_from_the_job_file(make_job: Callable[..., Path], tmp_path: Path,
                                   cluster: str) -> None:
    """[job] cluster chooses the cluster too; a re-run leaves every document unchanged, as
    locally."""
    job = make_job(extra_job=f'cluster = "{cluster}"')
    assert load_job(job).cluster == cluster
    before = _rendered_on(cluster)
    out = tmp_path / "out"
    code, stdout, stderr = _run(str(job), "--out", str(out))
    assert code == 0, stderr
    assert "4 ok" in stdout
    assert _rendered_on(cluster) > before
    code, stdout, _ = _run(str(job), "--out", str(out))
    assert code == 0 and "0 ok, 4 unchanged" in stdout


def test_a_killed_worker_loses_no_document(make_job: Callable[..., Path], tmp_path: Path,
                                           cluster: str) -> None:
    """A worker SIGKILLed while it renders: its chunk is rendered again elsewhere and the
    build completes with every document, each file intact."""
    job_file = make_job(rows=_rows(60), documents=PDF_ONLY)
    job = load_job(job_file).with_options(cluster=cluster)
    out = tmp_path / "out"
    before = _worker_pids(cluster)
    reports = []
    thread = threading.Thread(target=lambda: reports.append(build(job, out, jobs=1)))
    thread.start()
    killed = None
    with distributed.Client(cluster, timeout=30, set_as_default=False) as client:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and thread.is_alive():
            busy = [w for w, keys in client.processing().items()
                    if any(str(k).startswith("docgen-render_on_worker") for k in keys)]
            if busy:
                time.sleep(0.5)  # inside the chunk, not before it
                killed = before[busy[0]]
                os.kill(killed, signal.SIGKILL)
                break
            time.sleep(0.05)
    thread.join(timeout=300)
    assert killed is not None, "no worker was rendering"
    assert not thread.is_alive()
    report = reports[0]
    assert report.exit_code == 0
    lines = manifest(out)
    assert sum(line["status"] == "ok" for line in lines) == 60
    check_hashes(out)
    for pdf in out.rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) == 1
    deadline = time.monotonic() + 60
    while len(after := _worker_pids(cluster)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)  # the nanny restarts the killed worker
    assert killed not in after.values()


class DiesOnRow20(distributed.WorkerPlugin):
    """Makes a worker process exit, as a crash would, when it renders row 20; installed again
    on every restarted worker."""

    def setup(self, worker: object) -> None:
        import docgen.cluster

        real = docgen.cluster.render_results

        def dies_on_row_20(renderers: object, tasks: list) -> object:  # type: ignore[type-arg]
            if any(t.context.get("row") == 20 for t in tasks):
                os._exit(9)
            return real(renderers, tasks)  # type: ignore[arg-type]

        self.real = real
        docgen.cluster.render_results = dies_on_row_20  # type: ignore[assignment]

    def teardown(self, worker: object) -> None:
        import docgen.cluster

        docgen.cluster.render_results = self.real  # type: ignore[assignment]


def test_a_document_that_kills_workers_fails_alone(make_job: Callable[..., Path], tmp_path: Path,
                                                   cluster: str) -> None:
    """A document whose rendering kills every worker that tries it: Dask gives up on its
    chunk, each of the chunk's documents is tried alone, and only that one fails (exit 1)."""
    job = make_job(rows=_rows(40), documents=PDF_ONLY)
    out = tmp_path / "out"
    with distributed.Client(cluster, timeout=30, set_as_default=False) as client:
        client.register_plugin(DiesOnRow20(), name="dies-on-row-20")
        try:
            code, _, _ = _run(str(job), "--out", str(out), "--cluster", cluster)
        finally:
            client.unregister_worker_plugin("dies-on-row-20")
    assert code == 1
    lines = manifest(out)
    failed = [(line["row"], line["document"]) for line in lines if line["status"] == "failed"]
    assert failed == [("20", "attestato")]
    message = next(line["message"] for line in lines if line["status"] == "failed")
    assert "the worker process rendering it died (KilledWorker" in message
    assert "nothing was written for it" in message
    assert sum(line["status"] == "ok" for line in lines) == 39
    check_hashes(out)


def test_a_killed_client_resumes(make_job: Callable[..., Path], tmp_path: Path,
                                 cluster: str) -> None:
    """The client (docgen build --cluster) SIGKILLed mid-build: no half-written file, and the
    re-run trusts the journal and makes only the rest."""
    job, out = make_job(rows=_rows(120), documents=PDF_ONLY), tmp_path / "out"
    kill_when_journaled(start_build(job, out, "--cluster", cluster), out, 1)
    journal = out / JOURNAL
    assert not (out / "manifest.csv").exists()
    finished = journal.read_text(encoding="utf-8").count("\n") - 1
    assert 0 < finished < 120
    for pdf in out.rglob("*.pdf"):
        assert len(PdfReader(pdf).pages) == 1  # complete, or not there at all

    code, _, stderr = _run(str(job), "--out", str(out), "--cluster", cluster)
    assert code == 0, stderr
    lines = manifest(out)
    counts = {s: sum(line["status"] == s for line in lines) for s in ("ok", "unchanged")}
    assert counts["unchanged"] >= finished and counts["ok"] + counts["unchanged"] == 120
    assert not list(out.rglob(".*.tmp")) and not journal.exists()
    check_hashes(out)


def test_word_documents_converted_on_the_workers(make_job: Callable[..., Path], tmp_path: Path,
                                                 cluster: str) -> None:
    """pdf = true on the cluster: the workers' LibreOffice turns each letter into a PDF that
    lies beside its DOCX, listed in the manifest with its source."""
    documents = """
        [[document]]
        name = "lettera"
        template = "templates/lettera.docx"
        pdf = true
    """
    out = tmp_path / "out"
    code, stdout, stderr = _run(str(make_job(documents=documents)), "--out", str(out),
                                "--cluster", cluster)
    assert code == 0, stderr
    assert "of which 3 PDF(s) converted" in stdout
    pdfs = [line for line in manifest(out) if line["source"]]
    assert len(pdfs) == 3 and {line["status"] for line in pdfs} == {"ok"}
    assert "Niccolò" in pdf_text(out / pdfs[0]["path"])
    check_hashes(out)


def test_workers_without_libreoffice_say_so(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A cluster none of whose workers has LibreOffice: the Word documents are made, each PDF
    fails with a message naming the cluster and what to install (exit 1)."""
    documents = """
        [[document]]
        name = "lettera"
        template = "templates/lettera.docx"
        pdf = true
    """
    for address in _cluster(tmp_path / "bare", workers=1,
                            worker_env={"DOCGEN_SOFFICE": "/nonexistent/soffice"}):
        out = tmp_path / "out"
        code, _, stderr = _run(str(make_job(documents=documents)), "--out", str(out),
                               "--cluster", address)
        assert code == 1
        assert f"LibreOffice is not installed on any worker of the cluster at {address}" in stderr
        assert "apt-get install libreoffice-writer" in stderr
        statuses = [(line["document"], line["status"], bool(line["source"]))
                    for line in manifest(out)]
        assert statuses.count(("lettera", "ok", False)) == 3
        assert statuses.count(("lettera", "failed", True)) == 3


def test_unreachable_scheduler_writes_nothing(make_job: Callable[..., Path], tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    """A scheduler (here from DOCGEN_CLUSTER) that does not answer: a clear error, exit 2,
    no output folder."""
    monkeypatch.setenv("DOCGEN_CLUSTER", "tcp://127.0.0.1:9")
    out = tmp_path / "out"
    code, _, stderr = _run(str(make_job()), "--out", str(out))
    assert code == 2
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:9" in stderr
    assert "nothing was written." in stderr
    assert not out.exists()


def test_without_dask_the_option_says_how_to_install(make_job: Callable[..., Path],
                                                     tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """Without dask and distributed, --cluster says to install docgen[cluster] (exit 2)."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed now fails
    out = tmp_path / "out"
    code, _, stderr = _run(str(make_job()), "--out", str(out), "--cluster", "tcp://127.0.0.1:9")
    assert code == 2
    assert "pip install 'docgen[cluster]'" in stderr
    assert not out.exists()
