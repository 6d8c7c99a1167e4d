"""The report page, index.html: one self-contained file that opens from the file system."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from urllib.parse import quote

from docgen import __version__
from docgen.overview.labels import STATUSES, labels_for
from docgen.overview.table import Overview
from docgen.templating import format_date, make_environment

PAGE = "index.html"


def href(path: str) -> str:
    """A relative link to a file in the output folder: every character a URL treats specially
    (``#``, ``?``, ``%``, spaces, quotes) escaped, accents as UTF-8."""
    return quote(path, safe="/")


def page_html(overview: Overview, thumbs: Mapping[str, str], sheet_file: str) -> str:
    """The page; every value from the roster is HTML-escaped (autoescape)."""
    env = make_environment(overview.locale, folder=Path(__file__).parent, autoescape=True)
    env.filters["href"] = href
    made = (f"{format_date(overview.made.date(), 'long', locale=overview.locale)}, "
            f"{overview.made:%H:%M}")
    return env.get_template("page.html").render(
        ov=overview, words=labels_for(overview.locale), thumbs=thumbs, statuses=STATUSES,
        made=made, lang=overview.locale.split("_")[0], sheet_file=sheet_file,
        version=__version__)
