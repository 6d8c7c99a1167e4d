"""revoked.json: the documents withdrawn since issue, signed so the verification page can trust it."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from docgen.errors import SealKeyError
from docgen.files import atomic_write
from docgen.seal.keys import PUBLIC_SUFFIX, PublicKey, SigningKey, b64url, load_public_keys, unb64url
from docgen.seal.payload import format_code, parse_code

REVOKED_FILE = "revoked.json"


def canonical(value: Any) -> bytes:
    """What the signature covers: the JSON with sorted keys, no spaces, UTF-8 (the page's
    script writes the same bytes with JSON.stringify over sorted keys)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


@dataclass(frozen=True)
class Revocations:
    """Revoked document codes with their date and reason."""

    entries: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def reason(self, document_id: bytes) -> str | None:
        entry = self.entries.get(format_code(document_id))
        if entry is None:
            return None
        return f"revoked on {entry.get('date', '?')}: {entry.get('reason', '')}".rstrip(": ")


def _signed(document: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in document.items() if k != "signature"}


def load_revocations(path: Path, keys: Mapping[bytes, PublicKey]) -> Revocations:
    """revoked.json checked against the known keys; none at ``path`` means none revoked."""
    if not path.is_file():
        return Revocations()
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        kid, signature = unb64url(document["kid"]), unb64url(document["signature"])
        entries = {str(e["id"]): e for e in document["revoked"]}
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise SealKeyError(f"cannot read the revocation list ({type(err).__name__})",
                           file=str(path)) from err
    key = keys.get(kid)
    if key is None or not key.verify(signature, canonical(_signed(document))):
        raise SealKeyError("the revocation list is not signed by a known key", file=str(path),
                           hint="it was edited by hand or signed with an unknown key: make it "
                                "again with docgen revoke")
    return Revocations(entries)


def revoke(key: SigningKey, code: str, reason: str, today: dt.date | None = None) -> Path:
    """Add a document code to revoked.json beside the private key, and sign the list again."""
    if not reason.strip():
        raise SealKeyError("a revocation needs a reason", hint='--reason "issued by mistake"')
    try:
        normalized = format_code(parse_code(code))
    except ValueError as err:
        raise SealKeyError(str(err), hint="the code printed under the QR code") from err
    path = key.path.parent / REVOKED_FILE
    # The list may have been signed last year, with the key of then: any key beside it counts.
    known = {k.kid: k for f in key.path.parent.glob(f"*{PUBLIC_SUFFIX}")
             for k in load_public_keys(f).values()} if path.is_file() else {}
    known[key.kid] = PublicKey(kid=key.kid, issuer="", created="", key=key.public)
    existing = load_revocations(path, known)
    when = (today or dt.date.today()).isoformat()
    entries = {k: dict(v) for k, v in existing.entries.items()}
    entries[normalized] = {"id": normalized, "date": when, "reason": reason.strip()}
    document: dict[str, Any] = {"format": 1, "kid": b64url(key.kid), "updated": when,
                                "revoked": [entries[k] for k in sorted(entries)]}
    document["signature"] = b64url(key.sign(canonical(document)))
    atomic_write(path, (json.dumps(document, indent=2, ensure_ascii=False) + "\n").encode())
    return path


def revoke_document(code: str, reason: str, key: Path | None, job: Path) -> Path:
    """``docgen revoke``: signed with the given key, else the job's."""
    from docgen.seal.keys import load_signing_key
    from docgen.seal.settings import job_key

    return revoke(load_signing_key(key if key is not None else job_key(job)), code, reason)
