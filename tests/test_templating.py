"""The one Jinja environment (templating.py): Babel filters, strictness, sandbox, escaping."""

from __future__ import annotations

import datetime as dt

import pytest
from jinja2 import UndefinedError
from jinja2.sandbox import SecurityError

from docgen.templating import format_date, format_number, make_environment


def test_date_filter_short_and_long() -> None:
    """Dates print as 12/03/1975 and 12 marzo 1975."""
    day = dt.date(1975, 3, 12)
    assert format_date(day) == "12/03/1975"
    assert format_date(day, "long") == "12 marzo 1975"


def test_date_filter_first_of_month() -> None:
    """Official letters write the first of the month as 1°."""
    assert format_date(dt.date(2026, 1, 1), "long") == "1° gennaio 2026"
    assert format_date(dt.date(2026, 1, 10), "long") == "10 gennaio 2026"


def test_date_filter_accepts_text_dates() -> None:
    """dd/mm/yyyy and ISO text print like dates; other text is an error."""
    assert format_date("05/11/1970", "long") == "5 novembre 1970"
    assert format_date("2026-01-22", "long") == "22 gennaio 2026"
    with pytest.raises(ValueError, match="not a date"):
        format_date("ieri")


def test_number_filter_italian() -> None:
    """Decimal comma and dot for thousands."""
    assert format_number(1234.5) == "1.234,5"
    assert format_number(72) == "72"
    assert format_number("97,5") == "97,5"


def test_missing_variable_is_an_error() -> None:
    """StrictUndefined: a missing name never prints as a blank."""
    env = make_environment("it_IT")
    with pytest.raises(UndefinedError):
        env.from_string("{{ nome }}").render()


def test_values_are_data_and_escaped() -> None:
    """A roster value holding template code or HTML prints literally, escaped."""
    env = make_environment("it_IT", autoescape=True)
    out = env.from_string("<p>{{ nome }}</p>").render(nome="{{ 7*7 }} <b>&")
    assert out == "<p>{{ 7*7 }} &lt;b&gt;&amp;</p>"


def test_sandbox_blocks_attribute_escapes() -> None:
    """Templates cannot reach Python internals."""
    env = make_environment("it_IT")
    with pytest.raises(SecurityError):
        env.from_string("{{ ''.__class__.__mro__ }}").render()
