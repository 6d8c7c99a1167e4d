"""Zip bundles of a build's documents: per worker, per group (e.g. site), whole batch."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from docgen.errors import BundleError
from docgen.files import OutputFolder
from docgen.job import ZIP_MODES
from docgen.names import collision_key, sanitize_segment
from docgen.zipfiles import Member, write_zip

BUNDLES_FOLDER = "bundles"  # inside the output folder
# The bundle for workers whose grouping cell is empty.
NO_GROUP = "(empty)"
# Regular file, rw-r--r--, whatever the permissions on disk.
_FILE_MODE = 0o100644



@dataclass(frozen=True)
class BundleEntry:
    """One ok document: ``path`` relative to the output folder; ``key`` None for batch documents."""

    key: str | None
    label: str
    path: str
    group: str | None


def make_bundles(out: Path, entries: Sequence[BundleEntry], *, modes: Sequence[str],
                 folder: str = BUNDLES_FOLDER, batch_name: str = "batch") -> list[Path]:
    """Write the zip bundles of ``modes`` into ``out/folder``; return their paths.

    ``per-worker`` bundles go to ``folder/per-worker/<label>.zip``, ``per-site-field`` ones to
    ``folder/per-site-field/<group>.zip`` and the ``batch`` one to ``folder/<batch_name>.zip``.
    Zips left there by an earlier build for workers or groups no longer present are removed.
    The same documents give byte-identical zips.
    """
    unknown = [m for m in modes if m not in ZIP_MODES]
    if unknown:
        raise BundleError(f"unknown bundle mode {unknown[0]!r}", hint=f"use {', '.join(ZIP_MODES)}")
    base = out / sanitize_segment(folder)
    output = OutputFolder(out)
    documents = {entry.path: _arcname(entry.path) for entry in entries}
    written: list[Path] = []
    for mode in dict.fromkeys(modes):
        if mode == "batch":
            bundles = {sanitize_segment(batch_name): list(entries)} if entries else {}
            target = base
        else:
            bundles = _per_worker(entries) if mode == "per-worker" else _per_group(entries)
            target = base / mode
        paths = [target / f"{name}.zip" for name in bundles]
        for path, members in zip(paths, bundles.values(), strict=True):
            _write_zip(output, path, sorted({documents[m.path] for m in members}))
        if mode != "batch":
            _prune(output, target.relative_to(out).as_posix(), {p.name for p in paths})
        written += paths
    return written


def _per_worker(entries: Iterable[BundleEntry]) -> dict[str, list[BundleEntry]]:
    """Each worker's documents, under a unique sanitised name made from their label."""
    workers: dict[str, list[BundleEntry]] = {}
    for entry in entries:
        if entry.key is not None:
            workers.setdefault(entry.key, []).append(entry)
    labelled = sorted((min(e.label for e in docs), key) for key, docs in workers.items())
    return _unique([(label, workers[key]) for label, key in labelled])


def _per_group(entries: Iterable[BundleEntry]) -> dict[str, list[BundleEntry]]:
    """Workers' documents by the value of the grouping column; batch documents stay out."""
    groups: dict[str, list[BundleEntry]] = {}
    for entry in entries:
        if entry.key is not None:
            group = (entry.group or "").strip() or NO_GROUP
            groups.setdefault(group, []).append(entry)
    return _unique(sorted(groups.items()))


def _unique(named: Iterable[tuple[str, list[BundleEntry]]]) -> dict[str, list[BundleEntry]]:
    """Sanitise names; names a file system would confuse get ``-2``, ``-3``... in input order."""
    result: dict[str, list[BundleEntry]] = {}
    taken: set[str] = set()
    for raw, members in named:
        name = sanitize_segment(raw)
        candidate, number = name, 1
        while collision_key(candidate) in taken:
            number += 1
            candidate = f"{name}-{number}"
        taken.add(collision_key(candidate))
        result[candidate] = members
    return result


def _arcname(relative: str) -> str:
    """A document's name inside a zip: its relative POSIX path, refusing absolute paths and ``..``."""
    posix = PurePosixPath(relative.replace("\\", "/"))
    parts = [p for p in posix.parts if p not in ("", ".")]
    if posix.is_absolute() or not parts or ".." in parts or ":" in parts[0]:
        raise BundleError(f"document path {relative!r} is not inside the output folder")
    return "/".join(parts)


def _write_zip(out: OutputFolder, path: Path, names: Sequence[str]) -> None:
    """Write a zip of ``out``'s files ``names`` with fixed timestamps and permissions, atomically
    (documents read and the zip written through the output folder, never through a link)."""
    members = []
    for name in names:
        try:
            members.append(Member.deflate(name, out.read_bytes(name)))
        except OSError as err:
            raise BundleError(f"cannot read {name} for bundle {path.name}: {err.strerror}",
                              file=str(out.root / name)) from err
    try:
        data = write_zip(members, unix_mode=_FILE_MODE)
    except ValueError as err:
        raise BundleError(f"bundle {path.name} is {err}", hint="use per-site-field or per-worker "
                          "bundles for a batch this large") from err
    out.write(path.relative_to(out.root).as_posix(), data)


def _prune(out: OutputFolder, folder: str, keep: set[str]) -> None:
    """Remove zips an earlier build left in ``folder`` that this build did not write."""
    for name in out.files(folder):
        if name.endswith(".zip") and name not in keep:
            out.remove(f"{folder}/{name}")
