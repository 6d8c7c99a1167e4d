"""Problems inside templates that rendering survives but a clerk should know about:
Word's split tags and typographic quotes (repaired), and references an HTML template
makes to files outside its folder or on the network (refused)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote, urlsplit

from docgen.errors import DocgenError, DocgenWarning, TemplateError
from docgen.job import DocumentSpec

_TAG = re.compile(r"\{[{%#].*?[}%#]\}", re.DOTALL)
_CURLY = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'"})
_REFERENCES = [
    re.compile(r"<link\b[^>]*?\bhref\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE),
    re.compile(r"\b(?:src|xlink:href)\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE),
    re.compile(r"<image\b[^>]*?\bhref\s*=\s*[\"']([^\"']+)[\"']", re.IGNORECASE),
    re.compile(r"url\(\s*[\"']?([^\"')]+?)[\"']?\s*\)", re.IGNORECASE),
    re.compile(r"@import\s+[\"']([^\"']+)[\"']", re.IGNORECASE),
]
W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def template_problems(spec: DocumentSpec, folders: tuple[Path, ...] = ()) -> list[DocgenError]:
    """Warnings about one template, and errors for the files it asks for that are missing
    or that it may not read (outside ``folders``: its own, the job file's, the assets)."""
    if spec.kind == "docx":
        return [DocgenWarning(message, file=spec.template.name, document=spec.name, cell=place,
                              hint=f"repaired when rendering; `docgen fix-template "
                                   f"{spec.template.name} fixed.docx` writes a clean copy")
                for place, message in word_damage(spec.template)] + _external(spec)
    return list(_html_references(spec, folders or (spec.template.parent.resolve(),)))


# --- Word ----------------------------------------------------------------------------------

def _paragraphs(path: Path) -> Iterator[tuple[str, object]]:
    """(part name, paragraph element) for the body, headers and footers."""
    from docx import Document

    document = Document(str(path))
    yield "body", document.element.body
    for rel in document.part.rels.values():
        if rel.reltype.endswith(("/header", "/footer")) and not rel.is_external:
            yield rel.reltype.rsplit("/", 1)[1], rel.target_part.element


def _text_units(paragraph: object) -> list[object]:
    return list(paragraph.iter(f"{W_NS}t"))  # type: ignore[attr-defined]


def _damaged_tags(units: list[object]) -> Iterator[tuple[int, int, int, int, str, bool, bool]]:
    """(start, end, first unit, last unit, tag, split, curly) for every tag, right to left."""
    texts = [u.text or "" for u in units]  # type: ignore[attr-defined]
    starts, position = [], 0
    for text in texts:
        starts.append(position)
        position += len(text)
    joined = "".join(texts)
    found = []
    for match in _TAG.finditer(joined):
        first = max(i for i, s in enumerate(starts) if s <= match.start())
        last = max(i for i, s in enumerate(starts) if s < match.end())
        tag = match.group(0)
        curly = tag != tag.translate(_CURLY)
        if first != last or curly:
            found.append((match.start(), match.end(), first, last, tag, first != last, curly))
    yield from reversed(found)


def word_damage(path: Path) -> list[tuple[str, str]]:
    """(place, problem) for every tag Word split into pieces or gave typographic quotes."""
    found = []
    for part, root in _paragraphs(path):
        for paragraph in root.iter(f"{W_NS}p"):  # type: ignore[attr-defined]
            units = _text_units(paragraph)
            text = "".join(u.text or "" for u in units)  # type: ignore[attr-defined]
            for _, _, first, last, tag, split, curly in reversed(list(_damaged_tags(units))):
                place = f"{part}, paragraph “{text.strip()[:60]}”"
                if split:
                    found.append((place, f"the tag {tag} is split by Word into "
                                         f"{last - first + 1} pieces"))
                if curly:
                    found.append((place, f"the tag {tag} has Word's typographic quotes"))
    return found


def repair_docx(source: Path, target: Path) -> int:
    """Write a copy of a Word template with every split tag joined into its first run and
    typographic quotes inside tags straightened; returns how many tags were repaired."""
    from docx import Document

    from docgen.files import atomic_write
    from docgen.sources import docx_source

    if source.suffix.lower() != ".docx":
        raise TemplateError("fix-template works on .docx templates", file=source.name)
    docx_source(source)  # refuses what is not a readable Word document, with the reason
    document = Document(str(source))
    roots = [document.element.body] + [
        rel.target_part.element for rel in document.part.rels.values()
        if rel.reltype.endswith(("/header", "/footer")) and not rel.is_external]
    repaired = 0
    for root in roots:
        for paragraph in root.iter(f"{W_NS}p"):
            units = _text_units(paragraph)
            for start, end, first, last, tag, _, _ in _damaged_tags(units):
                offsets = [sum(len(u.text or "") for u in units[:i]) for i in range(len(units))]
                head = (units[first].text or "")[: start - offsets[first]]
                tail = (units[last].text or "")[end - offsets[last]:]
                for index in range(first + 1, last):
                    units[index].text = ""
                if first == last:
                    units[first].text = head + tag.translate(_CURLY) + tail
                else:
                    units[first].text = head + tag.translate(_CURLY)
                    units[last].text = tail
                for unit in (units[first], units[last]):
                    unit.set("{http://www.w3.org/XML/1998/namespace}space", "preserve")
                repaired += 1
    import io

    buffer = io.BytesIO()
    document.save(buffer)
    atomic_write(target, buffer.getvalue())
    return repaired


def _external(spec: DocumentSpec) -> list[DocgenError]:
    """Relationships of a Word template to files outside it or on the network (a linked
    image, an OLE object): Word would fetch them when the document is opened; LibreOffice
    converts a copy without them."""
    from docgen.archives import external_targets

    try:
        found = external_targets(spec.template.read_bytes())
    except Exception:  # an unreadable template is reported by sources, with the reason
        return []
    pdf = " (the PDF is made without it)" if spec.pdf else ""
    return [DocgenWarning(f"external {kind} {target}{pdf}", file=spec.template.name,
                          document=spec.name, cell=f"{part}: {target[:80]}",
                          hint="embed the file in the document instead of linking it "
                               "(Word: Insert > Pictures, not Link to File)")
            for part, kind, target in found]


# --- HTML ----------------------------------------------------------------------------------

def _html_references(spec: DocumentSpec, folders: tuple[Path, ...]) -> Iterator[DocgenError]:
    """Every file an HTML template (and the stylesheets it links) asks for, checked statically:
    one that is missing or refused is fatal, so no certificate is made without its logo.
    References built from roster values (``{{ }}``) are checked when rendering."""
    folder = spec.template.parent.resolve()
    seen: set[Path] = set()
    queue = [spec.template.resolve()]
    while queue:
        current = queue.pop()
        if current in seen:
            continue
        seen.add(current)
        try:
            text = current.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        for reference in sorted({m for p in _REFERENCES for m in p.findall(text)}):
            if "{{" in reference or "{%" in reference or reference.startswith("#"):
                continue
            problem = _reference_problem(reference, current.parent, folders)
            shown = current.relative_to(folder) if current.is_relative_to(folder) else current.name
            place = f"{shown}: {reference[:80]}"
            if problem is None:
                target = (current.parent / unquote(urlsplit(reference).path)).resolve()
                if target.suffix.lower() == ".css":
                    queue.append(target)
            elif problem.startswith("missing"):
                yield TemplateError(f"{problem}: {reference}", file=spec.template.name,
                                    document=spec.name, cell=place,
                                    hint="put the file there, or fix the path.")
            else:
                yield TemplateError(f"{problem}: {reference}", file=spec.template.name,
                                    document=spec.name, cell=place,
                                    hint="copy the file under the template's or the job file's "
                                         "folder, or list its folder in [job] assets, and refer "
                                         "to it by a relative path.")


def _reference_problem(reference: str, base: Path, folders: tuple[Path, ...]) -> str | None:
    parts = urlsplit(reference)
    scheme = parts.scheme.lower()
    if scheme == "data":
        return None
    if scheme and scheme != "file" and len(scheme) > 1:  # c: is a Windows drive, not a scheme
        return "refused (templates never fetch from the network)"
    path = Path(unquote(parts.path))
    target = (path if path.is_absolute() else base / path).resolve()
    if not any(target.is_relative_to(f) for f in folders):
        return "refused (outside the template's folder, the job's folder and [job] assets)"
    if not target.is_file():
        return "missing file"
    return None
