"""Generate the example roster ``input/roster.xlsx`` (sheet "Lavoratori").

Run from the repository root:

    .venv/bin/python scripts/make_example_roster.py            # writes input/roster.xlsx (53 workers)
    .venv/bin/python scripts/make_example_roster.py -n 5000 -o /tmp/big.xlsx

All people are FICTIONAL. The output is deterministic (fixed seed).

For benchmarks, import the generator instead of running the script:

    from scripts.make_example_roster import fictional_workers, write_roster
    workers = fictional_workers(10_000)          # list of dicts keyed by field name
    write_roster(workers, "/tmp/roster-10k.xlsx")

``fictional_workers`` is pure Python with no dependency beyond the standard library
(the codice fiscale algorithm and the Belfiore codes of the birthplaces are built in),
so it is fast (10,000 rows well under a second) and works offline.  ``main()`` also
cross-checks every codice fiscale with python-stdnum and, if installed (dev-time only:
``.venv/bin/pip install python-codicefiscale``), with python-codicefiscale.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import sys
import unicodedata
from pathlib import Path

SEED = 2026
REFERENCE_DATE = dt.date(2026, 1, 22)  # date of the accordo di progetto (ages 25-62 at this date)
COURSE_HOURS = 120
THRESHOLD_HOURS = 0.7 * COURSE_HOURS  # 84 h

SITE_SI = "Monteriggioni (SI)"
SITE_FI = "Sesto Fiorentino (FI)"

MEASURE_GOL = "Percorso 5 – Ricollocazione collettiva (GOL)"
MEASURE_MOBILITY = "Mobilità volontaria verso la capogruppo"
MEASURE_EXIT = "Incentivo all'esodo volontario"

# (header in the spreadsheet, field name the engine derives from it)
HEADERS: list[tuple[str, str]] = [
    ("Cognome", "cognome"),
    ("Nome", "nome"),
    ("Codice fiscale", "codice_fiscale"),
    ("Sesso", "sesso"),
    ("Data di nascita", "data_di_nascita"),
    ("Luogo di nascita", "luogo_di_nascita"),
    ("Sede", "sede"),
    ("Email", "email"),
    ("Ore frequentate", "ore_frequentate"),
    ("Esito esame", "esito_esame"),
    ("Misura", "misura"),
    ("Note", "note"),
]
SHEET = "Lavoratori"

# Birthplaces -> Belfiore (cadastral) codes, checked against python-codicefiscale.
# Weight = relative frequency (mostly Tuscany, Siena/Florence areas first).
BIRTHPLACES: list[tuple[str, str, int]] = [
    ("Siena", "I726", 12),
    ("Poggibonsi", "G752", 7),
    ("Colle di Val d'Elsa", "C847", 6),
    ("Monteriggioni", "F598", 3),
    ("Castelnuovo Berardenga", "C227", 2),
    ("Sovicille", "I877", 2),
    ("San Gimignano", "H875", 2),
    ("Montepulciano", "F592", 2),
    ("Sinalunga", "A468", 1),
    ("Chiusi", "C662", 1),
    ("Firenze", "D612", 12),
    ("Sesto Fiorentino", "I684", 4),
    ("Prato", "G999", 4),
    ("Empoli", "D403", 3),
    ("Campi Bisenzio", "B507", 2),
    ("Scandicci", "B962", 2),
    ("Bagno a Ripoli", "A564", 1),
    ("Fiesole", "D575", 1),
    ("Borgo San Lorenzo", "B036", 1),
    ("Castelfiorentino", "C101", 1),
    ("Certaldo", "C540", 1),
    ("Arezzo", "A390", 2),
    ("Montevarchi", "F656", 1),
    ("Grosseto", "E202", 1),
    ("Livorno", "E625", 1),
    ("Pisa", "G702", 1),
    ("Lucca", "E715", 1),
    ("Pistoia", "G713", 1),
    ("Napoli", "F839", 2),
    ("Roma", "H501", 2),
    ("Palermo", "G273", 1),
    ("Bari", "A662", 1),
    ("Reggio di Calabria", "H224", 1),
    ("Cosenza", "D086", 1),
    ("Caserta", "B963", 1),
    ("Salerno", "H703", 1),
    ("Catania", "C351", 1),
    ("Foggia", "D643", 1),
    ("Perugia", "G478", 1),
    ("La Spezia", "E463", 1),
    ("Milano", "F205", 1),
    ("Genova", "D969", 1),
    ("Bologna", "A944", 1),
    ("Cagliari", "B354", 1),
]

SURNAMES = [
    "Bartolini", "Cappelli", "Mugnai", "Innocenti", "Nencini", "Sani", "Bianchi", "Rossi",
    "Ciampi", "Fantozzi", "Guidotti", "Lotti", "Banchi", "Pasquini", "Burroni", "Landi",
    "Neri", "Vannucci", "Giannini", "Bindi", "Mazzoni", "Becattini", "Brogi", "Bruttini",
    "Lorenzetti", "Cresti", "Fineschi", "Tognazzi", "Paoletti", "Baldi", "Ricci", "Conti",
    "Barbieri", "Parri", "Franchi", "Niccolai", "Gori", "Martelli", "Biagini", "Sestini",
    "Esposito", "Russo", "Romano", "Ferraro", "Greco", "Marino", "Caruso", "Costa",
    "D'Angelo", "D'Amico", "D'Alessandro", "Dell'Anna", "Dall'Olio", "De Luca", "Di Pietro",
    "Lo Bianco", "La Rosa", "Lucà", "Cantù", "Pirrò", "Tomà", "Curcurù", "Nicolò",
]

MALE_NAMES = [
    "Niccolò", "Nicolò", "Andrea", "Lorenzo", "Matteo", "Marco", "Francesco", "Alessandro",
    "Giacomo", "Duccio", "Tommaso", "Jacopo", "Filippo", "Simone", "Stefano", "Gianluca",
    "Massimo", "Fabrizio", "Riccardo", "Gabriele", "Luca", "Elia", "Mattia", "Giosuè",
    "Gian Marco", "Leonardo", "Paolo", "Roberto", "Emanuele", "Salvatore",
]
FEMALE_NAMES = [
    "Maria", "Chiara", "Giulia", "Francesca", "Elena", "Sara", "Martina", "Alessia",
    "Beatrice", "Caterina", "Lucia", "Ilaria", "Valentina", "Federica", "Silvia", "Noemi",
    "Benedetta", "Irene", "Margherita", "Laura", "Simona", "Annalisa", "Mariù", "Maria Grazia",
    "Letizia", "Cinzia", "Rosaria", "Gemma", "Asia", "Aurora",
]

# A few fixed "showcase" people so the 53-row example always contains the tricky cases
# (apostrophes, accents, multi-word names/surnames).
FEATURED: list[tuple[str, str, str]] = [
    ("D'Angelo", "Niccolò", "M"),
    ("Lucà", "Mariù", "F"),
    ("Dell'Anna", "Maria Grazia", "F"),
    ("De Luca", "Giosuè", "M"),
    ("Cantù", "Beatrice", "F"),
    ("Lo Bianco", "Gian Marco", "M"),
]

NOTES_GENERIC = [
    "Part-time verticale (50%)",
    "Assenze giustificate (malattia) & permessi sindacali",
    "Richiede copia cartacea dei documenti",
    "Domiciliato/a fuori regione",
    "Rappresentante sindacale RSU",
]
NOTE_ABSENT = "Frequenza inferiore al 70%: non ammesso/a all'esame"
NOTE_RETAKE = "Prova di recupero da programmare"

# ---------------------------------------------------------------------------
# Codice fiscale (D.M. 12/03/1974, D.P.R. 605/1973): pure-Python implementation
# ---------------------------------------------------------------------------
_MONTHS = "ABCDEHLMPRST"
_VOWELS = set("AEIOU")
_ODD = {
    **dict(zip("0123456789", [1, 0, 5, 7, 9, 13, 15, 17, 19, 21], strict=False)),
    **dict(zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ",
               [1, 0, 5, 7, 9, 13, 15, 17, 19, 21, 2, 4, 18, 20, 11, 3, 6, 8, 12, 14, 16, 10,
                22, 25, 24, 23], strict=False)),
}
_EVEN = {**{str(i): i for i in range(10)}, **{c: i for i, c in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ")}}
_OMOCODIA = dict(zip("0123456789", "LMNPQRSTUV", strict=False))
_OMOCODIA_POSITIONS = (14, 13, 12, 10, 9, 7, 6)  # substituted right to left


def ascii_fold(text: str) -> str:
    """'Niccolò' -> 'Niccolo' (strip accents)."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")


def _letters(text: str) -> str:
    return "".join(c for c in ascii_fold(text).upper() if "A" <= c <= "Z")


def _cf_part(text: str, is_firstname: bool) -> str:
    letters = _letters(text)
    cons = [c for c in letters if c not in _VOWELS]
    vows = [c for c in letters if c in _VOWELS]
    if is_firstname and len(cons) >= 4:
        cons = [cons[0], cons[2], cons[3]]
    return ("".join(cons + vows) + "XXX")[:3]


def _cf_check(code15: str) -> str:
    total = sum(_ODD[c] if i % 2 == 0 else _EVEN[c] for i, c in enumerate(code15))
    return chr(ord("A") + total % 26)


def codice_fiscale(cognome: str, nome: str, sesso: str, nascita: dt.date, belfiore: str,
                   omocodia: int = 0) -> str:
    """Compute the codice fiscale; ``omocodia`` > 0 applies that many omocodia substitutions."""
    day = nascita.day + (40 if sesso == "F" else 0)
    code = (
        _cf_part(cognome, False)
        + _cf_part(nome, True)
        + f"{nascita.year % 100:02d}"
        + _MONTHS[nascita.month - 1]
        + f"{day:02d}"
        + belfiore
    )
    if omocodia:
        chars = list(code)
        for pos in _OMOCODIA_POSITIONS[:omocodia]:
            chars[pos] = _OMOCODIA[chars[pos]]
        code = "".join(chars)
    return code + _cf_check(code)


def _email_part(text: str) -> str:
    return "".join(c for c in ascii_fold(text).lower() if c.isalnum())


# ---------------------------------------------------------------------------
# Generator
# ---------------------------------------------------------------------------
def _share(n: int, numerator: int, denominator: int = 53, minimum: int = 0) -> int:
    return max(minimum, round(n * numerator / denominator)) if n else 0


def fictional_workers(n: int, seed: int = SEED) -> list[dict]:
    """Return ``n`` fictional workers as dicts keyed by field name (see ``HEADERS``).

    Deterministic for a given (n, seed). Proportions follow the 53-worker example:
    35/53 at Monteriggioni, ~5/53 under 70% attendance ("assente"), ~3/53 "non idoneo",
    ~4/53 mobility, ~3/53 voluntary exit, ~1 in 8 with a note. Codici fiscali and
    e-mail addresses are unique (omocodia is applied on collisions, as the real
    Agenzia delle Entrate procedure does).
    """
    rng = random.Random(seed)
    places = [(p, b) for p, b, _ in BIRTHPLACES]
    place_weights = [w for _, _, w in BIRTHPLACES]
    # cumulative weights make rng.choices O(log k) per draw
    cum = []
    acc = 0
    for w in place_weights:
        acc += w
        cum.append(acc)

    # Per-row attributes assigned by shuffled index sets (exact counts).
    idx = list(range(n))
    n_si = _share(n, 35)
    rng.shuffle(idx)
    si_rows = set(idx[:n_si])

    rng.shuffle(idx)
    n_low = _share(n, 5, minimum=1 if n >= 10 else 0)
    low_rows = idx[:n_low]
    rest = idx[n_low:]
    n_fail = _share(n, 3)
    fail_rows = set(rest[:n_fail])
    n_half = _share(n, 2)
    half_rows = set(rest[n_fail:n_fail + n_half])
    low_set = set(low_rows)

    rng.shuffle(idx)
    n_mob = _share(n, 4)
    n_exit = _share(n, 3)
    mob_rows = set(idx[:n_mob])
    exit_rows = set(idx[n_mob:n_mob + n_exit])

    rng.shuffle(idx)
    n_notes = _share(n, 4)
    note_rows = set(idx[:n_notes])

    seen_cf: set[str] = set()
    seen_email: dict[str, int] = {}
    first_year = REFERENCE_DATE.year - 62  # 1964 -> ages up to 62
    span_days = (dt.date(REFERENCE_DATE.year - 25, 1, 1) - dt.date(first_year, 1, 23)).days

    surname_pool: list[str] = []
    workers: list[dict] = []
    for i in range(n):
        if i < len(FEATURED) and n >= 20:
            cognome, nome, sesso = FEATURED[i]
        else:
            sesso = "F" if rng.random() < 0.55 else "M"  # contact centres: slightly more women
            if not surname_pool:  # draw without replacement, reshuffle when exhausted
                surname_pool = [s for s in SURNAMES if all(s != f[0] for f in FEATURED)]
                rng.shuffle(surname_pool)
            cognome = surname_pool.pop()
            nome = rng.choice(FEMALE_NAMES if sesso == "F" else MALE_NAMES)
        nascita = dt.date(first_year, 1, 23) + dt.timedelta(days=rng.randrange(span_days))
        luogo, belfiore = places[_bisect(cum, rng.random() * acc)]

        cf = ""
        for omo in range(len(_OMOCODIA_POSITIONS) + 1):
            cf = codice_fiscale(cognome, nome, sesso, nascita, belfiore, omo)
            if cf not in seen_cf:
                break
        else:  # pragma: no cover - 8 identical people: shift the birth date
            nascita += dt.timedelta(days=1)
            cf = codice_fiscale(cognome, nome, sesso, nascita, belfiore)
        seen_cf.add(cf)

        local = f"{_email_part(nome)}.{_email_part(cognome)}"
        k = seen_email.get(local, 0) + 1
        seen_email[local] = k
        email = f"{local}@example.org" if k == 1 else f"{local}{k}@example.org"

        note = ""
        if i in low_set:
            ore: float = rng.choice([36, 48, 54, 60, 66, 72, 76, 80, 82.5])
            esito = "assente"
            if i in note_rows or rng.random() < 0.4:
                note = NOTE_ABSENT
        else:
            ore = rng.choice([84, 88, 92, 96, 100, 102, 104, 106, 108, 110, 112, 114, 116,
                              116, 118, 118, 120, 120, 120, 120])
            if i in half_rows:
                ore = min(ore, 119) + 0.5 if ore < 120 else 97.5
            esito = "non idoneo" if i in fail_rows else "idoneo"
            if i in fail_rows and rng.random() < 0.5:
                note = NOTE_RETAKE
            elif i in note_rows:
                note = rng.choice(NOTES_GENERIC)

        if i in mob_rows:
            misura = MEASURE_MOBILITY
        elif i in exit_rows:
            misura = MEASURE_EXIT
        else:
            misura = MEASURE_GOL

        workers.append({
            "cognome": cognome,
            "nome": nome,
            "codice_fiscale": cf,
            "sesso": sesso,
            "data_di_nascita": nascita,
            "luogo_di_nascita": luogo,
            "sede": SITE_SI if i in si_rows else SITE_FI,
            "email": email,
            "ore_frequentate": ore,
            "esito_esame": esito,
            "misura": misura,
            "note": note,
        })
    return workers


def _bisect(cum: list[int], x: float) -> int:
    lo, hi = 0, len(cum) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if cum[mid] > x:
            hi = mid
        else:
            lo = mid + 1
    return lo


def write_roster(workers: list[dict], path: str | Path) -> Path:
    """Write ``workers`` to an .xlsx file: sheet "Lavoratori", header on row 1."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = Workbook()
    ws = wb.active
    ws.title = SHEET
    ws.append([h for h, _ in HEADERS])
    fields = [f for _, f in HEADERS]
    for w in workers:
        ws.append([w[f] if w[f] != "" else None for f in fields])
    date_col = fields.index("data_di_nascita") + 1
    for r in range(2, len(workers) + 2):
        ws.cell(r, date_col).number_format = "DD/MM/YYYY"
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="003399")
    for c in ws[1]:
        c.font = bold
        c.fill = fill
        c.alignment = Alignment(vertical="center")
    widths = [18, 16, 19, 7, 15, 22, 22, 34, 15, 12, 44, 48]
    for i, wdt in enumerate(widths, 1):
        ws.column_dimensions[get_column_letter(i)].width = wdt
    ws.freeze_panes = "A2"
    ws.auto_filter.ref = f"A1:{get_column_letter(len(fields))}{len(workers) + 1}"
    # fixed metadata so the committed file is byte-stable across runs
    fixed = dt.datetime(2026, 1, 22, 9, 0, 0)
    wb.properties.creator = "docgen example generator"
    wb.properties.created = fixed
    wb.properties.modified = fixed
    wb.save(path)
    _normalise_zip(path, fixed)
    return path


def _normalise_zip(path: Path, when: dt.datetime) -> None:
    """Make the .xlsx byte-reproducible: fixed zip timestamps and dcterms:modified."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ").encode()
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp, data)
            zi = zipfile.ZipInfo(info.filename, date_time=when.timetuple()[:6])
            zi.compress_type = zipfile.ZIP_DEFLATED
            zi.external_attr = info.external_attr
            zout.writestr(zi, data)


def check(workers: list[dict]) -> None:
    """Validate codici fiscali (stdnum + python-codicefiscale if available) and invariants."""
    from stdnum.it import codicefiscale as stdcf

    try:
        from codicefiscale import codicefiscale as pycf
    except ImportError:  # dev-time only
        pycf = None
        print("note: python-codicefiscale not installed, skipping the cross-check", file=sys.stderr)
    belfiore = {p: b for p, b, _ in BIRTHPLACES}
    for w in workers:
        stdcf.validate(w["codice_fiscale"])
        assert stdcf.get_birth_date(w["codice_fiscale"]) == w["data_di_nascita"], w
        assert stdcf.get_gender(w["codice_fiscale"]) == w["sesso"], w
        if pycf is not None:
            assert pycf.is_valid(w["codice_fiscale"]), w
            assert pycf.encode_birthplace(w["luogo_di_nascita"]) == belfiore[w["luogo_di_nascita"]], w
            expected = pycf.encode(
                lastname=w["cognome"], firstname=w["nome"], gender=w["sesso"],
                birthdate=w["data_di_nascita"].strftime("%d/%m/%Y"),
                birthplace=w["luogo_di_nascita"],
            )
            omocodes = pycf.decode(w["codice_fiscale"])["omocodes"]
            assert expected in omocodes, (w, expected)
        if w["ore_frequentate"] < THRESHOLD_HOURS:
            assert w["esito_esame"] == "assente", w
    assert len({w["codice_fiscale"] for w in workers}) == len(workers)
    assert len({w["email"] for w in workers}) == len(workers)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=53, help="number of workers (default 53)")
    ap.add_argument("--seed", type=int, default=SEED)
    ap.add_argument("-o", "--output", default=str(Path(__file__).resolve().parent.parent / "input" / "roster.xlsx"))
    args = ap.parse_args(argv)
    workers = fictional_workers(args.n, args.seed)
    check(workers)
    out = write_roster(workers, args.output)
    sites = {}
    for w in workers:
        sites[w["sede"]] = sites.get(w["sede"], 0) + 1
    low = sum(w["ore_frequentate"] < THRESHOLD_HOURS for w in workers)
    print(f"wrote {out}: {len(workers)} workers, {sites}, {low} under 70%")


if __name__ == "__main__":
    main()
