"""After rendering: PDFs from Word documents (LibreOffice) and zip bundles for sharing."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

from docgen.files import OutputFolder, sha256_file
from docgen.fingerprint import digest
from docgen.job import Job
from docgen.manifest import BUNDLE_DOCUMENT, Outcome
from docgen.resume import DONE, Previous
from docgen.thumbnails import store_thumbnail


def pdf_path(docx_path: str) -> str:
    return str(PurePosixPath(docx_path).with_suffix(".pdf"))


def convert_documents(job: Job, out: Path, outcomes: Sequence[Outcome], previous: Previous, *,
                      force: bool, on_outcome: Callable[[Outcome], None],
                      processes: int = 1, convert: Callable[..., None] | None = None
                      ) -> list[Outcome]:
    """A PDF beside every made Word document of a ``pdf = true`` document, converted in batches
    by ``processes`` LibreOffice processes, or by ``convert`` (the cluster's, called as
    ``convert_to_pdf``); a PDF whose DOCX did not change is left alone."""
    from docgen.convert import convert_to_pdf

    wanted = {d.name for d in job.documents if d.pdf}
    results: list[Outcome] = []
    todo: dict[Path, tuple[Outcome, str]] = {}
    for source in (o for o in outcomes if o.document in wanted and o.status in DONE):
        target = pdf_path(source.path)
        # "stamps": PDFs converted before their dates and IDs were normalised are made again.
        inputs = digest("pdf", "stamps", source.sha256, job.pdf_variant)
        earlier = None if force else previous.intact(source.document, source.key or "", target,
                                                      inputs)
        if earlier:
            outcome = _pdf(source, "unchanged", target, earlier["sha256"], inputs)
            results.append(outcome)
            on_outcome(outcome)
        else:
            todo[out / source.path] = (source, inputs)

    lock = threading.Lock()
    folder = OutputFolder(out)

    def done(docx: Path, result: Path | Exception) -> None:
        source, inputs = todo[docx]
        if job.seal and not isinstance(result, Exception):  # the DOCX's seal into the PDF's XMP
            from docgen.seal.xmp import seal_converted

            result = seal_converted(out, docx, result)
        if isinstance(result, Exception):
            outcome = _pdf(source, "failed", "", "", inputs,
                           f"PDF conversion failed: {result}")
        else:
            outcome = _pdf(source, "ok", pdf_path(source.path), sha256_file(result), inputs)
        with lock:  # called from each LibreOffice's thread (pdfium, too, one at a time)
            if outcome.status == "ok":  # the report's thumbnail, while the next ones convert
                store_thumbnail(folder, outcome.sha256, outcome.path)
            results.append(outcome)
            on_outcome(outcome)

    files = list(todo)
    if convert is not None:  # on the cluster's workers
        convert(files, pdf_variant=job.pdf_variant, on_done=done, out=out)
    else:
        # Each LibreOffice process is single-threaded: one per core, each with its own profile.
        shares = [files[i::processes] for i in range(max(1, min(processes, len(files))))]
        with ThreadPoolExecutor(len(shares) or 1) as pool:
            for future in [pool.submit(convert_to_pdf, share, pdf_variant=job.pdf_variant,
                                       on_done=done, out=out) for share in shares if share]:
                future.result()
    order = {path: n for n, path in enumerate(o.path for o in outcomes)}
    return sorted(results, key=lambda o: order.get(o.source, 0))


def _pdf(source: Outcome, status: str, path: str, sha256: str, inputs: str,
         message: str = "") -> Outcome:
    return Outcome(document=source.document, status=status,  # type: ignore[arg-type]
                   row=source.row, key=source.key, path=path, sha256=sha256, message=message,
                   inputs=inputs, source=source.path, label=source.label)


def bundle_documents(job: Job, out: Path, outcomes: Sequence[Outcome],
                     groups: Mapping[str, str | None], previous: Previous) -> list[Outcome]:
    """The zip bundles the job asks for, listed as manifest lines of their own; a bundle with
    the same bytes as the earlier build's is ``unchanged`` (zips are reproducible)."""
    from docgen.bundles import BundleEntry, make_bundles

    # A worker labelled by the key alone is named once: KEY.zip, not KEY_KEY.zip.
    entries = [BundleEntry(key=o.key, path=o.path,
                           label=f"{o.label}_{o.key}" if o.label not in ("", o.key) else str(o.key),
                           group=groups.get(o.key or ""))
               for o in outcomes if o.status in DONE and o.path]
    paths = make_bundles(out, entries, modes=job.zip, batch_name=job.id)
    results = []
    for path in paths:
        relative, sha256 = str(PurePosixPath(path.relative_to(out))), sha256_file(path)
        earlier = previous.records.get((BUNDLE_DOCUMENT, "", relative))
        status = "unchanged" if earlier and earlier["sha256"] == sha256 else "ok"
        results.append(Outcome(document=BUNDLE_DOCUMENT, status=status, path=relative,
                               sha256=sha256, message=f"{_count(path)} document(s)"))
    return results


def _count(bundle: Path) -> int:
    with zipfile.ZipFile(bundle) as archive:
        return len(archive.namelist())
