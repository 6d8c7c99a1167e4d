"""``docgen verify``: is each PDF a genuine, unchanged, unrevoked sealed document?"""

from __future__ import annotations

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from docgen.errors import PayloadError, VerifyInputError, XmpError
from docgen.files import sha256_file
from docgen.seal.keys import PublicKey, b64url
from docgen.seal.payload import PREFIX, Record, open_seal, payload_of
from docgen.seal.revoke import Revocations
from docgen.seal.xmp import read_payload

RENDER_DPI = (150, 300)  # a second, finer look only when the first finds no code
_SPACE = re.compile(r"\s+")



@dataclass(frozen=True)
class Verdict:
    """One file's answer: valid with what the seal says, invalid with why, or unsealed."""

    path: Path
    status: str  # "valid", "INVALID", or "unsealed" (a PDF without a seal found in a folder)
    text: str  # the description (valid) or the reason (invalid)
    record: Record | None = None

    @property
    def line(self) -> str:
        return f"{self.status}: {self.path}: {self.text}"


@dataclass
class VerifyReport:
    verdicts: list[Verdict] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return 1 if any(v.status == "INVALID" for v in self.verdicts) else 0


def pdf_files(paths: Sequence[Path]) -> list[tuple[Path, bool]]:
    """Each PDF to look at, and whether it was named (True) or found in a folder."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found += [(p, False) for p in sorted(path.rglob("*")) if p.is_file()
                      and p.suffix.lower() == ".pdf" and not p.name.startswith(".")]
        elif path.is_file():
            found.append((path, True))
        else:
            raise VerifyInputError(f"no such file or folder: {path}")
    if not found:
        raise VerifyInputError(f"no PDF under {', '.join(map(str, paths))}")
    return found


def qr_payloads(data: bytes, resolutions: Sequence[int] = RENDER_DPI) -> list[str]:
    """The seal payloads of the QR codes printed on the document's pages."""
    import pypdfium2
    import zxingcpp

    document = pypdfium2.PdfDocument(data)
    try:
        for dpi in resolutions:
            found = []
            for index in range(len(document)):
                image = document[index].render(scale=dpi / 72, grayscale=True).to_pil()
                for result in zxingcpp.read_barcodes(image, formats=zxingcpp.BarcodeFormat.QRCode):
                    text = payload_of(result.text)
                    if text.startswith(PREFIX):
                        found.append(text)
            if found:
                return found
        return []
    finally:
        document.close()


def page_text(data: bytes) -> str:
    """The document's text, normalised: compatibility forms (ligatures) folded, whitespace
    runs as one space."""
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() or "" for page in reader.pages)
    return _SPACE.sub(" ", unicodedata.normalize("NFKC", text))


def _xmp(data: bytes) -> bytes | None:
    from pypdf import PdfReader

    root = PdfReader(io.BytesIO(data)).trailer["/Root"]
    metadata = root.get("/Metadata")
    return metadata.get_object().get_data() if metadata is not None else None


def printed_on(value: str, text: str) -> bool:
    """Whether a sealed value is in the text, whitespace-insensitively (a line break in a name)."""
    value = _SPACE.sub(" ", unicodedata.normalize("NFKC", value)).strip()
    return value in text or value.replace(" ", "") in text.replace(" ", "")


class Verifier:
    """Checks files against known keys, a revocation list and optionally a build's manifest."""

    def __init__(self, keys: Mapping[bytes, PublicKey], revoked: Revocations | None = None,
                 manifest: Path | None = None, field_names: Sequence[str] = ()) -> None:
        self.keys, self.revoked = keys, revoked or Revocations()
        self.field_names = tuple(field_names)
        self.manifest = manifest
        self.recorded = read_manifest(manifest) if manifest else {}

    def check(self, path: Path, named: bool = True) -> Verdict:
        def invalid(reason: str, record: Record | None = None) -> Verdict:
            return Verdict(path, "INVALID", reason, record)

        try:
            data = path.read_bytes()
            in_metadata = read_payload(_xmp(data))
            # A PDF found in a folder with no seal in its metadata is most likely a document
            # that is not sealed: one quick look for a code, not a second, finer one.
            quick = in_metadata is None and not named
            printed = qr_payloads(data, RENDER_DPI[:1] if quick else RENDER_DPI)
            text = page_text(data)
        except (OSError, XmpError) as err:
            return invalid(f"cannot read the file ({err})")
        except Exception as err:  # pypdf and pdfium raise several kinds for a damaged PDF
            return invalid(f"not a readable PDF ({type(err).__name__})")
        if in_metadata is None and not printed:
            return (invalid("no seal") if named else
                    Verdict(path, "unsealed", "no seal (not a sealed document)"))
        if in_metadata is None:
            return invalid("no seal in the metadata, only a QR code")
        if not printed:
            return invalid("no readable seal QR code on the page, only in the metadata")
        if any(p != in_metadata for p in printed):
            return invalid("the QR code and the metadata hold different seals")
        try:
            opened = open_seal(in_metadata)
        except PayloadError as err:
            return invalid(f"damaged seal: {err}")
        record = opened.record
        key = self.keys.get(record.kid)
        if key is None:
            return invalid(f"unknown key {b64url(record.kid)} (not among the known public keys)",
                           record)
        if not key.verify(opened.signature, opened.signed):
            return invalid("bad signature (the seal was altered or not made with this key)",
                           record)
        if reason := self.revoked.reason(record.document_id):
            return invalid(f"{reason} (document {record.code})", record)
        for number, value in enumerate(record.fields, start=1):
            if not printed_on(value, text):
                return invalid(f"text differs from the seal in field {self._field(number)}: "
                               f"{value!r} is not printed on the page", record)
        if self.manifest is not None and (problem := self._manifest_problem(path, data)):
            return invalid(problem, record)
        return Verdict(path, "valid", describe(record), record)

    def _field(self, number: int) -> str:
        if len(self.field_names) >= number:
            return f"{self.field_names[number - 1]!r}"
        return f"#{number}"

    def _manifest_problem(self, path: Path, data: bytes) -> str | None:
        assert self.manifest is not None
        try:
            relative = path.resolve().relative_to(self.manifest.resolve().parent).as_posix()
        except ValueError:
            return f"not this build's file (outside the folder of {self.manifest})"
        expected = self.recorded.get(relative)
        if expected is None:
            return f"not this build's file ({relative} is not in {self.manifest.name})"
        if expected != sha256_file(path):
            return (f"not this build's file (its sha256 differs from the one {self.manifest.name} "
                    f"records for {relative})")
        return None

    def run(self, paths: Sequence[Path]) -> Iterable[Verdict]:
        for path, named in pdf_files(paths):
            yield self.check(path, named)


def describe(record: Record) -> str:
    """``attestato_frequenza, Mario ROSSI RSSMRA80A01H501U, issued 15/06/2026 by Ente (code ...)``."""
    return (f"{record.document}, {' '.join(record.fields)}, issued "
            f"{record.issued.strftime('%d/%m/%Y')} by {record.issuer} (document {record.code})")


def read_manifest(path: Path) -> dict[str, str]:
    """path -> sha256 of every file a build recorded."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as err:
        raise VerifyInputError(f"cannot read the manifest: {err.strerror}", file=str(path)) from err
    if rows and not {"path", "sha256"} <= set(rows[0]):
        raise VerifyInputError("not a docgen manifest (no path and sha256 columns)", file=str(path))
    return {r["path"]: r["sha256"] for r in rows if r.get("path") and r.get("sha256")}


def verify(paths: Sequence[Path], keys_source: Path, *, manifest: Path | None = None,
           field_names: Sequence[str] = (),
           on_verdict: Callable[[Verdict], None] | None = None) -> VerifyReport:
    """Verify every PDF in ``paths`` against the keys (and revoked.json) at ``keys_source``."""
    from docgen.seal.keys import load_public_keys
    from docgen.seal.revoke import REVOKED_FILE, load_revocations

    keys = load_public_keys(keys_source)
    folder = keys_source if keys_source.is_dir() else keys_source.parent
    revoked = load_revocations(folder / REVOKED_FILE, keys)
    verifier = Verifier(keys, revoked, manifest, field_names)
    report = VerifyReport()
    for verdict in verifier.run(paths):
        report.verdicts.append(verdict)
        if on_verdict is not None:
            on_verdict(verdict)
    return report





def verify_paths(paths: Sequence[Path], keys: Path | None, manifest: Path | None, job: Path,
                 on_verdict: Callable[[Verdict], None] | None = None) -> VerifyReport:
    """``docgen verify``: the keys default to the folder of the job's key."""
    from docgen.seal.settings import job_fields, job_key

    source = keys if keys is not None else job_key(job).parent
    return verify(paths, source, manifest=manifest, field_names=job_fields(job),
                  on_verdict=on_verdict)
