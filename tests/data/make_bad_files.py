"""Writes the corpus of hostile and broken rosters in tests/data/bad/ (committed).

Run once from the repository root: .venv/bin/python tests/data/make_bad_files.py
Needs, at generation time only: msoffcrypto-tool and xlwt (pip).
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from pathlib import Path

from openpyxl import Workbook

BAD = Path(__file__).parent / "bad"


def good_xlsx() -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["Cognome", "Nome", "Codice fiscale"])
    sheet.append(["Rossi", "Mario", "RSSMRA80A01H501U"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def rewrite(data: bytes, replace: dict[str, bytes], compresslevel: int = 6) -> bytes:
    """The same workbook with some members replaced."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as target:
        for item in source.infolist():
            target.writestr(item.filename, replace.get(item.filename, source.read(item.filename)))
    return out.getvalue()


def main() -> None:
    BAD.mkdir(exist_ok=True)
    data = good_xlsx()
    # A sheet that unpacks to 300 MB of blanks from a few hundred KB.
    bomb = b'<?xml version="1.0"?><worksheet xmlns="http://schemas.openxmlformats.org/' \
           b'spreadsheetml/2006/main"><sheetData>' + b" " * (300 * 1024 * 1024) + \
           b"</sheetData></worksheet>"
    (BAD / "zip_bomb.xlsx").write_bytes(
        rewrite(data, {"xl/worksheets/sheet1.xml": bomb}, compresslevel=9))
    laughs = b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">' + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10)
        for i in range(1, 10)) + b']><worksheet xmlns="http://schemas.openxmlformats.org/' \
        b'spreadsheetml/2006/main"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>' \
        b"&lol9;</t></is></c></row></sheetData></worksheet>"
    (BAD / "billion_laughs.xlsx").write_bytes(
        rewrite(data, {"xl/worksheets/sheet1.xml": laughs}))
    (BAD / "truncated.xlsx").write_bytes(data[: len(data) // 2])
    (BAD / "empty.xlsx").write_bytes(b"")
    (BAD / "image.xlsx").write_bytes(
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00"
        b"\x00\x90wS\xde\x00\x00\x00\x0cIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00"
        b"\x00\x00\x00IEND\xaeB`\x82")
    (BAD / "binary.csv").write_bytes(b"Cognome;Nome\n\x00\x01\x02\x03garbage\x00\n")

    import msoffcrypto
    import xlwt

    with tempfile.TemporaryDirectory() as tmp:
        plain = Path(tmp) / "plain.xlsx"
        plain.write_bytes(data)
        encrypted = io.BytesIO()
        with plain.open("rb") as handle:
            office = msoffcrypto.OfficeFile(handle)
            office.encrypt("segreto", encrypted)
        (BAD / "password.xlsx").write_bytes(encrypted.getvalue())

        book = xlwt.Workbook()
        sheet = book.add_sheet("Lavoratori")
        for col, text in enumerate(["Cognome", "Nome"]):
            sheet.write(0, col, text)
        xls = Path(tmp) / "old.xls"
        book.save(str(xls))
        shutil.copy(xls, BAD / "old_xls_renamed.xlsx")

    (BAD / "ods_renamed.xlsx").write_bytes(minimal_ods())


def minimal_ods() -> bytes:
    """An OpenDocument spreadsheet as LibreOffice lays it out (mimetype first, stored)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as ods:
        ods.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        ods.writestr("META-INF/manifest.xml", '<?xml version="1.0" encoding="UTF-8"?>'
                     '<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:'
                     'manifest:1.0"><manifest:file-entry manifest:full-path="/" manifest:media-'
                     'type="application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>')
        ods.writestr("content.xml", '<?xml version="1.0" encoding="UTF-8"?><office:document-'
                     'content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0"/>')
    return out.getvalue()


if __name__ == "__main__":
    main()
