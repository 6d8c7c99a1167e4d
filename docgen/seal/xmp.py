"""The payload in the PDF's XMP metadata, declared as a PDF/A extension schema."""

from __future__ import annotations

import io
from html import escape
from pathlib import Path
from typing import Any

from docgen.errors import XmpError

NAMESPACE = "https://docgen.example.org/ns/seal/1.0/"
PREFIX = "dgseal"
_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_END = b"</rdf:RDF>"

# PDF/A allows only declared XMP properties: the extension schema says what dgseal:payload is.
_SCHEMA = f"""<rdf:Description xmlns:rdf="{_RDF}" rdf:about=""
 xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/"
 xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#"
 xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#">
<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">
<pdfaSchema:schema>docgen document seal</pdfaSchema:schema>
<pdfaSchema:namespaceURI>{NAMESPACE}</pdfaSchema:namespaceURI>
<pdfaSchema:prefix>{PREFIX}</pdfaSchema:prefix>
<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">
<pdfaProperty:name>payload</pdfaProperty:name>
<pdfaProperty:valueType>Text</pdfaProperty:valueType>
<pdfaProperty:category>external</pdfaProperty:category>
<pdfaProperty:description>The signed seal printed as the QR code (docgen verify)</pdfaProperty:description>
</rdf:li></rdf:Seq></pdfaSchema:property>
</rdf:li></rdf:Bag></pdfaExtension:schemas>
</rdf:Description>
"""



def seal_description(payload: str) -> bytes:
    """The RDF descriptions to put inside ``rdf:RDF``: the schema, then the payload."""
    return (_SCHEMA + f'<rdf:Description xmlns:rdf="{_RDF}" rdf:about="" '
            f'xmlns:{PREFIX}="{NAMESPACE}"><{PREFIX}:payload>{escape(payload)}'
            f"</{PREFIX}:payload></rdf:Description>\n").encode("utf-8")


def insert_payload(rdf: bytes, payload: str) -> bytes:
    """An XMP packet (or WeasyPrint's ``rdf:RDF``) with the seal added before ``</rdf:RDF>``."""
    end = rdf.rfind(_END)
    if end < 0:
        raise XmpError("the PDF's XMP metadata has no rdf:RDF element")
    return rdf[:end] + seal_description(payload) + rdf[end:]


def seal_weasyprint_metadata(metadata: Any, payload: str) -> None:
    """Make WeasyPrint write the payload into the XMP it generates (deterministically, so
    the same inputs still give the same bytes)."""
    generate = metadata.generate_rdf_metadata

    def with_seal(*args: Any, **kwargs: Any) -> bytes:
        return insert_payload(generate(*args, **kwargs), payload)

    metadata.generate_rdf_metadata = with_seal


def seal_pdf_bytes(data: bytes, payload: str) -> bytes:
    """A PDF made elsewhere (LibreOffice) with the payload added to its XMP, as bytes."""
    import pikepdf

    from docgen.pdfstamps import save_stable

    with pikepdf.open(io.BytesIO(data)) as pdf:
        if "/Metadata" in pdf.Root:
            packet = pdf.Root.Metadata.read_bytes()
            pdf.Root.Metadata.write(insert_payload(packet, payload))
        else:
            packet = (b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
                      b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="' + _RDF.encode()
                      + b'"></rdf:RDF></x:xmpmeta>\n<?xpacket end="w"?>')
            stream = pdf.make_stream(insert_payload(packet, payload))
            stream.Type, stream.Subtype = pikepdf.Name.Metadata, pikepdf.Name.XML
            pdf.Root.Metadata = stream
        # The /ID LibreOffice's normalised PDF carries (pdfstamps) is kept, and so the bytes
        # stay the same for the same DOCX.
        return save_stable(pdf, bytes(pdf.trailer.ID[0]))


def read_payload(xmp: bytes | None) -> str | None:
    """The payload in an XMP packet, or None when there is none."""
    if not xmp:
        return None
    from defusedxml import ElementTree

    start = xmp.find(b"<x:xmpmeta")
    end = xmp.rfind(b"</x:xmpmeta>")
    body = xmp[start:end + len(b"</x:xmpmeta>")] if start >= 0 and end > start else xmp
    try:
        root = ElementTree.fromstring(body)
    except Exception as err:  # damaged or hostile XML: defusedxml and expat raise several kinds
        raise XmpError(f"the PDF's XMP metadata is damaged ({type(err).__name__})") from err
    found = root.find(f".//{{{NAMESPACE}}}payload")
    return None if found is None or not found.text else found.text.strip()


def docx_payload(docx: Path) -> str | None:
    """The payload a sealed Word document carries in its identifier property, if any."""
    import zipfile

    from defusedxml import ElementTree

    with zipfile.ZipFile(docx) as archive:
        try:
            core = archive.read("docProps/core.xml")
        except KeyError:
            return None
    found = ElementTree.fromstring(core).find("{http://purl.org/dc/elements/1.1/}identifier")
    text = (found.text or "").strip() if found is not None else ""
    from docgen.seal.payload import PREFIX

    return text if text.startswith(PREFIX) else None


def seal_converted(out: Path, docx: Path, pdf: Path) -> Path | Exception:
    """The PDF LibreOffice made from a sealed Word document, with the payload in its XMP
    (rewritten inside the output folder ``out``, never through a link); a failure is
    returned (that document's conversion fails), not raised."""
    from docgen.files import OutputFolder

    folder = OutputFolder(out)
    relative = pdf.relative_to(out).as_posix()
    try:
        if (payload := docx_payload(docx)) is not None:
            folder.write(relative, seal_pdf_bytes(folder.read_bytes(relative), payload))
    except Exception as err:  # pikepdf and zipfile raise several kinds for a damaged file
        return XmpError(f"cannot put the seal into the PDF's metadata: {type(err).__name__}: {err}")
    return pdf
