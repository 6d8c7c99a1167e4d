"""HTML template -> PDF bytes, with WeasyPrint, reading only files beside the template."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from docgen.templating import make_environment

LOGGER = logging.getLogger("weasyprint")


class RenderError(Exception):
    """WeasyPrint reported a problem (missing image, refused URL, bad CSS) for one document."""


class FolderFetcher(URLFetcher):
    """Lets a template read files under its own folder and ``data:`` URIs; nothing else."""

    def __init__(self, folder: Path) -> None:
        super().__init__(allowed_protocols={"file", "data"})
        self.folder = folder.resolve()

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not path.is_relative_to(self.folder):
                raise ValueError(f"refused: {url} is outside the template folder {self.folder}")
        elif scheme != "data":
            raise ValueError(f"refused: {url} (templates may only use files in their folder)")
        return super().fetch(url, headers)


class _Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            self.errors.append(record.getMessage())


@contextmanager
def _weasyprint_errors() -> Iterator[_Collect]:
    """WeasyPrint only logs a missing image; collect its errors to fail the document."""
    handler = _Collect()
    LOGGER.addHandler(handler)
    try:
        yield handler
    finally:
        LOGGER.removeHandler(handler)


class PdfRenderer:
    """One HTML template, compiled once; renders a context to PDF bytes."""

    def __init__(self, path: Path, locale: str) -> None:
        self.path = path
        self.folder = path.parent.resolve()
        env = make_environment(locale, folder=self.folder, autoescape=True)
        self.template = env.get_template(path.name)
        self.base_url = self.folder.as_uri() + "/"
        self.fetcher = FolderFetcher(self.folder)
        self.font_config = FontConfiguration()

    def render(self, context: dict[str, Any]) -> bytes:
        html = self.template.render(context)
        with _weasyprint_errors() as log:
            document = weasyprint.HTML(string=html, base_url=self.base_url,
                                       url_fetcher=self.fetcher)
            pdf = document.write_pdf(font_config=self.font_config)
        if log.errors:
            raise RenderError("; ".join(dict.fromkeys(log.errors)))
        return pdf

    def render_many(self, contexts: list[dict[str, Any]]) -> list[bytes | Exception]:
        """One result per context; a failure is returned in its place."""
        results: list[bytes | Exception] = []
        for context in contexts:
            try:
                results.append(self.render(context))
            except Exception as err:  # one row's failure must not stop the others
                results.append(err)
        return results
