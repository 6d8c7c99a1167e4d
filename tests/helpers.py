"""Reading real output back: PDF text, DOCX text, manifest lines."""

from __future__ import annotations

import csv
import hashlib
from pathlib import Path

from docx import Document
from pypdf import PdfReader


def pdf_text(path: Path) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(path).pages)


def docx_text(path: Path) -> str:
    """Body paragraphs, table cells, headers and footers, as a reader sees them."""
    doc = Document(str(path))
    parts = [p.text for p in doc.paragraphs]
    for table in doc.tables:
        parts += [cell.text for row in table.rows for cell in row.cells]
    for section in doc.sections:
        parts += [p.text for p in section.header.paragraphs + section.footer.paragraphs]
    return "\n".join(parts)


def manifest(folder: Path) -> list[dict[str, str]]:
    with (folder / "manifest.csv").open(encoding="utf-8-sig", newline="") as handle:
        return list(csv.DictReader(handle))


def check_hashes(folder: Path) -> None:
    """Every ok line's sha256 is the file's on disk."""
    for line in manifest(folder):
        if line["status"] == "ok":
            data = (folder / line["path"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == line["sha256"], line["path"]
