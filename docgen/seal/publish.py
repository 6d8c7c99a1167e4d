"""``docgen keys publish``: the static verification page, its keys.json and revoked.json."""

from __future__ import annotations

import json
import shutil
from importlib.resources import files
from pathlib import Path

from docgen.errors import SealKeyError
from docgen.files import atomic_write
from docgen.seal.keys import KEYS_FILE, load_public_keys, output_folder_above
from docgen.seal.revoke import REVOKED_FILE, load_revocations

PAGE = "index.html"
_MARK = "/*NOBLE-ED25519*/"


def page_html() -> str:
    """index.html with the vendored noble-ed25519 inlined (one self-contained file: no
    external script, nothing fetched but keys.json and revoked.json beside it)."""
    static = files("docgen.seal") / "static"
    page = (static / PAGE).read_text(encoding="utf-8")
    noble = (static / "noble-ed25519.js").read_text(encoding="utf-8")
    if "</script" in noble.lower():
        raise SealKeyError("the vendored noble-ed25519.js cannot be inlined (it holds </script>)")
    return page.replace(_MARK, noble, 1)


def publish(keys_source: Path, folder: Path) -> list[Path]:
    """Write index.html, keys.json (every known public key, old ones too) and revoked.json
    (checked against them) into ``folder``; returns the files written."""
    if (inside := output_folder_above(folder)) is not None:
        raise SealKeyError(f"{folder} is inside the output folder {inside}",
                           hint="publish the page into a folder of its own, e.g. verifica/")
    keys = load_public_keys(keys_source)
    source_folder = keys_source if keys_source.is_dir() else keys_source.parent
    listing = {"format": 1, "keys": [keys[k].as_json() for k in sorted(keys)]}
    written = [folder / PAGE, folder / KEYS_FILE]
    atomic_write(folder / PAGE, page_html().encode("utf-8"))
    atomic_write(folder / KEYS_FILE, (json.dumps(listing, indent=2, ensure_ascii=False) + "\n")
                 .encode("utf-8"))
    revoked = source_folder / REVOKED_FILE
    if revoked.is_file():
        load_revocations(revoked, keys)  # a list the page would refuse is refused here first
        shutil.copyfile(revoked, folder / REVOKED_FILE)
        written.append(folder / REVOKED_FILE)
    return written


def publish_page(folder: Path, keys: Path | None, job: Path) -> list[Path]:
    """``docgen keys publish``: the keys default to the folder of the job's key."""
    from docgen.seal.settings import job_key

    return publish(keys if keys is not None else job_key(job).parent, folder)
