"""Limits per document ([job.limits], limits.py): a template that loops, paginates or
allocates without end, or an image bomb, fails that document alone, naming the limit."""

from __future__ import annotations

import struct
import textwrap
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document

from docgen.cli import cli
from docgen.errors import UnusableError
from docgen.job import Limits, load_job
from docgen.limits import TimeLimitExceeded, default_workers, time_limit
from tests.conftest import HTML_TEMPLATE, WORKERS, numbered_workers
from tests.helpers import check_hashes, manifest

ENDLESS = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


def html(body: str) -> str:
    return HTML_TEMPLATE.replace("</body>", body + "\n</body>")


def job_with(make_job: Callable[..., Path], limits: str, **options: object) -> Path:
    return make_job(extra_job="\n[job.limits]\n" + textwrap.dedent(limits), **options)


def build(job: Path, out: Path, jobs: int) -> tuple[int, str, list[dict[str, str]]]:
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", str(jobs)])
    return result.exit_code, result.output, manifest(out)


def failed(lines: list[dict[str, str]]) -> list[tuple[str, str]]:
    return [(line["row"], line["message"]) for line in lines if line["status"] == "failed"]


def bomb_png(path: Path, size: int = 13_000) -> Path:
    """A 1-bit PNG of size x size pixels: about 20 kB on disk, 169 million pixels decoded."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data)))

    packer = zlib.compressobj(9)
    row = b"\x00" * (1 + (size + 7) // 8)
    body = b"".join(packer.compress(row) for _ in range(size)) + packer.flush()
    header = struct.pack(">IIBBBBB", size, size, 1, 0, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body)
                     + chunk(b"IEND", b""))
    return path


def test_limits_have_their_defaults_and_refuse_unknown_keys(make_job: Callable[..., Path]) -> None:
    """[job.limits] defaults are 60 s, 200 pages, 1024 MB, 40 million pixels; a misspelt key
    is an error with the closest name."""
    assert load_job(make_job()).limits == Limits(60, 200, 1024, 40_000_000)
    assert load_job(job_with(make_job, "seconds = 5\npages = 9")).limits.pages == 9
    with pytest.raises(UnusableError, match="unknown key 'second'.*did you mean 'seconds'"):
        load_job(job_with(make_job, "second = 5"))
    with pytest.raises(UnusableError, match="memory_mb must be a whole number"):
        load_job(job_with(make_job, "memory_mb = -1"))


@pytest.mark.parametrize("jobs", [1, 2])
def test_endless_loop_fails_its_document_after_the_time_limit(
        jobs: int, make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A nested range loop on one row stops after [job.limits] seconds, in-process (a timer)
    and in workers; that row's document fails naming the limit, the batch goes on, exit 1."""
    rows = numbered_workers(20)
    template = html("{% if row == 7 %}" + ENDLESS + "{% endif %}")
    job = job_with(make_job, "seconds = 2", rows=rows, html=template)
    code, output, lines = build(job, tmp_path / "out", jobs)
    assert code == 1, output
    assert failed(lines) == [("7", "attestato, row 7 (COGNOME5 Nome): stopped after 2 s "
                                   "(limit [job.limits] seconds)")]
    assert sum(line["status"] == "ok" for line in lines) == 20 + 20 + 1 - 1  # elenco too
    assert "failed: attestato, row 7 (COGNOME5 Nome): stopped after 2 s" in output
    check_hashes(tmp_path / "out")


def test_endless_loop_in_a_word_template_is_stopped(make_job: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    """The same loop in a Word template stops after the time limit; the other documents are
    written."""
    job = job_with(make_job, "seconds = 2")
    looping = Document()
    looping.add_paragraph("{% if row == 2 %}" + ENDLESS + "{% endif %}{{ nome }}")
    looping.save(job.parent / "templates" / "lettera.docx")
    code, _, lines = build(job, tmp_path / "out", 1)
    assert code == 1
    assert failed(lines) == [("2", "lettera, row 2 (D'ANGELO Niccolò): stopped after 2 s "
                                   "(limit [job.limits] seconds)")]


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the dropped one
def test_the_time_limit_holds_when_its_first_signal_is_swallowed() -> None:
    """Python runs the timer's handler wherever the main thread is; inside a garbage collector
    callback (hypothesis installs one) its exception is printed and dropped. The signal comes
    again until the limited code has stopped, and never once it has."""
    import gc
    import signal
    import time

    swallowed = []

    def callback(phase: str, info: dict[str, int]) -> None:
        if not swallowed:  # the first expiry lands here, as it did under hypothesis
            swallowed.append(phase)
            time.sleep(0.5)  # the handler runs in the callback, its exception is dropped

    started = time.monotonic()
    gc.callbacks.append(callback)
    try:
        with pytest.raises(TimeLimitExceeded), time_limit(0.2):
            gc.collect()  # the callback holds the main thread past the first expiry
            while time.monotonic() - started < 10:
                pass
    finally:
        gc.callbacks.remove(callback)
    assert swallowed and time.monotonic() - started < 5
    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, signal.default_int_handler, None)
    time.sleep(0.6)  # no repeat arrives after the limit was left


# The time limit's first signal may land in hypothesis's garbage-collector callback, which
# drops it (the next one stops the document): see the test above.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_too_many_pages_fail_and_endless_pages_time_out(make_job: Callable[..., Path],
                                                        tmp_path: Path) -> None:
    """A document over [job.limits] pages fails naming it; one that paginates without end is
    stopped by the time limit."""
    pages = '{% for i in range(30) %}<p style="break-after: page">{{ i }}</p>{% endfor %}'
    endless = ('{% for i in range(100000) %}<p style="break-after: page">{{ i }}</p>'
               '{% endfor %}')
    template = html("{% if row == 2 %}" + pages + "{% elif row == 4 %}" + endless
                    + "{% endif %}")
    job = job_with(make_job, "seconds = 4\npages = 20", html=template)
    code, _, lines = build(job, tmp_path / "out", 1)
    assert code == 1
    messages = dict(failed(lines))
    assert messages["2"] == ("attestato, row 2 (D'ANGELO Niccolò): the document has 30 pages, "
                             "more than 20 (limit [job.limits] pages)")
    assert messages["4"].endswith("stopped after 4 s (limit [job.limits] seconds)")


def test_huge_string_is_refused_by_the_sandbox_with_its_place(make_job: Callable[..., Path],
                                                              tmp_path: Path) -> None:
    """('x'*10**10)|length fails that document at once, naming row, worker and document,
    instead of exhausting memory."""
    job = make_job(html=html("{% if row == 4 %}{{ ('x'*10**10)|length }}{% endif %}"))
    code, _output, lines = build(job, tmp_path / "out", 1)
    assert code == 1
    [(row, message)] = failed(lines)
    assert row == "4"
    assert message.startswith("attestato, row 4 (BIANCHI Giulia): SecurityError: repeating a "
                              "value 10,000,000,000 times")


def test_sandbox_violation_names_its_place(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A template reaching for __class__ fails with the sandbox's message and the row, worker
    and document it happened on."""
    job = make_job(html=html("{{ nome.__class__ }}"))
    code, output, _lines = build(job, tmp_path / "out", 1)
    assert code == 1
    assert ("failed: attestato, row 2 (D'ANGELO Niccolò): SecurityError: access to attribute "
            "'__class__' of 'str' object is unsafe.") in output


def test_decompression_bomb_fails_naming_the_pixel_limit(make_job: Callable[..., Path],
                                                         tmp_path: Path) -> None:
    """A 13,000 x 13,000 PNG fails the document that shows it, with Pillow's whole message and
    the limit; exit 1."""
    job = make_job(html=html('{% if row == 2 %}<img src="bomb.png">{% endif %}'))
    bomb_png(job.parent / "templates" / "bomb.png")
    code, _output, lines = build(job, tmp_path / "out", 1)
    assert code == 1
    [(row, message)] = failed(lines)
    assert row == "2"
    assert "Image size (169000000 pixels) exceeds limit" in message
    assert "(limit [job.limits] image_pixels)" in message


def test_memory_limit_fails_the_document_in_its_worker(make_job: Callable[..., Path],
                                                       tmp_path: Path) -> None:
    """A render that allocates past memory_mb gets a MemoryError in its worker: that document
    fails naming the limit, the others are written."""
    rows = numbered_workers(20)
    documents = """
        [[document]]
        name = "lettera"
        template = "templates/lettera.docx"
    """
    job = job_with(make_job, "memory_mb = 300", rows=rows, documents=documents)
    hungry = Document()
    hungry.add_paragraph("{% if row == 5 %}{{ ([0] * 45000000)|length }}{% endif %}{{ nome }}")
    hungry.save(job.parent / "templates" / "lettera.docx")
    code, output, lines = build(job, tmp_path / "out", 2)
    assert code == 1, output
    assert failed(lines) == [("5", "lettera, row 5 (COGNOME3 Nome): ran out of the memory one "
                                   "worker may use (300 MB) (limit [job.limits] memory_mb). "
                                   "simplify the template or its images, or raise the limit")]
    assert sum(line["status"] == "ok" for line in lines) == 19


def test_default_workers_respect_memory() -> None:
    """The default number of workers is the cores, but no more than memory holds at memory_mb
    each, and at least one."""
    assert default_workers(4, 1) == 4
    assert default_workers(64, 10**9) == 1


def test_workers_list_is_unchanged_by_limits(make_job: Callable[..., Path],
                                             tmp_path: Path) -> None:
    """Ordinary documents are far below every default limit: a build is exit 0."""
    code, _, lines = build(make_job(rows=WORKERS), tmp_path / "out", 1)
    assert code == 0 and not failed(lines)


def test_watchdog_kills_a_worker_stuck_out_of_the_timers_reach(
        monkeypatch: pytest.MonkeyPatch, make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A worker stuck where its own timer cannot interrupt it (signals blocked, as inside a C
    library) is killed by the main process's watchdog and replaced; only the stuck document
    fails, naming the time limit."""
    import signal
    import time

    import docgen.workers as workers

    rows = numbered_workers(20)
    documents = """
        [[document]]
        name = "attestato"
        template = "templates/attestato.html"
    """
    job = job_with(make_job, "seconds = 1", rows=rows, documents=documents)
    real = workers.render_chunk

    def stuck_on_row_9(renderers: object, tasks: list) -> list:  # type: ignore[type-arg]
        if any(t.context.get("row") == 9 for t in tasks):
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})
            time.sleep(600)
        return real(renderers, tasks)  # type: ignore[arg-type]

    # Forked workers inherit the patched function; the default forkserver would not.
    monkeypatch.setattr(workers, "START_METHOD", "fork")
    monkeypatch.setattr(workers, "GRACE_SECONDS", 2)
    monkeypatch.setattr(workers, "render_chunk", stuck_on_row_9)
    from docgen.build import build as run_build

    report = run_build(load_job(job), tmp_path / "out", jobs=2)
    assert report.exit_code == 1
    assert [(o.row, o.message) for o in report.failed] == [
        (9, "attestato, row 9 (COGNOME7 Nome): stopped after 1 s (limit [job.limits] seconds)")]
    assert report.count("ok") == 19
