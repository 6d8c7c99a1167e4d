"""Sealed documents from real templates (WeasyPrint, docxtpl, LibreOffice) and docgen verify,
on genuine and tampered files."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pikepdf
import pypdfium2
import pytest
import zxingcpp
from click.testing import CliRunner
from docx import Document
from pypdf import PdfReader

from docgen.build import build
from docgen.cli import cli
from docgen.job import load_job
from docgen.plan import make_plan
from docgen.seal.keys import load_signing_key, new_key
from docgen.seal.payload import open_seal
from docgen.seal.qr import HTML_PIXELS, SealMark, make_qr
from docgen.seal.verify import _xmp, verify
from docgen.seal.xmp import insert_payload, read_payload
from tests.conftest import HEADER, WORKERS, write_xlsx
from tests.helpers import manifest

EPOCH = "1781481600"  # 2026-06-15
HTML = """\
<!doctype html>
<html lang="it"><head><meta charset="utf-8">
<style>@page { size: A4; margin: 2cm } body { font-family: "DejaVu Sans", sans-serif }</style>
</head><body>
<h1>ATTESTATO DI FREQUENZA</h1>
<p>Si attesta che</p>
<p class="nome">{{ nome }}</p>
<p class="cognome">{{ cognome }}</p>
<p>C.F. {{ codice_fiscale }}, {{ ore_frequentate | number }} ore.</p>
{{ seal }}
</body></html>
"""
JOB = """\
[job]
id = "seal-test"
roster = "roster.xlsx"
key = "codice_fiscale"
optional = ["note"]

[job.seal]
key = "keys/ente-2026.key"
issuer = "{{ course.provider }}"
fields = ["cognome", "nome", "codice_fiscale"]

[course]
provider = "Ente di prova"
hours = 120

[[document]]
name = "attestato"
template = "templates/attestato.html"
filename = "{{ codice_fiscale }}/attestato.pdf"

[[document]]
name = "lettera"
template = "templates/lettera.docx"
filename = "{{ codice_fiscale }}/lettera.docx"
pdf = true
"""


@dataclass(frozen=True)
class Sealed:
    """A sealed build: the job file, its keys folder and its output folder."""

    job: Path
    keys: Path
    out: Path

    def pdf(self, number: int, document: str = "attestato") -> Path:
        return self.out / str(WORKERS[number][2]) / f"{document}.pdf"


def write_lettera(path: Path) -> None:
    doc = Document()
    doc.add_heading("Lettera di qualifica", level=1)
    doc.add_paragraph("Gentile {{ nome }} {{ cognome }}, C.F. {{ codice_fiscale }}.")
    doc.add_paragraph("{{ seal }}")
    doc.save(path)


def write_job(folder: Path, html: str = HTML, job: str = JOB) -> Path:
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "templates" / "attestato.html").write_text(html, encoding="utf-8")
    write_lettera(folder / "templates" / "lettera.docx")
    write_xlsx(folder / "roster.xlsx", HEADER, WORKERS)
    if not (folder / "keys" / "ente-2026.key").exists():
        new_key("ente-2026", folder / "keys", issuer="Ente di prova")
    (folder / "job.toml").write_text(job, encoding="utf-8")
    return folder / "job.toml"


@pytest.fixture(scope="module")
def sealed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Sealed]:
    """One real build of the sealed job (three workers, HTML and Word + LibreOffice PDF)."""
    folder = tmp_path_factory.mktemp("sealed")
    job_file = write_job(folder)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        patch.delenv("DOCGEN_SEAL_KEY", raising=False)
        report = build(load_job(job_file), folder / "out", jobs=1)
    assert report.exit_code == 0, [o.message for o in report.failed]
    yield Sealed(job_file, folder / "keys", folder / "out")


@pytest.fixture
def copy(sealed: Sealed, tmp_path: Path) -> Sealed:
    """The sealed build's output and keys, copied for a test to tamper with."""
    shutil.copytree(sealed.out, tmp_path / "out")
    shutil.copytree(sealed.keys, tmp_path / "keys")
    return Sealed(sealed.job, tmp_path / "keys", tmp_path / "out")


def run_verify(*args: str) -> object:
    return CliRunner().invoke(cli, ["verify", *args])


def qr_texts(path: Path, dpi: int = 150) -> list[str]:
    document = pypdfium2.PdfDocument(path)
    texts = []
    for page in document:
        image = page.render(scale=dpi / 72).to_pil()
        texts += [r.text for r in zxingcpp.read_barcodes(image)]
    document.close()
    return texts


def test_sealed_html_and_word_pdfs_verify_valid(sealed: Sealed) -> None:
    """Every PDF of the build (WeasyPrint's and LibreOffice's) is valid, with the worker's
    data, the issuer and the build date; exit 0."""
    result = run_verify(str(sealed.out), "--keys", str(sealed.keys), "--job", str(sealed.job))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    valid = [line for line in lines if line.startswith("valid: ")]
    assert len(valid) == 2 * len(WORKERS), result.stdout
    for surname, name, code, *_ in WORKERS:
        for document in ("attestato", "lettera"):
            assert any(f"/{code}/{document}.pdf: {document}, {surname} {name} {code}, issued "
                       "15/06/2026 by Ente di prova" in line for line in valid), (code, document)
    assert lines[-1] == "6 valid, 0 invalid"


def test_the_qr_code_on_the_page_holds_the_payload_of_the_metadata(sealed: Sealed) -> None:
    """Rendered with pdfium, each page's QR code (level Q, version <= 12) decodes with
    zxing-cpp to the payload in the PDF's XMP, from HTML and from Word alike."""
    for path in (sealed.pdf(0), sealed.pdf(0, "lettera")):
        in_metadata = read_payload(_xmp(path.read_bytes()))
        assert in_metadata and in_metadata.startswith("DG1:")
        assert qr_texts(path) == [in_metadata]
        code = make_qr(in_metadata, None)
        assert code.error == "Q" and code.version <= 12
    # In the HTML PDF the code is an image drawn without smoothing, so its modules stay sharp.
    page = PdfReader(sealed.pdf(0)).pages[0]
    images = [x.get_object() for x in page["/Resources"]["/XObject"].values()]
    [qr] = [x for x in images if x["/Width"] == x["/Height"] == code.modules * HTML_PIXELS]
    assert qr["/Interpolate"].value is False
    record = open_seal(read_payload(_xmp(sealed.pdf(1).read_bytes())) or "").record
    assert record.fields == ("Lucà", "Mariù", "LCUMRA85C52D612B")
    assert record.document == "attestato" and str(record.issued) == "2026-06-15"


def test_the_word_document_shows_the_code_image_and_the_document_code(sealed: Sealed) -> None:
    """The DOCX carries the seal as an inline picture with the document code under it."""
    docx = Document(str(sealed.out / str(WORKERS[0][2]) / "lettera.docx"))
    assert len(docx.inline_shapes) == 1
    text = "\n".join(p.text for p in docx.paragraphs)
    record = open_seal(read_payload(_xmp(sealed.pdf(0, "lettera").read_bytes())) or "").record
    assert f"Codice documento: {record.code}" in text


def test_the_document_id_is_stable_and_sealed_html_pdfs_are_byte_identical(
        sealed: Sealed, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same inputs give the same sealed HTML PDFs, byte for byte, and the same ids."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    report = build(load_job(sealed.job).select(("attestato",)), tmp_path / "again", jobs=1)
    assert report.exit_code == 0
    for line in manifest(tmp_path / "again"):
        original = sealed.out / line["path"]
        assert hashlib.sha256(original.read_bytes()).hexdigest() == line["sha256"], line["path"]


def test_sealed_libreoffice_pdfs_are_byte_identical(sealed: Sealed, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The same Word documents, converted again and sealed again, give the same PDF bytes
    (the seal's metadata is added without QPDF stamping a new /ID)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    report = build(load_job(sealed.job).select(("lettera",)), tmp_path / "again", jobs=1)
    assert report.exit_code == 0
    pdfs = [line for line in manifest(tmp_path / "again") if line["path"].endswith(".pdf")]
    assert pdfs
    for line in pdfs:
        original = sealed.out / line["path"]
        assert hashlib.sha256(original.read_bytes()).hexdigest() == line["sha256"], line["path"]


def test_check_refuses_a_sealed_document_whose_template_has_no_seal(tmp_path: Path) -> None:
    """docgen check (and so build) stops with exit 2 when a sealed template lacks {{ seal }},
    and when an unsealed document's template uses it."""
    job = write_job(tmp_path, html=HTML.replace("{{ seal }}", ""))
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 2
    assert "the document is sealed but its template has no {{ seal }}" in result.stdout
    unsealed = JOB.replace('fields = ["cognome"', 'documents = ["lettera"]\nfields = ["cognome"')
    write_job(tmp_path, job=unsealed)
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 2
    assert "uses {{ seal }} but the document is not sealed" in result.stdout


def test_check_names_a_missing_key_and_an_unknown_sealed_field(tmp_path: Path) -> None:
    """A missing key file and a sealed field no column gives are reported before anything
    is written."""
    job = write_job(tmp_path, job=JOB.replace("ente-2026.key", "missing.key")
                    .replace('"codice_fiscale"]', '"codice_fiscal"]'))
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 2
    assert "seal key not found" in result.stdout
    assert "'codice_fiscal', which no column gives" in result.stdout


# --- tampering ------------------------------------------------------------------------------

def _to_unicode(font: pikepdf.Object) -> dict[bytes, str]:
    """A font's character codes -> text, from its ToUnicode CMap."""
    cmap = font.ToUnicode.read_bytes().decode("latin-1")
    mapping: dict[bytes, str] = {}
    for block in re.findall(r"beginbfchar(.*?)endbfchar", cmap, re.S):
        for src, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
            mapping[bytes.fromhex(src)] = bytes.fromhex(dst).decode("utf-16-be")
    for block in re.findall(r"beginbfrange(.*?)endbfrange", cmap, re.S):
        for low, high, dst in re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>",
                                         block):
            for n in range(int(low, 16), int(high, 16) + 1):
                mapping[n.to_bytes(len(low) // 2, "big")] = chr(int(dst, 16) + n - int(low, 16))
    return mapping


def reverse_printed_word(path: Path, word: str) -> None:
    """Edit the page's content stream so that ``word`` prints reversed (a changed name)."""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        page = pdf.pages[0]
        fonts = {str(name): _to_unicode(font) for name, font in page.Resources.Font.items()
                 if "/ToUnicode" in font}
        font: dict[bytes, str] | None = None
        changed = 0
        instructions = []
        for operands, operator in pikepdf.parse_content_stream(page):
            if str(operator) == "Tf":
                font = fonts.get(str(operands[0]))
            if str(operator) in ("Tj", "TJ") and font:
                strings = [bytes(s) for s in (operands[0] if str(operator) == "TJ" else operands)
                           if isinstance(s, pikepdf.String)]
                width = len(next(iter(font)))
                codes = [c for s in strings for c in (s[i:i + width] for i in range(0, len(s), width))]
                if "".join(font.get(c, "") for c in codes).strip() == word:
                    operands, operator = [pikepdf.String(b"".join(reversed(codes)))], pikepdf.Operator("Tj")
                    changed += 1
            instructions.append((operands, operator))
        assert changed, f"{word!r} not found in the content stream"
        page.Contents = pdf.make_stream(pikepdf.unparse_content_stream(instructions))
        pdf.save(path)


def test_a_name_changed_in_the_content_stream_is_invalid(copy: Sealed) -> None:
    """Editing the printed surname in the PDF's content stream: INVALID, naming the field;
    exit 1."""
    path = copy.pdf(2)
    reverse_printed_word(path, "Bianchi")
    result = run_verify(str(path), "--keys", str(copy.keys), "--job", str(copy.job))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"INVALID: {path}: text differs from the seal in field "
                                    "'cognome': 'Bianchi' is not printed on the page")


def test_two_workers_files_swapped_are_not_this_builds_files(copy: Sealed) -> None:
    """Each swapped file is a genuine document, so alone it is valid; against the build's
    manifest both are INVALID; exit 1."""
    first, second = copy.pdf(0), copy.pdf(1)
    data = first.read_bytes()
    first.write_bytes(second.read_bytes())
    second.write_bytes(data)
    alone = run_verify(str(first), "--keys", str(copy.keys), "--job", str(copy.job))
    assert alone.exit_code == 0 and "Lucà Mariù" in alone.stdout
    result = run_verify(str(first), str(second), "--keys", str(copy.keys), "--job", str(copy.job),
                        "--manifest", str(copy.out / "manifest.csv"))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert all("not this build's file (its sha256 differs" in line for line in lines[:2]), lines


def test_a_seal_made_with_an_unknown_key_is_invalid(sealed: Sealed, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """A document sealed with another key (DOCGEN_SEAL_KEY overrides the job's) is INVALID
    against the job's keys: unknown key."""
    other, _ = new_key("intruso", tmp_path / "other")
    monkeypatch.setenv("DOCGEN_SEAL_KEY", str(other))
    report = build(load_job(sealed.job).select(("attestato",)), tmp_path / "out", jobs=1)
    assert report.exit_code == 0
    monkeypatch.delenv("DOCGEN_SEAL_KEY")
    path = tmp_path / "out" / str(WORKERS[0][2]) / "attestato.pdf"
    result = run_verify(str(path), "--keys", str(sealed.keys), "--job", str(sealed.job))
    assert result.exit_code == 1
    assert f"INVALID: {path}: unknown key" in result.stdout


def test_a_payload_cut_short_is_invalid(sealed: Sealed, tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """A document whose printed code and metadata hold a truncated payload: INVALID, damaged."""
    from docgen.tasks import Renderers

    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    job = load_job(sealed.job).select(("attestato",))
    item = make_plan(job).due[0]
    mark = item.context["seal"]  # type: ignore[index]
    cut = SealMark(payload=mark.payload[:-30], code=mark.code)
    path = tmp_path / "cut.pdf"
    path.write_bytes(Renderers(job).get("attestato").render({**item.context, "seal": cut}))
    result = run_verify(str(path), "--keys", str(sealed.keys), "--job", str(sealed.job))
    assert result.exit_code == 1
    assert f"INVALID: {path}: damaged seal" in result.stdout


def test_metadata_that_disagrees_with_the_printed_code_is_invalid(copy: Sealed) -> None:
    """Another worker's genuine payload put into the XMP: the two seals differ, INVALID."""
    path, other = copy.pdf(0), copy.pdf(1)
    foreign = read_payload(_xmp(other.read_bytes())) or ""
    with pikepdf.open(path, allow_overwriting_input=True) as pdf:
        packet = pdf.Root.Metadata.read_bytes()
        start = packet.index(b"<rdf:Description xmlns:rdf")  # ours: the schema, then the payload
        packet = packet[:start] + packet[packet.index(b"</rdf:RDF>"):]
        pdf.Root.Metadata.write(insert_payload(packet, foreign))
        pdf.save(path)
    result = run_verify(str(path), "--keys", str(copy.keys), "--job", str(copy.job))
    assert result.exit_code == 1
    assert "the QR code and the metadata hold different seals" in result.stdout


def test_a_revoked_document_is_invalid_and_a_forged_list_unusable(copy: Sealed) -> None:
    """docgen revoke signs revoked.json beside the key; verify then says revoked with the
    reason (exit 1); a hand-edited list is refused (exit 2)."""
    path = copy.pdf(0)
    code = open_seal(read_payload(_xmp(path.read_bytes())) or "").record.code
    runner = CliRunner()
    result = runner.invoke(cli, ["revoke", code.lower().replace("-", ""), "--reason",
                                 "rilasciato per errore", "--key", str(copy.keys / "ente-2026.key")])
    assert result.exit_code == 0, result.output
    revoked = json.loads((copy.keys / "revoked.json").read_text())
    assert revoked["revoked"][0]["id"] == code
    result = run_verify(str(copy.out), "--keys", str(copy.keys), "--job", str(copy.job))
    assert result.exit_code == 1
    assert f"INVALID: {path}: revoked on " in result.stdout
    assert f"rilasciato per errore (document {code})" in result.stdout
    valid = [line for line in result.stdout.splitlines() if line.startswith("valid: ")]
    assert len(valid) == 2 * len(WORKERS) - 1  # the worker's letter has an id of its own
    revoked["revoked"][0]["id"] = "0000-0000-0000-0000"
    (copy.keys / "revoked.json").write_text(json.dumps(revoked))
    forged = run_verify(str(copy.out), "--keys", str(copy.keys), "--job", str(copy.job))
    assert forged.exit_code == 2
    assert "not signed by a known key" in forged.stderr


def test_verify_without_a_seal_and_unusable_input(copy: Sealed, tmp_path: Path) -> None:
    """A named PDF without a seal is INVALID (exit 1); one found in a folder is listed as
    unsealed; a path that does not exist is unusable input (exit 2)."""
    plain = tmp_path / "plain.pdf"
    import weasyprint

    weasyprint.HTML(string="<p>Gentile Mario Rossi</p>").write_pdf(plain)
    result = run_verify(str(plain), "--keys", str(copy.keys), "--job", str(copy.job))
    assert result.exit_code == 1
    assert result.stdout.startswith(f"INVALID: {plain}: no seal")
    shutil.copy(plain, copy.out / "plain.pdf")
    folder = run_verify(str(copy.out), "--keys", str(copy.keys), "--job", str(copy.job))
    assert folder.exit_code == 0
    assert "unsealed: " in folder.stdout and "1 without a seal" in folder.stdout
    missing = run_verify(str(tmp_path / "nope.pdf"), "--keys", str(copy.keys))
    assert missing.exit_code == 2 and "no such file or folder" in missing.stderr
    no_keys = run_verify(str(plain), "--job", str(tmp_path / "none.toml"))
    assert no_keys.exit_code == 2 and "no keys given" in no_keys.stderr


def test_verify_report_names_the_reason_for_each_file(copy: Sealed) -> None:
    """The library call returns one verdict per PDF with its record."""
    report = verify([copy.out], copy.keys, field_names=("cognome", "nome", "codice_fiscale"))
    assert report.exit_code == 0
    assert {v.record.document for v in report.verdicts if v.record} == {"attestato", "lettera"}


def test_keys_publish_writes_a_self_contained_page(copy: Sealed, tmp_path: Path) -> None:
    """docgen keys publish writes index.html with every script inline (noble-ed25519 with
    its licence header) and keys.json with the public key; never into an output folder."""
    runner = CliRunner()
    result = runner.invoke(cli, ["keys", "publish", "--dir", str(tmp_path / "verifica"),
                                 "--keys", str(copy.keys)])
    assert result.exit_code == 0, result.output
    page = (tmp_path / "verifica" / "index.html").read_text()
    assert "<script src" not in page and "noble-ed25519 - MIT License" in page
    assert not re.search(r"""(src|href)=["']https?:""", page)
    keys = json.loads((tmp_path / "verifica" / "keys.json").read_text())
    kid = load_signing_key(copy.keys / "ente-2026.key").kid
    from docgen.seal.keys import b64url

    assert [k["kid"] for k in keys["keys"]] == [b64url(kid)]
    refused = runner.invoke(cli, ["keys", "publish", "--dir", str(copy.out / "verifica"),
                                  "--keys", str(copy.keys)])
    assert refused.exit_code == 2 and "inside the output folder" in refused.stderr


def test_job_file_seal_settings_are_checked(tmp_path: Path) -> None:
    """A typo in [job.seal], a batch document or an unknown one listed: each named, exit 2."""
    job = write_job(tmp_path, job=textwrap.dedent(JOB).replace("issuer =", "isuer =")
                    .replace("[course]", 'documents = ["attestato", "elenco", "nessuno"]\n[course]')
                    + '[[document]]\nname = "elenco"\ntemplate = "templates/attestato.html"\n'
                      'scope = "batch"\n')
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert result.exit_code == 2
    assert "unknown key 'isuer' in [job.seal]" in result.stdout
    assert "a batch document cannot be sealed" in result.stdout
    assert "names 'nessuno', which is not a [[document]]" in result.stdout
    assert "not sealed" not in result.stdout  # no echo of the first problems


def test_by_default_every_per_row_document_giving_a_pdf_is_sealed(tmp_path: Path) -> None:
    """Without documents, [job.seal] seals the HTML documents and the Word ones with
    pdf = true, never a batch document; printed values follow the locale."""
    from docgen.seal.settings import Sealer, seal_settings

    job_text = JOB + """
[[document]]
name = "elenco"
template = "templates/attestato.html"
scope = "batch"
"""
    job = load_job(write_job(tmp_path, job=job_text))
    problems: list = []
    settings = seal_settings(job, problems)
    assert problems == [] and settings is not None
    assert settings.documents == ("attestato", "lettera")
    sealer = Sealer(job, settings, load_signing_key(settings.key), "Ente")
    assert [sealer.printed(v) for v in (dt.date(2026, 3, 2), 72.5, 1234, " Rossi ")] == [
        "02/03/2026", "72,5", "1.234", "Rossi"]
