"""PDF from Word templates through a real LibreOffice, PDF/A and properties, bundles,
and byte-identical re-runs."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from pypdf import PdfReader

from docgen.cli import cli
from tests.helpers import check_hashes, manifest, pdf_text

LETTER_PDF = """
    [[document]]
    name = "attestato"
    template = "templates/attestato.html"
    title = "Attestato – {{ nome }} {{ cognome }}"

    [[document]]
    name = "lettera"
    template = "templates/lettera.docx"
    filename = "{{ cognome }}_{{ nome }}/lettera.docx"
    when = "esito_esame == 'idoneo'"
    pdf = true
"""
METADATA = """
[job.metadata]
author = "Formazione Valdelsa"
subject = "{{ course.title }}"
"""


def build(job: Path, out: Path, *extra: str) -> tuple[int, str, list[dict[str, str]]]:
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1", *extra])
    assert "Traceback" not in result.output, result.output
    lines = manifest(out) if (out / "manifest.csv").exists() else []
    return result.exit_code, result.output, lines


def test_word_documents_also_become_pdf(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """pdf = true: a PDF next to the DOCX, with the accented text, its own manifest line."""
    out, job = tmp_path / "out", make_job(documents=LETTER_PDF)
    code, output, lines = build(job, out)
    assert code == 0, output
    assert "of which 1 PDF(s) converted from Word documents" in output
    pdf_line = next(line for line in lines if line["path"].endswith("lettera.pdf"))
    assert pdf_line["source"] == "D'Angelo_Niccolò/lettera.docx"
    assert pdf_line["document"] == "lettera" and pdf_line["status"] == "ok"
    assert pdf_line["row"] == "2" and pdf_line["key"] == "DNGNCL80A01I726W"
    text = pdf_text(out / pdf_line["path"])
    assert "Gentile Niccolò D'Angelo" in text and "Gestione <reclami>" in text
    reader = PdfReader(out / pdf_line["path"])
    assert reader.xmp_metadata is not None and reader.xmp_metadata.pdfaid_part == "3"
    check_hashes(out)
    code, output, lines = build(job, out)
    assert {line["status"] for line in lines if line["document"] == "lettera"} == {
        "unchanged", "skipped"}


def test_converted_pdfs_get_their_thumbnails_as_they_are_converted(
        make_job: Callable[..., Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every PDF, rendered or converted by LibreOffice, has its report thumbnail once the
    documents are made, before (here: without) the report page."""
    from PIL import Image

    from docgen.thumbnails import THUMB_WIDTH, thumbnail_path

    monkeypatch.setattr("docgen.build.write_overview", lambda *args: None)
    out, job = tmp_path / "out", make_job(documents=LETTER_PDF)
    code, output, lines = build(job, out)
    assert code == 0, output
    pdfs = [line for line in lines if line["status"] == "ok" and line["path"].endswith(".pdf")]
    assert any(line["source"] for line in pdfs) and not (out / "index.html").exists()
    for line in pdfs:
        with Image.open(out / str(thumbnail_path(line["sha256"]))) as image:
            assert image.width == THUMB_WIDTH, line["path"]


def test_html_pdfs_are_pdfa_with_properties(make_job: Callable[..., Path],
                                            tmp_path: Path) -> None:
    """HTML PDFs: PDF/A-3u markers, output intent, fonts embedded, title/author/language."""
    out = tmp_path / "out"
    code, _, _ = build(make_job(documents=LETTER_PDF, extra_job=METADATA), out)
    assert code == 0
    reader = PdfReader(out / "DNGNCL80A01I726W/attestato.pdf")
    xmp = reader.xmp_metadata
    assert xmp is not None and (xmp.pdfaid_part, xmp.pdfaid_conformance) == ("3", "U")
    assert "/OutputIntents" in reader.trailer["/Root"]
    assert reader.metadata.title == "Attestato – Niccolò D'Angelo"
    assert reader.metadata.author == "Formazione Valdelsa"
    assert reader.metadata.subject == "Operatore del servizio clienti"
    assert reader.trailer["/Root"]["/Lang"] == "it"
    for page in reader.pages:
        for font in page["/Resources"]["/Font"].values():
            descriptor = font.get_object().get("/FontDescriptor") or font.get_object()[
                "/DescendantFonts"][0].get_object()["/FontDescriptor"]
            assert any(k in descriptor.get_object() for k in ("/FontFile", "/FontFile2",
                                                              "/FontFile3"))


def test_plain_pdf_when_asked(make_job: Callable[..., Path], tmp_path: Path) -> None:
    """pdf_variant = "none" gives plain PDFs, without PDF/A markers."""
    out = tmp_path / "out"
    build(make_job(documents=LETTER_PDF, extra_job='pdf_variant = "none"'), out)
    xmp = PdfReader(out / "DNGNCL80A01I726W/attestato.pdf").xmp_metadata
    assert xmp is None or xmp.pdfaid_part is None
    xmp = PdfReader(out / "D'Angelo_Niccolò/lettera.pdf").xmp_metadata
    assert xmp is None or xmp.pdfaid_part is None


def test_same_inputs_give_identical_bytes(make_job: Callable[..., Path], tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Two forced builds of the same inputs write byte-identical PDFs, DOCX and zips."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1781481600")
    job = make_job(extra_job='zip = ["per-worker", "batch"]')
    _, _, first = build(job, tmp_path / "a", "--force")
    _, _, second = build(job, tmp_path / "b", "--force")
    hashes = [(line["path"], line["sha256"]) for line in first if line["sha256"]]
    assert hashes == [(line["path"], line["sha256"]) for line in second if line["sha256"]]
    assert any(p.endswith(".pdf") for p, _ in hashes) and any(p.endswith(".docx")
                                                               for p, _ in hashes)


def test_bundles_per_worker_site_and_batch(make_job: Callable[..., Path],
                                           tmp_path: Path) -> None:
    """--zip writes the three kinds of bundle, listed in the manifest, with the documents."""
    out, job = tmp_path / "out", make_job()
    code, output, lines = build(job, out, "--zip")
    assert code == 0, output
    bundles = {line["path"]: line for line in lines if line["document"] == "bundle"}
    assert set(bundles) == {
        "bundles/per-worker/BIANCHI Giulia_BNCGLI90E41H501M.zip",
        "bundles/per-worker/D'ANGELO Niccolò_DNGNCL80A01I726W.zip",
        "bundles/per-site-field/Monteriggioni (SI).zip",
        "bundles/test-job.zip"}
    with zipfile.ZipFile(out / "bundles/per-site-field/Monteriggioni (SI).zip") as archive:
        names = sorted(archive.namelist())
        assert names == ["BNCGLI90E41H501M/attestato.pdf", "D'Angelo_Niccolò/lettera.docx",
                         "DNGNCL80A01I726W/attestato.pdf"]
        assert archive.read(names[0]) == (out / names[0]).read_bytes()
    with zipfile.ZipFile(out / "bundles/test-job.zip") as archive:
        assert "elenco.pdf" in archive.namelist()
    check_hashes(out)
    assert "of which 4 zip bundle(s) written in bundles/" in output
    _, _, again = build(job, out, "--zip")
    assert {line["status"] for line in again if line["document"] == "bundle"} == {"unchanged"}


def test_missing_libreoffice_stops_before_writing(make_job: Callable[..., Path], tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """No LibreOffice: exit 2 saying how to install it; nothing written."""
    monkeypatch.setenv("DOCGEN_SOFFICE", str(tmp_path / "no-soffice"))
    out = tmp_path / "out"
    code, output, _ = build(make_job(documents=LETTER_PDF), out)
    assert code == 2
    assert "apt-get install libreoffice-writer-nogui" in output
    assert not out.exists()
