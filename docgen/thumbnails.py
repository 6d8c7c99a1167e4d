"""First pages of PDFs as PNG images (pypdfium2): thumbnails for the report, previews."""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path

from docgen.files import atomic_write

THUMBS = ".thumbs"  # inside the output folder, so the report keeps its images when zipped
THUMB_WIDTH = 200  # pixels: twice the width the page shows, sharp on high-density screens


def first_page_png(pdf: Path, width: int) -> bytes:
    """The first page of ``pdf`` as a PNG ``width`` pixels wide."""
    import pypdfium2

    document = pypdfium2.PdfDocument(str(pdf))
    try:
        page = document[0]
        image = page.render(scale=width / page.get_width()).to_pil()
        page.close()
    finally:
        document.close()
    buffer = io.BytesIO()
    # 64 colours keep a text page legible at a third of the size of a full-colour PNG.
    image.convert("RGB").quantize(colors=64).save(buffer, "PNG")
    return buffer.getvalue()


class Thumbnails:
    """Thumbnails cached by the PDF's sha256 in ``out/.thumbs``: a re-run makes only new ones,
    and those no PDF uses any more are removed."""

    def __init__(self, out: Path) -> None:
        self.out = out
        self.folder = out / THUMBS
        self.used: set[str] = set()

    def get(self, path: str, sha256: str) -> str | None:
        """The thumbnail's path relative to ``out``, or None when it cannot be made."""
        if not sha256 or len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            return None
        target = self.folder / f"{sha256}.png"
        self.used.add(target.name)
        if not target.is_file():
            try:
                atomic_write(target, first_page_png(self.out / path, THUMB_WIDTH))
            except Exception:  # a damaged or missing PDF: shown as missing, never a failed build
                self.used.discard(target.name)
                return None
        return f"{THUMBS}/{target.name}"

    def prune(self) -> list[str]:
        """Remove the thumbnails this report did not use."""
        return _remove(p for p in self.folder.glob("*.png") if p.name not in self.used) \
            if self.folder.is_dir() else []


def _remove(paths: Iterable[Path]) -> list[str]:
    removed = []
    for path in paths:
        path.unlink(missing_ok=True)
        removed.append(path.name)
    return removed
