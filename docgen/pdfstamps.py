"""What LibreOffice stamps into a PDF on each conversion (dates, /ID, its /DocChecksum, XMP
identifiers, the time inside its sRGB output profile), set from the build instead, so the same DOCX always
gives the same PDF bytes."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import struct
import uuid
import zlib
from typing import Any

from docgen.errors import ConversionError

# XMP properties holding the conversion time or a random identifier.
_XMP_DATES = re.compile(rb"(<xmp:(?:CreateDate|ModifyDate|MetadataDate)>)[^<]*(</xmp:)")
_XMP_IDS = re.compile(rb"(<xmpMM:(?:DocumentID|InstanceID)>)[^<]*(</xmpMM:)")
_ICC_SIGNATURE = b"acsp"  # bytes 36-39 of every ICC profile
_QPDF_STATIC_ID = b"<31415926535897932384626433832795>"  # what QPDF writes for static_id


def normalise_pdf(data: bytes, seed: str, moment: dt.datetime, *, pdfa: bool) -> bytes:
    """``data`` with its dates set to ``moment`` and its identifiers derived from ``seed``
    (the DOCX's sha256); with ``pdfa``, the PDF/A marks must survive (ConversionError if not)."""
    import pikepdf

    when = moment.astimezone(dt.UTC)
    ident = hashlib.sha256(f"docgen-pdf/{seed}".encode()).digest()[:16]
    with pikepdf.open(io.BytesIO(data)) as pdf:
        info = pdf.docinfo
        for name in ("/CreationDate", "/ModDate"):
            if name in info:
                info[name] = pikepdf.String(when.strftime("D:%Y%m%d%H%M%SZ"))
        if "/Metadata" in pdf.Root:
            stream = pdf.Root.Metadata
            xmp = _XMP_DATES.sub(rb"\g<1>" + when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
                                 + rb"\g<2>", stream.read_bytes())
            xmp = _XMP_IDS.sub(rb"\g<1>uuid:" + str(uuid.UUID(bytes=ident)).encode()
                               + rb"\g<2>", xmp)
            stream.write(xmp)  # uncompressed, as PDF/A wants the metadata readable
        for intent in pdf.Root.get("/OutputIntents", []):
            profile = intent.get("/DestOutputProfile")
            if profile is not None:
                icc = profile.read_bytes()
                fixed = _icc_dated(icc, when)
                if fixed != icc:
                    profile.write(zlib.compress(fixed, 9), filter=pikepdf.Name.FlateDecode)
        # Both /ID halves from the DOCX, as LibreOffice writes two equal ones. QPDF keeps the
        # first and, with static_id, writes a fixed placeholder for the second (its
        # "deterministic" one still varies with what it read): that is replaced, same length.
        if "/DocChecksum" in pdf.trailer:  # LibreOffice's MD5 of what it wrote, time included
            del pdf.trailer["/DocChecksum"]
        result = save_stable(pdf, ident)
    if pdfa:
        check_pdfa(result)
    return result


def save_stable(pdf: Any, ident: bytes) -> bytes:
    """The pikepdf document as bytes that depend only on its content: both /ID halves
    ``ident``, the XMP exactly as edited (QPDF would otherwise stamp its own second /ID half
    and touch the metadata)."""
    import pikepdf

    pdf.trailer.ID = pikepdf.Array([pikepdf.String(ident), pikepdf.String(ident)])
    out = io.BytesIO()
    pdf.save(out, static_id=True, fix_metadata_version=False)
    result = out.getvalue()
    if result.count(_QPDF_STATIC_ID) != 1:
        raise ConversionError("cannot set the PDF's identifier (unexpected QPDF output)")
    return result.replace(_QPDF_STATIC_ID, b"<" + ident.hex().encode() + b">")


def _icc_dated(icc: bytes, when: dt.datetime) -> bytes:
    """The ICC profile with its creation time (header bytes 24-35) set to ``when``, and its
    profile ID (an MD5 over the header) recomputed when it had one."""
    if len(icc) < 128 or icc[36:40] != _ICC_SIGNATURE:
        return icc
    stamp = struct.pack(">6H", when.year, when.month, when.day, when.hour, when.minute,
                        when.second)
    fixed = bytearray(icc)
    fixed[24:36] = stamp
    if any(icc[84:100]):
        # ICC.1: the ID is the MD5 of the profile with flags, intent and the ID zeroed.
        hashed = bytearray(fixed)
        hashed[44:48] = hashed[64:68] = b"\0" * 4
        hashed[84:100] = b"\0" * 16
        fixed[84:100] = hashlib.md5(bytes(hashed), usedforsecurity=False).digest()
    return bytes(fixed)


def check_pdfa(data: bytes) -> None:
    """The PDF/A marks a validator looks for first: pdfaid in the XMP, an output intent."""
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as pdf:
        xmp = pdf.Root.Metadata.read_bytes() if "/Metadata" in pdf.Root else b""
        intents = len(pdf.Root.get("/OutputIntents", []))
    if b"pdfaid:part" not in xmp or not intents:
        raise ConversionError("the PDF lost its PDF/A marks (pdfaid, output intent) "
                              "when its dates and identifiers were set")
