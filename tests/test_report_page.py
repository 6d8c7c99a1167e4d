"""The report page of a build, index.html, opened in a real headless Chromium."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

from docgen.build import build
from docgen.job import load_job
from tests.browser import browser
from tests.conftest import BATCH_TEMPLATE, HEADER, HTML_TEMPLATE, WORKERS, write_xlsx
from tests.helpers import manifest

__all__ = ["browser"]  # the session's Chromium, imported as a fixture

HOSTILE = "<b>Evil</b> & =1+1"
JOB = """
[job]
id = "report-job"
locale = "{locale}"
roster = "roster.xlsx"
key = "codice_fiscale"
optional = ["note"]

[course]
title = "Operatore del servizio clienti"
hours = 120

[[document]]
name = "attestato"
template = "templates/attestato.html"
filename = "{{{{ cognome }}}}_{{{{ nome }}}} #1/attestato.pdf"
when = "ore_frequentate >= 0.7 * course.hours"

[[document]]
name = "elenco"
template = "templates/elenco.html"
scope = "batch"
"""


def rows() -> list[list[Any]]:
    """The three workers, a fourth whose birth date is empty, and one with markup for a name."""
    workers = [list(r) for r in WORKERS]
    workers.append(["Rossi", "Mario", "RSSMRA80A01H501U", None, "Monteriggioni (SI)", 100,
                    "idoneo", None])
    workers.append([HOSTILE, "Anna", "VRDNNA80A41H501H", WORKERS[0][3], "Monteriggioni (SI)",
                    100, "idoneo", None])
    return workers


def write_job(folder: Path, locale: str = "it_IT", workers: list[list[Any]] | None = None
              ) -> Path:
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    (folder / "templates/attestato.html").write_text(HTML_TEMPLATE, encoding="utf-8")
    (folder / "templates/elenco.html").write_text(BATCH_TEMPLATE, encoding="utf-8")
    write_xlsx(folder / "roster.xlsx", HEADER, workers or rows())
    job = folder / "job.toml"
    job.write_text(textwrap.dedent(JOB.format(locale=locale)), encoding="utf-8")
    return job


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A build with one failed row and a hostile name; the folder it wrote."""
    folder = tmp_path_factory.mktemp("report")
    out = folder / "out"
    assert build(load_job(write_job(folder)), out, jobs=1).exit_code == 1
    return out


def open_page(browser: Any, out: Path) -> Any:
    browser.get((out / "index.html").as_uri())
    return browser


def erase(field: Any) -> None:
    """Delete a field's text as a person does (the page sees the key strokes)."""
    field.send_keys(Keys.CONTROL, "a")
    field.send_keys(Keys.BACKSPACE)


def visible_rows(browser: Any) -> list[Any]:
    return [r for r in browser.find_elements(By.CSS_SELECTOR, "#workers tbody tr") if r.is_displayed()]


def test_one_row_per_worker_with_label_row_and_badges(browser: Any, report: Path) -> None:
    """Each roster row is a table row with its label, row number and a badge per document."""
    page = open_page(browser, report)
    lines = page.find_elements(By.CSS_SELECTOR, "#workers tbody tr")
    assert [line.find_element(By.CSS_SELECTOR, "td.num").text for line in lines] == \
        ["2", "3", "4", "5", "6"]
    assert lines[0].find_element(By.TAG_NAME, "strong").text == "D'ANGELO Niccolò"
    badges = [b.text for b in lines[0].find_elements(By.CSS_SELECTOR, ".badge")]
    assert badges == ["PDF prodotto"]
    assert lines[1].find_element(By.CSS_SELECTOR, ".badge.s-skipped").text == "non dovuto"
    assert page.find_element(By.CSS_SELECTOR, "#batch .badge.s-ok").text == "PDF prodotto"
    assert "Riepilogo della produzione: report-job" in page.find_element(By.TAG_NAME, "h1").text
    counts = page.find_element(By.ID, "counts").text
    assert "4 prodotto" in counts and "1 non dovuto" in counts and "1 errore" in counts


def test_thumbnails_are_loaded_images(browser: Any, report: Path) -> None:
    """Every PDF shown has a thumbnail image that the browser really decodes."""
    page = open_page(browser, report)
    images = page.find_elements(By.CSS_SELECTOR, "img.thumb")
    assert len(images) == 4  # three certificates and the list of workers
    for image in images:
        page.execute_script("arguments[0].scrollIntoView()", image)
        WebDriverWait(page, 10).until(
            lambda d, i=image: d.execute_script("return arguments[0].complete", i))
        assert page.execute_script("return arguments[0].naturalWidth", image) > 0
        assert page.execute_script("return arguments[0].naturalHeight", image) > \
            page.execute_script("return arguments[0].naturalWidth", image)  # an A4 page
    assert not page.find_elements(By.CSS_SELECTOR, ".nothumb")


def test_every_link_resolves_to_a_file(browser: Any, report: Path) -> None:
    """Every link and image points to a file inside the output folder, even with # in a name."""
    page = open_page(browser, report)
    targets = [a.get_attribute("href") for a in page.find_elements(By.CSS_SELECTOR, "a[href]")]
    targets += [i.get_attribute("src") for i in page.find_elements(By.TAG_NAME, "img")]
    files = [t for t in targets if "#row-" not in t]
    assert len(files) > 10
    for target in files:
        url = urlparse(target)
        assert url.scheme == "file" and not url.fragment, target
        path = Path(unquote(url.path))
        assert path.is_file(), target
        assert path.resolve().is_relative_to(report.resolve())
    assert any("#1/attestato.pdf" in unquote(t) for t in files)


def test_filter_hides_and_shows_rows(browser: Any, report: Path) -> None:
    """Typing a name keeps only the matching rows; a status keeps the rows that have one."""
    page = open_page(browser, report)
    assert page.find_element(By.ID, "filter").is_displayed()
    field = page.find_element(By.ID, "filter-name")
    field.send_keys("bianchi")
    assert [r.find_element(By.TAG_NAME, "strong").text for r in visible_rows(page)] == \
        ["BIANCHI Giulia"]
    assert page.find_element(By.ID, "shown").text == "1"
    erase(field)
    field.send_keys("LCUMRA")  # by key
    assert len(visible_rows(page)) == 1
    erase(field)
    assert len(visible_rows(page)) == 5
    Select(page.find_element(By.ID, "filter-status")).select_by_value("failed")
    assert [r.find_element(By.CSS_SELECTOR, "td.num").text for r in visible_rows(page)] == ["5"]
    Select(page.find_element(By.ID, "filter-status")).select_by_value("")
    assert len(visible_rows(page)) == 5


def test_failed_row_shows_message_and_cell(browser: Any, report: Path) -> None:
    """A failed document shows its message in its row, and the cell to fix; listed on top."""
    page = open_page(browser, report)
    row = page.find_element(By.ID, "row-5")
    assert row.find_element(By.CSS_SELECTOR, ".badge.s-failed").text == "errore"
    message = row.find_element(By.CSS_SELECTOR, ".msg.failed").text
    assert "the field 'data_di_nascita' is empty" in message
    assert "Cella da correggere: roster.xlsx!D5" in row.text
    top = page.find_element(By.ID, "failures").text
    assert "Riga 5 · ROSSI Mario" in top and "data_di_nascita" in top


def test_roster_values_are_text_not_markup(browser: Any, report: Path) -> None:
    """A name holding HTML prints as written; it never becomes an element."""
    page = open_page(browser, report)
    row = page.find_element(By.ID, "row-6")
    assert row.find_element(By.TAG_NAME, "strong").text == "<B>EVIL</B> & =1+1 Anna"
    assert not row.find_elements(By.CSS_SELECTOR, "strong b")
    assert "<b>Evil</b>" not in (report / "index.html").read_text(encoding="utf-8")


def test_page_without_script_shows_everything(report: Path) -> None:
    """Without script the filter stays hidden and every row is in the page."""
    html = (report / "index.html").read_text(encoding="utf-8")
    assert '<form id="filter" hidden>' in html
    assert html.count('class="worker') == 5
    assert "http://" not in html and "https://" not in html  # nothing fetched from anywhere


def test_not_in_manifest_not_stale_and_thumbnails_cached(tmp_path: Path) -> None:
    """The page and spreadsheet are not documents; a re-run makes only new thumbnails and
    removes those no PDF uses any more."""
    job_file = write_job(tmp_path)
    out = tmp_path / "out"
    build(load_job(job_file), out, jobs=1)
    thumbs = {p.name: p.stat().st_mtime_ns for p in (out / ".thumbs").glob("*.png")}
    assert len(thumbs) == 4
    again = build(load_job(job_file), out, jobs=1)
    assert not again.stale and again.count("unchanged") == 4
    assert not any(line["path"] in ("index.html", "riepilogo.xlsx") or
                   line["path"].startswith(".thumbs") for line in manifest(out))
    assert {p.name: p.stat().st_mtime_ns for p in (out / ".thumbs").glob("*.png")} == thumbs
    workers = rows()
    workers[2][5] = 119  # Bianchi's hours: her certificate changes
    write_job(tmp_path, workers=workers)
    build(load_job(job_file), out, jobs=1)
    now = {p.name for p in (out / ".thumbs").glob("*.png")}
    assert len(now) == 4 and len(now - set(thumbs)) == 1  # her new certificate's; the old gone
    assert (out / "index.html").is_file() and (out / "riepilogo.xlsx").is_file()


def test_thumbnail_that_cannot_be_made_is_shown_missing(tmp_path: Path) -> None:
    """No thumbnails can be written: the build still succeeds and the page says so."""
    out = tmp_path / "out"
    out.mkdir()
    (out / ".thumbs").write_text("a file where the folder should be", encoding="utf-8")
    workers = rows()[:3]
    report = build(load_job(write_job(tmp_path, workers=workers)), out, jobs=1)
    assert report.exit_code == 0
    html = (out / "index.html").read_text(encoding="utf-8")
    assert html.count('class="nothumb">anteprima non disponibile') == 3 and "<img" not in html


def test_english_labels_and_file_name_follow_the_locale(tmp_path: Path) -> None:
    """A job in en_GB gets an English page and summary.xlsx; the Italian one is removed."""
    out = tmp_path / "out"
    build(load_job(write_job(tmp_path)), out, jobs=1)
    assert (out / "riepilogo.xlsx").is_file()
    build(load_job(write_job(tmp_path, locale="en_GB")), out, jobs=1)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "Build report: report-job" in html and "Cell to fix" in html
    assert (out / "summary.xlsx").is_file() and not (out / "riepilogo.xlsx").exists()
    assert os.path.getsize(out / "summary.xlsx") > 0


def test_every_language_has_every_label() -> None:
    """The labels table has the same words in English and Italian."""
    from docgen.overview.labels import LABELS, STATUSES

    english, italian = LABELS["en"], LABELS["it"]
    assert english.keys() == italian.keys() and set(STATUSES) <= english.keys()


def test_only_build_keeps_the_other_documents_on_the_page(tmp_path: Path) -> None:
    """After --only, the page shows what the manifest holds: the other documents too."""
    job_file = write_job(tmp_path)
    out = tmp_path / "out"
    build(load_job(job_file), out, jobs=1)
    build(load_job(job_file).select(("elenco",)), out, jobs=1, partial=True)
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "<th>attestato</th>" in html
    # three certificates kept, and the list: unchanged, since no row's problem touches it
    assert html.count('<a class="badge s-ok"') == 3
    assert html.count('<a class="badge s-unchanged"') == 1
    assert 'href="Bianchi_Giulia%20%231/attestato.pdf"' in html
