"""First pages of PDFs as PNG images (pypdfium2): thumbnails for the report, previews."""

from __future__ import annotations

import io
from pathlib import Path

from docgen.files import OutputFolder

THUMBS = ".thumbs"  # inside the output folder, so the report keeps its images when zipped
THUMB_WIDTH = 200  # pixels: twice the width the page shows, sharp on high-density screens


def first_page_png(pdf: Path | bytes, width: int) -> bytes:
    """The first page of ``pdf`` (a file, or its bytes) as a PNG ``width`` pixels wide."""
    import pypdfium2
    from PIL import Image

    document = pypdfium2.PdfDocument(pdf if isinstance(pdf, bytes) else str(pdf))
    try:
        page = document[0]
        image = page.render(scale=width / page.get_width()).to_pil()
        page.close()
    finally:
        document.close()
    buffer = io.BytesIO()
    # 64 colours keep a text page legible at a quarter of the size of a full-colour PNG; the
    # octree quantiser takes 1 ms where the default median cut takes 4 (one per document).
    image.convert("RGB").quantize(colors=64, method=Image.Quantize.FASTOCTREE).save(buffer, "PNG")
    return buffer.getvalue()


def thumbnail_path(sha256: str) -> str | None:
    """Where the thumbnail of the PDF with ``sha256`` is kept, relative to the output folder;
    None for anything but a sha256 (a manifest may have been edited)."""
    if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
        return None
    return f"{THUMBS}/{sha256}.png"


def store_thumbnail(folder: OutputFolder, sha256: str, pdf: bytes | str) -> None:
    """Make the thumbnail of a PDF just written (its bytes, or its path in ``folder``), where
    it was written: by the worker that rendered it, or as LibreOffice converts the next ones,
    so thumbnails are made alongside the documents, not one by one after them. A PDF pdfium
    cannot read gets none, and the report shows it without one."""
    relative = thumbnail_path(sha256)
    if relative is None:
        return
    try:
        if not folder.is_file(relative):
            data = folder.read_bytes(pdf) if isinstance(pdf, str) else pdf
            folder.write(relative, first_page_png(data, THUMB_WIDTH), durable=False)
    except Exception:  # never fails the document: the report makes it, or shows none
        return


class Thumbnails:
    """Thumbnails cached by the PDF's sha256 in ``out/.thumbs``: a re-run makes only new ones,
    and those no PDF uses any more are removed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.folder = OutputFolder(out)  # written and pruned without following a link
        self.used: set[str] = set()

    def get(self, path: str, sha256: str) -> str | None:
        """The thumbnail's path relative to ``out``, or None when it cannot be made."""
        relative = thumbnail_path(sha256)
        if relative is None:
            return None
        name = relative.rsplit("/", 1)[1]
        self.used.add(name)
        try:
            if not self.folder.is_file(relative):
                pdf = self.folder.read_bytes(path)
                self.folder.write(relative, first_page_png(pdf, THUMB_WIDTH))
        except Exception:  # a damaged or missing PDF, a link: shown as missing, never a failed build
            self.used.discard(name)
            return None
        return relative

    def prune(self) -> list[str]:
        """Remove the thumbnails this report did not use."""
        try:
            stale = [n for n in self.folder.files(THUMBS) if n.endswith(".png") and n not in self.used]
            return [n for n in stale if self.folder.remove(f"{THUMBS}/{n}")]
        except Exception:  # a link in the way: nothing removed through it
            return []
