"""HTML template -> PDF bytes, with WeasyPrint, reading only files beside the template."""

from __future__ import annotations

import datetime as dt
import logging
import warnings
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import weasyprint
from weasyprint.text.fonts import FontConfiguration
from weasyprint.urls import URLFetcher

from docgen.clock import build_moment
from docgen.errors import LimitError, RenderError, describe
from docgen.job import METADATA_KEYS
from docgen.limits import is_pixel_error, pixels_error
from docgen.stylecache import StylesheetCache
from docgen.templating import make_environment, render_each

LOGGER = logging.getLogger("weasyprint")
# The job's [job.metadata] keys, plus what docgen sets itself for every document.
PROPERTIES = METADATA_KEYS | {"lang", "identifier"}
REFUSED = "refused:"
_IMAGE_CACHE_LIMIT = 256  # distinct image URLs kept per template (per-row photos would grow)



class SubsettingWarning(UserWarning):
    """WeasyPrint subsets fonts with fontTools: several times slower than HarfBuzz."""


def subsetting_backend() -> str:
    """``"harfbuzz"`` or ``"fonttools"``: what WeasyPrint will subset embedded fonts with."""
    from weasyprint.text.ffi import harfbuzz, harfbuzz_subset

    # The same test WeasyPrint makes before subsetting (pdf/fonts.py).
    if harfbuzz_subset and harfbuzz.hb_version_atleast(4, 1, 0):
        return "harfbuzz"
    return "fonttools"


def warn_if_slow_subsetting() -> None:
    if subsetting_backend() == "fonttools":
        message = ("HarfBuzz's subset library is missing: WeasyPrint falls back to fontTools "
                   "and PDFs are several times slower (Debian: apt-get install "
                   "libharfbuzz-subset0)")
        logging.getLogger("docgen").warning(message)
        warnings.warn(message, SubsettingWarning, stacklevel=2)


class FolderFetcher(URLFetcher):
    """Lets a template read files under its allowed folders (its own, the job file's, the
    job's assets) and ``data:`` URIs; nothing else.

    Every file it reads is noted in ``read`` (the renderer empties it per document), so a
    re-run knows which stylesheets, images and fonts a document was made from."""

    def __init__(self, folder: Path, *more: Path) -> None:
        super().__init__(allowed_protocols={"file", "data"})
        self.folder = folder.resolve()
        self.folders = tuple(dict.fromkeys(p.resolve() for p in (folder, *more)))
        self.read: list[Path] = []
        self.urls: dict[str, Path] = {}  # file URLs fetched so far: a cache hit reads them too

    def fetch(self, url: str, headers: Any = None) -> Any:
        scheme = urlsplit(url).scheme.lower()
        if scheme == "file":
            path = Path(unquote(urlsplit(url).path)).resolve()
            if not any(path.is_relative_to(f) for f in self.folders):
                raise ValueError(f"{REFUSED} {url} is outside the folders templates may read "
                                 f"({', '.join(map(str, self.folders))})")
            self.read.append(path)
            self.urls[url] = path
        elif scheme != "data":
            raise ValueError(f"{REFUSED} {url} (templates may only use files in their folder)")
        return super().fetch(url, headers)


class ImageCache(dict[str, Any]):
    """WeasyPrint's image cache, minus failures: WeasyPrint caches a missing image as None
    and logs the error only the first time, so later documents would silently pass. A cached
    image still counts as read by the document that uses it."""

    def __init__(self, fetcher: FolderFetcher | None = None) -> None:
        super().__init__()
        self.fetcher = fetcher

    def __getitem__(self, key: str) -> Any:
        if self.fetcher is not None and key in self.fetcher.urls:
            self.fetcher.read.append(self.fetcher.urls[key])
        return super().__getitem__(key)

    def __setitem__(self, key: str, value: Any) -> None:
        if value is None:
            return
        if len(self) >= _IMAGE_CACHE_LIMIT:
            self.clear()
        super().__setitem__(key, value)


class Rendered(bytes):
    """A document's bytes, with the references its renderer refused to fetch and the files
    it read (stylesheets, images, fonts; the templates themselves are known beforehand)."""

    warnings: tuple[str, ...] = ()
    reads: tuple[str, ...] = ()


class _Collect(logging.Handler):
    """WeasyPrint's errors fail the document, refused fetches too: a certificate is never
    made without the image a roster value names (and nothing outside the allowed folders
    is read)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.errors: list[str] = []
        self.refused: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            message = record.getMessage()
            # WeasyPrint raises an empty ImageLoadingError from the real one (Pillow's).
            for arg in record.args if isinstance(record.args, tuple) else ():
                if isinstance(arg, BaseException) and not str(arg) and arg.__cause__:
                    message = f"{message.rstrip()} {describe(arg.__cause__)}"
            (self.refused if REFUSED in message else self.errors).append(message)


@contextmanager
def _weasyprint_errors() -> Iterator[_Collect]:
    """WeasyPrint only logs a missing image; collect its errors to fail the document."""
    handler = _Collect()
    LOGGER.addHandler(handler)
    try:
        yield handler
    finally:
        LOGGER.removeHandler(handler)


def document_date(fixed: str | None = None) -> str:
    """Creation and modification date of every PDF, as a W3C date (see clock.build_moment)."""
    return build_moment(fixed).astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class PdfRenderer:
    """One HTML template, compiled once, with WeasyPrint's fonts, parsed stylesheets and
    images kept for the whole run; renders a context to PDF bytes."""

    def __init__(self, path: Path, locale: str, *, pdf_variant: str | None = None,
                 metadata: Mapping[str, str] | None = None, folders: tuple[Path, ...] = (),
                 max_pages: int | None = None, max_pixels: int | None = None) -> None:
        from weasyprint.pdf import VARIANTS

        unknown = set(metadata or {}) - PROPERTIES
        if unknown:
            raise ValueError(f"unknown PDF metadata: {', '.join(sorted(unknown))}")
        if pdf_variant is not None and pdf_variant not in VARIANTS:
            raise ValueError(f"unknown PDF variant {pdf_variant!r} "
                             f"(WeasyPrint knows {', '.join(sorted(VARIANTS))})")
        warn_if_slow_subsetting()
        self.path = path
        self.folder = path.parent.resolve()
        env = make_environment(locale, folder=self.folder, autoescape=True)
        self.template = env.get_template(path.name)
        # Metadata values may use the row's fields (a title with the worker's name); they
        # are plain text, not HTML, so no escaping.
        text_env = make_environment(locale)
        self.metadata = {key: text_env.from_string(value)
                         for key, value in (metadata or {}).items() if key != "date"}
        self.date = document_date((metadata or {}).get("date"))
        self.pdf_variant = pdf_variant
        self.max_pages, self.max_pixels = max_pages, max_pixels
        self.base_url = self.folder.as_uri() + "/"
        self.fetcher = FolderFetcher(self.folder, *folders)
        self.font_config = FontConfiguration()
        self.images = ImageCache(self.fetcher)
        self.stylesheets = StylesheetCache(self.fetcher.read)

    def render(self, context: dict[str, Any]) -> bytes:
        html = self.template.render(context)
        self.fetcher.read.clear()
        with _weasyprint_errors() as log, self.stylesheets.active():
            document = weasyprint.HTML(string=html, base_url=self.base_url,
                                       url_fetcher=self.fetcher).render(
                font_config=self.font_config, cache=self.images, pdf_variant=self.pdf_variant)
            if self.max_pages and len(document.pages) > self.max_pages:
                raise LimitError(f"the document has {len(document.pages):,} pages, more than "
                                 f"{self.max_pages}", "pages")
            identifier = self._set_metadata(document.metadata, context)
            pdf = document.write_pdf(pdf_variant=self.pdf_variant, pdf_identifier=identifier)
        bombs = [e for e in log.errors if is_pixel_error(e)]
        if bombs:
            raise pixels_error(bombs[0], self.max_pixels or 0)
        if log.errors or log.refused:
            raise RenderError("; ".join(dict.fromkeys(log.refused + log.errors)))
        result = Rendered(pdf)
        result.warnings = tuple(dict.fromkeys(log.refused))
        result.reads = tuple(sorted({str(p) for p in self.fetcher.read}))
        return result

    def _set_metadata(self, metadata: Any, context: dict[str, Any]) -> bytes | None:
        """The job's metadata over the HTML's own (<title>, <meta name=author>...);
        returns the PDF identifier (None: WeasyPrint's default for the variant)."""
        values = {key: template.render(context) for key, template in self.metadata.items()}
        if "title" in values:
            metadata.title = values["title"]
        if "author" in values:
            metadata.authors = [values["author"]]
        if "subject" in values:
            metadata.description = values["subject"]
        if "keywords" in values:
            metadata.keywords = [k.strip() for k in values["keywords"].split(",") if k.strip()]
        if "lang" in values:
            metadata.lang = values["lang"]
        metadata.created = metadata.modified = self.date
        if payload := getattr(context.get("seal"), "payload", None):  # sealed: into the XMP too
            from docgen.seal.xmp import seal_weasyprint_metadata

            seal_weasyprint_metadata(metadata, payload)
        return values["identifier"].encode("utf-8") if values.get("identifier") else None

    def render_many(self, contexts: list[dict[str, Any]]) -> list[bytes | Exception]:
        """One result per context; a failure is returned in its place.

        Documents are laid out one by one: laying many rows out as one multi-page document
        and splitting the pages was measured slower with these templates (layout dominates,
        and WeasyPrint re-makes pages of a long document), and it breaks page counters."""
        return render_each(self.render, contexts)
