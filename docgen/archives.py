"""Office files are zip archives: recognise what a file really is before parsing it,
and refuse archives that would unpack to far more than they weigh (zip bombs)."""

from __future__ import annotations

import zipfile
from pathlib import Path

# Generous for any real roster or template; a zip bomb exceeds them by orders of magnitude.
MAX_UNPACKED = 200 * 1024 * 1024
MAX_RATIO = 200
MAX_MEMBERS = 10_000

_OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED = "EncryptedPackage".encode("utf-16-le")
_SIGNATURES = {
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"%PDF": "a PDF document",
    b"GIF8": "a GIF image",
    b"{\\rtf": "an RTF document",
}


def office_problem(path: Path, expected: str) -> str | None:
    """Why ``path`` cannot be an ``expected`` (".xlsx" or ".docx") file, or None if it may be.

    The answer is one line a clerk can act on.
    """
    save_as = f"open it in Excel or LibreOffice and save it as {expected}" if expected == ".xlsx" \
        else f"open it in Word or LibreOffice and save it as {expected}"
    try:
        with path.open("rb") as handle:
            head = handle.read(8)
            if head.startswith(_OLE):
                handle.seek(0)
                body = handle.read(4 * 1024 * 1024)
                if _ENCRYPTED in body:
                    return "the file is password-protected: remove the password (File > Info) " \
                           "and save it again"
                return f"this is an old Office 97-2003 file (.xls/.doc), not {expected}: {save_as}"
    except OSError as err:
        return f"cannot read the file: {err.strerror}"
    for signature, what in _SIGNATURES.items():
        if head.startswith(signature):
            return f"this is {what}, not {expected}"
    if not head.startswith(b"PK"):
        return f"this is not {expected} file (not a zip archive): {save_as}"
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            names = {m.filename for m in members}
            if "mimetype" in names:
                kind = archive.read("mimetype")[:100].decode("ascii", "replace")
                if "opendocument" in kind:
                    return f"this is an OpenDocument file (.ods/.odt), not {expected}: {save_as}"
            if "[Content_Types].xml" not in names:
                return f"this zip archive is not {expected} file: {save_as}"
            if len(members) > MAX_MEMBERS:
                return f"the archive holds {len(members)} files (limit {MAX_MEMBERS}): refused"
            unpacked = sum(m.file_size for m in members)
            packed = sum(m.compress_size for m in members) or 1
            if unpacked > MAX_UNPACKED or (unpacked > 10 * 1024 * 1024
                                           and unpacked / packed > MAX_RATIO):
                return (f"the file would unpack to {unpacked // (1024 * 1024)} MB "
                        f"(limit {MAX_UNPACKED // (1024 * 1024)} MB, or {MAX_RATIO}x its size): "
                        "refused as a possible zip bomb")
            broken = archive.testzip()
            if broken:
                return f"the file is damaged (member {broken} is corrupt): {save_as}"
    except zipfile.BadZipFile:
        return f"the file is damaged or truncated: {save_as}"
    except (OSError, EOFError) as err:
        return f"the file is damaged or truncated ({type(err).__name__}): {save_as}"
    return None


# Relationships a reader follows to show a document (linked images, OLE objects, frames,
# attached templates, sub-documents); a hyperlink is only followed when someone clicks it.
_CLICKED = "/hyperlink"


def external_targets(data: bytes) -> list[tuple[str, str, str]]:
    """(part, relationship type, target) of every relationship of an office file that points
    outside it (``TargetMode="External"``) and that a reader would fetch: hyperlinks aside."""
    import io

    from defusedxml import ElementTree

    found = []
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if not name.endswith(".rels"):
                continue
            root = ElementTree.fromstring(archive.read(name))
            for rel in root:
                if rel.get("TargetMode") == "External" and not rel.get("Type", "").endswith(
                        _CLICKED):
                    found.append((name, rel.get("Type", "").rsplit("/", 1)[-1],
                                  rel.get("Target", "")))
    return found


def without_external(data: bytes) -> bytes:
    """A copy of an office file whose external relationships (hyperlinks aside) point
    nowhere: their targets emptied, so no program opening it fetches anything."""
    import io
    import re

    pattern = re.compile(rb"<Relationship\b[^>]*>")
    target = re.compile(rb'\bTarget="[^"]*"')

    def blank(match: re.Match[bytes]) -> bytes:
        tag = match.group(0)
        if b'TargetMode="External"' not in tag or _CLICKED.encode() + b'"' in tag:
            return tag
        return target.sub(b'Target=""', tag)

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as copy:
        for info in source.infolist():
            content = source.read(info.filename)
            if info.filename.endswith(".rels"):
                content = pattern.sub(blank, content)
            copy.writestr(info, content)
    return out.getvalue()
