"""Data checks on roster rows: fiscal codes, e-mails, dates, hours, numbers in text columns.

Which columns hold what is declared in ``[job.checks]``; without it, columns are recognised
by their usual field names.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from docgen.roster import Roster, Row

Severity = Literal["error", "warning"]

DEFAULTS: dict[str, tuple[str, ...]] = {
    "fiscal_code": ("codice_fiscale", "cod_fiscale", "codicefiscale", "cf", "c_f"),
    "email": ("email", "e_mail", "mail", "posta_elettronica", "indirizzo_email"),
    "birth_date": ("data_di_nascita", "data_nascita", "nato_il", "nascita"),
    "sex": ("sesso", "genere"),
    "hours": ("ore_frequentate", "ore_di_frequenza", "ore_presenza", "ore"),
}
_SEX = {"m": "M", "maschio": "M", "uomo": "M", "male": "M",
        "f": "F", "femmina": "F", "donna": "F", "female": "F"}
MIN_AGE, MAX_AGE = 15, 100
# What Excel shows in a cell whose formula failed; openpyxl reads it as text.
EXCEL_ERRORS = {"#N/A", "#VALUE!", "#REF!", "#DIV/0!", "#NUM!", "#NAME?", "#NULL!", "#SPILL!",
                "#CALC!", "#GETTING_DATA"}


@dataclass(frozen=True)
class Issue:
    """One problem with one cell."""

    row: int
    field: str
    message: str
    fix: str
    severity: Severity = "error"


@dataclass(frozen=True)
class CheckColumns:
    """Which field holds what; None switches that check off."""

    fiscal_code: str | None = None
    email: str | None = None
    birth_date: str | None = None
    sex: str | None = None
    hours: str | None = None
    numeric: tuple[str, ...] = ()


def check_columns(settings: Mapping[str, Any], fields: Sequence[str]) -> CheckColumns:
    """Columns from ``[job.checks]``; a missing entry defaults by field name, false switches off."""
    chosen: dict[str, Any] = {}
    for kind, names in DEFAULTS.items():
        if kind in settings:
            value = settings[kind]
            chosen[kind] = value if isinstance(value, str) and value in fields else None
        else:
            chosen[kind] = next((n for n in names if n in fields), None)
    numeric = settings.get("numeric", [])
    chosen["numeric"] = tuple(n for n in numeric if n in fields) if isinstance(numeric, list) else ()
    return CheckColumns(**chosen)


def check_roster(roster: Roster, columns: CheckColumns, course: Mapping[str, Any],
                 today: dt.date) -> list[Issue]:
    """Every problem in every row, in row order."""
    start = course.get("start") if isinstance(course.get("start"), dt.date) else today
    hours = course.get("hours") if isinstance(course.get("hours"), int | float) else None
    numeric = set(columns.numeric) | set(_mostly_numeric(roster, columns))
    issues: list[Issue] = []
    for row in roster.rows:
        issues += _check_row(row, columns, numeric, start, hours)
    issues += [Issue(number, name, "control characters (invisible, illegal in documents) "
                     "were removed from the value", "retype the cell", "warning")
               for number, name in roster.cleaned]
    return sorted(issues, key=lambda i: i.row)


def _check_row(row: Row, columns: CheckColumns, numeric: set[str], start: dt.date,
               hours: float | None) -> Iterator[Issue]:
    def value(name: str | None) -> Any:
        return row.value(name) if name else None

    for name, cell in row.fields.items():
        if isinstance(cell, str) and cell in EXCEL_ERRORS:
            yield Issue(row.number, name, f"the cell shows the Excel error {cell}: its formula "
                        "failed", "fix the formula, or type the value")

    if (code := value(columns.fiscal_code)) is not None:
        yield from _fiscal_code(row, columns, str(code))
    if (email := value(columns.email)) is not None:
        yield from _email(row.number, columns.email or "", str(email))
    if (born := value(columns.birth_date)) is not None:
        yield from _birth_date(row.number, columns.birth_date or "", born, start)
    if (done := value(columns.hours)) is not None:
        yield from _hours(row.number, columns.hours or "", done, hours)
    for name in sorted(numeric - {columns.hours}):
        text = row.value(name)
        if isinstance(text, str) and not text.isdigit() and text not in EXCEL_ERRORS:
            yield Issue(row.number, name, f"text '{text}' in a column of numbers",
                        "write a number (decimal comma allowed: 72,5)")


def _fiscal_code(row: Row, columns: CheckColumns, code: str) -> Iterator[Issue]:
    from stdnum.exceptions import InvalidChecksum, InvalidComponent, ValidationError
    from stdnum.it import codicefiscale

    field = columns.fiscal_code or ""
    compact = codicefiscale.compact(code)
    if len(compact) != 16:
        yield Issue(row.number, field, f"codice fiscale '{code}' has {len(compact)} characters, "
                    "not 16", "copy it again from the worker's health card (tessera sanitaria)")
        return
    try:
        codicefiscale.validate(compact)
    except InvalidChecksum:
        expected = codicefiscale.calc_check_digit(compact[:15])
        yield Issue(row.number, field, f"codice fiscale '{code}' has a wrong check character: "
                    f"'{compact[15]}' where the code's other characters give '{expected}'",
                    "one of the 16 characters is mistyped: copy it again from the health card")
        return
    except InvalidComponent:
        yield Issue(row.number, field, f"codice fiscale '{code}' holds an impossible birth date",
                    "copy it again from the health card")
        return
    except ValidationError:
        yield Issue(row.number, field, f"'{code}' is not a codice fiscale (6 letters, 2 digits, "
                    "a letter, 2 digits, a letter, 3 digits, a letter)",
                    "copy it again from the health card")
        return
    if compact != code:
        yield Issue(row.number, field, f"codice fiscale '{code}' is not written in capitals "
                    "without spaces", f"write it as {compact}", "warning")
    yield from _agrees_with_code(row, columns, compact)


def _agrees_with_code(row: Row, columns: CheckColumns, code: str) -> Iterator[Issue]:
    from stdnum.it import codicefiscale

    born = row.value(columns.birth_date) if columns.birth_date else None
    if isinstance(born, dt.date):
        coded = codicefiscale.get_birth_date(code)
        if (coded.day, coded.month, coded.year % 100) != (born.day, born.month, born.year % 100):
            yield Issue(row.number, columns.birth_date or "",
                        f"birth date {born:%d/%m/%Y} disagrees with the codice fiscale "
                        f"({coded:%d/%m/%y})", "check both against the health card", "warning")
    sex = row.value(columns.sex) if columns.sex else None
    if isinstance(sex, str):
        given = _SEX.get(sex.strip().lower())
        if given is None:
            yield Issue(row.number, columns.sex or "", f"sex '{sex}' is neither M nor F",
                        "write M or F", "warning")
        elif given != codicefiscale.get_gender(code):
            yield Issue(row.number, columns.sex or "", f"sex {given} disagrees with the codice "
                        f"fiscale ({codicefiscale.get_gender(code)})",
                        "check both against the health card", "warning")


SEVERAL_ADDRESSES_FIX = ("keep the worker's own address; put an office's copy in [mail] bcc, "
                         "or send the other by hand")


def several_addresses(value: str) -> str | None:
    """The one rule for several addresses in one cell, in check, build and mail: an error
    (docgen sends one worker's documents to one address only)."""
    parts = [part for part in re.split(r"[;,\s]+", value.strip()) if part]
    if len(parts) > 1:
        return f"several e-mail addresses in one cell ({', '.join(parts)}): one address per worker"
    return None


def _email(number: int, field: str, email: str) -> Iterator[Issue]:
    from email_validator import EmailNotValidError, validate_email

    if problem := several_addresses(email):
        yield Issue(number, field, problem, SEVERAL_ADDRESSES_FIX)
        return
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as err:
        yield Issue(number, field, f"'{email}' is not a valid e-mail address: {err}",
                    "correct the address, or leave it empty if the worker has none")


def _birth_date(number: int, field: str, born: Any, start: dt.date) -> Iterator[Issue]:
    if isinstance(born, str):
        from docgen.templating import as_date

        with contextlib.suppress(ValueError):  # dd/mm/yyyy text prints as a date too
            born = as_date(born)
    if not isinstance(born, dt.date):
        yield Issue(number, field, f"'{born}' is not a date", "write it as 12/03/1975, or format "
                    "the cell as a date")
        return
    if born > start:
        yield Issue(number, field, f"birth date {born:%d/%m/%Y} is after the course start "
                    f"({start:%d/%m/%Y})", "check the year")
        return
    age = start.year - born.year - ((start.month, start.day) < (born.month, born.day))
    if age < MIN_AGE or age > MAX_AGE:
        yield Issue(number, field, f"birth date {born:%d/%m/%Y} gives an age of {age} at the "
                    f"course start; expected {MIN_AGE} to {MAX_AGE}", "check the year")


def _hours(number: int, field: str, done: Any, hours: float | None) -> Iterator[Issue]:
    if isinstance(done, bool) or not isinstance(done, int | float):
        yield Issue(number, field, f"hours '{done}' is not a number", "write a number such as 96 "
                    "or 97,5")
    elif done < 0:
        yield Issue(number, field, f"hours {done} is negative", "write the hours attended")
    elif hours is not None and done > hours:
        yield Issue(number, field, f"hours {done} is more than the course's {hours}",
                    "check the register")


def _mostly_numeric(roster: Roster, columns: CheckColumns) -> Iterator[str]:
    """Columns whose values are nearly all numbers: a text among them is a typo."""
    skip = {columns.fiscal_code, columns.email, columns.birth_date, columns.sex}
    for name in roster.fields:
        if name in skip:
            continue
        values = [r.value(name) for r in roster.rows if r.value(name) is not None]
        numbers = sum(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        if numbers >= 5 and numbers >= 0.8 * len(values) and numbers < len(values):
            yield name
