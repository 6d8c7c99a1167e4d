"""manifest.csv: safe to open in Excel, read back as written."""

from __future__ import annotations

import csv
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from docgen.manifest import Outcome, read_manifest, write_manifest


def test_formulas_are_neutralised_and_read_back(tmp_path: Path) -> None:
    """A value Excel would run as a formula is stored with a quote, and docgen reads the
    original value back (so a re-run still recognises the document)."""
    outcome = Outcome(document="attestato", status="ok", row=2, key="=HYPERLINK(\"x\")",
                      path="-Rossi/attestato.pdf", sha256="a" * 64, message="@SUM(1)")
    write_manifest(tmp_path, [outcome], keep_others=False)
    with (tmp_path / "manifest.csv").open(encoding="utf-8-sig", newline="") as handle:
        raw = next(csv.DictReader(handle))
    assert raw["key"] == "'=HYPERLINK(\"x\")" and raw["path"] == "'-Rossi/attestato.pdf"
    assert raw["message"] == "'@SUM(1)"
    back = read_manifest(tmp_path)[0]
    assert back["key"] == outcome.key and back["path"] == outcome.path
    assert (tmp_path / "manifest.csv").read_bytes().startswith(b"\xef\xbb\xbfrow,key,document")


_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=_TEXT, message=_TEXT, path=_TEXT)
def test_any_value_reads_back_exactly(tmp_path: Path, key: str, message: str, path: str) -> None:
    """Every string survives the manifest's formula-neutralising round trip exactly: a value
    starting with a quote stays distinct from the same value without it."""
    for value in (key, "'" + key, "'=" + key):
        outcome = Outcome(document="attestato", status="ok", row=2, key=value, path=path,
                          sha256="a" * 64, message=message)
        write_manifest(tmp_path, [outcome], keep_others=False)
        back = read_manifest(tmp_path)[0]
        assert (back["key"], back["path"], back["message"]) == (value, path, message)
