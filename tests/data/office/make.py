"""Writes the rosters in tests/data/office/ as offices make them (committed, with their sources).

Run from the repository root: .venv/bin/python tests/data/office/make.py
Needs LibreOffice Calc (Debian libreoffice-calc-nogui): each NAME.fods (flat OpenDocument, the
readable source) is converted by a real ``soffice --convert-to xlsx`` into NAME.xlsx, and the
Italian CSV by LibreOffice's CSV filter (semicolon, Windows-1252). What LibreOffice cannot make is
written here and says so: Excel's ``_xHHHH_`` escapes (only Excel writes them; openpyxl stores
the escaped text exactly as Excel does), an Excel table with a totals row (LibreOffice 7.4
saves a named database range as an Excel table, calc_table.xlsx, but always with
totalsRowCount="0"), a CSV with a NUL byte and one with a 40,000-character cell.
"""

from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).parent
HEADER = ["Cognome", "Nome", "Codice fiscale", "Data di nascita", "Sede", "Ore frequentate",
          "Esito esame"]
_MONTHS = "ABCDEHLMPRST"


def fiscal_code(letters: str, born: dt.date, female: bool, place: str = "H501") -> str:
    """A well-formed codice fiscale for a fictional person born on ``born``."""
    from stdnum.it.codicefiscale import calc_check_digit

    day = born.day + (40 if female else 0)
    body = f"{letters}{born.year % 100:02d}{_MONTHS[born.month - 1]}{day:02d}{place}"
    return body + calc_check_digit(body)


PEOPLE = [  # fictional workers: surname, name, female, birth date, site, hours, outcome
    ("Rossi", "Mario", False, dt.date(1975, 3, 12), "Monteriggioni (SI)", 110, "idoneo"),
    ("Bianchi", "Giulia", True, dt.date(1980, 1, 1), "Sesto Fiorentino (FI)", 72, "idoneo"),
    ("D'Angelo", "Niccolò", False, dt.date(1968, 11, 30), "Monteriggioni (SI)", 96, "idoneo"),
    ("Lucà", "Mariù", True, dt.date(1985, 7, 4), "Sesto Fiorentino (FI)", 64, "non idoneo"),
    ("Verdi", "Anna", True, dt.date(1990, 5, 21), "Monteriggioni (SI)", 80, "idoneo"),
    ("Neri", "Paolo", False, dt.date(1972, 2, 9), "Monteriggioni (SI)", 120, "idoneo"),
    ("Galli", "Chiara", True, dt.date(1983, 9, 15), "Sesto Fiorentino (FI)", 88, "idoneo"),
    ("Conti", "Luca", False, dt.date(1979, 12, 3), "Monteriggioni (SI)", 100, "idoneo"),
    ("Ferri", "Sara", True, dt.date(1988, 4, 27), "Sesto Fiorentino (FI)", 91, "idoneo"),
    ("Moretti", "Gianni", False, dt.date(1965, 6, 18), "Monteriggioni (SI)", 77, "idoneo"),
    ("Costa", "Elena", True, dt.date(1992, 10, 8), "Monteriggioni (SI)", 115, "idoneo"),
    ("Greco", "Marco", False, dt.date(1970, 8, 25), "Sesto Fiorentino (FI)", 84, "idoneo"),
    ("Fabbri", "Laura", True, dt.date(1986, 3, 2), "Monteriggioni (SI)", 93, "idoneo"),
    ("Rinaldi", "Pietro", False, dt.date(1977, 1, 29), "Sesto Fiorentino (FI)", 66, "assente"),
]


def worker(index: int) -> list[Any]:
    surname, name, female, born, site, hours, outcome = PEOPLE[index]
    letters = (surname.upper().replace("'", "") + "XXX")[:3] + (name.upper() + "XXX")[:3]
    code = fiscal_code(letters, born, female, f"H5{index:02d}")
    return [surname, name, code, born, site, hours, outcome]


@dataclass(frozen=True)
class Span:
    """A merged cell: its text and how many columns and rows it covers."""

    text: str
    columns: int = 1
    rows: int = 1


@dataclass(frozen=True)
class Grouped:
    """A number formatted with thousands separators (#.##0,##)."""

    value: float


@dataclass(frozen=True)
class Formula:
    """A formula with the value LibreOffice computes (it recalculates on load anyway)."""

    formula: str
    value: float


_NS = ('xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
       'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
       'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" '
       'xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" '
       'xmlns:number="urn:oasis:names:tc:opendocument:xmlns:datastyle:1.0" '
       'xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" '
       'xmlns:of="urn:oasis:names:tc:opendocument:xmlns:of:1.2"')


def _cell(value: Any) -> str:
    if value is None:
        return "<table:table-cell/>"
    if value == "covered":
        return "<table:covered-table-cell/>"
    if isinstance(value, Span):
        return (f'<table:table-cell table:number-columns-spanned="{value.columns}" '
                f'table:number-rows-spanned="{value.rows}" office:value-type="string">'
                f"<text:p>{escape(value.text)}</text:p></table:table-cell>")
    if isinstance(value, Formula):
        return (f'<table:table-cell table:formula="{escape(value.formula)}" '
                f'office:value-type="float" office:value="{value.value}">'
                f"<text:p>{value.value:g}</text:p></table:table-cell>")
    if isinstance(value, Grouped):
        return (f'<table:table-cell table:style-name="grouped" office:value-type="float" '
                f'office:value="{value.value}"><text:p>{value.value:g}</text:p>'
                "</table:table-cell>")
    if isinstance(value, dt.date):
        return (f'<table:table-cell table:style-name="date" office:value-type="date" '
                f'office:date-value="{value.isoformat()}"><text:p>{value:%d/%m/%Y}</text:p>'
                "</table:table-cell>")
    if isinstance(value, int | float):
        return (f'<table:table-cell office:value-type="float" office:value="{value}">'
                f"<text:p>{value:g}</text:p></table:table-cell>")
    return (f'<table:table-cell office:value-type="string"><text:p>{escape(str(value))}'
            "</text:p></table:table-cell>")


def fods(sheet: str, rows: list[list[Any]], filter_range: str | None = None,
         range_name: str = "Elenco") -> str:
    """A flat OpenDocument spreadsheet; ``filter_range`` (A3:G10) gets an autofilter: a named
    database range (LibreOffice saves it as an Excel table), or the sheet's anonymous one
    (saved as a plain autofilter)."""
    width = max(len(r) for r in rows)
    grid = [list(r) + [None] * (width - len(r)) for r in rows]
    for r, row in enumerate(grid):  # the cells a merge covers are written as covered cells
        for c, value in enumerate(row):
            if isinstance(value, Span):
                for dr in range(value.rows):
                    for dc in range(value.columns):
                        if dr or dc:
                            grid[r + dr][c + dc] = "covered"
    body = "".join("<table:table-row>" + "".join(_cell(v) for v in row) + "</table:table-row>"
                   for row in grid)
    ranges = ""
    if filter_range:
        start, end = filter_range.split(":")
        ranges = (f'<table:database-ranges><table:database-range table:name="{range_name}" '
                  f'table:target-range-address="{sheet}.{start}:{sheet}.{end}" '
                  'table:display-filter-buttons="true"/></table:database-ranges>')
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<office:document {_NS} office:version="1.3"
 office:mimetype="application/vnd.oasis.opendocument.spreadsheet">
<office:styles><style:default-style style:family="table-cell">
<style:text-properties fo:language="it" fo:country="IT"/></style:default-style></office:styles>
<office:automatic-styles>
<number:date-style style:name="dmy"><number:day number:style="long"/><number:text>/</number:text>
<number:month number:style="long"/><number:text>/</number:text><number:year number:style="long"/>
</number:date-style>
<style:style style:name="date" style:family="table-cell" style:data-style-name="dmy"/>
<number:number-style style:name="thousands" number:language="it" number:country="IT">
<number:number number:decimal-places="2" number:min-decimal-places="0"
 number:min-integer-digits="1" number:grouping="true"/>
</number:number-style>
<style:style style:name="grouped" style:family="table-cell" style:data-style-name="thousands"/>
</office:automatic-styles>
<office:body><office:spreadsheet>
<table:table table:name="{sheet}"><table:table-column table:number-columns-repeated="{width}"/>
{body}
</table:table>
{ranges}
</office:spreadsheet></office:body></office:document>
"""


def cases() -> dict[str, tuple[str, list[list[Any]], str | None, str]]:
    """name -> (sheet, rows, autofilter range, database range name)."""
    title = "Elenco partecipanti corso Operatore di magazzino e logistica ed. 1/2026"
    hours = Formula("of:=SUM([.F2:.F15])", sum(worker(i)[5] for i in range(14)))
    return {
        # A merged title over the columns, an empty row, the header on row 3.
        "title_rows": ("Lavoratori", [[Span(title, columns=7)], [], HEADER,
                                      *[worker(i) for i in range(5)]], None, ""),
        # A group title merged over two columns on row 3, a name merged down over rows 3-4.
        "two_row_header": ("Lavoratori", [
            [Span(title, columns=7)], [],
            [Span("Cognome", rows=2), Span("Nome", rows=2), Span("Codice fiscale", rows=2),
             Span("Data di nascita", rows=2), Span("Sede", rows=2),
             Span("Esito del corso", columns=2)],
            [None, None, None, None, None, "Ore frequentate", "Esito esame"],
            *[worker(i) for i in range(4)]], None, ""),
        # Fourteen workers, a totals row with SUM on row 16, a signature note on row 18.
        "totals": ("Lavoratori", [HEADER, *[worker(i) for i in range(14)],
                                  ["Totale", None, None, None, None, hours], [],
                                  ["Il coordinatore del corso: Dott.ssa Elisa Marchi"]], None, ""),
        # A named database range with filter buttons over A3:G8 (saved as the Excel table
        # 'Elenco'), then a note under it.
        "calc_table": ("Lavoratori", [[Span(title, columns=7)], [], HEADER,
                                      *[worker(i) for i in range(5)],
                                      ["Aggiornato al 12/03/2026"]], "A3:G8", "Elenco"),
        # The sheet's own autofilter over A1:G4 (no table), then a worker added under it
        # and a note.
        "autofilter": ("Lavoratori", [HEADER, *[worker(i) for i in range(3)], worker(3), [],
                                      ["Aggiornato al 12/03/2026"]], "A1:G4",
                       "__Anonymous_Sheet_DB__0"),
        # One "Cognome e Nome" column, as many offices keep it.
        "cognome_e_nome": ("Foglio1", [
            ["Cognome e Nome", "Codice fiscale", "Data di nascita", "Ore frequentate"],
            *[[f"{w[0].upper()} {w[1]}", w[2], w[3], w[5]] for w in map(worker, range(4))]],
            None, ""),
        # Birth dates typed as text in every way an office types them, and one real date.
        "mixed_dates": ("Lavoratori", [HEADER, *_mixed_dates()], None, ""),
    }


def _mixed_dates() -> list[list[Any]]:
    texts = ["12-03-1975", "01.01.1980", "1968-11-30", "04/07/1985", None, "21/05/90"]
    rows = []
    for index, text in enumerate(texts):
        row = worker(index)
        if text is not None:
            row[3] = text
        rows.append(row)
    return rows


def convert(sources: list[Path], target: str, out: Path) -> None:
    """Real LibreOffice, with a throw-away profile so it never touches the user's."""
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if not soffice:
        raise SystemExit("needs LibreOffice Calc: apt-get install libreoffice-calc-nogui")
    with tempfile.TemporaryDirectory() as profile:
        subprocess.run([soffice, f"-env:UserInstallation=file://{profile}", "--headless",
                        "--convert-to", target, "--outdir", str(out), *map(str, sources)],
                       check=True, capture_output=True, timeout=300)


def italian_csv_source() -> str:
    """What Italian Excel keeps above the header, and thousands written with dots."""
    rows: list[list[Any]] = [
        ["Elenco partecipanti corso Operatore di magazzino e logistica ed. 1/2026"], [],
        [*HEADER, "Compenso orario", "Importo"]]
    amounts = [("12,5", "1.375"), ("12,5", "900"), ("15", "1.440"), ("12,5", "800"),
               ("15", "1.200,5")]
    for index, (rate, amount) in enumerate(amounts):
        row = worker(index)
        rows.append([*row, rate, amount])
    return fods("Lavoratori", [[_amount(v) for v in row] for row in rows])


def _amount(value: Any) -> Any:
    """An amount written the Italian way becomes a number shown with thousands."""
    if isinstance(value, str) and value[:1].isdigit():
        return Grouped(float(value.replace(".", "").replace(",", ".")))
    return value


def main() -> None:
    from openpyxl import Workbook
    from openpyxl.worksheet.filters import AutoFilter
    from openpyxl.worksheet.table import Table, TableStyleInfo

    sources = []
    for name, (sheet, rows, filter_range, range_name) in cases().items():
        path = HERE / f"{name}.fods"
        path.write_text(fods(sheet, rows, filter_range, range_name), encoding="utf-8")
        sources.append(path)
    convert(sources, "xlsx", HERE)

    # The Italian Excel CSV: ';', Windows-1252, the title line kept above the header. The
    # amounts are numbers in the sheet; the CSV filter writes them with Italian separators
    # because the cells are formatted with thousands.
    italian = HERE / "italian_excel.fods"
    italian.write_text(italian_csv_source(), encoding="utf-8")
    with tempfile.TemporaryDirectory() as tmp:
        convert([italian], 'csv:Text - txt - csv (StarCalc):59,34,1252,1,,1040,false,true,true',
                Path(tmp))
        shutil.copy(Path(tmp) / "italian_excel.csv", HERE / "italian_excel.csv")

    # Excel's escapes for control characters in a cell (ECMA-376 ST_Xstring). Only Excel
    # writes them; openpyxl stores this text unchanged, which is the bytes Excel stores.
    book = Workbook()
    sheet = book.active
    sheet.title = "Lavoratori"
    sheet.append(HEADER)
    first = worker(0)
    first[1] = "_x0001_Maria_x0008_ _x000B_Grazia_x0000_"
    second = worker(1)
    second[1] = "Giulia_x005F_x000B_"  # an escaped underscore: the text _x000B_ itself
    for row in (first, second, worker(2)):
        sheet.append(row)
    book.save(HERE / "escapes.xlsx")

    # An Excel table with a totals row over A1:G5, as Excel makes it. LibreOffice 7.4 saves
    # its database ranges as tables without a totals row, so this one is openpyxl's.
    book = Workbook()
    sheet = book.active
    sheet.title = "Lavoratori"
    sheet.append(HEADER)
    for index in range(3):
        sheet.append(worker(index))
    sheet.append(["Totale", None, None, None, None, "=SUBTOTAL(109,Tabella1[Ore frequentate])"])
    sheet.append([])
    sheet.append(["Note: aggiornato al 12/03/2026"])
    table = Table(displayName="Tabella1", ref="A1:G5", totalsRowCount=1,
                  autoFilter=AutoFilter(ref="A1:G4"))  # as Excel: the totals row unfiltered
    table.tableStyleInfo = TableStyleInfo(name="TableStyleMedium2", showRowStripes=True)
    table._initialise_columns()
    for column, title in zip(table.tableColumns, HEADER, strict=True):
        column.name = title
    table.tableColumns[0].totalsRowLabel = "Totale"
    table.tableColumns[5].totalsRowFunction = "sum"
    sheet.add_table(table)
    book.save(HERE / "excel_table.xlsx")

    header = "Cognome;Nome;Codice fiscale;Data di nascita;Sede;Ore frequentate;Esito esame\r\n"

    def line(row: list[Any]) -> str:
        row = [f"{v:%d/%m/%Y}" if isinstance(v, dt.date) else v for v in row]
        return ";".join(str(v) for v in row) + "\r\n"

    # One NUL byte inside a name, as a damaged export leaves it.
    nul = header + line(worker(0)) + line(worker(1)).replace("Giulia", "Giu\0lia") + line(worker(2))
    (HERE / "nul.csv").write_bytes(nul.encode("utf-8"))
    # A 40,000-character cell (a pasted document) in one worker's outcome.
    big = worker(1)
    big[6] = "x" * 40_000
    (HERE / "big_cell.csv").write_bytes(
        (header + line(worker(0)) + line(big) + line(worker(2))).encode("utf-8"))


if __name__ == "__main__":
    main()
