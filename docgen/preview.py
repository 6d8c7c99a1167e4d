"""``docgen preview``: one row's documents rendered into a temporary folder, first pages as PNG."""

from __future__ import annotations

import difflib
import shutil
import subprocess
import tempfile
from dataclasses import dataclass, field, replace
from pathlib import Path

from docgen.errors import DocgenError, describe
from docgen.job import Job
from docgen.plan import Item, make_plan
from docgen.tasks import Renderers
from docgen.thumbnails import first_page_png

PREVIEW_WIDTH = 1000  # pixels: a page readable on screen
OPENERS = ("xdg-open", "open")  # the desktop's viewer: Linux desktops, macOS


@dataclass(frozen=True)
class Page:
    """One document of the row: what happened, its file and its first page as PNG."""

    document: str
    status: str  # rendered, skipped, failed
    file: Path | None = None
    image: Path | None = None
    message: str = ""


@dataclass
class Preview:
    folder: Path
    row: int
    key: str | None
    label: str
    pages: list[Page] = field(default_factory=list)
    opened: str = ""  # what --open did, in a sentence

    @property
    def exit_code(self) -> int:
        return 1 if any(p.status == "failed" for p in self.pages) else 0


def preview(job: Job, *, row: int | None = None, key: str | None = None,
            open_images: bool = False) -> Preview:
    """Render the documents of one row (by number as the sheet shows it, or by key) into a new
    temporary folder, never the output folder; PNG of each first page; optionally opened."""
    # Plan without LibreOffice: a preview converts a Word document itself, when it can.
    job = replace(job, documents=tuple(replace(d, pdf=False) for d in job.documents))
    plan = make_plan(job)
    items = _row_items(plan.items, job, row, key)
    first = items[0]
    assert first.row is not None
    result = Preview(Path(tempfile.mkdtemp(prefix=f"docgen-preview-{first.row.number}-")),
                     first.row.number, first.key, first.label)
    renderers = Renderers(job)
    for item in items:
        result.pages.append(_page(item, renderers, result.folder, job))
    if open_images:
        result.opened = _open([p.image for p in result.pages if p.image])
    return result


def _row_items(items: tuple[Item, ...], job: Job, row: int | None, key: str | None
               ) -> list[Item]:
    per_row = [i for i in items if i.row is not None]
    if row is not None:
        found = [i for i in per_row if i.row and i.row.number == row]
        if not found:
            numbers = sorted({i.row.number for i in per_row if i.row})
            span = f"rows {numbers[0]}-{numbers[-1]}" if numbers else "no rows"
            raise DocgenError(f"there is no worker on row {row}", file=job.roster.name,
                              hint=f"the roster has workers on {span}")
        return found
    found = [i for i in per_row if i.key == key]
    if not found:
        keys = sorted({i.key for i in per_row if i.key})
        close = difflib.get_close_matches(str(key), keys, n=3, cutoff=0.6)
        hint = (f"did you mean {' or '.join(repr(c) for c in close)}?" if close
                else f"the key is the column '{job.key}'")
        raise DocgenError(f"no worker has the key '{key}'", file=job.roster.name, hint=hint)
    return [i for i in found if i.row and i.row.number == found[0].row.number]  # type: ignore[union-attr]


def _page(item: Item, renderers: Renderers, folder: Path, job: Job) -> Page:
    name = item.document.name
    if item.status != "due":
        return Page(name, "skipped" if item.status == "skipped" else "failed",
                    message=item.message)
    target = folder / f"{name}{item.document.suffix}"
    try:
        data = renderers.get(name).render(dict(item.context or {}))
        target.write_bytes(data)
    except Exception as err:  # this row's value breaks the template: that document fails
        return Page(name, "failed", message=describe(err))
    warnings = "; ".join(f"warning: {w}" for w in getattr(data, "warnings", ()))
    pdf = target
    if item.document.kind == "docx":
        pdf, problem = _word_pdf(target, job)
        if pdf is None:
            return Page(name, "rendered", target, message="; ".join(filter(None, (problem, warnings))))
    image = folder / f"{name}.png"
    try:
        image.write_bytes(first_page_png(pdf, PREVIEW_WIDTH))
    except Exception as err:
        return Page(name, "rendered", target, message=f"no image of the first page: {describe(err)}")
    return Page(name, "rendered", target, image, message=warnings)


def _word_pdf(docx: Path, job: Job) -> tuple[Path | None, str]:
    """The PDF LibreOffice makes of a Word document, or why there is none."""
    from docgen.convert import convert_to_pdf, find_soffice

    try:
        soffice = find_soffice()
    except DocgenError as err:
        return None, f"cannot preview a Word document without LibreOffice: {err.hint}"
    result = convert_to_pdf([docx], pdf_variant=None, soffice=soffice).get(docx)
    if isinstance(result, Path):
        return result, ""
    return None, f"LibreOffice could not convert it: {result}"


def _open(images: list[Path]) -> str:
    """Open the images with the desktop's viewer; say what happened."""
    if not images:
        return "nothing to open"
    program = next((found for name in OPENERS if (found := shutil.which(name))), None)
    if program is None:
        return "no viewer to open them with (xdg-open or open not found): open the files above"
    for image in images:
        subprocess.run([program, str(image)], check=False, timeout=30,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return f"opened {len(images)} image(s) with {Path(program).name}"
