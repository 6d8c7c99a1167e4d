"""DOCX -> PDF with a real LibreOffice (and a fake one for hangs and crashes)."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
from docx import Document
from docx.enum.text import WD_BREAK
from pypdf import PdfReader

from docgen.convert import convert_to_pdf, export_filter, find_soffice
from docgen.errors import (
    ConversionError,
    ConversionTimeoutError,
    LibreOfficeMissingError,
    PdfVariantError,
)

NAMES = ["Niccolò D'Angelo", "Mariù Lucà", "Giulia Bianchi"]


@pytest.fixture
def soffice() -> Path:
    """The real LibreOffice; missing is a failure unless DOCGEN_SKIP_LIBREOFFICE=1."""
    if os.environ.get("DOCGEN_SKIP_LIBREOFFICE") == "1":
        pytest.skip("DOCGEN_SKIP_LIBREOFFICE=1")
    try:
        return find_soffice()
    except LibreOfficeMissingError as err:
        pytest.fail(f"{err} (set DOCGEN_SKIP_LIBREOFFICE=1 to skip these tests)")


def write_docx(path: Path, text: str, pages: int = 1) -> Path:
    """A Word document with ``text`` on each of ``pages`` pages."""
    path.parent.mkdir(parents=True, exist_ok=True)
    doc = Document()
    for page in range(pages):
        paragraph = doc.add_paragraph(f"Si attesta che {text} ha frequentato il corso (pagina {page + 1}).")
        if page < pages - 1:
            paragraph.add_run().add_break(WD_BREAK.PAGE)
    doc.save(path)
    return path


def pdf_text(path: Path) -> str:
    """All the text a reader sees in a PDF."""
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def leftover_processes(marker: Path) -> list[psutil.Process]:
    """Live processes whose command line mentions ``marker`` (our private profile lives there)."""
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if str(marker) in cmdline and process.info["status"] != psutil.STATUS_ZOMBIE:
            found.append(process)
    return found


def test_find_soffice_with_empty_path_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """No LibreOffice on PATH: a fatal error that names the Debian package."""
    monkeypatch.setenv("PATH", "")
    monkeypatch.delenv("DOCGEN_SOFFICE", raising=False)
    with pytest.raises(LibreOfficeMissingError, match="apt-get install libreoffice-writer-nogui") as info:
        find_soffice()
    assert info.value.exit_code == 2


def test_find_soffice_rejects_a_missing_configured_program(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    """DOCGEN_SOFFICE pointing nowhere is reported by name."""
    monkeypatch.setenv("DOCGEN_SOFFICE", str(tmp_path / "nope"))
    with pytest.raises(LibreOfficeMissingError, match="DOCGEN_SOFFICE"):
        find_soffice()


def test_export_filter_maps_variants_to_libreoffice_versions() -> None:
    """PDF/A variants become SelectPdfVersion; None is plain PDF; unknown is refused."""
    options = json.loads(export_filter("pdf/a-3u").split(":", 2)[2])
    assert options["SelectPdfVersion"] == {"type": "long", "value": "3"}
    assert json.loads(export_filter("PDF/A-1b").split(":", 2)[2])["SelectPdfVersion"]["value"] == "1"
    assert export_filter(None) == export_filter("none") == "pdf:writer_pdf_Export"
    with pytest.raises(PdfVariantError, match="pdf/a-4"):
        export_filter("pdf/a-4")


def test_batch_in_two_folders_with_equal_names(soffice: Path, tmp_path: Path) -> None:
    """Same-named files in two folders each get their own PDF/A with their own text."""
    docs = [
        write_docx(tmp_path / "Monteriggioni" / "attestato.docx", NAMES[0], pages=2),
        write_docx(tmp_path / "Sesto" / "attestato.docx", NAMES[1]),
        write_docx(tmp_path / "Monteriggioni" / "lettera.docx", NAMES[2]),
    ]
    done: list[Path] = []
    results = convert_to_pdf(docs, pdf_variant="pdf/a-3u", on_done=lambda d, r: done.append(d),
                             workdir=tmp_path)
    assert sorted(done) == sorted(docs)
    for doc, name, pages in zip(docs, NAMES, (2, 1, 1), strict=True):
        assert results[doc] == doc.with_suffix(".pdf")
        reader = PdfReader(results[doc])
        assert len(reader.pages) == pages
        assert name in pdf_text(results[doc])
        assert reader.xmp_metadata is not None
        assert reader.xmp_metadata.pdfaid_part == "3"
        assert reader.xmp_metadata.pdfaid_conformance == "B"
    assert NAMES[1] not in pdf_text(docs[0].with_suffix(".pdf"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Monteriggioni", "Sesto"]


def test_plain_pdf_has_no_pdfa_marker(soffice: Path, tmp_path: Path) -> None:
    """pdf_variant=None gives a PDF without the pdfaid part."""
    doc = write_docx(tmp_path / "lettera.docx", NAMES[0])
    pdf = convert_to_pdf([doc], pdf_variant=None)[doc]
    assert isinstance(pdf, Path)
    assert NAMES[0] in pdf_text(pdf)
    xmp = PdfReader(pdf).xmp_metadata
    assert xmp is None or xmp.pdfaid_part is None


def test_corrupt_docx_fails_alone(soffice: Path, tmp_path: Path) -> None:
    """A corrupt DOCX and a text file named .docx fail; the documents around them convert."""
    good = [write_docx(tmp_path / f"doc{i}.docx", name) for i, name in enumerate(NAMES[:2])]
    corrupt = tmp_path / "rotto.docx"
    corrupt.write_bytes(b"PK\x03\x04 this is not a zip archive")
    text = tmp_path / "testo.docx"
    text.write_text("Niccolò, not a Word document", encoding="utf-8")
    results = convert_to_pdf([good[0], corrupt, text, good[1]], pdf_variant="pdf/a-2b")
    for bad in (corrupt, text):
        assert isinstance(results[bad], ConversionError)
        assert "could not read" in str(results[bad])
        assert str(bad) in str(results[bad])
        assert not bad.with_suffix(".pdf").exists()
    for doc, name in zip(good, NAMES, strict=False):
        assert results[doc] == doc.with_suffix(".pdf")
        assert name in pdf_text(doc.with_suffix(".pdf"))
        assert PdfReader(doc.with_suffix(".pdf")).xmp_metadata.pdfaid_part == "2"


def test_real_conversion_over_time_is_killed(soffice: Path, tmp_path: Path) -> None:
    """A tiny time limit fails every document as a timeout and leaves no LibreOffice running."""
    docs = [write_docx(tmp_path / f"doc{i}.docx", name) for i, name in enumerate(NAMES)]
    results = convert_to_pdf(docs, timeout=0.01, startup_timeout=0.01, workdir=tmp_path)
    assert all(isinstance(results[d], ConversionTimeoutError) for d in docs)
    assert "was stopped" in str(results[docs[0]])
    assert leftover_processes(tmp_path) == []
    assert not list(tmp_path.glob("docgen-convert-*"))
    assert not list(tmp_path.glob("*.pdf"))


FAKE_SOFFICE = """\
#!{python}
# A stand-in for soffice: HANG files start a child that sleeps, CRASH files exit 1,
# anything else becomes a tiny PDF in --outdir, marked PDF/A when asked (unless FAKE_OLD is set,
# like a LibreOffice older than 7.4 that ignores JSON filter options).
import os, subprocess, sys
args = sys.argv[1:]
outdir = args[args.index("--outdir") + 1]
pdfa = "SelectPdfVersion" in args[args.index("--convert-to") + 1] and not os.environ.get("FAKE_OLD")
for name in args[args.index("--outdir") + 2:]:
    content = open(name, "rb").read()
    if b"HANG" in content:
        child = subprocess.Popen(["sleep", "300"])
        with open(os.environ["FAKE_PIDS"], "a") as log:
            log.write(f"{{os.getpid()}} {{child.pid}}\\n")
        child.wait()
    if b"CRASH" in content:
        sys.exit(1)
    stem = os.path.splitext(os.path.basename(name))[0]
    # A real (tiny) PDF, as docgen normalises what LibreOffice wrote with pikepdf; the input's
    # bytes are a string in it, and PDF/A gets an XMP pdfaid mark and an output intent.
    xmp = b"<x:xmpmeta><pdfaid:part>3</pdfaid:part><xmp:CreateDate>now</xmp:CreateDate></x:xmpmeta>"
    marks = b"/Metadata 3 0 R /OutputIntents [<< /Type /OutputIntent /S /GTS_PDFA1 >>]" if pdfa else b""
    objects = [b"<< /Type /Catalog /Pages 2 0 R /Docgen (" + content + b") " + marks + b" >>",
               b"<< /Type /Pages /Kids [] /Count 0 >>",
               b"<< /Type /Metadata /Subtype /XML /Length %d >>\\nstream\\n" % len(xmp) + xmp
               + b"\\nendstream"][:3 if pdfa else 2]
    data, offsets = b"%PDF-1.4\\n", []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(data))
        data += b"%d 0 obj\\n" % number + body + b"\\nendobj\\n"
    xref = len(data)
    data += b"xref\\n0 %d\\n0000000000 65535 f \\n" % (len(objects) + 1)
    data += b"".join(b"%010d 00000 n \\n" % o for o in offsets)
    data += b"trailer\\n<< /Size %d /Root 1 0 R >>\\nstartxref\\n%d\\n%%%%EOF\\n" % (len(objects) + 1, xref)
    with open(os.path.join(outdir, stem + ".pdf"), "wb") as pdf:
        pdf.write(data)
"""


@pytest.fixture
def fake_soffice(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fake soffice on DOCGEN_SOFFICE; returns the file where it logs its sleeping processes."""
    program = tmp_path / "fake-soffice"
    program.write_text(textwrap.dedent(FAKE_SOFFICE.format(python=sys.executable)))
    program.chmod(0o755)
    pids = tmp_path / "pids.txt"
    monkeypatch.setenv("DOCGEN_SOFFICE", str(program))
    monkeypatch.setenv("FAKE_PIDS", str(pids))
    return pids


def test_hung_document_fails_alone_and_its_processes_are_killed(fake_soffice: Path,
                                                                 tmp_path: Path) -> None:
    """The file that hangs is a timeout failure; the batch goes on; soffice and its child die."""
    docs = []
    for name, content in (("a", b"uno"), ("b", b"HANG"), ("c", b"tre"), ("d", b"quattro")):
        docs.append(tmp_path / "in" / f"{name}.docx")
        docs[-1].parent.mkdir(exist_ok=True)
        docs[-1].write_bytes(content)
    results = convert_to_pdf(docs, timeout=1.0, startup_timeout=1.0, workdir=tmp_path)
    assert isinstance(results[docs[1]], ConversionTimeoutError)
    assert str(docs[1]) in str(results[docs[1]])
    for doc in (docs[0], docs[2], docs[3]):
        assert results[doc] == doc.with_suffix(".pdf")
        assert doc.read_bytes() in doc.with_suffix(".pdf").read_bytes()
    # Killed twice: in the batch, then alone; every soffice and sleeping child is gone.
    pids = [int(p) for line in fake_soffice.read_text().splitlines() for p in line.split()]
    assert len(pids) == 4
    for pid in pids:
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_crashing_process_fails_only_its_document(fake_soffice: Path, tmp_path: Path) -> None:
    """LibreOffice exiting with an error mid-batch fails the document it was on; the rest convert."""
    docs = []
    for name, content in (("a", b"uno"), ("b", b"CRASH"), ("c", b"tre")):
        docs.append(tmp_path / f"{name}.docx")
        docs[-1].write_bytes(content)
    results = convert_to_pdf(docs, workdir=tmp_path)
    assert isinstance(results[docs[1]], ConversionError)
    assert "exit code 1" in str(results[docs[1]])
    assert results[docs[0]] == docs[0].with_suffix(".pdf")
    assert results[docs[2]] == docs[2].with_suffix(".pdf")


def test_unreadable_input_is_that_documents_failure(fake_soffice: Path, tmp_path: Path) -> None:
    """A DOCX that vanished before conversion fails alone, without stopping the others."""
    present = tmp_path / "a.docx"
    present.write_bytes(b"uno")
    missing = tmp_path / "gone.docx"
    results = convert_to_pdf([missing, present], workdir=tmp_path)
    assert isinstance(results[missing], ConversionError)
    assert results[present] == present.with_suffix(".pdf")


def test_unknown_variant_is_refused_before_anything_runs(fake_soffice: Path, tmp_path: Path) -> None:
    """An unusable pdf_variant is a fatal error, not a per-document failure."""
    doc = tmp_path / "a.docx"
    doc.write_bytes(b"uno")
    with pytest.raises(PdfVariantError) as info:
        convert_to_pdf([doc], pdf_variant="pdf/x-1a")
    assert info.value.exit_code == 2
    assert not fake_soffice.exists()
    assert not doc.with_suffix(".pdf").exists()


def test_pdfa_ignored_by_an_old_libreoffice_is_a_failure(fake_soffice: Path, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """A plain PDF where PDF/A was asked for is not passed off as PDF/A."""
    monkeypatch.setenv("FAKE_OLD", "1")
    doc = tmp_path / "a.docx"
    doc.write_bytes(b"uno")
    error = convert_to_pdf([doc], workdir=tmp_path)[doc]
    assert isinstance(error, ConversionError)
    assert "7.4" in str(error)
    assert not doc.with_suffix(".pdf").exists()
    assert convert_to_pdf([doc], pdf_variant=None, workdir=tmp_path)[doc] == doc.with_suffix(".pdf")


def test_same_docx_converted_twice_gives_the_same_bytes(soffice: Path, tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """LibreOffice's dates, IDs and profile time are set from the build: two conversions of
    one DOCX, seconds apart, are byte-identical and still PDF/A with the build's date."""
    import time

    import pikepdf

    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1772409600")  # 2026-03-02 00:00 UTC
    first = write_docx(tmp_path / "a" / "lettera.docx", NAMES[0])
    second = tmp_path / "b" / "lettera.docx"
    second.parent.mkdir()
    second.write_bytes(first.read_bytes())
    assert convert_to_pdf([first], pdf_variant="pdf/a-2b", workdir=tmp_path)[first] == \
        first.with_suffix(".pdf")
    time.sleep(1.1)  # LibreOffice stamps the time to the second
    convert_to_pdf([second], pdf_variant="pdf/a-2b", workdir=tmp_path)
    data = first.with_suffix(".pdf").read_bytes()
    assert data == second.with_suffix(".pdf").read_bytes()
    reader = PdfReader(first.with_suffix(".pdf"))
    assert reader.xmp_metadata.pdfaid_part == "2"
    assert NAMES[0] in pdf_text(first.with_suffix(".pdf"))
    with pikepdf.open(first.with_suffix(".pdf")) as pdf:
        assert str(pdf.docinfo["/CreationDate"]) == "D:20260302000000Z"
        assert b"<xmp:CreateDate>2026-03-02T00:00:00Z<" in pdf.Root.Metadata.read_bytes()
        assert len(pdf.Root.OutputIntents) == 1
        icc = pdf.Root.OutputIntents[0].DestOutputProfile.read_bytes()
        assert icc[24:30] == bytes([0x07, 0xEA, 0, 3, 0, 2])  # 2026-03-02 in the ICC header
        assert bytes(pdf.trailer.ID[0]) == bytes(pdf.trailer.ID[1])
