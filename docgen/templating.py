"""The one Jinja environment: sandboxed, strict, Babel filters; fields a template uses."""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable, Iterator, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, meta, nodes
from jinja2.sandbox import ImmutableSandboxedEnvironment

# Names every template gets besides the row's fields.
BUILTINS = frozenset({"course", "job", "row", "rows", "today", "__key__", "seal"})
_JINJA_GLOBALS = frozenset({"range", "dict", "lipsum", "cycler", "joiner", "namespace"})
_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@lru_cache(maxsize=8)
def _locale(code: str) -> Any:
    from babel import Locale

    return Locale.parse(code)


def as_date(value: Any) -> dt.date:
    """A date, a datetime, or text written dd/mm/yyyy or yyyy-mm-dd, as a date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        text = value.strip()
        if match := _DMY.match(text):
            day, month, year = (int(g) for g in match.groups())
            return dt.date(year, month, day)
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            pass
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
) -> ImmutableSandboxedEnvironment:
    """A sandboxed, strict environment: a missing variable is an error, never a blank.

    ``folder`` lets ``{% include %}`` read templates beside the main one, and nothing above it.
    """
    env = ImmutableSandboxedEnvironment(
        undefined=StrictUndefined,
        autoescape=autoescape,
        loader=FileSystemLoader(str(folder)) if folder else None,
        finalize=finalize,
        keep_trailing_newline=True,
    )
    env.filters["date"] = lambda value, format="short": format_date(value, format, locale=locale)
    env.filters["number"] = lambda value, format=None: format_number(value, format, locale=locale)
    return env


def names_used(env: Any, source: str) -> set[str]:
    """Top-level names a template reads (besides what it defines itself)."""
    return set(meta.find_undeclared_variables(env.parse(source))) - _JINJA_GLOBALS


def _attribute_reads(env: Any, source: str) -> Iterator[tuple[str, str]]:
    """(variable, attribute) pairs such as ("r", "cognome") for ``r.cognome`` or ``r['cognome']``."""
    tree = env.parse(source)
    for node in tree.find_all(nodes.Getattr):
        if isinstance(node.node, nodes.Name):
            yield node.node.name, node.attr
    for node in tree.find_all(nodes.Getitem):
        if (isinstance(node.node, nodes.Name) and isinstance(node.arg, nodes.Const)
                and isinstance(node.arg.value, str)):
            yield node.node.name, node.arg.value


# Filters whose string arguments name attributes of the items: sort(attribute='cognome').
_ATTRIBUTE_FILTERS = {"sort", "groupby", "selectattr", "rejectattr", "map", "sum", "unique",
                      "min", "max"}
_FIRST_ARGUMENT_IS_ATTRIBUTE = {"groupby", "selectattr", "rejectattr"}


def _names(node: nodes.Node) -> set[str]:
    found = {n.name for n in node.find_all(nodes.Name)}
    return found | ({node.name} if isinstance(node, nodes.Name) else set())


def _targets(node: nodes.Node) -> set[str]:
    return {n.name for n in node.find_all(nodes.Name)} | (
        {node.name} if isinstance(node, nodes.Name) else set())


def _row_variables(tree: nodes.Template) -> set[str]:
    """Loop variables that stand for a row of ``rows``: ``r`` in ``for r in rows``, and ``w``
    in ``for g in rows | groupby('sede')`` ... ``for w in g.list``."""
    rows, groups = {"rows"}, set()
    for loop in tree.find_all(nodes.For):
        iterated = _names(loop.iter)
        grouped = any(f.name == "groupby" for f in loop.iter.find_all(nodes.Filter)) or (
            isinstance(loop.iter, nodes.Filter) and loop.iter.name == "groupby")
        if iterated & rows and grouped:
            groups |= _targets(loop.target)
        elif iterated & rows or (isinstance(loop.iter, nodes.Getattr) and loop.iter.attr == "list"
                                 and iterated & groups):
            rows |= _targets(loop.target)
    return rows - {"rows"}


def attributes_used(env: Any, source: str) -> set[str]:
    """The fields a batch template reads on its rows: ``r.cognome`` for a row variable ``r``,
    and attribute names given to filters over ``rows`` (``sort(attribute='cognome')``)."""
    tree = env.parse(source)
    variables = _row_variables(tree)
    found = {attr for name, attr in _attribute_reads(env, source) if name in variables}
    for node in tree.find_all(nodes.Filter):
        if node.name in _ATTRIBUTE_FILTERS and node.node is not None and (
                _names(node.node) & (variables | {"rows"})):
            arguments = [k.value for k in node.kwargs if k.key == "attribute"]
            if node.name in _FIRST_ARGUMENT_IS_ATTRIBUTE and node.args:
                arguments.append(node.args[0])
            for argument in arguments:
                if isinstance(argument, nodes.Const) and isinstance(argument.value, str):
                    found |= {a.strip() for a in argument.value.split(",") if a.strip()}
    return found


def course_entries(env: Any, source: str) -> set[str]:
    """``course.title`` and the like: the [course] entries a template reads."""
    return {f"course.{attr}" for name, attr in _attribute_reads(env, source) if name == "course"}


def expression_source(expression: str) -> str:
    """A ``when`` expression as template source, for parsing and finding its names."""
    return "{{ (" + expression + ") }}"


def build_date() -> dt.date:
    """``today`` for templates: fixed by SOURCE_DATE_EPOCH for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.UTC).date()
    return dt.date.today()


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
