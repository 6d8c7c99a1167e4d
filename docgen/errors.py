"""One error hierarchy: every problem docgen reports names where it is and what to do."""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence


class DocgenError(Exception):
    """A problem the user can fix; formats itself with its place and a hint.

    ``exit_code`` follows the contract: 2 for an unusable job, roster or template
    (nothing is written), 1 for a problem confined to some rows.
    """

    exit_code = 2
    severity = "error"

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        row: int | None = None,
        key: str | None = None,
        field: str | None = None,
        document: str | None = None,
        hint: str | None = None,
        cell: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.row = row
        self.key = key
        self.field = field
        self.document = document
        self.hint = hint
        self.cell = cell  # e.g. roster.xlsx!D17, or a template place

    @property
    def place(self) -> str:
        """Where the problem is, e.g. ``roster.xlsx row 14 (RSSMRA80A01H501U)``, or
        ``lettera.docx (paragraph “Gentile {{ nome }}”)``."""
        parts = []
        if self.file:
            parts.append(self.file)
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.key:
            parts.append(f"({self.key})")
        if self.cell and self.row is None and self.cell not in self.message:
            parts.append(f"({self.cell})")
        return " ".join(parts)

    def __str__(self) -> str:
        text = f"{self.place}: {self.message}" if self.place else self.message
        if self.document:
            text += f" [{self.document}]"
        if self.hint:
            text += f". {self.hint}"
        return text

    def as_dict(self) -> dict[str, object]:
        """The error as plain data, for JSON reports."""
        return {
            "file": self.file,
            "row": self.row,
            "key": self.key,
            "field": self.field,
            "document": self.document,
            "cell": self.cell,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


def describe(err: BaseException) -> str:
    """An unexpected exception in one line: its type and first line, for a failed document's
    or message's reason."""
    text = str(err).strip().splitlines()[0] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


def suggest(name: str, known: Iterable[str], *, n: int = 1, cutoff: float = 0.6) -> str | None:
    """The one did-you-mean rule: ``did you mean 'x'?`` (or ``'x' or 'y'``) for the closest of
    ``known`` to ``name``, or None when nothing is close."""
    close = difflib.get_close_matches(name, sorted(set(known)), n=n, cutoff=cutoff)
    return f"did you mean {' or '.join(repr(c) for c in close)}?" if close else None


def by_closeness(name: str, known: Iterable[str]) -> list[str]:
    """``known`` sorted with the names closest to ``name`` first (for "the filters that
    exist" lists)."""
    return sorted(set(known), key=lambda k: (-difflib.SequenceMatcher(None, name, k).ratio(), k))


def sentences(*parts: str | None) -> str:
    """Hint parts joined as sentences: each ends with a full stop (or ? !) before the next."""
    done = [p.strip() for p in parts if p and p.strip()]
    return " ".join(p if p[-1] in ".?!" else f"{p}." for p in done)


class JobError(DocgenError):
    """The job file is missing, malformed or inconsistent."""


class RosterError(DocgenError):
    """The roster cannot be read as a whole (file, sheet, header)."""


class TemplateError(DocgenError):
    """A template cannot be loaded or uses fields no column provides."""


class RowError(DocgenError):
    """One row's document cannot be made; the other rows go on."""

    exit_code = 1


class DocgenWarning(DocgenError):
    """Worth the clerk's attention, but nothing fails because of it."""

    exit_code = 0
    severity = "warning"


class UnusableError(DocgenError):
    """Several fatal problems found in one pass; reported together."""

    def __init__(self, problems: Sequence[DocgenError]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class LibreOfficeMissingError(DocgenError):
    """No LibreOffice program to convert DOCX files to PDF."""


class PdfVariantError(DocgenError):
    """A ``pdf_variant`` LibreOffice cannot export."""


class ConversionError(DocgenError):
    """One document could not be converted; the other documents go on."""

    exit_code = 1


class ConversionTimeoutError(ConversionError):
    """LibreOffice did not finish one document in time and was stopped."""


class RenderError(DocgenError):
    """WeasyPrint reported a problem (missing image, refused URL, bad CSS) for one document."""

    exit_code = 1


class BundleError(DocgenError):
    """Bundles cannot be made: an unknown mode, or a document outside or missing from the output."""


class MailServerError(DocgenError):
    """The SMTP server cannot be reached or refuses the login; nothing more is sent."""



class SealKeyError(DocgenError):
    """A seal key cannot be made, read or used."""


class PayloadError(ValueError):
    """The text is not a seal, or a damaged one; the message says which part."""


class VerifyInputError(DocgenError):
    """Nothing to verify: a path that does not exist, or no PDF under it."""


class XmpError(ValueError):
    """The PDF's metadata cannot take or give a seal."""

# A command stopped by a signal exits 128 + its number (130 SIGINT, 143 SIGTERM), as shells
# report it; build and mail share this.
SIGNAL_EXIT_BASE = 128


def signal_exit_code(signum: int) -> int:
    return SIGNAL_EXIT_BASE + signum


class ContainmentError(DocgenError):
    """A path that would leave the output folder: a symbolic link on the way, or an absolute
    or climbing path read back from a manifest or journal."""


class LimitError(DocgenError):
    """One document went over a ``[job.limits]`` limit; the other documents go on."""

    exit_code = 1

    def __init__(self, message: str, limit: str, **place: object) -> None:
        super().__init__(f"{message} (limit [job.limits] {limit})", **place)  # type: ignore[arg-type]
        self.limit = limit


class ClusterError(DocgenError):
    """The cluster cannot be used: Dask missing, the scheduler unreachable or lost."""
