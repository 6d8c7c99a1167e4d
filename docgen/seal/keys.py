"""Ed25519 key pairs for the seal: NAME.key (PKCS#8 PEM, 0600) and NAME.pub.json; key ids."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from docgen.errors import SealKeyError
from docgen.files import atomic_write

PRIVATE_SUFFIX = ".key"
PUBLIC_SUFFIX = ".pub.json"
KEYS_FILE = "keys.json"  # the published list of every public key, old ones included
# What marks a folder as a build's output folder: keys never go there, since the output is
# what gets shared, zipped and mailed.
# (build.LOCK and resume.JOURNAL, named here: keys sit below them; a test keeps them equal)
OUTPUT_MARKERS = ("manifest.csv", ".docgen.lock", ".docgen-journal.jsonl", ".docgen-journal.csv")
KID_BYTES = 8



def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def key_id(public: Ed25519PublicKey) -> bytes:
    """The first 8 bytes of SHA-256 over the raw public key: lets a verifier pick the key."""
    return hashlib.sha256(_raw(public)).digest()[:KID_BYTES]


def _raw(public: Ed25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


@dataclass(frozen=True)
class PublicKey:
    """A known public key, as NAME.pub.json and keys.json describe it."""

    kid: bytes
    issuer: str
    created: str
    key: Ed25519PublicKey

    def verify(self, signature: bytes, data: bytes) -> bool:
        try:
            self.key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    def as_json(self) -> dict[str, str]:
        return {"kid": b64url(self.kid), "algorithm": "Ed25519", "issuer": self.issuer,
                "created": self.created, "public_key": b64url(_raw(self.key))}

    @classmethod
    def from_json(cls, data: Mapping[str, Any], source: str) -> PublicKey:
        try:
            key = Ed25519PublicKey.from_public_bytes(unb64url(str(data["public_key"])))
            public = cls(kid=key_id(key), issuer=str(data.get("issuer", "")),
                         created=str(data.get("created", "")), key=key)
        except (KeyError, ValueError, TypeError) as err:
            raise SealKeyError(f"not a docgen public key ({type(err).__name__})", file=source,
                            hint="use a NAME.pub.json written by docgen keys new") from err
        if data.get("kid") not in (None, b64url(public.kid)):
            raise SealKeyError("the key id does not match the public key", file=source)
        return public


@dataclass(frozen=True)
class SigningKey:
    """A private key read from NAME.key, with its public half."""

    path: Path
    key: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.key.public_key()

    @property
    def kid(self) -> bytes:
        return key_id(self.public)

    def sign(self, data: bytes) -> bytes:
        return self.key.sign(data)


def output_folder_above(folder: Path) -> Path | None:
    """The output folder ``folder`` is in (or is), if any: one holding a manifest, a build
    lock or a build journal, at any level above."""
    folder = folder.resolve()
    for candidate in (folder, *folder.parents):
        if any((candidate / marker).exists() for marker in OUTPUT_MARKERS):
            return candidate
    return None


def new_key(name: str, folder: Path, issuer: str | None = None,
            today: dt.date | None = None) -> tuple[Path, Path]:
    """Write NAME.key (private, mode 0600) and NAME.pub.json in ``folder``; never overwrite."""
    if not name or "/" in name or "\\" in name or name.startswith("."):
        raise SealKeyError(f"{name!r} is not a key name", hint="use a word such as ente-2026")
    if (inside := output_folder_above(folder)) is not None:
        raise SealKeyError(f"{folder} is inside the output folder {inside}", hint=(
            "keep keys outside every output folder (output folders are shared and mailed), "
            "e.g. --dir keys/"))
    private, public = folder / f"{name}{PRIVATE_SUFFIX}", folder / f"{name}{PUBLIC_SUFFIX}"
    for path in (private, public):
        if path.exists() or path.is_symlink():
            raise SealKeyError(f"{path} already exists", hint="choose a new name (a new key per "
                            "year, e.g. ente-2027); an existing key is never overwritten")
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                            serialization.NoEncryption())
    # O_EXCL: a file that appeared meanwhile is not overwritten; 0600 from the first byte.
    fd = os.open(private, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0),
                 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
        handle.flush()
        os.fsync(handle.fileno())
    created = (today or dt.date.today()).isoformat()
    info = PublicKey(kid=key_id(key.public_key()), issuer=issuer or name, created=created,
                     key=key.public_key())
    atomic_write(public, (json.dumps(info.as_json(), indent=2, ensure_ascii=False) + "\n")
                 .encode("utf-8"))
    os.chmod(public, 0o644)  # the public half is meant to be read (and published)
    return private, public


def load_signing_key(path: Path) -> SigningKey:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SealKeyError(f"seal key not found: {path}", hint=(
            "make one with: docgen keys new NAME --dir FOLDER, and name it in [job.seal] key "
            "or DOCGEN_SEAL_KEY")) from None
    except OSError as err:
        raise SealKeyError(f"cannot read the seal key: {err.strerror}", file=str(path)) from err
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as err:
        raise SealKeyError("not an unencrypted PKCS#8 PEM private key", file=str(path),
                        hint="use a NAME.key written by docgen keys new") from err
    if not isinstance(key, Ed25519PrivateKey):
        raise SealKeyError("the seal key is not an Ed25519 key", file=str(path))
    return SigningKey(path, key)


def load_public_keys(source: Path) -> dict[bytes, PublicKey]:
    """Known keys by id: a NAME.pub.json or a keys.json file, or a folder's ``*.pub.json``
    and keys.json."""
    if source.is_dir():
        files = sorted(source.glob(f"*{PUBLIC_SUFFIX}"))
        if (source / KEYS_FILE).is_file():
            files.append(source / KEYS_FILE)
    elif source.is_file():
        files = [source]
    else:
        raise SealKeyError(f"no public keys at {source}", hint="give --keys a folder of "
                        "NAME.pub.json files or a keys.json")
    found: dict[bytes, PublicKey] = {}
    for path in files:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise SealKeyError(f"cannot read public keys ({type(err).__name__})",
                            file=str(path)) from err
        entries = data.get("keys", []) if isinstance(data, dict) and "keys" in data else [data]
        for entry in entries:
            if not isinstance(entry, dict):
                raise SealKeyError("not a docgen public key", file=str(path))
            public = PublicKey.from_json(entry, str(path))
            found[public.kid] = public
    if not found:
        raise SealKeyError(f"no public keys at {source}", hint="make one with docgen keys new")
    return found


def public_of(signing: SigningKey, issuer: str = "") -> PublicKey:
    """The public half of a private key, with the issuer and date its pub.json gives."""
    beside = signing.path.with_name(signing.path.name.removesuffix(PRIVATE_SUFFIX) + PUBLIC_SUFFIX)
    if beside.is_file():
        known = load_public_keys(beside)
        if signing.kid in known:
            return known[signing.kid]
    return PublicKey(kid=signing.kid, issuer=issuer, created="", key=signing.public)
