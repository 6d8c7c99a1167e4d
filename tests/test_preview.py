"""``docgen preview``: one row's documents as PNG images in a temporary folder."""

from __future__ import annotations

import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from docgen.cli import cli

ATTESTATO_ONLY = """
    [[document]]
    name = "attestato"
    template = "templates/attestato.html"
"""


@pytest.fixture
def temporary(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Temporary folders go under tmp_path/tmp, where the test can see them."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    monkeypatch.chdir(tmp_path)
    yield folder


def invoke(*args: str) -> object:
    return CliRunner().invoke(cli, ["preview", *args])


def files_in(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file()}


def test_row_documents_become_png_images(make_job: Callable[..., Path], temporary: Path,
                                         tmp_path: Path) -> None:
    """Every due document of the row is rendered; each first page is a real PNG, Word
    documents through LibreOffice; nothing is written outside the temporary folder."""
    job = make_job()
    before = files_in(tmp_path)
    result = invoke(str(job), "--row", "2")
    assert result.exit_code == 0, result.output
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert set(lines) == {"attestato", "lettera"}
    for document, path in lines.items():
        image = Path(path)
        assert image.suffix == ".png" and image.is_relative_to(temporary), document
        with Image.open(image) as png:
            assert png.format == "PNG" and png.width == 1000 and png.height > png.width
            assert png.convert("L").getextrema()[0] < 100  # dark pixels: text, not a blank page
    assert "row 2 (D'ANGELO Niccolò)" in result.stderr
    assert {p for p in files_in(tmp_path) - before if not p.is_relative_to(temporary)} == set()
    assert not (tmp_path / "output").exists()


def test_not_due_documents_are_reported(make_job: Callable[..., Path], temporary: Path) -> None:
    """A row whose documents are not due says so on stderr and exits 0."""
    result = invoke(str(make_job()), "--row", "3")
    assert result.exit_code == 0
    assert result.stdout == ""
    assert "attestato: skipped: not due: 'when' is false" in result.stderr


def test_by_key_and_did_you_mean(make_job: Callable[..., Path], temporary: Path) -> None:
    """A worker is found by key; a mistyped key exits 2 suggesting the closest."""
    job = str(make_job(documents=ATTESTATO_ONLY))
    assert invoke(job, "--key", "BNCGLI90E41H501M").exit_code == 0
    result = invoke(job, "--key", "BNCGLI90E41H501N")
    assert result.exit_code == 2
    assert "no worker has the key 'BNCGLI90E41H501N'" in result.stderr
    assert "did you mean 'BNCGLI90E41H501M'" in result.stderr
    assert "Traceback" not in result.output


def test_unknown_row_and_missing_choice_exit_2(make_job: Callable[..., Path],
                                               temporary: Path) -> None:
    """A row with no worker, or neither/both of --row and --key, exits 2 with a clear line."""
    job = str(make_job(documents=ATTESTATO_ONLY))
    result = invoke(job, "--row", "1")
    assert result.exit_code == 2
    assert "there is no worker on row 1" in result.stderr and "rows 2-4" in result.stderr
    for args in ([], ["--row", "2", "--key", "X"]):
        result = invoke(job, *args)
        assert result.exit_code == 2 and "give --row N or --key K" in result.stderr
    assert list(temporary.iterdir()) == []


def test_word_without_libreoffice_says_so(make_job: Callable[..., Path], temporary: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Without LibreOffice the Word document is still rendered, and the reason it has no
    image is given."""
    monkeypatch.setenv("DOCGEN_SOFFICE", str(temporary / "no-soffice"))
    result = invoke(str(make_job()), "--row", "2")
    assert result.exit_code == 0
    lines = dict(line.split(": ", 1) for line in result.stdout.splitlines())
    assert lines["lettera"].endswith("lettera.docx") and Path(lines["lettera"]).is_file()
    assert "cannot preview a Word document without LibreOffice" in result.stderr
    assert lines["attestato"].endswith(".png")


def test_open_uses_the_desktop_viewer(make_job: Callable[..., Path], temporary: Path,
                                      tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """--open hands each image to xdg-open; without a viewer it says so."""
    job = str(make_job(documents=ATTESTATO_ONLY))
    bin_folder = tmp_path / "bin"
    bin_folder.mkdir()
    monkeypatch.setenv("PATH", str(bin_folder))
    result = invoke(job, "--row", "2", "--open")
    assert result.exit_code == 0 and "no viewer to open them with" in result.stderr
    calls = tmp_path / "calls.txt"
    viewer = bin_folder / "xdg-open"
    viewer.write_text(f"#!/bin/sh\necho \"$1\" >> {calls}\n", encoding="utf-8")
    viewer.chmod(viewer.stat().st_mode | stat.S_IXUSR)
    result = invoke(job, "--row", "2", "--open")
    assert result.exit_code == 0, result.output
    image = result.stdout.split(": ", 1)[1].strip()
    assert calls.read_text(encoding="utf-8").split() == [image]
    assert "opened 1 image(s) with xdg-open" in result.stderr
    assert os.path.isfile(image)
