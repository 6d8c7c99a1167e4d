"""Parse a template's stylesheets once per process instead of once per document.

WeasyPrint parses every ``<style>`` and ``<link rel=stylesheet>`` of every document it
renders (tokenising, validating, building the selector matcher): about a tenth of a
certificate's cost. WeasyPrint has no hook for this, so while a document renders, the name
``CSS`` that its stylesheet finder calls is swapped for a cache. A parsed stylesheet is
immutable once built; what parsing adds to the document (``@page`` rules) is recorded and
replayed, and the errors it logged (an ``@import`` that failed) are logged again for every
document, so a document that would fail still fails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_LIMIT = 64  # distinct stylesheets kept: a <style> with per-row values would grow otherwise
_LOGGER = logging.getLogger("weasyprint")


class _Recorder(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class StylesheetCache:
    """Parsed stylesheets of one template, keyed by their source and how they were asked for.

    ``reads`` is the list the template's URL fetcher appends each file it reads to: what parsing
    a stylesheet read (its @imports and fonts) is replayed into it on a cache hit, so each
    document still counts the files its stylesheets come from."""

    def __init__(self, reads: list[Any] | None = None) -> None:
        self._sheets: dict[tuple[Any, ...], tuple[Any, list[Any], list[logging.LogRecord]]] = {}
        self._reads = reads if reads is not None else []
        self._files: dict[tuple[Any, ...], list[Any]] = {}

    @contextmanager
    def active(self) -> Iterator[None]:
        """Serve WeasyPrint's stylesheet parsing from the cache while a document renders."""
        import weasyprint.css

        original = weasyprint.css.CSS

        def cached(*args: Any, **kwargs: Any) -> Any:
            return self._get(original, args, kwargs)

        weasyprint.css.CSS = cached
        try:
            yield
        finally:
            weasyprint.css.CSS = original

    def _get(self, parse: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        key = _key(args, kwargs)
        page_rules = kwargs.get("page_rules")
        if key is not None and key in self._sheets:
            sheet, added_rules, errors = self._sheets[key]
            if page_rules is not None:
                page_rules.extend(added_rules)
            for record in errors:
                _LOGGER.handle(record)
            self._reads.extend(self._files.get(key, ()))
            return sheet
        first_read = len(self._reads)
        before = _side_state(kwargs)
        first_rule = len(page_rules) if page_rules is not None else 0
        recorder = _Recorder()
        _LOGGER.addHandler(recorder)
        try:
            sheet = parse(*args, **kwargs)
        finally:
            _LOGGER.removeHandler(recorder)
        # @counter-style, @layer and colour profiles change per-document state that is not
        # replayed: such a stylesheet is parsed again for every document.
        if key is not None and _side_state(kwargs) == before:
            if len(self._sheets) >= _LIMIT:
                self._sheets.clear()
                self._files.clear()
            self._files[key] = list(self._reads[first_read:])
            added = list(page_rules[first_rule:]) if page_rules is not None else []
            self._sheets[key] = (sheet, added, recorder.records)
        return sheet


def _key(args: tuple[Any, ...], kwargs: dict[str, Any]) -> tuple[Any, ...] | None:
    """Source text or URL, base URL and media; None for anything else (a file object)."""
    if args or not (isinstance(kwargs.get("string"), str) or isinstance(kwargs.get("url"), str)):
        return None
    return (kwargs.get("string"), kwargs.get("url"), kwargs.get("base_url"),
            kwargs.get("media_type"), kwargs.get("layer"), id(kwargs.get("font_config")))


def _side_state(kwargs: dict[str, Any]) -> tuple[Any, ...]:
    counter_style = kwargs.get("counter_style")
    layers = kwargs.get("layers")
    profiles = kwargs.get("color_profiles")
    return (tuple(counter_style) if counter_style is not None else (),
            len(layers) if layers is not None else 0,
            tuple(profiles) if profiles is not None else ())
