"""A Word template linking an image outside it (TargetMode="External"): `check` reports the
part and the target, and a real `pdf = true` build never lets LibreOffice fetch it (a loopback
listener sees no connection)."""

from __future__ import annotations

import io
import re
import socket
import threading
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from docx import Document
from docx.shared import Cm
from PIL import Image

from docgen.archives import external_targets
from docgen.cli import cli
from tests.helpers import manifest, pdf_text


def linked_image_docx(path: Path, url: str) -> Path:
    """A Word template whose picture is linked (Insert > Picture > Link to File) to ``url``."""
    picture = io.BytesIO()
    Image.new("RGB", (4, 4), "red").save(picture, "PNG")
    document = Document()
    document.add_paragraph("Gentile {{ nome }} {{ cognome }}")
    document.add_picture(io.BytesIO(picture.getvalue()), width=Cm(2))
    buffer = io.BytesIO()
    document.save(buffer)
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(path, "w") as copy:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename == "word/_rels/document.xml.rels":
                data = re.sub(rb'Target="media/[^"]+"',
                              f'Target="{url}" TargetMode="External"'.encode(), data)
            elif info.filename == "word/document.xml":
                data = data.replace(b"r:embed=", b"r:link=")
            copy.writestr(info, data)
    return path


@pytest.fixture
def listener() -> Iterator[tuple[str, list[bytes]]]:
    """A TCP listener on 127.0.0.1: (its URL, what every connection to it sent)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    server.settimeout(0.2)
    seen: list[bytes] = []
    stop = threading.Event()

    def accept() -> None:
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                connection.settimeout(1)
                try:
                    seen.append(connection.recv(500) or b"(connected)")
                except OSError:
                    seen.append(b"(connected)")

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}/logo.png", seen
    stop.set()
    thread.join()
    server.close()


def test_linked_image_is_reported_and_never_fetched(listener: tuple[str, list[bytes]],
                                                    make_job: Callable[..., Path],
                                                    tmp_path: Path) -> None:
    """check names the part and the URL; the build converts to PDF without fetching it."""
    url, seen = listener
    documents = """
        [[document]]
        name = "lettera"
        template = "templates/lettera.docx"
        pdf = true
    """
    job = make_job(documents=documents)
    linked_image_docx(job.parent / "templates" / "lettera.docx", url)
    assert external_targets((job.parent / "templates" / "lettera.docx").read_bytes()) == [
        ("word/_rels/document.xml.rels", "image", url)]
    result = CliRunner().invoke(cli, ["check", str(job)])
    assert f"external image {url} (the PDF is made without it)" in result.output
    assert "word/_rels/document.xml.rels" in result.output
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["build", str(job), "--out", str(out), "-j", "1"])
    assert result.exit_code == 0, result.output
    pdfs = [line for line in manifest(out) if line["path"].endswith(".pdf")]
    assert len(pdfs) == 3 and all(line["status"] == "ok" for line in pdfs)
    assert "Gentile Niccolò D'Angelo" in pdf_text(out / pdfs[0]["path"])
    assert seen == []
