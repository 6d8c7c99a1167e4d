"""Tasks (tasks.py): the one document write path, with the report's thumbnail."""

from __future__ import annotations

from pathlib import Path


def test_a_written_pdf_gets_its_thumbnail_where_it_was_rendered(tmp_path: Path) -> None:
    """write_document (run by the worker that rendered the PDF, or by a cluster's client)
    makes the report's thumbnail from the bytes at hand; bytes pdfium cannot read still make
    the document, without a thumbnail."""
    import weasyprint
    from PIL import Image

    from docgen.tasks import Task, write_document
    from docgen.thumbnails import THUMB_WIDTH, thumbnail_path

    pdf = weasyprint.HTML(string="<p>Attestato</p>").write_pdf()
    done = write_document(Task(0, "attestato", {}, "a/attestato.pdf", tmp_path), pdf)
    assert not done.error and (tmp_path / "a/attestato.pdf").read_bytes() == pdf
    with Image.open(tmp_path / str(thumbnail_path(done.sha256))) as image:
        assert image.width == THUMB_WIDTH
    broken = write_document(Task(1, "attestato", {}, "b/attestato.pdf", tmp_path), b"%PDF-1.7")
    assert not broken.error and (tmp_path / "b/attestato.pdf").exists()
    assert not (tmp_path / str(thumbnail_path(broken.sha256))).exists()
