"""Zip bundles read back with zipfile: names, contents, reproducible bytes, safe names."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest

from docgen.bundles import NO_GROUP, BundleEntry, make_bundles
from docgen.errors import BundleError

ALL_MODES = ("per-worker", "per-site-field", "batch")


def write(out: Path, relative: str, data: bytes) -> str:
    """A document file under ``out``; returns its relative path."""
    path = out / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return relative


def sample(out: Path) -> list[BundleEntry]:
    """Two workers at one site, one at another, and a batch document."""
    niccolo = "D'ANGELO_Niccolò_DNGNCL80A01I726X"
    return [
        BundleEntry("DNGNCL80A01I726X", niccolo, write(out, "attestati/DNGNCL80A01I726X.pdf", b"%PDF a"),
                    "Monteriggioni (SI)"),
        BundleEntry("DNGNCL80A01I726X", niccolo, write(out, "lettere/DNGNCL80A01I726X.docx", b"PK a"),
                    "Monteriggioni (SI)"),
        BundleEntry("BNCGLI90E41H501Z", "BIANCHI_Giulia_BNCGLI90E41H501Z",
                    write(out, "attestati/BNCGLI90E41H501Z.pdf", b"%PDF b"), "Monteriggioni (SI)"),
        BundleEntry("LCUMRA85C52D612Y", "LUCÀ_Mariù_LCUMRA85C52D612Y",
                    write(out, "attestati/LCUMRA85C52D612Y.pdf", b"%PDF c"), "Sesto Fiorentino (FI)"),
        BundleEntry(None, "elenco", write(out, "elenco.pdf", b"%PDF elenco"), None),
    ]


def names_in(path: Path) -> list[str]:
    """The entry names of a zip, in stored order."""
    with zipfile.ZipFile(path) as archive:
        return archive.namelist()


def test_bundles_per_worker_group_and_batch(tmp_path: Path) -> None:
    """Each mode's zips hold the right documents, byte for byte, under their relative paths."""
    entries = sample(tmp_path)
    paths = make_bundles(tmp_path, entries, modes=ALL_MODES, batch_name="corso-2024")
    bundles = tmp_path / "bundles"
    assert [p.relative_to(bundles).as_posix() for p in paths] == [
        "per-worker/BIANCHI_Giulia_BNCGLI90E41H501Z.zip",
        "per-worker/D'ANGELO_Niccolò_DNGNCL80A01I726X.zip",
        "per-worker/LUCÀ_Mariù_LCUMRA85C52D612Y.zip",
        "per-site-field/Monteriggioni (SI).zip",
        "per-site-field/Sesto Fiorentino (FI).zip",
        "corso-2024.zip",
    ]
    assert names_in(paths[1]) == ["attestati/DNGNCL80A01I726X.pdf", "lettere/DNGNCL80A01I726X.docx"]
    assert names_in(paths[3]) == ["attestati/BNCGLI90E41H501Z.pdf", "attestati/DNGNCL80A01I726X.pdf",
                                  "lettere/DNGNCL80A01I726X.docx"]
    assert names_in(paths[4]) == ["attestati/LCUMRA85C52D612Y.pdf"]
    assert names_in(paths[5]) == sorted(e.path for e in entries)
    with zipfile.ZipFile(paths[5]) as archive:
        assert archive.testzip() is None
        for info in archive.infolist():
            assert archive.read(info) == (tmp_path / info.filename).read_bytes()
            assert info.date_time == (1980, 1, 1, 0, 0, 0)
            assert info.compress_type == zipfile.ZIP_DEFLATED
            assert info.external_attr >> 16 == 0o100644


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    """Re-running on the same documents (even with other mtimes and permissions) gives the same zips."""
    entries = sample(tmp_path)
    first = {p: p.read_bytes() for p in make_bundles(tmp_path, entries, modes=ALL_MODES)}
    for entry in entries:
        os.utime(tmp_path / entry.path, (1_700_000_000, 1_700_000_000))
        (tmp_path / entry.path).chmod(0o600)
    second = make_bundles(tmp_path, list(reversed(entries)), modes=ALL_MODES)
    assert sorted(second) == sorted(first)
    assert all(p.read_bytes() == first[p] for p in second)
    assert not list(tmp_path.rglob("*.tmp"))


def test_source_date_epoch_sets_entry_times(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SOURCE_DATE_EPOCH fixes the entries' time (UTC, even seconds)."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1717243261")  # 2024-06-01 12:01:01 UTC
    [path] = make_bundles(tmp_path, sample(tmp_path), modes=["batch"])
    with zipfile.ZipFile(path) as archive:
        assert {i.date_time for i in archive.infolist()} == {(2024, 6, 1, 12, 1, 0)}


def test_hostile_labels_give_safe_distinct_names(tmp_path: Path) -> None:
    """Labels that climb folders, are reserved on Windows or differ only by case stay inside, apart."""
    labels = ["../../x", "CON", "Rossi", "ROSSI", "a/b\\c"]
    entries = [BundleEntry(f"K{i}", label, write(tmp_path, f"d/{i}.pdf", b"x"), None)
               for i, label in enumerate(labels)]
    paths = make_bundles(tmp_path, entries, modes=["per-worker"])
    folder = (tmp_path / "bundles" / "per-worker").resolve()
    assert len(paths) == len(labels)
    assert len({p.name.casefold() for p in paths}) == len(labels)
    for path in paths:
        assert path.resolve().parent == folder
        assert not path.name.startswith(".")
        assert path.name.split(".")[0].lower() not in {"con", "x"}
        assert "/" not in path.name and "\\" not in path.name
    assert not (tmp_path / "x.zip").exists()


def test_workers_without_group_and_batch_documents(tmp_path: Path) -> None:
    """An empty grouping cell gets its own bundle; batch documents are only in the batch zip."""
    entries = [
        BundleEntry("K1", "UNO", write(tmp_path, "uno.pdf", b"1"), "  "),
        BundleEntry(None, "elenco", write(tmp_path, "elenco.pdf", b"e"), "Sede"),
    ]
    paths = make_bundles(tmp_path, entries, modes=["per-site-field", "per-worker"])
    assert [p.name for p in paths] == [f"{NO_GROUP}.zip", "UNO.zip"]
    assert all(names_in(p) == ["uno.pdf"] for p in paths)


def test_paths_outside_the_output_are_refused(tmp_path: Path) -> None:
    """An entry path that is absolute or climbs with .. is a fatal error."""
    for bad in ("../secret.pdf", "/etc/passwd", "a/../../b.pdf", "C:/x.pdf"):
        with pytest.raises(BundleError, match="not inside the output folder"):
            make_bundles(tmp_path, [BundleEntry("K", "L", bad, None)], modes=["batch"])


def test_missing_document_and_unknown_mode_are_fatal(tmp_path: Path) -> None:
    """A listed document missing on disk, or a mode docgen does not know, stops with exit 2."""
    with pytest.raises(BundleError, match="cannot read missing.pdf") as info:
        make_bundles(tmp_path, [BundleEntry("K", "L", "missing.pdf", None)], modes=["batch"])
    assert info.value.exit_code == 2
    with pytest.raises(BundleError, match="per-course"):
        make_bundles(tmp_path, [], modes=["per-course"])


def test_stale_bundles_of_an_earlier_build_are_removed(tmp_path: Path) -> None:
    """A worker no longer in the build loses their old bundle; other modes' folders are untouched."""
    entries = sample(tmp_path)
    first = make_bundles(tmp_path, entries, modes=["per-worker", "per-site-field"])
    second = make_bundles(tmp_path, entries[:2], modes=["per-worker"])
    assert sorted(p.name for p in (tmp_path / "bundles" / "per-worker").iterdir()) == [
        p.name for p in second
    ]
    assert all(p.exists() for p in first if p.parent.name == "per-site-field")
