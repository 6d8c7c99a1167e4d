"""Header names and safe file names."""

from __future__ import annotations

import pytest

from docgen.names import collision_key, field_name, safe_relative_path, sanitize_segment


@pytest.mark.parametrize(("header", "name"), [
    ("Data di nascita", "data_di_nascita"),
    ("Cod. Fiscale", "cod_fiscale"),
    ("  Città / Comune  ", "citta_comune"),
    ("Ore frequentate (h)", "ore_frequentate_h"),
    ("1° modulo", "f_1_modulo"),
])
def test_field_name(header: str, name: str) -> None:
    """Header text becomes lower case, accent-free, underscore-joined."""
    assert field_name(header) == name


@pytest.mark.parametrize("value", ["../../etc/passwd", "..", "a/b\\c", "x\x00y", "CON", "nul.txt",
                                   "com1", "trailing. . ", "a" * 300, "", "..."])
def test_sanitize_segment_is_one_safe_segment(value: str) -> None:
    """No separator, no climbing, no control character, no reserved name, bounded length."""
    segment = sanitize_segment(value)
    assert segment and "/" not in segment and "\\" not in segment and "\x00" not in segment
    assert segment not in (".", "..")
    assert segment.split(".")[0].lower() not in {"con", "nul", "com1"}
    assert not segment.endswith((".", " "))
    assert len(segment) <= 100


def test_sanitize_keeps_accents_and_apostrophes_in_nfc() -> None:
    """Names keep their accents (normalised to NFC) and apostrophes."""
    assert sanitize_segment("D'Ange\u0301lo Niccolò") == "D'Angélo Niccolò"


def test_safe_relative_path_never_leaves_the_folder() -> None:
    """Absolute paths and .. segments from a pattern are neutralised."""
    assert safe_relative_path("/etc/../passwd") == "etc/_/passwd"
    assert safe_relative_path("a/./b.pdf") == "a/b.pdf"
    assert safe_relative_path("") == "_"


def test_long_names_keep_their_extension() -> None:
    """A capped name keeps its extension."""
    assert sanitize_segment("x" * 200 + ".pdf").endswith(".pdf")


def test_collision_key_ignores_case() -> None:
    """Windows and macOS see ROSSI and Rossi as one file."""
    assert collision_key("ROSSI/a.pdf") == collision_key("Rossi/A.pdf")
