"""Generate the Word templates templates/lettera_qualifica.docx and templates/allegato_accordo.docx.

Run from the repository root (after scripts/make_assets.py, which draws the PNG marks):

    .venv/bin/python scripts/make_docx_templates.py

The templates are docxtpl (Jinja2) templates. Context at render time: every roster field
(nome, cognome, codice_fiscale, sesso, data_di_nascita, luogo_di_nascita, sede, email,
ore_frequentate, esito_esame, misura, note), `course` (the [course] table of input/job.toml),
`job`, `row`, `today`; filters `date` and `number` (provided by docgen).

Deliberate test cases for the engine:
  * lettera_qualifica.docx: the tag ``{{ cognome }}`` in the first body paragraph is split across
    two Word runs (``{{ cog`` + ``nome }}``, both bold); row loop ``{%tr for u in course.units %}``;
    inline ``{% if %}``; Jinja tags in the page header and footer.
  * allegato_accordo.docx: row loop over the agreement measures with a checkbox
    ``{% if m.name == misura %}``; paragraph-level ``{%p if note %}`` (optional field);
    tags in header and footer.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

from docx import Document
from docx.enum.section import WD_ORIENT
from docx.enum.table import WD_ALIGN_VERTICAL, WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Pt, RGBColor

ROOT = Path(__file__).resolve().parent.parent
TPL = ROOT / "templates"
IMG = TPL / "img"

FONT = "Arial"  # universally available in Word / metric-compatible Liberation Sans in LibreOffice
BLU_SCURO = RGBColor(0x17, 0x32, 0x4D)
BLU_UE = RGBColor(0x00, 0x33, 0x99)
BLU_PA = RGBColor(0x00, 0x66, 0xCC)
GRIGIO = RGBColor(0x5C, 0x6F, 0x82)


# ------------------------------------------------------------------ helpers
def new_document(title: str, subject: str) -> Document:
    doc = Document()
    sec = doc.sections[0]
    sec.orientation = WD_ORIENT.PORTRAIT
    sec.page_width, sec.page_height = Cm(21), Cm(29.7)
    sec.left_margin = sec.right_margin = Cm(2)
    sec.top_margin, sec.bottom_margin = Cm(1.6), Cm(1.8)
    sec.header_distance, sec.footer_distance = Cm(0.8), Cm(0.8)

    st = doc.styles["Normal"]
    st.font.name = FONT
    st.font.size = Pt(10)
    st.element.rPr.rFonts.set(qn("w:eastAsia"), FONT)
    pf = st.paragraph_format
    pf.space_after = Pt(4)
    pf.line_spacing = 1.12
    for name, size in (("Heading 1", 15), ("Heading 2", 11)):
        h = doc.styles[name]
        h.font.name = FONT
        h.font.size = Pt(size)
        h.font.bold = True
        h.font.color.rgb = BLU_SCURO
        rfonts = h.element.rPr.rFonts
        for att in ("w:asciiTheme", "w:hAnsiTheme", "w:eastAsiaTheme", "w:cstheme"):
            if rfonts.get(qn(att)) is not None:
                del rfonts.attrib[qn(att)]
        rfonts.set(qn("w:ascii"), FONT)
        rfonts.set(qn("w:hAnsi"), FONT)
        h.paragraph_format.space_before = Pt(10 if name == "Heading 2" else 6)
        h.paragraph_format.space_after = Pt(4)
        h.paragraph_format.keep_with_next = True

    with contextlib.suppress(KeyError):
        doc.styles["Footer"].font.size = Pt(7.5)
    cp = doc.core_properties
    cp.title = title
    cp.subject = subject
    cp.author = "docgen – modello di esempio"
    cp.language = "it-IT"
    cp.keywords = "GOL; Percorso 5; PNRR; NextGenerationEU; Regione Toscana"
    cp.comments = "Modello docxtpl generato da scripts/make_docx_templates.py"
    # Italian proofing language for the whole document
    lang = OxmlElement("w:lang")
    lang.set(qn("w:val"), "it-IT")
    st.element.rPr.append(lang)
    return doc


def shade(cell, hex_fill: str) -> None:
    tcPr = cell._tc.get_or_add_tcPr()
    shd = OxmlElement("w:shd")
    shd.set(qn("w:val"), "clear")
    shd.set(qn("w:color"), "auto")
    shd.set(qn("w:fill"), hex_fill)
    tcPr.append(shd)


def cell_margins(table, top=60, bottom=60, left=90, right=90) -> None:
    tblPr = table._tbl.tblPr
    mar = OxmlElement("w:tblCellMar")
    for side, val in (("top", top), ("left", left), ("bottom", bottom), ("right", right)):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(val))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tblPr.insert_element_before(mar, "w:tblLook", "w:tblCaption", "w:tblDescription", "w:tblPrChange")


def borders(table, color="C5D0DB", size=4, inside=True, outer=True) -> None:
    tblPr = table._tbl.tblPr
    b = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        on = (inside if side.startswith("inside") else outer) and side not in ("left", "right", "insideV")
        el.set(qn("w:val"), "single" if on else "nil")
        el.set(qn("w:sz"), str(size))
        el.set(qn("w:color"), color)
        b.append(el)
    _insert_borders(tblPr, b)


def _insert_borders(tblPr, b) -> None:
    tblPr.insert_element_before(b, "w:shd", "w:tblLayout", "w:tblCellMar", "w:tblLook",
                                "w:tblCaption", "w:tblDescription", "w:tblPrChange")


def no_borders(table) -> None:
    tblPr = table._tbl.tblPr
    b = OxmlElement("w:tblBorders")
    for side in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:val"), "nil")
        b.append(el)
    _insert_borders(tblPr, b)


def repeat_header(row) -> None:
    trPr = row._tr.get_or_add_trPr()
    el = OxmlElement("w:tblHeader")
    el.set(qn("w:val"), "true")
    trPr.append(el)


def bottom_rule(paragraph, color="003399", size=12) -> None:
    pPr = paragraph._p.get_or_add_pPr()
    pbdr = OxmlElement("w:pBdr")
    bottom = OxmlElement("w:bottom")
    bottom.set(qn("w:val"), "single")
    bottom.set(qn("w:sz"), str(size))
    bottom.set(qn("w:space"), "4")
    bottom.set(qn("w:color"), color)
    pbdr.append(bottom)
    pPr.insert_element_before(
        pbdr, "w:shd", "w:tabs", "w:suppressAutoHyphens", "w:kinsoku", "w:wordWrap", "w:overflowPunct",
        "w:topLinePunct", "w:autoSpaceDE", "w:autoSpaceDN", "w:bidi", "w:adjustRightInd", "w:snapToGrid",
        "w:spacing", "w:ind", "w:contextualSpacing", "w:mirrorIndents", "w:suppressOverlap", "w:jc",
        "w:textDirection", "w:textAlignment", "w:textboxTightWrap", "w:outlineLvl", "w:divId", "w:cnfStyle",
        "w:rPr", "w:sectPr", "w:pPrChange")


def run(p, text, bold=False, italic=False, size=None, color=None):
    r = p.add_run(text)
    r.bold = bold
    r.italic = italic
    if size:
        r.font.size = Pt(size)
    if color is not None:
        r.font.color.rgb = color
    return r


def para(container, text="", bold=False, size=None, color=None, align=None, after=None, before=None):
    p = container.add_paragraph()
    if text:
        run(p, text, bold=bold, size=size, color=color)
    if align is not None:
        p.alignment = align
    if after is not None:
        p.paragraph_format.space_after = Pt(after)
    if before is not None:
        p.paragraph_format.space_before = Pt(before)
    return p


def set_widths(table, widths_cm) -> None:
    table.autofit = False
    for col, w in zip(table.columns, widths_cm, strict=False):  # w:gridCol (LibreOffice uses the grid)
        col.width = Cm(w)
    for row in table.rows:
        for cell, w in zip(row.cells, widths_cm, strict=False):
            cell.width = Cm(w)


def field_run(p, instr: str, size=7.5, color=GRIGIO) -> None:
    """Insert a simple field (PAGE / NUMPAGES)."""
    r = p.add_run()
    r.font.size = Pt(size)
    r.font.color.rgb = color
    fld_begin = OxmlElement("w:fldChar")
    fld_begin.set(qn("w:fldCharType"), "begin")
    instr_el = OxmlElement("w:instrText")
    instr_el.set(qn("xml:space"), "preserve")
    instr_el.text = f" {instr} "
    fld_sep = OxmlElement("w:fldChar")
    fld_sep.set(qn("w:fldCharType"), "separate")
    t = OxmlElement("w:t")
    t.text = "1"
    fld_end = OxmlElement("w:fldChar")
    fld_end.set(qn("w:fldCharType"), "end")
    for el in (fld_begin, instr_el, fld_sep, t, fld_end):
        r._r.append(el)


def logo_band(header, fourth: str = "ente") -> None:
    """Logo band in the page header, one table row of [mark][text] pairs.

    The EU emblem comes first and is the largest mark (PNRR branding rule)."""
    items = [
        ("ue_emblem.png", Cm(1.2), [("Finanziato", True), ("dall'Unione europea", True), ("NextGenerationEU", False)], BLU_UE),
        ("mark_ministero.png", Cm(1.1), [("Ministero del Lavoro", True), ("e delle Politiche Sociali", False)], BLU_SCURO),
        ("mark_regione.png", Cm(1.1), [("Regione Toscana", True), ("Programma GOL", False)], BLU_SCURO),
    ]
    if fourth == "ente":
        items.append(("mark_ente.png", Cm(1.1), [("{{ course.provider.short }}", True), ("Organismo formativo", False),
                                                  ("accreditato {{ course.provider.accreditation }}", False)], BLU_SCURO))
    else:
        items.append(("ARTI", None, [("Agenzia Regionale", True), ("Toscana per l'Impiego", False)], BLU_SCURO))
    t = header.add_table(rows=1, cols=8, width=Cm(17))
    no_borders(t)
    cell_margins(t, top=0, bottom=0, left=40, right=40)
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    cells = t.rows[0].cells
    for k, (img, h, lines, color) in enumerate(items):
        ic, tc = cells[2 * k], cells[2 * k + 1]
        for c in (ic, tc):
            c.vertical_alignment = WD_ALIGN_VERTICAL.CENTER
        pic_p = ic.paragraphs[0]
        pic_p.paragraph_format.space_after = Pt(0)
        pic_p.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        if h is not None:
            pic_p.add_run().add_picture(str(IMG / img), height=h)
        else:  # text mark (sigla) on a dark field
            shade(ic, "17324D")
            pic_p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            run(pic_p, img, bold=True, size=12, color=RGBColor(0xFF, 0xFF, 0xFF))
        for i, (text, bold) in enumerate(lines):
            p = tc.paragraphs[0] if i == 0 else tc.add_paragraph()
            p.paragraph_format.space_after = Pt(0)
            p.paragraph_format.line_spacing = 1.0
            run(p, text, bold=bold, size=8 if bold else 7.5, color=color)
    set_widths(t, [2.0, 2.9, 1.3, 2.9, 1.3, 2.3, 1.3, 3.0])
    p = header.paragraphs[0]
    header._element.remove(p._p)
    rule = header.add_paragraph()
    rule.paragraph_format.space_after = Pt(2)
    bottom_rule(rule)
    refs = header.add_paragraph()
    refs.alignment = WD_ALIGN_PARAGRAPH.CENTER
    refs.paragraph_format.space_after = Pt(0)
    run(refs, "{{ course.pnrr }} · {{ course.programme }} · {{ course.path }} · Codice progetto {{ course.project_code }}",
        size=7, color=GRIGIO)


def footer_block(footer, text: str) -> None:
    p = footer.paragraphs[0]
    p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    bottom_rule(p, color="C5D0DB", size=4)
    p.paragraph_format.space_after = Pt(2)
    p2 = footer.add_paragraph()
    p2.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run(p2, text, size=7.5, color=GRIGIO)
    run(p2, "   ·   Pag. ", size=7.5, color=GRIGIO)
    field_run(p2, "PAGE")
    run(p2, " di ", size=7.5, color=GRIGIO)
    field_run(p2, "NUMPAGES")


def kv_table(doc, rows, widths=(5.2, 11.8)):
    t = doc.add_table(rows=0, cols=2)
    borders(t)
    cell_margins(t)
    for label, value in rows:
        cells = t.add_row().cells
        shade(cells[0], "EEF3F8")
        p0 = cells[0].paragraphs[0]
        p0.paragraph_format.space_after = Pt(0)
        run(p0, label, bold=True, size=9, color=BLU_SCURO)
        p1 = cells[1].paragraphs[0]
        p1.paragraph_format.space_after = Pt(0)
        if isinstance(value, str):
            run(p1, value, size=9.5)
        else:  # list of (text, bold)
            for text, bold in value:
                run(p1, text, bold=bold, size=9.5)
    set_widths(t, widths)
    return t


def loop_table(doc, headers, widths, for_tag, cells_content, endfor_tag="{%tr endfor %}", total=None):
    """Table with a header row, a docxtpl row loop (3 rows: for / content / endfor), optional total."""
    t = doc.add_table(rows=1, cols=len(headers))
    borders(t)
    cell_margins(t)
    hdr = t.rows[0]
    repeat_header(hdr)
    for c, h in zip(hdr.cells, headers, strict=False):
        shade(c, "17324D")
        p = c.paragraphs[0]
        p.paragraph_format.space_after = Pt(0)
        run(p, h, bold=True, size=8.5, color=RGBColor(0xFF, 0xFF, 0xFF))
    r_for = t.add_row().cells
    r_for[0].paragraphs[0].add_run(for_tag)
    r_body_row = t.add_row()
    trPr = r_body_row._tr.get_or_add_trPr()
    trPr.append(OxmlElement("w:cantSplit"))  # a unit never breaks across pages
    r_body = r_body_row.cells
    for c, content in zip(r_body, cells_content, strict=False):
        p = c.paragraphs[0]
        p.paragraph_format.space_after = Pt(0)
        for text, bold, align in content:
            run(p, text, bold=bold, size=9)
            if align:
                p.alignment = align
    r_end = t.add_row().cells
    r_end[0].paragraphs[0].add_run(endfor_tag)
    if total:
        cells = t.add_row().cells
        for c, (text, align) in zip(cells, total, strict=False):
            p = c.paragraphs[0]
            p.paragraph_format.space_after = Pt(0)
            run(p, text, bold=True, size=9)
            if align:
                p.alignment = align
    set_widths(t, widths)
    return t


def signature_table(doc, left_lines, right_lines):
    t = doc.add_table(rows=1, cols=2)
    no_borders(t)
    for cell, lines in zip(t.rows[0].cells, (left_lines, right_lines), strict=False):
        first = True
        for text, bold, color in lines:
            p = cell.paragraphs[0] if first else cell.add_paragraph()
            first = False
            p.alignment = WD_ALIGN_PARAGRAPH.CENTER
            p.paragraph_format.space_after = Pt(0)
            run(p, text, bold=bold, size=9.5, color=color)
        line = cell.add_paragraph()
        line.paragraph_format.space_before = Pt(26)
        line.alignment = WD_ALIGN_PARAGRAPH.CENTER
        run(line, "_" * 38, color=GRIGIO)
    set_widths(t, [8.5, 8.5])
    return t


# ------------------------------------------------------------------ lettera_qualifica
def make_lettera_qualifica(path: Path) -> None:
    doc = new_document(
        "Certificato di competenze – D.Lgs. 13/2013, art. 6",
        "Programma GOL – Percorso 5 – Certificazione delle competenze",
    )
    sec = doc.sections[0]
    logo_band(sec.header, fourth="ente")
    footer_block(sec.footer,
                 "{{ course.provider.name }} · Accreditamento Regione Toscana {{ course.provider.accreditation }} · "
                 "{{ course.pnrr_line }} · {{ course.project_code }}")

    p = para(doc, align=WD_ALIGN_PARAGRAPH.RIGHT, after=0, before=6)
    run(p, "{{ course.place }}, {{ course.issued | date('long') }}")
    p = para(doc, align=WD_ALIGN_PARAGRAPH.RIGHT, after=10)
    run(p, "Prot. n. {{ course.project_code }}/CC/{{ '%03d' | format(row - 1) }}", size=8.5, color=GRIGIO)

    p = para(doc, after=0)
    run(p, "{{ 'Gentile Sig.ra' if sesso == 'F' else 'Gentile Sig.' }} ")
    run(p, "{{ nome }} {{ cognome }}", bold=True)
    p = para(doc, after=12)
    run(p, "Trasmessa all'indirizzo di posta elettronica {{ email }}", size=9, color=GRIGIO)

    p = para(doc, after=8)
    run(p, "Oggetto: ", bold=True)
    run(p, "rilascio del certificato di competenze relativo alla figura «{{ course.figure.name }}» "
           "(D.Lgs. 16 gennaio 2013, n. 13, art. 6) – {{ course.programme }}, {{ course.path }}.", bold=True)

    p = para(doc, after=6)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    run(p, "Si certifica che ")
    run(p, "{{ nome }} ", bold=True)
    # Deliberately split tag: "{{ cog" and "nome }}" are two separate bold runs.
    run(p, "{{ cog", bold=True)
    run(p, "nome }}", bold=True)
    run(p, ", {% if sesso == 'F' %}nata{% else %}nato{% endif %} a {{ luogo_di_nascita }} "
           "il {{ data_di_nascita | date }}, codice fiscale {{ codice_fiscale }}, "
           "avendo frequentato {{ ore_frequentate | number }} ore su {{ course.hours | number }} del corso "
           "«{{ course.title }}» (almeno il {{ course.min_attendance_pct }}% richiesto) e superato l'esame finale, "
           "ha conseguito le competenze di seguito indicate, riferite alla figura professionale del "
           "{{ course.figure.repertory }}.")

    doc.add_heading("1. Dati della persona", level=2)
    kv_table(doc, [
        ("Cognome e nome", [("{{ cognome }} {{ nome }}", True)]),
        ("Codice fiscale", "{{ codice_fiscale }}"),
        ("Luogo e data di nascita", "{{ luogo_di_nascita }}, {{ data_di_nascita | date('long') }}"),
    ])

    doc.add_heading("2. Enti", level=2)
    kv_table(doc, [
        ("Ente pubblico titolare", [("{{ course.body.name }}", True), (" – {{ course.body.office }}", False)]),
        ("Ente titolato (organismo formativo)", [("{{ course.provider.name }}", True),
                                                 (" – {{ course.provider.accreditation_text }}", False)]),
    ])

    doc.add_heading("3. Qualificazione di riferimento", level=2)
    kv_table(doc, [
        ("Figura professionale", [("{{ course.figure.name }}", True), (" ({{ course.figure.code }})", False)]),
        ("Repertorio", "{{ course.figure.repertory }}"),
        ("Settore", "{{ course.figure.sector }}"),
        ("Livello EQF", [("{{ course.figure.eqf }}", True)]),
    ])

    doc.add_heading("4. Competenze certificate", level=2)
    R = WD_ALIGN_PARAGRAPH.RIGHT
    C = WD_ALIGN_PARAGRAPH.CENTER
    loop_table(
        doc,
        ["Codice UC", "Unità di competenza", "Area di attività (ADA)", "EQF", "Ore"],
        [2.2, 8.4, 3.2, 1.4, 1.8],
        "{%tr for u in course.units %}",
        [
            [("{{ u.code }}", True, None)],
            [("{{ u.title }}", False, None)],
            [("{{ u.ada }}", False, None)],
            [("{{ course.figure.eqf }}", False, C)],
            [("{{ u.hours | number }}", False, R)],
        ],
        total=[("Totale", None), ("", None), ("", None), ("", None),
               ("{{ course.units | sum(attribute='hours') | number }}", R)],
    )

    doc.add_heading("5. Apprendimento e valutazione", level=2)
    kv_table(doc, [
        ("Percorso formativo", "{{ course.title }} – {{ course.type }}"),
        ("Durata e periodo", "{{ course.hours | number }} ore, dal {{ course.start | date('long') }} "
                             "al {{ course.end | date('long') }}"),
        ("Ore frequentate", "{{ ore_frequentate | number }} su {{ course.hours | number }}"),
        ("Esame finale", "{{ course.exam_date | date('long') }}"),
        ("Esito", [("{{ esito_esame | upper }}", True)]),
        ("Riferimenti", "Codice progetto {{ course.project_code }} – {{ course.call }} ({{ course.call_ref }})"),
    ])

    p = para(doc, before=8, after=4)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    run(p, "Il certificato è rilasciato ai sensi del D.Lgs. 16 gennaio 2013, n. 13 e della disciplina regionale "
           "del sistema delle competenze; le competenze sono registrate nel fascicolo elettronico del lavoratore. "
           "L'originale informatico è conservato dall'organismo formativo.", size=9)

    p = para(doc, before=6, after=4)
    run(p, "{{ course.place }}, {{ course.issued | date('long') }}")
    signature_table(
        doc,
        [("Per la {{ course.body.name }}", True, None), ("Il Responsabile del procedimento", False, GRIGIO)],
        [("{{ course.signatory.role }}", True, None),
         ("{{ course.signatory.title }} {{ course.signatory.name }}", False, GRIGIO)],
    )
    # The seal (docgen/seal): a signed QR code with the document code, which docgen verify
    # and the office's verification page check.
    p = para(doc, before=8, after=0, align=WD_ALIGN_PARAGRAPH.RIGHT)
    run(p, "{{ seal }}", size=7.5, color=GRIGIO)
    p = para(doc, after=0, align=WD_ALIGN_PARAGRAPH.RIGHT)
    run(p, "Sigillo elettronico dell'ente: il codice QR firmato attesta i dati di questo certificato",
        size=7.5, color=GRIGIO)
    doc.save(path)


# ------------------------------------------------------------------ allegato_accordo
def make_allegato_accordo(path: Path) -> None:
    doc = new_document(
        "Allegato all'accordo di progetto – Scheda individuale",
        "Accordo di progetto del 22 gennaio 2026 – Programma GOL, Percorso 5",
    )
    sec = doc.sections[0]
    logo_band(sec.header, fourth="arti")
    footer_block(sec.footer,
                 "Scheda individuale – {{ course.company.name }} – {{ course.pnrr_line }} · {{ course.project_code }}")

    h = doc.add_heading("Allegato all'accordo di progetto del {{ course.agreement.date | date('long') }} – "
                        "Scheda individuale", level=1)
    h.paragraph_format.space_before = Pt(8)
    p = para(doc, after=8)
    run(p, "{{ course.agreement.title }} ({{ course.agreement.reference }}), sottoscritto da: "
           "{{ course.agreement.parties | join(', ') }}.", size=9, color=GRIGIO)

    doc.add_heading("{% if sesso == 'F' %}Dati della lavoratrice{% else %}Dati del lavoratore{% endif %}", level=2)
    kv_table(doc, [
        ("Cognome e nome", [("{{ cognome }} {{ nome }}", True)]),
        ("Codice fiscale", "{{ codice_fiscale }}"),
        ("{% if sesso == 'F' %}Nata{% else %}Nato{% endif %} a / il",
         "{{ luogo_di_nascita }}, {{ data_di_nascita | date }}"),
        ("Sede di lavoro", "{{ course.company.name }} – sede di {{ sede }}"),
    ])

    doc.add_heading("Misure previste dall'accordo", level=2)
    p = para(doc, after=6)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    run(p, "L'accordo prevede il trattamento di cassa integrazione guadagni straordinaria (CIGS) fino al "
           "{{ course.agreement.cigs_until | date('long') }} e, in alternativa tra loro, le misure seguenti. "
           "La misura scelta è contrassegnata con ☒.", size=9.5)
    loop_table(
        doc,
        ["Scelta", "Misura", "Contenuto"],
        [1.6, 5.4, 10.0],
        "{%tr for m in course.agreement.measures %}",
        [
            [("{% if m.name == misura %}☒{% else %}☐{% endif %}", True, WD_ALIGN_PARAGRAPH.CENTER)],
            [("{{ m.name }}", True, None)],
            [("{{ m.description }}", False, None)],
        ],
    )

    p = para(doc, before=10, after=4)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    run(p, "{% if sesso == 'F' %}La sottoscritta{% else %}Il sottoscritto{% endif %} ")
    run(p, "{{ nome }} {{ cognome }}", bold=True)
    run(p, " dichiara di aderire alla misura ")
    run(p, "«{{ misura }}»", bold=True)
    run(p, " e di essere stat{{ 'a' if sesso == 'F' else 'o' }} informat{{ 'a' if sesso == 'F' else 'o' }} "
           "che la presa in carico è curata da {{ course.arti.name }}, "
           "Centro per l'impiego di {{ 'Siena' if '(SI)' in sede else 'Firenze' }} "
           "({{ course.arti.contact }}, {{ course.arti.email }}).")

    # optional field: the whole paragraph disappears when `note` is empty
    para(doc, after=0).add_run("{%p if note %}")
    p = para(doc, after=4)
    run(p, "Annotazioni: ", bold=True, size=9.5)
    run(p, "{{ note }}", size=9.5)
    para(doc, after=0).add_run("{%p endif %}")

    p = para(doc, before=4, after=10)
    p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    run(p, "I dati personali sono trattati ai sensi del Regolamento (UE) 2016/679 esclusivamente per l'attuazione "
           "dell'accordo di progetto e delle misure del Programma GOL.", size=8.5, color=GRIGIO)

    p = para(doc, after=4)
    run(p, "Luogo e data: {{ 'Siena' if '(SI)' in sede else 'Firenze' }}, ____________________")
    signature_table(
        doc,
        [("{% if sesso == 'F' %}La lavoratrice{% else %}Il lavoratore{% endif %}", True, None),
         ("{{ nome }} {{ cognome }}", False, GRIGIO)],
        [("Per ARTI", True, None),
         ("Centro per l'impiego di {{ 'Siena' if '(SI)' in sede else 'Firenze' }}", False, GRIGIO)],
    )
    doc.save(path)


def normalise_zip(path: Path) -> None:
    """Fixed zip timestamps and core-properties dates, so regenerating gives identical bytes."""
    import re
    import zipfile

    with zipfile.ZipFile(path) as zin:
        items = [(info, zin.read(info.filename)) for info in zin.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info, data in items:
            if info.filename == "docProps/core.xml":
                data = re.sub(rb"(<dcterms:(?:created|modified)[^>]*>)[^<]*", rb"\g<1>2026-01-22T09:00:00Z", data)
            zi = zipfile.ZipInfo(info.filename, date_time=(2026, 1, 22, 9, 0, 0))
            zi.compress_type = zipfile.ZIP_DEFLATED
            zout.writestr(zi, data)


def main() -> None:
    TPL.mkdir(parents=True, exist_ok=True)
    for fn, builder in (("lettera_qualifica.docx", make_lettera_qualifica),
                        ("allegato_accordo.docx", make_allegato_accordo)):
        builder(TPL / fn)
        normalise_zip(TPL / fn)
        print(f"wrote {TPL / fn}")


if __name__ == "__main__":
    main()
