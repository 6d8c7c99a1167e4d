"""Cell text to values: Excel's escapes, dates typed as text, numbers as the locale writes them."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

# ECMA-376 ST_Xstring: Excel writes a character XML cannot hold as _xHHHH_ (and a literal
# "_x" that would read as one as _x005F_x...); one left-to-right pass undoes both.
_XSTRING = re.compile(r"_x([0-9A-Fa-f]{4})_")
_INT = re.compile(r"^-?(0|[1-9]\d*)$")
_DECIMAL = re.compile(r"^-?(0|[1-9]\d*)[.,]\d+$")
_GROUPED = re.compile(r"^-?[1-9]\d{0,2}(\.\d{3})+,\d+$")  # 1.234,5 as Italian Excel writes it
_DMY = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY_ANY = re.compile(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2,4}$")  # date-shaped, two-digit years too
# Field names that say the column holds dates: data_di_nascita, nato_il, data_esame, ...
_DATE_NAME = re.compile(r"(^|_)(data|date|nascita|nato|nata|il|giorno|scadenza)(_|$)")


def decode_xstring(text: str) -> str:
    """``_x000B_Grazia`` -> ``\\x0bGrazia``; ``_x005F_x000B_`` -> the text ``_x000B_``."""
    if "_x" not in text:
        return text
    decoded = _XSTRING.sub(lambda m: chr(int(m.group(1), 16)), text)
    if any("\ud800" <= c <= "\udfff" for c in decoded):
        # Excel escapes UTF-16 units: rejoin surrogate pairs; a lone half is dropped.
        decoded = decoded.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "ignore")
    return decoded


def parse_date(text: str) -> dt.date | None:
    """dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy or yyyy-mm-dd as a date; None for anything else
    (two-digit years included: 12/03/75 stays text, and the checks say how to write it)."""
    if match := _DMY.match(text):
        day, month, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
    elif match := _ISO.match(text):
        year, month, day = (int(g) for g in match.groups())
    else:
        return None
    try:
        return dt.date(year, month, day)
    except ValueError:
        return None


def is_date_column(name: str, values: Sequence[Any]) -> bool:
    """A column of dates: its name says so, a cell holds a real date, or most texts look like
    dates. Each text cell in it is then parsed on its own, whatever its neighbours are."""
    present = [v for v in values if v is not None]
    if not present:
        return False
    if _DATE_NAME.search(name) or any(isinstance(v, dt.date) for v in present):
        return True
    shaped = sum(isinstance(v, str) and bool(_DMY_ANY.match(v) or _ISO.match(v))
                 for v in present)
    return shaped * 2 >= len(present)


@lru_cache(maxsize=8)
def separators(locale: str | None) -> tuple[str, str] | None:
    """The locale's (decimal, thousands) symbols, or None for docgen's locale-free reading."""
    if not locale:
        return None
    from babel.numbers import get_decimal_symbol, get_group_symbol

    return get_decimal_symbol(locale), get_group_symbol(locale)


@dataclass(frozen=True)
class Ambiguous:
    """A number whose thousands separator could also be a decimal point."""

    text: str
    grouped: int  # what the locale reads: 1.072 -> 1072
    other: str  # the cell of the column that uses the separator as a decimal point


def read_number(text: str, locale: str | None = None, decimal_elsewhere: str | None = None
                ) -> Any:
    """A number written as text, as ``locale`` writes numbers; other text is returned as is.

    ``decimal_elsewhere`` is a cell of the same column that writes the locale's thousands
    separator as a decimal point (72.5 in an Italian column): then 1.072 is Ambiguous.
    """
    symbols = separators(locale)
    if symbols is None:  # no locale: 1.5 and 1,5 are decimals, 1.234,5 is Italian
        if _INT.match(text):
            return int(text)
        if _DECIMAL.match(text):
            return _whole(float(text.replace(",", ".")))
        if _GROUPED.match(text):
            return float(text.replace(".", "").replace(",", "."))
        return text
    decimal, group = symbols
    if _INT.match(text):
        return int(text)
    grouped = re.match(rf"^-?[1-9]\d{{0,2}}({re.escape(group)}\d{{3}})+"
                       rf"({re.escape(decimal)}\d+)?$", text)
    if grouped:
        number = _whole(float(text.replace(group, "").replace(decimal, ".")))
        if not grouped.group(2) and decimal_elsewhere is not None and group in ".,":
            return Ambiguous(text, int(number), decimal_elsewhere)
        return number
    if _DECIMAL.match(text):  # either mark as a decimal point: a clerk's habit, unambiguous
        return _whole(float(text.replace(",", ".")))
    return text


def decimal_use(text: str, locale: str | None) -> bool:
    """Whether ``text`` uses the locale's thousands separator as a decimal point (72.5 in it_IT)."""
    symbols = separators(locale)
    if symbols is None or symbols[1] not in ".,":
        return False
    group = symbols[1]
    match = re.match(rf"^-?\d+{re.escape(group)}(\d+)$", text)
    return bool(match) and (len(match.group(1)) != 3 or text.lstrip("-").startswith("0"))


def _whole(number: float) -> int | float:
    return int(number) if number.is_integer() else number
