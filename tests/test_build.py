"""Building real documents into tmp_path and reading them back."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from docgen.build import build
from docgen.cli import cli
from docgen.errors import UnusableError
from docgen.job import load_job
from docgen.plan import make_plan
from tests.conftest import HEADER, WORKERS, fiscal_code, numbered_workers
from tests.helpers import check_hashes, docx_text, manifest, pdf_text

# A 1x1 opaque PNG.
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
                    "0000000c49444154789c63f80f00000101000518d84e0000000049454e44ae426082")


def run(job_file: Path, out: Path, **options: object) -> tuple[int, list[dict[str, str]]]:
    report = build(load_job(job_file), out, **options)  # type: ignore[arg-type]
    return report.exit_code, manifest(out)


def test_build_writes_documents_and_manifest(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Due documents are written, skipped ones are recorded, hashes match the files."""
    out = tmp_path / "out"
    code, lines = run(make_job(), out, jobs=1)
    assert code == 0
    statuses = [(line["row"], line["document"], line["status"]) for line in lines]
    assert statuses == [
        ("2", "attestato", "ok"), ("2", "lettera", "ok"),
        ("3", "attestato", "skipped"), ("3", "lettera", "skipped"),
        ("4", "attestato", "ok"), ("4", "lettera", "skipped"),
        ("", "elenco", "ok"),
    ]
    assert lines[2]["message"].startswith("not due: 'when' is false")
    assert lines[-1]["key"] == ""
    check_hashes(out)
    text = pdf_text(out / "DNGNCL80A01I726W/attestato.pdf")
    assert "Niccolò D'Angelo" in text and "1° gennaio 1980" in text and "110 ore su 120" in text
    elenco = pdf_text(out / "elenco.pdf")
    assert "Lucà" in elenco and "Mariù" in elenco and "Bianchi" in elenco


def test_docx_split_tag_quotes_table_and_header(make_job: Callable[..., Path],
                                                 tmp_path: Path) -> None:
    """A tag split across Word runs, Word's curly quotes, a row loop and a header tag render."""
    out = tmp_path / "out"
    run(make_job(), out, jobs=1)
    text = docx_text(out / "D'Angelo_Niccolò/lettera.docx")
    assert "Gentile Niccolò D'Angelo, C.F. DNGNCL80A01I726W." in text
    assert "Esito: idoneo." in text
    assert "Accoglienza & ascolto" in text and "Gestione <reclami>" in text
    assert "Progetto GOL-P5-2026" in text
    assert "{{" not in text and "{%" not in text


def test_values_print_literally(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """&, < and {{ }} in the roster come out as written, in PDF and DOCX."""
    rows = [["Rossi & <Figli>", "{{ 7*7 }}", "RSSMRA80A01H501U", "01/01/1980", "Siena", 100,
             "idoneo", "<script>alert(1)</script>"]]
    out = tmp_path / "out"
    code, lines = run(make_job(rows=rows), out, jobs=1)
    assert code == 0, lines
    pdf = pdf_text(out / "RSSMRA80A01H501U/attestato.pdf")
    assert "{{ 7*7 }} Rossi & <Figli>" in pdf and "<script>alert(1)</script>" in pdf
    assert "49" not in pdf
    docx = docx_text(next(out.glob("*/lettera.docx")))
    assert "Gentile {{ 7*7 }} Rossi & <Figli>" in docx


def test_filename_values_cannot_leave_the_output_folder(make_job: Callable[..., Path],
                                                        tmp_path: Path) -> None:
    """A surname like ../../etc stays one folder name inside the output folder."""
    rows = [["../../../etc", "pass/wd", "RSSMRA80A01H501U", "01/01/1980", "Siena", 100, "idoneo",
             None]]
    out = tmp_path / "out"
    code, lines = run(make_job(rows=rows), out, jobs=1)
    assert code == 0
    written = next(line["path"] for line in lines if line["document"] == "lettera")
    assert written == "_.._.._etc_pass_wd/lettera.docx"
    assert (out / written).resolve().is_relative_to(out.resolve())
    assert not (tmp_path / "etc").exists()


def test_empty_required_field_fails_that_row_only(make_job: Callable[..., Path],
                                                  tmp_path: Path) -> None:
    """An empty birth date fails the row's documents, names the cell; the rest are written."""
    rows = [list(r) for r in WORKERS]
    rows[2][3] = None
    out = tmp_path / "out"
    code, lines = run(make_job(rows=rows), out, jobs=1)
    assert code == 1
    failed = [line for line in lines if line["status"] == "failed"]
    assert [(f["row"], f["document"]) for f in failed] == [("4", "attestato")]
    assert "the field 'data_di_nascita' is empty (cell roster.xlsx!D4)" in failed[0]["message"]
    assert (out / "DNGNCL80A01I726W/attestato.pdf").exists()
    assert "row 4 left out" not in lines[-1]["message"]


def test_optional_empty_prints_nothing(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """An empty optional field is the empty string, never 'None'."""
    out = tmp_path / "out"
    run(make_job(), out, jobs=1)
    assert "None" not in pdf_text(out / "DNGNCL80A01I726W/attestato.pdf")


def test_duplicate_keys_fail_both_rows(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Rows sharing a key all fail, each naming the other."""
    rows = [list(r) for r in WORKERS]
    rows[2][2] = rows[0][2]
    out = tmp_path / "out"
    code, lines = run(make_job(rows=rows), out, jobs=1)
    assert code == 1
    messages = {line["row"]: line["message"] for line in lines if line["status"] == "failed"}
    assert "also on row 4" in messages["2"] and "also on row 2" in messages["4"]
    elenco = next(line for line in lines if line["document"] == "elenco")
    assert elenco["status"] == "ok" and "left out: 2, 4" in elenco["message"]
    assert "Bianchi" not in pdf_text(out / "elenco.pdf")


def test_same_output_path_is_an_error_for_both(make_job: Callable[..., Path],
                                               tmp_path: Path) -> None:
    """Two rows writing one file both fail; nothing is overwritten."""
    rows = [list(r) for r in WORKERS]
    rows[2][0], rows[2][1], rows[2][6] = "D'ANGELO", "NICCOLÒ", "idoneo"
    out = tmp_path / "out"
    code, lines = run(make_job(rows=rows), out, jobs=1)
    assert code == 1
    failed = [line for line in lines if line["status"] == "failed"]
    assert {(f["row"], f["document"]) for f in failed} == {("2", "lettera"), ("4", "lettera")}
    assert "same file" in failed[0]["message"] and "row 4" in failed[0]["message"]


def test_text_in_hours_fails_the_row(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Text where the hours need a number fails that row, naming the cell."""
    rows = [list(r) for r in WORKERS]
    rows[0][5] = "settanta"
    code, lines = run(make_job(rows=rows), tmp_path / "out", jobs=1)
    assert code == 1
    assert lines[0]["status"] == "failed"
    assert "hours 'settanta' is not a number (cell roster.xlsx!F2)" in lines[0]["message"]


def test_when_failing_on_a_row(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """A 'when' that cannot be evaluated on a row fails that row with the expression."""
    documents = """
        [[document]]
        name = "attestato"
        template = "templates/attestato.html"
        when = "esito_esame > 3"
    """
    code, lines = run(make_job(documents=documents), tmp_path / "out", jobs=1)
    assert code == 1
    assert all(line["status"] == "failed" for line in lines)
    assert "'when' (esito_esame > 3) fails on this row" in lines[0]["message"]
    assert "esito_esame" in lines[0]["message"]


def test_unknown_field_is_fatal_and_writes_nothing(make_job: Callable[..., Path],
                                                   tmp_path: Path) -> None:
    """A template field no column gives: exit 2 with a suggestion, before any output."""
    header = list(HEADER)
    header[3] = "Nascita"
    job = load_job(make_job(header=header))
    with pytest.raises(UnusableError) as info:
        make_plan(job)
    assert info.value.exit_code == 2
    text = str(info.value)
    assert "attestato.html: the template uses the field 'data_di_nascita'" in text
    assert "no column of roster.xlsx gives it" in text


def test_missing_image_is_fatal_before_writing(make_job: Callable[..., Path],
                                               tmp_path: Path) -> None:
    """A template asking for an image that is not there: exit 2 naming it, nothing written."""
    html = '<html><body><img src="img/logo.png"><p>{{ nome }}</p></body></html>'
    with pytest.raises(UnusableError, match="missing file: img/logo.png"):
        make_plan(load_job(make_job(html=html)))


def test_missing_image_from_a_value_fails_the_document(make_job: Callable[..., Path],
                                                       tmp_path: Path) -> None:
    """An image named by a roster value that is not there fails that document only."""
    html = '<html><body><img src="{{ cognome }}.png"><p>{{ nome }}</p></body></html>'
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "Bianchi.png").write_bytes(PNG)
    code, lines = run(make_job(html=html), tmp_path / "out", jobs=1)
    assert code == 1
    statuses = {line["row"]: line["status"] for line in lines if line["document"] == "attestato"}
    assert statuses == {"2": "failed", "3": "skipped", "4": "ok"}
    assert "D'Angelo.png" in lines[0]["message"]


def test_files_outside_the_folder_and_network_are_refused(make_job: Callable[..., Path],
                                                          tmp_path: Path) -> None:
    """file:///etc/passwd and http URLs are never read: the template's own such references
    are fatal at check (exit 2, each named), and one built from a roster value fails that
    row's document, naming the reference; nothing is fetched."""
    requests: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            requests.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/logo.png"
    try:
        html = (f'<html><body><img src="file:///etc/passwd"><img src="{url}">'
                '<link rel="stylesheet" href="../../secret.css">'
                '<img src="{{ note }}"><p>{{ nome }}</p></body></html>')
        (tmp_path.parent / "secret.css").write_text("p { color: red }", encoding="utf-8")
        rows = [list(r) for r in WORKERS]
        rows[0][7] = "file:///etc/hostname"
        job = make_job(rows=rows, html=html)
        result = CliRunner().invoke(cli, ["check", str(job)])
        assert result.exit_code == 2
        assert "refused (outside the template's folder, the job's folder and [job] assets): " \
            "file:///etc/passwd" in result.stdout
        assert f"refused (templates never fetch from the network): {url}" in result.stdout
        assert "refused (outside the template's folder, the job's folder and [job] assets): " \
            "../../secret.css" in result.stdout
        html = '<html><body><img src="{{ note }}"><p>{{ nome }}</p></body></html>'
        rows[2][7] = url
        code, lines = run(make_job(rows=rows, html=html), tmp_path / "out", jobs=1)
    finally:
        server.shutdown()
    assert code == 1 and requests == []
    by_row = {line["row"]: line for line in lines if line["document"] == "attestato"}
    assert by_row["2"]["status"] == "failed" and "file:///etc/hostname" in by_row["2"]["message"]
    assert by_row["4"]["status"] == "failed" and url in by_row["4"]["message"]
    assert not (tmp_path / "out" / "DNGNCL80A01I726W/attestato.pdf").exists()


def test_only_keeps_other_documents_in_the_manifest(make_job: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    """Rebuilding one document keeps the manifest lines of the others."""
    job_file = make_job()
    out = tmp_path / "out"
    run(job_file, out, jobs=1)
    build(load_job(job_file).select(("elenco",)), out, jobs=1, partial=True)
    lines = manifest(out)
    assert len(lines) == 7
    assert {line["document"] for line in lines} == {"attestato", "lettera", "elenco"}


def test_parallel_build_matches_serial(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """Two worker processes give the same manifest and the same text as one."""
    rows = numbered_workers(40)
    job = make_job(rows=rows)
    _, serial = run(job, tmp_path / "one", jobs=1)
    _, parallel = run(job, tmp_path / "two", jobs=2)
    strip = [{k: v for k, v in line.items() if k != "sha256"} for line in serial]
    assert strip == [{k: v for k, v in line.items() if k != "sha256"} for line in parallel]
    check_hashes(tmp_path / "two")
    assert "Cognome39" in pdf_text(tmp_path / f"two/{fiscal_code(39)}/attestato.pdf")


def test_a_dying_worker_fails_only_its_documents(make_job: Callable[..., Path], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker process that dies (killed, out of memory) fails the documents it held; the
    build goes on in a new pool, ends with exit 1, and a re-run makes the missing ones."""
    import os

    import docgen.workers as build_module

    rows = numbered_workers(40)
    job = make_job(rows=rows)
    real = build_module.render_chunk
    parent = os.getpid()

    def dies_on_row_20(renderers: object, tasks: list) -> list:  # type: ignore[type-arg]
        if os.getpid() != parent and any(t.context.get("row") == 20 for t in tasks):
            os._exit(9)
        return real(renderers, tasks)  # type: ignore[arg-type]

    # Forked workers inherit the patched function; the default forkserver would not.
    monkeypatch.setattr(build_module, "START_METHOD", "fork")
    monkeypatch.setattr(build_module, "render_chunk", dies_on_row_20)
    out = tmp_path / "out"
    code, lines = run(job, out, jobs=2)
    assert code == 1
    failed = [(line["row"], line["document"]) for line in lines if line["status"] == "failed"]
    assert failed == [("20", "attestato"), ("20", "lettera")]
    assert "the worker process rendering it died" in next(
        line["message"] for line in lines if line["status"] == "failed")
    assert sum(line["status"] == "ok" for line in lines) == 79
    monkeypatch.setattr(build_module, "render_chunk", real)
    code, lines = run(job, out, jobs=2)
    assert code == 0
    check_hashes(out)


def test_documents_reach_the_disk_in_one_sync_before_the_manifest(
        make_job: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No fsync per document: every document is written without one, then the output folder
    is synced once, before the manifest that lists them is written (durably)."""
    from docgen.files import OutputFolder

    events: list[tuple[str, bool]] = []
    write, sync = OutputFolder.write, OutputFolder.sync

    def recording_write(self: OutputFolder, relative: str, data: bytes, *,
                        durable: bool = True) -> str:
        events.append((relative, durable))
        return write(self, relative, data, durable=durable)

    def recording_sync(self: OutputFolder) -> None:
        events.append(("sync", True))
        sync(self)

    monkeypatch.setattr(OutputFolder, "write", recording_write)
    monkeypatch.setattr(OutputFolder, "sync", recording_sync)
    code, lines = run(make_job(), tmp_path / "out", jobs=1)
    assert code == 0
    documents = {line["path"] for line in lines if line["status"] == "ok"}
    written = [(n, durable) for n, (name, durable) in enumerate(events) if name in documents]
    assert len(written) == len(documents) == 4 and not any(d for _, d in written)
    synced = events.index(("sync", True))
    assert events.count(("sync", True)) == 1 and synced > max(n for n, _ in written)
    assert events.index(("manifest.csv", True)) > synced
