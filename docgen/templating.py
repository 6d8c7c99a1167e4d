"""The one Jinja environment: sandboxed, strict, Babel filters; the context templates see."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template
from jinja2.sandbox import ImmutableSandboxedEnvironment, SecurityError

from docgen.cell_values import parse_date

# Names every template gets besides the row's fields.
BUILTINS = frozenset({"course", "job", "row", "rows", "today", "__key__", "seal"})


class Undefined(StrictUndefined):
    """Strict: printing, comparing or looping over a name that does not exist is an error,
    never a blank. But it is false in an ``if``: ``{% if note %}`` is how a template says
    it handles the field's absence (``check`` reports such a name when no column gives it)."""

    __slots__ = ()

    def __bool__(self) -> bool:
        return False


# What one render may produce: far above any certificate (a 200-page list is a few MB), far
# below what exhausts a worker's memory. Jinja's sandbox already caps range() at 100,000.
MAX_OUTPUT = 50_000_000
_MAX_POWER_BITS = 100_000


class BoundedTemplate(Template):
    """A template whose render stops with SecurityError once its output passes MAX_OUTPUT
    characters, instead of growing until memory runs out."""

    def render(self, *args: Any, **kwargs: Any) -> str:
        context = self.new_context(dict(*args, **kwargs))
        try:
            pieces, size = [], 0
            for piece in self.root_render_func(context):
                size += len(piece)
                if size > MAX_OUTPUT:
                    raise SecurityError(f"the template's output passed {MAX_OUTPUT:,} characters "
                                        "(a loop without end?)")
                pieces.append(piece)
            return self.environment.concat(pieces)  # type: ignore[attr-defined,no-any-return]
        except Exception:
            self.environment.handle_exception()


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """Jinja's sandbox, plus bounds on the operators that build huge values in one step:
    ``'x' * 10**10``, ``[0] * 10**10``, ``10 ** 10**10``."""

    intercepted_binops = frozenset({"*", "**"})
    template_class = BoundedTemplate

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for sequence, times in ((left, right), (right, left)):
                if (isinstance(sequence, str | list | tuple) and isinstance(times, int)
                        and len(sequence) * times > MAX_OUTPUT):
                    raise SecurityError(f"repeating a value {times:,} times would make "
                                        f"{len(sequence) * times:,} items (limit {MAX_OUTPUT:,})")
        elif (isinstance(left, int) and isinstance(right, int) and abs(left) > 1
              and right * max(1, abs(left).bit_length()) > _MAX_POWER_BITS):
            raise SecurityError(f"{left} ** {right} is too large a number")
        return super().call_binop(context, operator, left, right)


@lru_cache(maxsize=8)
def _locale(code: str) -> Any:
    from babel import Locale

    return Locale.parse(code)


def as_date(value: Any) -> dt.date:
    """A date, a datetime, or text written as the roster's dates are (cell_values.parse_date),
    as a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str) and (parsed := parse_date(value.strip())):
        return parsed
    raise ValueError(f"{value!r} is not a date")


def format_date(value: Any, format: str = "short", *, locale: str = "it_IT") -> str:
    """``date`` filter: ``short`` -> 12/03/1975, ``long`` -> 12 marzo 1975 (``1°`` on the first)."""
    if value is None or value == "":
        return ""
    from babel.dates import format_date as babel_format_date

    day = as_date(value)
    loc = _locale(locale)
    if format in ("short", "medium", "long", "full"):
        pattern = loc.date_formats[format].pattern
        if format == "short" and "yyyy" not in pattern:
            pattern = pattern.replace("yy", "yyyy")  # official letters write the full year
        if loc.language == "it" and day.day == 1 and format in ("long", "full"):
            pattern = re.sub(r"(?<![d'])d(?!d)", "d'°'", pattern)
        return babel_format_date(day, pattern, locale=loc)
    return babel_format_date(day, format, locale=loc)


def format_number(value: Any, format: str | None = None, *, locale: str = "it_IT") -> str:
    """``number`` filter: 1234.5 -> ``1.234,5`` in it_IT."""
    if value is None or value == "":
        return ""
    from babel.numbers import format_decimal

    if isinstance(value, str):
        try:
            value = float(value.replace(",", "."))
        except ValueError:
            raise ValueError(f"{value!r} is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{value!r} is not a number")
    return format_decimal(value, format=format, locale=_locale(locale))


def make_environment(
    locale: str,
    *,
    folder: Path | None = None,
    autoescape: bool = False,
    finalize: Callable[[Any], Any] | None = None,
) -> BoundedSandbox:
    """A sandboxed, strict environment: a missing variable is an error, never a blank.

    ``folder`` lets ``{% include %}`` read templates beside the main one, and nothing above it.
    """
    env = BoundedSandbox(
        undefined=Undefined,
        autoescape=autoescape,
        loader=FileSystemLoader(str(folder)) if folder else None,
        finalize=finalize,
        keep_trailing_newline=True,
    )
    env.filters["date"] = lambda value, format="short": format_date(value, format, locale=locale)
    env.filters["number"] = lambda value, format=None: format_number(value, format, locale=locale)
    return env


def row_context(fields: Mapping[str, Any], *, number: int | None, course: Mapping[str, Any],
                job: Mapping[str, Any], today: dt.date) -> dict[str, Any]:
    """What a per-row template sees; an empty optional value is the empty string, never None."""
    context = {name: ("" if value is None else value) for name, value in fields.items()}
    context.update(course=course, job=job, row=number, today=today)
    return context


def render_each(render: Callable[[dict[str, Any]], bytes],
                contexts: list[dict[str, Any]]) -> list[bytes | Exception]:
    """``render`` over each context; a failure is returned in its place, so one row's bad
    value never stops the others."""
    results: list[bytes | Exception] = []
    for context in contexts:
        try:
            results.append(render(context))
        except Exception as err:  # reported as that document's failure
            results.append(err)
    return results
